"""The baseline's fast paths give what the general paths give, value for value.

Each compiled or zero-copy path of the data-quality analyzer (numeric columns scanned from
their arrow buffers, text columns counted chunk by chunk, the compiled KLL plan, CSV ranges
read without joins) is checked here against the path it replaces, forced by switching the
fast one off.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smkit.monitoring.engines import data_quality as dq
from smkit.monitoring.engines import kll


def _numeric_chunks(kind: str, seed: int) -> pa.ChunkedArray:
    """Several arrow chunks (one a slice, so with an offset) with nulls, NaN, +-inf,
    -0.0 and 0.0, whole numbers and fractions: 9,000 values, over `dq._JIT_MIN`."""
    rng = np.random.default_rng(seed)
    n = 9000
    if kind == "float":
        x = rng.choice([-0.0, 0.0, 1.0, -2.5, 3.25, 1e300, -7.0], size=n)
        x = np.where(rng.random(n) < 0.5, np.round(rng.normal(0, 5, n), 3), x)
        x[rng.random(n) < 0.01] = np.nan
        x[rng.random(n) < 0.005] = np.inf
        x[rng.random(n) < 0.005] = -np.inf
        whole = pa.array(x, mask=rng.random(n) < 0.05)
    else:
        whole = pa.array(rng.integers(-(2**60), 2**60, n), mask=rng.random(n) < 0.05)
    sliced = whole.slice(1000, 5000)  # offset 1000 in its buffers
    return pa.chunked_array([whole.slice(0, 1000), sliced, pa.array([], whole.type), whole[6000:]])


def _feature(chunks: pa.ChunkedArray, *, fast: bool, monkeypatch: pytest.MonkeyPatch) -> str:
    with monkeypatch.context() as m:
        if not fast:
            m.setattr(dq, "_SCAN", False)  # the general path: to_numpy, masks, `_moments`
        col = dq._Column("x")
        col.update(chunks)
        col.update(chunks.chunk(1))  # a plain array too
        return json.dumps(col.to_feature())


@pytest.mark.parametrize("kind", ["float", "int"])
@pytest.mark.parametrize("seed", [0, 1])
def test_numeric_scan_equals_the_general_path(kind, seed, monkeypatch):
    chunks = _numeric_chunks(kind, seed)
    assert dq._scan_jit(), "numba is a dependency of the baseline's fast path"
    fast = _feature(chunks, fast=True, monkeypatch=monkeypatch)
    slow = _feature(chunks, fast=False, monkeypatch=monkeypatch)
    assert fast == slow
    assert '"sketch"' in fast


_FINITE = st.floats(allow_nan=False, allow_infinity=False, width=64)


@settings(max_examples=80, deadline=None)
@given(
    columns=st.lists(st.lists(_FINITE, max_size=60), min_size=1, max_size=9),
    prefix=st.lists(_FINITE, min_size=0, max_size=5),
)
def test_interleaved_moments_equal_one_column_at_a_time(columns, prefix):
    """`moments_lanes` (four or two columns' Welford chains in one loop, uneven lengths
    finished one by one) gives each column's state bit for bit as `moments` does alone,
    from a state that already holds values."""
    k = kll.compiled()
    start = k.moments(np.array(prefix, dtype=np.float64), 0.0, 0.0, 0.0, 0.0, np.inf, -np.inf)
    arrays = [np.array(c, dtype=np.float64) for c in columns]
    values = np.concatenate([np.full(3, np.nan), *arrays])  # an offset before the first
    starts = np.cumsum([3] + [len(a) for a in arrays])[:-1]
    state = np.array([start[:6]] * len(arrays), dtype=np.float64)
    lens = np.array([len(a) for a in arrays], dtype=np.int64)
    k.moments_lanes(values, starts.astype(np.int64), lens, state)
    for row, a in zip(state, arrays):
        alone = np.array(k.moments(a, *start[:6])[:6], dtype=np.float64)
        assert row.view(np.uint64).tolist() == alone.view(np.uint64).tolist()


def test_parallel_builder_equals_the_general_path(monkeypatch):
    """The thread-pool update (numeric columns scanned into one buffer, their moments
    interleaved) gives the statistics the general path gives: seven numeric columns (4 + 2
    + 1 lanes) with different nulls, NaN, +-inf and -0.0, and text, over two updates."""
    rng = np.random.default_rng(7)
    rows = dq._PARALLEL_ROWS + 3001

    def table() -> tuple[list[str], list[pa.ChunkedArray]]:
        cols = []
        for i in range(7):
            if i % 3 == 2:
                a = pa.array(rng.integers(-1000, 1000, rows), mask=rng.random(rows) < 0.02 * i)
            else:
                x = np.round(rng.normal(i, 1 + i, rows), 4)
                x[rng.random(rows) < 0.01 * i] = np.nan
                x[rng.random(rows) < 0.002] = np.inf
                x[rng.random(rows) < 0.002] = -0.0
                a = pa.array(x, mask=rng.random(rows) < 0.03)
            cols.append(pa.chunked_array([a.slice(0, 5000), a.slice(5000)]))
        words = np.array(["a", "b", "12", "c"])
        cols.append(pa.chunked_array([pa.array(words[rng.integers(0, 4, rows)])]))
        return [f"x{i}" for i in range(len(cols))], cols

    tables = [table(), table()]

    def statistics(fast: bool) -> str:
        with monkeypatch.context() as m:
            if not fast:
                m.setattr(dq, "_SCAN", False)
            b = dq.StatisticsBuilder()
            for names, cols in tables:
                b.update(names, cols)
            return json.dumps(b.result())

    assert dq._scan_jit()
    fast = statistics(True)
    assert fast == statistics(False)
    assert fast.count('"Fractional"') == 5 and fast.count('"Integral"') == 2


def test_text_counted_per_chunk_equals_joined(monkeypatch):
    rng = np.random.default_rng(3)
    words = np.array(["red", "green", "7", "-1.5", "+2", "blue", "x y"])
    parts = [
        pa.array(words[rng.integers(0, len(words), 3000)], mask=rng.random(3000) < 0.1)
        for _ in range(3)
    ]
    chunked = pa.chunked_array(parts)
    a, b = dq._Column("s"), dq._Column("s")
    a.update(chunked)
    b.update(chunked.combine_chunks().drop_null())  # the nulls dropped first, as before
    assert a.missing == chunked.null_count and b.missing == 0
    b.missing = a.missing
    assert json.dumps(a.to_feature()) == json.dumps(b.to_feature())
    seen: dict[str, int] = {}
    for v in chunked.to_pylist():
        if v is not None:
            seen[v] = seen.get(v, 0) + 1
    assert list(a.categories.items()) == list(seen.items())  # first appearances, row order


@pytest.mark.parametrize("chunk", [4096, 5000, 65536])
def test_compiled_kll_plan_equals_the_python_plan(chunk, monkeypatch):
    x = np.random.default_rng(chunk).normal(size=150_000).round(3)
    sketches = []
    for jit_min in (0, 10**12):  # compiled plan always / never
        monkeypatch.setattr(kll, "_PLAN_JIT_MIN", jit_min)
        s = kll.DeequKLL()
        for i in range(0, len(x), chunk):
            s.update(x[i : i + chunk])
        sketches.append(s)
    fast, slow = sketches
    assert (fast._ncomp, fast._offset, fast._caps) == (slow._ncomp, slow._offset, slow._caps)
    assert fast.data() == slow.data()
    assert fast.finalized().data() == slow.finalized().data()


def _joined_ranges(path, start, block_size):
    """The CSV ranges as first written: the partial line joined to the next block."""
    with open(path, "rb") as fh:
        fh.seek(start)
        carry = b""
        while True:
            chunk = fh.read(block_size)
            if not chunk:
                if carry.strip():
                    yield carry + b"\n"
                return
            data = carry + chunk
            cut = data.rfind(b"\n")
            if cut < 0:
                carry = data
                continue
            yield data[: cut + 1]
            carry = data[cut + 1 :]


def test_csv_ranges_are_the_joined_ranges(tmp_path):
    rng = np.random.default_rng(4)
    path = tmp_path / "r.csv"
    for trial in range(60):
        lines = ["x" * int(rng.choice([0, 1, 5, 40, 300])) for _ in range(int(rng.integers(0, 40)))]
        path.write_bytes(("\n".join(lines) + str(rng.choice(["", "\n", "\n  ", "  "]))).encode())
        for block in (1, 3, 16, 100, 1000):
            for start in (0, 2):
                got = [bytes(r) for r in dq._csv_ranges(path, start, block)]
                assert got == list(_joined_ranges(path, start, block)), (trial, block, start)


def test_text_scan_reads_a_view_of_the_range():
    data = b"1.5,2\n3,.5\n4,5\n"
    view = memoryview(data)[:6]  # "1.5,2\n": no dot without digits, no suspect byte
    assert dq._text_suspect(view) is False
    assert dq._text_suspect(memoryview(data)[:11]) is True  # ".5"
    assert dq._text_suspect(memoryview(b"1,2\n+3,4\n")[:9]) is True


@pytest.mark.parametrize("signed", [False, True])
def test_compiled_compaction_rows_equal_the_sliced_rows(signed, monkeypatch):
    rng = np.random.default_rng(5)
    x = rng.choice([-0.0, 0.0, 1.5, -2.0], size=40_000) if signed else rng.normal(size=40_000)
    datas = []
    for kernel in (None, False):  # compiled compaction, then numpy's sorts
        monkeypatch.setattr(kll, "_COMPACT", kernel)
        s = kll.DeequKLL()
        for i in range(0, len(x), 9000):
            s.update(x[i : i + 9000])
        datas.append(json.dumps(s.finalized().data()))
    assert datas[0] == datas[1]


def _sorted_compactions(stream, events):
    """What `kll._compact_many` must give, by the definition: each range sorted in
    ``java.lang.Double.compare``'s order (``-0.0`` before ``0.0``), every second item."""
    out = []
    for start, even, offset in events:
        part = sorted(stream[start : start + even].tolist(), key=lambda v: (v, math.copysign(1, v)))
        out += part[offset::2]
    return out


