"""The ``wine-monitoring`` use case: quick run through the CLI, the AWS plan, the pieces."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smkit.cli import main
from smkit.errors import ConfigError
from smkit.usecases import build_config, load_usecase
from smkit.usecases.wine_monitoring import (
    RetrainingPolicy,
    WineMonitoringConfig,
    drift_threshold_for,
    relax_model_quality,
)
from smkit.usecases.wine_monitoring.data import (
    ground_truth_lines,
    labelled_capture,
    load_wine_frame,
)


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wine-monitoring")
    home = tmp_path_factory.mktemp("home")
    mp = pytest.MonkeyPatch()
    mp.setenv("SMKIT_HOME", str(home))
    try:
        assert main(["run", "wine-monitoring", "--quick", "--out", str(out)]) == 0
    finally:
        mp.undo()
    out.joinpath("_home").write_text(str(home))
    return out


@pytest.mark.timeout(300)
def test_quick_run_finds_the_drift_only_in_the_drifted_phase(quick_run: Path) -> None:
    report = json.loads((quick_run / "report.json").read_text())
    assert report["status"] == "Succeeded"
    windows = report["details"]["windows"]
    assert [w["phase"] for w in windows] == ["normal", "drifted"]
    normal, drifted = windows
    # the normal phase: every execution completes without a violation
    assert set(normal["status"].values()) == {"Completed"}
    assert normal["violations"] == [] and normal["drifted_columns"] == []
    assert not normal["retrain"]
    assert normal["items"] == {"DataQuality": 54, "ModelQuality": 54, "ModelExplainability": 54}
    # the drifted phase: baseline_drift_check on the shifted features (and the model's answer)
    assert drifted["status"]["DataQuality"] == "CompletedWithViolations"
    flagged = set(drifted["drifted_features"])
    assert {"alcohol", "proline"} <= flagged <= {"alcohol", "proline", "prediction"}
    assert set(report["details"]["drift"]["capture_columns"]) == {"_c1", "_c13"}
    for column in ("_c1", "_c13"):
        assert drifted["drift"][column] > 0.8 > normal["drift"][column]
    # model quality with ground truth: accuracy falls, violations follow
    assert drifted["status"]["ModelQuality"] == "CompletedWithViolations"
    assert report["metrics"]["accuracy_normal"] > 0.9
    assert report["metrics"]["accuracy_drifted"] < report["metrics"]["accuracy_normal"] - 0.1
    assert 0 <= report["metrics"]["ndcg_drifted"] <= 1
    # the retraining policy fired on the drifted window, with the labelled traffic
    assert drifted["retrain"] and report["metrics"]["retraining_triggered"]
    assert report["details"]["retraining"]["triggered_by_window"] == "02-drifted"
    assert report["details"]["retraining"]["labelled_traffic_rows"] == 54
    assert report["metrics"]["retrain_rows"] == 88 + 54
    m = report["metrics"]
    assert m["accuracy_after_validation_drifted"] >= m["accuracy_before_validation_drifted"]
    assert m["accuracy_after_validation"] >= m["accuracy_before_validation"] - 0.05
    assert report["details"]["feature_importance_gain"]
    for png in ("feature_importance", "distributions", "shap", "metrics", "before_after"):
        assert (quick_run / f"{png}.png").stat().st_size > 1000, png


@pytest.mark.timeout(300)
def test_quick_run_writes_sagemaker_files(quick_run: Path) -> None:
    report = json.loads((quick_run / "report.json").read_text())
    files = report["details"]["monitoring_files"]
    names = Counter(Path(f["path"]).name for f in files)
    for name in ("statistics.json", "constraints.json", "constraint_violations.json"):
        assert names[name] >= 2, name
    assert names["analysis.json"] >= 3  # the Clarify baseline and one per window
    for f in files:
        assert Path(f["path"]).is_file() and Path(f["path"]).is_relative_to(quick_run)
    drifted = [
        f
        for f in files
        if f.get("window") == "02-drifted" and f["path"].endswith("constraint_violations.json")
    ]
    checks = {
        v["constraint_check_type"]
        for f in drifted
        for v in json.loads(Path(f["path"]).read_text())["violations"]
    }
    assert "baseline_drift_check" in checks
    capture = [f for f in files if f["kind"] == "capture"]
    assert capture and all(f["path"].endswith(".jsonl") for f in capture)
    assert "/AllTraffic/" in capture[0]["path"]
    records = [
        json.loads(line)
        for f in capture
        for line in Path(f["path"]).read_text().splitlines()
        if line.strip()
    ]
    ids = {r["eventMetadata"].get("inferenceId", "") for r in records}
    assert sum(i.startswith("01-normal-") for i in ids) == 54
    truth = [f for f in files if f["kind"] == "ground_truth"]
    gt = json.loads(Path(truth[0]["path"]).read_text().splitlines()[0])
    assert set(gt) == {"groundTruthData", "eventMetadata", "eventVersion"}


@pytest.mark.timeout(300)
def test_quick_run_tears_down(quick_run: Path) -> None:
    import smkit

    report = json.loads((quick_run / "report.json").read_text())
    home = (quick_run / "_home").read_text()
    with smkit.Session(root=home) as session:
        assert session.catalog.describe("endpoint", report["artifacts"]["endpoint"]).status == (
            "Deleted"
        )
        statuses = {r.status for r in session.catalog.list("monitoring_schedule")}
    assert statuses == {"Stopped"}


def test_plan_lists_every_request(tmp_path: Path) -> None:
    out = tmp_path / "plan"
    args = ["run", "wine-monitoring", "--quick", "--backend", "aws", "--plan", "--out", str(out)]
    assert main(args) == 0
    plan = json.loads((out / "plan.json").read_text())
    ops = Counter(r["operation"] for r in plan)
    assert ops["CreateTrainingJob"] == 2  # the first job and the retraining job
    for op in ("CreateModel", "CreateEndpointConfig", "CreateEndpoint", "DeleteEndpoint"):
        assert ops[op] == 1, op
    assert ops["CreateProcessingJob"] == 3  # the three baseline jobs
    for op in (
        "CreateDataQualityJobDefinition",
        "CreateModelQualityJobDefinition",
        "CreateModelExplainabilityJobDefinition",
    ):
        assert ops[op] == 1, op
    assert ops["CreateMonitoringSchedule"] == 3 + 3 * 2  # hourly + one NOW per window
    assert ops["InvokeEndpoint"] == 2 * 54
    assert ops["PutObject"] >= 6  # channels, ground truth, analysis config, retrain data
    config = next(r for r in plan if r["operation"] == "CreateEndpointConfig")["params"]
    assert config["DataCaptureConfig"]["InitialSamplingPercentage"] == 100
    job = next(r for r in plan if r["operation"] == "CreateTrainingJob")["params"]
    assert job["HyperParameters"]["objective"] == "binary:logistic"
    mq = next(r for r in plan if r["operation"] == "CreateModelQualityJobDefinition")["params"]
    assert mq["ModelQualityAppSpecification"]["ProblemType"] == "BinaryClassification"
    invoke = next(r for r in plan if r["operation"] == "InvokeEndpoint")["params"]
    assert invoke["InferenceId"].startswith("01-normal-")


def test_config_checks() -> None:
    usecase = load_usecase("wine-monitoring")
    cfg = build_config(usecase, {"drift_features": "alcohol,hue", "drift_sigmas": "2"})
    assert cfg.drift_features == ("alcohol", "hue") and cfg.drift_sigmas == 2.0
    assert build_config(usecase, {}, quick=True).size("windows_per_phase") == 1
    assert WineMonitoringConfig().size("windows_per_phase") == 2
    with pytest.raises(ConfigError):
        WineMonitoringConfig(target_class=3)
    with pytest.raises(ConfigError):
        WineMonitoringConfig(drift_threshold=1.5)
    with pytest.raises(ConfigError):
        build_config(usecase, {"nope": "1"})


def test_unknown_drift_feature_is_refused(local_session, tmp_path: Path) -> None:
    usecase = load_usecase("wine-monitoring")
    with pytest.raises(ConfigError, match="not wine features"):
        usecase.run(local_session, WineMonitoringConfig(drift_features=("colour",)), tmp_path)


@given(
    st.integers(10, 500),
    st.integers(10, 500),
    st.integers(1, 30),
)
def test_drift_threshold_shrinks_with_data_and_grows_with_columns(n: int, m: int, k: int) -> None:
    t = drift_threshold_for(n, m, k)
    assert t > 0
    assert drift_threshold_for(n * 2, m * 2, k) < t
    assert drift_threshold_for(n, m, k + 1) > t


@given(st.floats(0.0, 1.0), st.floats(0.0, 0.5))
def test_relaxed_constraints_move_away_from_violation(value: float, tol: float) -> None:
    constraints = {
        "version": 0.0,
        "binary_classification_constraints": {
            "accuracy": {"threshold": value, "comparison_operator": "LessThanThreshold"},
            "false_positive_rate": {
                "threshold": value,
                "comparison_operator": "GreaterThanThreshold",
            },
        },
    }
    out = relax_model_quality(constraints, tol)["binary_classification_constraints"]
    assert out["accuracy"]["threshold"] == pytest.approx(max(0.0, value - tol))
    assert out["false_positive_rate"]["threshold"] == pytest.approx(min(1.0, value + tol))
    assert constraints["binary_classification_constraints"]["accuracy"]["threshold"] == value


def _execution(kind: str, status: str, violations: list[dict]) -> SimpleNamespace:
    return SimpleNamespace(monitor_type=kind, status=status, violations={"violations": violations})


def test_policy_triggers_on_drift_or_quality_only() -> None:
    policy = RetrainingPolicy()
    drift = {"feature_name": "_c1", "constraint_check_type": "baseline_drift_check"}
    dtype = {"feature_name": "_c1", "constraint_check_type": "data_type_check"}
    quality = {"metric_name": "accuracy", "constraint_check_type": "LessThanThreshold"}
    shap = {"label": "label0", "constraint_check_type": "feature_attribution_drift_check"}
    assert not policy.decide([_execution("DataQuality", "Completed", [])]).retrain
    assert not policy.decide(
        [_execution("DataQuality", "CompletedWithViolations", [dtype])]
    ).retrain
    assert not policy.decide(
        [_execution("ModelExplainability", "CompletedWithViolations", [shap])]
    ).retrain
    decision = policy.decide(
        [
            _execution("DataQuality", "CompletedWithViolations", [drift]),
            _execution("ModelQuality", "CompletedWithViolations", [quality]),
        ]
    )
    assert decision.retrain
    assert decision.reasons == (
        "DataQuality: baseline_drift_check on _c1",
        "ModelQuality: accuracy (LessThanThreshold)",
    )
    assert (
        not RetrainingPolicy(min_drifted_features=2)
        .decide([_execution("DataQuality", "CompletedWithViolations", [drift])])
        .retrain
    )
    assert (
        RetrainingPolicy(monitor_types=("ModelExplainability",))
        .decide([_execution("ModelExplainability", "CompletedWithViolations", [shap])])
        .retrain
    )


def test_ground_truth_and_capture_join_back() -> None:
    frame, features = load_wine_frame(0)
    assert list(frame.columns[:2]) == ["target", "alcohol"] and len(features) == 13
    assert frame["target"].sum() == 59  # cultivar class_0
    rows = frame[features].to_numpy(float)[:3].tolist()
    labels = {"a-1": 1, "a-2": 0, "b-1": 1}
    capture = [
        json.dumps(
            {
                "captureData": {
                    "endpointInput": {
                        "data": ",".join(map(repr, row)) + "\n",
                        "encoding": "CSV",
                        "mode": "INPUT",
                        "observedContentType": "text/csv",
                    },
                    "endpointOutput": {"data": "0.5", "encoding": "CSV", "mode": "OUTPUT"},
                },
                "eventMetadata": {"eventId": "e", "inferenceId": iid},
                "eventVersion": "0",
            }
        )
        for iid, row in zip(labels, rows)
    ]
    joined = labelled_capture(capture, labels, features, id_prefix="a-")
    assert joined["target"].tolist() == [1, 0]
    assert joined[features].to_numpy().tolist() == rows[:2]
    truth = [json.loads(line) for line in ground_truth_lines(labels).splitlines()]
    assert truth[0] == {
        "groundTruthData": {"data": "1", "encoding": "CSV"},
        "eventMetadata": {"eventId": "a-1"},
        "eventVersion": "0",
    }
