"""The ``image-workflow`` use case: quick run through the CLI, the AWS plan, the pieces."""

from __future__ import annotations

import base64
import json
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smkit.cli import main
from smkit.errors import ConfigError
from smkit.usecases import build_config, load_usecase
from smkit.usecases.image_workflow import ImageWorkflowConfig, read_capture
from smkit.usecases.image_workflow.lambdas import (
    filter_inferences,
    make_classify,
    probabilities_of,
)
from smkit.workflow import CONFIDENCE_ERROR


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("image-workflow")
    home = tmp_path_factory.mktemp("home")
    mp = pytest.MonkeyPatch()
    mp.setenv("SMKIT_HOME", str(home))
    try:
        assert main(["run", "image-workflow", "--quick", "--out", str(out)]) == 0
    finally:
        mp.undo()
    out.joinpath("_home").write_text(str(home))
    return out


@pytest.mark.timeout(420)
def test_quick_run_writes_report_and_executions(quick_run: Path) -> None:
    report = json.loads((quick_run / "report.json").read_text())
    assert report["status"] == "Succeeded"
    metrics = report["metrics"]
    assert metrics["executions"] == 8
    assert metrics["succeeded"] + metrics["failed"] == 8
    # the quick model's confidences straddle the quick threshold (0.5): both outcomes show
    assert metrics["succeeded"] >= 1 and metrics["below_threshold"] >= 1
    assert metrics["captured_requests"] == 8  # 100% capture, one request per execution
    assert 0 <= metrics["test_accuracy"] <= 1
    for name in ("executions", "state_machine", "capture_confidences", "endpoint"):
        assert name in report["artifacts"]
    assert (quick_run / "report.html").is_file()
    assert (quick_run / "capture_confidence.png").stat().st_size > 1000
    html = (quick_run / "report.html").read_text()
    assert "class='mermaid'" in html and "ConfidenceCheck" in html

    records = json.loads((quick_run / "executions.json").read_text())
    assert len(records) == 8
    threshold = report["details"]["threshold"]
    for rec in records:
        assert rec["status"] in ("SUCCEEDED", "FAILED")
        assert rec["history"] and rec["history"][0]["type"] == "ExecutionStarted"
        assert rec["path"][:4] == ["SerializeImageData", "Classify", "FilterInferences",
                                   "ConfidenceCheck"]  # fmt: skip
        if rec["status"] == "SUCCEEDED":
            body = rec["output"]["body"]
            assert body["confidence"] >= threshold and body["meets_threshold"]
            assert rec["path"][-1] == "ConfidenceCheckPassed"
        else:
            assert rec["error"] == CONFIDENCE_ERROR
            assert "confidence below threshold" in rec["cause"]
            assert rec["path"][-1] == CONFIDENCE_ERROR

    # the capture plot's data is the endpoint's answers, in the executions' order
    captured = json.loads((quick_run / "capture_confidences.json").read_text())
    assert len(captured) == 8
    assert all(len(c["probabilities"]) == 3 for c in captured)
    assert [c["time"] for c in captured] == sorted(c["time"] for c in captured)


@pytest.mark.timeout(420)
def test_quick_run_deletes_the_endpoint(quick_run: Path) -> None:
    import smkit

    report = json.loads((quick_run / "report.json").read_text())
    home = (quick_run / "_home").read_text()
    with smkit.Session(root=home) as session:
        record = session.catalog.describe("endpoint", report["artifacts"]["endpoint"])
    assert record.status == "Deleted"


