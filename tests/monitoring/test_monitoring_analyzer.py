"""The data-quality analyzer against FORMATS.md §2, written out independently here."""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smkit.backends.local.monitor import (
    KLL_K,
    StatisticsBuilder,
    check_constraints,
    compute_statistics,
    file_statistics,
    suggest_constraints,
)
from smkit.errors import FormatError
from smkit.monitoring.files import (
    dumps_jackson,
    read_analysis,
    read_constraints,
    read_statistics,
    read_violations,
)

FIXTURES = Path("/work/shared/fixtures/sagemaker")


def reference_numeric(values: list[float]) -> dict:
    """FORMATS.md §2's rules, spelled out in plain Python."""
    n = 0
    total = 0.0
    mean = 0.0
    m2 = 0.0
    for v in values:
        n += 1
        total += v
        d = v - mean
        dn = d / n
        mean += dn
        m2 += d * (d - dn)
    lo, hi = min(values), max(values)
    edges = [lo + (hi - lo) * i / 10 for i in range(11)]
    width = (hi - lo) / 10
    counts = [0.0] * 10
    for v in values:
        i = 9 if width == 0 else min(int(math.floor((v - lo) / width)), 9)
        counts[i] += 1.0
    return {
        "mean": total / n,
        "sum": total,
        "std_dev": math.sqrt(m2 / n),
        "min": lo,
        "max": hi,
        "buckets": [
            {"lower_bound": edges[i], "upper_bound": edges[i + 1], "count": counts[i]}
            for i in range(10)
        ],
        "data": [values],
    }


def _feature(stats: dict, name: str) -> dict:
    return next(f for f in stats["features"] if f["name"] == name)


def test_small_csv_is_bit_identical_to_the_rules(tmp_path):
    rng = np.random.default_rng(7)
    n = 2048
    a = np.round(rng.normal(3, 2, n), 4)
    b = rng.integers(-50, 50, n)
    lines = ["a,b,c"] + [f"{float(x)!r},{y},{'xyz'[i % 3]}" for i, (x, y) in enumerate(zip(a, b))]
    path = tmp_path / "d.csv"
    path.write_text("\n".join(lines) + "\n")
    stats = compute_statistics(path, block_size=4096)  # many chunks
    fa, fb, fc = _feature(stats, "a"), _feature(stats, "b"), _feature(stats, "c")
    assert (fa["inferred_type"], fb["inferred_type"], fc["inferred_type"]) == (
        "Fractional",
        "Integral",
        "String",
    )
    for feat, vals in ((fa, [float(v) for v in a]), (fb, [float(v) for v in b])):
        ref = reference_numeric(vals)
        num = feat["numerical_statistics"]
        for key in ("mean", "sum", "std_dev", "min", "max"):
            assert num[key] == ref[key], key  # bit-identical
        assert num["distribution"]["kll"]["buckets"] == ref["buckets"]
        sketch = num["distribution"]["kll"]["sketch"]
        assert sketch["parameters"] == {"c": 0.64, "k": 2048.0}
        assert sketch["data"] == ref["data"]  # raw values, row order, one level
    cats = fc["string_statistics"]["distribution"]["categorical"]["buckets"]
    assert {b["value"]: b["count"] for b in cats} == {"x": 683, "y": 683, "z": 682}
    assert stats["dataset"]["item_count"] == n


