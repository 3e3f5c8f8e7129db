"""requirements.txt layers: resolved against this environment, installed beside it, cached."""

from __future__ import annotations

import base64
import hashlib
import subprocess
import sys
import threading
import zipfile
from pathlib import Path

import pytest

from smkit.backends.local.requirements import install_layer, layer_key
from smkit.errors import RequirementsError


def _wheel(directory: Path, name: str, version: str, body: str) -> Path:
    """A minimal pure-Python wheel (what pip needs: the module, METADATA, WHEEL, RECORD)."""
    dist = f"{name}-{version}"
    path = directory / f"{dist}-py3-none-any.whl"
    files = {
        f"{name}.py": body,
        f"{dist}.dist-info/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
        f"{dist}.dist-info/WHEEL": (
            "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        ),
    }
    record = []
    for fname, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=")
        record.append(f"{fname},sha256={digest.decode()},{len(text.encode())}")
    record.append(f"{dist}.dist-info/RECORD,,")
    files[f"{dist}.dist-info/RECORD"] = "\n".join(record) + "\n"
    with zipfile.ZipFile(path, "w") as zf:
        for fname, text in files.items():
            zf.writestr(fname, text)
    return path


def make_wheel(directory: Path, name: str, version: str, body: str) -> Path:
    """Public alias for other tests."""
    return _wheel(directory, name, version, body)


def _import_from(layer: Path | None, module: str) -> str:
    """``module.VALUE`` as a fresh interpreter sees it with ``layer`` first on the path."""
    env_path = [str(layer)] if layer else []
    code = f"import sys; sys.path[:0] = {env_path!r}; import {module}; print({module}.VALUE)"
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()


@pytest.fixture
def code(tmp_path: Path) -> Path:
    d = tmp_path / "code"
    d.mkdir()
    return d


def test_missing_package_is_installed_into_a_layer_and_reused(code: Path, tmp_path: Path) -> None:
    _wheel(code, "smkit_tiny_dep", "0.1", "VALUE = 'tiny 0.1'\n")
    req = code / "requirements.txt"
    req.write_text("--no-index\n./smkit_tiny_dep-0.1-py3-none-any.whl\n")
    lines: list[str] = []
    layer = install_layer(req, tmp_path / "root", log=lines.append)
    assert layer is not None and (layer / "smkit_tiny_dep.py").is_file()
    assert _import_from(layer, "smkit_tiny_dep") == "tiny 0.1"
    assert any(line.startswith("pip: ") for line in lines), lines  # pip's progress is shown
    assert any("smkit_tiny_dep==0.1" in line for line in lines)
    # the base environment is untouched
    with pytest.raises(subprocess.CalledProcessError):
        _import_from(None, "smkit_tiny_dep")
    # an unchanged file is not installed again
    again: list[str] = []
    assert install_layer(req, tmp_path / "root", log=again.append) == layer
    assert not any(line.startswith("pip: ") for line in again), again
    assert any("already installed" in line for line in again)


def test_already_satisfied_requirements_add_nothing(code: Path, tmp_path: Path) -> None:
    import attrs

    req = code / "requirements.txt"
    req.write_text(f"--no-index\nattrs=={attrs.__version__}\n")
    assert install_layer(req, tmp_path / "root") is None  # the base has it, as an image would


def test_a_changed_file_gets_a_new_layer(code: Path, tmp_path: Path) -> None:
    _wheel(code, "smkit_tiny_dep", "0.1", "VALUE = 'one'\n")
    req = code / "requirements.txt"
    req.write_text("--no-index\n./smkit_tiny_dep-0.1-py3-none-any.whl\n")
    first = layer_key(req)
    _wheel(code, "smkit_tiny_dep", "0.1", "VALUE = 'two'\n")  # same name, other bytes
    second = layer_key(req)
    assert first != second
    layer = install_layer(req, tmp_path / "root")
    assert _import_from(layer, "smkit_tiny_dep") == "two"


def test_directory_requirements_are_not_cached_and_built_in_the_workdir(
    code: Path, tmp_path: Path
) -> None:
    (code / "pkg").mkdir()
    req = code / "requirements.txt"
    req.write_text("./pkg\n")
    assert layer_key(req) is None


def test_refused_requirement_is_a_clear_error(code: Path, tmp_path: Path) -> None:
    req = code / "requirements.txt"
    req.write_text("--no-index\nsmkit-no-such-package-anywhere==9.9\n")
    with pytest.raises(RequirementsError) as info:
        install_layer(req, tmp_path / "root")
    err = info.value
    assert "smkit-no-such-package-anywhere" in str(err)
    assert "--no-requirements" in (err.hint or "")
    assert "ERROR:" in err.context["output"]
    # nothing half-built is left to be reused
    assert not [p for p in (tmp_path / "root" / "envs").iterdir() if p.is_dir()]


def test_concurrent_installs_build_one_layer(code: Path, tmp_path: Path) -> None:
    _wheel(code, "smkit_tiny_dep", "0.1", "VALUE = 'tiny'\n")
    req = code / "requirements.txt"
    req.write_text("--no-index\n./smkit_tiny_dep-0.1-py3-none-any.whl\n")
    results: list[Path | None] = []
    logs: list[list[str]] = [[], []]

    def work(i: int) -> None:
        results.append(install_layer(req, tmp_path / "root", log=logs[i].append))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert len(results) == 2 and results[0] == results[1] is not None
    assert sum(any(line.startswith("pip: ") for line in log) for log in logs) == 1
