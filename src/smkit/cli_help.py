"""``smkit run NAME --help``: the use case's ``--set`` keys, with their types and defaults.

The settings come from the use case's attrs ``Config`` (field, type, default) and the
descriptions from its docstring's ``Attributes:`` section, so the help cannot drift from
the code. `install` puts the help action on the ``run`` parser of `smkit.cli.build_parser`.
"""

from __future__ import annotations

import argparse
import re
import textwrap
import typing
from typing import Any

__all__ = ["Setting", "format_settings", "install", "usecase_settings"]


class Setting(typing.NamedTuple):
    """One ``--set`` key of a use case."""

    key: str
    type: str
    default: str
    description: str


def _type_name(annotation: Any) -> str:
    if isinstance(annotation, type):
        return annotation.__name__
    return str(annotation).replace("typing.", "")


def _default(field: Any) -> str:
    import attrs

    default = field.default
    if isinstance(default, attrs.Factory):  # type: ignore[arg-type]
        try:
            default = default.factory() if not default.takes_self else "(computed)"
        except Exception:
            return "(computed)"
    if default is attrs.NOTHING:
        return "(required)"
    if isinstance(default, tuple):
        return ",".join(str(v) for v in default) or "(none)"
    return str(default)


def _descriptions(cls: type) -> dict[str, str]:
    """``name -> description`` from the ``Attributes:`` sections of ``cls`` and its bases."""
    out: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        doc = klass.__dict__.get("__doc__") or ""
        lines = textwrap.dedent("\n".join(doc.splitlines()[1:])).splitlines()
        inside, current, indent = False, None, 0
        for line in lines:
            if re.match(r"^(Attributes|Args):\s*$", line):
                inside, current = True, None
                continue
            if not inside:
                continue
            if line and not line.startswith(" "):
                inside = False
                continue
            m = re.match(r"^(\s+)(\w+)(?:\s*\([^)]*\))?:\s*(.*)$", line)
            if m and (current is None or len(m.group(1)) <= indent):
                indent, current = len(m.group(1)), m.group(2)
                out[current] = m.group(3).strip()
            elif current and line.strip():
                out[current] += " " + line.strip()
    return out


def usecase_settings(name: str) -> list[Setting]:
    """The ``--set`` keys of the use case registered as ``name``."""
    import attrs

    from smkit.usecases import load_usecase

    cls = load_usecase(name).Config
    hints = typing.get_type_hints(cls)
    docs = _descriptions(cls)
    settings = []
    for field in attrs.fields(cls):
        if not field.init or field.name == "quick":
            continue  # --quick is its own flag
        settings.append(
            Setting(
                field.name,
                _type_name(hints.get(field.name, str)),
                _default(field),
                docs.get(field.name, ""),
            )
        )
    return settings


def format_settings(name: str, width: int = 100) -> str:
    """The ``--set`` keys of ``name`` as help text."""
    settings = usecase_settings(name)
    if not settings:
        return f"{name} has no --set keys."
    lines = [f"--set keys of {name} (--set KEY=VALUE; lists are comma-separated):"]
    for s in settings:
        lines.append(f"  {s.key} ({s.type}, default: {s.default})")
        if s.description:
            lines += textwrap.wrap(
                s.description,
                width - 6,
                initial_indent="      ",
                subsequent_indent="      ",
                break_on_hyphens=False,
            )
    return "\n".join(lines)


class _RunHelp(argparse.Action):
    """``-h/--help`` of ``smkit run``: the usual help, then NAME's ``--set`` keys."""

    def __init__(self, option_strings: list[str], dest: str = argparse.SUPPRESS, **kw: Any):
        kw.pop("default", None)
        kw.setdefault("help", "show this help (with NAME: also its --set keys) and exit")
        super().__init__(option_strings, dest, default=argparse.SUPPRESS, nargs=0, **kw)

    def __call__(self, parser: Any, namespace: Any, values: Any, option_string: Any = None):
        parser.print_help()
        name = getattr(namespace, "name", None)
        print()
        if name:
            try:
                print(format_settings(name))
            except Exception as exc:  # an unknown or broken use case: say so, still exit 0
                print(f"cannot list the settings of {name!r}: {exc}")
        else:
            print("`smkit run NAME --help` lists NAME's --set keys with their defaults.")
        parser.exit()


def install(parser: argparse.ArgumentParser) -> None:
    """Give the ``run`` sub-command of ``parser`` the help that lists ``--set`` keys."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction) and "run" in action.choices:
            run = action.choices["run"]
            # "resolve" drops argparse's own -h/--help for this one
            group = run._optionals
            old = group.conflict_handler
            group.conflict_handler = "resolve"
            try:
                group.add_argument("-h", "--help", action=_RunHelp)
            finally:
                group.conflict_handler = old
            return
