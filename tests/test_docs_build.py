"""The documentation site builds strictly with no warning at all.

``mkdocs build --strict`` aborts on warnings, but only a build whose output is read (no
``-q``) shows which; these tests build the site into a temporary directory, fail on any
``WARNING`` line, and prove the check can fail by building a copy with a broken link.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("mkdocs")
pytest.importorskip("mkdocstrings")

ROOT = Path(__file__).resolve().parents[1]


def build_docs(project: Path, site: Path) -> tuple[int, list[str]]:
    """Build ``project``'s docs into ``site``; returns (exit code, the WARNING lines)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), env.get("PYTHONPATH", "")])
    env["NO_MKDOCS_2_WARNING"] = "1"
    env["MPLBACKEND"] = "Agg"
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(site)],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    output = proc.stdout + proc.stderr
    return proc.returncode, [line for line in output.splitlines() if "WARNING" in line]


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """The real docs, built once for the tests of this module."""
    out = tmp_path_factory.mktemp("site")
    code, warnings = build_docs(ROOT, out)
    assert warnings == [], "\n".join(warnings)
    assert code == 0
    return out


def test_docs_build_without_warnings(site):
    assert (site / "index.html").is_file()
    assert (site / "reference" / "cli" / "index.html").is_file()


def _copy_project(dest: Path) -> Path:
    dest.mkdir()
    shutil.copy2(ROOT / "mkdocs.yml", dest / "mkdocs.yml")
    shutil.copytree(ROOT / "docs", dest / "docs")
    shutil.copytree(ROOT / "scripts", dest / "scripts")
    (dest / "src").symlink_to(ROOT / "src")
    (dest / "README.md").symlink_to(ROOT / "README.md")
    return dest


def test_a_broken_link_fails_the_check(tmp_path):
    project = _copy_project(tmp_path / "project")
    page = project / "docs" / "concepts.md"
    page.write_text(page.read_text() + "\n\nSee [nowhere](no-such-page.md).\n")
    code, warnings = build_docs(project, tmp_path / "site")
    assert code != 0
    assert any("no-such-page.md" in line for line in warnings), warnings
