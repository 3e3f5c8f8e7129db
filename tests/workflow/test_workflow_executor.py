"""The local executor: Retry/Catch, timeouts, Lambda forms, Parallel/Map, JSONata, catalog, CLI."""

from __future__ import annotations

import base64
import json
import time

import pytest
from test_workflow_asl import CONSOLE_JSONATA

from smkit.cli import main
from smkit.errors import FormatError
from smkit.workflow import (
    Catch,
    Choice,
    Fail,
    LambdaSpec,
    Map,
    Parallel,
    Pass,
    Retry,
    Succeed,
    Task,
    Var,
    Wait,
    When,
    Workflow,
    image_classification_workflow,
)
from smkit.workflow.handlers import make_classify


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class Flaky:
    """Fails ``failures`` times with ``exc``, then returns."""

    def __init__(self, failures: int, exc: type[Exception] = ValueError) -> None:
        self.failures = failures
        self.exc = exc
        self.calls = 0

    def __call__(self, event, context):
        self.calls += 1
        if self.calls <= self.failures:
            raise self.exc(f"attempt {self.calls}")
        return {"ok": self.calls}


def test_retry_exact_attempts_and_backoff(local_session):
    clock = FakeClock()
    flaky = Flaky(3)
    wf = Workflow(
        "retry",
        Task.lambda_(
            "T",
            "flaky",
            retry=[Retry("ValueError", interval_seconds=2, max_attempts=3, backoff_rate=3.0)],
        ),
    )
    ex = local_session.run_workflow(
        wf, {}, handlers={"flaky": flaky}, clock=clock, sleep=clock.sleep
    )
    assert ex.status == "SUCCEEDED" and ex.output == {"ok": 4}
    assert flaky.calls == 4
    assert clock.sleeps == [2.0, 6.0, 18.0]


def test_retry_exhausted_then_catch(local_session):
    clock = FakeClock()
    flaky = Flaky(10)
    wf = Workflow(
        "catch",
        Task.lambda_(
            "T",
            "flaky",
            retry=[
                Retry("KeyError", max_attempts=5),
                Retry("ValueError", interval_seconds=1, max_attempts=2, max_delay_seconds=1),
            ],
            catch=[Catch("States.ALL", Pass("Recovered"), result_path="$.error")],
        ),
    )
    ex = local_session.run_workflow(
        wf, {"in": 1}, handlers={"flaky": flaky}, clock=clock, sleep=clock.sleep
    )
    assert flaky.calls == 3  # 1 attempt + 2 retries
    assert clock.sleeps == [1.0, 1.0]  # capped by MaxDelaySeconds
    assert ex.status == "SUCCEEDED"
    assert ex.output["in"] == 1
    assert ex.output["error"]["Error"] == "ValueError"
    assert json.loads(ex.output["error"]["Cause"])["errorMessage"] == "attempt 3"
    assert ex.path == ["T", "Recovered"]


def test_jitter_full_uses_rng(local_session):
    import random

    clock = FakeClock()
    wf = Workflow(
        "jitter",
        Task.lambda_(
            "T", "flaky", retry=[Retry("States.ALL", interval_seconds=4, jitter_strategy="FULL")]
        ),
    )
    rng = random.Random(7)
    expected = [4 * r for r in (random.Random(7).random(),)]
    local_session.run_workflow(
        wf, {}, handlers={"flaky": Flaky(1)}, clock=clock, sleep=clock.sleep, rng=rng
    )
    assert clock.sleeps == pytest.approx(expected)


def test_no_retry_on_states_runtime_and_uncaught_failure(local_session):
    wf = Workflow(
        "rt",
        Pass("P", input_path="$.missing", next="Z") >> Pass("Z"),
    )
    ex = local_session.run_workflow(wf, {"a": 1})
    assert ex.status == "FAILED" and ex.error == "States.Runtime"
    assert ex.events[-1]["type"] == "ExecutionFailed"


