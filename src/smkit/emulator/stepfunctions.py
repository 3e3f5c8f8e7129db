"""AWS Step Functions (JSON 1.0, ``X-Amz-Target: AWSStepFunctions.<Op>``) run by smkit's local
ASL executor (`smkit.backends.local.asl.Executor`).

``StartExecution`` runs the execution in a worker thread; its Lambda tasks call the
emulator's own Lambda functions (`smkit.emulator.lambdas.LambdaEmulator`, with each
function's timeout, memory and environment) and its
``aws-sdk:sagemakerruntime:invokeEndpoint`` tasks call the emulator's endpoints.
``DescribeExecution`` and ``GetExecutionHistory`` read the executor's state and history
events as it runs.
"""

from __future__ import annotations

import json
import threading
import uuid
from datetime import UTC, datetime
from typing import Any

from smkit.emulator.operations import operation
from smkit.emulator.protocol import ACCOUNT, EmulatorError, shape_output, validate_request

__all__ = ["StepFunctionsEmulator"]

SERVICE = "stepfunctions"


def _now() -> str:
    return datetime.now(UTC).isoformat()


class _Execution:
    def __init__(self, executor: Any, machine: dict[str, Any], payload: Any) -> None:
        self.executor = executor
        self.machine = machine
        self.input = payload
        self.start = _now()
        self.result: Any = None
        self.done = threading.Event()
        self.failure: str | None = None


class StepFunctionsEmulator:
    """State machines and executions of the emulator.

    Args:
        lambdas: The emulator's `smkit.emulator.lambdas.LambdaEmulator`.
        backend: The local backend (endpoints for ``invokeEndpoint`` tasks, the object store).
    """

    def __init__(self, lambdas: Any, backend: Any) -> None:
        self.lambdas = lambdas
        self.backend = backend
        self.lock = threading.RLock()
        self.machines: dict[str, dict[str, Any]] = {}
        self.executions: dict[str, _Execution] = {}
        self.region = "us-east-1"
        self._handlers = {}
        for attr in dir(self):
            fn = getattr(self, attr)
            op = getattr(fn, "aws_operation", None)
            if op:
                self._handlers[op] = fn

    def dispatch(self, op: str, params: dict[str, Any], region: str = "us-east-1") -> Any:
        """Run one operation: validate, call its handler, shape the answer."""
        handler = self._handlers.get(op)
        if handler is None:
            raise EmulatorError(
                "UnknownOperationException",
                f"The operation AWSStepFunctions.{op} is not supported by the smkit emulator",
            )
        self.region = region
        validate_request(SERVICE, op, params)
        return shape_output(SERVICE, op, handler(params))

    def _machine(self, arn: str) -> dict[str, Any]:
        machine = self.machines.get(arn)
        if machine is None:
            raise EmulatorError(
                "StateMachineDoesNotExist", f"State Machine Does Not Exist: '{arn}'"
            )
        return machine

    def _execution(self, arn: str) -> _Execution:
        ex = self.executions.get(arn)
        if ex is None:
            raise EmulatorError("ExecutionDoesNotExist", f"Execution Does Not Exist: '{arn}'")
        return ex

    # -- state machines ------------------------------------------------------------------------
    @operation(SERVICE, "CreateStateMachine")
    def create_state_machine(self, params: dict[str, Any]) -> dict[str, Any]:
        """Validates the ASL definition with smkit's workflow model and records it."""
        from smkit.errors import SmkitError
        from smkit.workflow import Workflow

        name = params["name"]
        arn = f"arn:aws:states:{self.region}:{ACCOUNT}:stateMachine:{name}"
        try:
            Workflow.from_asl(params["definition"], name=name)
        except (SmkitError, ValueError) as exc:
            raise EmulatorError("InvalidDefinition", f"Invalid State Machine Definition: {exc}") \
                from None
        with self.lock:
            current = self.machines.get(arn)
            if current is not None:
                if current["definition"] == params["definition"]:
                    return current  # idempotent, as AWS
                raise EmulatorError(
                    "StateMachineAlreadyExists", f"State Machine Already Exists: '{arn}'"
                )
            machine = {
                "stateMachineArn": arn,
                "name": name,
                "definition": params["definition"],
                "roleArn": params["roleArn"],
                "type": params.get("type", "STANDARD"),
                "status": "ACTIVE",
                "creationDate": _now(),
            }
            self.machines[arn] = machine
        return machine

    @operation(SERVICE, "UpdateStateMachine")
    def update_state_machine(self, params: dict[str, Any]) -> dict[str, Any]:
        """A new definition (validated) and/or role; later executions use it."""
        from smkit.errors import SmkitError
        from smkit.workflow import Workflow

        machine = self._machine(params["stateMachineArn"])
        if "definition" in params:
            try:
                Workflow.from_asl(params["definition"], name=machine["name"])
            except (SmkitError, ValueError) as exc:
                raise EmulatorError(
                    "InvalidDefinition", f"Invalid State Machine Definition: {exc}"
                ) from None
        now = _now()
        with self.lock:
            for key in ("definition", "roleArn"):
                if key in params:
                    machine[key] = params[key]
            machine["updateDate"] = now
        return {"updateDate": now}

    @operation(SERVICE, "DescribeStateMachine")
    def describe_state_machine(self, params: dict[str, Any]) -> dict[str, Any]:
        """The state machine as created."""
        return self._machine(params["stateMachineArn"])

    @operation(SERVICE, "ListStateMachines")
    def list_state_machines(self, params: dict[str, Any]) -> dict[str, Any]:
        """Every state machine."""
        return {"stateMachines": list(self.machines.values())}

    @operation(SERVICE, "DeleteStateMachine")
    def delete_state_machine(self, params: dict[str, Any]) -> dict[str, Any]:
        """Forgets the state machine."""
        with self.lock:
            self.machines.pop(params["stateMachineArn"], None)
        return {}

    # -- executions ----------------------------------------------------------------------------
    @operation(SERVICE, "StartExecution")
    def start_execution(self, params: dict[str, Any]) -> dict[str, Any]:
        """Runs the execution with smkit's local ASL executor; Lambda tasks call the
        emulator's functions, invokeEndpoint tasks its endpoints."""
        from smkit.backends.local.asl import Executor
        from smkit.backends.local.workflows import local_invoke_endpoint
        from smkit.workflow import Workflow
        from smkit.workflow.lambda_spec import LambdaSpec

        machine = self._machine(params["stateMachineArn"])
        try:
            payload = json.loads(params.get("input") or "{}")
        except ValueError:
            raise EmulatorError("InvalidExecutionInput", "the input is not JSON") from None
        name = params.get("name") or str(uuid.uuid4())
        handlers = {}
        for fname, fn in list(self.lambdas.functions.items()):
            if fn.config.get("State") != "Active":
                continue
            cfg = fn.config
            handlers[fname] = LambdaSpec(
                handler=fn.handler,
                name=fname,
                timeout=max(1, min(900, int(cfg["Timeout"]))),
                memory=max(128, min(10240, int(cfg["MemorySize"]))),
                environment=dict(cfg["Environment"]["Variables"]),
            )
        executor = Executor(
            Workflow.from_asl(machine["definition"], name=machine["name"]),
            handlers=handlers,
            invoke_endpoint=local_invoke_endpoint(self.backend),
            name=name,
            region=self.region,
            account=ACCOUNT,
            role_arn=machine["roleArn"],
            store=self.backend.store,
        )
        with self.lock:
            if executor.arn in self.executions:
                raise EmulatorError(
                    "ExecutionAlreadyExists", f"Execution Already Exists: '{executor.arn}'"
                )
            ex = _Execution(executor, machine, payload)
            self.executions[executor.arn] = ex
        threading.Thread(target=self._run, args=(ex,), daemon=True, name=f"sfn-{name}").start()
        return {"executionArn": executor.arn, "startDate": ex.start}

    def _run(self, ex: _Execution) -> None:
        try:
            ex.result = ex.executor.run(ex.input)
        except Exception as exc:
            ex.failure = f"{type(exc).__name__}: {exc}"
        finally:
            ex.done.set()

    @operation(SERVICE, "DescribeExecution")
    def describe_execution(self, params: dict[str, Any]) -> dict[str, Any]:
        """RUNNING, then SUCCEEDED / FAILED / TIMED_OUT with output or error and cause."""
        ex = self._execution(params["executionArn"])
        base = {
            "executionArn": ex.executor.arn,
            "stateMachineArn": ex.executor.state_machine_arn,
            "name": ex.executor.name,
            "status": "RUNNING",
            "startDate": ex.start,
            "input": json.dumps(ex.input),
        }
        if ex.done.is_set():
            if ex.result is not None:
                base.update(ex.result.describe())
                base["startDate"] = ex.start
            else:
                base.update(status="FAILED", error="States.Runtime", cause=ex.failure,
                            stopDate=_now())
        return base

    @operation(SERVICE, "ListExecutions")
    def list_executions(self, params: dict[str, Any]) -> dict[str, Any]:
        """Executions of a state machine (statusFilter)."""
        out = []
        for arn, ex in list(self.executions.items()):
            if ex.machine["stateMachineArn"] != params.get("stateMachineArn"):
                continue
            view = self.describe_execution({"executionArn": arn})
            if params.get("statusFilter") and view["status"] != params["statusFilter"]:
                continue
            out.append(view)
        return {"executions": out}

    @operation(SERVICE, "GetExecutionHistory")
    def get_execution_history(self, params: dict[str, Any]) -> dict[str, Any]:
        """The executor's history events, as GetExecutionHistory's (reverseOrder)."""
        ex = self._execution(params["executionArn"])
        with ex.executor._lock:
            events = [dict(e) for e in ex.executor.events]
        if params.get("reverseOrder"):
            events.reverse()
        return {"events": events}
