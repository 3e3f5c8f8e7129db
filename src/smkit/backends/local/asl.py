"""The local Amazon States Language executor: runs a workflow in this process.

It follows the ASL specification: JSONPath processing (InputPath → Parameters → task →
ResultSelector → ResultPath → OutputPath) and JSONata processing (Arguments, Output,
Assign, ``$states``), Choice rules, Wait, Parallel and Map (threads), Retry (attempt counts
per retrier, ``IntervalSeconds * BackoffRate ** n`` capped by ``MaxDelaySeconds``,
``JitterStrategy``) and Catch, the predefined error names, and timeouts: a task past its
``TimeoutSeconds`` (or its Lambda function's timeout) fails with ``States.Timeout``; the
execution past the workflow's ``TimeoutSeconds`` (or the run's limit) ends ``TIMED_OUT``.

Lambda tasks are mapped to Python handlers by function name, whether the state names the
function ARN as ``Resource`` (the result is the handler's return value) or uses
``arn:aws:states:::lambda:invoke`` with ``Parameters.FunctionName`` (the result is
``{"Payload": ..., "StatusCode": 200, ...}``). ``aws-sdk:sagemakerruntime:invokeEndpoint``
calls an endpoint through an injected function.

Time is injectable (``clock`` returns epoch seconds, ``sleep`` waits): Retry backoff and Wait
states use them, so tests run instantly and can assert exact waits. History events have the
shape of ``GetExecutionHistory``'s.
"""

from __future__ import annotations

import json
import random
import re
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import attrs

from smkit.backends.local import lambda_runtime
from smkit.workflow import query
from smkit.workflow.execution import Execution
from smkit.workflow.lambda_spec import LambdaSpec, resolve_handler
from smkit.workflow.machine import Graph, Workflow
from smkit.workflow.query import MISSING, StatesError
from smkit.workflow.states import (
    NULL,
    Catch,
    Choice,
    Map,
    Parallel,
    State,
    _Errors,
    json_value,
)

__all__ = ["Executor", "function_name_of", "match_error"]

#: Longest Wait Step Functions accepts (``Seconds`` up to 99,999,999).
MAX_WAIT_SECONDS = 99_999_999

LAMBDA_INVOKE = "arn:aws:states:::lambda:invoke"
SAGEMAKER_INVOKE = "arn:aws:states:::aws-sdk:sagemakerruntime:invokeEndpoint"
_LAMBDA_ARN = re.compile(
    r"^(?:arn:aws[\w-]*:lambda:[\w-]+:\d{12}:function:|\d{12}:function:)?"
    r"(?P<name>[A-Za-z0-9_-]{1,64})(?::(?P<qualifier>[\w$-]+))?$"
)


def function_name_of(value: str) -> str:
    """The function name in a name, a full ARN or a partial ARN (qualifier dropped)."""
    m = _LAMBDA_ARN.match(value or "")
    if not m:
        raise StatesError("States.Runtime", f"{value!r} is not a Lambda function name or ARN")
    return m.group("name")


#: AWS service limits the executor enforces (Step Functions service quotas page).
PAYLOAD_LIMIT = 256 * 1024
HISTORY_LIMIT = 25_000
#: The longest wait a Wait state accepts (``Seconds``: "from 0 up to 99999999").
MAX_WAIT_SECONDS = 99_999_999
_TERMINAL = ("States.Runtime", "States.DataLimitExceeded")


def match_error(error: str | None, names: tuple[str, ...]) -> bool:
    """Whether ``error`` is matched by ``ErrorEquals`` ``names`` (ASL wildcard rules).

    ``States.Runtime`` is never retried or caught, and ``States.ALL`` (like
    ``States.TaskFailed``) does not match the terminal ``States.DataLimitExceeded``
    (developer guide, "Error names")."""
    if error == "States.Runtime":
        return False
    if error in names:
        return True
    if error in _TERMINAL:
        return False
    if "States.ALL" in names:
        return True
    return "States.TaskFailed" in names and error != "States.Timeout"


_last_iso: tuple[int, str] = (-1, "")


def _iso(ts: float) -> str:
    global _last_iso
    ms = int(ts * 1000)
    last = _last_iso
    if last[0] == ms:  # many events share a millisecond: format it once
        return last[1]
    text = datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds")
    _last_iso = (ms, text)
    return text


_ENCODER = json.JSONEncoder(separators=(",", ":"))


def _dumps(value: Any) -> str:
    return _ENCODER.encode(value)


class _ExecutionTimeout(Exception):  # noqa: N818 - internal control flow
    pass


class _HistoryLimit(Exception):  # noqa: N818 - internal control flow
    """The history reached its event limit: the execution fails (``States.Runtime``)."""


_STOP = (StatesError, _ExecutionTimeout, _HistoryLimit)


class _Scope:
    """What a graph runs with: variables, map item, query language."""

    def __init__(
        self, variables: dict[str, Any], ql: str, map_item: dict[str, Any] | None = None
    ) -> None:
        self.variables = variables
        self.ql = ql
        self.map_item = map_item

    def child(self, ql: str, map_item: dict[str, Any] | None = None) -> _Scope:
        # values are never changed in place: a shallow copy keeps the outer scope's
        # variables out of reach of the inner assignments, at O(#variables)
        return _Scope(dict(self.variables), ql, map_item)


