"""The local executor behaves as AWS Step Functions documents it.

Each test names the page of the Step Functions developer guide (DG,
https://docs.aws.amazon.com/step-functions/latest/dg/) or the States Language specification
(https://states-language.net/spec.html) whose behaviour it checks. Definitions and inputs are
our own.
"""

from __future__ import annotations

import copy
import json
import time

import pytest

from smkit.backends.local.asl import Executor
from smkit.errors import ValidationError
from smkit.workflow import Workflow
from smkit.workflow.query import evaluate_intrinsic


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def _wf(states: dict, start: str | None = None, **top) -> Workflow:
    return Workflow.from_asl({"StartAt": start or next(iter(states)), "States": states, **top})


def _jsonata(states: dict, start: str | None = None) -> Workflow:
    return _wf(states, start, QueryLanguage="JSONata")


def _run(session, wf, data=None, **kw):
    clock = FakeClock()
    kw.setdefault("clock", clock)
    kw.setdefault("sleep", clock.sleep)
    return session.run_workflow(wf, {} if data is None else data, **kw)


# -- 1. JSONata undefined (DG "Transforming data with JSONata": an expression that evaluates
# to undefined raises States.QueryEvaluationError) -------------------------------------------
@pytest.mark.parametrize(
    "field",
    [
        {"Output": "{% $states.input.doesNotExist %}"},
        {"Output": {"a": 1, "b": "{% $doesNotExist %}"}},
        {"Assign": {"x": "{% $states.input.nope %}"}},
    ],
)
def test_jsonata_undefined_fails_with_query_evaluation_error(local_session, field):
    wf = _jsonata({"P": {"Type": "Pass", **field, "End": True}})
    ex = _run(local_session, wf, {"v": 1})
    assert ex.status == "FAILED"
    assert ex.error == "States.QueryEvaluationError"


def test_jsonata_undefined_arguments_is_catchable(local_session):
    wf = _jsonata(
        {
            "T": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Arguments": {"FunctionName": "echo", "Payload": "{% $states.input.missing %}"},
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}],
                "End": True,
            },
            "Caught": {"Type": "Pass", "Output": "{% $states.input.Error %}", "End": True},
        }
    )
    ex = _run(local_session, wf, {}, handlers={"echo": lambda e, c: e})
    assert ex.status == "SUCCEEDED" and ex.output == "States.QueryEvaluationError"


def test_jsonata_null_is_not_undefined(local_session):
    wf = _jsonata(
        {
            "P": {
                "Type": "Pass",
                "Output": {"n": "{% null %}", "a": "{% $states.input.a %}"},
                "End": True,
            }
        }
    )
    ex = _run(local_session, wf, {"a": None})
    assert ex.status == "SUCCEEDED" and ex.output == {"n": None, "a": None}


# -- 2. JSONata Choice rules (DG "Choice workflow state", Choice Rules (JSONata): a rule's own
# Assign applies when it matches, as well as the state-level one) -----------------------------
def test_choice_rule_assign_and_output_apply_when_it_matches(local_session):
    wf = _jsonata(
        {
            "C": {
                "Type": "Choice",
                "Choices": [
                    {
                        "Condition": "{% $states.input.v > 1 %}",
                        "Assign": {"picked": "big"},
                        "Output": {"rule": "{% $states.input.v %}"},
                        "Next": "Done",
                    },
                    {"Condition": True, "Assign": {"picked": "small"}, "Next": "Done"},
                ],
                "Assign": {"seen": True},
            },
            "Done": {
                "Type": "Pass",
                "Output": {
                    "in": "{% $states.input %}",
                    "picked": "{% $picked %}",
                    "seen": "{% $seen %}",
                },
                "End": True,
            },
        }
    )
    big = _run(local_session, wf, {"v": 5})
    assert big.output == {"in": {"rule": 5}, "picked": "big", "seen": True}
    small = _run(local_session, wf, {"v": 0})
    assert small.output == {"in": {"v": 0}, "picked": "small", "seen": True}


def test_choice_boolean_literal_condition_validates():
    wf = _jsonata(
        {
            "C": {"Type": "Choice", "Choices": [{"Condition": True, "Next": "D"}]},
            "D": {"Type": "Succeed"},
        }
    )
    assert wf.to_asl()["States"]["C"]["Choices"][0]["Condition"] is True