_ORDERS = ["random", "sorted", "reversed", "runs", "sawtooth"]


@settings(max_examples=120, deadline=None)
@given(
    st.sampled_from(_ORDERS),
    st.sampled_from(["normal", "signed zeros", "few values", "wide", "integers"]),
    st.lists(st.integers(0, 3500), min_size=1, max_size=6),
    st.integers(0, 2**32 - 1),
)
def test_compiled_compaction_is_sorted_compaction(order, values, lengths, seed):
    """The kernel's two sorts (merge of a few runs, radix otherwise) and numpy's 2-D sort
    against the definition, on ranges of every order the levels see (a level above 0
    receives sorted runs)."""
    rng = np.random.default_rng(seed)
    n = sum(lengths) + 3
    x = {
        "normal": lambda: rng.normal(0, 3, n).round(4),
        "signed zeros": lambda: rng.choice([-0.0, 0.0, -1.0, 2.5], n),
        "few values": lambda: rng.choice([1.0, 2.0, 3.0], n),
        "wide": lambda: rng.choice([-1, 1], n) * 10.0 ** rng.uniform(-300, 300, n),
        "integers": lambda: rng.integers(-1000, 1000, n).astype(float),
    }[values]()
    if order == "sorted":
        x = np.sort(x)
    elif order == "reversed":
        x = np.sort(x)[::-1].copy()
    elif order == "runs":  # a handful of ascending runs, as a level above 0 receives
        cuts = np.sort(rng.integers(0, n, rng.integers(1, 20)))
        x = np.concatenate([np.sort(p) for p in np.split(x, cuts)])
    elif order == "sawtooth":
        x = np.tile(np.arange(7.0), n // 7 + 1)[:n]
    events, pos = [], int(rng.integers(0, 3))
    for length in lengths:
        even = length - length % 2
        events.append((pos, even, int(rng.integers(0, 2))))
        pos += length
    want = [(v, math.copysign(1, v)) for v in _sorted_compactions(x, events)]
    kernel = kll._compact_kernel()
    assert kernel, "numba is a dependency of the baseline's fast path"
    try:
        for path in (kernel, False):  # compiled, then numpy's sorts
            kll._COMPACT = path
            got = kll._compact_many(x, events)
            assert [(v, math.copysign(1, v)) for v in got.tolist()] == want, path
    finally:
        kll._COMPACT = kernel


def test_grouped_csv_ranges_give_the_same_statistics(tmp_path, monkeypatch):
    """Consecutive ranges are given to the statistics together (`dq._GROUP_ROWS`), split
    where the parsed types change (a column empty in the first range): the statistics are
    those of one range at a time."""
    rng = np.random.default_rng(8)
    n = 6000
    late = (
        [""] * 2000
        + [str(v) for v in rng.integers(0, 9, 2000)]
        + [f"{v:.2f}" for v in rng.normal(size=2000)]
    )
    cols = {
        "x": [f"{v:.3f}" for v in rng.normal(size=n)],
        "late": late,  # null type in the first ranges, then int64, then double
        "s": [str(v) for v in rng.choice(["a", "b", "7", ""], n)],
    }
    path = tmp_path / "g.csv"
    path.write_text("x,late,s\n" + "".join(f"{a},{b},{c}\n" for a, b, c in zip(*cols.values())))
    outs = []
    for group in (1, 10**9):
        monkeypatch.setattr(dq, "_GROUP_ROWS", group)
        outs.append(json.dumps(dq.compute_statistics(path, block_size=4096), sort_keys=True))
    assert outs[0] == outs[1]
    assert '"late"' in outs[0] and '"Fractional"' in outs[0]


def test_compiled_loops_are_loaded_from_the_disk_cache_by_a_new_process():
    """A one-shot baseline job must not pay numba's compilation (seconds) each time: the
    second process finds every kernel it runs in the on-disk cache."""
    import json
    import subprocess
    import sys

    code = (
        "import json, numpy as np\n"
        "from smkit.monitoring.engines import _kernels as k\n"
        "v = np.linspace(-5, 5, 10000)\n"
        "k.moments(v, 0.0, 0.0, 0.0, 0.0, np.inf, -np.inf)\n"
        "out = np.empty_like(v)\n"
        "k.scan(v, np.empty(0, np.uint8), 0, out, 0)\n"
        "st = np.zeros((5, 6))\n"
        "k.moments_lanes(v, np.zeros(5, np.int64), np.full(5, 100, np.int64), st)\n"
        "bits = np.arange(4000.0)[::-1].copy().view(np.uint64)\n"
        "k.kll_compact(bits, np.array([[0, 4000, 0]]), np.empty(2000, np.uint64))\n"
        "fs = (k.moments, k.scan, k.moments_lanes, k.kll_compact)\n"
        "print(json.dumps([sum(f.stats.cache_hits.values()) for f in fs]"
        " + [sum(f.stats.cache_misses.values()) for f in fs]))\n"
    )
    for _ in range(2):
        run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        assert run.returncode == 0, run.stderr
    counts = json.loads(run.stdout)
    hits, misses = counts[:4], counts[4:]
    assert min(hits) >= 1 and max(misses) == 0, (hits, misses)
