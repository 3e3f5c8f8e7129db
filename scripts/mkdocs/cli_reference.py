"""A mkdocs hook: the CLI reference, generated from ``smkit.cli.build_parser()``.

The page ``reference/cli.md`` holds the marker ``<!-- smkit-cli-reference -->``; this hook
replaces it with every command and sub-command (usage, description, each argument with its
default and choices, the example) and the exit codes (``smkit.cli.EXIT_CODES``, with the
error classes that exit with each). Nothing is written by hand, so the page cannot drift
from the parsers. Registered in ``mkdocs.yml`` under ``hooks:``.
"""

from __future__ import annotations

import argparse
import os
from typing import Any

MARKER = "<!-- smkit-cli-reference -->"
PAGE = "reference/cli.md"
SHARED_GROUP = "backend"


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ").strip()


def _code(text: str) -> str:
    tick = "``" if "`" in text else "`"
    pad = " " if tick == "``" else ""
    return f"{tick}{pad}{text}{pad}{tick}"


def _subparsers(parser: argparse.ArgumentParser) -> argparse._SubParsersAction | None:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action
    return None


def _names(action: argparse.Action, formatter: argparse.HelpFormatter) -> str:
    if action.option_strings:
        if action.nargs == 0:
            return ", ".join(_code(o) for o in action.option_strings)
        metavar = formatter._format_args(action, action.dest.upper())
        return ", ".join(_code(f"{o} {metavar}") for o in action.option_strings)
    return _code(formatter._metavar_formatter(action, action.dest)(1)[0])


def _default(action: argparse.Action) -> str:
    if isinstance(action, (argparse._StoreTrueAction, argparse._StoreFalseAction)):
        return "off" if isinstance(action, argparse._StoreTrueAction) else "on"
    if not action.option_strings:
        return "required" if action.nargs not in ("?", "*") else ""
    if action.required:
        return "required"
    if action.default is None or action.default is argparse.SUPPRESS:
        return ""
    if isinstance(action, argparse._AppendAction) and action.default == []:
        return ""
    return _code(repr(action.default) if isinstance(action.default, str) else str(action.default))


def _help(action: argparse.Action, formatter: argparse.HelpFormatter) -> str:
    if not action.help or action.help is argparse.SUPPRESS:
        return ""
    text = formatter._expand_help(action)
    if action.choices and not isinstance(action, argparse._SubParsersAction):
        text += " (one of " + ", ".join(_code(str(c)) for c in action.choices) + ")"
    if isinstance(action, argparse._AppendAction) and "repeatable" not in text:
        text += " (repeatable)"
    return text


def _table(actions: list[argparse.Action], formatter: argparse.HelpFormatter) -> list[str]:
    rows = ["| Argument | Default | Description |", "| --- | --- | --- |"]
    for action in actions:
        if isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)):
            continue
        if action.help is argparse.SUPPRESS:
            continue
        rows.append(
            f"| {_names(action, formatter)} | {_default(action)} | "
            f"{_cell(_help(action, formatter))} |"
        )
    return rows if len(rows) > 2 else []


def _groups(parser: argparse.ArgumentParser) -> dict[str, list[argparse.Action]]:
    return {g.title or "": list(g._group_actions) for g in parser._action_groups}


def _command(parser: argparse.ArgumentParser, path: str, level: int, out: list[str]) -> None:
    formatter = parser._get_formatter()
    out.append(f"{'#' * level} `{path}`")
    out.append("")
    if parser.description:
        out.append(parser.description.strip())
        out.append("")
    out += ["```text", parser.format_usage().strip(), "```", ""]
    groups = _groups(parser)
    own = [a for title, acts in groups.items() if title != SHARED_GROUP for a in acts]
    table = _table(own, formatter)
    if table:
        out += [*table, ""]
    if groups.get(SHARED_GROUP):
        out.append("Also takes the [backend options](#backend-options).")
        out.append("")
    if parser.epilog:
        out += ["```text", parser.epilog.strip(), "```", ""]
    sub = _subparsers(parser)
    if sub is not None:
        helps = {a.dest: a.help for a in sub._choices_actions}
        rows = ["| Command | What it does |", "| --- | --- |"]
        rows += [f"| `{path} {n}` | {_cell(helps.get(n) or '')} |" for n in sub.choices]
        out += [*rows, ""]
        for name, child in sub.choices.items():
            # top-level commands sit beside `smkit`; their sub-commands one level down
            _command(child, f"{path} {name}", level if path == "smkit" else level + 1, out)


def _find_shared_group(parser: argparse.ArgumentParser) -> tuple[Any, list[argparse.Action]]:
    sub = _subparsers(parser)
    for child in sub.choices.values() if sub else []:
        acts = _groups(child).get(SHARED_GROUP)
        if acts:
            return child, acts
        found = _find_shared_group(child)
        if found[1]:
            return found
    return None, []


def _exit_codes() -> list[str]:
    from smkit import errors
    from smkit.cli import EXIT_CODES

    by_code: dict[int, list[str]] = {}
    for name in errors.__all__:
        obj = getattr(errors, name)
        if isinstance(obj, type) and issubclass(obj, errors.SmkitError):
            by_code.setdefault(obj.exit_code, []).append(name)
    rows = ["| Code | Meaning | Errors |", "| --- | --- | --- |"]
    for code, meaning in EXIT_CODES.items():
        names = ", ".join(f"`{n}`" for n in sorted(by_code.get(code, [])))
        rows.append(f"| {code} | {_cell(meaning)} | {names} |")
    return rows


def _usecase_settings() -> list[str]:
    from smkit.cli_help import usecase_settings
    from smkit.usecases import available_usecases

    out = [
        "## Use-case settings",
        "",
        "`smkit run NAME --set KEY=VALUE` sets a field of the use case's config (lists are "
        "comma-separated); `smkit run NAME --help` prints the same list.",
        "",
    ]
    for name in available_usecases():
        out += [f"### `{name}`", "", "| Key | Type | Default | Description |"]
        out.append("| --- | --- | --- | --- |")
        for s in usecase_settings(name):
            out.append(
                f"| `{s.key}` | {_code(s.type)} | {_code(s.default)} | {_cell(s.description)} |"
            )
        out.append("")
    return out


def render() -> str:
    """The generated reference, as markdown."""
    from smkit.cli import build_parser

    old = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = "100"  # argparse wraps usage lines to the terminal's width
    try:
        parser = build_parser()
        out: list[str] = ["## Exit codes", "", *_exit_codes(), ""]
        out += [
            "Errors print one line (`error: ...`) on stderr; `smkit --debug ...` prints the "
            "traceback instead.",
            "",
        ]
        holder, shared = _find_shared_group(parser)
        if shared:
            out += ["## Backend options", ""]
            out += [
                "Commands that talk to a backend take these (they choose the backend and "
                "configure it):",
                "",
            ]
            out += [*_table(shared, holder._get_formatter()), ""]
        out += ["## Commands", ""]
        _command(parser, "smkit", 3, out)
        out += _usecase_settings()
        return "\n".join(out)
    finally:
        if old is None:
            os.environ.pop("COLUMNS", None)
        else:
            os.environ["COLUMNS"] = old


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    """Replace the marker on the CLI page with the generated reference."""
    if page.file.src_uri != PAGE or MARKER not in markdown:
        return markdown
    return markdown.replace(MARKER, render())