# -- 3. error names (DG "Error handling": States.ALL matches every error name except the
# terminal States.DataLimitExceeded and States.Runtime) ---------------------------------------
@pytest.mark.parametrize("items", [3, "abc", True, {"a": 1}, None, "$sum"])
def test_jsonata_map_items_not_an_array_is_query_evaluation_error(local_session, items):
    expr = "{% $sum %}" if items == "$sum" else "{% $states.input.items %}"
    wf = _jsonata(
        {
            "M": {
                "Type": "Map",
                "Items": expr,
                "ItemProcessor": {"StartAt": "I", "States": {"I": {"Type": "Pass", "End": True}}},
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}],
                "End": True,
            },
            "Caught": {"Type": "Pass", "Output": "{% $states.input.Error %}", "End": True},
        }
    )
    ex = _run(local_session, wf, {"items": items})
    assert ex.status == "SUCCEEDED", ex.cause
    assert ex.output == "States.QueryEvaluationError"


def test_jsonata_wait_bad_timestamp_is_query_evaluation_error(local_session):
    wf = _jsonata({"W": {"Type": "Wait", "Timestamp": "{% 'not a time' %}", "End": True}})
    ex = _run(local_session, wf)
    assert ex.error == "States.QueryEvaluationError"


def test_states_all_does_not_catch_runtime(local_session):
    wf = _wf(
        {
            "M": {
                "Type": "Map",
                "ItemsPath": "$.items",
                "ItemProcessor": {"StartAt": "I", "States": {"I": {"Type": "Pass", "End": True}}},
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}],
                "End": True,
            },
            "Caught": {"Type": "Succeed"},
        }
    )
    ex = _run(local_session, wf, {"items": 7})
    assert ex.status == "FAILED" and ex.error == "States.Runtime"


# -- 4. Wait and Map inputs (DG "Wait workflow state": SecondsPath must be an integer, Seconds
# from 0 to 99999999; "Map state": MaxConcurrencyPath must be a non-negative integer) -------------
@pytest.mark.parametrize("seconds", [-1, 1.5, "3", None, True, 100_000_000])
def test_wait_seconds_path_must_be_a_valid_integer(local_session, seconds):
    wf = _wf({"W": {"Type": "Wait", "SecondsPath": "$.s", "End": True}})
    clock = FakeClock()
    ex = _run(local_session, wf, {"s": seconds}, clock=clock, sleep=clock.sleep)
    assert ex.status == "FAILED" and ex.error == "States.Runtime", ex
    assert clock.sleeps == []  # failed at once, not by waiting into the execution timeout


def test_wait_seconds_path_valid(local_session):
    wf = _wf({"W": {"Type": "Wait", "SecondsPath": "$.s", "End": True}})
    clock = FakeClock()
    ex = _run(local_session, wf, {"s": 7}, clock=clock, sleep=clock.sleep)
    assert ex.succeeded and clock.sleeps == [7.0]


@pytest.mark.parametrize("value", [-1, "2", 1.5, None, False])
def test_map_max_concurrency_path_must_be_non_negative_integer(local_session, value):
    wf = _wf(
        {
            "M": {
                "Type": "Map",
                "ItemsPath": "$.items",
                "MaxConcurrencyPath": "$.c",
                "ItemProcessor": {"StartAt": "I", "States": {"I": {"Type": "Pass", "End": True}}},
                "End": True,
            }
        }
    )
    ex = _run(local_session, wf, {"items": [1, 2], "c": value})
    assert ex.status == "FAILED" and ex.error == "States.Runtime"
    ok = _run(local_session, wf, {"items": [1, 2], "c": 0})
    assert ok.succeeded and ok.output == [1, 2]


# -- 5. Fail state (DG "Fail workflow state": Error and Cause are optional; ErrorPath /
# CausePath read the input) ------------------------------------------------------------------
def test_fail_without_error_and_cause_has_none(local_session):
    ex = _run(local_session, _wf({"F": {"Type": "Fail"}}))
    assert ex.status == "FAILED" and ex.error is None and ex.cause is None
    assert "error" not in ex.describe() and "cause" not in ex.describe()
    failed = ex.events[-1]
    assert failed["type"] == "ExecutionFailed" and failed["executionFailedEventDetails"] == {}


