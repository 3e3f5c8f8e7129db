"""Run a use case's ``scripts/train.py`` the way SageMaker's training container would.

Shared by the image and pneumonia model tests: ``SM_*`` environment, channels as
directories, hyperparameters as ``--key value`` arguments, one CPU thread.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path


def run_training(
    scripts: Path, tmp: Path, channels: dict[str, Path], args: list[str], timeout: int = 300
):
    """Run ``scripts/train.py``; returns ``(process, model_dir, output_data_dir, output_dir)``."""
    model, data, output = tmp / "model", tmp / "output" / "data", tmp / "output"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SM_")}
    env.update(
        SM_MODEL_DIR=str(model),
        SM_OUTPUT_DATA_DIR=str(data),
        SM_OUTPUT_DIR=str(output),
        SM_CHANNELS=json.dumps(sorted(channels)),
        SM_NUM_CPUS="1",
        SM_NUM_GPUS="0",
        OMP_NUM_THREADS="1",
        CUDA_VISIBLE_DEVICES="",
    )
    for name, path in channels.items():
        env[f"SM_CHANNEL_{name.upper()}"] = str(path)
    proc = subprocess.run(
        [sys.executable, str(scripts / "train.py"), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=tmp,
    )
    return proc, model, data, output


def load_module(path: Path, name: str):
    """Import a file as a module (an inference script, say) without touching sys.path."""
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod
