"""Every command and sub-command's --help says what it does and shows an example."""

from __future__ import annotations

import argparse

import pytest

from smkit.cli import build_parser


def _parsers() -> list[tuple[str, argparse.ArgumentParser]]:
    found: list[tuple[str, argparse.ArgumentParser]] = []

    def walk(prefix: str, parser: argparse.ArgumentParser) -> None:
        found.append((prefix, parser))
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    walk(f"{prefix} {name}".strip(), sub)

    walk("", build_parser())
    return found


PARSERS = _parsers()


@pytest.mark.parametrize("name,parser", PARSERS, ids=[n or "smkit" for n, _ in PARSERS])
def test_help_describes_and_shows_an_example(name, parser):
    text = parser.format_help()
    assert parser.description or parser.format_usage(), name
    top = name.split(" ")[0] if name else ""
    # a group's actions may share the group's example; the command itself must have one
    owner = dict(PARSERS).get(top, parser)
    assert "example" in text.lower() or "example" in owner.format_help().lower(), name


def test_every_top_level_command_has_its_own_example():
    missing = [n for n, p in PARSERS if n and " " not in n and "example" not in p.format_help()]
    assert missing == []