def test_fail_error_path_that_does_not_resolve_is_runtime(local_session):
    wf = _wf({"F": {"Type": "Fail", "ErrorPath": "$.e", "CausePath": "$.c"}})
    ex = _run(local_session, wf, {"e": "Mine"})
    assert ex.error == "States.Runtime"
    ok = _run(local_session, wf, {"e": "Mine", "c": "why"})
    assert (ok.error, ok.cause) == ("Mine", "why")


# -- 6. intrinsics (DG "Intrinsic functions") ------------------------------------------------
@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ("States.MathAdd(1.5, 0)", 2),
        ("States.MathAdd(-0.5, 0.5)", 1),
        ("States.MathAdd(2.4, -1.6)", 0),
        ("States.StringToJson('')", None),
        ("States.StringToJson('   ')", None),
        ("States.Format('{}', $.o)", "{Arg1=1, Arg2=[]}"),
        ("States.Format('x {} y', $.l)", "x [1, a, {k=v}, null, true] y"),
        ("States.Format('{}', $.n)", "1.5"),
    ],
)
def test_intrinsics_as_aws(expr, expected):
    doc = {"o": {"Arg1": 1, "Arg2": []}, "l": [1, "a", {"k": "v"}, None, True], "n": 1.5}
    got = evaluate_intrinsic(expr, doc)
    assert got == expected and type(got) is type(expected)


def test_jsonata_range_of_one_item_is_the_item(local_session):
    wf = _jsonata(
        {
            "P": {
                "Type": "Pass",
                "Output": {"one": "{% $range(1, 9, 9) %}", "two": "{% $range(1, 9, 8) %}"},
                "End": True,
            }
        }
    )
    assert _run(local_session, wf).output == {"one": 1, "two": [1, 9]}


# -- 7. validation at creation (DG "Wait workflow state": Timestamp is RFC 3339 with an
# uppercase T and Z; "Intrinsic functions": reserved characters ' { } \ are escaped) ----------
@pytest.mark.parametrize(
    "state",
    [
        {"Type": "Wait", "Timestamp": "2024-08-18 17:33:00Z", "End": True},
        {"Type": "Wait", "Timestamp": "2024-08-18t17:33:00z", "End": True},
        {"Type": "Wait", "Timestamp": "2024-08-18T17:33:00", "End": True},
        {"Type": "Wait", "Seconds": -1, "End": True},
        {"Type": "Pass", "Parameters": {"x.$": "States.Format('a\\nb')"}, "End": True},
        {"Type": "Fail", "ErrorPath": "States.Format('a\\qb')"},
        {
            "Type": "Task",
            "Resource": "arn:aws:states:::sagemaker:invokeEndpoint",
            "End": True,
        },
    ],
)
def test_definitions_aws_rejects_are_rejected_naming_the_state(state):
    with pytest.raises(ValidationError, match="BadState"):
        _wf({"BadState": state})


def test_sagemaker_invoke_endpoint_hint():
    with pytest.raises(ValidationError) as err:
        _wf(
            {
                "S": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::sagemaker:invokeEndpoint",
                    "End": True,
                }
            }
        )
    assert "aws-sdk:sagemakerruntime:invokeEndpoint" in str(err.value.hint)


def test_valid_escapes_and_timestamps_are_accepted():
    _wf(
        {
            "W": {"Type": "Wait", "Timestamp": "2024-08-18T17:33:00+02:00", "Next": "P"},
            "P": {
                "Type": "Pass",
                "Parameters": {"x.$": "States.Format('\\{\\} \\' \\\\ {}', $.a)"},
                "End": True,
            },
        }
    )


# -- 8. context object and paths (DG "Accessing execution data from the Context object";
# spec "Paths": bracket notation with quoted names) ------------------------------------------
def test_retry_count_only_where_aws_provides_it(local_session):
    task = _wf(
        {
            "T": {
                "Type": "Task",
                "Resource": "arn:aws:lambda:us-east-1:123456789012:function:flaky",
                "Parameters": {"n.$": "$$.State.RetryCount"},
                "Retry": [{"ErrorEquals": ["ValueError"], "MaxAttempts": 3}],
                "End": True,
            }
        }
    )
    seen = []

    def flaky(event, context):
        seen.append(event["n"])
        if len(seen) < 3:
            raise ValueError("again")
        return event

    assert _run(local_session, task, handlers={"flaky": flaky}).output == {"n": 2}
    assert seen == [0, 1, 2]
    pass_ = _wf({"P": {"Type": "Pass", "Parameters": {"n.$": "$$.State.RetryCount"}, "End": True}})
    ex = _run(local_session, pass_)
    assert ex.error == "States.Runtime"


