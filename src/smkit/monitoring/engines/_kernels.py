"""The baseline engines' compiled loops (numba), cached on disk.

Each function here is the compiled copy of a loop that
`smkit.monitoring.engines.data_quality` and `smkit.monitoring.engines.kll` also run in
Python below their size thresholds, with the same IEEE steps; `kll_compact` sorts what numpy
sorts there, with its own sorts (a merge of runs, a radix sort), to the same order. They
live in this module, imported only when a large column needs them (numba takes about half a
second to import), and are compiled with ``cache=True``: the first process on a machine
compiles them (a few seconds) and writes the machine code next to this file
(``__pycache__``, or numba's user cache when that is read-only); every later process loads
it in milliseconds, so a one-shot baseline job does not pay the compilation.
"""

from __future__ import annotations

import math

import numba
import numpy as np

__all__ = ["kll_compact", "kll_plan", "moments", "moments_lanes", "scan"]


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
def scan(data, valid, voff, out, k):  # type: ignore[no-untyped-def]
    """One arrow chunk of a numeric column in one pass: nulls, NaN, whole numbers, a
    negative zero seen, and the finite values copied to ``out[k:]`` in row order (their
    moments follow, several columns at once: `moments_lanes`)."""
    # data: one arrow chunk's values (float64 or int64); valid: its validity bitmap
    # (empty: no nulls), bit ``voff + i`` for value ``i``
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
    return k, nulls, nan, whole, negzero


@_jit
def _lane1(values, start, stop, st, r):  # type: ignore[no-untyped-def]
    """Welford over ``values[start:stop]`` into state row ``r``."""
    n, total, mean, m2, lo, hi = st[r, 0], st[r, 1], st[r, 2], st[r, 3], st[r, 4], st[r, 5]
    for i in range(start, stop):
        n, total, mean, m2, lo, hi = _welford(values[i], n, total, mean, m2, lo, hi)
    st[r, 0], st[r, 1], st[r, 2], st[r, 3], st[r, 4], st[r, 5] = n, total, mean, m2, lo, hi


@_jit
def _lane2(values, a, b, count, st, r, s):  # type: ignore[no-untyped-def]
    """Welford over ``count`` values from ``a`` (row ``r``) and from ``b`` (row ``s``),
    the two chains in one loop."""
    n1, t1, u1, q1, lo1, hi1 = st[r, 0], st[r, 1], st[r, 2], st[r, 3], st[r, 4], st[r, 5]
    n2, t2, u2, q2, lo2, hi2 = st[s, 0], st[s, 1], st[s, 2], st[s, 3], st[s, 4], st[s, 5]
    for i in range(count):
        n1, t1, u1, q1, lo1, hi1 = _welford(values[a + i], n1, t1, u1, q1, lo1, hi1)
        n2, t2, u2, q2, lo2, hi2 = _welford(values[b + i], n2, t2, u2, q2, lo2, hi2)
    st[r, 0], st[r, 1], st[r, 2], st[r, 3], st[r, 4], st[r, 5] = n1, t1, u1, q1, lo1, hi1
    st[s, 0], st[s, 1], st[s, 2], st[s, 3], st[s, 4], st[s, 5] = n2, t2, u2, q2, lo2, hi2