def test_header_less_names_types_missing_and_unknown(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("1,3.0,,a\n2,4.0,,\n3,5.5,,b\n")
    stats = compute_statistics(path, header=False)
    names = [f["name"] for f in stats["features"]]
    assert names == ["_c0", "_c1", "_c2", "_c3"]
    types = [f["inferred_type"] for f in stats["features"]]
    assert types == ["Integral", "Fractional", "Unknown", "String"]  # 3.0 is Fractional
    common = _feature(stats, "_c3")["string_statistics"]["common"]
    assert common == {"num_present": 2, "num_missing": 1}
    constraints = suggest_constraints(stats)
    assert _feature(constraints, "_c2")["completeness"] == 0.0
    assert _feature(constraints, "_c0")["num_constraints"] == {"is_non_negative": True}


def test_string_in_numeric_column_late_in_the_file(tmp_path):
    path = tmp_path / "d.csv"
    rows = ["x,y"] + [f"{i},{i * 0.5}" for i in range(3000)] + ["oops,1.0"]
    path.write_text("\n".join(rows) + "\n")
    stats = compute_statistics(path, block_size=1024)
    fx = _feature(stats, "x")
    assert fx["inferred_type"] == "String"
    assert fx["smkit_type_counts"]["integral"] == 3000
    base = compute_statistics(
        _write(tmp_path / "b.csv", ["x,y"] + [f"{i},{i}.5" for i in range(50)])
    )
    violations = check_constraints(stats, suggest_constraints(base), base)["violations"]
    dtype = [v for v in violations if v["constraint_check_type"] == "data_type_check"]
    assert [v["feature_name"] for v in dtype] == ["x"]
    assert "Expected data type: Integral, Expected match: 100.0%" in dtype[0]["description"]
    assert "99.96667777407531% of data is Integral" in dtype[0]["description"]


def _write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n")
    return path


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    values=st.lists(
        st.floats(min_value=-1e6, max_value=1e6, allow_nan=False), min_size=1, max_size=6000
    ),
    cuts=st.lists(st.integers(min_value=0, max_value=6000), max_size=6),
)
def test_chunked_equals_whole(values, cuts):
    whole = StatisticsBuilder()
    whole.update(["v"], [pa.array(values, type=pa.float64())])
    chunked = StatisticsBuilder()
    bounds = sorted({0, len(values), *[c % (len(values) + 1) for c in cuts]})
    for lo, hi in itertools.pairwise(bounds):
        chunked.update(["v"], [pa.array(values[lo:hi], type=pa.float64())])
    a = whole.result()["features"][0]["numerical_statistics"]
    b = chunked.result()["features"][0]["numerical_statistics"]
    for key in ("sum", "min", "max"):
        assert a[key] == b[key]
    assert a["common"] == b["common"]
    assert a["mean"] == pytest.approx(b["mean"], rel=1e-12, abs=1e-9)
    assert a["std_dev"] == pytest.approx(b["std_dev"], rel=1e-12, abs=1e-9)
    if len(values) <= KLL_K:
        assert a["distribution"] == b["distribution"]


def test_quantiles_within_the_kll_bound_above_k():
    rng = np.random.default_rng(3)
    values = rng.lognormal(0, 1, 200_000)
    b = StatisticsBuilder()
    for chunk in np.array_split(values, 13):
        b.update(["v"], [pa.array(chunk)])
    num = b.result()["features"][0]["numerical_statistics"]
    data = num["distribution"]["kll"]["sketch"]["data"]
    items = np.concatenate([np.asarray(level) for level in data])
    weights = np.concatenate([np.full(len(level), 2.0**i) for i, level in enumerate(data)])
    assert weights.sum() == pytest.approx(len(values))
    eps = 0.002  # generous: KLL rank error for k = 2048 is about 2.4 / k**0.94 = 0.0018
    order = np.argsort(items)
    cum = np.cumsum(weights[order]) / weights.sum()
    srt = np.sort(values)
    for q in (0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99):
        est = items[order][np.searchsorted(cum, q)]
        true_rank = np.searchsorted(srt, est, side="right") / len(values)
        assert abs(true_rank - q) <= 3 * eps
    counts = [bk["count"] for bk in num["distribution"]["kll"]["buckets"]]
    assert sum(counts) == pytest.approx(len(values), rel=1e-9)
    edges = [bk["lower_bound"] for bk in num["distribution"]["kll"]["buckets"]]
    true = np.histogram(values, bins=[*edges, values.max()])[0]
    assert np.max(np.abs(np.array(counts) - true)) <= 3 * eps * len(values) * 2


def _stats_of(tmp_path: Path, name: str, cols: dict[str, np.ndarray]) -> dict:
    keys = list(cols)
    n = len(cols[keys[0]])
    lines = [",".join(keys)] + [",".join(str(cols[k][i]) for k in keys) for i in range(n)]
    return compute_statistics(_write(tmp_path / name, lines))