def test_plan_lists_every_request(tmp_path: Path) -> None:
    out = tmp_path / "plan"
    args = ["run", "image-workflow", "--quick", "--backend", "aws", "--plan", "--out", str(out)]
    assert main(args) == 0
    plan = json.loads((out / "plan.json").read_text())
    ops = Counter(r["operation"] for r in plan)
    assert ops["PutObject"] >= 750  # every image, plus the training and inference code
    for op in ("CreateTrainingJob", "CreateModel", "CreateEndpointConfig", "CreateEndpoint"):
        assert ops[op] == 1, op
    assert ops["CreateStateMachine"] == 1
    assert ops["StartExecution"] == 8
    functions = [r["params"]["FunctionName"] for r in plan if r["operation"] == "CreateFunction"]
    assert sorted(functions) == ["classify", "filterInferences", "serializeImageData"]
    config = next(r for r in plan if r["operation"] == "CreateEndpointConfig")["params"]
    assert config["DataCaptureConfig"]["InitialSamplingPercentage"] == 100
    machine = next(r for r in plan if r["operation"] == "CreateStateMachine")["params"]
    asl = json.loads(machine["definition"])
    assert list(asl["States"])[:4] == [
        "SerializeImageData",
        "Classify",
        "FilterInferences",
        "ConfidenceCheck",
    ]
    assert asl["States"]["ConfidenceBelowThreshold"]["Type"] == "Fail"
    classify = next(r["params"] for r in plan if r["params"].get("FunctionName") == "classify")
    assert classify["Environment"]["Variables"]["ENDPOINT_NAME"].startswith("image-workflow-")
    records = json.loads((out / "executions.json").read_text())
    assert {r["status"] for r in records} == {"PLANNED"}


def test_config_sizes_and_validation() -> None:
    usecase = load_usecase("image-workflow")
    quick = build_config(usecase, {"threshold": "0.75", "epochs": "4"}, quick=True)
    assert quick.effective_threshold == 0.75 and quick.size("epochs") == 4
    assert ImageWorkflowConfig(quick=True).effective_threshold == 0.5
    assert ImageWorkflowConfig().effective_threshold == 0.9
    assert quick.size("n_train") == 600
    assert ImageWorkflowConfig().size("n_train") == 1800
    with pytest.raises(ConfigError, match="threshold"):
        build_config(usecase, {"threshold": "1.5"})
    with pytest.raises(ConfigError, match="executions"):
        build_config(usecase, {"executions": "0"})


@given(st.lists(st.floats(0, 1), min_size=1, max_size=6), st.floats(0, 1))
def test_filter_marks_best_class(probs: list[float], threshold: float) -> None:
    out = filter_inferences({"body": {"inferences": probs, "threshold": threshold}}, None)["body"]
    assert out["confidence"] == max(probs)
    assert probs[out["label_index"]] == max(probs)
    assert out["meets_threshold"] == (max(probs) >= threshold)


def test_classify_accepts_both_answer_shapes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENDPOINT_NAME", "ep")
    seen = []

    def predict(endpoint: str, data: bytes, content_type: str) -> str:
        seen.append((endpoint, data, content_type))
        return json.dumps({"probabilities": [0.2, 0.8], "predicted_label": "b"})

    event = {"body": {"image_data": base64.b64encode(b"png").decode()}}
    out = make_classify(predict)(event, None)
    assert out["body"]["inferences"] == [0.2, 0.8]
    assert seen == [("ep", b"png", "image/png")]
    assert probabilities_of([0.1, 0.9]) == [0.1, 0.9]
    assert probabilities_of({"predictions": [{"probabilities": [1.0, 0.0]}]}) == [1.0, 0.0]
    with pytest.raises(ValueError, match="no probabilities"):
        probabilities_of({"label": "x"})


def test_read_capture_decodes_json_and_base64(local_session) -> None:
    store = local_session.store
    prefix = "s3://smkit/cap/ep/AllTraffic/"
    lines = [
        {
            "captureData": {
                "endpointOutput": {
                    "data": json.dumps({"probabilities": [0.3, 0.7]}),
                    "encoding": "JSON",
                }
            },
            "eventMetadata": {"eventId": "b", "inferenceTime": "2026-01-01T00:00:02Z"},
        },
        {
            "captureData": {
                "endpointOutput": {
                    "data": base64.b64encode(b"[0.9, 0.1]").decode(),
                    "encoding": "BASE64",
                }
            },
            "eventMetadata": {"eventId": "a", "inferenceTime": "2026-01-01T00:00:01Z"},
        },
        {"captureData": {"endpointOutput": {"data": "oops", "encoding": "CSV"}}},
    ]
    body = "\n".join(json.dumps(x) for x in lines).encode()
    store.put_bytes(prefix + "2026/01/01/00/00-01-000-x.jsonl", body)
    rows = read_capture(store, prefix)
    assert [r["confidence"] for r in rows] == [0.9, 0.7]
