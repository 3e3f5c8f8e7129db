"""Training jobs install the code's requirements.txt and ship dependencies=, as SageMaker does."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from smkit.errors import ResourceFailedError
from smkit.session import Session
from smkit.training import TrainingSpec

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_requirements_layer import make_wheel

pytestmark = pytest.mark.timeout(180)

SCRIPT = """
import os

import common
import smkit_tiny_dep

with open(os.path.join(os.environ["SM_MODEL_DIR"], "seen.txt"), "w") as fh:
    fh.write(f"{smkit_tiny_dep.VALUE}|{common.NAME}")
"""


@pytest.fixture
def session(tmp_path: Path):
    with Session("local", root=tmp_path / "root") as s:
        yield s


def _project(tmp_path: Path, requirement: str) -> tuple[Path, Path]:
    src = tmp_path / "src"
    src.mkdir()
    (src / "train.py").write_text(SCRIPT)
    make_wheel(src, "smkit_tiny_dep", "1.2", "VALUE = 'installed'\n")
    (src / "requirements.txt").write_text(f"--no-index\n{requirement}\n")
    lib = tmp_path / "libs" / "common"
    lib.mkdir(parents=True)
    (lib / "__init__.py").write_text("NAME = 'shipped'\n")
    return src, lib


def test_requirements_and_dependencies_reach_the_script(session, tmp_path: Path) -> None:
    src, lib = _project(tmp_path, "./smkit_tiny_dep-1.2-py3-none-any.whl")
    job = session.train(
        TrainingSpec(
            entry_point="train.py", source_dir=str(src), dependencies=[str(lib)], profiler=None
        )
    )
    job.wait(timeout=120)
    model_dir = Path(job.describe()["JobDir"]) / "model"
    assert (model_dir / "seen.txt").read_text() == "installed|shipped"
    log = job.logs()
    assert "pip: " in log and "smkit_tiny_dep==1.2" in log
    # the user's source directory is not changed by the dependency copy
    assert not (src / "common").exists()


def test_refused_requirement_fails_the_job_like_the_toolkit(session, tmp_path: Path) -> None:
    src, lib = _project(tmp_path, "smkit-no-such-package-anywhere==1.0")
    job = session.train(
        TrainingSpec(
            entry_point="train.py", source_dir=str(src), dependencies=[str(lib)], profiler=None
        )
    )
    with pytest.raises(ResourceFailedError) as info:
        job.wait(timeout=120)
    reason = info.value.context["reason"]
    assert "InstallRequirementsError" in reason and "smkit-no-such-package-anywhere" in reason


def test_no_requirements_skips_the_install(session, tmp_path: Path) -> None:
    src, lib = _project(tmp_path, "smkit-no-such-package-anywhere==1.0")
    job = session.train(
        TrainingSpec(
            entry_point="train.py",
            source_dir=str(src),
            dependencies=[str(lib)],
            install_requirements=False,
            profiler=None,
        )
    )
    with pytest.raises(ResourceFailedError) as info:
        job.wait(timeout=120)
    # the script itself fails on the missing import: pip never ran
    assert "No module named 'smkit_tiny_dep'" in info.value.context["reason"]
    assert "pip: " not in job.logs()


def test_cli_flags_reach_the_specs(tmp_path: Path) -> None:
    from smkit.cli import build_parser
    from smkit.commands import cmd_endpoints, cmd_train

    lib = tmp_path / "common"
    lib.mkdir()
    args = build_parser().parse_args(
        ["train", "--entry-point", "t.py", "--dependency", str(lib), "--no-requirements"]
    )
    spec = cmd_train._spec(args)
    assert spec.dependencies == (str(lib),) and spec.install_requirements is False
    args = build_parser().parse_args(["train", "--entry-point", "t.py"])
    assert cmd_train._spec(args).install_requirements is True
    deploy = build_parser().parse_args(
        ["deploy", "--model-data", "m.tar.gz", "--name", "e", "--framework",
         "sklearn", "--dependency", str(lib), "--no-requirements"]
    )  # fmt: skip
    assert deploy.dependency == [str(lib)] and deploy.no_requirements is True
    assert cmd_endpoints is not None
