"""The import graph follows the layering rules of DESIGN.md §3.

- ``smkit.backends.aws`` never imports ``smkit.backends.local`` and the reverse: what both need
  lives in a neutral module (``smkit._common``, ``smkit.sagemaker_api``, ``smkit.monitoring``).
- The spec packages (staging, training, serving, monitoring, workflow) import no backend; only
  the interfaces in ``smkit.backends._protocol``.
- ``smkit.sagemaker_api`` (the pure request builders both backends use) imports no backend at
  all, not even the interfaces.
- ``smkit.emulator`` is a front over the local engines: it may import ``smkit.backends.local``,
  but no backend imports the emulator.
- No import cycles between modules, function-level imports included (imports under
  ``if TYPE_CHECKING:`` are not executed and are left out of the cycle check).

The graph is read from the source with :mod:`ast`, so an import hidden inside a function counts.
The checker is tested on a small synthetic tree, so the rules are known to be able to fail.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"

SPEC_PACKAGES = ("staging", "training", "serving", "monitoring", "workflow")
ALLOWED_FROM_SPECS = ("smkit.backends._protocol",)


def _module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def import_graph(root: Path, package: str = "smkit") -> dict[str, dict[str, bool]]:
    """``{module: {imported module: runtime?}}`` for every module of ``package`` under ``root``.

    ``runtime`` is False for imports that only happen under ``if TYPE_CHECKING:``.
    """
    modules = {_module_name(root, p): p for p in sorted((root / package).rglob("*.py"))}
    graph: dict[str, dict[str, bool]] = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        is_pkg = path.name == "__init__.py"
        edges: dict[str, bool] = {}

        def add(target: str, runtime: bool, _edges: dict[str, bool] = edges) -> None:
            if target in modules:
                _edges[target] = _edges.get(target, False) or runtime

        def visit(node: ast.AST, runtime: bool, _name: str = name, _pkg: bool = is_pkg) -> None:
            if isinstance(node, ast.If) and _is_type_checking(node.test):
                for child in node.body:
                    visit(child, False)
                for child in node.orelse:
                    visit(child, runtime)
                return
            if isinstance(node, ast.Import):
                for alias in node.names:
                    add(alias.name, runtime)
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = _name.split(".") if _pkg else _name.split(".")[:-1]
                    base = base[: len(base) - (node.level - 1)]
                    mod = ".".join([*base, node.module] if node.module else base)
                else:
                    mod = node.module or ""
                for alias in node.names:
                    sub = f"{mod}.{alias.name}"
                    add(sub if sub in modules else mod, runtime)
            for child in ast.iter_child_nodes(node):
                visit(child, runtime)

        visit(tree, True)
        edges.pop(name, None)
        graph[name] = edges
    return graph


def _under(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def layering_violations(graph: dict[str, dict[str, bool]]) -> list[str]:
    """Every import that breaks a layering rule, as ``"a -> b (rule)"``."""
    bad: list[str] = []
    for mod, edges in graph.items():
        for target in edges:
            if _under(mod, "smkit.backends.aws") and _under(target, "smkit.backends.local"):
                bad.append(f"{mod} -> {target} (aws imports local)")
            if _under(mod, "smkit.backends.local") and _under(target, "smkit.backends.aws"):
                bad.append(f"{mod} -> {target} (local imports aws)")
            if _under(mod, "smkit.backends") and _under(target, "smkit.emulator"):
                bad.append(f"{mod} -> {target} (a backend imports the emulator)")
            for pkg in SPEC_PACKAGES:
                if (
                    _under(mod, f"smkit.{pkg}")
                    and _under(target, "smkit.backends")
                    and target not in ALLOWED_FROM_SPECS
                ):
                    bad.append(f"{mod} -> {target} (spec package imports a backend)")
            if _under(mod, "smkit.sagemaker_api") and _under(target, "smkit.backends"):
                bad.append(f"{mod} -> {target} (sagemaker_api imports a backend)")
    return sorted(bad)


def import_cycles(graph: dict[str, dict[str, bool]]) -> list[list[str]]:
    """Strongly connected components of more than one module in the runtime import graph."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []
    counter = 0

    def strongconnect(v: str) -> None:
        nonlocal counter
        index[v] = low[v] = counter
        counter += 1
        stack.append(v)
        on_stack.add(v)
        for w, runtime in graph.get(v, {}).items():
            if not runtime:
                continue
            if w not in index:
                strongconnect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                cycles.append(sorted(comp))

    import sys

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 10_000))
    try:
        for v in sorted(graph):
            if v not in index:
                strongconnect(v)
    finally:
        sys.setrecursionlimit(limit)
    return sorted(cycles)


