"""AWS: requests validated by botocore, run on moto; same outputs as the local executor."""

from __future__ import annotations

import json
import urllib.request

import pytest

from smkit.workflow import (
    Catch,
    Choice,
    Fail,
    LambdaSpec,
    Map,
    Parallel,
    Pass,
    Succeed,
    Task,
    Var,
    Wait,
    When,
    Workflow,
)


def _config(moto, body):
    req = urllib.request.Request(
        f"{moto.url}/moto-api/config", data=json.dumps(body).encode(), method="POST"
    )
    urllib.request.urlopen(req, timeout=10).read()


@pytest.fixture
def with_role(aws_backend):
    """The three test roles exist in moto's IAM, each trusted by its own service (Lambda's
    CreateFunction checks that its role exists)."""
    from smkit.testing.fixtures import TEST_LAMBDA_ROLE, TEST_ROLE, TEST_STATES_ROLE

    for arn, service in (
        (TEST_ROLE, "sagemaker"),
        (TEST_LAMBDA_ROLE, "lambda"),
        (TEST_STATES_ROLE, "states"),
    ):
        policy = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": f"{service}.amazonaws.com"},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
        aws_backend.call(
            "iam",
            "CreateRole",
            {"RoleName": arn.rsplit("/", 1)[-1], "AssumeRolePolicyDocument": json.dumps(policy)},
        )
    return aws_backend


