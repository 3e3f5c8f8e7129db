"""Local backend verbs for workflows: the ``backend.workflows`` component of
`smkit.backends.local.LocalBackend` (whose workflow methods delegate to it).

``run_workflow`` validates the workflow and its input, records the state machine (catalog
kind ``state_machine``, shaped like ``DescribeStateMachine``) and the execution (kind
``execution``, shaped like ``DescribeExecution`` plus its ``events``, shaped like
``GetExecutionHistory``), and runs it in-process with
`Executor`.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from smkit.errors import ConfigError, ResourceNotFoundError
from smkit.workflow.execution import parse_input

if TYPE_CHECKING:
    from smkit.backends.local import LocalBackend

__all__ = ["LocalWorkflows", "local_invoke_endpoint"]

_REGION = "us-east-1"
_ACCOUNT = "123456789012"


def local_invoke_endpoint(backend: Any) -> Any:
    """An ``invoke_endpoint`` function for the executor that POSTs to a local endpoint's
    ``/invocations`` (the ``Url`` in its catalog record)."""

    def invoke(name: str, body: Any, content_type: str, accept: str | None) -> tuple[Any, str]:
        import urllib.request

        try:
            record = backend.catalog.describe("endpoint", name)
        except ResourceNotFoundError:
            raise ResourceNotFoundError(f"no local endpoint named {name!r}") from None
        url = record.data.get("Url")
        if not url or record.status != "InService":
            raise ResourceNotFoundError(f"endpoint {name!r} is {record.status}, not InService")
        data = body.encode() if isinstance(body, str) else body
        headers = {"Content-Type": content_type}
        if accept:
            headers["Accept"] = accept
        request = urllib.request.Request(
            url.rstrip("/") + "/invocations", data=data, headers=headers, method="POST"
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            return (
                response.read().decode("utf-8"),
                response.headers.get("Content-Type", "application/json"),
            )

    return invoke


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _owner() -> dict[str, Any]:
    """Who runs an execution: this process (pid and start time, against pid reuse)."""
    import os

    from smkit.backends.local.process import process_start_time

    pid = os.getpid()
    return {"OwnerPid": pid, "OwnerStartTime": process_start_time(pid)}


def reconcile_execution(catalog: Any, name: str) -> Any:
    """Mark a ``RUNNING`` execution whose owning process is gone as ``FAILED``
    (``States.Runtime``), as jobs and endpoints are reconciled; returns the record."""
    from smkit.backends.local.serving import pid_alive
    from smkit.errors import ValidationError

    record = catalog.describe("execution", name)
    if record.status != "RUNNING":
        return record
    pid = record.data.get("OwnerPid")
    if pid is None or pid_alive(pid, record.data.get("OwnerStartTime")):
        return record
    cause = (
        f"The process that ran the execution (pid {pid}) ended before the execution did "
        "(killed from outside?)"
    )
    events = list(record.data.get("events") or [])
    try:
        return catalog.update(
            "execution",
            name,
            status="FAILED",
            message="States.Runtime",
            error="States.Runtime",
            cause=cause,
            stopDate=_now(),
            events=events,
        )
    except ValidationError:  # it finished meanwhile
        return catalog.describe("execution", name)


class LocalWorkflows:
    """Workflow verbs of the local backend, a component sharing the backend as its context.

    Args:
        backend: The backend whose ``catalog`` and ``store`` it uses.
    """

    def __init__(self, backend: LocalBackend) -> None:
        self.backend = backend

    @property
    def catalog(self) -> Any:
        """The backend's catalog."""
        return self.backend.catalog

    def deploy_workflow(self, workflow: Any, *, role_arn: str | None = None) -> dict[str, Any]:
        """Record (or update) the state machine; returns its DescribeStateMachine record."""
        definition = json.dumps(workflow.to_asl())
        arn = f"arn:aws:states:{_REGION}:{_ACCOUNT}:stateMachine:{workflow.name}"
        data = {
            "stateMachineArn": arn,
            "name": workflow.name,
            "status": "ACTIVE",
            "definition": definition,
            "roleArn": role_arn or f"arn:aws:iam::{_ACCOUNT}:role/StepFunctionsRole",
            "type": "STANDARD",
            "creationDate": _now(),
        }
        try:
            current = self.catalog.describe("state_machine", workflow.name)
        except ResourceNotFoundError:
            return self.catalog.create("state_machine", workflow.name, data, status="ACTIVE").data
        if current.status != "ACTIVE":
            return self.catalog.create("state_machine", workflow.name, data, status="ACTIVE").data
        if current.data.get("definition") != definition:
            return self.catalog.update(
                "state_machine", workflow.name, definition=definition, updateDate=_now()
            ).data
        return current.data

    def run_workflow(
        self,
        workflow: Any,
        input: Any = None,
        *,
        handlers: dict[str, Any] | None = None,
        name: str | None = None,
        timeout: float | None = 900.0,
        handler_timeout: float = 60.0,
        clock: Any = None,
        sleep: Any = None,
        rng: Any = None,
        invoke_endpoint: Any = None,
        on_start: Any = None,
        **options: Any,
    ) -> Any:
        """Run ``workflow`` in this process and record the execution.

        Args:
            workflow: A `Workflow` (or an ASL dict / JSON / file path).
            input: The execution input (dict or JSON text); ``None`` is ``{}``.
            handlers: Lambda function name → handler (callable, ``"module:function"`` or
                LambdaSpec).
            name: Execution name (default: a UUID).
            timeout: Execution time limit in seconds (the workflow's TimeoutSeconds, if
                smaller, wins); the execution ends ``TIMED_OUT`` past it.
            handler_timeout: Timeout of plain-callable handlers.
            clock: Epoch-seconds clock (tests inject a fake one).
            sleep: Sleep function used by Wait states and Retry backoff.
            rng: ``random.Random`` for ``JitterStrategy: FULL``.
            invoke_endpoint: Replaces the local endpoint invoker for
                ``sagemakerruntime:invokeEndpoint`` tasks.
            on_start: Called with the execution ARN once the execution is recorded
                ``RUNNING``, before it runs.

        Returns:
            The `Execution` (check ``.status``; it does not raise
            when the execution failed).

        Raises:
            ValidationError: the definition is invalid.
            FormatError: the input is not JSON.
        """
        import time

        from smkit.backends.local.asl import Executor
        from smkit.workflow import Workflow

        if options:
            raise ConfigError(
                f"unknown run_workflow option(s) {sorted(options)} for the local backend"
            )
        if not isinstance(workflow, Workflow):
            workflow = Workflow.from_asl(workflow)
        data = parse_input({} if input is None else input)
        sm = self.deploy_workflow(workflow)
        executor = Executor(
            workflow,
            handlers=handlers,
            invoke_endpoint=invoke_endpoint or local_invoke_endpoint(self.backend),
            clock=clock or time.time,
            sleep=sleep or time.sleep,
            rng=rng,
            timeout=timeout,
            handler_timeout=handler_timeout,
            name=name,
            region=_REGION,
            account=_ACCOUNT,
            role_arn=sm["roleArn"],
            store=self.backend.store,
        )
        record = {
            "executionArn": executor.arn,
            "stateMachineArn": executor.state_machine_arn,
            "name": executor.name,
            "status": "RUNNING",
            "startDate": _now(),
            "input": json.dumps(data),
            **_owner(),
        }
        self.catalog.create("execution", executor.name, record, status="RUNNING")
        try:
            if on_start is not None:
                on_start(executor.arn)
            execution = executor.run(data)
        except BaseException:
            self.catalog.update(
                "execution",
                executor.name,
                status="ABORTED",
                stopDate=_now(),
                events=executor.events,
            )
            raise
        if self.catalog.describe("execution", executor.name).status == "ABORTED":
            return self.describe_execution(executor.arn)  # stopped while it ran: it stays so
        described = execution.describe()
        self.catalog.update(
            "execution",
            executor.name,
            status=execution.status,
            message=execution.error,
            events=execution.events,
            **{k: v for k, v in described.items() if k not in ("status", "name")},
        )
        return execution

    def stop_execution(
        self, execution_id: str, *, error: str | None = None, cause: str | None = None
    ) -> None:
        """Record a ``RUNNING`` execution (name or ARN) ``ABORTED``, as StopExecution does.

        The execution runs in the process that started it: an interrupt there ends it (and
        records it ``ABORTED`` itself); stopped from elsewhere, it keeps ``ABORTED`` when
        its run ends. An execution already ended is left as it is.

        Raises:
            ResourceNotFoundError: no such execution.
        """
        name = execution_id.rsplit(":", 1)[-1]
        record = reconcile_execution(self.catalog, name)
        if record.status != "RUNNING":
            return
        self.catalog.update(
            "execution",
            name,
            status="ABORTED",
            message=cause or "stopped",
            stopDate=_now(),
            **({"error": error} if error is not None else {}),
            **({"cause": cause} if cause is not None else {}),
        )

    def describe_execution(self, execution_id: str) -> Any:
        """The recorded execution (name or ARN) as an `Execution`."""
        from smkit.workflow import Execution, Workflow

        name = execution_id.rsplit(":", 1)[-1]
        record = reconcile_execution(self.catalog, name)
        data = record.data
        workflow = None
        sm_name = str(data.get("stateMachineArn", "")).rsplit(":", 1)[-1]
        try:
            sm = self.catalog.describe("state_machine", sm_name)
            workflow = Workflow.from_asl(sm.data["definition"], name=sm_name)
        except Exception:  # the definition changed or is gone: no diagram
            workflow = None
        return Execution(
            arn=data["executionArn"],
            name=data["name"],
            state_machine_arn=data["stateMachineArn"],
            status=record.status,
            input=json.loads(data.get("input") or "null"),
            output=json.loads(data["output"]) if data.get("output") else None,
            error=data.get("error"),
            cause=data.get("cause"),
            start_date=data.get("startDate"),
            stop_date=data.get("stopDate"),
            events=list(data.get("events") or []),
            workflow=workflow,
        )

    def execution_history(self, execution_id: str) -> list[dict[str, Any]]:
        """The recorded ``GetExecutionHistory``-shaped events of an execution."""
        return self.describe_execution(execution_id).events
