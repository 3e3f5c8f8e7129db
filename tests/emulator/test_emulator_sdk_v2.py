"""Unmodified SageMaker Python SDK v2 scripts against the emulator.

The SDK v2 cannot live beside smkit's own ``sagemaker>=3``, so the scripts run in a scratch
environment: set ``SMKIT_SAGEMAKER_V2_PYTHON`` to its interpreter, e.g.::

    python -m venv --system-site-packages /tmp/sm2 && /tmp/sm2/bin/pip install 'sagemaker<3'
    SMKIT_SAGEMAKER_V2_PYTHON=/tmp/sm2/bin/python pytest -m slow tests/emulator/

Without it the tests are skipped.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from smkit.testing.emulator import Emulator

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

SCRIPTS = Path(__file__).resolve().parent / "sdk_v2"


@pytest.fixture(scope="module")
def sdk_python() -> str:
    python = os.environ.get("SMKIT_SAGEMAKER_V2_PYTHON")
    if not python:
        pytest.skip("set SMKIT_SAGEMAKER_V2_PYTHON to a Python with 'sagemaker<3' installed")
    out = subprocess.run(
        [python, "-c", "import sagemaker; print(sagemaker.__version__)"],
        capture_output=True, text=True, timeout=120,
        env={**os.environ, "SAGEMAKER_SUPPRESS_V2_WARNING": "1"},
    )
    version = out.stdout.strip().splitlines()[-1] if out.stdout.strip() else ""
    if out.returncode != 0 or not version.startswith("2."):
        pytest.skip(f"{python} has no SageMaker SDK v2 ({out.stderr[-300:] or version})")
    return python


def _run(python: str, script: str, emulator: Emulator, tmp_path: Path) -> dict:
    proc = subprocess.run(
        [python, str(SCRIPTS / script), str(tmp_path)],
        capture_output=True, text=True, timeout=540, env=emulator.environment(),
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    last = proc.stdout.strip().splitlines()[-1]  # the SDK prints its "!" progress marks too
    return json.loads(last[last.index("{") :])


def test_sdk_v2_sklearn_script_mode(sdk_python: str, emulator: Emulator, tmp_path: Path) -> None:
    out = _run(sdk_python, "sklearn_script_mode.py", emulator, tmp_path)
    assert out["status"] == "Completed"
    assert out["model"].startswith("s3://sagemaker-us-east-1-123456789012/sagemaker-scikit-learn")
    assert out["answer"] == [["1.0"], ["0.0"]]


def test_sdk_v2_xgboost_capture_and_suggest_baseline(
    sdk_python: str, emulator: Emulator, tmp_path: Path
) -> None:
    out = _run(sdk_python, "xgboost_monitor.py", emulator, tmp_path)
    assert 0.5 < float(out["answer"].strip("[]\n")) <= 1.0
    assert out["items"] == 60
    assert out["constraint_features"] == ["_c0", "_c1"]
    assert len(out["capture"]) >= 1
    assert "/AllTraffic/" in out["capture"][0] and out["capture"][0].endswith(".jsonl")
