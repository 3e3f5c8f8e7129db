"""Built-in XGBoost and hyperparameter tuning on the local backend."""

from __future__ import annotations

import math
import statistics
import tarfile
import textwrap

import pytest

from smkit.errors import ConfigError, ValidationError
from smkit.training import (
    CategoricalParameter,
    Channel,
    ContinuousParameter,
    IntegerParameter,
    TrainingSpec,
    TuningSpec,
)

pytestmark = pytest.mark.timeout(180)


def _regression_csv(rows: int, seed: int) -> str:
    import numpy as np

    rng = np.random.default_rng(seed)
    X = rng.uniform(-2, 2, size=(rows, 4))
    y = np.sin(X[:, 0]) * 3 + X[:, 1] ** 2 + 0.1 * rng.normal(size=rows)
    return "".join(",".join(f"{v:.5f}" for v in [label, *row]) + "\n" for label, row in zip(y, X))


@pytest.fixture
def xgb_data(local_session):
    store = local_session.store
    store.put_bytes("s3://smkit/reg/train/train.csv", _regression_csv(300, 0).encode())
    store.put_bytes("s3://smkit/reg/validation/validation.csv", _regression_csv(100, 1).encode())
    return {
        "train": Channel("s3://smkit/reg/train/", content_type="text/csv"),
        "validation": Channel("s3://smkit/reg/validation/", content_type="text/csv"),
    }


def test_builtin_xgboost_reports_validation_metric(local_session, xgb_data):
    spec = TrainingSpec(
        algorithm="xgboost",
        hyperparameters={
            "num_round": 20,
            "max_depth": 3,
            "eta": 0.3,
            "objective": "reg:squarederror",
        },
        inputs=xgb_data,
        profiler=None,
    )
    job = local_session.train(spec).wait(timeout=120)
    metrics = job.metrics
    assert set(metrics) >= {"train:rmse", "validation:rmse"}
    assert metrics["validation:rmse"] < 1.5
    assert "validation-rmse:" in job.logs()
    # hyperparameters of a built-in algorithm are plain strings
    assert job.describe()["HyperParameters"]["objective"] == "reg:squarederror"
    with tarfile.open(local_session.store.path_for(job.model_data)) as tar:
        assert tar.getnames() == ["xgboost-model"]


def test_builtin_xgboost_rejects_unknown_hyperparameter(local_session, xgb_data):
    from smkit.errors import ResourceFailedError

    spec = TrainingSpec(
        algorithm="xgboost",
        hyperparameters={"num_round": 2, "bogus": 1},
        inputs=xgb_data,
        profiler=None,
    )
    with pytest.raises(ResourceFailedError, match="bogus"):
        local_session.train(spec).wait(timeout=60)


def test_tuning_finds_better_than_median(local_session, xgb_data):
    spec = TuningSpec(
        training=TrainingSpec(
            algorithm="xgboost",
            hyperparameters={"num_round": 10, "objective": "reg:squarederror"},
            inputs=xgb_data,
            profiler=None,
        ),
        ranges={
            "eta": ContinuousParameter(0.01, 0.5, "Logarithmic"),
            "max_depth": IntegerParameter(1, 6),
        },
        objective_metric="validation:rmse",
        strategy="Random",
        max_jobs=4,
        max_parallel_jobs=2,
        seed=1,
    )
    tuning = local_session.tune(spec).wait(timeout=170)
    record = tuning.describe()
    assert record["HyperParameterTuningJobStatus"] == "Completed"
    assert record["TrainingJobStatusCounters"]["Completed"] == 4
    rows = tuning.table()
    assert len(rows) == 4 and all(r["objective"] is not None for r in rows)
    values = [r["objective"] for r in rows]
    assert tuning.best_objective == min(values)
    assert tuning.best_objective <= statistics.median(values)
    assert tuning.best_job.metrics["validation:rmse"] == tuning.best_objective
    for row in rows:
        assert spec.ranges["max_depth"].contains(int(row["max_depth"]))
    png = tuning.plot(local_session.backend.root / "tuning.png")
    assert png.stat().st_size > 1000
    # trial records point back at the tuning job
    assert tuning.best_job.describe()["TuningJobArn"] == record["HyperParameterTuningJobArn"]