def test_drift_flags_only_shifted_features(tmp_path):
    rng = np.random.default_rng(11)
    cats = np.array(["a", "b", "c"])
    base = _stats_of(
        tmp_path,
        "b.csv",
        {
            "x": np.round(rng.normal(0, 1, 3000), 5),
            "y": np.round(rng.normal(5, 2, 3000), 5),
            "c": cats[rng.integers(0, 3, 3000)],
        },
    )
    constraints = suggest_constraints(base)
    same = _stats_of(
        tmp_path,
        "s.csv",
        {
            "x": np.round(rng.normal(0, 1, 1000), 5),
            "y": np.round(rng.normal(5, 2, 1000), 5),
            "c": cats[rng.integers(0, 3, 1000)],
        },
    )
    assert check_constraints(same, constraints, base)["violations"] == []
    shifted = _stats_of(
        tmp_path,
        "d.csv",
        {
            "x": np.round(rng.normal(0, 1, 1000), 5),
            "y": np.round(rng.normal(6.5, 2, 1000), 5),
            "c": np.where(rng.random(1000) < 0.7, "a", cats[rng.integers(0, 3, 1000)]),
        },
    )
    found = check_constraints(shifted, constraints, base)["violations"]
    assert sorted((v["feature_name"], v["constraint_check_type"]) for v in found) == [
        ("c", "baseline_drift_check"),
        ("y", "baseline_drift_check"),
    ]
    # ChiSquared and Simple methods, thresholds from monitoring_config
    cfg = json.loads(json.dumps(constraints))
    cfg["monitoring_config"]["distribution_constraints"].update(
        {
            "categorical_drift_method": "ChiSquared",
            "comparison_method": "Simple",
            "comparison_threshold": 0.9,
        }
    )
    found = check_constraints(shifted, cfg, base)["violations"]
    assert [(v["feature_name"], "ChiSquared" in v["description"]) for v in found] == [("c", True)]


def test_robust_needs_the_ks_critical_value_for_few_samples(tmp_path):
    rng = np.random.default_rng(5)
    base = _stats_of(tmp_path, "b.csv", {"x": np.round(rng.normal(0, 1, 2000), 5)})
    few = _stats_of(tmp_path, "f.csv", {"x": np.round(rng.normal(0, 1, 10), 5)})
    constraints = suggest_constraints(base)
    simple = json.loads(json.dumps(constraints))
    simple["monitoring_config"]["distribution_constraints"]["comparison_method"] = "Simple"
    simple["monitoring_config"]["distribution_constraints"]["comparison_threshold"] = 0.05
    robust = json.loads(json.dumps(simple))
    robust["monitoring_config"]["distribution_constraints"]["comparison_method"] = "Robust"
    assert check_constraints(few, simple, base)["violations"]
    assert check_constraints(few, robust, base)["violations"] == []


def test_completeness_domains_missing_and_extra_columns_and_overrides(tmp_path):
    base = compute_statistics(
        _write(tmp_path / "b.csv", ["a,b,c"] + [f"{i},x,{i}" for i in range(20)])
    )
    constraints = suggest_constraints(base)
    cur = compute_statistics(
        _write(
            tmp_path / "c.csv",
            ["a,b,d"] + [f"{'' if i % 4 == 0 else i},{'xy'[i % 2]},1" for i in range(20)],
        )
    )
    found = {
        (v["feature_name"], v["constraint_check_type"])
        for v in check_constraints(cur, constraints)["violations"]
    }
    assert found == {
        ("a", "completeness_check"),
        ("b", "categorical_values_check"),
        ("c", "missing_column_check"),
        ("d", "extra_column_check"),
    }
    # per-feature overrides (both spellings) switch a check off or relax it
    feats = {f["name"]: f for f in constraints["features"]}
    feats["b"]["string_constraints"]["monitoringConfigOverrides"] = {
        "domain_content_threshold": 0.4
    }
    feats["a"]["num_constraints"]["monitoring_config_overrides"] = {
        "evaluate_constraints": "Disabled"
    }
    found = {
        (v["feature_name"], v["constraint_check_type"])
        for v in check_constraints(cur, constraints)["violations"]
    }
    assert found == {("c", "missing_column_check"), ("d", "extra_column_check")}


