"""Local monitoring end to end: apply a plan, write capture files, run executions."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from _monitoring_helpers import capture_line, past, register_endpoint, write_capture

from smkit.errors import OrderError, ResourceNotFoundError
from smkit.monitoring import ModelConfig, MonitorPlan, SHAPConfig


@pytest.fixture
def setup(local_session, tmp_path):
    backend = local_session.backend
    register_endpoint(backend)
    rng = np.random.default_rng(0)
    x = rng.normal(0, 1, (600, 3))
    y = (x[:, 0] > 0).astype(float)
    np.savetxt(tmp_path / "train.csv", np.column_stack([y, x]), delimiter=",", fmt="%.6f")
    return local_session, backend, tmp_path, rng


def _traffic(backend, rng, when, shift=0.0, n=300):
    x = rng.normal(0, 1, (n, 3))
    x[:, 1] += shift
    lines = [capture_line([f"{v:.6f}" for v in r], f"{float(r[0] > 0):.1f}", when) for r in x]
    write_capture(backend, lines, when)
    return x


def test_drifted_stream_flags_only_the_shifted_feature(setup):
    session, backend, tmp, rng = setup
    monitor = session.apply(
        MonitorPlan("ep").data_quality(baseline=str(tmp / "train.csv")).schedule("hourly")
    )
    with pytest.raises(OrderError, match="no execution"):
        monitor.latest_violations()
    _traffic(backend, rng, past(50))
    calm = monitor.run_now(end=past(20))
    assert calm.status == "Completed" and calm.violations == []
    _traffic(backend, rng, past(10), shift=1.5)
    run = monitor.run_now()
    assert run.status == "CompletedWithViolations"
    assert [(v["feature_name"], v["constraint_check_type"]) for v in run.violations] == [
        ("_c2", "baseline_drift_check")
    ]
    execution = run.executions[0]
    assert execution.item_count == 300
    for key in ("statistics", "constraints", "violations", "metrics", "metrics_csv", "report_html"):
        assert backend.store.head(execution.uris[key]) is not None, key
    hour = datetime.now(UTC).strftime("%Y/%m/%d/%H")
    assert execution.uris["violations"] == (
        f"s3://smkit/monitoring/ep/ep-data-quality/{hour}/constraint_violations.json"
    )
    html = backend.store.get_bytes(execution.uris["report_html"]).decode()
    assert "baseline_drift_check" in html and "data:image/png;base64" in html
    records = [r for r in backend.catalog.list("monitoring_execution")]
    assert {r.status for r in records} == {"Completed", "CompletedWithViolations"}
    assert records[0].data["ReportUris"]["report_html"].endswith("report.html")
    metrics = monitor.metrics()
    names = {r["MetricName"] for r in metrics}
    assert {"feature_data__c1", "feature_non_null__c1", "feature_baseline_drift__c2"} <= names
    assert monitor.latest_violations()[0]["feature_name"] == "_c2"
    schedule = backend.catalog.describe("monitoring_schedule", "ep-data-quality")
    assert schedule.status == "Scheduled"
    assert schedule.data["LastMonitoringExecutionSummary"]["MonitoringExecutionStatus"] == (
        "CompletedWithViolations"
    )


def test_empty_window_says_no_data_and_corrupt_lines_are_counted(setup):
    session, backend, tmp, _rng = setup
    monitor = session.apply(
        MonitorPlan("ep").data_quality(baseline=str(tmp / "train.csv")).schedule("daily")
    )
    run = monitor.run_now()
    assert run.status == "Completed" and run.executions[0].message == "no data"
    when = past(1)
    good = [capture_line(["0.1", "0.2", "0.3"], "1.0", when)] * 5
    write_capture(backend, [*good, "{not json", '{"captureData": 3}'], when)
    run = monitor.run_now(start=when - timedelta(minutes=1))
    assert run.executions[0].item_count == 5 and run.executions[0].skipped == 2


def test_plan_order_is_checked_against_the_endpoint(local_session, tmp_path):
    backend = local_session.backend
    register_endpoint(backend, "nocap", capture=False)
    (tmp_path / "t.csv").write_text("1,2\n3,4\n")
    plan = MonitorPlan("nocap").data_quality(baseline=str(tmp_path / "t.csv")).schedule("hourly")
    with pytest.raises(OrderError, match="no data capture"):
        local_session.apply(plan)
    with pytest.raises(ResourceNotFoundError, match="deploy it"):
        local_session.apply(MonitorPlan("ghost").data_quality(baseline="x.csv").schedule("hourly"))
    with pytest.raises(OrderError, match="no schedule"):
        local_session.apply(MonitorPlan("nocap").data_quality(baseline="x.csv"))


def test_run_due_runs_only_what_is_due(setup):
    session, backend, tmp, _rng = setup
    session.apply(
        MonitorPlan("ep").data_quality(baseline=str(tmp / "train.csv")).schedule("hourly")
    )
    now = datetime.now(UTC)
    assert backend.run_due(now=now) == []  # created just now: next hour not reached
    later = now + timedelta(hours=1, minutes=1)
    runs = backend.run_due(now=later)
    assert [r.schedule for r in runs] == ["ep-data-quality"]
    assert backend.run_due(now=later) == []  # ran already
    from smkit.cli import main

    assert main(["monitor", "run-due", "--root", str(backend.root)]) == 0


def test_model_quality_merges_ground_truth(setup):
    session, backend, tmp, rng = setup
    n = 250
    p = rng.random(n)
    labels = (p + rng.normal(0, 0.2, n) > 0.5).astype(int)
    lines = ["label,prob"] + [f"{a},{b:.4f}" for a, b in zip(labels, p)]
    (tmp / "val.csv").write_text("\n".join(lines) + "\n")
    plan = (
        MonitorPlan("ep")
        .model_quality(
            baseline=str(tmp / "val.csv"),
            problem_type="BinaryClassification",
            ground_truth="s3://smkit/gt/ep",
            inference_attribute=None,
            probability_attribute="prob",
        )
        .schedule("hourly")
    )
    monitor = session.apply(plan)
    base_stats = json.loads(
        backend.store.get_bytes(
            "s3://smkit/monitoring/ep/ep-model-quality/baseline/statistics.json"
        )
    )
    metrics = base_stats["binary_classification_metrics"]
    assert isinstance(metrics["accuracy"]["standard_deviation"], float)  # n >= 200
    assert {
        "auc",
        "f0_5",
        "f1",
        "f2",
        "accuracy_best_constant_classifier",
        "confusion_matrix",
        "receiver_operating_characteristic_curve",
        "precision_recall_curve",
    } <= set(metrics)
    when = past(2)
    caps, truth = [], []
    for i in range(60):
        event = f"e-{i}"
        # a bad model: confident and wrong half the time
        caps.append(
            capture_line(
                ["0.1", "0.2", "0.3"],
                "0.9",
                when,
                event_id=event,
                inference_id=f"inf-{i}" if i % 2 else None,
            )
        )
        meta = {"eventId": f"inf-{i}" if i % 2 else event}
        truth.append(
            json.dumps(
                {
                    "groundTruthData": {"data": str(i % 2), "encoding": "CSV"},
                    "eventMetadata": meta,
                    "eventVersion": "0",
                }
            )
        )
    write_capture(backend, caps, when)
    backend.store.put_bytes(
        "s3://smkit/gt/ep/2024/01/01/00/gt.jsonl", ("\n".join(truth) + "\n").encode()
    )
    run = monitor.run_now()
    execution = run.executions[0]
    assert execution.item_count == 60
    assert execution.statistics["dataset"]["item_count"] == 60
    assert (
        execution.statistics["binary_classification_metrics"]["accuracy"]["standard_deviation"]
        == "NaN"
    )
    assert run.status == "CompletedWithViolations"
    assert {v["metric_name"] for v in run.violations} >= {"accuracy"}


def test_explainability_monitor_baseline_then_drift(setup):
    session, backend, tmp, rng = setup
    weights = np.array([3.0, 1.0, 0.2])
    state = {"w": weights}

    def predict(rows):
        return np.asarray(rows, dtype=float) @ state["w"]

    plan = (
        MonitorPlan("ep")
        .data_quality(baseline=str(tmp / "train.csv"))
        .explainability(
            SHAPConfig(num_samples=20, num_clusters=2), model=ModelConfig(predict_fn=predict)
        )
        .schedule("hourly")
    )
    monitor = session.apply(plan)
    baseline = json.loads(
        backend.store.get_bytes("s3://smkit/monitoring/ep/ep-explainability/baseline/analysis.json")
    )
    glob = baseline["explanations"]["kernel_shap"]["label0"]["global_shap_values"]
    assert list(glob) == ["_c0", "_c1", "_c2"] and glob["_c0"] > glob["_c2"]
    _traffic(backend, rng, past(3), n=40)
    run = monitor.run_now(end=past(2))
    clar = next(e for e in run.executions if e.monitor_type == "ModelExplainability")
    assert clar.status == "Completed" and clar.analysis is not None
    assert backend.store.head(clar.uris["local_shap_values"]) is not None
    state["w"] = np.array([0.1, 0.2, 4.0])  # the model now leans on another feature
    _traffic(backend, rng, past(1), n=40)
    run = monitor.run_now()
    clar = next(e for e in run.executions if e.monitor_type == "ModelExplainability")
    assert clar.status == "CompletedWithViolations"
    assert (
        clar.violations["violations"][0]["constraint_check_type"]
        == "feature_attribution_drift_check"
    )
    assert "report_html" in clar.uris


def test_cli_baseline_and_check(tmp_path, capsys):
    from smkit.cli import main

    rng = np.random.default_rng(2)
    base = tmp_path / "base.csv"
    np.savetxt(base, rng.normal(0, 1, (500, 2)), delimiter=",", fmt="%.5f")
    cur = tmp_path / "cur.csv"
    data = rng.normal(0, 1, (500, 2))
    data[:, 1] += 2
    np.savetxt(cur, data, delimiter=",", fmt="%.5f")
    assert (
        main(["monitor", "baseline", str(base), "--no-header", "--out", str(tmp_path / "b")]) == 0
    )
    text = (tmp_path / "b" / "statistics.json").read_text()
    assert text.startswith('{\n  "version" : 0.0') and "smkit_" not in text
    rc = main(
        [
            "monitor",
            "check",
            str(cur),
            "--no-header",
            "--baseline",
            str(tmp_path / "b"),
            "--out",
            str(tmp_path / "c"),
            "--report",
        ]
    )
    assert rc == 3
    found = json.loads((tmp_path / "c" / "constraint_violations.json").read_text())["violations"]
    assert [(v["feature_name"], v["constraint_check_type"]) for v in found] == [
        ("_c1", "baseline_drift_check")
    ]
    assert (tmp_path / "c" / "report.html").is_file()
    assert (
        main(
            [
                "monitor",
                "check",
                str(base),
                "--no-header",
                "--baseline",
                str(tmp_path / "b"),
                "--out",
                str(tmp_path / "d"),
            ]
        )
        == 0
    )
    assert main(["monitor", "baseline", str(tmp_path / "missing.csv"), "--out", str(tmp_path)]) != 0


def test_in_process_scheduler_starts_and_stops(setup):
    session, backend, tmp, _rng = setup
    monitor = session.apply(
        MonitorPlan("ep").data_quality(baseline=str(tmp / "train.csv")).schedule("hourly")
    )
    monitor.start(interval=0.01)
    monitor.start(interval=0.01)  # idempotent
    monitor.stop()
    assert backend.catalog.describe("monitoring_schedule", "ep-data-quality").status == "Stopped"
    assert backend.run_due(now=datetime.now(UTC) + timedelta(hours=2)) == []  # stopped
    reopened = backend.monitor("ep")
    assert reopened.schedules == {"DataQuality": "ep-data-quality"}
    reopened.delete()
    assert backend.catalog.list("monitoring_schedule") == []


def test_an_execution_that_breaks_is_recorded_failed(setup):
    session, backend, tmp, rng = setup
    monitor = session.apply(
        MonitorPlan("ep").data_quality(baseline=str(tmp / "train.csv")).schedule("hourly")
    )
    _traffic(backend, rng, past(5), n=20)
    backend.store.delete("s3://smkit/monitoring/ep/ep-data-quality/baseline/statistics.json")
    run = monitor.run_now()
    assert run.status == "Failed"
    assert "statistics.json" in run.executions[0].message
    record = backend.catalog.describe("monitoring_execution", run.executions[0].name)
    assert record.status == "Failed" and "statistics.json" in record.data["FailureReason"]


def test_cli_check_of_capture_maps_columns_to_a_named_baseline_by_position(tmp_path, capsys):
    from smkit.cli import main

    rng = np.random.default_rng(4)
    base = tmp_path / "base.csv"
    x = rng.normal(0, 1, (400, 2))
    rows = ["prediction,age,fare"] + [f"{r[0] > 0:d},{r[0]:.4f},{r[1]:.4f}" for r in x]
    base.write_text("\n".join(rows) + "\n")
    assert main(["monitor", "baseline", str(base), "--out", str(tmp_path / "b")]) == 0
    cur = tmp_path / "capture.jsonl"
    x = rng.normal(0, 1, (400, 2))
    x[:, 1] += 3  # fare drifts
    cur.write_text(
        "\n".join(capture_line([f"{r[0]:.4f}", f"{r[1]:.4f}"], f"{r[0] > 0:d}", past(1)) for r in x)
        + "\n"
    )
    rc = main(
        [
            "monitor",
            "check",
            str(cur),
            "--baseline",
            str(tmp_path / "b"),
            "--out",
            str(tmp_path / "c"),
        ]
    )
    found = json.loads((tmp_path / "c" / "constraint_violations.json").read_text())["violations"]
    assert [(v["feature_name"], v["constraint_check_type"]) for v in found] == [
        ("fare", "baseline_drift_check")
    ]
    assert rc == 3
    names = [
        f["name"] for f in json.loads((tmp_path / "c" / "statistics.json").read_text())["features"]
    ]
    assert names == ["prediction", "age", "fare"]


def test_monitoring_is_a_component_sharing_the_backend(setup):
    from smkit.backends.local.monitoring import LocalMonitoring

    _session, backend, tmp, _rng = setup
    assert isinstance(backend.monitoring, LocalMonitoring)
    assert not isinstance(backend, LocalMonitoring)  # composed, not a mixin
    assert backend.monitoring.backend is backend
    assert backend.monitoring.catalog is backend.catalog
    monitor = backend.apply_monitor(
        MonitorPlan("ep").data_quality(baseline=str(tmp / "train.csv")).schedule("hourly")
    )
    assert monitor.backend is backend  # the handle calls the backend's delegates back
    assert backend.monitoring.monitor("ep").schedules == {"DataQuality": "ep-data-quality"}