def test_bracket_quoted_names_with_escaped_quotes(local_session):
    wf = _wf(
        {
            "P": {
                "Type": "Pass",
                "Parameters": {
                    "a.$": "$['it\\'s']",
                    "b.$": '$["say \\"hi\\""].x',
                    "c.$": "$['a.b'][1]",
                },
                "ResultPath": "$['out \\'here\\'']",
                "End": True,
            }
        }
    )
    data = {"it's": 1, 'say "hi"': {"x": 2}, "a.b": [0, 3]}
    ex = _run(local_session, wf, data)
    assert ex.succeeded, ex.cause
    assert ex.output["out 'here'"] == {"a": 1, "b": 2, "c": 3}


# -- 9. Lambda (Lambda developer guide, Python handler: a bytes response is sent as is; DG
# "Invoke an AWS Lambda function": the result is in Payload) ---------------------------------
def test_lambda_bytes_response_is_the_payload(local_session):
    wf = _wf(
        {
            "A": {
                "Type": "Task",
                "Resource": "arn:aws:lambda:us-east-1:123456789012:function:raw",
                "Next": "B",
            },
            "B": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": "text"},
                "OutputPath": "$.Payload",
                "ResultPath": "$",
                "End": True,
            },
        }
    )
    handlers = {"raw": lambda e, c: b'{"k": [1, 2]}', "text": lambda e, c: b"plain"}
    ex = _run(local_session, wf, handlers=handlers)
    assert ex.succeeded, ex.cause
    assert ex.output == "plain"
    assert json.loads(
        ex.events[[e["type"] for e in ex.events].index("LambdaFunctionSucceeded")][
            "lambdaFunctionSucceededEventDetails"
        ]["output"]
    ) == {"k": [1, 2]}


def test_lambda_invoke_with_null_payload_gets_an_empty_object(local_session):
    wf = _wf(
        {
            "T": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": "echo", "Payload": None},
                "OutputPath": "$.Payload",
                "End": True,
            }
        }
    )
    ex = _run(local_session, wf, {"x": 1}, handlers={"echo": lambda e, c: e})
    assert ex.succeeded and ex.output == {}


# -- 10. service limits (DG "Step Functions service quotas": 256 KiB payload, 25,000 history
# events; "Error handling": DataLimitExceeded is not caught by States.ALL) -----------------------
def test_payload_over_256_kib_is_data_limit_exceeded_and_not_caught(local_session):
    wf = _wf(
        {
            "T": {
                "Type": "Task",
                "Resource": "arn:aws:lambda:us-east-1:123456789012:function:big",
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}],
                "End": True,
            },
            "Caught": {"Type": "Succeed"},
        }
    )
    ex = _run(local_session, wf, handlers={"big": lambda e, c: "é" * 140_000})  # 280 KB UTF-8
    assert ex.status == "FAILED" and ex.error == "States.DataLimitExceeded"
    fits = _run(local_session, wf, handlers={"big": lambda e, c: "x" * 200_000})
    assert fits.succeeded


def test_pass_loop_fails_at_the_history_limit_fast(local_session):
    wf = _wf({"A": {"Type": "Pass", "Next": "B"}, "B": {"Type": "Pass", "Next": "A"}})
    start = time.perf_counter()
    ex = _run(local_session, wf, {"spin": True})
    assert time.perf_counter() - start < 30
    assert ex.status == "FAILED" and ex.error == "States.Runtime"
    assert ex.cause == "The execution reached the maximum number of history events (25000)."
    assert len(ex.events) == 25_000 and ex.events[-1]["id"] == 25_000
    assert ex.events[-1]["type"] == "ExecutionFailed"
    assert ex.events[-2]["id"] == 24_999
    again = local_session.backend.describe_execution(ex.name)
    assert again.status == "FAILED" and len(again.events) == 25_000


def test_execution_timeout_is_timed_out_with_empty_cause(local_session):
    wf = _wf({"W": {"Type": "Wait", "Seconds": 100, "End": True}}, TimeoutSeconds=10)
    ex = _run(local_session, wf)
    assert ex.status == "TIMED_OUT" and ex.error == "States.Timeout" and ex.cause == ""


