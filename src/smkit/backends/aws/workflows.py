"""AWS backend verbs for workflows: the ``backend.workflows`` component of
`smkit.backends.aws.AwsBackend` (whose workflow methods delegate to it).

``deploy_workflow`` creates (or updates) one Lambda function per
`smkit.workflow.LambdaSpec` attached to the workflow's tasks (CreateFunction with
the deterministic zip, the Lambda role and the runtime) and the state machine
(CreateStateMachine, with the Step Functions role). Lambda updates are sequenced as Lambda
requires: GetFunctionConfiguration is polled until ``State`` is ``Active`` and
``LastUpdateStatus`` ``Successful`` before UpdateFunctionCode, between it and
UpdateFunctionConfiguration, and after (so StartExecution never races a pending function);
a ``ResourceConflictException`` "update in progress" is retried with backoff;
``run_workflow`` deploys, starts an execution (StartExecution; its ARN goes to the
``on_start`` callback at once, so an interrupted caller can stop it), polls DescribeExecution
until it ends, and reads GetExecutionHistory; ``stop_execution`` sends StopExecution. Every
request goes through ``self.call`` (validated by botocore, recorded, not sent in plan mode).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from smkit.backends.aws.component import AwsComponent
from smkit.errors import (
    ConfigError,
    ResourceExistsError,
    ResourceFailedError,
    ResourceInUseError,
    SmkitTimeoutError,
)

__all__ = ["AwsWorkflows"]

#: Attempts (first included) of a Lambda request answered "an update is in progress".
CONFLICT_ATTEMPTS = 6

_PLACEHOLDER_ARN = "arn:aws:lambda:us-east-1:123456789012:function:"


def _json(text: Any) -> Any:
    if not text:
        return None
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        return text


class AwsWorkflows(AwsComponent):
    """Workflows verbs of the aws backend, a component sharing the backend as its context.

    Args:
        backend: The backend whose requester, region, account, roles and plan mode it uses.
    """

    # -- Lambda ---------------------------------------------------------------------------------
    def deploy_function(self, spec: Any, *, role_arn: str | None = None) -> str:
        """Create (or update) the Lambda function of ``spec``; returns its ARN.

        Args:
            spec: The `smkit.workflow.LambdaSpec`.
            role_arn: The function's execution role (default: the backend's ``lambda_role``;
                never the SageMaker role, which Lambda cannot assume).
        """
        zip_bytes = spec.package()
        role = role_arn or self.lambda_role
        params: dict[str, Any] = {
            "FunctionName": spec.function_name,
            "Runtime": spec.runtime,
            "Role": role,
            "Handler": spec.handler_string,
            "Code": {"ZipFile": zip_bytes},
            "Timeout": int(spec.timeout),
            "MemorySize": int(spec.memory),
            "Publish": False,
        }
        if spec.environment:
            params["Environment"] = {"Variables": dict(spec.environment)}
        if spec.description:
            params["Description"] = spec.description
        name = spec.function_name
        try:
            response = self._lambda("CreateFunction", params, name)
        except ResourceExistsError:
            self.wait_function(name)
            self._lambda("UpdateFunctionCode", {"FunctionName": name, "ZipFile": zip_bytes}, name)
            self.wait_function(name)
            config = {k: v for k, v in params.items() if k not in ("Code", "Publish")}
            response = self._lambda("UpdateFunctionConfiguration", config, name)
        self.wait_function(name)
        return str(
            response.get("FunctionArn")
            or f"arn:aws:lambda:{self.region}:{self.account}:function:{name}"
        )

    conflict_delay: float = 0.5

    def _lambda(self, operation: str, params: dict[str, Any], name: str) -> dict[str, Any]:
        """One Lambda request, retried with exponential backoff (0.5 s doubling) while Lambda
        answers ``ResourceConflictException`` "an update is in progress"."""
        delay = self.conflict_delay
        for attempt in range(1, CONFLICT_ATTEMPTS + 1):
            try:
                return dict(self.call("lambda", operation, params, resource=name))
            except ResourceInUseError as exc:
                if exc.context.get("code") != "ResourceConflictException":
                    raise
                if attempt == CONFLICT_ATTEMPTS:
                    raise
                time.sleep(delay)
                delay *= 2
        raise AssertionError("unreachable")  # pragma: no cover

    def wait_function(self, name: str, *, timeout: float = 300.0, poll: float = 5.0) -> None:
        """Poll GetFunctionConfiguration until ``State`` is ``Active`` and
        ``LastUpdateStatus`` ``Successful`` (boto3's ``function_active_v2`` and
        ``function_updated_v2`` waiters together). In plan mode one request is recorded.

        Raises:
            ResourceFailedError: the function's state or last update is ``Failed``.
            SmkitTimeoutError: not ready after ``timeout`` seconds.
        """
        deadline = time.monotonic() + timeout
        delay = 0.2
        while True:
            data = self.call(
                "lambda", "GetFunctionConfiguration", {"FunctionName": name}, resource=name
            )
            state = data.get("State", "Active")
            update = data.get("LastUpdateStatus", "Successful")
            if self.plan_mode or (state == "Active" and update == "Successful"):
                return
            if "Failed" in (state, update):
                reason = data.get("LastUpdateStatusReason") or data.get("StateReason") or ""
                raise ResourceFailedError(
                    f"Lambda function {name!r}: State {state}, LastUpdateStatus {update}: {reason}",
                    name=name,
                    reason=reason,
                )
            if time.monotonic() > deadline:
                raise SmkitTimeoutError(
                    f"Lambda function {name!r} still State {state}, LastUpdateStatus {update} "
                    f"after {timeout:g}s"
                )
            time.sleep(delay)
            delay = min(poll, delay * 2)

    # -- Step Functions -------------------------------------------------------------------------
    def _definition(self, workflow: Any) -> str:
        text = json.dumps(workflow.to_asl())
        real = f"arn:aws:lambda:{self.region}:{self.account}:function:"
        return text.replace(_PLACEHOLDER_ARN, real)

    def deploy_workflow(
        self,
        workflow: Any,
        *,
        role_arn: str | None = None,
        lambda_role_arn: str | None = None,
        handlers: dict[str, Any] | None = None,
    ) -> str:
        """Create the workflow's Lambda functions and its state machine; returns its ARN.

        Args:
            workflow: The `smkit.workflow.Workflow`.
            role_arn: Role Step Functions assumes (default: the backend's ``states_role``).
            lambda_role_arn: Execution role of the functions (default: the backend's
                ``lambda_role``).
            handlers: Extra LambdaSpecs by function name (plain callables are refused:
                AWS needs a packaged function).
        """
        from smkit.workflow import LambdaSpec

        specs = dict(workflow.lambda_specs())
        for name, value in (handlers or {}).items():
            if not isinstance(value, LambdaSpec):
                raise ConfigError(
                    f"handler {name!r}: the aws backend needs a LambdaSpec to create the "
                    "function, not a plain callable",
                    hint="attach LambdaSpecs to the tasks (Task.lambda_(name, LambdaSpec(...)))",
                )
            specs[name] = value
        for spec in specs.values():
            self.deploy_function(spec, role_arn=lambda_role_arn)
        definition = self._definition(workflow)
        role = role_arn or self.states_role
        arn = f"arn:aws:states:{self.region}:{self.account}:stateMachine:{workflow.name}"
        try:
            response = self.call(
                "stepfunctions",
                "CreateStateMachine",
                {
                    "name": workflow.name,
                    "definition": definition,
                    "roleArn": role,
                    "type": "STANDARD",
                },
                resource=workflow.name,
            )
            arn = str(response.get("stateMachineArn") or arn)
        except ResourceExistsError:
            self.call(
                "stepfunctions",
                "UpdateStateMachine",
                {"stateMachineArn": arn, "definition": definition, "roleArn": role},
                resource=workflow.name,
            )
        return arn

    def start_execution(
        self, state_machine_arn: str, input: Any = None, *, name: str | None = None
    ) -> str:
        """StartExecution; returns the execution ARN."""
        import uuid

        from smkit.workflow.execution import parse_input

        data = parse_input({} if input is None else input)
        name = name or str(uuid.uuid4())
        response = self.call(
            "stepfunctions",
            "StartExecution",
            {"stateMachineArn": state_machine_arn, "name": name, "input": json.dumps(data)},
            resource=name,
        )
        sm = state_machine_arn.rsplit(":", 1)[-1]
        return str(
            response.get("executionArn")
            or f"arn:aws:states:{self.region}:{self.account}:execution:{sm}:{name}"
        )

    def stop_execution(
        self, execution_arn: str, *, error: str | None = None, cause: str | None = None
    ) -> None:
        """StopExecution: the execution ends ``ABORTED``.

        Args:
            execution_arn: The execution's ARN.
            error: Error code recorded on the execution (at most 256 characters).
            cause: Its explanation (at most 32768 characters).

        Raises:
            ResourceNotFoundError: no such execution.
        """
        params: dict[str, Any] = {"executionArn": execution_arn}
        if error is not None:
            params["error"] = error
        if cause is not None:
            params["cause"] = cause
        self.call(
            "stepfunctions",
            "StopExecution",
            params,
            resource=execution_arn.rsplit(":", 1)[-1],
        )

    def execution_history(self, execution_arn: str) -> list[dict[str, Any]]:
        """GetExecutionHistory (all pages), oldest first."""
        events: list[dict[str, Any]] = []
        token = None
        while True:
            params: dict[str, Any] = {"executionArn": execution_arn, "maxResults": 1000}
            if token:
                params["nextToken"] = token
            response = self.call("stepfunctions", "GetExecutionHistory", params)
            events.extend(response.get("events", []))
            token = response.get("nextToken")
            if not token:
                return events

    def describe_execution(self, execution_arn: str, *, history: bool = True) -> Any:
        """DescribeExecution (and its history) as an `smkit.workflow.Execution`."""
        from smkit.report import to_jsonable
        from smkit.workflow import Execution

        data = self.call("stepfunctions", "DescribeExecution", {"executionArn": execution_arn})
        events = self.execution_history(execution_arn) if history and data else []
        return Execution(
            arn=execution_arn,
            name=str(data.get("name") or execution_arn.rsplit(":", 1)[-1]),
            state_machine_arn=str(data.get("stateMachineArn", "")),
            status=str(data.get("status", "RUNNING")),
            input=_json(data.get("input")),
            output=_json(data.get("output")),
            error=data.get("error"),
            cause=data.get("cause"),
            start_date=str(data["startDate"]) if data.get("startDate") else None,
            stop_date=str(data["stopDate"]) if data.get("stopDate") else None,
            events=to_jsonable(events),
        )

    def run_workflow(
        self,
        workflow: Any,
        input: Any = None,
        *,
        name: str | None = None,
        timeout: float | None = 900.0,
        poll: float = 1.0,
        role_arn: str | None = None,
        lambda_role_arn: str | None = None,
        handlers: dict[str, Any] | None = None,
        on_start: Callable[[str], None] | None = None,
        **options: Any,
    ) -> Any:
        """Deploy the workflow, start an execution and wait for its end.

        In plan mode nothing is sent; the returned execution has status ``RUNNING``.

        Args:
            workflow: The `smkit.workflow.Workflow` (or its ASL).
            input: The execution input (dict or JSON text); ``None`` is ``{}``.
            name: Execution name (default: a UUID).
            timeout: Seconds to wait for the end (``None``: no limit).
            poll: Seconds between two DescribeExecution calls.
            role_arn: Role Step Functions assumes.
            lambda_role_arn: Execution role of the workflow's functions.
            handlers: Extra LambdaSpecs by function name.
            on_start: Called with the execution ARN as soon as StartExecution returns
                (before the wait), e.g. to stop the execution if the caller is interrupted.
            **options: Ignored (options of other backends).

        Raises:
            SmkitTimeoutError: the execution is still running after ``timeout`` seconds.
        """
        from smkit.workflow import Execution, Workflow
        from smkit.workflow.execution import parse_input

        if not isinstance(workflow, Workflow):
            workflow = Workflow.from_asl(workflow)
        data = parse_input({} if input is None else input)
        arn = self.deploy_workflow(
            workflow, role_arn=role_arn, lambda_role_arn=lambda_role_arn, handlers=handlers
        )
        execution_arn = self.start_execution(arn, data, name=name)
        if on_start is not None:
            on_start(execution_arn)
        if self.plan_mode:
            return Execution(
                arn=execution_arn,
                name=execution_arn.rsplit(":", 1)[-1],
                state_machine_arn=arn,
                status="RUNNING",
                input=data,
                workflow=workflow,
            )
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            execution = self.describe_execution(execution_arn, history=False)
            if execution.status != "RUNNING":
                break
            if deadline is not None and time.monotonic() >= deadline:
                raise SmkitTimeoutError(
                    f"execution {execution_arn} still RUNNING after {timeout:g}s",
                    hint="pass a larger timeout= or check the execution in the console",
                )
            time.sleep(poll)
        execution = self.describe_execution(execution_arn)
        execution.workflow = workflow
        return execution