def test_lambda_timeout_is_states_timeout(local_session):
    def slow(event, context):
        assert context.get_remaining_time_in_millis() <= 1000
        while True:
            time.sleep(0.01)

    spec = LambdaSpec(slow, name="slow", timeout=1)
    wf = Workflow("to", Task.lambda_("Slow", spec))
    t0 = time.monotonic()
    ex = local_session.run_workflow(wf, {})
    assert time.monotonic() - t0 < 5
    assert ex.status == "FAILED" and ex.error == "States.Timeout"
    assert any(e["type"] == "LambdaFunctionTimedOut" for e in ex.events)


def test_task_timeout_seconds_and_catch(local_session):
    def slow(event, context):
        time.sleep(3)

    wf = Workflow(
        "to2",
        Task.lambda_(
            "Slow",
            "slow",
            integration=True,
            timeout_seconds=1,
            catch=[Catch(["States.Timeout"], Succeed("TimedOut"))],
        ),
    )
    ex = local_session.run_workflow(wf, {}, handlers={"slow": slow})
    assert ex.status == "SUCCEEDED" and ex.output["Error"] == "States.Timeout"
    assert any(e["type"] == "TaskTimedOut" for e in ex.events)


def test_execution_timeout_never_hangs(local_session):
    clock = FakeClock()
    wf = Workflow("long", Wait("W", 10_000) >> Pass("P"), timeout_seconds=60)
    ex = local_session.run_workflow(wf, {}, clock=clock, sleep=clock.sleep)
    assert ex.status == "TIMED_OUT" and ex.error == "States.Timeout"
    assert clock.sleeps == [60.0]


def test_both_lambda_forms(local_session):
    def double(event, context):
        return {"v": event["v"] * 2}

    direct = Workflow("direct", Task.lambda_("D", "double"))
    wrapped = Workflow("wrapped", Task.lambda_("D", "double", integration=True))
    a = local_session.run_workflow(direct, {"v": 2}, handlers={"double": double})
    b = local_session.run_workflow(wrapped, {"v": 2}, handlers={"double": double})
    assert a.output == {"v": 4}
    assert b.output["Payload"] == {"v": 4} and b.output["StatusCode"] == 200
    scheduled = next(e for e in b.events if e["type"] == "TaskScheduled")
    assert scheduled["taskScheduledEventDetails"]["resourceType"] == "lambda"


def test_missing_handler_fails_with_hint(local_session):
    ex = local_session.run_workflow(Workflow("nh", Task.lambda_("D", "nobody")), {})
    assert ex.status == "FAILED" and "nobody" in ex.cause


def test_invalid_input_refused_before_start(local_session):
    with pytest.raises(FormatError):
        local_session.run_workflow(Workflow("bad", Pass("P")), "{not json")
    assert local_session.catalog.list("execution") == []


def test_choice_operators(local_session):
    ok, no = Succeed("Ok"), Fail("No", error="NoMatch")
    cond = (
        (Var("$.n") >= 3)
        & (Var("$.s") == "abc")
        & Var("$.s").matches("a*c")
        & Var("$.t").op("TimestampLessThan", "2030-01-01T00:00:00Z")
        & Var("$.b").is_boolean()
        & ~Var("$.gone").is_present()
        & Var("$.z").is_null()
        & Var("$.n").op("NumericEqualsPath", "$.m")
    )
    wf = Workflow("ch", Choice("C", [When(cond, ok)], default=no))
    doc = {"n": 3, "m": 3, "s": "abc", "t": "2024-05-01T00:00:00Z", "b": True, "z": None}
    assert local_session.run_workflow(wf, doc).status == "SUCCEEDED"
    assert local_session.run_workflow(wf, {**doc, "s": "abd"}).error == "NoMatch"
    nodefault = Workflow("ch2", Choice("C", [When(Var("$.n") > 5, ok)]))
    assert local_session.run_workflow(nodefault, {"n": 1}).error == "States.NoChoiceMatched"


