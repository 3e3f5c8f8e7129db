"""Local tuning: 8 trials with max_parallel_jobs 1 against 2, and the per-job overhead.

Run: ``.venv/bin/python benchmarks/tuning.py [--runs 3] [--quick]``

The workload is SageMaker's built-in XGBoost (smkit's local trainer) on a small regression
problem (600 rows, 60 rounds), tuned over ``eta`` and ``max_depth`` with the Random strategy
and a fixed seed, so both settings run the same 8 trials. Figures (medians of ``--runs``):

- wall time of the tuning job with ``max_parallel_jobs=2`` against ``1`` (ratio = speed-up;
  at most the core count, minus what the supervisors and the catalog cost);
- wall time of one local training job (contract, supervisor, log parsing, packing, profiler)
  against running the same trainer script directly with ``python`` (ratio < 1 = overhead).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
from _common import emit, header  # noqa: E402


def _data(rows: int, seed: int) -> bytes:
    import numpy as np

    rng = np.random.default_rng(seed)
    X = rng.uniform(-2, 2, size=(rows, 6))
    y = np.sin(X[:, 0]) * 3 + X[:, 1] ** 2 + X[:, 2] * X[:, 3] + 0.1 * rng.normal(size=rows)
    return "".join(",".join(f"{v:.5f}" for v in [t, *row]) + "\n" for t, row in zip(y, X)).encode()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="one run of each")
    args = parser.parse_args()
    runs = 1 if args.quick else args.runs

    import smkit
    from smkit.training import (
        Channel,
        ContinuousParameter,
        IntegerParameter,
        TrainingSpec,
        TuningSpec,
    )

    header(
        "local tuning: 8 XGBoost trials",
        "max_parallel_jobs=1 in the same run; the trainer script run directly",
    )
    with tempfile.TemporaryDirectory() as tmp:
        session = smkit.Session(root=Path(tmp) / "root")
        store = session.store
        store.put_bytes("s3://smkit/bench/train/train.csv", _data(600, 0))
        store.put_bytes("s3://smkit/bench/validation/validation.csv", _data(200, 1))
        training = TrainingSpec(
            algorithm="xgboost",
            hyperparameters={"num_round": 60, "objective": "reg:squarederror", "nthread": 1},
            inputs={
                "train": Channel("s3://smkit/bench/train/", content_type="text/csv"),
                "validation": Channel("s3://smkit/bench/validation/", content_type="text/csv"),
            },
        )
        spec = TuningSpec(
            training=training,
            ranges={
                "eta": ContinuousParameter(0.02, 0.5, "Logarithmic"),
                "max_depth": IntegerParameter(2, 8),
            },
            objective_metric="validation:rmse",
            strategy="Random",
            max_jobs=8,
            seed=0,
        )
        times: dict[int, list[float]] = {1: [], 2: []}
        best: dict[int, float] = {}
        for _ in range(runs):
            for parallel in (1, 2):
                start = time.perf_counter()
                tuning = session.tune(spec.evolve(max_parallel_jobs=parallel)).wait(timeout=600)
                times[parallel].append(time.perf_counter() - start)
                best[parallel] = float(tuning.best_objective)
        t1, t2 = statistics.median(times[1]), statistics.median(times[2])
        emit("tuning", "8 trials, max_parallel 2 vs 1", t2, t1, "s", note="ratio = speed-up")

        # one job through smkit vs the trainer script run directly on the same files
        job_times, direct_times = [], []
        for _ in range(runs):
            start = time.perf_counter()
            job = session.train(training.with_hyperparameters(eta=0.1, max_depth=4)).wait(600)
            job_times.append(time.perf_counter() - start)
            record = job.describe()
            jobdir = Path(record["JobDir"])
            env = dict(os.environ)
            env.update(
                SM_INPUT_CONFIG_DIR=str(jobdir / "input" / "config"),
                SM_INPUT_DIR=str(jobdir / "input"),
                SM_CHANNELS='["train","validation"]',
                SM_MODEL_DIR=str(Path(tmp) / "direct-model"),
                SM_OUTPUT_DIR=str(Path(tmp) / "direct-out"),
                SM_CHANNEL_TRAIN=str(jobdir / "input" / "data" / "train"),
                SM_CHANNEL_VALIDATION=str(jobdir / "input" / "data" / "validation"),
            )
            start = time.perf_counter()
            subprocess.run(
                [sys.executable, str(jobdir / "code" / "xgboost_algorithm.py")],
                env=env,
                check=True,
                capture_output=True,
            )
            direct_times.append(time.perf_counter() - start)
        tj, td = statistics.median(job_times), statistics.median(direct_times)
        emit("tuning", "one training job vs direct script", tj, td, "s", note="ratio < 1: overhead")
        print(f"best validation:rmse  parallel=1: {best[1]:.4f}  parallel=2: {best[2]:.4f}")
        print(f"runs: {runs}; trials/s parallel=1: {8 / t1:.2f}, parallel=2: {8 / t2:.2f}")
        session.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