class Executor:
    """Runs one workflow execution.

    Args:
        workflow: The workflow to run (validated).
        handlers: Function name → handler (a callable, ``"module:function"`` or a
            `LambdaSpec`). LambdaSpecs attached to tasks are used when
            a name is not given here.
        invoke_endpoint: ``(endpoint, body, content_type, accept) -> (body, content_type)`` for
            ``sagemakerruntime:invokeEndpoint`` tasks.
        clock: Epoch seconds now (default ``time.time``).
        sleep: Waits seconds (default ``time.sleep``); Wait states and Retry use it.
        rng: Random source for ``JitterStrategy: FULL``.
        timeout: Execution time limit in seconds (the workflow's ``TimeoutSeconds`` wins if
            smaller).
        handler_timeout: Timeout for plain-callable handlers (LambdaSpecs carry their own).
        region: Region used in ARNs.
        account: Account used in ARNs.
        name: Execution name (default: a UUID).
        role_arn: Role recorded in the context object.
        payload_limit: Largest state input/output in bytes (AWS: 256 KiB); past it the
            execution fails with ``States.DataLimitExceeded``. ``None`` lifts it.
        history_limit: Most history events (AWS: 25,000); the execution fails with
            ``States.Runtime`` at it. ``None`` lifts it.
        store: The object store Distributed Map ``ItemReader``/``ResultWriter`` use
            (``s3://`` URIs; the local backend's store).
    """

    def __init__(
        self,
        workflow: Workflow,
        *,
        handlers: dict[str, Any] | None = None,
        invoke_endpoint: Callable[[str, Any, str, str | None], tuple[Any, str]] | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
        timeout: float | None = 900.0,
        handler_timeout: float = 60.0,
        region: str = "us-east-1",
        account: str = "123456789012",
        name: str | None = None,
        role_arn: str | None = None,
        payload_limit: int | None = PAYLOAD_LIMIT,
        history_limit: int | None = HISTORY_LIMIT,
        store: Any = None,
    ) -> None:
        self.workflow = workflow
        self.handlers: dict[str, Any] = dict(workflow.lambda_specs())
        for key, value in (handlers or {}).items():
            fname = function_name_of(key) if ":" in key else key
            spec = self.handlers.get(fname)
            if isinstance(spec, LambdaSpec) and not isinstance(value, LambdaSpec):
                # keep the function's settings (timeout, memory, environment), swap the code
                value = attrs.evolve(spec, handler=value)
            self.handlers[fname] = value
        self.invoke_endpoint = invoke_endpoint
        self.clock = clock
        self.sleep = sleep
        self.rng = rng or random.Random()
        if timeout is not None and (
            isinstance(timeout, bool) or not isinstance(timeout, int | float) or not timeout > 0
            or timeout == float("inf")
        ):  # fmt: skip
            from smkit.errors import ConfigError

            raise ConfigError(f"execution timeout {timeout!r}: use a positive number of seconds")
        limits = [t for t in (timeout, workflow.timeout_seconds) if t is not None]
        self.timeout = min(limits) if limits else None
        self.handler_timeout = handler_timeout
        self.region = region
        self.account = account
        self.name = name or str(uuid.uuid4())
        self.state_machine_arn = f"arn:aws:states:{region}:{account}:stateMachine:{workflow.name}"
        self.arn = f"arn:aws:states:{region}:{account}:execution:{workflow.name}:{self.name}"
        self.role_arn = role_arn or f"arn:aws:iam::{account}:role/StepFunctionsRole"
        self.events: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._deadline: float | None = None
        self._context_base: dict[str, Any] = {}
        self.payload_limit = payload_limit
        self.history_limit = history_limit
        self.store = store
        # the history events go to: the execution's, or a Distributed Map child's (per thread)
        self._local = threading.local()

    # -- history ------------------------------------------------------------------------------
    def _event(
        self, type_: str, details_key: str | None = None, *, final: bool = False, **details: Any
    ) -> int:
        events = getattr(self._local, "events", None)
        if events is None:
            events = self.events
        with self._lock:
            event_id = len(events) + 1
            if not final and self.history_limit is not None and event_id >= self.history_limit:
                # AWS: event #limit is the ExecutionFailed event itself
                raise _HistoryLimit()
            event: dict[str, Any] = {
                "timestamp": _iso(self.clock()),
                "type": type_,
                "id": event_id,
                "previousEventId": event_id - 1,
            }
            if details_key:
                event[details_key] = details
            events.append(event)
            return event_id

    # -- time ---------------------------------------------------------------------------------
    def _check_deadline(self) -> None:
        if self._deadline is not None and self.clock() >= self._deadline:
            raise _ExecutionTimeout()

    def _sleep_for(self, seconds: float) -> None:
        if seconds <= 0:
            return
        if self._deadline is not None:
            remaining = self._deadline - self.clock()
            if seconds >= remaining:
                self.sleep(max(0.0, remaining))
                raise _ExecutionTimeout()
        self.sleep(seconds)

    # -- run ----------------------------------------------------------------------------------
    def run(self, execution_input: Any) -> Execution:
        """Run the execution to its end and return it."""
        start = self.clock()
        if self.timeout is not None:
            self._deadline = start + self.timeout
        self._context_base = {
            "Execution": {
                "Id": self.arn,
                "Input": execution_input,
                "Name": self.name,
                "RoleArn": self.role_arn,
                "StartTime": _iso(start),
                "RedriveCount": 0,
            },
            "StateMachine": {"Id": self.state_machine_arn, "Name": self.workflow.name},
        }
        self._event(
            "ExecutionStarted",
            "executionStartedEventDetails",
            input=_dumps(execution_input),
            inputDetails={"truncated": False},
            roleArn=self.role_arn,
        )
        execution = Execution(
            arn=self.arn,
            name=self.name,
            state_machine_arn=self.state_machine_arn,
            status="RUNNING",
            input=execution_input,
            start_date=_iso(start),
            workflow=self.workflow,
        )
        scope = _Scope({}, self.workflow.query_language or "JSONPath")
        try:
            output = self._run_graph(self.workflow.definition, execution_input, scope)
        except _ExecutionTimeout:
            # AWS reports an execution timeout as States.Timeout with an empty cause
            execution.status = "TIMED_OUT"
            execution.error = "States.Timeout"
            execution.cause = ""
            self._event(
                "ExecutionTimedOut",
                "executionTimedOutEventDetails",
                final=True,
                error=execution.error,
                cause=execution.cause,
            )
        except _HistoryLimit:
            self._fail_execution(
                execution,
                StatesError(
                    "States.Runtime",
                    f"The execution reached the maximum number of history events "
                    f"({self.history_limit}).",
                ),
            )
        except StatesError as exc:
            self._fail_execution(execution, exc)
        else:
            try:
                self._check_size(output, "execution output")
            except StatesError as exc:
                self._fail_execution(execution, exc)
            else:
                execution.status = "SUCCEEDED"
                execution.output = output
                self._event(
                    "ExecutionSucceeded",
                    "executionSucceededEventDetails",
                    final=True,
                    output=_dumps(output),
                    outputDetails={"truncated": False},
                )
        execution.stop_date = _iso(self.clock())
        execution.events = list(self.events)
        return execution

    def _fail_execution(self, execution: Execution, exc: StatesError) -> None:
        execution.status = "FAILED"
        execution.error = exc.error
        execution.cause = exc.cause
        details = {k: v for k, v in (("error", exc.error), ("cause", exc.cause)) if v is not None}
        self._event("ExecutionFailed", "executionFailedEventDetails", final=True, **details)

    def _run_graph(self, graph: Graph, data: Any, scope: _Scope) -> Any:
        ql = graph.query_language or scope.ql
        name = graph.start_at
        while True:
            self._check_deadline()
            state = graph.states[name]
            data, nxt = self._run_state(state, data, scope, state.query_language or ql)
            if nxt is None:
                return data
            name = nxt

    # -- helpers --------------------------------------------------------------------------------
    def _context(self, state: State, entered: float, retry_count: int, scope: _Scope) -> Any:
        # shared, never changed in place: building it is O(1), not O(execution input)
        ctx = dict(self._context_base)
        info: dict[str, Any] = {"EnteredTime": _iso(entered), "Name": state.name}
        if isinstance(state, _Errors):
            # only states that can retry carry RetryCount (context object reference)
            info["RetryCount"] = retry_count
        ctx["State"] = info
        if scope.map_item is not None:
            ctx["Map"] = {"Item": scope.map_item}
        return ctx

    def _check_size(self, value: Any, what: str, text: str | None = None) -> None:
        """``States.DataLimitExceeded`` when ``value`` is over the payload limit (UTF-8)."""
        if self.payload_limit is None:
            return
        if text is None:
            text = _dumps(value)
        if len(text) <= self.payload_limit // 6:
            return  # even all-escaped it fits
        size = len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())
        if size > self.payload_limit:
            raise StatesError(
                "States.DataLimitExceeded",
                f"The state/task '{what}' returned a result with a size exceeding the "
                f"maximum number of bytes service limit ({size} > {self.payload_limit}).",
            )

    @staticmethod
    def _path(value: str | None, default: str | None = "$") -> str | None:
        if value is None:
            return default
        return None if value == NULL else value

    def _bindings(self, scope: _Scope, ctx: Any, **states: Any) -> dict[str, Any]:
        return {**scope.variables, "states": {"context": ctx, **states}}

    def _assign(
        self, assign: Any, scope: _Scope, ql: str, ctx: Any, document: Any, **states: Any
    ) -> dict[str, Any]:
        if not assign:
            return {}
        if ql == "JSONata":
            return query.render_jsonata(assign, self._bindings(scope, ctx, **states))
        return query.process_template(
            assign, document, context=ctx, variables=scope.variables, field="Assign"
        )

    # -- states -------------------------------------------------------------------------------
    def _run_state(self, state: State, raw: Any, scope: _Scope, ql: str) -> tuple[Any, str | None]:
        entered = self.clock()
        text = _dumps(raw)
        self._event(
            f"{state.TYPE}StateEntered",
            "stateEnteredEventDetails",
            name=state.name,
            input=text,
            inputDetails={"truncated": False},
        )
        self._check_size(raw, state.name, text)
        if isinstance(state, _Errors):
            output, nxt = self._with_errors(state, raw, scope, ql, entered)
        else:
            ctx = self._context(state, entered, 0, scope)
            output, nxt, assigned = getattr(self, f"_{state.TYPE.lower()}")(
                state, raw, scope, ql, ctx
            )
            scope.variables.update(assigned)
        text = _dumps(output)
        self._check_size(output, state.name, text)
        self._event(
            f"{state.TYPE}StateExited",
            "stateExitedEventDetails",
            name=state.name,
            output=text,
            outputDetails={"truncated": False},
        )
        return output, nxt

    def _next(self, state: Any) -> str | None:
        return None if getattr(state, "end", False) else state.next_name

    def _finish_jsonpath(
        self, state: Any, raw: Any, result: Any, scope: _Scope, ctx: Any
    ) -> tuple[Any, dict[str, Any]]:
        if getattr(state, "result_selector", None) is not None:
            result = query.process_template(
                state.result_selector,
                result,
                context=ctx,
                variables=scope.variables,
                field="ResultSelector",
            )
        assigned = self._assign(state.assign, scope, "JSONPath", ctx, result)
        combined = query.apply_result_path(self._path(state.result_path), raw, result)
        output = query.select(
            self._path(state.output_path),
            combined,
            field="OutputPath",
            context=ctx,
            variables=scope.variables,
        )
        return output, assigned

    def _finish_jsonata(
        self, state: Any, raw: Any, result: Any, scope: _Scope, ctx: Any
    ) -> tuple[Any, dict[str, Any]]:
        bindings = self._bindings(scope, ctx, input=raw, result=result)
        assigned = (
            query.render_jsonata(state.assign, bindings, "Assign")
            if state.assign is not None
            else {}
        )
        output = (
            json_value(query.render_jsonata(state.output, bindings, "Output"))
            if state.output is not None
            else result
        )
        return output, assigned

    def _effective_input(self, state: Any, raw: Any, scope: _Scope, ctx: Any, ql: str) -> Any:
        """JSONPath: InputPath then Parameters; JSONata: Arguments (default: the input)."""
        if ql == "JSONata":
            arguments = getattr(state, "arguments", None)
            if arguments is None:
                return raw
            effective = query.render_jsonata(
                arguments, self._bindings(scope, ctx, input=raw), "Arguments"
            )
            self._check_size(effective, state.name)
            return effective
        effective = query.select(
            self._path(state.input_path),
            raw,
            field="InputPath",
            context=ctx,
            variables=scope.variables,
        )
        parameters = getattr(state, "parameters", None)
        if parameters is not None:
            effective = query.process_template(
                parameters, effective, context=ctx, variables=scope.variables
            )
            self._check_size(effective, state.name)
        return effective

    def _pass(self, state: Any, raw: Any, scope: _Scope, ql: str, ctx: Any) -> Any:
        if ql == "JSONata":
            output, assigned = self._finish_jsonata(state, raw, raw, scope, ctx)
            return output, self._next(state), assigned
        effective = self._effective_input(state, raw, scope, ctx, ql)
        result = json_value(state.result) if state.result is not None else effective
        output, assigned = self._finish_jsonpath(state, raw, result, scope, ctx)
        return output, self._next(state), assigned

    def _succeed(self, state: Any, raw: Any, scope: _Scope, ql: str, ctx: Any) -> Any:
        return self._passthrough(state, raw, scope, ql, ctx, None)

    def _passthrough(
        self, state: Any, raw: Any, scope: _Scope, ql: str, ctx: Any, nxt: str | None
    ) -> Any:
        if ql == "JSONata":
            output, assigned = self._finish_jsonata(state, raw, raw, scope, ctx)
            return output, nxt, assigned
        effective = query.select(
            self._path(state.input_path),
            raw,
            field="InputPath",
            context=ctx,
            variables=scope.variables,
        )
        assigned = self._assign(state.assign, scope, ql, ctx, effective)
        output = query.select(
            self._path(state.output_path),
            effective,
            field="OutputPath",
            context=ctx,
            variables=scope.variables,
        )
        return output, nxt, assigned

    def _fail(self, state: Any, raw: Any, scope: _Scope, ql: str, ctx: Any) -> Any:
        """Fail: ``Error``/``Cause`` (or their paths); absent ones stay absent (no ``""``)."""

        def value(plain: Any, path: str | None, field: str) -> Any:
            if ql == "JSONata":
                if plain is None:
                    return None
                got = query.render_jsonata(plain, self._bindings(scope, ctx, input=raw), field)
            elif path is not None:
                if path.startswith("States."):
                    got = query.evaluate_intrinsic(
                        path, raw, context=ctx, variables=scope.variables
                    )
                else:
                    got = query.read_path(path, raw, context=ctx, variables=scope.variables)
                    if got is MISSING:
                        raise StatesError(
                            "States.Runtime",
                            f"An error occurred while executing the state '{state.name}'. "
                            f"The JSONPath '{path}' specified for the field '{field}Path' "
                            "could not be found in the input",
                        )
            else:
                return plain
            if not isinstance(got, str):
                raise StatesError(
                    "States.Runtime" if ql != "JSONata" else "States.QueryEvaluationError",
                    f"The value of {field} in state '{state.name}' must be a string, "
                    f"got {_dumps(got)}",
                )
            return got

        error = value(state.error, state.error_path, "Error")
        cause = value(state.cause, state.cause_path, "Cause")
        raise StatesError(error, cause)

    def _wait(self, state: Any, raw: Any, scope: _Scope, ql: str, ctx: Any) -> Any:
        bindings = self._bindings(scope, ctx, input=raw)
        effective = raw
        if ql != "JSONata":
            effective = query.select(
                self._path(state.input_path),
                raw,
                field="InputPath",
                context=ctx,
                variables=scope.variables,
            )
        # a value computed by JSONata that does not fit is a States.QueryEvaluationError, one
        # read with SecondsPath/TimestampPath a States.Runtime error
        error = "States.QueryEvaluationError" if ql == "JSONata" else "States.Runtime"
        seconds: Any = None
        timestamp: Any = MISSING
        field = "Seconds"
        if state.seconds is not None:
            seconds = query.render_jsonata(state.seconds, bindings, "Seconds")
        elif state.timestamp is not None:
            field = "Timestamp"
            timestamp = query.render_jsonata(state.timestamp, bindings, "Timestamp")
        elif state.seconds_path is not None:
            field = "SecondsPath"
            seconds = query.select(
                state.seconds_path,
                effective,
                field="SecondsPath",
                context=ctx,
                variables=scope.variables,
            )
        elif state.timestamp_path is not None:
            field = "TimestampPath"
            timestamp = query.select(
                state.timestamp_path,
                effective,
                field="TimestampPath",
                context=ctx,
                variables=scope.variables,
            )
        if timestamp is not MISSING:
            target = _parse_timestamp(timestamp)
            if target is None:
                raise StatesError(
                    error,
                    f"The {field} value {_dumps(timestamp)} of state '{state.name}' is not a "
                    "valid timestamp (RFC 3339, e.g. 2024-08-18T17:33:00Z)",
                )
            # AWS counts whole seconds and truncates the milliseconds of a timestamp
            seconds = max(0.0, float(int(target)) - self.clock())
            if seconds > MAX_WAIT_SECONDS:
                raise StatesError(
                    error,
                    f"The {field} of state '{state.name}' is more than {MAX_WAIT_SECONDS} "
                    "seconds away",
                )
        elif (
            isinstance(seconds, bool)
            or not isinstance(seconds, int | float)
            or (isinstance(seconds, float) and not seconds.is_integer())
            or not 0 <= seconds <= MAX_WAIT_SECONDS
        ):
            raise StatesError(
                error,
                f"The {field} value {_dumps(seconds)} of state '{state.name}' must be an "
                f"integer from 0 to {MAX_WAIT_SECONDS}",
            )
        try:
            seconds = float(seconds)
        except OverflowError:  # an int too large for a float
            seconds = float("inf")
        if seconds != seconds or seconds > MAX_WAIT_SECONDS:  # NaN, 1e308, inf
            raise StatesError(
                "States.Runtime",
                f"{state.name}: the wait of {seconds!r} s is not a number of seconds up to "
                f"{MAX_WAIT_SECONDS} (Step Functions' limit)",
            )
        self._sleep_for(seconds)
        return self._passthrough(state, raw, scope, ql, ctx, self._next(state))

    def _choice(self, state: Choice, raw: Any, scope: _Scope, ql: str, ctx: Any) -> Any:
        matched: dict[str, Any] = {}
        if ql == "JSONata":
            bindings = self._bindings(scope, ctx, input=raw)
            target = None
            for when in state.choices:
                got = query.evaluate_jsonata(
                    when.condition.rule["Condition"], bindings, field="Condition"
                )
                if not isinstance(got, bool):
                    raise StatesError(
                        "States.QueryEvaluationError",
                        f"{state.name}: Condition {when.condition.rule['Condition']!r} gave "
                        f"{got!r}, not a boolean",
                    )
                if got:
                    target = when.next_name
                    matched = when.condition.rule
                    break
        else:
            effective = query.select(
                self._path(state.input_path),
                raw,
                field="InputPath",
                context=ctx,
                variables=scope.variables,
            )
            target = None
            for when in state.choices:
                if _eval_rule(when.condition.rule, effective, ctx, scope.variables):
                    target = when.next_name
                    matched = when.condition.rule
                    break
        if target is None:
            target = state.default_name
        if target is None:
            raise StatesError(
                "States.NoChoiceMatched",
                f"No Matches! The Choice state {state.name!r} matched no rule and has no Default",
            )
        # the matching rule's own Assign/Output (developer guide, "Choice Rules"): its Assign
        # adds to the state-level one, its Output replaces the state-level one
        rule_output = matched.get("Output")
        if rule_output is not None or matched.get("Assign") is not None:
            state = attrs.evolve(
                state,
                output=rule_output if rule_output is not None else state.output,
                assign={**(state.assign or {}), **(matched.get("Assign") or {})},
            )
        output, _, assigned = self._passthrough(state, raw, scope, ql, ctx, target)
        return output, target, assigned

    # -- states with Retry / Catch --------------------------------------------------------------
    def _with_errors(
        self, state: Any, raw: Any, scope: _Scope, ql: str, entered: float
    ) -> tuple[Any, str | None]:
        counts = [0] * len(state.retry)
        retries = 0
        while True:
            ctx = self._context(state, entered, retries, scope)
            try:
                work = {"Task": self._task, "Parallel": self._parallel, "Map": self._map}
                output, assigned = work[state.TYPE](state, raw, scope, ql, ctx)
                scope.variables.update(assigned)
                return output, self._next(state)
            except StatesError as exc:
                retried = False
                for i, retrier in enumerate(state.retry):
                    if match_error(exc.error, retrier.error_equals):
                        if counts[i] < retrier.attempts:
                            counts[i] += 1
                            retries += 1
                            self._sleep_for(retrier.delay(counts[i], self.rng.random()))
                            retried = True
                        break
                if retried:
                    continue
                for catcher in state.catch:
                    if match_error(exc.error, catcher.error_equals):
                        return self._caught(state, catcher, exc, raw, scope, ql, ctx)
                raise

    def _caught(
        self,
        state: Any,
        catcher: Catch,
        exc: StatesError,
        raw: Any,
        scope: _Scope,
        ql: str,
        ctx: Any,
    ) -> tuple[Any, str]:
        error_output = {"Error": exc.error, "Cause": exc.cause}
        if ql == "JSONata":
            bindings = self._bindings(scope, ctx, input=raw, errorOutput=error_output)
            assigned = query.render_jsonata(catcher.assign, bindings) if catcher.assign else {}
            output = (
                query.render_jsonata(catcher.output, bindings)
                if catcher.output is not None
                else error_output
            )
        else:
            assigned = self._assign(catcher.assign, scope, ql, ctx, error_output)
            output = query.apply_result_path(self._path(catcher.result_path), raw, error_output)
        scope.variables.update(assigned)
        return output, catcher.next_name

    def _task_timeout(self, state: Any, raw: Any, scope: _Scope, ctx: Any, ql: str) -> float | None:
        value: Any = state.timeout_seconds
        if ql == "JSONata" and value is not None:
            value = query.render_jsonata(value, self._bindings(scope, ctx, input=raw))
        elif state.timeout_seconds_path is not None:
            value = query.read_path(
                state.timeout_seconds_path, raw, context=ctx, variables=scope.variables
            )
        if value is None:
            return None
        if value is MISSING:
            raise StatesError(
                "States.Runtime",
                f"The JSONPath '{state.timeout_seconds_path}' specified for the field "
                f"'TimeoutSecondsPath' in state '{state.name}' could not be found in the input",
            )
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise StatesError(
                "States.QueryEvaluationError" if ql == "JSONata" else "States.Runtime",
                f"{state.name}: TimeoutSeconds {value!r} is invalid",
            )
        return float(value)

    def _task(self, state: Any, raw: Any, scope: _Scope, ql: str, ctx: Any) -> Any:
        effective = self._effective_input(state, raw, scope, ctx, ql)
        timeout = self._task_timeout(state, raw, scope, ctx, ql)
        resource = state.resource
        if resource.startswith(LAMBDA_INVOKE):
            if resource != LAMBDA_INVOKE:
                raise StatesError(
                    "States.Runtime", f"{state.name}: {resource!r} is not supported locally"
                )
            if not isinstance(effective, dict) or "FunctionName" not in effective:
                raise StatesError(
                    "States.Runtime",
                    f"{state.name}: lambda:invoke needs Parameters.FunctionName",
                )
            fname = function_name_of(str(effective["FunctionName"]))
            payload = effective.get("Payload")
            if payload is None:
                payload = {}  # no (or a null) Payload: the function gets an empty object
            if isinstance(payload, str):
                try:
                    payload = json.loads(payload)
                except json.JSONDecodeError:
                    pass
            self._event(
                "TaskScheduled",
                "taskScheduledEventDetails",
                resourceType="lambda",
                resource="invoke",
                region=self.region,
                parameters=_dumps(effective),
                **({"timeoutInSeconds": int(timeout)} if timeout else {}),
            )
            self._event(
                "TaskStarted", "taskStartedEventDetails", resourceType="lambda", resource="invoke"
            )
            try:
                value = self._call_lambda(fname, payload, timeout)
            except StatesError as exc:
                kind = "TaskTimedOut" if exc.error == "States.Timeout" else "TaskFailed"
                self._event(
                    f"{kind}",
                    f"{kind[0].lower()}{kind[1:]}EventDetails",
                    resourceType="lambda",
                    resource="invoke",
                    error=exc.error,
                    cause=exc.cause,
                )
                raise
            result = {
                "ExecutedVersion": "$LATEST",
                "Payload": value,
                "SdkHttpMetadata": {
                    "HttpHeaders": {"Content-Type": "application/json"},
                    "HttpStatusCode": 200,
                },
                "SdkResponseMetadata": {"RequestId": str(uuid.uuid4())},
                "StatusCode": 200,
            }
            self._event(
                "TaskSucceeded",
                "taskSucceededEventDetails",
                resourceType="lambda",
                resource="invoke",
                output=_dumps(result),
            )
        elif resource == SAGEMAKER_INVOKE:
            result = self._call_endpoint(state, effective)
        elif resource.startswith("arn:aws:lambda:") or resource.startswith("arn:aws-"):
            fname = function_name_of(resource)
            self._event(
                "LambdaFunctionScheduled",
                "lambdaFunctionScheduledEventDetails",
                resource=resource,
                input=_dumps(effective),
                **({"timeoutInSeconds": int(timeout)} if timeout else {}),
            )
            self._event("LambdaFunctionStarted")
            try:
                result = self._call_lambda(fname, effective, timeout)
            except StatesError as exc:
                kind = "TimedOut" if exc.error == "States.Timeout" else "Failed"
                self._event(
                    f"LambdaFunction{kind}",
                    f"lambdaFunction{kind}EventDetails",
                    error=exc.error,
                    cause=exc.cause,
                )
                raise
            self._event(
                "LambdaFunctionSucceeded",
                "lambdaFunctionSucceededEventDetails",
                output=_dumps(result),
            )
        else:
            raise StatesError(
                "States.Runtime",
                f"{state.name}: resource {resource!r} is not supported by the local executor "
                "(supported: Lambda ARNs, arn:aws:states:::lambda:invoke, "
                f"{SAGEMAKER_INVOKE})",
            )
        if ql == "JSONata":
            return self._finish_jsonata(state, raw, result, scope, ctx)
        return self._finish_jsonpath(state, raw, result, scope, ctx)

    def _call_lambda(self, fname: str, payload: Any, timeout: float | None) -> Any:
        handler = self.handlers.get(fname)
        if handler is None:
            raise StatesError(
                "Lambda.ResourceNotFoundException",
                f"Function not found: {fname!r}. Known handlers: "
                f"{', '.join(sorted(self.handlers)) or 'none'} (pass handlers={{{fname!r}: fn}} "
                f"or --handler {fname}=module:function)",
            )
        spec = handler if isinstance(handler, LambdaSpec) else None
        fn = spec.function() if spec else resolve_handler(handler)
        limit = float(spec.timeout) if spec else self.handler_timeout
        if timeout is not None:
            limit = min(limit, timeout)
        if self._deadline is not None:
            limit = max(0.001, min(limit, self._deadline - self.clock()))
        try:
            return lambda_runtime.invoke(
                fn,
                payload,
                function_name=fname,
                timeout=limit,
                memory=spec.memory if spec else 128,
                environment=dict(spec.environment) if spec else None,
                region=self.region,
                account=self.account,
            )
        except lambda_runtime.LambdaTimeout:
            # a task past its timeout: States.Timeout with an empty cause, as AWS reports it
            raise StatesError("States.Timeout", "") from None
        except lambda_runtime.LambdaFunctionError as exc:
            raise StatesError(exc.error_type, _dumps(exc.payload)) from None

    def _call_endpoint(self, state: Any, params: Any) -> Any:
        if not isinstance(params, dict) or "EndpointName" not in params or "Body" not in params:
            raise StatesError(
                "States.Runtime", f"{state.name}: invokeEndpoint needs EndpointName and Body"
            )
        self._event(
            "TaskScheduled",
            "taskScheduledEventDetails",
            resourceType="aws-sdk:sagemakerruntime",
            resource="invokeEndpoint",
            region=self.region,
            parameters=_dumps(params),
        )
        self._event(
            "TaskStarted",
            "taskStartedEventDetails",
            resourceType="aws-sdk:sagemakerruntime",
            resource="invokeEndpoint",
        )
        if self.invoke_endpoint is None:
            raise StatesError(
                "SageMakerRuntime.ValidationErrorException",
                "no endpoint invoker configured for the local executor",
            )
        body = params["Body"]
        content_type = params.get("ContentType", "application/json")
        if not isinstance(body, str):
            body = _dumps(body)
        try:
            out_body, out_type = self.invoke_endpoint(
                str(params["EndpointName"]), body, content_type, params.get("Accept")
            )
        except Exception as exc:
            error = "SageMakerRuntime.ModelErrorException"
            if type(exc).__name__ == "ResourceNotFoundError":
                error = "SageMakerRuntime.ValidationErrorException"
            self._event(
                "TaskFailed",
                "taskFailedEventDetails",
                resourceType="aws-sdk:sagemakerruntime",
                resource="invokeEndpoint",
                error=error,
                cause=str(exc),
            )
            raise StatesError(error, str(exc)) from None
        if isinstance(out_body, bytes):
            out_body = out_body.decode("utf-8")
        result = {
            "Body": out_body,
            "ContentType": out_type,
            "InvokedProductionVariant": "AllTraffic",
        }
        self._event(
            "TaskSucceeded",
            "taskSucceededEventDetails",
            resourceType="aws-sdk:sagemakerruntime",
            resource="invokeEndpoint",
            output=_dumps(result),
        )
        return result

    def _parallel(self, state: Parallel, raw: Any, scope: _Scope, ql: str, ctx: Any) -> Any:
        effective = self._effective_input(state, raw, scope, ctx, ql)
        self._event("ParallelStateStarted")
        branches = list(state.branches)

        def run(branch: Graph) -> Any:
            return self._run_graph(branch, effective, scope.child(ql))

        try:
            results = self._pool(run, branches, len(branches))
        except _STOP:
            self._event("ParallelStateFailed")
            raise
        self._event("ParallelStateSucceeded")
        if ql == "JSONata":
            return self._finish_jsonata(state, raw, results, scope, ctx)
        return self._finish_jsonpath(state, raw, results, scope, ctx)

    def _pool(self, fn: Callable[[Any], Any], items: list[Any], limit: int) -> list[Any]:
        if not items:
            return []
        workers = max(1, min(limit or len(items), len(items), 16))
        if workers == 1:
            return [fn(item) for item in items]
        sink = getattr(self._local, "events", None)
        inner = fn

        def fn(item: Any) -> Any:
            self._local.events = sink  # the workers write to the caller's history
            try:
                return inner(item)
            finally:
                self._local.events = None

        results: list[Any] = [None] * len(items)
        errors: list[BaseException] = []
        position = iter(range(len(items)))
        take = threading.Lock()

        def worker() -> None:
            # each worker pulls the next index itself: no future per item, memory bounded,
            # and the first failure stops the others from starting new items
            while not errors:
                with take:
                    index = next(position, None)
                if index is None:
                    return
                try:
                    results[index] = fn(items[index])
                except _STOP as exc:
                    errors.append(exc)
                    return

        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="asl") as pool:
            running = [pool.submit(worker) for _ in range(workers)]
            for future in running:
                future.result()
        if errors:
            raise errors[0]
        return results

    def _map(self, state: Map, raw: Any, scope: _Scope, ql: str, ctx: Any) -> Any:
        reader = state.extra.get("ItemReader")
        distributed = state.processor_mode == "DISTRIBUTED" or reader is not None
        if ql == "JSONata":
            bindings = self._bindings(scope, ctx, input=raw)
            items = (
                query.render_jsonata(state.items, bindings, "Items")
                if state.items is not None
                else raw
            )
            effective = raw
        else:
            effective = query.select(
                self._path(state.input_path),
                raw,
                field="InputPath",
                context=ctx,
                variables=scope.variables,
            )
            items = query.select(
                state.items_path or "$",
                effective,
                field="ItemsPath",
                context=ctx,
                variables=scope.variables,
            )
        if reader is not None:
            from smkit.backends.local import distributed_map

            items = distributed_map.read_items(
                reader, self._map_params(reader, raw, effective, scope, ql, ctx), self.store
            )
        if not isinstance(items, list):
            # JSONata's Items is an expression: a non-array is a query error (catchable);
            # a JSONPath ItemsPath that selects a non-array is States.Runtime
            raise StatesError(
                "States.QueryEvaluationError" if ql == "JSONata" else "States.Runtime",
                f"{state.name}: the Map items must be a JSON array, got {_dumps(items)[:200]}",
            )
        concurrency: Any = state.max_concurrency
        if ql == "JSONata" and isinstance(concurrency, str):
            concurrency = query.render_jsonata(
                concurrency, self._bindings(scope, ctx, input=raw), "MaxConcurrency"
            )
            field = "MaxConcurrency"
        elif state.max_concurrency_path is not None:
            concurrency = query.select(
                state.max_concurrency_path,
                effective,
                field="MaxConcurrencyPath",
                context=ctx,
                variables=scope.variables,
            )
            field = "MaxConcurrencyPath"
        else:
            field = "MaxConcurrency"
        if (concurrency is not None or field == "MaxConcurrencyPath") and (
            isinstance(concurrency, bool)
            or not isinstance(concurrency, int | float)
            or (isinstance(concurrency, float) and not concurrency.is_integer())
            or concurrency < 0
        ):
            raise StatesError(
                "States.QueryEvaluationError" if ql == "JSONata" else "States.Runtime",
                f"The {field} value {_dumps(concurrency)} of state '{state.name}' must be a "
                "non-negative integer",
            )
        selector = state.item_selector if state.item_selector is not None else state.parameters
        if distributed:
            return self._distributed_map(
                state, raw, scope, ql, ctx, effective, items, selector, int(concurrency or 0)
            )
        self._event("MapStateStarted", "mapStateStartedEventDetails", length=len(items))
        tolerated = state.tolerated_failure_percentage
        tolerated_count = state.tolerated_failure_count

        def run(index_item: tuple[int, Any]) -> Any:
            index, item = index_item
            map_item = {"Index": index, "Value": item}
            child = scope.child(ql, map_item)
            item_ctx = {**ctx, "Map": {"Item": map_item}}
            if selector is not None:
                if ql == "JSONata":
                    value = query.render_jsonata(
                        selector, self._bindings(scope, item_ctx, input=raw)
                    )
                else:
                    value = query.process_template(
                        selector,
                        effective,
                        context=item_ctx,
                        variables=scope.variables,
                        field="ItemSelector",
                    )
            else:
                value = item
            self._event(
                "MapIterationStarted",
                "mapIterationStartedEventDetails",
                name=state.name,
                index=index,
            )
            try:
                out = self._run_graph(state.iterator, value, child)
            except StatesError as exc:
                self._event(
                    "MapIterationFailed",
                    "mapIterationFailedEventDetails",
                    name=state.name,
                    index=index,
                )
                if tolerated is None and tolerated_count is None:
                    raise
                return _Failed(exc)
            self._event(
                "MapIterationSucceeded",
                "mapIterationSucceededEventDetails",
                name=state.name,
                index=index,
            )
            return out

        try:
            results = self._pool(run, list(enumerate(items)), int(concurrency or 0))
        except _STOP:
            self._event("MapStateFailed")
            raise
        failed = [r for r in results if isinstance(r, _Failed)]
        if failed:
            too_many = False
            if tolerated_count is not None and len(failed) > int(tolerated_count):
                too_many = True
            if tolerated is not None and 100.0 * len(failed) / len(items) > float(tolerated):
                too_many = True
            if too_many:
                self._event("MapStateFailed")
                raise StatesError(
                    "States.ExceedToleratedFailureThreshold",
                    f"{state.name}: {len(failed)} of {len(items)} iterations failed",
                )
            results = [
                {"Error": r.exc.error, "Cause": r.exc.cause} if isinstance(r, _Failed) else r
                for r in results
            ]
        self._event("MapStateSucceeded")
        if ql == "JSONata":
            return self._finish_jsonata(state, raw, results, scope, ctx)
        return self._finish_jsonpath(state, raw, results, scope, ctx)

    # -- Distributed Map -------------------------------------------------------------------------
    def _map_params(
        self, spec: dict[str, Any], raw: Any, effective: Any, scope: _Scope, ql: str, ctx: Any
    ) -> Any:
        """An ItemReader's/ResultWriter's ``Parameters`` (JSONPath) or ``Arguments``."""
        if ql == "JSONata":
            template = spec.get("Arguments")
            if template is None:
                return None
            return query.render_jsonata(template, self._bindings(scope, ctx, input=raw))
        template = spec.get("Parameters")
        if template is None:
            return None
        return query.process_template(
            template, effective, context=ctx, variables=scope.variables, field="Parameters"
        )

    def _distributed_map(
        self,
        state: Map,
        raw: Any,
        scope: _Scope,
        ql: str,
        ctx: Any,
        effective: Any,
        items: list[Any],
        selector: Any,
        concurrency: int,
    ) -> Any:
        """Each item (or batch) runs as a child execution with its own history; the parent
        records MapRun events (developer guide, "Distributed Map state")."""
        from smkit.backends.local import distributed_map

        def select(index: int, item: Any) -> Any:
            if selector is None:
                return item
            item_ctx = {**ctx, "Map": {"Item": {"Index": index, "Value": item}}}
            if ql == "JSONata":
                return query.render_jsonata(
                    selector, self._bindings(scope, item_ctx, input=raw), "ItemSelector"
                )
            return query.process_template(
                selector,
                effective,
                context=item_ctx,
                variables=scope.variables,
                field="ItemSelector",
            )

        inputs = [select(i, item) for i, item in enumerate(items)]
        batcher = state.extra.get("ItemBatcher")
        if batcher is not None:
            batch_input = batcher.get("BatchInput")
            if batch_input is not None:
                if ql == "JSONata":
                    batch_input = query.render_jsonata(
                        batch_input, self._bindings(scope, ctx, input=raw), "BatchInput"
                    )
                else:
                    batch_input = query.process_template(
                        batch_input,
                        effective,
                        context=ctx,
                        variables=scope.variables,
                        field="BatchInput",
                    )
            inputs = distributed_map.batches(inputs, batcher, batch_input)
        del items
        run_id = str(uuid.uuid4())
        label = state.extra.get("Label") or state.name
        machine = f"{self.workflow.name}/{label}"
        writer = state.extra.get("ResultWriter")
        # with a ResultWriter the children's records go to files, not to memory
        spool = distributed_map.ResultSpool() if writer is not None else None
        try:
            return self._map_run(
                state,
                raw,
                scope,
                ql,
                ctx,
                effective,
                inputs,
                machine,
                run_id,
                spool,
                concurrency,
            )
        finally:
            if spool is not None:
                spool.close()

    def _map_run(
        self,
        state: Map,
        raw: Any,
        scope: _Scope,
        ql: str,
        ctx: Any,
        effective: Any,
        inputs: list[Any],
        machine: str,
        run_id: str,
        spool: Any,
        concurrency: int,
    ) -> Any:
        from smkit.backends.local import distributed_map

        writer = state.extra.get("ResultWriter")
        map_run_arn = f"arn:aws:states:{self.region}:{self.account}:mapRun:{machine}:{run_id}"
        child_machine = f"arn:aws:states:{self.region}:{self.account}:stateMachine:{machine}"
        self._event("MapRunStarted", "mapRunStartedEventDetails", mapRunArn=map_run_arn)

        def run_child(index_value: tuple[int, Any]) -> Any:
            index, value = index_value
            sink: list[dict[str, Any]] = []
            previous = getattr(self._local, "events", None)
            self._local.events = sink
            name = f"{run_id}:{index}"
            start = self.clock()
            record: dict[str, Any] = {
                "ExecutionArn": f"arn:aws:states:{self.region}:{self.account}:execution:"
                f"{machine}:{name}",
                "Input": _dumps(value),
                "InputDetails": {"Included": True},
                "Name": name,
                "RedriveCount": 0,
                "RedriveStatus": "NOT_REDRIVABLE",
                "StartDate": _iso(start),
                "StateMachineArn": child_machine,
            }
            try:
                self._event(
                    "ExecutionStarted",
                    "executionStartedEventDetails",
                    input=record["Input"],
                    inputDetails={"truncated": False},
                )
                out = self._run_graph(state.iterator, value, _Scope({}, ql))
                out_text = _dumps(out)
                self._check_size(out, f"{state.name} child execution", out_text)
            except _HistoryLimit:
                failure = StatesError(
                    "States.Runtime",
                    "The execution reached the maximum number of history events "
                    f"({self.history_limit}).",
                )
            except StatesError as exc:
                failure = exc
            else:
                failure = None
            finally:
                self._local.events = previous
            record["StopDate"] = _iso(self.clock())
            if failure is None:
                record["Status"] = "SUCCEEDED"
                record["Output"] = out_text
                record["OutputDetails"] = {"Included": True}
                if spool is None:
                    return out
                spool.add(record)
                return None
            record["Status"] = "FAILED"
            record["Error"] = failure.error
            record["Cause"] = failure.cause
            if spool is not None:
                spool.add(record)
            return _Failed(failure)

        try:
            done = self._pool(run_child, list(enumerate(inputs)), concurrency or 10_000)
        except _STOP:
            self._event("MapRunFailed", "mapRunFailedEventDetails")
            raise
        total = len(done)
        failed = sum(1 for out in done if isinstance(out, _Failed))
        tolerated_count = state.tolerated_failure_count
        tolerated = state.tolerated_failure_percentage
        too_many = False
        if failed:
            too_many = tolerated_count is None and tolerated is None
            if tolerated_count is not None and failed > int(tolerated_count):
                too_many = True
            if tolerated is not None and 100.0 * failed / total > float(tolerated):
                too_many = True
        if too_many:
            self._event("MapRunFailed", "mapRunFailedEventDetails")
            raise StatesError(
                "States.ExceedToleratedFailureThreshold",
                f"The specified tolerated failure threshold was exceeded: {failed} of {total} "
                f"child executions of {state.name!r} failed",
            )
        if writer is not None:
            params = self._map_params(writer, raw, effective, scope, ql, ctx)
            result: Any = distributed_map.write_results(
                writer, params, self.store, map_run_arn, spool
            )
        else:
            result = [
                {"Error": out.exc.error, "Cause": out.exc.cause}
                if isinstance(out, _Failed)
                else out
                for out in done
            ]
        self._event("MapRunSucceeded")
        if ql == "JSONata":
            return self._finish_jsonata(state, raw, result, scope, ctx)
        return self._finish_jsonpath(state, raw, result, scope, ctx)


