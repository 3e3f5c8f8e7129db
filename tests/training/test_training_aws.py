"""The aws backend's training requests: validated by botocore, sent to moto or planned."""

from __future__ import annotations

import io
import json
import tarfile

import pytest

import smkit
from smkit.backends.aws.training import image_uri_for
from smkit.errors import ConfigError
from smkit.training import (
    Channel,
    ContinuousParameter,
    DebuggerRule,
    IntegerParameter,
    TrainingSpec,
    TuningSpec,
)

pytestmark = pytest.mark.timeout(120)


def _script(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "train.py").write_text("print('loss=0.1')\n")
    (src / "util.py").write_text("X = 1\n")
    return src


@pytest.mark.aws
def test_create_describe_wait_on_moto(aws_session, tmp_path):
    src = _script(tmp_path)
    aws_session.store.put_bytes("s3://smkit-test/data/train/a.csv", b"1,2\n")
    spec = TrainingSpec(
        entry_point="train.py",
        source_dir=str(src),
        framework="pytorch",
        framework_version="2.1",
        hyperparameters={"epochs": 3, "optimizer": "adam"},
        inputs={"train": Channel("s3://smkit-test/data/train/", content_type="text/csv")},
        metric_definitions={"loss": r"loss=([0-9.]+)"},
        rules=[DebuggerRule("loss_not_decreasing", {"num_steps": 5})],
    )
    aws_session.backend.debugger = True  # Debugger is opt-in on AWS
    job = aws_session.train(spec)
    record = job.wait(timeout=30).describe()
    assert record["TrainingJobStatus"] == "Completed"
    assert record["TrainingJobName"] == job.name
    plan = {p.operation: p.params for p in aws_session.plan()}
    req = plan["CreateTrainingJob"]
    assert req["AlgorithmSpecification"]["TrainingImage"].endswith("pytorch-training:2.1-cpu-py310")
    hps = req["HyperParameters"]
    assert hps["epochs"] == "3" and hps["optimizer"] == '"adam"'
    assert hps["sagemaker_program"] == '"train.py"'
    source = json.loads(hps["sagemaker_submit_directory"])
    tar_bytes = aws_session.store.get_bytes(source)
    with tarfile.open(fileobj=io.BytesIO(tar_bytes)) as tar:
        assert sorted(tar.getnames()) == ["train.py", "util.py"]
    rule = req["DebugRuleConfigurations"][0]
    assert rule["RuleConfigurationName"] == "LossNotDecreasing"
    assert rule["RuleParameters"] == {"rule_to_invoke": "LossNotDecreasing", "num_steps": "5"}
    assert "sagemaker-debugger-rules" in rule["RuleEvaluatorImage"]
    assert req["DebugHookConfig"]["S3OutputPath"].endswith(f"{job.name}/debug-output")
    assert req["ProfilerConfig"]["ProfilingIntervalInMilliseconds"] == 500
    assert req["ProfilerRuleConfigurations"][0]["RuleConfigurationName"] == "ProfilerReport"
    assert any(j["TrainingJobName"] == job.name for j in aws_session.backend.list_training_jobs())


def test_debugger_rules_and_profiler_are_opt_in_on_aws(tmp_path):
    from smkit.backends.aws import AwsBackend

    src = _script(tmp_path)
    spec = TrainingSpec(
        entry_point="train.py",
        source_dir=str(src),
        framework="pytorch",
        framework_version="2.1",
        inputs={"train": Channel("s3://bkt/data/train/")},
        rules=[DebuggerRule("loss_not_decreasing", {"num_steps": 5})],
    )
    off = AwsBackend(plan=True, region="us-east-1", bucket="bkt")
    off.train(spec, name="off-1")
    req = off.plan()[-1].params
    assert req["ProfilerConfig"] == {"DisableProfiler": True}
    for key in ("DebugRuleConfigurations", "DebugHookConfig", "ProfilerRuleConfigurations"):
        assert key not in req
    on = AwsBackend(plan=True, region="us-east-1", bucket="bkt", debugger=True)
    on.train(spec, name="on-1")
    req = on.plan()[-1].params
    assert req["DebugRuleConfigurations"][0]["RuleConfigurationName"] == "LossNotDecreasing"
    assert req["ProfilerRuleConfigurations"][0]["RuleConfigurationName"] == "ProfilerReport"


@pytest.mark.aws
def test_local_channel_is_uploaded_first(aws_session, tmp_path):
    data = tmp_path / "d"
    data.mkdir()
    (data / "train.csv").write_text("1,2\n")
    spec = TrainingSpec(
        algorithm="xgboost", hyperparameters={"num_round": 3}, inputs={"train": str(data)}
    )
    job = aws_session.train(spec)
    req = next(p.params for p in aws_session.plan() if p.operation == "CreateTrainingJob")
    uri = req["InputDataConfig"][0]["DataSource"]["S3DataSource"]["S3Uri"]
    assert uri == f"s3://smkit-test/{job.name}/input/train/"
    assert aws_session.store.get_bytes(uri + "train.csv") == b"1,2\n"
    assert "sagemaker-xgboost:1.7-1" in req["AlgorithmSpecification"]["TrainingImage"]
    assert "MetricDefinitions" not in req["AlgorithmSpecification"]
    assert req["HyperParameters"] == {"num_round": "3"}