@pytest.fixture
def executing_moto(with_role, moto, monkeypatch):
    """moto with its ASL interpreter on and Lambda without Docker (echoes the payload)."""
    monkeypatch.setenv("MOTO_PORT", str(moto.port))
    _config(
        moto, {"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}
    )
    yield with_role
    _config(
        moto, {"stepfunctions": {"execute_state_machine": False}, "lambda": {"use_docker": True}}
    )


def echo(event, context):
    """The Lambda moto runs without Docker returns its payload: the same here."""
    return event


ECHO = LambdaSpec("test_workflow_moto:echo", name="echo")

DEFINITIONS = {
    "paths": (
        Pass(
            "Shape",
            parameters={
                "id.$": "$.id",
                "msg.$": "States.Format('item {} of {}', $.id, $.owner.name)",
                "both.$": "States.Array($.id, $.owner.name)",
                "fixed": {"k": [1, 2]},
            },
            result_path="$.shaped",
        )
        >> Pass("Keep", input_path="$.shaped", result={"extra": True}, result_path="$.r")
        >> Choice(
            "Route",
            [When((Var("$.id") >= 5) & Var("$.shaped.msg").matches("item *"), Succeed("Big"))],
            default=Pass("Small", output_path="$.shaped.both"),
        ),
        [{"id": 7, "owner": {"name": "ann"}}, {"id": 2, "owner": {"name": "bob"}}],
    ),
    "parallel_map": (
        Parallel("P", [Pass("A", result="a"), Pass("B", input_path="$.xs")], result_path="$.p")
        >> Map(
            "M",
            Pass("Item", parameters={"double.$": "States.MathAdd($.v, $.v)"}),
            items_path="$.xs",
            item_selector={"v.$": "$$.Map.Item.Value"},
            result_path="$.m",
        )
        >> Wait("W", 0),
        [{"xs": [1, 2, 3]}],
    ),
    "lambda_forms": (
        Task.lambda_("Direct", ECHO, result_selector={"got.$": "$.v"}, result_path="$.direct")
        >> Task.lambda_(
            "Wrapped",
            ECHO,
            integration=True,
            result_selector={"p.$": "$.Payload"},
            result_path="$.wrapped",
        ),
        [{"v": 1}],
    ),
    "fail": (
        Pass("P", result={"x": 1}, result_path="$.p")
        >> Fail("Nope", error="Custom.Error", cause="stop here"),
        [{}],
    ),
}


@pytest.mark.parametrize("key", sorted(DEFINITIONS))
def test_same_outputs_on_moto_and_local(key, executing_moto, local_session):
    chain, inputs = DEFINITIONS[key]
    wf = Workflow(f"cmp-{key.replace('_', '-')}", chain)
    for data in inputs:
        local = local_session.run_workflow(wf, data, handlers={"echo": echo})
        remote = executing_moto.run_workflow(wf, data, poll=0.1, timeout=60)
        assert remote.status == local.status, (remote.error, remote.cause, local.cause)
        assert remote.output == local.output
        assert remote.error == local.error
        if local.status == "FAILED":
            assert remote.cause == local.cause
        remote_types = [e["type"] for e in remote.events]
        assert remote_types[0] == "ExecutionStarted"
        # branches and iterations run concurrently on both: compare the visits as multisets
        assert sorted(local.path) == sorted(
            e["stateEnteredEventDetails"]["name"]
            for e in remote.events
            if e["type"].endswith("StateEntered")
        )


def test_deploy_creates_function_and_state_machine(with_role):
    aws_backend = with_role
    wf = Workflow("deployed", Task.lambda_("Direct", ECHO) >> Pass("Done"))
    arn = aws_backend.deploy_workflow(wf)
    fn = aws_backend.call("lambda", "GetFunction", {"FunctionName": "echo"})
    assert fn["Configuration"]["Runtime"] == "python3.12"
    assert fn["Configuration"]["Handler"] == "test_workflow_moto.echo"
    sm = aws_backend.call("stepfunctions", "DescribeStateMachine", {"stateMachineArn": arn})
    definition = json.loads(sm["definition"])
    assert definition["States"]["Direct"]["Resource"].endswith(":function:echo")
    # deploying again updates instead of failing
    assert aws_backend.deploy_workflow(wf) == arn


def test_plan_mode_records_requests():
    from smkit.backends.aws import AwsBackend

    backend = AwsBackend(plan=True, region="eu-west-1", role="arn:aws:iam::123456789012:role/r")
    wf = Workflow(
        "planned", Task.lambda_("Direct", ECHO, catch=[Catch("States.ALL", Succeed("S"))])
    )
    execution = backend.run_workflow(wf, {"a": 1})
    ops = [r.operation for r in backend.plan()]
    assert ops == [
        "CreateFunction",
        "GetFunctionConfiguration",
        "CreateStateMachine",
        "StartExecution",
    ]
    assert execution.status == "RUNNING"
    create = backend.plan()[0].params
    assert create["Code"]["ZipFile"] == ECHO.package()


def test_functions_and_state_machine_get_their_own_roles(with_role):
    from smkit.testing.fixtures import TEST_LAMBDA_ROLE, TEST_STATES_ROLE

    aws_backend = with_role
    wf = Workflow("roles", Task.lambda_("Direct", ECHO) >> Pass("Done"))
    arn = aws_backend.deploy_workflow(wf)
    fn = aws_backend.call("lambda", "GetFunction", {"FunctionName": "echo"})
    assert fn["Configuration"]["Role"] == TEST_LAMBDA_ROLE
    sm = aws_backend.call("stepfunctions", "DescribeStateMachine", {"stateMachineArn": arn})
    assert sm["roleArn"] == TEST_STATES_ROLE


def test_plan_mode_uses_placeholder_service_roles_not_the_sagemaker_role():
    from smkit.backends.aws import AwsBackend

    sm_role = "arn:aws:iam::123456789012:role/sm"
    backend = AwsBackend(plan=True, region="eu-west-1", role=sm_role)
    backend.run_workflow(Workflow("placeholders", Task.lambda_("Direct", ECHO)), {})
    create_fn, create_sm = backend.plan()[0].params, backend.plan()[2].params
    assert create_fn["Role"] == "arn:aws:iam::123456789012:role/smkit-lambda"
    assert create_sm["roleArn"] == "arn:aws:iam::123456789012:role/smkit-states"
    assert sm_role not in (create_fn["Role"], create_sm["roleArn"])


def test_real_run_without_lambda_role_is_a_clear_error(monkeypatch):
    from smkit.backends.aws import AwsBackend
    from smkit.errors import ConfigError

    for var in ("SMKIT_LAMBDA_ROLE", "SMKIT_STATES_ROLE"):
        monkeypatch.delenv(var, raising=False)
    backend = AwsBackend(region="us-east-1", role="arn:aws:iam::123456789012:role/sm")
    with pytest.raises(ConfigError, match="lambda") as info:
        _ = backend.lambda_role
    assert "--lambda-role" in str(info.value.hint)
    with pytest.raises(ConfigError, match="states"):
        _ = backend.states_role
    monkeypatch.setenv("SMKIT_STATES_ROLE", "arn:aws:iam::123456789012:role/sfn")
    assert AwsBackend(region="us-east-1").states_role.endswith("role/sfn")


def test_cli_passes_the_three_roles():
    import argparse

    from smkit.commands._common import add_backend_args, session_from_args

    parser = argparse.ArgumentParser()
    add_backend_args(parser)
    args = parser.parse_args(
        [
            "--backend",
            "aws",
            "--plan",
            "--role",
            "arn:aws:iam::1:role/a",
            "--lambda-role",
            "arn:aws:iam::1:role/b",
            "--states-role",
            "arn:aws:iam::1:role/c",
        ]
    )
    backend = session_from_args(args).backend
    assert (backend.role, backend.lambda_role, backend.states_role) == (
        "arn:aws:iam::1:role/a",
        "arn:aws:iam::1:role/b",
        "arn:aws:iam::1:role/c",
    )


def test_conflict_exception_is_exists_or_update_in_progress():
    from smkit.backends.aws.errors import translate
    from smkit.errors import ResourceExistsError, ResourceInUseError

    class _Err(Exception):
        def __init__(self, message):
            super().__init__(message)
            self.response = {"Error": {"Code": "ResourceConflictException", "Message": message}}

    taken = translate(
        _Err("Function already exist: echo"), service="lambda", operation="CreateFunction"
    )
    assert type(taken) is ResourceExistsError
    busy = translate(
        _Err(
            "The operation cannot be performed at this time. An update is in progress for "
            "resource: arn:aws:lambda:us-east-1:1:function:echo"
        ),
        service="lambda",
        operation="UpdateFunctionConfiguration",
    )
    assert type(busy) is ResourceInUseError
    assert "in progress" in busy.hint and "another name" not in str(busy)


def test_redeploy_waits_between_updates_and_retries_conflicts(monkeypatch):
    from botocore.stub import ANY, Stubber

    from smkit.backends.aws import AwsBackend
    from smkit.testing.moto import FAKE_CREDENTIALS

    for key, value in FAKE_CREDENTIALS.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setattr("time.sleep", lambda s: None)
    backend = AwsBackend(
        region="us-east-1",
        role="arn:aws:iam::123456789012:role/sm",
        lambda_role="arn:aws:iam::123456789012:role/fn",
    )
    client = backend.requester.client("lambda")
    arn = "arn:aws:lambda:us-east-1:123456789012:function:echo"

    def state(st, upd):
        return {"FunctionName": "echo", "State": st, "LastUpdateStatus": upd}

    with Stubber(client) as stub:
        stub.add_client_error(
            "create_function", "ResourceConflictException", "Function already exist: echo"
        )
        stub.add_response("get_function_configuration", state("Active", "Successful"))
        stub.add_response("update_function_code", {"FunctionArn": arn})
        stub.add_response("get_function_configuration", state("Active", "InProgress"))
        stub.add_response("get_function_configuration", state("Active", "Successful"))
        stub.add_client_error(
            "update_function_configuration",
            "ResourceConflictException",
            "An update is in progress for resource: " + arn,
        )
        stub.add_response(
            "update_function_configuration",
            {"FunctionArn": arn},
            {
                "FunctionName": "echo",
                "Runtime": ANY,
                "Role": "arn:aws:iam::123456789012:role/fn",
                "Handler": ANY,
                "Timeout": ANY,
                "MemorySize": ANY,
            },
        )
        stub.add_response("get_function_configuration", state("Pending", "Successful"))
        stub.add_response("get_function_configuration", state("Active", "Successful"))
        assert backend.deploy_function(ECHO) == arn
        stub.assert_no_pending_responses()
    ops = [r.operation for r in backend.plan()]
    assert ops == [
        "CreateFunction",
        "GetFunctionConfiguration",
        "UpdateFunctionCode",
        "GetFunctionConfiguration",
        "GetFunctionConfiguration",
        "UpdateFunctionConfiguration",
        "UpdateFunctionConfiguration",
        "GetFunctionConfiguration",
        "GetFunctionConfiguration",
    ]


def test_failed_function_update_is_reported(monkeypatch):
    from botocore.stub import Stubber

    from smkit.backends.aws import AwsBackend
    from smkit.errors import ResourceFailedError
    from smkit.testing.moto import FAKE_CREDENTIALS

    for key, value in FAKE_CREDENTIALS.items():
        monkeypatch.setenv(key, value)
    backend = AwsBackend(region="us-east-1", lambda_role="arn:aws:iam::1:role/fn")
    client = backend.requester.client("lambda")
    with Stubber(client) as stub:
        stub.add_response(
            "get_function_configuration",
            {"State": "Failed", "LastUpdateStatus": "Failed", "StateReason": "bad zip"},
        )
        with pytest.raises(ResourceFailedError, match="bad zip"):
            backend.wait_function("echo")


def test_plan_mode_stop_execution_is_a_validated_request():
    from smkit.backends.aws import AwsBackend

    backend = AwsBackend(plan=True, region="eu-west-1", role="arn:aws:iam::123456789012:role/r")
    arn = "arn:aws:states:eu-west-1:123456789012:execution:flow:run-1"
    backend.stop_execution(arn, error="smkit.Interrupted", cause="stopped")
    (request,) = [r for r in backend.plan() if r.operation == "StopExecution"]
    assert request.params == {"executionArn": arn, "error": "smkit.Interrupted", "cause": "stopped"}


def test_run_workflow_reports_the_arn_before_waiting(with_role):
    aws_backend = with_role
    seen = []

    class Seen(Exception):
        pass

    def on_start(arn):
        seen.append(aws_backend.describe_execution(arn, history=False).status)
        raise Seen(arn)

    # moto does not run the execution (its interpreter is off): without on_start, the
    # call would wait until its timeout
    with pytest.raises(Seen) as info:
        aws_backend.run_workflow(Workflow("reported", Pass("P")), {}, on_start=on_start)
    arn = str(info.value)
    assert arn.startswith("arn:aws:states:") and ":execution:reported:" in arn
    assert seen == ["RUNNING"]
    aws_backend.stop_execution(arn)
    assert aws_backend.describe_execution(arn, history=False).status == "ABORTED"


def test_interrupted_run_stops_the_execution_in_flight(with_role, capsys):
    import os
    import signal
    import time

    from smkit.commands.cmd_usecases import _stop_after_interrupt
    from smkit.session import Session
    from smkit.usecases._run import Interrupted, RunContext

    aws_backend = with_role
    ctx = RunContext(Session(aws_backend), stop_timeout=10)
    arns = []

    def interrupt(arn):  # SIGINT once StartExecution has returned, while the run waits
        arns.append(arn)
        os.kill(os.getpid(), signal.SIGINT)

    start = time.perf_counter()
    with ctx.signals(), pytest.raises(Interrupted) as caught:
        ctx.session.run_workflow(
            Workflow("in-flight", Pass("P")), {}, on_start=interrupt, timeout=60
        )
    (arn,) = arns
    assert [item.name for item in ctx.stack] == [arn], "the running execution is tracked"
    assert _stop_after_interrupt(ctx, caught.value, start) == 130
    err = capsys.readouterr().err
    assert "interrupted by SIGINT" in err
    assert f"stopped: workflow execution {arn}" in err
    assert aws_backend.describe_execution(arn, history=False).status == "ABORTED"
    assert ctx.stack == []
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
