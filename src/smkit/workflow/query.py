"""The two query languages of the Amazon States Language: JSONPath and JSONata.

JSONPath (the ASL default) drives ``InputPath``, ``Parameters`` (keys ending in ``.$``, whose
values are paths or intrinsic functions such as ``States.Format``), ``ResultSelector``,
``ResultPath`` and ``OutputPath``. JSONata (``"QueryLanguage": "JSONata"``) drives
``Arguments``, ``Output``, ``Assign`` and every ``{% ... %}`` expression, over ``$states``
(``input``, ``result``, ``errorOutput``, ``context``) and the workflow's variables.

Semantics follow the ASL specification:

* a path that starts with ``$$`` reads the context object, ``$name`` a variable, ``$`` the input;
* a definite path (no wildcard, filter, slice or union) gives its one value, an indefinite one
  the list of its matches; a definite path that matches nothing is a ``States.Runtime`` error;
* ``ResultPath`` is a *reference path* (no wildcards) naming where the result goes; missing
  objects on the way are created, a non-object on the way is ``States.ResultPathMatchFailure``.

Errors raised while evaluating are `StatesError` with the ASL error name, so the executor
can match them against ``Retry``/``Catch``. jsonpath-ng and jsonata-python are imported lazily.
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
import re
import threading
import uuid
from collections.abc import Callable, Mapping
from typing import Any

__all__ = [
    "MISSING",
    "StatesError",
    "apply_result_path",
    "check_path",
    "check_reference_path",
    "evaluate_intrinsic",
    "evaluate_jsonata",
    "is_jsonata",
    "parse_intrinsic",
    "process_template",
    "read_path",
    "render_jsonata",
]


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


#: Marker for "the path matched nothing".
MISSING: Any = _Missing()


class StatesError(Exception):
    """An ASL error: ``error`` is the name matched by Retry/Catch, ``cause`` the detail."""

    def __init__(self, error: str | None, cause: str | None = "") -> None:
        self.error = error
        self.cause = cause
        super().__init__(f"{error}: {cause}" if cause else str(error))


# -- JSONPath -------------------------------------------------------------------------------
_INDEFINITE = re.compile(r"\*|\.\.|\[\s*\?|\[[^\]'\"]*[:,][^\]'\"]*\]")
_VAR = re.compile(r"^\$([A-Za-z_][A-Za-z0-9_]*)(.*)$", re.S)
_parsed: dict[str, Any] = {}


def _parse(path: str) -> Any:
    expr = _parsed.get(path)
    if expr is None:
        from jsonpath_ng.ext import parse

        try:
            expr = parse(path)
        except Exception as exc:  # JsonPathParserError, JsonPathLexerError, ...
            raise ValueError(f"invalid JSONPath {path!r}: {exc}") from exc
        _parsed[path] = expr
    return expr


def _split_root(path: str) -> tuple[str, str | None, str]:
    """``(root, variable, rest)``: root is ``input``, ``context`` or ``variable``."""
    if not isinstance(path, str) or not path.startswith("$"):
        raise ValueError(f"invalid JSONPath {path!r}: a path starts with '$'")
    if path.startswith("$$"):
        return "context", None, "$" + path[2:]
    m = _VAR.match(path)
    if m:
        return "variable", m.group(1), "$" + m.group(2)
    return "input", None, path


def check_path(path: str) -> None:
    """Raise ``ValueError`` naming ``path`` when it is not a valid ASL path."""
    _root, _var, rest = _split_root(path)
    if rest != "$" and _simple_parts(rest) is None:
        _parse(rest)


def check_reference_path(path: str) -> None:
    """Raise ``ValueError`` when ``path`` is not a valid *reference* path (for ResultPath)."""
    check_path(path)
    root, _var, rest = _split_root(path)
    if root != "input":
        raise ValueError(f"invalid reference path {path!r}: it must start with '$' or '$.'")
    if _INDEFINITE.search(rest):
        raise ValueError(
            f"invalid reference path {path!r}: wildcards, filters, slices and unions are not "
            "allowed here"
        )


_SIMPLE_TOKEN = re.compile(
    r"\.([A-Za-z_][A-Za-z0-9_-]*)|\[\s*'((?:[^'\\]|\\.)*)'\s*\]"
    r"|\[\s*\"((?:[^\"\\]|\\.)*)\"\s*\]|\[\s*(\d+)\s*\]"
)
_simple: dict[str, list[str | int] | None] = {}


def _unescape_name(raw: str) -> str:
    return re.sub(r"\\(.)", r"\1", raw)


def _simple_parts(rest: str) -> list[str | int] | None:
    """The steps of a definite path made of ``.name``, ``['name']``, ``["name"]`` and
    ``[index]`` (quotes inside brackets escaped with a backslash), or ``None``."""
    if rest in _simple:
        return _simple[rest]
    parts: list[str | int] | None = []
    pos = 1
    while pos < len(rest):
        m = _SIMPLE_TOKEN.match(rest, pos)
        if not m:
            parts = None
            break
        if m.group(1) is not None:
            parts.append(m.group(1))  # type: ignore[union-attr]
        elif m.group(2) is not None:
            parts.append(_unescape_name(m.group(2)))  # type: ignore[union-attr]
        elif m.group(3) is not None:
            parts.append(_unescape_name(m.group(3)))  # type: ignore[union-attr]
        else:
            parts.append(int(m.group(4)))  # type: ignore[union-attr]
        pos = m.end()
    if len(_simple) < 10_000:
        _simple[rest] = parts
    return parts


def _walk(parts: list[str | int], doc: Any) -> Any:
    node = doc
    for part in parts:
        if isinstance(part, int):
            if not isinstance(node, list) or part >= len(node):
                return MISSING
        elif not isinstance(node, dict) or part not in node:
            return MISSING
        node = node[part]
    return node


def _find(rest: str, doc: Any) -> Any:
    if rest == "$":
        return doc
    parts = _simple_parts(rest)
    if parts is not None:
        return _walk(parts, doc)
    matches = [m.value for m in _parse(rest).find(doc)]
    if _INDEFINITE.search(rest):
        return matches
    return matches[0] if matches else MISSING


_roots: dict[str, tuple[str, str | None, str]] = {}


def read_path(
    path: str,
    document: Any,
    *,
    context: Any = None,
    variables: Mapping[str, Any] | None = None,
) -> Any:
    """The value at ``path``: from the context (``$$``), a variable (``$name``) or ``document``.

    Returns:
        The value, or `MISSING` when a definite path matches nothing.
    """
    if path == "$":
        return document
    split = _roots.get(path) if isinstance(path, str) else None
    if split is None:
        try:
            split = _split_root(path)
        except ValueError as exc:
            raise StatesError("States.Runtime", str(exc)) from None
        if len(_roots) < 10_000:
            _roots[path] = split
    root, var, rest = split
    if root == "input":
        parts = _simple_parts(rest) if rest != "$" else []
        if parts is not None:  # the common case, without the general matcher
            return _walk(parts, document)
    if root == "context":
        doc = context
    elif root == "variable":
        vars_ = variables or {}
        if var not in vars_:
            raise StatesError("States.Runtime", f"The variable '${var}' is not defined")
        doc = vars_[var]
    else:
        doc = document
    try:
        return _find(rest, doc)
    except ValueError as exc:
        raise StatesError("States.Runtime", str(exc)) from None


def select(
    path: str | None,
    document: Any,
    *,
    field: str,
    context: Any = None,
    variables: Mapping[str, Any] | None = None,
) -> Any:
    """``InputPath``/``OutputPath``/``ItemsPath`` semantics: ``None`` gives ``{}``, a missing
    value is a ``States.Runtime`` error naming ``field``."""
    if path is None:
        return {}
    value = read_path(path, document, context=context, variables=variables)
    if value is MISSING:
        raise StatesError(
            "States.Runtime",
            f"An error occurred while executing the state. Invalid path '{path}' in {field}: "
            "the path could not be found in the input",
        )
    return value


def apply_result_path(path: str | None, state_input: Any, result: Any) -> Any:
    """Combine the state input with the result as ``ResultPath`` says (ASL semantics)."""
    if path is None:
        return state_input
    if path == "$":
        return result
    try:
        check_reference_path(path)
    except ValueError as exc:
        raise StatesError("States.Runtime", str(exc)) from None
    parts = _reference_parts(path)
    if not isinstance(state_input, dict):
        raise StatesError(
            "States.ResultPathMatchFailure",
            f"Unable to apply ResultPath '{path}' to input {json.dumps(state_input)}: "
            "the input is not a JSON object",
        )
    # copy only the containers on the way down (values are never changed in place), so the
    # cost is the depth of the path, not the size of the input
    output: Any = dict(state_input)
    node: Any = output
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        if isinstance(part, int):
            if not isinstance(node, list) or not -len(node) <= part < len(node):
                raise StatesError(
                    "States.ResultPathMatchFailure",
                    f"Unable to apply ResultPath '{path}': index {part} does not exist",
                )
            if last:
                node[part] = result
            else:
                child = node[part]
                node[part] = child = (
                    dict(child)
                    if isinstance(child, dict)
                    else list(child)
                    if isinstance(child, list)
                    else child
                )
                node = child
            continue
        if not isinstance(node, dict):
            raise StatesError(
                "States.ResultPathMatchFailure",
                f"Unable to apply ResultPath '{path}': {part!r} is below a value that is not "
                "a JSON object",
            )
        if last:
            node[part] = result
        else:
            child = node.get(part)
            if part not in node:
                child = {}
            elif isinstance(child, dict):
                child = dict(child)
            elif isinstance(child, list):
                child = list(child)
            node[part] = child
            node = child
    return output


_REF_TOKEN = re.compile(
    r"\.([^.\[\]]+)|\[\s*'((?:[^'\\]|\\.)*)'\s*\]|\[\s*(-?\d+)\s*\]"
    r"|\[\s*\"((?:[^\"\\]|\\.)*)\"\s*\]"
)


def _reference_parts(path: str) -> list[str | int]:
    rest = path[1:]
    parts: list[str | int] = []
    pos = 0
    while pos < len(rest):
        m = _REF_TOKEN.match(rest, pos)
        if not m:
            raise StatesError("States.Runtime", f"invalid reference path {path!r}")
        if m.group(1) is not None:
            parts.append(m.group(1))
        elif m.group(2) is not None:
            parts.append(_unescape_name(m.group(2)))
        elif m.group(4) is not None:
            parts.append(_unescape_name(m.group(4)))
        else:
            parts.append(int(m.group(3)))
        pos = m.end()
    return parts


# -- payload templates (Parameters, ResultSelector, ItemSelector, JSONPath Assign) -----------
def process_template(
    template: Any,
    document: Any,
    *,
    context: Any = None,
    variables: Mapping[str, Any] | None = None,
    field: str = "Parameters",
) -> Any:
    """Evaluate a payload template: keys ending in ``.$`` take the value of their path or
    intrinsic function (and lose the suffix); nested objects and arrays are processed too."""
    if isinstance(template, dict):
        out: dict[str, Any] = {}
        for key, value in template.items():
            if key.endswith(".$"):
                if not isinstance(value, str):
                    raise StatesError(
                        "States.Runtime",
                        f"{field}: the value of {key!r} must be a path or an intrinsic function",
                    )
                if value.startswith("States."):
                    out[key[:-2]] = evaluate_intrinsic(
                        value, document, context=context, variables=variables
                    )
                else:
                    got = read_path(value, document, context=context, variables=variables)
                    if got is MISSING:
                        raise StatesError(
                            "States.Runtime",
                            f"The JSONPath '{value}' specified for the field '{key}' in {field} "
                            "could not be found in the input",
                        )
                    out[key[:-2]] = got
            else:
                out[key] = process_template(
                    value, document, context=context, variables=variables, field=field
                )
        return out
    if isinstance(template, list):
        return [
            process_template(v, document, context=context, variables=variables, field=field)
            for v in template
        ]
    return template  # a scalar: immutable


def check_template(template: Any) -> None:
    """Raise ``ValueError`` for a ``.$`` key whose value is neither a path nor an intrinsic."""
    if isinstance(template, dict):
        for key, value in template.items():
            if key.endswith(".$"):
                if not isinstance(value, str):
                    raise ValueError(f"the value of {key!r} must be a string path")
                if value.startswith("States."):
                    parse_intrinsic(value)
                else:
                    check_path(value)
            else:
                check_template(value)
    elif isinstance(template, list):
        for value in template:
            check_template(value)


# -- intrinsic functions ----------------------------------------------------------------------
_TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:[^'\\]|\\.)*')|(?P<num>-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)"
    r"|(?P<fn>States\.[A-Za-z0-9]+)\s*\(|(?P<path>\$[^,()\s]*(?:\([^()]*\)[^,()\s]*)*)"
    r"|(?P<kw>true|false|null)|(?P<comma>,)|(?P<close>\)))"
)


#: In an intrinsic's string literal only ' { } and \ may follow a backslash (AWS:
#: "Reserved characters in intrinsic functions").
def _bad_escape(raw: str) -> str | None:
    for m in re.finditer(r"\\(.|$)", raw, re.S):
        if m.group(1) not in ("'", "{", "}", "\\"):
            return m.group(0)
    return None


_intrinsics: dict[str, tuple[str, list[Any]]] = {}


def parse_intrinsic(text: str) -> tuple[str, list[Any]]:
    """Parse ``States.Name(arg, ...)`` (cached; see `_parse_intrinsic`)."""
    tree = _intrinsics.get(text)
    if tree is None:
        tree = _parse_intrinsic(text)
        if len(_intrinsics) < 10_000:
            _intrinsics[text] = tree
    return tree


def _parse_intrinsic(text: str) -> tuple[str, list[Any]]:
    """Parse ``States.Name(arg, ...)`` into ``(name, args)``; args are ``("lit", v)``,
    ``("path", p)`` or nested ``("fn", (name, args))``. ``ValueError`` when malformed."""
    pos = 0

    def call(name: str) -> tuple[str, list[Any]]:
        nonlocal pos
        args: list[Any] = []
        expect_arg = True
        while True:
            m = _TOKEN.match(text, pos)
            if not m:
                raise ValueError(f"invalid intrinsic function {text!r} at character {pos}")
            pos = m.end()
            if m.group("close"):
                if expect_arg and args:
                    raise ValueError(f"invalid intrinsic function {text!r}: dangling ','")
                return name, args
            if m.group("comma"):
                if expect_arg:
                    raise ValueError(f"invalid intrinsic function {text!r}: empty argument")
                expect_arg = True
                continue
            if not expect_arg:
                raise ValueError(f"invalid intrinsic function {text!r}: missing ','")
            expect_arg = False
            if m.group("str") is not None:
                raw = m.group("str")[1:-1]
                bad = _bad_escape(raw)
                if bad is not None:
                    raise ValueError(
                        f"invalid intrinsic function {text!r}: illegal escape sequence "
                        f"{bad!r} (only \\', \\{{, \\}} and \\\\ are allowed)"
                    )
                args.append(("str", (re.sub(r"\\(.)", r"\1", raw), raw)))
            elif m.group("num") is not None:
                num = m.group("num")
                args.append(("lit", float(num) if any(c in num for c in ".eE") else int(num)))
            elif m.group("fn"):
                args.append(("fn", call(m.group("fn"))))
            elif m.group("path"):
                check_path(m.group("path"))
                args.append(("path", m.group("path")))
            elif m.group("kw"):
                args.append(("lit", {"true": True, "false": False, "null": None}[m.group("kw")]))

    m = re.match(r"\s*(States\.[A-Za-z0-9]+)\s*\(", text)
    if not m:
        raise ValueError(f"invalid intrinsic function {text!r}: expected States.Name(...)")
    name = m.group(1)
    if name not in INTRINSICS:
        raise ValueError(
            f"unknown intrinsic function {name!r}; known: {', '.join(sorted(INTRINSICS))}"
        )
    pos = m.end()
    result = call(name)
    if text[pos:].strip():
        raise ValueError(f"invalid intrinsic function {text!r}: text after the closing ')'")
    _check_nested(result)
    return result


def _check_nested(node: tuple[str, list[Any]]) -> None:
    name, args = node
    if name not in INTRINSICS:
        raise ValueError(f"unknown intrinsic function {name!r}")
    for kind, value in args:
        if kind == "fn":
            _check_nested(value)


def evaluate_intrinsic(
    text: str,
    document: Any,
    *,
    context: Any = None,
    variables: Mapping[str, Any] | None = None,
) -> Any:
    """Evaluate an intrinsic function call against the input, context and variables."""
    try:
        tree = parse_intrinsic(text)
    except ValueError as exc:
        raise StatesError("States.IntrinsicFailure", str(exc)) from None

    def run(node: tuple[str, list[Any]]) -> Any:
        name, args = node
        values = []
        for i, (kind, value) in enumerate(args):
            if kind == "str":
                unescaped, raw = value
                # States.Format resolves \{ and \} itself: give it the template as written
                values.append(raw if name == "States.Format" and i == 0 else unescaped)
            elif kind == "lit":
                values.append(value)
            elif kind == "fn":
                values.append(run(value))
            else:
                got = read_path(value, document, context=context, variables=variables)
                if got is MISSING:
                    raise StatesError(
                        "States.Runtime", f"The JSONPath '{value}' could not be found in the input"
                    )
                values.append(got)
        try:
            return INTRINSICS[name](*values)
        except StatesError:
            raise
        except Exception as exc:
            raise StatesError(
                "States.IntrinsicFailure", f"{name} failed on arguments {values!r}: {exc}"
            ) from None

    return run(tree)


def _format(template: str, *args: Any) -> str:
    if not isinstance(template, str):
        raise TypeError("the first argument must be a string")
    pieces = re.split(r"(?<!\\)\{\}", template)
    if len(pieces) - 1 != len(args):
        raise ValueError(f"{len(pieces) - 1} '{{}}' placeholders but {len(args)} arguments")

    def unescape(text: str) -> str:
        return re.sub(r"\\([{}\\'])", r"\1", text)

    out = [unescape(pieces[0])]
    for arg, piece in zip(args, pieces[1:], strict=True):
        out.append(format_value(arg))
        out.append(unescape(piece))
    return "".join(out)


def format_value(value: Any) -> str:
    """A value as ``States.Format`` writes it on AWS: strings bare, objects as
    ``{key=value, ...}`` and arrays as ``[a, b]`` (Java's map/list rendering), numbers,
    booleans and ``null`` as in JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}={format_value(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(format_value(v) for v in value) + "]"
    return json.dumps(value)


def _java_round(value: Any) -> int:
    """Java's ``Math.round``: half-way values go up (1.5 -> 2, -0.5 -> 0)."""
    import math

    number = _num(value)
    return int(number) if isinstance(number, int) else math.floor(number + 0.5)


def _math_add(a: Any, b: Any) -> int:
    return _java_round(a) + _java_round(b)


def _string_to_json(text: Any) -> Any:
    if not isinstance(text, str):
        raise TypeError("the argument must be a string")
    if not text.strip():
        return None
    return json.loads(text)


def _num(value: Any) -> int | float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{value!r} is not a number")
    return value


def _array_range(start: int, end: int, step: int) -> list[int]:
    start, end, step = int(_num(start)), int(_num(end)), int(_num(step))
    if step == 0:
        raise ValueError("step must not be 0")
    out = list(range(start, end + (1 if step > 0 else -1), step))
    if len(out) > 1000:
        raise ValueError("States.ArrayRange may produce at most 1000 items")
    return out


def _partition(array: list[Any], size: int) -> list[list[Any]]:
    size = int(_num(size))
    if size <= 0:
        raise ValueError("the chunk size must be positive")
    return [array[i : i + size] for i in range(0, len(array), size)]


def _unique(array: list[Any]) -> list[Any]:
    out: list[Any] = []
    for item in array:
        if item not in out:
            out.append(item)
    return out


def _merge(a: dict[str, Any], b: dict[str, Any], deep: bool) -> dict[str, Any]:
    if not isinstance(a, dict) or not isinstance(b, dict):
        raise TypeError("both arguments must be JSON objects")
    if deep:
        raise ValueError("deep merging is not supported by Step Functions (pass false)")
    return {**a, **b}


def _hash(data: Any, algorithm: str) -> str:
    names = {"MD5": "md5", "SHA-1": "sha1", "SHA-256": "sha256", "SHA-384": "sha384"}
    names["SHA-512"] = "sha512"
    if algorithm not in names:
        raise ValueError(f"unknown algorithm {algorithm!r}; use one of {', '.join(names)}")
    text = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"))
    return hashlib.new(names[algorithm], text.encode()).hexdigest()


def _random(start: int, end: int, seed: Any = None) -> int:
    rng = random.Random(seed) if seed is not None else random
    return rng.randint(int(_num(start)), int(_num(end)))


#: Intrinsic functions by name (ASL specification).
INTRINSICS: dict[str, Callable[..., Any]] = {
    "States.Format": _format,
    "States.StringToJson": _string_to_json,
    "States.JsonToString": lambda v: json.dumps(v, separators=(",", ":")),
    "States.Array": lambda *a: list(a),
    "States.ArrayPartition": _partition,
    "States.ArrayContains": lambda a, v: v in a,
    "States.ArrayRange": _array_range,
    "States.ArrayGetItem": lambda a, i: a[int(_num(i))],
    "States.ArrayLength": lambda a: len(a),
    "States.ArrayUnique": _unique,
    "States.Base64Encode": lambda s: base64.b64encode(s.encode()).decode(),
    "States.Base64Decode": lambda s: base64.b64decode(s).decode(),
    "States.Hash": _hash,
    "States.JsonMerge": _merge,
    "States.MathRandom": _random,
    "States.MathAdd": _math_add,
    "States.StringSplit": lambda s, d: [p for p in re.split("[" + re.escape(d) + "]", s) if p],
    "States.UUID": lambda: str(uuid.uuid4()),
}


# -- timestamps -------------------------------------------------------------------------------
_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


def parse_timestamp(value: Any) -> float | None:
    """Epoch seconds of an RFC 3339 timestamp with an uppercase ``T`` and a ``Z`` or numeric
    offset (what Wait and the Timestamp comparisons accept), else ``None``."""
    from datetime import datetime

    if not isinstance(value, str) or not _TIMESTAMP.match(value):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


# -- JSONata ----------------------------------------------------------------------------------
_JSONATA = re.compile(r"^\{%(.*)%\}$", re.S)


def is_jsonata(value: Any) -> bool:
    """Whether ``value`` is a ``{% ... %}`` expression string."""
    return isinstance(value, str) and bool(_JSONATA.match(value))


def _jsonata_range(start: Any, end: Any, step: Any = 1) -> Any:
    out = _array_range(start, end, step)
    # a JSONata sequence of one item is that item
    return out[0] if len(out) == 1 else out


def _compile(text: str) -> Any:
    import jsonata

    expr = jsonata.Jsonata(text)
    expr.set_output_convert_nulls(False)  # keep null (NULL_VALUE) apart from undefined (None)
    expr.register_lambda("uuid", lambda: str(uuid.uuid4()))
    expr.register_lambda("parse", lambda s: json.loads(s))
    expr.register_lambda("hash", lambda s, a="SHA-256": _hash(s, a))
    expr.register_lambda("partition", _partition)
    expr.register_lambda("range", _jsonata_range)
    expr.register_lambda("random", lambda seed=None: random.Random(seed).random())
    return expr


_compiled = threading.local()


def _jsonata_expr(text: str) -> Any:
    """A compiled expression, cached per thread (an expression object is not thread-safe)."""
    cache = getattr(_compiled, "cache", None)
    if cache is None:
        cache = _compiled.cache = {}
    expr = cache.get(text)
    if expr is None:
        expr = _compile(text)
        if len(cache) < 2_000:
            cache[text] = expr
    return expr


def check_jsonata(value: Any) -> None:
    """Raise ``ValueError`` when a ``{% ... %}`` string does not parse as JSONata (a JSON
    boolean is a valid, constant Choice ``Condition``)."""
    if isinstance(value, bool):
        return
    m = _JSONATA.match(value) if isinstance(value, str) else None
    if not m:
        raise ValueError(f"{value!r} is not a JSONata expression ({{% ... %}})")
    try:
        _compile(m.group(1))
    except Exception as exc:
        raise ValueError(f"invalid JSONata {value!r}: {exc}") from None


class _NotJson(Exception):  # noqa: N818 - internal signal
    """A JSONata result that is not JSON (a function)."""


def evaluate_jsonata(value: Any, bindings: Mapping[str, Any], *, field: str = "") -> Any:
    """Evaluate one ``{% ... %}`` string with ``bindings`` (``states`` and the variables).

    An expression whose value is undefined (``$doesNotExist``, a missing field) or not JSON
    (a function) is a ``States.QueryEvaluationError``, as on AWS."""
    m = _JSONATA.match(value) if isinstance(value, str) else None
    if not m:
        return value
    where = f" in {field}" if field else ""
    try:
        result = _jsonata_expr(m.group(1)).evaluate(None, dict(bindings))
    except Exception as exc:
        raise StatesError(
            "States.QueryEvaluationError", f"JSONata expression {value!r}{where} failed: {exc}"
        ) from None
    if result is None:
        raise StatesError(
            "States.QueryEvaluationError",
            f"The JSONata expression {value!r}{where} returned nothing (undefined)",
        )
    try:
        return _plain(result)
    except _NotJson:
        raise StatesError(
            "States.QueryEvaluationError",
            f"The JSONata expression {value!r}{where} returned a value that is not JSON",
        ) from None


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    if isinstance(value, int | float):
        return value
    from jsonata import utils

    if value is utils.Utils.NULL_VALUE:
        return None
    raise _NotJson()


def render_jsonata(template: Any, bindings: Mapping[str, Any], field: str = "") -> Any:
    """Evaluate every ``{% ... %}`` string inside ``template`` (objects and arrays too)."""
    if isinstance(template, dict):
        return {
            k: render_jsonata(v, bindings, f"{field}.{k}" if field else k)
            for k, v in template.items()
        }
    if isinstance(template, list):
        return [render_jsonata(v, bindings, field) for v in template]
    if is_jsonata(template):
        return evaluate_jsonata(template, bindings, field=field)
    return template  # a scalar: immutable


def check_jsonata_template(template: Any) -> None:
    """Raise ``ValueError`` for the first ``{% ... %}`` string that does not parse."""
    if isinstance(template, dict):
        for v in template.values():
            check_jsonata_template(v)
    elif isinstance(template, list):
        for v in template:
            check_jsonata_template(v)
    elif is_jsonata(template):
        check_jsonata(template)
