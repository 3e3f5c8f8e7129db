"""Every Python code block in the README and the docs runs, in file order, as written.

Blocks of one file share a namespace (like a notebook) and run in a fresh directory with
their own SMKIT_HOME. A block preceded by ``<!-- test: skip -->`` is not run (say why
next to it); use it only for code that needs AWS credentials or a long run.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BLOCK = re.compile(r"(<!-- test: skip -->\s*\n)?```python\n(.*?)```", re.S)


def _documents() -> list[Path]:
    docs = sorted((ROOT / "docs").rglob("*.md"))
    return [ROOT / "README.md", *docs]


def _blocks(path: Path) -> list[str]:
    return [code for skip, code in BLOCK.findall(path.read_text()) if not skip]


DOCS = [p for p in _documents() if _blocks(p)]


@pytest.mark.parametrize("path", DOCS, ids=[str(p.relative_to(ROOT)) for p in DOCS])
def test_code_blocks_run(path, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SMKIT_HOME", str(tmp_path / ".smkit"))
    monkeypatch.setenv("SMKIT_QUICK", "1")
    namespace: dict = {"__name__": "__docs__"}
    for i, code in enumerate(_blocks(path)):
        try:
            exec(compile(code, f"{path.name}[block {i}]", "exec"), namespace)
        except Exception as exc:
            raise AssertionError(f"{path.name} block {i} failed: {exc!r}\n{code}") from exc
    # endpoints a tutorial started must not outlive the test
    session = namespace.get("session") or namespace.get("s")
    if session is not None and hasattr(session, "close"):
        session.close()
    assert os.getcwd() == str(tmp_path)
