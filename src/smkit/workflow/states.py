"""State classes of the Amazon States Language, Retry/Catch, Choice conditions and chaining.

Every state is a frozen attrs object named by ``name``. Fields are snake_case versions of the
ASL fields (``input_path`` is ``InputPath``, ``result_selector`` is ``ResultSelector``...);
a field left ``None`` is not written. ``next`` is another state, a state name, or ``None``
(then chaining decides, or the state ends the workflow).

Chaining reads like the flow: ``a >> b >> c`` is a `Chain`; a ``Workflow`` turns it
into ``Next``/``End`` links. States that a chain does not list but that are reachable through
objects (a Choice's targets, a Catch's ``next``) are collected too.

Examples:
    >>> from smkit.workflow import Pass, Choice, Fail, Var, When
    >>> ok, bad = Pass("Ok"), Fail("TooLow", error="Low", cause="value below 1")
    >>> flow = Pass("Start") >> Choice("Check", [When(Var("$.v") >= 1, ok)], default=bad)
    >>> [s.name for s in flow.states]
    ['Start', 'Check']
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, ClassVar

import attrs

from smkit.errors import ValidationError

__all__ = [
    "ERROR_NAMES",
    "Catch",
    "Chain",
    "Choice",
    "Condition",
    "Fail",
    "Map",
    "Parallel",
    "Pass",
    "Retry",
    "State",
    "Succeed",
    "Task",
    "Var",
    "Wait",
    "When",
    "lambda_arn",
]

#: Error names predefined by the ASL specification.
ERROR_NAMES = (
    "States.ALL",
    "States.HeartbeatTimeout",
    "States.Timeout",
    "States.TaskFailed",
    "States.Permissions",
    "States.ResultPathMatchFailure",
    "States.ParameterPathFailure",
    "States.QueryEvaluationError",
    "States.BranchFailed",
    "States.NoChoiceMatched",
    "States.IntrinsicFailure",
    "States.ExceedToleratedFailureThreshold",
    "States.ItemReaderFailed",
    "States.ResultWriterFailed",
    "States.Runtime",
)

QUERY_LANGUAGES = ("JSONPath", "JSONata")


def lambda_arn(function: str, *, region: str = "us-east-1", account: str = "123456789012") -> str:
    """The ARN of a Lambda function (``function`` may already be one)."""
    if function.startswith("arn:"):
        return function
    return f"arn:aws:lambda:{region}:{account}:function:{function}"


# -- Retry and Catch --------------------------------------------------------------------------
def _errors(value: Iterable[str] | str) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value)


def _check_errors(inst: Any, attribute: attrs.Attribute, value: tuple[str, ...]) -> None:
    if not value:
        raise ValidationError(f"{type(inst).__name__}: error_equals must name at least one error")
    for name in value:
        if not isinstance(name, str) or not name:
            raise ValidationError(f"{type(inst).__name__}: bad error name {name!r}")
    if "States.ALL" in value and len(value) > 1:
        raise ValidationError(
            f"{type(inst).__name__}: States.ALL must appear alone in ErrorEquals, got {value}"
        )


@attrs.frozen
class Retry:
    """A retrier: which errors to retry, how often and how long to wait.

    The n-th retry (n = 1, 2, ...) waits ``interval_seconds * backoff_rate ** (n - 1)``
    seconds, capped by ``max_delay_seconds``; with ``jitter_strategy="FULL"`` the wait is drawn
    uniformly from ``[0, that]``.

    Args:
        error_equals: Error names (``"States.ALL"``, ``"States.Timeout"``, ``"ValueError"``...).
        interval_seconds: Seconds before the first retry (ASL default 1).
        max_attempts: Retries at most (ASL default 3; 0 never retries).
        backoff_rate: Multiplier of the interval per retry (ASL default 2.0, at least 1).
        max_delay_seconds: Upper bound of one wait.
        jitter_strategy: ``"FULL"`` or ``"NONE"``.
        comment: Free text.
    """

    error_equals: tuple[str, ...] = attrs.field(converter=_errors, validator=_check_errors)
    interval_seconds: int | None = None
    max_attempts: int | None = None
    backoff_rate: float | None = None
    max_delay_seconds: int | None = None
    jitter_strategy: str | None = None
    comment: str | None = None

    def __attrs_post_init__(self) -> None:
        if self.interval_seconds is not None and (
            not isinstance(self.interval_seconds, int) or self.interval_seconds < 1
        ):
            raise ValidationError(
                f"Retry.interval_seconds must be a positive integer, got {self.interval_seconds!r}"
            )
        if self.max_attempts is not None and (
            not isinstance(self.max_attempts, int) or self.max_attempts < 0
        ):
            raise ValidationError(
                f"Retry.max_attempts must be an integer >= 0, got {self.max_attempts!r}"
            )
        if self.backoff_rate is not None and (
            isinstance(self.backoff_rate, bool)
            or not isinstance(self.backoff_rate, int | float)
            or self.backoff_rate < 1
        ):
            raise ValidationError(f"Retry.backoff_rate must be >= 1.0, got {self.backoff_rate!r}")
        if self.max_delay_seconds is not None and (
            not isinstance(self.max_delay_seconds, int) or self.max_delay_seconds < 1
        ):
            raise ValidationError(
                "Retry.max_delay_seconds must be a positive integer, "
                f"got {self.max_delay_seconds!r}"
            )
        if self.jitter_strategy not in (None, "FULL", "NONE"):
            raise ValidationError(
                f"Retry.jitter_strategy must be 'FULL' or 'NONE', got {self.jitter_strategy!r}"
            )

    def delay(self, retry_number: int, rand: float = 1.0) -> float:
        """Seconds to wait before retry ``retry_number`` (1-based); ``rand`` in [0, 1] is the
        jitter draw (used only with ``FULL``)."""
        interval = 1 if self.interval_seconds is None else self.interval_seconds
        rate = 2.0 if self.backoff_rate is None else float(self.backoff_rate)
        wait = interval * rate ** (retry_number - 1)
        if self.max_delay_seconds is not None:
            wait = min(wait, float(self.max_delay_seconds))
        if self.jitter_strategy == "FULL":
            wait *= rand
        return wait

    @property
    def attempts(self) -> int:
        """``max_attempts`` with the ASL default applied."""
        return 3 if self.max_attempts is None else self.max_attempts

    def to_asl(self) -> dict[str, Any]:
        """The ASL retrier object."""
        out: dict[str, Any] = {"ErrorEquals": list(self.error_equals)}
        for attr, key in (
            ("interval_seconds", "IntervalSeconds"),
            ("max_attempts", "MaxAttempts"),
            ("backoff_rate", "BackoffRate"),
            ("max_delay_seconds", "MaxDelaySeconds"),
            ("jitter_strategy", "JitterStrategy"),
            ("comment", "Comment"),
        ):
            value = getattr(self, attr)
            if value is not None:
                out[key] = value
        return out

    @classmethod
    def from_asl(cls, data: dict[str, Any]) -> Retry:
        """Read an ASL retrier."""
        known = {
            "ErrorEquals",
            "IntervalSeconds",
            "MaxAttempts",
            "BackoffRate",
            "MaxDelaySeconds",
            "JitterStrategy",
            "Comment",
        }
        extra = set(data) - known
        if extra:
            raise ValidationError(f"Retry has unknown field(s) {sorted(extra)}")
        if "ErrorEquals" not in data:
            raise ValidationError("Retry is missing ErrorEquals")
        return cls(
            error_equals=data["ErrorEquals"],
            interval_seconds=data.get("IntervalSeconds"),
            max_attempts=data.get("MaxAttempts"),
            backoff_rate=data.get("BackoffRate"),
            max_delay_seconds=data.get("MaxDelaySeconds"),
            jitter_strategy=data.get("JitterStrategy"),
            comment=data.get("Comment"),
        )


@attrs.frozen
class Catch:
    """A catcher: on one of ``error_equals``, go to ``next`` with the error output.

    Args:
        error_equals: Error names to catch.
        next: The state (or its name) to go to.
        result_path: Where the error output ``{"Error", "Cause"}`` goes (JSONPath; default
            ``$`` replaces the input).
        output: JSONata ``Output`` of the catcher.
        assign: Variables to set.
        comment: Free text.
    """

    error_equals: tuple[str, ...] = attrs.field(converter=_errors, validator=_check_errors)
    next: State | str = attrs.field(eq=False)
    result_path: str | None = None
    output: Any = None
    assign: dict[str, Any] | None = None
    comment: str | None = None

    @property
    def next_name(self) -> str:
        """Name of the state to go to."""
        return self.next if isinstance(self.next, str) else self.next.name

    def to_asl(self) -> dict[str, Any]:
        """The ASL catcher object."""
        out: dict[str, Any] = {"ErrorEquals": list(self.error_equals), "Next": self.next_name}
        for attr, key in (
            ("result_path", "ResultPath"),
            ("output", "Output"),
            ("assign", "Assign"),
            ("comment", "Comment"),
        ):
            value = getattr(self, attr)
            if value is not None:
                out[key] = value
        return out

    @classmethod
    def from_asl(cls, data: dict[str, Any]) -> Catch:
        """Read an ASL catcher (``"ResultPath": null`` is kept as the string ``"null"``)."""
        known = {"ErrorEquals", "Next", "ResultPath", "Output", "Assign", "Comment"}
        extra = set(data) - known
        if extra:
            raise ValidationError(f"Catch has unknown field(s) {sorted(extra)}")
        if "ErrorEquals" not in data or "Next" not in data:
            raise ValidationError("Catch needs ErrorEquals and Next")
        return cls(
            error_equals=data["ErrorEquals"],
            next=data["Next"],
            result_path=_null_path(data, "ResultPath"),
            output=data.get("Output"),
            assign=data.get("Assign"),
            comment=data.get("Comment"),
        )


#: Marks a path field explicitly set to JSON ``null`` (ASL: "discard"), distinct from absent.
NULL = "null"


class _JsonNull:
    """A JSON ``null`` given explicitly for a value field (``"Result": null``)."""

    def __repr__(self) -> str:
        return "JSON_NULL"

    def __deepcopy__(self, memo: Any) -> _JsonNull:
        return self

    def __copy__(self) -> _JsonNull:
        return self


#: Stands for an explicit JSON ``null`` in ``result``/``output`` (absent is ``None``).
JSON_NULL: Any = _JsonNull()


def json_value(value: Any) -> Any:
    """``value`` with `JSON_NULL` turned into ``None``."""
    return None if value is JSON_NULL else value


def _null_path(data: dict[str, Any], key: str) -> str | None:
    if key not in data:
        return None
    return NULL if data[key] is None else data[key]


def _path_out(value: str | None) -> Any:
    return None if value == NULL else value


# -- Choice conditions ------------------------------------------------------------------------
_ORDER_OPS = ("Equals", "LessThan", "GreaterThan", "LessThanEquals", "GreaterThanEquals")
_COMPARISONS = (
    *(
        f"{kind}{op}{suffix}"
        for kind, ops in (
            ("String", _ORDER_OPS),
            ("Numeric", _ORDER_OPS),
            ("Boolean", ("Equals",)),
            ("Timestamp", _ORDER_OPS),
        )
        for op in ops
        for suffix in ("", "Path")
    ),
    "StringMatches",
    "IsNull",
    "IsPresent",
    "IsNumeric",
    "IsString",
    "IsBoolean",
    "IsTimestamp",
)
#: Every comparison operator of a Choice rule.
COMPARISON_OPERATORS: tuple[str, ...] = _COMPARISONS


@attrs.frozen
class Condition:
    """A Choice rule without its ``Next``: the ASL dict (``Variable`` + one operator, ``And``,
    ``Or``, ``Not``, or a JSONata ``Condition``). Combine with ``&``, ``|`` and ``~``."""

    rule: dict[str, Any] = attrs.field(eq=True, hash=False)

    def __and__(self, other: Condition) -> Condition:
        return Condition({"And": [self.rule, other.rule]})

    def __or__(self, other: Condition) -> Condition:
        return Condition({"Or": [self.rule, other.rule]})

    def __invert__(self) -> Condition:
        return Condition({"Not": self.rule})

    @classmethod
    def jsonata(cls, expression: str) -> Condition:
        """A JSONata condition (``"{% $states.input.x > 1 %}"``; the braces are added)."""
        text = expression if expression.strip().startswith("{%") else f"{{% {expression} %}}"
        return cls({"Condition": text})


class Var:
    """A Choice variable; comparisons build `Condition` objects.

    ``Var("$.x") >= 0.9`` is ``NumericGreaterThanEquals``; ``Var("$.s") == "a"`` is
    ``StringEquals``; ``Var("$.b") == True`` is ``BooleanEquals``. Methods cover the rest.
    """

    __hash__ = None  # type: ignore[assignment]

    def __init__(self, path: str) -> None:
        if not isinstance(path, str) or not path.startswith("$"):
            raise ValidationError(f"Var({path!r}): a variable is a path starting with '$'")
        self.path = path

    def __repr__(self) -> str:
        return f"Var({self.path!r})"

    def _cmp(self, op: str, value: Any) -> Condition:
        if isinstance(value, Var):
            raise ValidationError(
                f"{self!r}: comparing two variables needs the type, e.g. "
                f"op('Numeric{op}Path', {value.path!r}) or op('String{op}Path', ...)"
            )
        if isinstance(value, bool):
            if op != "Equals":
                raise ValidationError(f"{self!r}: booleans support only == and !=")
            kind = "Boolean"
        elif isinstance(value, int | float):
            kind = "Numeric"
        elif isinstance(value, str):
            kind = "String"
        else:
            raise ValidationError(f"{self!r}: cannot compare with {value!r}")
        return Condition({"Variable": self.path, f"{kind}{op}": value})

    def __eq__(self, value: Any) -> Condition:  # type: ignore[override]
        return self._cmp("Equals", value)

    def __ne__(self, value: Any) -> Condition:  # type: ignore[override]
        return ~self._cmp("Equals", value)

    def __lt__(self, value: Any) -> Condition:
        return self._cmp("LessThan", value)

    def __le__(self, value: Any) -> Condition:
        return self._cmp("LessThanEquals", value)

    def __gt__(self, value: Any) -> Condition:
        return self._cmp("GreaterThan", value)

    def __ge__(self, value: Any) -> Condition:
        return self._cmp("GreaterThanEquals", value)

    def op(self, operator: str, value: Any) -> Condition:
        """Any operator by its ASL name.

        Example: ``Var("$.t").op("TimestampLessThan", "2024-01-01T00:00:00Z")``.
        """
        if operator not in COMPARISON_OPERATORS:
            raise ValidationError(
                f"unknown comparison operator {operator!r}; known: "
                f"{', '.join(COMPARISON_OPERATORS)}"
            )
        return Condition({"Variable": self.path, operator: value})

    def matches(self, pattern: str) -> Condition:
        """``StringMatches`` (``*`` is a wildcard, ``\\*`` a literal star)."""
        return self.op("StringMatches", pattern)

    def is_present(self, value: bool = True) -> Condition:
        """``IsPresent``."""
        return self.op("IsPresent", value)

    def is_null(self, value: bool = True) -> Condition:
        """``IsNull``."""
        return self.op("IsNull", value)

    def is_numeric(self, value: bool = True) -> Condition:
        """``IsNumeric``."""
        return self.op("IsNumeric", value)

    def is_string(self, value: bool = True) -> Condition:
        """``IsString``."""
        return self.op("IsString", value)

    def is_boolean(self, value: bool = True) -> Condition:
        """``IsBoolean``."""
        return self.op("IsBoolean", value)

    def is_timestamp(self, value: bool = True) -> Condition:
        """``IsTimestamp``."""
        return self.op("IsTimestamp", value)


@attrs.frozen
class When:
    """One Choice branch: when ``condition`` holds go to ``next`` (a state, a name, or ``None``
    for "the state after the Choice in the chain")."""

    condition: Condition | dict[str, Any] | str = attrs.field(
        converter=lambda c: (
            c
            if isinstance(c, Condition)
            else Condition.jsonata(c)
            if isinstance(c, str)
            else Condition(dict(c))
        )
    )
    next: State | str | None = attrs.field(default=None, eq=False)

    @property
    def next_name(self) -> str | None:
        """Name of the target state (``None`` until a chain sets it)."""
        if self.next is None or isinstance(self.next, str):
            return self.next
        return self.next.name


# -- states -----------------------------------------------------------------------------------
def _check_name(inst: Any, attribute: attrs.Attribute, value: str) -> None:
    if not isinstance(value, str) or not value or len(value) > 80:
        raise ValidationError(
            f"{type(inst).__name__} name {value!r}: a state name is 1-80 characters"
        )


_COMMON = (
    ("comment", "Comment"),
    ("query_language", "QueryLanguage"),
    ("input_path", "InputPath"),
    ("output_path", "OutputPath"),
    ("output", "Output"),
    ("assign", "Assign"),
)


@attrs.frozen(kw_only=True)
class State:
    """Fields every state has. Subclasses add theirs.

    Args:
        name: The state's name (unique within the workflow).
        comment: Free text.
        query_language: ``"JSONPath"`` or ``"JSONata"`` (default: the workflow's).
        input_path: JSONPath selecting the state's input (``"null"`` gives ``{}``).
        output_path: JSONPath selecting the state's output (``"null"`` gives ``{}``).
        output: JSONata ``Output`` template.
        assign: Variables to set (``Assign``).
        extra: ASL fields smkit does not model, written back as given.
    """

    TYPE: ClassVar[str] = ""
    FIELDS: ClassVar[tuple[tuple[str, str], ...]] = _COMMON
    #: path fields where JSON ``null`` is meaningful
    NULLABLE: ClassVar[frozenset[str]] = frozenset({"InputPath", "OutputPath", "ResultPath"})
    #: further ASL fields allowed on this type (kept in ``extra``)
    EXTRA_ALLOWED: ClassVar[frozenset[str]] = frozenset()
    TERMINAL: ClassVar[bool] = False

    name: str = attrs.field(validator=_check_name)
    comment: str | None = None
    query_language: str | None = attrs.field(default=None)
    input_path: str | None = None
    output_path: str | None = None
    output: Any = None
    assign: dict[str, Any] | None = None
    extra: dict[str, Any] = attrs.field(factory=dict)

    @query_language.validator
    def _check_ql(self, attribute: attrs.Attribute, value: str | None) -> None:
        if value is not None and value not in QUERY_LANGUAGES:
            raise ValidationError(
                f"state {self.name!r}: QueryLanguage must be JSONPath or JSONata, got {value!r}"
            )

    def __rshift__(self, other: State | Chain) -> Chain:
        return Chain([self]) >> other

    def __rrshift__(self, other: State | Chain) -> Chain:
        return Chain.of(other) >> self

    def fields_asl(self) -> dict[str, Any]:
        """The ASL fields of this state other than ``Next``/``End`` and the nested parts."""
        out: dict[str, Any] = {"Type": self.TYPE}
        for attr, key in self.FIELDS:
            value = getattr(self, attr)
            if value is None:
                continue
            if value is JSON_NULL:
                out[key] = None
            else:
                out[key] = _path_out(value) if key in self.NULLABLE else value
        out.update(self.extra)
        return out

    def targets(self) -> list[State | str]:
        """States this one can go to (objects or names), ``next`` excluded."""
        return [c.next for c in getattr(self, "catch", ())]


@attrs.frozen(kw_only=True)
class _Flow(State):
    """A state that continues (``Next``) or ends (``End``)."""

    next: State | str | None = attrs.field(default=None, eq=False)
    end: bool = False

    @property
    def next_name(self) -> str | None:
        """Name of the next state, if set."""
        if self.next is None or isinstance(self.next, str):
            return self.next
        return self.next.name


@attrs.frozen(kw_only=True)
class _Errors(_Flow):
    retry: tuple[Retry, ...] = attrs.field(default=(), converter=tuple)
    catch: tuple[Catch, ...] = attrs.field(default=(), converter=tuple)


@attrs.frozen(kw_only=True, init=False)
class Pass(_Flow):
    """Passes its input (or ``result``) to its output, optionally transformed.

    Args:
        result: Fixed result (``Result``).
        parameters: Payload template (``Parameters``, ``.$`` keys are paths).
        result_path: Where the result goes in the input.
    """

    TYPE: ClassVar[str] = "Pass"
    FIELDS: ClassVar[tuple[tuple[str, str], ...]] = (
        *_COMMON,
        ("parameters", "Parameters"),
        ("result", "Result"),
        ("result_path", "ResultPath"),
    )

    result: Any = None
    parameters: Any = None
    result_path: str | None = None

    def __init__(self, name: str, **kwargs: Any) -> None:
        self.__attrs_init__(name=name, **kwargs)


@attrs.frozen(kw_only=True, init=False)
class Task(_Errors):
    """Runs work: a Lambda function or a service integration.

    ``resource`` is a Lambda ARN (result = the function's return value),
    ``"arn:aws:states:::lambda:invoke"`` with ``parameters={"FunctionName": ..., "Payload.$":
    "$"}`` (result = ``{"Payload": ..., "StatusCode": 200, ...}``), or
    ``"arn:aws:states:::aws-sdk:sagemakerruntime:invokeEndpoint"``. Build Lambda tasks with
    `lambda_` and endpoint calls with `invoke_endpoint`.

    Args:
        resource: The ``Resource`` ARN.
        parameters: JSONPath payload template (``Parameters``).
        arguments: JSONata payload (``Arguments``).
        result_selector: Template applied to the raw result.
        result_path: Where the result goes in the input (``"null"`` discards it).
        timeout_seconds: ``TimeoutSeconds`` (a JSONata expression string is allowed).
        heartbeat_seconds: ``HeartbeatSeconds``.
        retry: Retriers, tried in order.
        catch: Catchers, tried in order after retries are spent.
        lambda_spec: The `LambdaSpec` this task calls (packaged and
            created on AWS; its handler runs locally).
    """

    TYPE: ClassVar[str] = "Task"
    FIELDS: ClassVar[tuple[tuple[str, str], ...]] = (
        *_COMMON,
        ("resource", "Resource"),
        ("parameters", "Parameters"),
        ("arguments", "Arguments"),
        ("result_selector", "ResultSelector"),
        ("result_path", "ResultPath"),
        ("timeout_seconds", "TimeoutSeconds"),
        ("timeout_seconds_path", "TimeoutSecondsPath"),
        ("heartbeat_seconds", "HeartbeatSeconds"),
        ("heartbeat_seconds_path", "HeartbeatSecondsPath"),
    )
    EXTRA_ALLOWED: ClassVar[frozenset[str]] = frozenset({"Credentials"})

    resource: str = ""
    parameters: Any = None
    arguments: Any = None
    result_selector: Any = None
    result_path: str | None = None
    timeout_seconds: int | str | None = None
    timeout_seconds_path: str | None = None
    heartbeat_seconds: int | str | None = None
    heartbeat_seconds_path: str | None = None
    lambda_spec: Any = attrs.field(default=None, eq=False, repr=False)

    def __init__(self, name: str, resource: str = "", **kwargs: Any) -> None:
        self.__attrs_init__(name=name, resource=resource, **kwargs)

    def __attrs_post_init__(self) -> None:
        if not self.resource:
            raise ValidationError(f"Task {self.name!r}: Resource is required")

    @classmethod
    def lambda_(
        cls,
        name: str,
        function: Any,
        *,
        integration: bool = False,
        payload: str = "$",
        **kwargs: Any,
    ) -> Task:
        """A task calling a Lambda function.

        Args:
            name: State name.
            function: A `LambdaSpec`, a function name or an ARN.
            integration: Use ``arn:aws:states:::lambda:invoke`` (result wrapped in ``Payload``)
                instead of the function ARN as ``Resource`` (result = the return value).
            payload: With ``integration``: the JSONPath passed as ``Payload.$``.
            **kwargs: Other `Task` fields.
        """
        spec = function if hasattr(function, "function_name") else None
        fname = spec.function_name if spec is not None else str(function)
        if integration:
            params = dict(kwargs.pop("parameters", None) or {})
            params.setdefault("FunctionName", fname)
            if "Payload" not in params:
                params.setdefault("Payload.$", payload)
            return cls(
                name,
                "arn:aws:states:::lambda:invoke",
                parameters=params,
                lambda_spec=spec,
                **kwargs,
            )
        return cls(name, lambda_arn(fname), lambda_spec=spec, **kwargs)

    @classmethod
    def invoke_endpoint(
        cls,
        name: str,
        endpoint_name: str,
        *,
        body_path: str = "$.body",
        content_type: str = "application/json",
        **kwargs: Any,
    ) -> Task:
        """A task calling ``sagemakerruntime:invokeEndpoint`` directly (SDK integration).

        The result is ``{"Body": <response text>, "ContentType": ...,
        "InvokedProductionVariant": ...}`` as Step Functions returns it.
        """
        params = {"EndpointName": endpoint_name, "ContentType": content_type}
        params["Body.$"] = body_path
        params.update(kwargs.pop("parameters", None) or {})
        return cls(
            name,
            "arn:aws:states:::aws-sdk:sagemakerruntime:invokeEndpoint",
            parameters=params,
            **kwargs,
        )


@attrs.frozen(kw_only=True, init=False)
class Wait(_Flow):
    """Waits a number of seconds or until a time (exactly one of the four fields)."""

    TYPE: ClassVar[str] = "Wait"
    FIELDS: ClassVar[tuple[tuple[str, str], ...]] = (
        *_COMMON,
        ("seconds", "Seconds"),
        ("timestamp", "Timestamp"),
        ("seconds_path", "SecondsPath"),
        ("timestamp_path", "TimestampPath"),
    )

    seconds: int | str | None = None
    timestamp: str | None = None
    seconds_path: str | None = None
    timestamp_path: str | None = None

    def __init__(self, name: str, seconds: int | str | None = None, **kwargs: Any) -> None:
        self.__attrs_init__(name=name, seconds=seconds, **kwargs)


@attrs.frozen(kw_only=True, init=False)
class Succeed(State):
    """Ends the execution successfully."""

    TYPE: ClassVar[str] = "Succeed"
    TERMINAL: ClassVar[bool] = True

    def __init__(self, name: str, **kwargs: Any) -> None:
        self.__attrs_init__(name=name, **kwargs)


@attrs.frozen(kw_only=True, init=False)
class Fail(State):
    """Ends the execution as failed with ``error`` and ``cause``."""

    TYPE: ClassVar[str] = "Fail"
    TERMINAL: ClassVar[bool] = True
    FIELDS: ClassVar[tuple[tuple[str, str], ...]] = (
        ("comment", "Comment"),
        ("query_language", "QueryLanguage"),
        ("error", "Error"),
        ("cause", "Cause"),
        ("error_path", "ErrorPath"),
        ("cause_path", "CausePath"),
    )

    error: str | None = None
    cause: str | None = None
    error_path: str | None = None
    cause_path: str | None = None

    def __init__(self, name: str, **kwargs: Any) -> None:
        self.__attrs_init__(name=name, **kwargs)


@attrs.frozen(kw_only=True, init=False)
class Choice(State):
    """Branches on conditions; ``default`` when none holds (else ``States.NoChoiceMatched``)."""

    TYPE: ClassVar[str] = "Choice"

    choices: tuple[When, ...] = attrs.field(default=(), converter=tuple)
    default: State | str | None = attrs.field(default=None, eq=False)

    def __init__(self, name: str, choices: Sequence[When] = (), **kwargs: Any) -> None:
        self.__attrs_init__(name=name, choices=choices, **kwargs)

    @property
    def default_name(self) -> str | None:
        """Name of the default state."""
        if self.default is None or isinstance(self.default, str):
            return self.default
        return self.default.name

    def targets(self) -> list[State | str]:
        """Rule targets and the default."""
        out: list[State | str] = [w.next for w in self.choices if w.next is not None]
        if self.default is not None:
            out.append(self.default)
        return out


@attrs.frozen(kw_only=True, init=False)
class Parallel(_Errors):
    """Runs ``branches`` (each a chain or a state) on the same input; the result is the list
    of branch outputs."""

    TYPE: ClassVar[str] = "Parallel"
    FIELDS: ClassVar[tuple[tuple[str, str], ...]] = (
        *_COMMON,
        ("parameters", "Parameters"),
        ("arguments", "Arguments"),
        ("result_selector", "ResultSelector"),
        ("result_path", "ResultPath"),
    )

    branches: tuple[Any, ...] = attrs.field(default=(), converter=tuple, eq=False)
    parameters: Any = None
    arguments: Any = None
    result_selector: Any = None
    result_path: str | None = None

    def __init__(self, name: str, branches: Sequence[Any] = (), **kwargs: Any) -> None:
        self.__attrs_init__(name=name, branches=branches, **kwargs)


@attrs.frozen(kw_only=True, init=False)
class Map(_Errors):
    """Runs ``iterator`` (a chain or a state) for each item of ``items_path``/``items``.

    Args:
        iterator: The processor, run once per item.
        items_path: JSONPath of the array (default ``$``).
        items: JSONata array expression.
        item_selector: Template building each iteration's input
            (``$$.Map.Item.Value``/``Index`` available).
        max_concurrency: Iterations at once (0 = no limit).
        processor_mode: ``"INLINE"`` (default) or ``"DISTRIBUTED"``.
        tolerated_failure_percentage: Failures allowed before the Map fails.
    """

    TYPE: ClassVar[str] = "Map"
    FIELDS: ClassVar[tuple[tuple[str, str], ...]] = (
        *_COMMON,
        ("items_path", "ItemsPath"),
        ("items", "Items"),
        ("item_selector", "ItemSelector"),
        ("parameters", "Parameters"),
        ("max_concurrency", "MaxConcurrency"),
        ("max_concurrency_path", "MaxConcurrencyPath"),
        ("tolerated_failure_percentage", "ToleratedFailurePercentage"),
        ("tolerated_failure_count", "ToleratedFailureCount"),
        ("result_selector", "ResultSelector"),
        ("result_path", "ResultPath"),
    )
    EXTRA_ALLOWED: ClassVar[frozenset[str]] = frozenset(
        {
            "ItemReader",
            "ItemBatcher",
            "ResultWriter",
            "Label",
            "ToleratedFailurePercentagePath",
            "ToleratedFailureCountPath",
        }
    )

    iterator: Any = attrs.field(default=None, eq=False)
    items_path: str | None = None
    items: Any = None
    item_selector: Any = None
    parameters: Any = None
    max_concurrency: int | str | None = None
    max_concurrency_path: str | None = None
    tolerated_failure_percentage: float | str | None = None
    tolerated_failure_count: int | str | None = None
    result_selector: Any = None
    result_path: str | None = None
    processor_mode: str = "INLINE"
    execution_type: str | None = None
    legacy_iterator: bool = False

    def __init__(self, name: str, iterator: Any = None, **kwargs: Any) -> None:
        self.__attrs_init__(name=name, iterator=iterator, **kwargs)

    def __attrs_post_init__(self) -> None:
        if self.iterator is None:
            raise ValidationError(f"Map {self.name!r}: an iterator (ItemProcessor) is required")


STATE_TYPES: dict[str, type[State]] = {
    cls.TYPE: cls for cls in (Pass, Task, Wait, Succeed, Fail, Choice, Parallel, Map)
}


# -- chains -----------------------------------------------------------------------------------
@attrs.frozen
class Chain:
    """States in sequence: each continues to the next; build with ``a >> b``."""

    states: tuple[State, ...] = attrs.field(converter=tuple)

    @classmethod
    def of(cls, value: State | Chain | Sequence[State]) -> Chain:
        """A chain from a state, a chain or a list of states."""
        if isinstance(value, Chain):
            return value
        if isinstance(value, State):
            return cls([value])
        if isinstance(value, Sequence) and all(isinstance(v, State) for v in value):
            return cls(list(value))
        raise ValidationError(f"cannot chain {value!r}: expected a state or a chain")

    def __rshift__(self, other: State | Chain) -> Chain:
        return Chain([*self.states, *Chain.of(other).states])

    def __rrshift__(self, other: State | Chain) -> Chain:
        return Chain([*Chain.of(other).states, *self.states])

    @property
    def start(self) -> State:
        """The first state."""
        if not self.states:
            raise ValidationError("an empty chain has no start state")
        return self.states[0]