def test_all_null_column_and_jsonl_input(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_text('{"a": 1, "b": null}\n{"a": 2.5, "b": null}\nnot json\n{"a": 3, "c": "z"}\n')
    stats = compute_statistics(path)
    assert _feature(stats, "a")["inferred_type"] == "Fractional"
    assert _feature(stats, "b")["inferred_type"] == "Unknown"
    assert _feature(stats, "c")["string_statistics"]["common"] == {
        "num_present": 1,
        "num_missing": 2,
    }
    assert stats["dataset"]["item_count"] == 3


def test_capture_jsonl_with_corrupt_lines(tmp_path):
    text = (FIXTURES / "monitor-capture.jsonl").read_text().replace("{%s}", "2024-01-01T00:00:00Z")
    path = tmp_path / "cap.jsonl"
    path.write_text(text + "{broken\n" + '{"captureData": {}}\n')
    from smkit.backends.local.monitor import ReadStats

    read = ReadStats()
    stats = compute_statistics(path, read_stats=read)
    assert read.skipped == 2
    names = [f["name"] for f in stats["features"]]
    assert (
        names[0] == "_c0" and _feature(stats, "_c0")["inferred_type"] == "Fractional"
    )  # output first
    assert len(names) == 8
    json_capture = compute_statistics(FIXTURES / "monitor-captured-data.jsonl")
    assert json_capture["dataset"]["item_count"] == 6


def test_fixtures_parse_and_our_files_parse_the_same_way(tmp_path):
    read_statistics(FIXTURES / "monitor-statistics.json")
    read_constraints(FIXTURES / "monitor-constraints.json")
    read_violations(FIXTURES / "monitor-constraint_violations.json")
    read_constraints(FIXTURES / "model-quality-constraints.json")
    read_analysis(FIXTURES / "clarify-explainability-analysis.json")
    ours = compute_statistics(_write(tmp_path / "d.csv", ["message"] + ["hi"] * 4))
    fixture = json.loads((FIXTURES / "monitor-statistics.json").read_text())
    assert set(ours) == set(fixture)
    assert set(file_statistics(ours)["features"][0]) == set(fixture["features"][0])
    assert set(ours["features"][0]["string_statistics"]) == set(
        fixture["features"][0]["string_statistics"]
    )
    text = dumps_jackson(ours)
    assert '"version" : 0.0' in text and '"features" : [ {' in text
    assert json.loads(text) == json.loads(json.dumps(ours))
    # fixture constraints (older keys) can drive checks
    found = check_constraints(ours, read_constraints(FIXTURES / "monitor-constraints.json"))
    kinds = {v["constraint_check_type"] for v in found["violations"]}
    assert kinds == {"categorical_values_check", "missing_column_check"}


def test_other_schema_version_is_a_clear_error(tmp_path):
    path = tmp_path / "s.json"
    path.write_text('{"version": 1.0, "features": []}')
    with pytest.raises(FormatError, match="schema version 1.0 is not supported"):
        read_statistics(path)


def test_header_only_empty_and_crlf_files(tmp_path):
    header_only = compute_statistics(_write(tmp_path / "h.csv", ["a,b"]))
    assert header_only["dataset"]["item_count"] == 0
    assert [(f["name"], f["inferred_type"]) for f in header_only["features"]] == [
        ("a", "Unknown"),
        ("b", "Unknown"),
    ]
    (tmp_path / "e.csv").write_text("")
    assert compute_statistics(tmp_path / "e.csv")["features"] == []
    (tmp_path / "c.csv").write_bytes(b'a,b\r\n1,"x,y"\r\n2,z')
    crlf = compute_statistics(tmp_path / "c.csv")
    assert crlf["dataset"]["item_count"] == 2
    cats = _feature(crlf, "b")["string_statistics"]["distribution"]["categorical"]["buckets"]
    assert {b["value"] for b in cats} == {"x,y", "z"}


def test_above_k_statistics_are_deequs_and_byte_identical_run_to_run(tmp_path, monkeypatch):
    from _deequ_reference import ref_statistics

    rng = np.random.default_rng(11)
    n = 5000
    a = np.round(rng.normal(0, 3, n), 3)
    b = rng.integers(0, 40, n)
    path = _write(tmp_path / "d.csv", ["a,b"] + [f"{float(x)!r},{y}" for x, y in zip(a, b)])
    runs = [
        dumps_jackson(file_statistics(compute_statistics(path, block_size=bs)))
        for bs in (1 << 12, 1 << 12, 1 << 22)
    ]
    from smkit.monitoring.engines import data_quality

    monkeypatch.setattr(data_quality, "_PARALLEL_ROWS", 1)  # columns on the thread pool
    runs.append(dumps_jackson(file_statistics(compute_statistics(path, block_size=1 << 12))))
    assert runs[0] == runs[1] == runs[2] == runs[3]  # deterministic, chunk-size independent
    stats = json.loads(runs[0])
    for name, vals in (("a", a), ("b", b)):
        data, buckets = ref_statistics([float(v) for v in vals])  # Deequ's Scala, translated
        kll = _feature(stats, name)["numerical_statistics"]["distribution"]["kll"]
        assert kll["sketch"]["data"] == data
        assert kll["buckets"] == buckets
        assert all(float(bk["count"]).is_integer() for bk in kll["buckets"])


def test_last_bucket_leaves_out_a_max_above_the_top_edge():
    # lo + (hi - lo) * 10 / 10 rounds below hi here: Deequ counts hi in no bucket
    lo, hi = 5.2192, 11.74
    assert lo + (hi - lo) * 10 / 10.0 < hi
    b = StatisticsBuilder()
    b.update(["v"], [pa.array([lo, 8.0, hi])])
    buckets = b.result()["features"][0]["numerical_statistics"]["distribution"]["kll"]["buckets"]
    assert sum(bk["count"] for bk in buckets) == 2.0
    assert buckets[-1]["upper_bound"] < hi


SDK = Path(__file__).parent / "fixtures" / "sdk"


def _leaves(value, path=()):
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _leaves(v, (*path, k))
    elif isinstance(value, list) and value and isinstance(value[0], dict | list):
        for i, v in enumerate(value):
            yield from _leaves(v, (*path, i))
    else:
        yield path, value


def test_sdk_data_quality_statistics_are_reproduced_field_for_field(tmp_path):
    # the SDK's real statistics.json; its input is its own sketch data (n <= 2048: raw rows)
    real = json.loads((SDK / "data_quality_statistics.json").read_text())
    columns = [
        f["numerical_statistics"]["distribution"]["kll"]["sketch"]["data"][0]
        for f in real["features"]
    ]
    rows = [",".join(repr(col[i]) for col in columns) for i in range(len(columns[0]))]
    ours = file_statistics(compute_statistics(_write(tmp_path / "d.csv", rows), header=False))
    real_leaves, our_leaves = dict(_leaves(real)), dict(_leaves(ours))
    assert set(real_leaves) == set(our_leaves)
    differing = [k for k, v in real_leaves.items() if our_leaves[k] != v]
    assert differing == [], differing[:5]
    # 254 fields: per feature 9 scalars, 10 buckets x 3, c, k, the 100-value sketch data
    assert len(real_leaves) == 6 * 42 + 2
    assert dumps_jackson(ours).rstrip("\n") == (SDK / "data_quality_statistics.json").read_text()


def test_sdk_string_statistics_fixture_is_reproduced(tmp_path):
    real = read_statistics(FIXTURES / "monitor-statistics.json")
    value = real["features"][0]["string_statistics"]["distribution"]["categorical"]["buckets"][0]
    path = _write(tmp_path / "m.csv", ["message"] + [value["value"]] * value["count"])
    assert file_statistics(compute_statistics(path)) == real


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["1", "5.", "2"], "String"),
        (["0.5", ".5"], "String"),
        (["1.0", "inf"], "String"),
        (["1.0", "NaN"], "String"),
        (["+1", "2"], "Integral"),
        (["0x10", "1"], "String"),
        (["true", "false"], "String"),
        (["True", "False"], "String"),
        ([" 5", "6"], "Integral"),  # the pattern allows one space before the digits
        (["5 ", "6"], "String"),
        (["1e5", "2"], "Fractional"),
        (["1.e5", "2.5"], "String"),
        (["- 5", "3"], "Integral"),
        (["3.0", "4"], "Fractional"),
        (["-7", "007"], "Integral"),
    ],
)
def test_type_inference_follows_deequs_patterns(tmp_path, values, expected):
    rows = ["x,y"] + [f"{v},{i}.5" for i, v in enumerate(values * 40)]
    for block in (64, 1 << 20):  # the check runs per chunk: small chunks and one chunk
        stats = compute_statistics(_write(tmp_path / "t.csv", rows), block_size=block)
        assert _feature(stats, "x")["inferred_type"] == expected, (values, block)
        assert _feature(stats, "y")["inferred_type"] == "Fractional"
    if expected == "String":
        cats = _feature(stats, "x")["string_statistics"]["distribution"]["categorical"]
        assert {b["value"] for b in cats["buckets"]} == set(values)  # the text as written


