"""An endpoint installs ``code/requirements.txt`` before the model loads (inference toolkit)."""

from __future__ import annotations

import sys
import tarfile
from pathlib import Path

import pytest

from smkit.errors import ResourceFailedError
from smkit.serving import EndpointSpec, ModelSpec
from smkit.session import Session

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "training"))
from test_requirements_layer import make_wheel

pytestmark = pytest.mark.timeout(180)

INFERENCE = """
import smkit_tiny_dep


def model_fn(model_dir):
    return smkit_tiny_dep.VALUE


def predict_fn(data, model):
    return [model]
"""


def _model(tmp: Path) -> Path:
    code = tmp / "stage" / "code"
    code.mkdir(parents=True)
    (code / "inference.py").write_text(INFERENCE)
    make_wheel(code, "smkit_tiny_dep", "0.3", "VALUE = 'from the layer'\n")
    (code / "requirements.txt").write_text("--no-index\n./smkit_tiny_dep-0.3-py3-none-any.whl\n")
    tar = tmp / "model.tar.gz"
    with tarfile.open(tar, "w:gz") as tf:
        tf.add(code, arcname="code")
    return tar


def test_code_requirements_are_installed_before_the_model_loads(tmp_path: Path) -> None:
    tar = _model(tmp_path)
    with Session("local", root=tmp_path / "root") as s:
        ep = s.deploy(
            ModelSpec(model_data=str(tar), entry_point="inference.py"),
            EndpointSpec(name="reqs"),
        )
        try:
            assert ep.predict({"x": 1}) == ["from the layer"]
            log = (tmp_path / "root" / "endpoints" / "reqs" / "server.log").read_text()
            assert "pip:" in log and "smkit_tiny_dep==0.3" in log  # progress in the log
        finally:
            ep.delete()
        # a second endpoint with the same file reuses the cached layer
        layers = [p for p in (tmp_path / "root" / "envs").iterdir() if p.is_dir()]
        assert len(layers) == 1


def test_no_requirements_skips_the_install(tmp_path: Path) -> None:
    tar = _model(tmp_path)
    with Session("local", root=tmp_path / "root") as s, pytest.raises(ResourceFailedError) as info:
        s.deploy(
            ModelSpec(model_data=str(tar), entry_point="inference.py", install_requirements=False),
            EndpointSpec(name="noreqs"),
        )
    assert "smkit_tiny_dep" in str(info.value)


def test_model_dependencies_are_importable_by_the_script(tmp_path: Path) -> None:
    lib = tmp_path / "libs" / "common"
    lib.mkdir(parents=True)
    (lib / "__init__.py").write_text("SCALE = 3\n")
    src = tmp_path / "src"
    src.mkdir()
    (src / "inference.py").write_text(
        "import common\n\n\ndef model_fn(model_dir):\n    return common.SCALE\n\n\n"
        "def predict_fn(data, model):\n    return [model * 2]\n"
    )
    tar = tmp_path / "empty.tar.gz"
    with tarfile.open(tar, "w:gz"):
        pass
    with Session("local", root=tmp_path / "root") as s:
        ep = s.deploy(
            ModelSpec(
                model_data=str(tar),
                entry_point="inference.py",
                source_dir=str(src),
                dependencies=[str(lib)],
            ),
            EndpointSpec(name="deps"),
        )
        try:
            assert ep.predict({"x": 1}) == [6]
        finally:
            ep.delete()


def test_missing_dependency_is_refused_before_anything_starts(tmp_path: Path) -> None:
    from smkit.errors import SourceNotFoundError

    tar = _model(tmp_path)
    with Session("local", root=tmp_path / "root") as s, pytest.raises(SourceNotFoundError):
        s.deploy(
            ModelSpec(
                model_data=str(tar),
                entry_point="inference.py",
                dependencies=[str(tmp_path / "nope")],
            ),
            EndpointSpec(name="nodeps"),
        )
