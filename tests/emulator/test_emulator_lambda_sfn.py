"""Lambda and Step Functions on the emulator: uploaded zips run, executions run for real."""

from __future__ import annotations

import io
import json
import time
import uuid
import zipfile

import boto3
import pytest
from botocore.exceptions import ClientError
from emulator_helpers import check_response

pytestmark = pytest.mark.timeout(120)

ROLE = "arn:aws:iam::123456789012:role/lambda-role"
CODE = """
import os

from helper import factor


def handler(event, context):
    if event.get("fail"):
        raise ValueError("asked to fail")
    return {"out": event["x"] * factor(), "greeting": os.environ.get("GREETING"),
            "has_time": context.get_remaining_time_in_millis() > 0}
"""


def _zip(factor: int) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("lambda_function.py", CODE)
        zf.writestr("helper.py", f"def factor():\n    return {factor}\n")
    return buf.getvalue()


def _function(lam, factor: int = 2) -> str:
    name = f"fn-{uuid.uuid4().hex[:8]}"
    created = lam.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=ROLE,
        Handler="lambda_function.handler",
        Code={"ZipFile": _zip(factor)},
        Environment={"Variables": {"GREETING": "hello"}},
        Timeout=5,
    )
    check_response(lam, "CreateFunction", created)
    assert created["State"] == "Pending"
    lam.get_waiter("function_active_v2").wait(
        FunctionName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 30}
    )
    return name


def test_lambda_create_invoke_update_delete(emulator_env) -> None:
    lam = boto3.client("lambda")
    name = _function(lam)
    got = check_response(lam, "GetFunction", lam.get_function(FunctionName=name))
    assert got["Configuration"]["State"] == "Active"
    out = lam.invoke(FunctionName=name, Payload=json.dumps({"x": 21}))
    assert out["StatusCode"] == 200 and "FunctionError" not in out
    assert json.loads(out["Payload"].read()) == {"out": 42, "greeting": "hello", "has_time": True}
    failed = lam.invoke(FunctionName=name, Payload=json.dumps({"fail": True}))
    assert failed["FunctionError"] == "Unhandled"
    payload = json.loads(failed["Payload"].read())
    assert (payload["errorType"], payload["errorMessage"]) == ("ValueError", "asked to fail")

    updated = lam.update_function_code(FunctionName=name, ZipFile=_zip(3))
    assert updated["LastUpdateStatus"] == "InProgress"
    lam.get_waiter("function_updated_v2").wait(
        FunctionName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 30}
    )
    again = lam.invoke(FunctionName=f"arn:aws:lambda:us-east-1:123456789012:function:{name}",
                       Payload=json.dumps({"x": 2}))
    assert json.loads(again["Payload"].read())["out"] == 6
    # a configuration change right after new code conflicts, as on Lambda
    lam.update_function_code(FunctionName=name, ZipFile=_zip(4))
    with pytest.raises(ClientError) as busy:
        lam.update_function_configuration(FunctionName=name, Timeout=9)
    assert busy.value.response["Error"]["Code"] == "ResourceConflictException"
    lam.get_waiter("function_updated_v2").wait(
        FunctionName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 30}
    )
    cfg = lam.update_function_configuration(
        FunctionName=name, Timeout=9, Environment={"Variables": {"GREETING": "bye"}}
    )
    check_response(lam, "UpdateFunctionConfiguration", cfg)
    assert (cfg["Timeout"], cfg["LastUpdateStatus"]) == (9, "Successful")
    last = json.loads(lam.invoke(FunctionName=name, Payload='{"x": 1}')["Payload"].read())
    assert last == {"out": 4, "greeting": "bye", "has_time": True}
    assert name in [f["FunctionName"] for f in lam.list_functions()["Functions"]]
    lam.delete_function(FunctionName=name)
    with pytest.raises(ClientError) as info:
        lam.invoke(FunctionName=name, Payload=b"{}")
    assert info.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_a_zip_without_the_handler_module_fails_the_function(emulator_env) -> None:
    lam = boto3.client("lambda")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("other.py", "x = 1\n")
    name = f"bad-{uuid.uuid4().hex[:8]}"
    lam.create_function(FunctionName=name, Runtime="python3.12", Role=ROLE,
                        Handler="lambda_function.handler", Code={"ZipFile": buf.getvalue()})
    deadline = time.monotonic() + 30
    while lam.get_function_configuration(FunctionName=name)["State"] == "Pending":
        assert time.monotonic() < deadline
        time.sleep(0.2)
    cfg = lam.get_function_configuration(FunctionName=name)
    assert cfg["State"] == "Failed"
    assert "lambda_function" in cfg["StateReason"]
    with pytest.raises(ClientError) as info:
        lam.invoke(FunctionName=name, Payload=b"{}")
    assert info.value.response["Error"]["Code"] == "ResourceConflictException"