def test_a_bare_dot_at_the_start_of_a_chunk_is_seen(tmp_path):
    # ".5" as the first field of a chunk (right after the header) and no other dot that
    # lacks a digit: the byte scan must treat the chunk's edges as line breaks
    path = tmp_path / "edge.csv"
    path.write_text("a\n.5\n1.5\n")
    assert compute_statistics(path)["features"][0]["inferred_type"] == "String"
    path.write_text("a,b\n1.5,2\n3.25,4.\n")
    stats = compute_statistics(path)
    assert [f["inferred_type"] for f in stats["features"]] == ["Fractional", "String"]


def test_deequ_types_through_capture_jsonl():
    from smkit.monitoring.engines.capture import ReadStats  # noqa: F401

    lines = [
        json.dumps(
            {
                "captureData": {
                    "endpointInput": {"data": f"+{i},{i}.,nan", "encoding": "CSV"},
                    "endpointOutput": {"data": "0.5", "encoding": "CSV"},
                },
                "eventMetadata": {"eventId": str(i)},
            }
        )
        for i in range(5)
    ]
    stats = compute_statistics(lines, fmt="capture")
    types = [f["inferred_type"] for f in stats["features"]]
    assert types == ["Fractional", "Integral", "String", "String"]


def test_no_drift_violation_for_a_feature_that_failed_its_type_check(tmp_path):
    base = compute_statistics(
        _write(tmp_path / "b.csv", ["x,y"] + [f"{i},{i}" for i in range(200)])
    )
    cur_rows = ["x,y"] + [f"{i + 500}.5,{i + 500}" for i in range(200)]  # both shifted
    cur = compute_statistics(_write(tmp_path / "c.csv", cur_rows))
    found = check_constraints(cur, suggest_constraints(base), base)["violations"]
    assert [(v["feature_name"], v["constraint_check_type"]) for v in found] == [
        ("x", "data_type_check"),
        ("y", "baseline_drift_check"),
    ]


def test_constraints_carry_only_sagemakers_keys(tmp_path):
    stats = compute_statistics(_write(tmp_path / "b.csv", ["x,c"] + [f"{i},a" for i in range(9)]))
    cfg = suggest_constraints(stats)["monitoring_config"]
    assert cfg["distribution_constraints"] == {
        "perform_comparison": "Enabled",
        "comparison_threshold": 0.1,
        "comparison_method": "Robust",
    }
    assert set(cfg) == {
        "evaluate_constraints",
        "emit_metrics",
        "datatype_check_threshold",
        "domain_content_threshold",
        "distribution_constraints",
    }
