"""A griffe extension: give attrs classes the ``__init__`` that attrs generates.

(It also types an ``__init__``'s ``self.x = x`` attributes from parameter ``x``.)

griffe reads source statically, so an ``@attrs.frozen`` / ``@attrs.define`` class has no
``__init__`` for it: the class docstring's ``Args:`` then "do not appear in the signature" and
have "no type". This extension builds the signature attrs would generate from the class's
annotated fields (its attrs bases' fields first, as attrs orders them), with each field's
annotation and default (``attrs.field(default=...)``, ``factory=...``, ``attrs.Factory(...)``).
Fields with ``init=False`` are left out; a leading underscore is dropped as attrs does, and
``alias=`` is honoured; ``kw_only`` (class-wide or per field) makes parameters keyword-only.

A class with ``init=False`` and its own ``__init__(self, name, **kwargs)`` that forwards to
``__attrs_init__`` gets ``**kwargs`` replaced by the remaining fields (keyword-only), which is
what a caller may pass.

Registered in ``mkdocs.yml`` under the python handler's ``extensions``.
"""

from __future__ import annotations

from typing import Any

from griffe import (
    Class,
    Expr,
    ExprCall,
    ExprName,
    Extension,
    Function,
    Parameter,
    ParameterKind,
    Parameters,
)

_DECORATORS = {
    "attrs.frozen",
    "attrs.define",
    "attrs.mutable",
    "attr.s",
    "attr.attrs",
    "attr.frozen",
    "attr.define",
    "attr.mutable",
}
_FIELD_CALLS = {"attrs.field", "attr.ib", "attr.attrib", "attr.field"}
_FACTORY_CALLS = {"attrs.Factory", "attr.Factory"}
_EMPTY = {"dict": "{}", "list": "[]", "tuple": "()", "set": "set()"}


def _call_name(expr: Any) -> str:
    if isinstance(expr, ExprCall):
        return str(expr.function)
    return str(expr)


def _kwargs(expr: Any) -> dict[str, Any]:
    """Keyword arguments of a call expression (``name=value``)."""
    out: dict[str, Any] = {}
    for arg in getattr(expr, "arguments", []) or []:
        name = getattr(arg, "name", None)
        if name is not None:
            out[name] = arg.value
    return out


def _attrs_options(cls: Class) -> dict[str, Any] | None:
    """The decorator's keyword options when ``cls`` is an attrs class, else None."""
    for dec in cls.decorators:
        value = dec.value
        if _call_name(value) in _DECORATORS:
            return _kwargs(value) if isinstance(value, ExprCall) else {}
    return None


def _is_true(value: Any) -> bool:
    return str(value) == "True"


def _factory_default(factory: Any) -> str:
    name = str(factory)
    return _EMPTY.get(name, f"{name}()")


def _fields(cls: Class, class_kw_only: bool) -> list[Parameter]:
    """The ``__init__`` parameters attrs derives from ``cls``'s own annotated attributes."""
    params: list[Parameter] = []
    methods = [m for m in cls.members.values() if not m.is_alias and m.is_function]
    for name, member in cls.members.items():
        if member.is_alias or not member.is_attribute or member.parent is not cls:
            continue
        # griffe unwraps ``ClassVar[...]`` and labels it "class-attribute" only
        if "instance-attribute" not in member.labels:
            continue
        annotation = member.annotation
        if annotation is None:
            continue
        # only attributes declared in the class body (not assigned in a method) are fields
        if any(
            f.lineno is not None
            and f.endlineno is not None
            and f.lineno <= member.lineno <= f.endlineno
            for f in methods
        ):
            continue
        value = member.value
        default: str | Expr | None = None
        kw_only = class_kw_only
        alias = name.lstrip("_")
        if value is not None and _call_name(value) in _FIELD_CALLS:
            opts = _kwargs(value)
            if "init" in opts and not _is_true(opts["init"]):
                continue
            if "default" in opts:
                dv = opts["default"]
                if _call_name(dv) in _FACTORY_CALLS:
                    args = getattr(dv, "arguments", [])
                    default = _factory_default(args[0]) if args else None
                else:
                    default = dv
            elif "factory" in opts:
                default = _factory_default(opts["factory"])
            if "kw_only" in opts:
                kw_only = _is_true(opts["kw_only"])
            if "alias" in opts:
                alias = str(opts["alias"]).strip("'\"")
        elif value is not None and _call_name(value) in _FACTORY_CALLS:
            args = getattr(value, "arguments", [])
            default = _factory_default(args[0]) if args else None
        else:
            default = value
        kind = ParameterKind.keyword_only if kw_only else ParameterKind.positional_or_keyword
        params.append(Parameter(alias, annotation=annotation, kind=kind, default=default))
    return params