# -- 11. Map cost: no copy of the execution input per state ------------------------------------
def test_map_does_not_deep_copy_per_item(local_session, monkeypatch):
    calls = []
    real = copy.deepcopy

    def counting(value, *args, **kwargs):
        calls.append(1)
        return real(value, *args, **kwargs)

    monkeypatch.setattr(copy, "deepcopy", counting)
    wf = _wf(
        {
            "M": {
                "Type": "Map",
                "ItemsPath": "$.items",
                "ItemSelector": {"v.$": "$$.Map.Item.Value", "i.$": "$$.Map.Item.Index"},
                "ItemProcessor": {
                    "StartAt": "I",
                    "States": {"I": {"Type": "Pass", "ResultPath": "$.seen", "End": True}},
                },
                "End": True,
            }
        }
    )
    n = 2_000
    ex = Executor(wf, payload_limit=None, history_limit=None).run({"items": list(range(n))})
    assert ex.succeeded and ex.output[-1] == {
        "v": n - 1,
        "i": n - 1,
        "seen": {"v": n - 1, "i": n - 1},
    }
    assert len(calls) < 50


# -- 12. liveness (an execution whose process died is reconciled, like jobs) -------------------
def test_dead_owner_execution_is_reconciled_to_failed(local_session):
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    catalog = local_session.backend.catalog
    catalog.create(
        "execution",
        "orphan",
        {
            "executionArn": "arn:aws:states:us-east-1:123456789012:execution:wf:orphan",
            "stateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:wf",
            "name": "orphan",
            "status": "RUNNING",
            "startDate": "2024-01-01T00:00:00.000+00:00",
            "input": "{}",
            "OwnerPid": proc.pid,
            "OwnerStartTime": 0.0,
        },
        status="RUNNING",
    )
    ex = local_session.backend.describe_execution("orphan")
    assert ex.status == "FAILED" and ex.error == "States.Runtime"
    assert str(proc.pid) in ex.cause
    # a finished execution run here records its owner
    done = _run(local_session, _wf({"P": {"Type": "Pass", "End": True}}))
    record = catalog.describe("execution", done.name).data
    assert record["OwnerPid"] > 0 and done.status == "SUCCEEDED"


# -- 13. Distributed Map (DG "Distributed Map state", "ItemReader", "ItemBatcher",
# "ResultWriter", "Setting failure thresholds for Distributed Map states") ---------------------
def _distributed(processor: dict, **fields) -> Workflow:
    body = {
        "Type": "Map",
        "ItemProcessor": {
            "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
            **processor,
        },
        "End": True,
        **fields,
    }
    return _wf({"M": body})


_COUNT = {
    "StartAt": "Count",
    "States": {
        "Count": {
            "Type": "Pass",
            "Parameters": {
                "n.$": "States.ArrayLength($.Items)",
                "first.$": "$.Items[0].id",
                "tag.$": "$.BatchInput.tag",
            },
            "End": True,
        }
    },
}


def test_distributed_map_over_a_10k_row_csv_with_batching_writes_results(local_session):
    store = local_session.backend.store
    rows = "id,name\n" + "".join(f"{i},n{i}\n" for i in range(10_000))
    store.put_bytes("s3://data/in/rows.csv", rows.encode())
    wf = _distributed(
        _COUNT,
        ItemReader={
            "Resource": "arn:aws:states:::s3:getObject",
            "ReaderConfig": {"InputType": "CSV", "CSVHeaderLocation": "FIRST_ROW"},
            "Parameters": {"Bucket": "data", "Key": "in/rows.csv"},
        },
        ItemBatcher={"MaxItemsPerBatch": 100, "BatchInput": {"tag.$": "$.tag"}},
        ResultWriter={
            "Resource": "arn:aws:states:::s3:putObject",
            "Parameters": {"Bucket": "data", "Prefix": "out"},
        },
    )
    ex = _run(local_session, wf, {"tag": "t"})
    assert ex.succeeded, ex.cause
    details = ex.output["ResultWriterDetails"]
    assert details["Bucket"] == "data" and details["Key"].endswith("/manifest.json")
    manifest = json.loads(store.get_bytes(f"s3://data/{details['Key']}"))
    assert manifest["MapRunArn"] == ex.output["MapRunArn"]
    assert manifest["ResultFiles"]["FAILED"] == []
    (succeeded,) = manifest["ResultFiles"]["SUCCEEDED"]
    children = json.loads(store.get_bytes(f"s3://data/{succeeded['Key']}"))
    assert len(children) == 100 and {c["Status"] for c in children} == {"SUCCEEDED"}
    # children run concurrently: the result file lists them in completion order, as on AWS
    children.sort(key=lambda c: int(c["Name"].rsplit(":", 1)[1]))
    outputs = [json.loads(c["Output"]) for c in children]
    assert outputs[0] == {"n": 100, "first": "0", "tag": "t"}  # CSV values are strings
    assert outputs[-1] == {"n": 100, "first": "9900", "tag": "t"}
    assert json.loads(children[3]["Input"])["Items"][0] == {"id": "300", "name": "n300"}
    # the children's events are in their own histories, not the parent's
    types = [e["type"] for e in ex.events]
    assert "MapRunStarted" in types and "MapRunSucceeded" in types
    assert types.count("PassStateEntered") == 0 and len(types) < 10