def test_parallel_and_map(local_session):
    def inc(event, context):
        return event["v"] + 1

    par = Parallel(
        "P",
        [Pass("A", result=1), Task.lambda_("B", "inc", parameters={"v.$": "$.x"})],
        result_path="$.par",
    )
    mp = Map(
        "M",
        Task.lambda_("I", "inc"),
        items_path="$.items",
        item_selector={"v.$": "$$.Map.Item.Value", "i.$": "$$.Map.Item.Index"},
        max_concurrency=2,
        result_path="$.mapped",
    )
    wf = Workflow("pm", par >> mp)
    ex = local_session.run_workflow(wf, {"x": 10, "items": [1, 2, 3]}, handlers={"inc": inc})
    assert ex.status == "SUCCEEDED"
    assert ex.output["par"] == [1, 11]
    assert ex.output["mapped"] == [2, 3, 4]
    types = [e["type"] for e in ex.events]
    assert types.count("MapIterationSucceeded") == 3 and "ParallelStateSucceeded" in types


def test_intrinsics_and_variables(local_session):
    wf = Workflow(
        "intr",
        Pass(
            "P",
            parameters={
                "msg.$": "States.Format('Hello {} #{}', $.name, $.n)",
                "sum.$": "States.MathAdd($.n, 5)",
                "arr.$": "States.Array($.n, 'x')",
                "obj.$": "States.StringToJson($.js)",
                "txt.$": "States.JsonToString($.o)",
                "len.$": "States.ArrayLength(States.Array(1, 2, 3))",
                "id.$": "$$.Execution.Name",
            },
            assign={"saved.$": "$.sum"},
        )
        >> Pass("Q", parameters={"v.$": "$saved"}),
    )
    ex = local_session.run_workflow(
        wf, {"name": "Ann", "n": 2, "js": '{"a":1}', "o": {"b": [1]}}, name="exec-1"
    )
    assert ex.status == "SUCCEEDED", ex.cause
    assert ex.output == {"v": 7}
    entered_q = [e for e in ex.events if e["type"] == "PassStateEntered"][1]
    q_input = json.loads(entered_q["stateEnteredEventDetails"]["input"])
    assert q_input == {
        "msg": "Hello Ann #2",
        "sum": 7,
        "arr": [2, "x"],
        "obj": {"a": 1},
        "txt": '{"b":[1]}',
        "len": 3,
        "id": "exec-1",
    }


def test_jsonata_console_definition(local_session):
    wf = Workflow.from_asl(CONSOLE_JSONATA, name="console")

    def double(event, context):
        return {"value": event["value"] * 2}

    ex = local_session.run_workflow(wf, {"value": 6}, handlers={"double": double})
    assert ex.status == "SUCCEEDED", ex.cause
    assert ex.output == {"size": "big", "v": 12}
    small = local_session.run_workflow(wf, {"value": 1}, handlers={"double": double})
    assert (small.error, small.cause) == ("TooSmall", "got 2")


def test_seed_workflow_and_catalog(local_session, monkeypatch):
    monkeypatch.setenv("SMKIT_HOME", str(local_session.backend.root))
    local_session.store.put_bytes("s3://bkt/img.png", b"\x89PNG fake")
    seen = {}

    def predict(endpoint, data, content_type):
        seen.update(endpoint=endpoint, data=data, content_type=content_type)
        return [0.97, 0.03]

    wf = image_classification_workflow("img", endpoint_name="ep-1", threshold=0.9)
    handlers = {"classify": make_classify(predict)}
    ex = local_session.run_workflow(
        wf, {"s3_bucket": "bkt", "s3_key": "img.png"}, handlers=handlers
    )
    assert ex.status == "SUCCEEDED", ex.cause
    assert ex.output["body"]["inferences"] == [0.97, 0.03]
    assert seen == {"endpoint": "ep-1", "data": b"\x89PNG fake", "content_type": "image/png"}
    record = local_session.catalog.describe("execution", ex.name)
    assert record.status == "SUCCEEDED" and record.data["events"][0]["type"] == "ExecutionStarted"
    assert local_session.catalog.describe("state_machine", "img").status == "ACTIVE"

    low = make_classify(lambda e, d, c: [0.4, 0.6])
    ex2 = local_session.run_workflow(wf, {"s3_uri": "s3://bkt/img.png"}, handlers={"classify": low})
    assert ex2.status == "FAILED" and ex2.error == "ConfidenceBelowThreshold"
    assert ex2.cause == "confidence below threshold 0.9"
    assert "class s6 failed" in ex2.diagram()
    again = local_session.backend.describe_execution(ex2.arn)
    assert again.status == "FAILED" and again.path == ex2.path