@_jit
def _lane4(values, a, b, c, d, count, st, r):  # type: ignore[no-untyped-def]
    """Welford over ``count`` values from each of ``a, b, c, d`` (rows ``r .. r + 3``),
    the four chains in one loop."""
    n1, t1, u1, q1, lo1, hi1 = st[r, 0], st[r, 1], st[r, 2], st[r, 3], st[r, 4], st[r, 5]
    r2, r3, r4 = r + 1, r + 2, r + 3
    n2, t2, u2, q2, lo2, hi2 = st[r2, 0], st[r2, 1], st[r2, 2], st[r2, 3], st[r2, 4], st[r2, 5]
    n3, t3, u3, q3, lo3, hi3 = st[r3, 0], st[r3, 1], st[r3, 2], st[r3, 3], st[r3, 4], st[r3, 5]
    n4, t4, u4, q4, lo4, hi4 = st[r4, 0], st[r4, 1], st[r4, 2], st[r4, 3], st[r4, 4], st[r4, 5]
    for i in range(count):
        n1, t1, u1, q1, lo1, hi1 = _welford(values[a + i], n1, t1, u1, q1, lo1, hi1)
        n2, t2, u2, q2, lo2, hi2 = _welford(values[b + i], n2, t2, u2, q2, lo2, hi2)
        n3, t3, u3, q3, lo3, hi3 = _welford(values[c + i], n3, t3, u3, q3, lo3, hi3)
        n4, t4, u4, q4, lo4, hi4 = _welford(values[d + i], n4, t4, u4, q4, lo4, hi4)
    st[r, 0], st[r, 1], st[r, 2], st[r, 3], st[r, 4], st[r, 5] = n1, t1, u1, q1, lo1, hi1
    st[r2, 0], st[r2, 1], st[r2, 2], st[r2, 3], st[r2, 4], st[r2, 5] = n2, t2, u2, q2, lo2, hi2
    st[r3, 0], st[r3, 1], st[r3, 2], st[r3, 3], st[r3, 4], st[r3, 5] = n3, t3, u3, q3, lo3, hi3
    st[r4, 0], st[r4, 1], st[r4, 2], st[r4, 3], st[r4, 4], st[r4, 5] = n4, t4, u4, q4, lo4, hi4


@_jit
def moments_lanes(values, starts, lens, st):  # type: ignore[no-untyped-def]
    """Welford moments of several columns, each ``values[starts[r]:][:lens[r]]`` (finite,
    row order) into state row ``st[r] = (count, sum, mean, M2, min, max)``: the same IEEE
    steps as `moments`, column by column, with four (or two) columns' chains interleaved.

    Each value's step waits on the one before (a subtraction, a division, an addition:
    about 5 ns), so one column alone keeps the core mostly idle; independent columns fill
    it (four: 1.4 ns per value on the 2-core benchmark machine).
    """
    m = starts.shape[0]
    j = 0
    while j + 4 <= m:
        count = min(lens[j], lens[j + 1], lens[j + 2], lens[j + 3])
        _lane4(values, starts[j], starts[j + 1], starts[j + 2], starts[j + 3], count, st, j)
        for r in range(j, j + 4):
            _lane1(values, starts[r] + count, starts[r] + lens[r], st, r)
        j += 4
    if j + 2 <= m:
        count = min(lens[j], lens[j + 1])
        _lane2(values, starts[j], starts[j + 1], count, st, j, j + 1)
        for r in range(j, j + 2):
            _lane1(values, starts[r] + count, starts[r] + lens[r], st, r)
        j += 2
    if j < m:
        _lane1(values, starts[j], starts[j] + lens[j], st, j)


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


_TOP = np.uint64(1) << np.uint64(63)
_DIGIT = np.uint64(2047)  # radix digits of 11 bits: 6 passes over a 64-bit key
#: Ranges with at most this many ascending runs are merged instead of radix sorted
#: (a level above 0 receives sorted runs: its ranges hold a few).
_MERGE_RUNS = 16


@_jit
def _key(u):  # type: ignore[no-untyped-def]
    """A double's bits as an unsigned key in ``java.lang.Double.compare``'s order
    (``-0.0`` before ``0.0``): negatives inverted, positives with the top bit set (no
    branch: the data's signs would mispredict it)."""
    return u ^ ((np.uint64(0) - (u >> np.uint64(63))) | _TOP)


@_jit
def _unkey(u):  # type: ignore[no-untyped-def]
    """The double's bits back from `_key`."""
    return u ^ (((u >> np.uint64(63)) - np.uint64(1)) | _TOP)