@pytest.mark.parametrize(
    ("content", "config", "expected"),
    [
        ('[{"a": 1}, {"a": 2}, {"a": 3}]', {"InputType": "JSON"}, [1, 2, 3]),
        ('{"a": 1}\n\n{"a": 2}\n', {"InputType": "JSONL"}, [1, 2]),
        (
            "1,x\n2,y\n",
            {"InputType": "CSV", "CSVHeaderLocation": "GIVEN", "CSVHeaders": ["a", "b"]},
            ["1", "2"],
        ),
        ('[{"a": 1}, {"a": 2}, {"a": 3}]', {"InputType": "JSON", "MaxItems": 2}, [1, 2]),
    ],
)
def test_distributed_map_item_reader_formats(local_session, content, config, expected):
    local_session.backend.store.put_bytes("s3://data/items", content.encode())
    wf = _distributed(
        {"StartAt": "P", "States": {"P": {"Type": "Pass", "OutputPath": "$.a", "End": True}}},
        ItemReader={
            "Resource": "arn:aws:states:::s3:getObject",
            "ReaderConfig": config,
            "Parameters": {"Bucket": "data", "Key": "items"},
        },
    )
    ex = _run(local_session, wf)
    assert ex.succeeded, ex.cause
    assert ex.output == expected


def test_distributed_map_lists_objects(local_session):
    store = local_session.backend.store
    for name in ("a.txt", "b.txt"):
        store.put_bytes(f"s3://data/logs/{name}", b"hello")
    store.put_bytes("s3://data/other/c.txt", b"x")
    wf = _distributed(
        {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}},
        ItemReader={
            "Resource": "arn:aws:states:::s3:listObjectsV2",
            "Parameters": {"Bucket": "data", "Prefix": "logs/"},
        },
    )
    ex = _run(local_session, wf)
    assert [o["Key"] for o in ex.output] == ["logs/a.txt", "logs/b.txt"]
    assert ex.output[0]["Size"] == 5


def _failing_map(**fields) -> Workflow:
    return _distributed(
        {
            "StartAt": "C",
            "States": {
                "C": {
                    "Type": "Choice",
                    "Choices": [{"Variable": "$.bad", "BooleanEquals": True, "Next": "F"}],
                    "Default": "OK",
                },
                "F": {"Type": "Fail", "Error": "Bad", "Cause": "bad item"},
                "OK": {"Type": "Pass", "End": True},
            },
        },
        ItemsPath="$.items",
        **fields,
    )


def test_distributed_map_tolerated_failure_thresholds(local_session):
    items = [{"bad": i % 4 == 0} for i in range(8)]  # 2 of 8 fail (25%)
    strict = _run(local_session, _failing_map(), {"items": items})
    assert strict.error == "States.ExceedToleratedFailureThreshold"
    by_count = _run(local_session, _failing_map(ToleratedFailureCount=2), {"items": items})
    assert by_count.succeeded and by_count.output[0] == {"Error": "Bad", "Cause": "bad item"}
    too_few = _run(local_session, _failing_map(ToleratedFailureCount=1), {"items": items})
    assert too_few.error == "States.ExceedToleratedFailureThreshold"
    by_pct = _run(local_session, _failing_map(ToleratedFailurePercentage=25), {"items": items})
    assert by_pct.succeeded
    low_pct = _run(local_session, _failing_map(ToleratedFailurePercentage=20), {"items": items})
    assert low_pct.error == "States.ExceedToleratedFailureThreshold"
