"""Deequ's KLL engine against a line-by-line translation of Deequ's Scala (the oracle)."""

from __future__ import annotations

import numpy as np
import pytest
from _deequ_reference import RefSketch, ref_statistics
from hypothesis import given, settings
from hypothesis import strategies as st

from smkit.monitoring.engines.kll import DeequKLL, kll_bounds


def _engine(values: np.ndarray, chunk: int) -> DeequKLL:
    s = DeequKLL()
    for i in range(0, len(values), chunk):
        s.update(values[i : i + chunk])
    return s.finalized()


@pytest.mark.parametrize("n", [1, 2049, 2050, 2051, 3364, 3365, 5000, 20000])
@pytest.mark.parametrize("chunk", [7, 1000, 65536])
def test_sketch_equals_deequ_translation(n: int, chunk: int) -> None:
    x = np.random.default_rng(n).normal(size=n).round(2)
    data, buckets = ref_statistics(x.tolist())
    got = _engine(x, chunk)
    assert got.data() == data
    lo, hi = kll_bounds(float(x.min()), float(x.max()))
    assert [float(c) for c in got.bucket_counts(lo, hi)] == [b["count"] for b in buckets]


def test_final_merge_condenses_at_exact_capacity() -> None:
    # 2050 values fill level 0 exactly: Spark's final merge (held >= capacity) compacts it
    got = _engine(np.arange(2050, dtype=float), 2050)
    assert [len(level) for level in got.data()] == [0, 1025]


@settings(max_examples=25, deadline=None)
@given(
    st.lists(st.integers(-50, 50), min_size=1, max_size=6000),
    st.integers(1, 3000),
)
def test_deterministic_and_chunk_independent(values: list[int], chunk: int) -> None:
    x = np.asarray(values, dtype=float)
    a, b = _engine(x, chunk), _engine(x, len(x))
    assert a.data() == b.data()
    ref = RefSketch()
    for v in values:
        ref.update(float(v))
    assert a.data() == RefSketch().merge(ref).items()


@settings(max_examples=10, deadline=None)
@given(st.integers(10_000, 60_000), st.integers(0, 2**31))
def test_quantiles_within_kll_bound(n: int, seed: int) -> None:
    x = np.random.default_rng(seed).random(n)
    s = _engine(x, 4096)
    xs = np.sort(x)
    for q in (0.1, 0.25, 0.5, 0.75, 0.9):
        rank = np.searchsorted(xs, s.quantile(q), side="right") / n
        assert abs(rank - q) <= 0.01  # generous bound for k = 2048