@pytest.fixture(scope="module")
def graph() -> dict[str, dict[str, bool]]:
    return import_graph(SRC)


def test_graph_sees_the_whole_package(graph: dict[str, dict[str, bool]]) -> None:
    assert "smkit.session" in graph
    assert "smkit.backends.local.serving" in graph
    assert len(graph) > 100


def test_layering_rules_hold(graph: dict[str, dict[str, bool]]) -> None:
    assert layering_violations(graph) == []


def test_no_import_cycles(graph: dict[str, dict[str, bool]]) -> None:
    assert import_cycles(graph) == []


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path


BASE = {
    "smkit/__init__.py": "",
    "smkit/backends/__init__.py": "",
    "smkit/backends/_protocol.py": "",
    "smkit/backends/local/__init__.py": "",
    "smkit/backends/local/jobs.py": "",
    "smkit/backends/aws/__init__.py": "",
    "smkit/backends/aws/training.py": "",
    "smkit/training/__init__.py": "from smkit.backends._protocol import *\n",
    "smkit/training/job.py": "",
}


def test_checker_catches_aws_importing_local_inside_a_function(tmp_path: Path) -> None:
    files = dict(BASE)
    files["smkit/backends/aws/training.py"] = (
        "def f():\n    from smkit.backends.local.jobs import build_record\n"
    )
    bad = layering_violations(import_graph(_tree(tmp_path, files)))
    assert bad == ["smkit.backends.aws.training -> smkit.backends.local.jobs (aws imports local)"]


def test_checker_catches_a_spec_package_importing_a_backend(tmp_path: Path) -> None:
    files = dict(BASE)
    files["smkit/training/job.py"] = "from ..backends.aws import training\n"
    bad = layering_violations(import_graph(_tree(tmp_path, files)))
    assert bad == [
        "smkit.training.job -> smkit.backends.aws.training (spec package imports a backend)"
    ]


def test_checker_catches_sagemaker_api_importing_a_backend(tmp_path: Path) -> None:
    files = dict(BASE)
    files["smkit/sagemaker_api/__init__.py"] = "from smkit.backends._protocol import *\n"
    bad = layering_violations(import_graph(_tree(tmp_path, files)))
    assert bad == [
        "smkit.sagemaker_api -> smkit.backends._protocol (sagemaker_api imports a backend)"
    ]


def test_sagemaker_api_is_in_the_graph_and_used_by_both_backends(
    graph: dict[str, dict[str, bool]],
) -> None:
    assert "smkit.sagemaker_api" in graph["smkit.backends.aws.serving"]
    assert "smkit.sagemaker_api" in graph["smkit.backends.local.serving"]


def test_checker_catches_a_backend_importing_the_emulator(tmp_path: Path) -> None:
    files = dict(BASE)
    files["smkit/emulator/__init__.py"] = "from smkit.backends.local import jobs\n"
    files["smkit/backends/aws/training.py"] = "def f():\n    import smkit.emulator\n"
    bad = layering_violations(import_graph(_tree(tmp_path, files)))
    assert bad == ["smkit.backends.aws.training -> smkit.emulator (a backend imports the emulator)"]


def test_checker_catches_a_cycle_through_a_function_level_import(tmp_path: Path) -> None:
    files = dict(BASE)
    files["smkit/training/job.py"] = "import smkit\n"
    files["smkit/__init__.py"] = "def lazy():\n    from smkit.training import job\n"
    assert import_cycles(import_graph(_tree(tmp_path, files))) == [["smkit", "smkit.training.job"]]


def test_checker_ignores_type_checking_imports_for_cycles(tmp_path: Path) -> None:
    files = dict(BASE)
    files["smkit/training/job.py"] = (
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import smkit\n"
    )
    files["smkit/__init__.py"] = "from smkit.training import job\n"
    assert import_cycles(import_graph(_tree(tmp_path, files))) == []