def test_early_stopping_stops_hopeless_trials(local_session, tmp_path):
    script = tmp_path / "curve.py"
    script.write_text(
        textwrap.dedent(
            """
            import argparse, time
            p = argparse.ArgumentParser()
            p.add_argument("--rate", type=float)
            a = p.parse_args()
            for step in range(40):
                print(f"val_loss={10.0 / (1 + a.rate * step):.5f}", flush=True)
                time.sleep(0.05)
            """
        )
    )
    spec = TuningSpec(
        training=TrainingSpec(
            entry_point=str(script),
            metric_definitions={"val_loss": r"val_loss=([0-9.]+)"},
            profiler=None,
        ),
        ranges={"rate": CategoricalParameter([2.0, 1.0, 0.01, 0.001])},
        objective_metric="val_loss",
        strategy="Grid",
        max_parallel_jobs=1,
        early_stopping="Auto",
    )
    tuning = local_session.tune(spec).wait(timeout=170)
    rows = {float(r["rate"]): r for r in tuning.table()}
    assert len(rows) == 4
    stopped = [r for r in tuning.trials() if r.get("EarlyStopped")]
    # the two slow curves sit far above the median of the fast ones and get stopped
    assert stopped, tuning.trials()
    assert all(float(s["TunedHyperParameters"]["rate"]) < 0.5 for s in stopped)
    assert float(tuning.best_job.hyperparameters["rate"]) == 2.0


def _branin(x: float, y: float) -> float:
    a, b, c, r, s, t = 1, 5.1 / (4 * math.pi**2), 5 / math.pi, 6, 10, 1 / (8 * math.pi)
    return a * (y - b * x**2 + c * x - r) ** 2 + s * (1 - t) * math.cos(x) + s


def _trials_to_reach(strategy: str, seed: int, target: float, budget: int = 60) -> int:
    """Trials the tuner's own optuna study needs to reach ``target`` on Branin."""
    from smkit.backends.local.tuning import _suggest, make_study

    spec = TuningSpec(
        training=TrainingSpec(entry_point="f.py", metric_definitions={"f": "f=([0-9.]+)"}),
        ranges={"x": ContinuousParameter(-5, 10), "y": ContinuousParameter(0, 15)},
        objective_metric="f",
        strategy=strategy,
        max_jobs=budget,
        seed=seed,
    )
    study = make_study(spec)
    for i in range(1, budget + 1):
        trial = study.ask()
        hps = _suggest(trial, spec.ranges)
        value = _branin(hps["x"], hps["y"])
        study.tell(trial, value)
        if value <= target:
            return i
    return budget + 1


def test_bayesian_needs_fewer_trials_than_random():
    seeds = range(5)
    bayes = [_trials_to_reach("Bayesian", s, target=1.0) for s in seeds]
    rand = [_trials_to_reach("Random", s, target=1.0) for s in seeds]
    assert statistics.median(bayes) < statistics.median(rand), (bayes, rand)


def test_reverse_log_and_ranges_validate():
    from smkit.backends.local.tuning import _suggest, make_study

    spec = TuningSpec(
        training=TrainingSpec(entry_point="f.py", metric_definitions={"m": "m=([0-9.]+)"}),
        ranges={
            "momentum": ContinuousParameter(0.5, 0.999, "ReverseLogarithmic"),
            "units": IntegerParameter(8, 512, "Logarithmic"),
            "opt": CategoricalParameter(["sgd", "adam"]),
        },
        objective_metric="m",
        strategy="Random",
        max_jobs=30,
    )
    study = make_study(spec)
    for _ in range(30):
        hps = _suggest(study.ask(), spec.ranges)
        spec.check(hps)
    with pytest.raises(ValidationError, match="outside its range"):
        spec.check({"momentum": 1.5})
    with pytest.raises(ConfigError, match="ReverseLogarithmic"):
        ContinuousParameter(0.5, 1.5, "ReverseLogarithmic")
    with pytest.raises(ConfigError, match="Logarithmic"):
        IntegerParameter(0, 5, "Logarithmic")
    with pytest.raises(ConfigError, match="Grid"):
        spec.evolve(strategy="Grid")
    with pytest.raises(ValidationError, match="no metric definition"):
        spec.evolve(objective_metric="nope")


def test_killed_tuning_supervisor_fails_and_stops_its_trials(local_session, tmp_path):
    import os
    import signal
    import time

    script = tmp_path / "slow.py"
    script.write_text("import time\nprint('m=1.0', flush=True)\ntime.sleep(60)\n")
    spec = TuningSpec(
        training=TrainingSpec(
            entry_point=str(script), metric_definitions={"m": r"m=([0-9.]+)"}, profiler=None
        ),
        ranges={"x": IntegerParameter(1, 3)},
        objective_metric="m",
        strategy="Random",
        max_jobs=2,
    )
    tuning = local_session.tune(spec)
    deadline = time.monotonic() + 60
    while not tuning.trials() and time.monotonic() < deadline:
        time.sleep(0.2)
    trial = tuning.trials()[0]["TrainingJobName"]
    os.kill(tuning.describe()["SupervisorPid"], signal.SIGKILL)
    while tuning.status == "InProgress" and time.monotonic() < deadline:
        time.sleep(0.2)
    assert tuning.status == "Failed"
    assert "supervisor" in tuning.describe()["FailureReason"]
    job = local_session.backend.training_job(trial)
    job.wait(timeout=30)
    assert job.status == "Stopped"