def _wait_execution(sfn, arn: str) -> dict:
    deadline = time.monotonic() + 60
    while True:
        desc = sfn.describe_execution(executionArn=arn)
        if desc["status"] != "RUNNING" or time.monotonic() > deadline:
            return desc
        time.sleep(0.2)


def test_step_functions_run_with_lambda_tasks_calling_the_emulator(emulator_env) -> None:
    lam, sfn = boto3.client("lambda"), boto3.client("stepfunctions")
    name = _function(lam, factor=10)
    arn = f"arn:aws:lambda:us-east-1:123456789012:function:{name}"
    definition = {
        "StartAt": "Scale",
        "States": {
            "Scale": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": arn, "Payload.$": "$"},
                "OutputPath": "$.Payload",
                "Next": "Big?",
            },
            "Big?": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.out", "NumericGreaterThan": 100, "Next": "Big"}],
                "Default": "Small",
            },
            "Big": {"Type": "Pass", "Result": "big", "ResultPath": "$.size", "End": True},
            "Small": {"Type": "Fail", "Error": "TooSmall", "Cause": "out <= 100"},
        },
    }
    machine = sfn.create_state_machine(
        name=f"flow-{name}", definition=json.dumps(definition), roleArn=ROLE
    )
    check_response(sfn, "CreateStateMachine", machine)
    ok = sfn.start_execution(stateMachineArn=machine["stateMachineArn"], input='{"x": 12}')
    desc = check_response(sfn, "DescribeExecution", _wait_execution(sfn, ok["executionArn"]))
    assert desc["status"] == "SUCCEEDED"
    assert json.loads(desc["output"]) == {
        "out": 120, "greeting": "hello", "has_time": True, "size": "big"
    }
    history = check_response(
        sfn, "GetExecutionHistory", sfn.get_execution_history(executionArn=ok["executionArn"])
    )
    types = [e["type"] for e in history["events"]]
    assert types[0] == "ExecutionStarted" and types[-1] == "ExecutionSucceeded"
    assert "TaskSucceeded" in types

    bad = sfn.start_execution(stateMachineArn=machine["stateMachineArn"], input='{"x": 1}')
    failed = _wait_execution(sfn, bad["executionArn"])
    assert (failed["status"], failed["error"], failed["cause"]) == (
        "FAILED", "TooSmall", "out <= 100"
    )
    updated = sfn.update_state_machine(
        stateMachineArn=machine["stateMachineArn"],
        definition=json.dumps({**definition, "Comment": "v2"}),
    )
    assert updated["updateDate"]
    assert json.loads(
        sfn.describe_state_machine(stateMachineArn=machine["stateMachineArn"])["definition"]
    )["Comment"] == "v2"
    with pytest.raises(ClientError) as info:
        sfn.describe_execution(executionArn=ok["executionArn"] + "-nope")
    assert info.value.response["Error"]["Code"] == "ExecutionDoesNotExist"
    with pytest.raises(ClientError) as info:
        sfn.create_state_machine(name="broken", definition='{"StartAt": "X"}', roleArn=ROLE)
    assert info.value.response["Error"]["Code"] == "InvalidDefinition"
