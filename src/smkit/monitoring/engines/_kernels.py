"""The baseline engines' compiled loops (numba), cached on disk.

Each function here is the compiled copy of a loop that `smkit.monitoring.engines.data_quality`
and `smkit.monitoring.engines.kll` also run in Python below their size thresholds, with the
same IEEE steps. They live in this module, imported only when a large column needs them
(numba takes about half a second to import), and are compiled with ``cache=True``: the
first process on a machine compiles them (a few seconds) and writes the machine code next
to this file (``__pycache__``, or numba's user cache when that is read-only); every later
process loads it in milliseconds, so a one-shot baseline job does not pay the compilation.
"""

from __future__ import annotations

import math

import numba

__all__ = ["kll_fill", "kll_gather", "kll_plan", "moments", "scan"]


def _jit(fn):  # type: ignore[no-untyped-def]
    try:
        return numba.njit(cache=True, nogil=True)(fn)
    except RuntimeError:  # no writable cache location: compile once per process instead
        return numba.njit(cache=False, nogil=True)(fn)


@_jit
def _welford(v, n, total, mean, m2, lo, hi):  # type: ignore[no-untyped-def]
    """One value into the Welford state (count, sum, mean, M2, min, max): the same IEEE
    steps as `smkit.monitoring.engines.data_quality._moments_py`."""
    n += 1.0
    total += v
    d = v - mean
    dn = d / n
    mean += dn
    m2 += d * (d - dn)
    if v < lo:
        lo = v
    if v > hi:
        hi = v
    return n, total, mean, m2, lo, hi


@_jit
def moments(values, n, total, mean, m2, lo, hi):  # type: ignore[no-untyped-def]
    """Welford moments of finite float64 ``values`` from the state; also the count of
    whole numbers (free in this latency-bound loop)."""
    whole = 0  # values equal to their floor: free in this latency-bound loop
    for i in range(values.shape[0]):
        v = values[i]
        if math.floor(v) == v:
            whole += 1
        n, total, mean, m2, lo, hi = _welford(v, n, total, mean, m2, lo, hi)
    return n, total, mean, m2, lo, hi, whole


@_jit
def scan(data, valid, voff, out, k, n, total, mean, m2, lo, hi):  # type: ignore[no-untyped-def]
    """One arrow chunk of a numeric column in one pass: nulls, NaN, whole numbers, a
    negative zero seen, the finite values copied to ``out[k:]`` and the Welford state."""
    # data: one arrow chunk's values (float64 or int64); valid: its validity bitmap
    # (empty: no nulls), bit ``voff + i`` for value ``i``; the finite values go to
    # ``out[k:]`` in row order and update the Welford state, the same IEEE steps
    # as `_moments`
    nulls = 0
    nan = 0
    whole = 0
    negzero = False
    check = valid.shape[0] > 0
    for i in range(data.shape[0]):
        if check:
            j = voff + i
            if not (valid[j >> 3] >> (j & 7)) & 1:
                nulls += 1
                continue
        v = float(data[i])
        if v != v:
            nan += 1
            continue
        if v - v != 0.0:  # +-inf: present, not a number of the moments or sketch
            continue
        out[k] = v
        k += 1
        if math.floor(v) == v:
            whole += 1
            if v == 0.0 and math.copysign(1.0, v) < 0.0:
                negzero = True
        n, total, mean, m2, lo, hi = _welford(v, n, total, mean, m2, lo, hi)
    return k, nulls, nan, whole, negzero, n, total, mean, m2, lo, hi


@_jit
def kll_plan(m, levels, total, held, slen, start, ncomp, offset, caps, ev):  # type: ignore[no-untyped-def]
    """`DeequKLL._plan` on arrays: the compaction events as rows (level, start, even,
    offset)."""
    ne = 0
    pos = 0
    while True:
        need = total - held + 1
        if need > m - pos:
            slen[0] += m - pos
            return ne, levels, total
        slen[0] += need
        held += need
        pos += need
        found = False
        for h in range(levels):
            length = slen[h] - start[h]
            if length >= caps[h]:
                if h + 1 >= levels:
                    if levels + 1 >= caps.shape[0]:
                        return -1, levels, total
                    total += caps[levels]
                    levels += 1
                even = length - length % 2
                if ncomp[h] % 2 == 1:
                    offset[h] = 1 - offset[h]
                ev[ne, 0] = h
                ev[ne, 1] = start[h]
                ev[ne, 2] = even
                ev[ne, 3] = offset[h]
                ne += 1
                start[h] += even
                slen[h + 1] += even // 2
                ncomp[h] += 1
                held -= even - even // 2
                found = True
                break
        if not found:
            return -1, levels, total


@_jit
def kll_fill(stream, ev, block):  # type: ignore[no-untyped-def]
    """Row ``i`` of ``block``: event ``i``'s items, then NaN padding."""
    # row i: event i's items, then NaN padding
    for i in range(ev.shape[0]):
        start, even = ev[i, 0], ev[i, 1]
        for j in range(even):
            block[i, j] = stream[start + j]
        for j in range(even, block.shape[1]):
            block[i, j] = math.nan


@_jit
def kll_gather(block, ev, out):  # type: ignore[no-untyped-def]
    """Row ``i``'s items at ``offset_i``, ``offset_i + 2``, ... (``even_i / 2`` of them)."""
    # row i's items at offset_i, offset_i + 2, ... (even_i / 2 of them), in order
    pos = 0
    for i in range(ev.shape[0]):
        half, offset = ev[i, 1] // 2, ev[i, 2]
        for j in range(half):
            out[pos + j] = block[i, offset + 2 * j]
        pos += half
