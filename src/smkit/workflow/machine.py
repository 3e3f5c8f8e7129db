"""``Workflow``: a named state machine, its ASL definition, validation and diagram.

A `Workflow` is built from a chain of states (``a >> b >> c``) or read from an ASL
definition with `Workflow.from_asl` (including definitions exported from the Step
Functions console, JSONPath or JSONata). It is validated when built: unknown state types,
missing ``Next``/``End``, a ``Next`` naming nothing, unreachable states, bad JSONPath or
JSONata are `ValidationError` naming the state.

Examples:
    >>> from smkit.workflow import Pass, Workflow
    >>> wf = Workflow("hello", Pass("Hi", result={"greeting": "hello"}))
    >>> wf.to_asl()["States"]["Hi"]
    {'Type': 'Pass', 'Result': {'greeting': 'hello'}, 'End': True}
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import attrs

from smkit.errors import ValidationError
from smkit.workflow.states import (
    COMPARISON_OPERATORS,
    JSON_NULL,
    NULL,
    QUERY_LANGUAGES,
    STATE_TYPES,
    Catch,
    Chain,
    Choice,
    Condition,
    Map,
    Parallel,
    Retry,
    State,
    When,
    _Errors,
    _Flow,
)

__all__ = ["Graph", "Workflow"]

_TOP_KEYS = {"Comment", "StartAt", "States", "TimeoutSeconds", "Version", "QueryLanguage"}
_JSONPATH_ONLY = {
    "InputPath",
    "OutputPath",
    "Parameters",
    "ResultSelector",
    "ResultPath",
    "ItemsPath",
    "SecondsPath",
    "TimestampPath",
    "ErrorPath",
    "CausePath",
    "TimeoutSecondsPath",
    "HeartbeatSecondsPath",
    "MaxConcurrencyPath",
}
_JSONATA_ONLY = {"Arguments", "Output", "Items"}


def _name(target: State | str) -> str:
    return target if isinstance(target, str) else target.name


@attrs.frozen
class Graph:
    """States with a start: the body of a workflow, a Parallel branch or a Map processor.

    ``states`` maps names to states whose links (``next``, Choice targets, Catch targets)
    are names.
    """

    start_at: str
    states: dict[str, State] = attrs.field(hash=False)
    comment: str | None = None
    query_language: str | None = None

    @classmethod
    def build(cls, value: Any) -> Graph:
        """A graph from a state, a chain, a list of states or a graph."""
        if isinstance(value, Graph):
            return value
        chain = Chain.of(value)
        builder = _Builder()
        builder.chain(chain)
        return cls(start_at=chain.start.name, states=builder.states)

    def to_asl(self) -> dict[str, Any]:
        """``{"StartAt": ..., "States": {...}}`` (plus ``Comment``/``QueryLanguage``)."""
        out: dict[str, Any] = {}
        if self.comment is not None:
            out["Comment"] = self.comment
        if self.query_language is not None:
            out["QueryLanguage"] = self.query_language
        out["StartAt"] = self.start_at
        out["States"] = {name: _state_to_asl(s) for name, s in self.states.items()}
        return out

    @classmethod
    def from_asl(cls, data: dict[str, Any], where: str = "definition") -> Graph:
        """Read ``{"StartAt", "States"}`` (a definition, a branch or an item processor)."""
        if not isinstance(data, dict):
            raise ValidationError(f"{where}: expected a JSON object, got {type(data).__name__}")
        if "StartAt" not in data or "States" not in data:
            raise ValidationError(f"{where}: StartAt and States are required")
        if not isinstance(data["States"], dict) or not data["States"]:
            raise ValidationError(f"{where}: States must be a non-empty object")
        states = {name: _state_from_asl(name, body) for name, body in data["States"].items()}
        return cls(
            start_at=data["StartAt"],
            states=states,
            comment=data.get("Comment"),
            query_language=data.get("QueryLanguage"),
        )

    def walk(self) -> Iterator[tuple[str, State]]:
        """Every state here and in nested branches/processors, with a dotted scope path."""
        for name, state in self.states.items():
            yield name, state
            for i, sub in enumerate(_subgraphs(state)):
                for sub_name, sub_state in sub.walk():
                    yield f"{name}[{i}].{sub_name}", sub_state


def _subgraphs(state: State) -> list[Graph]:
    if isinstance(state, Parallel):
        return list(state.branches)
    if isinstance(state, Map):
        return [state.iterator]
    return []


class _Builder:
    """Turns chains of state objects into a name → state mapping with links as names."""

    def __init__(self) -> None:
        self.states: dict[str, State] = {}
        self._origin: dict[str, int] = {}
        self._queue: list[State] = []

    def _add(self, original: State, linked: State) -> None:
        seen = self._origin.get(original.name)
        if seen is not None:
            if seen != id(original) and self.states[original.name] != linked:
                raise ValidationError(
                    f"two different states are named {original.name!r}",
                    hint="state names must be unique within a workflow",
                    state=original.name,
                )
            return
        self._origin[original.name] = id(original)
        self.states[original.name] = linked
        for target in linked_targets(original):
            if isinstance(target, State):
                self._queue.append(target)

    def chain(self, chain: Chain) -> None:
        seq = chain.states
        for i, state in enumerate(seq):
            follower = seq[i + 1] if i + 1 < len(seq) else None
            if state.name in self._origin and self._origin[state.name] == id(state):
                continue
            self._add(state, self._link(state, follower))
        while self._queue:
            state = self._queue.pop(0)
            if state.name in self._origin:
                self._add(state, self._link(state, None))
                continue
            self._add(state, self._link(state, None))

    def _link(self, state: State, follower: State | None) -> State:
        changes: dict[str, Any] = {}
        if isinstance(state, _Flow):
            if state.end:
                pass
            elif state.next is not None:
                changes["next"] = _name(state.next)
                if isinstance(state.next, State):
                    self._queue.append(state.next)
            elif follower is not None:
                changes["next"] = follower.name
            else:
                changes["end"] = True
        if isinstance(state, _Errors):
            changes["catch"] = tuple(attrs.evolve(c, next=_name(c.next)) for c in state.catch)
        if isinstance(state, Choice):
            whens = []
            for w in state.choices:
                target = w.next
                if target is None:
                    if follower is None:
                        raise ValidationError(
                            f"state {state.name!r}: a Choice rule has no next state and "
                            "nothing follows the Choice in the chain",
                            hint="give When(..., next=state) or chain a state after the Choice",
                            state=state.name,
                        )
                    target = follower
                whens.append(attrs.evolve(w, next=_name(target)))
            changes["choices"] = tuple(whens)
            if state.default is not None:
                changes["default"] = _name(state.default)
        if isinstance(state, Parallel):
            changes["branches"] = tuple(Graph.build(b) for b in state.branches)
        if isinstance(state, Map):
            changes["iterator"] = Graph.build(state.iterator)
        return attrs.evolve(state, **changes) if changes else state


def linked_targets(state: State) -> list[State | str]:
    """Every state ``state`` may go to (next, Choice targets, default, Catch targets)."""
    out: list[State | str] = []
    if isinstance(state, _Flow) and state.next is not None:
        out.append(state.next)
    out.extend(state.targets())
    return out


# -- ASL (de)serialisation --------------------------------------------------------------------
def _state_to_asl(state: State) -> dict[str, Any]:
    out = state.fields_asl()
    if isinstance(state, Choice):
        out["Choices"] = [{**w.condition.rule, "Next": w.next_name} for w in state.choices]
        if state.default is not None:
            out["Default"] = state.default_name
    if isinstance(state, Parallel):
        out["Branches"] = [Graph.build(b).to_asl() for b in state.branches]
    if isinstance(state, Map):
        body = Graph.build(state.iterator).to_asl()
        if state.legacy_iterator:
            out["Iterator"] = body
        else:
            config: dict[str, Any] = {"Mode": state.processor_mode}
            if state.execution_type is not None:
                config["ExecutionType"] = state.execution_type
            out["ItemProcessor"] = {"ProcessorConfig": config, **body}
    if isinstance(state, _Errors):
        if state.retry:
            out["Retry"] = [r.to_asl() for r in state.retry]
        if state.catch:
            out["Catch"] = [c.to_asl() for c in state.catch]
    if isinstance(state, _Flow):
        if state.end:
            out["End"] = True
        elif state.next is not None:
            out["Next"] = state.next_name
    return out


def _state_from_asl(name: str, body: Any) -> State:
    if not isinstance(body, dict):
        raise ValidationError(f"state {name!r}: expected a JSON object", state=name)
    kind = body.get("Type")
    cls = STATE_TYPES.get(kind)  # type: ignore[arg-type]
    if cls is None:
        raise ValidationError(
            f"state {name!r}: unknown state type {kind!r}; known: {', '.join(STATE_TYPES)}",
            state=name,
        )
    by_key = {key: attr for attr, key in cls.FIELDS}
    kwargs: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    structural = {"Type"}
    if issubclass(cls, _Flow):
        structural |= {"Next", "End"}
    if issubclass(cls, _Errors):
        structural |= {"Retry", "Catch"}
    if cls is Choice:
        structural |= {"Choices", "Default"}
    if cls is Parallel:
        structural |= {"Branches"}
    if cls is Map:
        structural |= {"ItemProcessor", "Iterator"}
    for key, value in body.items():
        if key in structural:
            continue
        if key in by_key:
            if value is None:
                value = NULL if key in cls.NULLABLE else JSON_NULL
            kwargs[by_key[key]] = value
        elif key in cls.EXTRA_ALLOWED:
            extra[key] = value
        else:
            raise ValidationError(
                f"state {name!r}: field {key!r} is not allowed in a {kind} state",
                state=name,
            )
    if extra:
        kwargs["extra"] = extra
    try:
        if issubclass(cls, _Flow):
            if "Next" in body:
                kwargs["next"] = _state_name(body["Next"], name, "Next")
            if "End" in body:
                if not isinstance(body["End"], bool):
                    raise ValidationError(f"state {name!r}: End must be true or false", state=name)
                kwargs["end"] = body["End"]
        if issubclass(cls, _Errors):
            kwargs["retry"] = tuple(Retry.from_asl(r) for r in _list(body, "Retry", name))
            kwargs["catch"] = tuple(Catch.from_asl(c) for c in _list(body, "Catch", name))
        if cls is Choice:
            rules = []
            for rule in _list(body, "Choices", name):
                if not isinstance(rule, dict) or "Next" not in rule:
                    raise ValidationError(f"state {name!r}: every Choice rule needs Next")
                rule = dict(rule)
                target = _state_name(rule.pop("Next"), name, "a Choice rule's Next")
                rules.append(When(Condition(rule), target))
            kwargs["choices"] = tuple(rules)
            if "Default" in body:
                kwargs["default"] = _state_name(body["Default"], name, "Default")
        if cls is Parallel:
            kwargs["branches"] = tuple(
                Graph.from_asl(b, f"state {name!r} branch {i}")
                for i, b in enumerate(_list(body, "Branches", name))
            )
        if cls is Map:
            if "ItemProcessor" in body:
                proc = dict(body["ItemProcessor"])
                config = proc.pop("ProcessorConfig", {}) or {}
                kwargs["processor_mode"] = config.get("Mode", "INLINE")
                kwargs["execution_type"] = config.get("ExecutionType")
                kwargs["iterator"] = Graph.from_asl(proc, f"state {name!r} ItemProcessor")
            elif "Iterator" in body:
                kwargs["iterator"] = Graph.from_asl(body["Iterator"], f"state {name!r} Iterator")
                kwargs["legacy_iterator"] = True
        return cls(name, **kwargs)  # type: ignore[call-arg]
    except ValidationError as exc:
        if name in str(exc):
            raise
        raise ValidationError(f"state {name!r}: {exc}", state=name) from None
    except TypeError as exc:
        raise ValidationError(f"state {name!r}: {exc}", state=name) from None


def _state_name(value: Any, state: str, field: str) -> str:
    """A state name from a definition; anything but a non-empty string is refused."""
    if not isinstance(value, str) or not value:
        raise ValidationError(
            f"state {state!r}: {field} must name a state (a non-empty string), got {value!r}",
            state=state,
        )
    return value


def _list(body: dict[str, Any], key: str, name: str) -> list[Any]:
    value = body.get(key, [])
    if not isinstance(value, list):
        raise ValidationError(f"state {name!r}: {key} must be a list", state=name)
    return value


# -- validation -------------------------------------------------------------------------------
def _fail(state: str, message: str, hint: str | None = None) -> None:
    raise ValidationError(f"state {state!r}: {message}", hint=hint, state=state)


def validate_graph(graph: Graph, query_language: str = "JSONPath", where: str = "") -> None:
    """Raise `ValidationError` for the first problem, naming the state."""
    ql_top = graph.query_language or query_language
    if not isinstance(graph.start_at, str) or graph.start_at not in graph.states:
        raise ValidationError(
            f"{where or 'definition'}: StartAt {graph.start_at!r} names no state; states: "
            f"{', '.join(graph.states)}"
        )
    for name, state in graph.states.items():
        ql = state.query_language or ql_top
        label = f"{where}{name}"
        _validate_state(label, state, graph, ql)
        for i, sub in enumerate(_subgraphs(state)):
            validate_graph(sub, ql, where=f"{label} branch {i} > ")
    reachable: set[str] = set()
    todo = [graph.start_at]
    while todo:
        name = todo.pop()
        if name in reachable or name not in graph.states:
            continue
        reachable.add(name)
        todo.extend(_name(t) for t in linked_targets(graph.states[name]))
    for name in graph.states:
        if name not in reachable:
            _fail(
                f"{where}{name}",
                f"unreachable from StartAt {graph.start_at!r}",
                "link it with Next/Choices/Catch or remove it",
            )


def _check(label: str, what: str, fn: Any, value: Any) -> None:
    try:
        fn(value)
    except ValueError as exc:
        _fail(label, f"{what}: {exc}")


def _validate_state(label: str, state: State, graph: Graph, ql: str) -> None:
    from smkit.workflow import query

    asl = state.fields_asl()
    if ql == "JSONata":
        bad = sorted(k for k in asl if k in _JSONPATH_ONLY)
        if bad:
            _fail(label, f"{', '.join(bad)} not allowed with QueryLanguage JSONata")
        for key, value in asl.items():
            if key not in ("Type", "Comment", "QueryLanguage"):
                _check(label, key, query.check_jsonata_template, value)
    else:
        bad = sorted(k for k in asl if k in _JSONATA_ONLY)
        if bad:
            _fail(
                label,
                f"{', '.join(bad)} only allowed with QueryLanguage JSONata",
                'set "QueryLanguage": "JSONata" on the state or the workflow',
            )
        for key in ("InputPath", "OutputPath", "ItemsPath", "SecondsPath", "TimestampPath"):
            if asl.get(key) is not None:
                _check(label, key, query.check_path, asl[key])
        for key in ("ErrorPath", "CausePath", "TimeoutSecondsPath", "HeartbeatSecondsPath"):
            value = asl.get(key)
            if value is not None and str(value).startswith("States."):
                _check(label, key, query.parse_intrinsic, value)
            elif value is not None:
                _check(label, key, query.check_path, value)
        if asl.get("ResultPath") is not None:
            _check(label, "ResultPath", query.check_reference_path, asl["ResultPath"])
        for key in ("Parameters", "ResultSelector", "ItemSelector", "Assign"):
            if key in asl:
                _check(label, key, query.check_template, asl[key])
    if state.query_language is not None and state.query_language not in QUERY_LANGUAGES:
        _fail(label, f"QueryLanguage {state.query_language!r} is not JSONPath or JSONata")
    if isinstance(state, _Flow):
        has_next, has_end = state.next is not None, bool(state.end)
        if has_next == has_end:
            _fail(
                label,
                "needs exactly one of Next and End"
                + (" (it has both)" if has_next else " (it has neither)"),
                "add Next naming the following state, or End: true",
            )
        if has_next and state.next_name not in graph.states:
            _fail(label, f"Next {state.next_name!r} names no state in this scope")
    if isinstance(state, _Errors):
        for i, retry in enumerate(state.retry):
            if "States.ALL" in retry.error_equals and i != len(state.retry) - 1:
                _fail(label, "a Retry with States.ALL must be the last retrier")
        for i, catch in enumerate(state.catch):
            if "States.ALL" in catch.error_equals and i != len(state.catch) - 1:
                _fail(label, "a Catch with States.ALL must be the last catcher")
            if catch.next_name not in graph.states:
                _fail(label, f"Catch Next {catch.next_name!r} names no state in this scope")
            if catch.result_path not in (None, NULL):
                _check(label, "Catch ResultPath", query.check_reference_path, catch.result_path)
    if isinstance(state, Choice):
        if not state.choices:
            _fail(label, "a Choice state needs at least one rule in Choices")
        for w in state.choices:
            if w.next_name not in graph.states:
                _fail(label, f"Choice rule Next {w.next_name!r} names no state in this scope")
            _validate_rule(label, w.condition.rule, ql, top=True)
        if state.default is not None and state.default_name not in graph.states:
            _fail(label, f"Default {state.default_name!r} names no state in this scope")
    kind = state.TYPE
    if kind == "Task" and not isinstance(asl.get("Resource"), str):
        _fail(label, "a Task needs a Resource ARN")
    if kind == "Task" and asl["Resource"].startswith(_NO_SUCH_INTEGRATION):
        _fail(
            label,
            f"Resource {asl['Resource']!r} is not a Step Functions integration",
            "call an endpoint with arn:aws:states:::aws-sdk:sagemakerruntime:invokeEndpoint",
        )
    if kind == "Wait":
        given = [k for k in ("Seconds", "Timestamp", "SecondsPath", "TimestampPath") if k in asl]
        if len(given) != 1:
            _fail(
                label,
                "a Wait needs exactly one of Seconds, Timestamp, SecondsPath, TimestampPath"
                + (f" (it has {', '.join(given)})" if given else ""),
            )
        _validate_wait(label, asl, ql)
    if kind == "Map" and state.processor_mode not in ("INLINE", "DISTRIBUTED"):  # type: ignore[attr-defined]
        _fail(label, "ItemProcessor Mode must be INLINE or DISTRIBUTED")


#: ``sagemaker:invokeEndpoint`` is no optimized integration (AWS: "Invoke SageMaker AI"
#: lists create/stop jobs only); endpoints are called through the SDK integration.
_NO_SUCH_INTEGRATION = "arn:aws:states:::sagemaker:invokeEndpoint"
_MAX_WAIT = 99_999_999


def _validate_wait(label: str, asl: dict[str, Any], ql: str) -> None:
    """Wait literals AWS rejects at creation: ``Seconds`` outside 0..99999999 and a
    ``Timestamp`` that is not RFC 3339 with an uppercase ``T`` and ``Z``/offset."""
    from smkit.workflow import query

    seconds = asl.get("Seconds")
    if (
        seconds is not None
        and not (ql == "JSONata" and query.is_jsonata(seconds))
        and (
            isinstance(seconds, bool)
            or not isinstance(seconds, int)
            or not 0 <= seconds <= _MAX_WAIT
        )
    ):
        _fail(label, f"Seconds must be an integer from 0 to {_MAX_WAIT}, got {seconds!r}")
    stamp = asl.get("Timestamp")
    literal = stamp is not None and not (ql == "JSONata" and query.is_jsonata(stamp))
    if literal and query.parse_timestamp(stamp) is None:
        _fail(
            label,
            f"Timestamp {stamp!r} is not an RFC 3339 timestamp",
            "write it like 2024-08-18T17:33:00Z (uppercase T, Z or a +hh:mm offset)",
        )


def _validate_rule(label: str, rule: Any, ql: str, *, top: bool) -> None:
    from smkit.workflow import query

    if not isinstance(rule, dict):
        _fail(label, f"a Choice rule must be an object, got {rule!r}")
    if "Next" in rule and not top:
        _fail(label, "a nested Choice rule (inside And/Or/Not) must not have Next")
    keys = set(rule) - {"Next", "Comment", "Assign", "Output"}
    if ql == "JSONata":
        if keys != {"Condition"}:
            _fail(label, f"a JSONata Choice rule needs only Condition, got {sorted(keys)}")
        _check(label, "Condition", query.check_jsonata, rule["Condition"])
        return
    if "Condition" in keys:
        _fail(label, "Condition is only allowed with QueryLanguage JSONata")
    if keys & {"And", "Or"}:
        op = next(iter(keys & {"And", "Or"}))
        if keys != {op} or not isinstance(rule[op], list) or not rule[op]:
            _fail(label, f"{op} needs a non-empty list of rules and nothing else")
        for sub in rule[op]:
            _validate_rule(label, sub, ql, top=False)
        return
    if "Not" in keys:
        if keys != {"Not"}:
            _fail(label, "Not must be alone in its rule")
        _validate_rule(label, rule["Not"], ql, top=False)
        return
    if "Variable" not in keys:
        _fail(label, f"a Choice rule needs Variable (or And/Or/Not), got {sorted(keys)}")
    _check(label, "Variable", query.check_path, rule["Variable"])
    ops = keys - {"Variable"}
    if len(ops) != 1 or next(iter(ops)) not in COMPARISON_OPERATORS:
        _fail(
            label,
            f"a Choice rule needs exactly one comparison operator, got {sorted(ops)}",
            f"use one of {', '.join(COMPARISON_OPERATORS)}",
        )
    op = next(iter(ops))
    value = rule[op]
    if op.endswith("Path"):
        _check(label, op, query.check_path, value)
    elif op.startswith("Is") or op.startswith("Boolean"):
        if not isinstance(value, bool):
            _fail(label, f"{op} needs true or false, got {value!r}")
    elif op.startswith("Numeric"):
        if isinstance(value, bool) or not isinstance(value, int | float):
            _fail(label, f"{op} needs a number, got {value!r}")
    elif not isinstance(value, str):
        _fail(label, f"{op} needs a string, got {value!r}")


# -- the workflow -----------------------------------------------------------------------------
def _to_graph(value: Any) -> Graph:
    return Graph.build(value)


@attrs.frozen
class Workflow:
    """A named state machine.

    Args:
        name: State machine name (1-80 characters: letters, digits, ``-`` and ``_``).
        definition: A state, a chain (``a >> b``) or a `Graph`.
        comment: ``Comment`` of the definition.
        timeout_seconds: ``TimeoutSeconds``: the execution fails with ``States.Timeout`` after.
        query_language: ``"JSONPath"`` (default) or ``"JSONata"`` for every state.
        version: ``Version`` of the definition.

    Raises:
        ValidationError: the definition is invalid (the message names the state).
    """

    name: str = attrs.field()
    definition: Graph = attrs.field(converter=_to_graph)
    comment: str | None = None
    timeout_seconds: int | None = None
    query_language: str | None = None
    version: str | None = None

    @name.validator
    def _check_name(self, attribute: attrs.Attribute, value: str) -> None:
        if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z0-9_-]{1,80}", value):
            raise ValidationError(
                f"workflow name {value!r}: use 1-80 letters, digits, '-' or '_'",
            )

    def __attrs_post_init__(self) -> None:
        if self.query_language is not None and self.query_language not in QUERY_LANGUAGES:
            raise ValidationError(
                f"workflow {self.name!r}: QueryLanguage must be JSONPath or JSONata, "
                f"got {self.query_language!r}"
            )
        if self.timeout_seconds is not None and (
            not isinstance(self.timeout_seconds, int) or self.timeout_seconds <= 0
        ):
            raise ValidationError(
                f"workflow {self.name!r}: TimeoutSeconds must be a positive integer"
            )
        self.validate()

    @property
    def states(self) -> dict[str, State]:
        """The top-level states by name."""
        return self.definition.states

    @property
    def start_at(self) -> str:
        """Name of the first state."""
        return self.definition.start_at

    def validate(self) -> Workflow:
        """Check the definition (done on construction); returns ``self``."""
        validate_graph(self.definition, self.query_language or "JSONPath")
        return self

    def lambda_specs(self) -> dict[str, Any]:
        """LambdaSpecs attached to Task states (here and in branches), by function name."""
        out: dict[str, Any] = {}
        for _, state in self.definition.walk():
            spec = getattr(state, "lambda_spec", None)
            if spec is not None:
                out[spec.function_name] = spec
        return out

    def to_asl(self) -> dict[str, Any]:
        """The Amazon States Language definition as a dict."""
        out: dict[str, Any] = {}
        if self.comment is not None:
            out["Comment"] = self.comment
        if self.query_language is not None:
            out["QueryLanguage"] = self.query_language
        out["StartAt"] = self.start_at
        out["States"] = self.definition.to_asl()["States"]
        if self.timeout_seconds is not None:
            out["TimeoutSeconds"] = self.timeout_seconds
        if self.version is not None:
            out["Version"] = self.version
        return out

    def to_json(self, indent: int | None = 2) -> str:
        """The definition as JSON text."""
        return json.dumps(self.to_asl(), indent=indent)

    @classmethod
    def from_asl(cls, definition: dict[str, Any] | str | Path, name: str = "workflow") -> Workflow:
        """Read an ASL definition (a dict, JSON text or a ``.json``/``.asl.json`` file).

        Raises:
            FormatError: the text is not JSON.
            ValidationError: the definition is invalid (naming the state).
        """
        from smkit.errors import FormatError, SourceNotFoundError

        data: Any = definition
        if isinstance(definition, Path) or (
            isinstance(definition, str) and not definition.lstrip().startswith("{")
        ):
            path = Path(definition)
            try:
                data = path.read_text()
            except (OSError, ValueError) as exc:
                raise SourceNotFoundError(
                    f"no definition file {str(path)[:200]!r}: {type(exc).__name__}"
                ) from None
        if isinstance(data, str):
            try:
                data = json.loads(data)
            except (ValueError, RecursionError) as exc:
                raise FormatError(f"the definition is not valid JSON: {exc}") from None
        if not isinstance(data, dict):
            raise ValidationError("an ASL definition is a JSON object")
        unknown = set(data) - _TOP_KEYS
        if unknown:
            raise ValidationError(f"definition: unknown top-level field(s) {sorted(unknown)}")
        depth = _nesting_depth(data)
        if depth > MAX_NESTING:
            raise ValidationError(
                f"definition: Parallel/Map states nested {depth} deep; at most {MAX_NESTING}",
                depth=depth,
            )
        graph = Graph.from_asl({k: data[k] for k in ("StartAt", "States") if k in data})
        return cls(
            name,
            graph,
            comment=data.get("Comment"),
            timeout_seconds=data.get("TimeoutSeconds"),
            query_language=data.get("QueryLanguage"),
            version=data.get("Version"),
        )

    def diagram(
        self, path: Iterable[str] = (), *, failed: str | None = None, direction: str = "TD"
    ) -> str:
        """The state machine as a mermaid flowchart; states in ``path`` (an execution's
        visited states, see ``Execution.path``) are highlighted, ``failed`` in red."""
        from smkit.workflow.diagram import mermaid

        return mermaid(self, path=path, failed=failed, direction=direction)


#: Deepest nesting of Parallel branches / Map processors a definition may have (smkit's
#: limit: parsing and running recurse once per level).
MAX_NESTING = 40


def _nesting_depth(data: Any) -> int:
    """How deep ``States`` objects nest in an ASL definition (iterative: never recurses)."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(data, 0)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            here = depth + 1 if isinstance(node.get("States"), dict) else depth
            deepest = max(deepest, here)
            if here > MAX_NESTING:
                return here
            stack.extend((v, here) for v in node.values() if isinstance(v, dict | list))
        elif isinstance(node, list):
            stack.extend((v, depth) for v in node if isinstance(v, dict | list))
    return deepest
