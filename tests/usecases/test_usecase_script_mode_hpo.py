"""The ``script-mode-hpo`` use case: quick run through the CLI, the AWS plan, the script alone."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smkit.cli import main
from smkit.errors import ConfigError
from smkit.usecases import build_config, load_usecase
from smkit.usecases.script_mode_hpo import (
    OBJECTIVE_REGEX,
    RULE_PARAMETERS,
    SCRIPTS_DIR,
    ScriptModeHpoConfig,
    _midpoints,
    make_regression_frame,
    prepare_code,
)

RULES = {"LossNotDecreasing", "Overfit", "VanishingGradient", "ExplodingTensor"}


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("script-mode-hpo")
    home = tmp_path_factory.mktemp("home")
    mp = pytest.MonkeyPatch()
    mp.setenv("SMKIT_HOME", str(home))
    try:
        assert main(["run", "script-mode-hpo", "--quick", "--out", str(out)]) == 0
    finally:
        mp.undo()
    return out


@pytest.mark.timeout(400)
def test_quick_run_tunes_checks_rules_and_profiles(quick_run: Path) -> None:
    report = json.loads((quick_run / "report.json").read_text())
    assert report["status"] == "Succeeded"
    metrics = report["metrics"]
    assert metrics["trials"] == 4 and metrics["tuning_status"] == "Completed"
    assert metrics["rows"] == {"train": 360, "validation": 120, "test": 120}

    # tuning.csv: every trial, its hyperparameters (inside their ranges) and objective
    with open(quick_run / "tuning.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 4
    assert list(rows[0])[:7] == [
        "trial",
        "job",
        "status",
        "objective",
        "lr",
        "batch-size",
        "epochs",
    ]
    for row in rows:
        assert row["status"] == "Completed"
        assert 1e-4 <= float(row["lr"]) <= 0.3
        assert 16 <= int(row["batch-size"]) <= 256
        assert 2 <= int(row["epochs"]) <= 6
        assert float(row["objective"]) > 0
    best = min(rows, key=lambda r: float(r["objective"]))
    assert metrics["best_objective"] == pytest.approx(float(best["objective"]))
    assert report["artifacts"]["best_trial"] == best["job"]
    assert metrics["best_hyperparameters"]["batch-size"] == int(best["batch-size"])
    # the held-out test split: the tuned MLP beats predicting the mean (MSE 1.0)
    assert 0 < metrics["test_loss"] < 0.9

    # rules.json: the four rules on every trial and on the profiled best run
    rules = json.loads((quick_run / "rules.json").read_text())
    assert [r["role"] for r in rules] == ["trial"] * 4 + ["profiled"]
    for entry in rules:
        assert set(entry["rules"]) == RULES
        for verdict in entry["rules"].values():
            assert verdict["status"] in ("NoIssuesFound", "IssuesFound")
            assert verdict["details"]
    assert metrics["rule_evaluations"] == 20

    # profiler.json + plot: samples, per-step times, CPU and memory
    profile = json.loads((quick_run / "profiler.json").read_text())
    assert profile["job"] == report["artifacts"]["profiled_job"]
    assert profile["interval_ms"] == 200 and profile["samples"]
    assert profile["steps"]["count"] == len(profile["step_times_s"]) > 0
    assert {"cpu_percent", "rss_mb"} <= set(profile["samples"][0])
    assert (quick_run / "profiler.png").stat().st_size > 1000
    assert (quick_run / "tuning_objective.png").stat().st_size > 1000

    # the custom image: Dockerfile + code (with the vendored hook), run through the contract
    dockerfile = (quick_run / "image" / "Dockerfile").read_text()
    assert "FROM 763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-training:2.1-cpu" in (
        dockerfile
    )
    assert "ENV SAGEMAKER_PROGRAM=train.py" in dockerfile
    assert {p.name for p in (quick_run / "image" / "code").iterdir()} >= {
        "train.py",
        "smkit_hook.py",
    }
    assert metrics["image_check"] == "Completed"
    html = (quick_run / "report.html").read_text()
    assert "Debugger rules" in html and "Dockerfile" in html


@pytest.mark.timeout(300)
def test_plan_lists_tuning_and_profiled_job(tmp_path: Path) -> None:
    out = tmp_path / "plan"
    args = ["run", "script-mode-hpo", "--quick", "--backend", "aws", "--plan", "--out", str(out)]
    assert main([*args, "--debugger"]) == 0  # Debugger is opt-in on AWS
    plan = json.loads((out / "plan.json").read_text())
    ops = Counter(r["operation"] for r in plan)
    assert ops["CreateHyperParameterTuningJob"] == 1 and ops["CreateTrainingJob"] == 1
    assert ops["PutObject"] >= 5  # three channels, the code twice
    tuning = next(r for r in plan if r["operation"] == "CreateHyperParameterTuningJob")["params"]
    config = tuning["HyperParameterTuningJobConfig"]
    assert config["HyperParameterTuningJobObjective"] == {
        "Type": "Minimize",
        "MetricName": "validation:loss",
    }
    ranges = config["ParameterRanges"]
    assert ranges["ContinuousParameterRanges"][0]["Name"] == "lr"
    assert ranges["ContinuousParameterRanges"][0]["ScalingType"] == "Logarithmic"
    assert {r["Name"] for r in ranges["IntegerParameterRanges"]} == {"batch-size", "epochs"}
    assert config["ResourceLimits"] == {"MaxNumberOfTrainingJobs": 4, "MaxParallelTrainingJobs": 2}
    definition = tuning["TrainingJobDefinition"]
    assert "pytorch-training:2.1" in definition["AlgorithmSpecification"]["TrainingImage"]
    metric_defs = {m["Name"]: m["Regex"] for m in definition["AlgorithmSpecification"][
        "MetricDefinitions"]}  # fmt: skip
    assert metric_defs["validation:loss"] == OBJECTIVE_REGEX
    # the profiled run carries the Debugger rules and the profiler
    training = next(r for r in plan if r["operation"] == "CreateTrainingJob")["params"]
    assert {c["RuleConfigurationName"] for c in training["DebugRuleConfigurations"]} == RULES
    overfit = next(
        c for c in training["DebugRuleConfigurations"] if c["RuleConfigurationName"] == "Overfit"
    )
    assert overfit["RuleParameters"]["ratio_threshold"] == "0.3"
    assert training["ProfilerConfig"]["ProfilingIntervalInMilliseconds"] == 200
    assert training["ProfilerRuleConfigurations"][0]["RuleConfigurationName"] == "ProfilerReport"
    assert {c["ChannelName"] for c in training["InputDataConfig"]} == {
        "train",
        "validation",
        "test",
    }
    assert "FROM 763104351884" in (out / "image" / "Dockerfile").read_text()
    report = json.loads((out / "report.json").read_text())
    assert report["metrics"]["image_check"] == "Completed"
    assert not (out / "tuning.csv").exists()  # nothing ran


def _run_script(tmp_path: Path, code: Path, *, block_smkit: bool) -> subprocess.CompletedProcess:
    frame = make_regression_frame(200, features=5, seed=1)
    env = dict(os.environ)
    for channel, part in (("train", frame.iloc[:150]), ("validation", frame.iloc[150:])):
        d = tmp_path / "data" / channel
        d.mkdir(parents=True)
        part.to_csv(d / "part.csv", index=False)
        env[f"SM_CHANNEL_{channel.upper()}"] = str(d)
    env.update(
        SM_MODEL_DIR=str(tmp_path / "model"),
        SM_OUTPUT_DATA_DIR=str(tmp_path / "output" / "data"),
        SM_OUTPUT_DIR=str(tmp_path / "output"),
        SM_INPUT_CONFIG_DIR=str(tmp_path / "config"),
    )
    prelude = "import sys\n"
    if block_smkit:  # as in a SageMaker framework container: no smkit installed
        prelude += "sys.modules['smkit'] = None\n"
    prelude += (
        f"sys.argv = ['train.py', '--epochs', '3', '--batch-size', '32', '--lr', '0.01']\n"
        f"import runpy\nrunpy.run_path({str(code / 'train.py')!r}, run_name='__main__')\n"
    )
    return subprocess.run(
        [sys.executable, "-c", prelude],
        cwd=code,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.timeout(300)
def test_script_runs_without_smkit(tmp_path: Path) -> None:
    # with the vendored hook (the shipped code): Debugger records still written
    code = prepare_code(tmp_path / "code")
    done = _run_script(tmp_path / "vendored", code, block_smkit=True)
    assert done.returncode == 0, done.stderr
    assert "hook=vendored" in done.stdout
    assert done.stdout.count("val_loss=") == 3
    records = (tmp_path / "vendored" / "output" / "tensors" / "scalars.jsonl").read_text()
    assert '"mode": "eval"' in records and ".grad" in records
    assert (tmp_path / "vendored" / "model" / "model.pth").is_file()
    # without it too: the script trains, recording off
    done = _run_script(tmp_path / "bare", SCRIPTS_DIR, block_smkit=True)
    assert done.returncode == 0, done.stderr
    assert "hook=off" in done.stdout and done.stdout.count("val_loss=") == 3
    assert not (tmp_path / "bare" / "output" / "tensors").exists()
    history = json.loads((tmp_path / "bare" / "output" / "data" / "history.json").read_text())
    assert history["hook"] == "off" and len(history["epochs"]) == 3


def test_config_defaults_and_validation() -> None:
    usecase = load_usecase("script-mode-hpo")
    quick = build_config(usecase, {"max_jobs": "3", "lr_max": "0.1"}, quick=True)
    assert isinstance(quick, ScriptModeHpoConfig)
    assert quick.size("max_jobs") == 3 and quick.size("rows") == 600
    assert quick.size("epochs_max") == 6 and ScriptModeHpoConfig().size("epochs_max") == 30
    for bad in (
        {"lr_min": "0.5"},
        {"strategy": "Grid"},
        {"features": "2"},
        {"max_jobs": "0"},
        {"prefix": "/tmp/x"},
        {"epochs_min": "9"},
    ):
        with pytest.raises(ConfigError):
            build_config(usecase, bad, quick=True)
    assert set(RULE_PARAMETERS) == {
        "loss_not_decreasing",
        "overfit",
        "vanishing_gradient",
        "exploding_tensor",
    }


@settings(max_examples=30, deadline=None)
@given(
    rows=st.integers(1, 300),
    features=st.integers(4, 12),
    seed=st.integers(0, 2**16),
    lo=st.floats(1e-6, 1.0),
    factor=st.floats(1.01, 1e4),
)
def test_data_and_midpoints(rows: int, features: int, seed: int, lo: float, factor: float) -> None:
    from smkit.training import ContinuousParameter, IntegerParameter

    frame = make_regression_frame(rows, features=features, seed=seed)
    assert list(frame.columns) == ["y", *(f"x{i}" for i in range(features))]
    assert len(frame) == rows and frame.notna().all().all()
    ranges = {
        "lr": ContinuousParameter(lo, lo * factor, "Logarithmic"),
        "batch-size": IntegerParameter(16, 16 + int(factor), "Logarithmic"),
        "epochs": IntegerParameter(1, 1 + int(factor) % 50),
    }
    mids = _midpoints(ranges)
    for name, value in mids.items():
        assert ranges[name].contains(value), (name, value)


def test_objective_regex_reads_the_epoch_lines_only() -> None:
    import re

    line = "epoch=3 train_loss=0.412 val_loss=4.71e-01 seconds=0.010"
    assert float(re.search(OBJECTIVE_REGEX, line).group(1)) == pytest.approx(0.471)
    assert re.search(OBJECTIVE_REGEX, "val_loss_min=0.3") is None
    assert re.search(OBJECTIVE_REGEX, "epoch=1 train_loss=nan val_loss=nan") is None