def test_invoke_endpoint_integration(local_session):
    calls = []

    def invoke(name, body, content_type, accept):
        calls.append((name, body, content_type))
        return json.dumps({"predictions": [0.5]}), "application/json"

    wf = Workflow(
        "sm",
        Task.invoke_endpoint(
            "Infer",
            "ep",
            body_path="$.rows",
            result_selector={"out.$": "States.StringToJson($.Body)"},
        ),
    )
    ex = local_session.run_workflow(wf, {"rows": [[1, 2]]}, invoke_endpoint=invoke)
    assert ex.output == {"out": {"predictions": [0.5]}}
    assert calls == [("ep", "[[1,2]]", "application/json")]


def test_cli_run_and_history(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SMKIT_HOME", str(tmp_path / "home"))
    (tmp_path / "wfmod_cli.py").write_text(
        "def double(e, c):\n    return {'v': e['v'] * 2}\n"
        "def boom(e, c):\n    raise RuntimeError('boom')\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    definition = tmp_path / "flow.asl.json"
    definition.write_text(json.dumps(Workflow("flow", Task.lambda_("D", "double")).to_asl()))
    assert (
        main(
            [
                "workflow",
                "run",
                str(definition),
                "--input",
                '{"v": 2}',
                "--handler",
                "double=wfmod_cli:double",
            ]
        )
        == 0
    )
    out = json.loads(capsys.readouterr().out)
    assert out["status"] == "SUCCEEDED" and out["output"] == {"v": 4}
    assert (
        main(
            [
                "workflow",
                "run",
                str(definition),
                "--input",
                '{"v": 2}',
                "--handler",
                "double=wfmod_cli:boom",
            ]
        )
        == 1
    )
    failed = json.loads(capsys.readouterr().out)
    assert failed["error"] == "RuntimeError"
    assert main(["workflow", "history", failed["executionArn"]]) == 0
    events = json.loads(capsys.readouterr().out)
    assert events[-1]["type"] == "ExecutionFailed"
    assert main(["workflow", "run", str(definition), "--input", "{bad"]) == 2


def test_stock_classify_handler_against_a_real_local_endpoint(local_session, tmp_path, monkeypatch):
    """The seed's classify Lambda, unmodified, sends image bytes to a live local endpoint
    and reads a dict answer ({"probabilities": [...]})."""
    import tarfile

    from smkit.serving import EndpointSpec, ModelSpec
    from smkit.workflow.handlers import classify

    code = tmp_path / "code"
    code.mkdir()
    (code / "inference.py").write_text(
        "import json\n"
        "def model_fn(model_dir):\n    return None\n"
        "def input_fn(body, content_type):\n"
        "    assert content_type == 'image/png', content_type\n    return body\n"
        "def predict_fn(data, model):\n"
        "    return [0.9, 0.1] if data.startswith(b'\\x89PNG') else [0.5, 0.5]\n"
        "def output_fn(prediction, accept):\n"
        "    return json.dumps({'probabilities': prediction}), 'application/json'\n"
    )
    artifact = tmp_path / "model.tar.gz"
    with tarfile.open(artifact, "w:gz") as tar:
        tar.add(code / "inference.py", arcname="inference.py")
    endpoint = local_session.deploy(
        ModelSpec(model_data=str(artifact), entry_point="inference.py", source_dir=str(code)),
        EndpointSpec(name="img-classifier"),
    )
    try:
        monkeypatch.setenv("SMKIT_HOME", str(local_session.backend.root))
        image = base64.b64encode(b"\x89PNG fake image").decode()
        out = classify({"body": {"image_data": image}, "endpoint_name": "img-classifier"})
        assert out["body"]["inferences"] == [0.9, 0.1]
        assert out["body"]["confidence"] == 0.9
    finally:
        endpoint.delete()