@_jit
def _radix_sort(a, b, n, hist):  # type: ignore[no-untyped-def]
    """Sort keys ``a[:n]`` (LSD radix, 11-bit digits, a digit shared by all keys
    skipped); the array that holds the result (``a`` or ``b``)."""
    hist[:] = 0
    for j in range(n):
        u = a[j]
        for d in range(6):
            hist[d, (u >> np.uint64(11 * d)) & _DIGIT] += 1
    src, dst = a, b
    for d in range(6):
        shift = np.uint64(11 * d)
        if hist[d, (src[0] >> shift) & _DIGIT] == n:
            continue
        pos = 0
        for digit in range(2048):
            count = hist[d, digit]
            hist[d, digit] = pos
            pos += count
        for j in range(n):
            u = src[j]
            digit = (u >> shift) & _DIGIT
            dst[hist[d, digit]] = u
            hist[d, digit] += 1
        src, dst = dst, src
    return src


@_jit
def _merge_runs(a, b, n, bounds, runs):  # type: ignore[no-untyped-def]
    """Merge the ascending runs of keys ``a[:n]`` (run ``r`` starts at ``bounds[r]``,
    ``bounds[runs] == n``) pairwise until one is left; the array that holds it."""
    src, dst = a, b
    while runs > 1:
        merged = 0
        for r in range(0, runs, 2):
            lo, mid = bounds[r], bounds[r + 1]
            hi = bounds[r + 2] if r + 2 <= runs else mid
            i, j, k = lo, mid, lo
            while i < mid and j < hi:
                if src[j] < src[i]:
                    dst[k] = src[j]
                    j += 1
                else:
                    dst[k] = src[i]
                    i += 1
                k += 1
            while i < mid:
                dst[k] = src[i]
                i += 1
                k += 1
            while j < hi:
                dst[k] = src[j]
                j += 1
                k += 1
            bounds[merged] = lo
            merged += 1
        bounds[merged] = n
        runs = merged
        src, dst = dst, src
    return src


@_jit
def kll_compact(bits, ev, out):  # type: ignore[no-untyped-def]
    """Compactions over a level's stream, in order: for each row ``(start, even, offset)``
    of ``ev``, the ``even`` items from ``start`` sorted (``java.lang.Double.compare``'s
    order), then every second one from ``offset`` appended to ``out``.

    ``bits`` and ``out`` are float64 arrays viewed as uint64. A range of a few ascending
    runs is merged, any other radix sorted; both order the keys of `_key`, so ``-0.0``
    comes before ``0.0`` with no signed-zero pass (numpy's sort, whose SIMD networks may
    even turn one into the other, needs `smkit.monitoring.engines.kll._order_signed_zeros`).
    """
    width = 0
    for i in range(ev.shape[0]):
        width = max(width, ev[i, 1])
    a = np.empty(width, np.uint64)
    b = np.empty(width, np.uint64)
    bounds = np.empty(_MERGE_RUNS + 2, np.int64)
    hist = np.empty((6, 2048), np.int64)
    pos = 0
    for i in range(ev.shape[0]):
        start, even, offset = ev[i, 0], ev[i, 1], ev[i, 2]
        if even == 0:
            continue
        # keys, and the count of descents without a branch (random data would mispredict)
        prev = _key(bits[start])
        a[0] = prev
        runs = 1
        for j in range(1, even):
            u = _key(bits[start + j])
            a[j] = u
            runs += u < prev
            prev = u
        if runs <= _MERGE_RUNS:  # where the runs start: a second, predictable pass
            r = 1
            bounds[0] = 0
            for j in range(1, even):
                if a[j] < a[j - 1]:
                    bounds[r] = j
                    r += 1
            bounds[runs] = even
            res = _merge_runs(a, b, even, bounds, runs)
        else:
            res = _radix_sort(a, b, even, hist)
        half = even // 2
        for j in range(half):
            out[pos + j] = _unkey(res[offset + 2 * j])
        pos += half
