"""`smkit train|tune|jobs`, custom images, and spec validation."""

from __future__ import annotations

import json
import tarfile

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smkit.cli import main
from smkit.errors import ConfigError, ResourceFailedError, ValidationError
from smkit.training import (
    CategoricalParameter,
    ContinuousParameter,
    MetricDefinition,
    TrainingSpec,
    TuningSpec,
    images,
)

pytestmark = pytest.mark.timeout(120)

SCRIPT = """
import argparse, os
p = argparse.ArgumentParser()
p.add_argument("--epochs", type=int)
a, _ = p.parse_known_args()
for e in range(a.epochs):
    print(f"epoch={e} loss={1 / (e + 1):.3f}")
open(os.path.join(os.environ["SM_MODEL_DIR"], "weights.txt"), "w").write("w")
"""


def test_cli_train_out_dir_and_jobs_commands(tmp_path, capsys):
    src = tmp_path / "src"
    src.mkdir()
    (src / "train.py").write_text(SCRIPT)
    data = tmp_path / "train.csv"
    data.write_text("1,2\n")
    root = str(tmp_path / "root")
    out = tmp_path / "out"
    rc = main(
        [
            "train", "--entry-point", "train.py", "--source-dir", str(src), "--hp", "epochs=3",
            "--channel", f"train={data}", "--metric", r"loss=loss=([0-9.]+)",
            "--out", str(out), "--root", root,
        ]
    )  # fmt: skip
    assert rc == 0
    record = json.loads((out / "job.json").read_text())
    assert record["TrainingJobStatus"] == "Completed"
    assert record["FinalMetricDataList"][0]["MetricName"] == "loss"
    with tarfile.open(out / "model.tar.gz") as tar:
        assert tar.getnames() == ["weights.txt"]
    captured = capsys.readouterr()
    assert "epoch=2 loss=0.333" in captured.out  # the logs streamed
    name = record["TrainingJobName"]
    assert main(["jobs", "list", "--root", root]) == 0
    assert name in capsys.readouterr().out
    assert main(["jobs", "describe", name, "--root", root]) == 0
    assert json.loads(capsys.readouterr().out)["TrainingJobName"] == name
    assert main(["jobs", "logs", name, "--root", root]) == 0
    assert "epoch=0" in capsys.readouterr().out
    # a missing entry point is a one-line error with exit code 2
    assert main(["train", "--entry-point", "nope.py", "--root", root]) == 2
    assert "not found" in capsys.readouterr().err


def test_cli_tune_in_plan_mode(capsys):
    rc = main(
        [
            "tune", "--algorithm", "xgboost", "--hp", "num_round=10",
            "--channel", "train=s3://bkt/train/", "--range", "eta=continuous:0.1:0.5",
            "--range", "max_depth=integer:2:6", "--range", "booster=categorical:gbtree,dart",
            "--objective", "validation:rmse", "--max-jobs", "4",
            "--backend", "aws", "--plan", "--region", "us-east-1", "--bucket", "bkt",
        ]
    )  # fmt: skip
    assert rc == 0
    plan = json.loads(capsys.readouterr().out)
    ranges = plan[-1]["params"]["HyperParameterTuningJobConfig"]["ParameterRanges"]
    assert ranges["CategoricalParameterRanges"] == [
        {"Name": "booster", "Values": ["gbtree", "dart"]}
    ]
    assert main(["tune", "--algorithm", "xgboost", "--range", "x=weird:1", "--objective",
                 "validation:rmse", "--max-jobs", "2"]) == 2  # fmt: skip


def test_dockerfile_and_check(local_session, tmp_path):
    src = tmp_path / "code"
    src.mkdir()
    (src / "train.py").write_text("print('ok')\n")
    (src / "requirements.txt").write_text("numpy\n")
    base = images.base_image("pytorch", "2.1", region="eu-west-1")
    assert base.endswith("pytorch-training:2.1-cpu-py310")
    path = images.write_build_context(
        tmp_path / "ctx", source_dir=src, entry_point="train.py", base=base
    )
    text = path.read_text()
    assert text.splitlines()[1] == f"FROM {base}"
    assert "ENV SAGEMAKER_PROGRAM=train.py" in text
    assert "pip install --no-cache-dir -r /opt/ml/code/requirements.txt" in text
    assert (tmp_path / "ctx" / "code" / "train.py").is_file()
    job = images.check(local_session, source_dir=src, entry_point="train.py")
    assert job.status == "Completed"
    (src / "broken.py").write_text("import not_a_module_anywhere\n")
    with pytest.raises(ResourceFailedError, match="not_a_module_anywhere"):
        images.check(local_session, source_dir=src, entry_point="broken.py")
    with pytest.raises(ConfigError):
        images.dockerfile("bad image", "train.py")


def test_spec_validation():
    with pytest.raises(ConfigError, match="exactly one"):
        TrainingSpec()
    with pytest.raises(ConfigError, match="exactly one"):
        TrainingSpec(entry_point="a.py", algorithm="xgboost")
    with pytest.raises(ConfigError, match="unknown algorithm"):
        TrainingSpec(algorithm="linear-learner")
    with pytest.raises(ConfigError, match="instance_type"):
        TrainingSpec(entry_point="a.py", instance_type="m5.large")
    with pytest.raises(ConfigError, match="output_path"):
        TrainingSpec(entry_point="a.py", output_path="/tmp/x")
    with pytest.raises(ValidationError, match="no group"):
        MetricDefinition("loss", "loss=[0-9]+")
    with pytest.raises(ValidationError, match="does not compile"):
        MetricDefinition("loss", "loss=([0-9]+")
    with pytest.raises(ConfigError, match="not finite"):
        TrainingSpec(entry_point="a.py", hyperparameters={"lr": float("nan")})
    spec = TrainingSpec(algorithm="xgboost")
    assert {m.name for m in spec.all_metric_definitions} >= {"validation:rmse", "train:auc"}
    with pytest.raises(ConfigError, match="both static"):
        TuningSpec(
            training=spec.with_hyperparameters(eta=0.1),
            ranges={"eta": ContinuousParameter(0.0, 1.0)},
            objective_metric="validation:rmse",
            max_jobs=2,
        )
    grid = TuningSpec(
        training=spec,
        ranges={"a": CategoricalParameter([1, 2]), "b": CategoricalParameter(["x", "y", "z"])},
        objective_metric="validation:rmse",
        strategy="Grid",
    )
    assert grid.total_jobs == 6 and grid.grid[0] == {"a": 1, "b": "x"}


@given(
    lo=st.floats(min_value=1e-6, max_value=1e3, allow_nan=False),
    width=st.floats(min_value=1e-3, max_value=1e3, allow_nan=False),
    value=st.floats(allow_nan=False, allow_infinity=False),
)
def test_continuous_range_contains_and_aws_round_trip(lo, width, value):
    rng = ContinuousParameter(lo, lo + width, "Logarithmic")
    aws = rng.to_aws("p")
    assert float(aws["MinValue"]) == rng.min_value and float(aws["MaxValue"]) == rng.max_value
    assert rng.contains(value) == (rng.min_value <= value <= rng.max_value)


@given(st.dictionaries(st.from_regex(r"[a-z_]{2,8}", fullmatch=True),
                       st.one_of(st.integers(), st.text(max_size=5), st.booleans(),
                                 st.floats(allow_nan=False, allow_infinity=False))))  # fmt: skip
def test_script_mode_hyperparameters_round_trip(values):
    from smkit.training.contract import decode_hyperparameters, encode_hyperparameters

    assert decode_hyperparameters(encode_hyperparameters(values, script_mode=True)) == values