def test_plan_mode_tuning_and_stop_requests_validate(tmp_path):
    session = smkit.Session("aws", plan=True, region="eu-west-1", bucket="bkt")
    training = TrainingSpec(
        algorithm="xgboost",
        hyperparameters={"num_round": 50, "objective": "reg:squarederror"},
        inputs={"train": "s3://bkt/t/", "validation": "s3://bkt/v/"},
    )
    tuning = session.tune(
        TuningSpec(
            training=training,
            ranges={
                "eta": ContinuousParameter(0.01, 0.5, "Logarithmic"),
                "max_depth": IntegerParameter(2, 8),
            },
            objective_metric="validation:rmse",
            max_jobs=8,
            max_parallel_jobs=2,
            early_stopping="Auto",
            seed=7,
        )
    )
    session.backend.stop_tuning_job(tuning.name)
    session.backend.stop_training_job("some-job")
    ops = [p.operation for p in session.plan()]
    assert ops == [
        "CreateHyperParameterTuningJob",
        "StopHyperParameterTuningJob",
        "StopTrainingJob",
    ]
    req = session.plan()[0].params
    cfg = req["HyperParameterTuningJobConfig"]
    assert cfg["Strategy"] == "Bayesian" and cfg["RandomSeed"] == 7
    assert cfg["TrainingJobEarlyStoppingType"] == "Auto"
    assert cfg["ResourceLimits"] == {"MaxNumberOfTrainingJobs": 8, "MaxParallelTrainingJobs": 2}
    assert cfg["ParameterRanges"]["ContinuousParameterRanges"] == [
        {"Name": "eta", "MinValue": "0.01", "MaxValue": "0.5", "ScalingType": "Logarithmic"}
    ]
    assert req["TrainingJobDefinition"]["StaticHyperParameters"]["num_round"] == "50"
    assert len(tuning.name) <= 32


def test_image_uris_and_errors():
    spec = TrainingSpec(entry_point="t.py", framework="sklearn", framework_version="1.2-1")
    assert image_uri_for(spec, "us-east-1").endswith("sagemaker-scikit-learn:1.2-1-cpu-py3")
    with pytest.raises(ConfigError, match="image_uri"):
        image_uri_for(TrainingSpec(entry_point="t.py"), "us-east-1")
    with pytest.raises(ConfigError, match="no SageMaker pytorch training image"):
        image_uri_for(spec.evolve(framework="pytorch", framework_version="0.0.1"), "us-east-1")
    custom = spec.evolve(image_uri="1.dkr.ecr.us-east-1.amazonaws.com/mine:1")
    assert image_uri_for(custom, "us-east-1") == custom.image_uri


@pytest.mark.aws
def test_dependencies_are_packed_like_the_sdk(aws_session, tmp_path):
    """dependencies= land next to the entry point in sourcedir.tar.gz (training) and in
    the model's uploaded source (serving), each under its own name, as the SDK packs them."""
    from smkit.serving import EndpointSpec, ModelSpec

    src = _script(tmp_path)
    lib = tmp_path / "libs" / "common"
    lib.mkdir(parents=True)
    (lib / "__init__.py").write_text("NAME = 'x'\n")
    (lib / "__pycache__").mkdir()
    (lib / "__pycache__" / "junk.pyc").write_bytes(b"0")
    spec = TrainingSpec(
        entry_point="train.py",
        source_dir=str(src),
        framework="sklearn",
        dependencies=[str(lib)],
        inputs={"train": Channel("s3://smkit-test/data/train/")},
    )
    aws_session.store.put_bytes("s3://smkit-test/data/train/a.csv", b"1,2\n")
    req = aws_session.backend.training_request(spec, "deps-job")
    source = json.loads(req["HyperParameters"]["sagemaker_submit_directory"])
    with tarfile.open(fileobj=io.BytesIO(aws_session.store.get_bytes(source))) as tar:
        assert sorted(tar.getnames()) == ["common/__init__.py", "train.py", "util.py"]
    model = ModelSpec(
        model_data="s3://smkit-test/m/model.tar.gz",
        framework="sklearn",
        entry_point="train.py",
        source_dir=str(src),
        dependencies=[str(lib)],
    )
    mreq = aws_session.backend.model_request(
        model, "deps-model", EndpointSpec(name="e").instance_type
    )
    source = mreq["PrimaryContainer"]["Environment"]["SAGEMAKER_SUBMIT_DIRECTORY"]
    with tarfile.open(fileobj=io.BytesIO(aws_session.store.get_bytes(source))) as tar:
        assert "common/__init__.py" in tar.getnames()
    clash = tmp_path / "util.py"
    clash.write_text("")
    with pytest.raises(ConfigError, match="clashes"):
        aws_session.backend.training_request(spec.evolve(dependencies=[str(clash)]), "deps-2")
