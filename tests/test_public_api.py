"""The public API: one place (``smkit``), each name documented and in the reference."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import smkit

REFERENCE = Path(__file__).resolve().parents[1] / "docs" / "reference"


def _documented_targets() -> set[str]:
    found: set[str] = set()
    for page in REFERENCE.glob("*.md"):
        found.update(re.findall(r"^::: ([\w.]+)", page.read_text(), re.M))
    return found


def test_every_public_name_has_a_docstring():
    missing = [
        n for n in smkit.__all__ if n != "__version__" and not inspect.getdoc(getattr(smkit, n))
    ]
    assert missing == []


def test_every_public_name_is_in_the_reference():
    targets = _documented_targets()
    missing = []
    for name in smkit.__all__:
        if name == "__version__":
            continue
        obj = getattr(smkit, name)
        module = obj.__name__ if inspect.ismodule(obj) else getattr(obj, "__module__", "")
        candidates = {f"smkit.{name}", f"{module}.{name}", module}
        parts = module.split(".")
        candidates.update(".".join(parts[:i]) for i in range(2, len(parts)))
        candidates.update(f"{'.'.join(parts[:i])}.{name}" for i in range(1, len(parts)))
        if not candidates & targets:
            missing.append(name)
    assert missing == [], f"add these to docs/reference/*.md: {missing}"


def test_each_public_object_exported_once():
    seen: dict[int, str] = {}
    for name in smkit.__all__:
        obj = getattr(smkit, name)
        if isinstance(obj, str | int | float | bool):
            continue
        assert id(obj) not in seen, f"{name} and {seen[id(obj)]} are the same object"
        seen[id(obj)] = name