def _attrs_bases(cls: Class) -> list[Class]:
    """Resolved attrs base classes, most basic first (attrs' field order)."""
    out: list[Class] = []
    for base in cls.resolved_bases:
        if isinstance(base, Class) and _attrs_options(base) is not None:
            for b in _attrs_bases(base):
                if b not in out:
                    out.append(b)
            if base not in out:
                out.append(base)
    return out


def _all_fields(cls: Class) -> list[Parameter]:
    merged: dict[str, Parameter] = {}
    for klass in [*_attrs_bases(cls), cls]:
        opts = _attrs_options(klass) or {}
        for param in _fields(klass, _is_true(opts.get("kw_only", False))):
            merged.pop(param.name, None)
            merged[param.name] = param
    params = list(merged.values())
    # attrs puts keyword-only fields after the positional ones
    positional = [p for p in params if p.kind is not ParameterKind.keyword_only]
    keyword = [p for p in params if p.kind is ParameterKind.keyword_only]
    return positional + keyword


def _annotate_from_init(cls: Class) -> None:
    """``self.x = x`` in ``__init__``: give attribute ``x`` the annotation of parameter ``x``.

    (Any class, attrs or not: its ``Attributes:`` section then shows the type.)
    """
    init = cls.members.get("__init__")
    if not isinstance(init, Function) or init.is_alias:
        return
    params = {p.name: p for p in init.parameters}
    for name, member in cls.members.items():
        if member.is_alias or not member.is_attribute or member.annotation is not None:
            continue
        param = params.get(name)
        if param is not None and param.annotation is not None and str(member.value) == name:
            member.annotation = param.annotation


class AttrsInit(Extension):
    """Synthesise the attrs-generated ``__init__`` of every attrs class."""

    def __init__(self) -> None:
        super().__init__()
        self._classes: list[Class] = []

    def on_class_members(self, *, cls: Class, **kwargs: Any) -> None:
        if _attrs_options(cls) is not None:
            self._classes.append(cls)
        _annotate_from_init(cls)

    def on_package(self, *, pkg: Any, **kwargs: Any) -> None:
        # bases resolve only once the whole package is loaded
        for cls in self._classes:
            try:
                self._synthesise(cls)
            except Exception:  # never break the docs build over one class
                continue
        self._classes.clear()

    def _synthesise(self, cls: Class) -> None:
        fields = _all_fields(cls)
        own = cls.members.get("__init__")
        if isinstance(own, Function):
            if not any(p.kind is ParameterKind.var_keyword for p in own.parameters):
                return
            explicit = [p for p in own.parameters if p.kind is not ParameterKind.var_keyword]
            names = {p.name for p in explicit}
            rest = [
                Parameter(
                    p.name,
                    annotation=p.annotation,
                    kind=ParameterKind.keyword_only,
                    default=p.default,
                )
                for p in fields
                if p.name not in names
            ]
            own.parameters = Parameters(*explicit, *rest)
            return
        opts = _attrs_options(cls) or {}
        if "init" in opts and not _is_true(opts["init"]):
            return
        init = Function(
            "__init__",
            lineno=cls.lineno,
            endlineno=cls.lineno,
            parameters=Parameters(
                Parameter("self", kind=ParameterKind.positional_or_keyword), *fields
            ),
            returns=ExprName("None"),
        )
        init.labels.add("attrs-generated")
        cls.set_member("__init__", init)