class _Failed:
    def __init__(self, exc: StatesError) -> None:
        self.exc = exc


# -- Choice rules (JSONPath) ----------------------------------------------------------------------
_TS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


def _parse_timestamp(value: Any) -> float | None:
    if not isinstance(value, str) or not _TS.match(value):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _string_matches(value: str, pattern: str) -> bool:
    regex = ""
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\" and i + 1 < len(pattern):
            regex += re.escape(pattern[i + 1])
            i += 2
            continue
        regex += ".*" if c == "*" else re.escape(c)
        i += 1
    return re.fullmatch(regex, value, re.S) is not None


_CMP = {
    "Equals": lambda a, b: a == b,
    "LessThan": lambda a, b: a < b,
    "GreaterThan": lambda a, b: a > b,
    "LessThanEquals": lambda a, b: a <= b,
    "GreaterThanEquals": lambda a, b: a >= b,
}
_OP = re.compile(
    r"^(String|Numeric|Boolean|Timestamp)(Equals|LessThan|GreaterThan|"
    r"LessThanEquals|GreaterThanEquals)(Path)?$"
)


def _eval_rule(rule: dict[str, Any], data: Any, ctx: Any, variables: dict[str, Any]) -> bool:
    if "And" in rule:
        return all(_eval_rule(r, data, ctx, variables) for r in rule["And"])
    if "Or" in rule:
        return any(_eval_rule(r, data, ctx, variables) for r in rule["Or"])
    if "Not" in rule:
        return not _eval_rule(rule["Not"], data, ctx, variables)
    path = rule["Variable"]
    value = query.read_path(path, data, context=ctx, variables=variables)
    op = next(k for k in rule if k not in ("Variable", "Next", "Comment", "Assign", "Output"))
    expected = rule[op]
    if op == "IsPresent":
        return (value is not MISSING) == expected
    if value is MISSING:
        raise StatesError(
            "States.Runtime",
            f"Invalid path '{path}': The choice state's condition path references an invalid "
            "value.",
        )
    if op == "IsNull":
        return (value is None) == expected
    if op == "IsNumeric":
        return _is_number(value) == expected
    if op == "IsString":
        return isinstance(value, str) == expected
    if op == "IsBoolean":
        return isinstance(value, bool) == expected
    if op == "IsTimestamp":
        return (_parse_timestamp(value) is not None) == expected
    if op == "StringMatches":
        return isinstance(value, str) and _string_matches(value, expected)
    m = _OP.match(op)
    if not m:
        raise StatesError("States.Runtime", f"unknown comparison operator {op!r}")
    kind, cmp, is_path = m.groups()
    if is_path:
        expected = query.read_path(expected, data, context=ctx, variables=variables)
        if expected is MISSING:
            raise StatesError(
                "States.Runtime", f"Invalid path '{rule[op]}' in {op}: no value there"
            )
    if kind == "String":
        if not isinstance(value, str) or not isinstance(expected, str):
            return False
    elif kind == "Numeric":
        if not _is_number(value) or not _is_number(expected):
            return False
    elif kind == "Boolean":
        if not isinstance(value, bool) or not isinstance(expected, bool):
            return False
    else:
        value, expected = _parse_timestamp(value), _parse_timestamp(expected)
        if value is None or expected is None:
            return False
    return bool(_CMP[cmp](value, expected))
