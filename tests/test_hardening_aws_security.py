"""KMS keys, VPC config and network isolation reach every AWS request kind that takes them
(plan mode: requests are validated by botocore and recorded, nothing is sent)."""

from __future__ import annotations

import pytest

import smkit
from smkit.backends.aws import AwsBackend
from smkit.errors import ConfigError
from smkit.monitoring import MonitorPlan
from smkit.monitoring.clarify import DataConfig, SHAPConfig
from smkit.serving import DataCaptureSpec, EndpointSpec, ModelSpec
from smkit.training import ContinuousParameter, TrainingSpec, TuningSpec
from smkit.training.spec import VpcConfig

ROLE = "arn:aws:iam::123456789012:role/smkit-exec"
KEY = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
OUT_KEY = "alias/smkit-output"
VPC = VpcConfig(subnets=["subnet-0a1b2c"], security_group_ids=["sg-0a1b2c"])
VPC_REQ = {"SecurityGroupIds": ["sg-0a1b2c"], "Subnets": ["subnet-0a1b2c"]}


def _training() -> TrainingSpec:
    return TrainingSpec(
        algorithm="xgboost",
        hyperparameters={"num_round": 5, "objective": "reg:squarederror"},
        inputs={"train": "s3://bkt/t/", "validation": "s3://bkt/v/"},
        volume_kms_key=KEY,
        output_kms_key=OUT_KEY,
        vpc_config={"Subnets": ["subnet-0a1b2c"], "SecurityGroupIds": ["sg-0a1b2c"]},
        enable_network_isolation=True,
        encrypt_inter_container_traffic=True,
    )


def test_vpc_config_validates():
    assert VpcConfig("subnet-1", "sg-1").to_request() == {
        "SecurityGroupIds": ["sg-1"],
        "Subnets": ["subnet-1"],
    }
    with pytest.raises(ConfigError):
        VpcConfig([], ["sg-1"])
    with pytest.raises(ConfigError):
        VpcConfig(["subnet 1"], ["sg-1"])
    with pytest.raises(ConfigError):
        TrainingSpec(algorithm="xgboost", vpc_config=42)
    with pytest.raises(ConfigError):
        TrainingSpec(algorithm="xgboost", volume_kms_key="not a key")


def test_training_and_tuning_requests_carry_kms_vpc_isolation():
    session = smkit.Session("aws", plan=True, region="eu-west-1", bucket="bkt", role=ROLE)
    session.train(_training())
    session.tune(
        TuningSpec(
            training=_training(),
            ranges={"eta": ContinuousParameter(0.01, 0.5)},
            objective_metric="validation:rmse",
            max_jobs=2,
            max_parallel_jobs=1,
        )
    )
    train, tune = (r.params for r in session.plan())
    assert train["ResourceConfig"]["VolumeKmsKeyId"] == KEY
    assert train["OutputDataConfig"]["KmsKeyId"] == OUT_KEY
    assert train["VpcConfig"] == VPC_REQ
    assert train["EnableNetworkIsolation"] is True
    assert train["EnableInterContainerTrafficEncryption"] is True
    definition = tune["TrainingJobDefinition"]
    assert definition["ResourceConfig"]["VolumeKmsKeyId"] == KEY
    assert definition["OutputDataConfig"]["KmsKeyId"] == OUT_KEY
    assert definition["VpcConfig"] == VPC_REQ
    assert definition["EnableNetworkIsolation"] is True
    assert definition["EnableInterContainerTrafficEncryption"] is True


def test_training_defaults_send_no_security_keys():
    session = smkit.Session("aws", plan=True, region="eu-west-1", bucket="bkt", role=ROLE)
    session.train(TrainingSpec(algorithm="xgboost", inputs={"train": "s3://bkt/t/"}))
    req = session.plan()[0].params
    assert "VpcConfig" not in req and "KmsKeyId" not in req["OutputDataConfig"]
    assert req["EnableNetworkIsolation"] is False


def test_model_and_endpoint_config_carry_kms_vpc_isolation():
    session = smkit.Session("aws", plan=True, region="eu-west-1", bucket="bkt", role=ROLE)
    session.deploy(
        ModelSpec(
            model_data="s3://bkt/model.tar.gz",
            framework="xgboost",
            vpc_config=VPC,
            enable_network_isolation=True,
        ),
        EndpointSpec(
            name="secure",
            kms_key=KEY,
            data_capture=DataCaptureSpec(sampling_percentage=100, kms_key_id=OUT_KEY),
        ),
    )
    reqs = {r.operation: r.params for r in session.plan()}
    model = reqs["CreateModel"]
    assert model["VpcConfig"] == VPC_REQ and model["EnableNetworkIsolation"] is True
    config = reqs["CreateEndpointConfig"]
    assert config["KmsKeyId"] == KEY
    assert config["DataCaptureConfig"]["KmsKeyId"] == OUT_KEY
    # a serial pipeline's model carries them too
    session2 = smkit.Session("aws", plan=True, region="eu-west-1", bucket="bkt", role=ROLE)
    spec = ModelSpec(model_data="s3://bkt/m.tar.gz", framework="xgboost", vpc_config=VPC)
    session2.deploy([spec, spec], EndpointSpec(name="pipe"))
    assert session2.plan()[0].params["VpcConfig"] == VPC_REQ


def test_monitoring_requests_carry_kms_and_network_config():
    backend = AwsBackend(plan=True, region="eu-west-1", bucket="bkt", role=ROLE)
    plan = (
        MonitorPlan("churn")
        .data_quality(baseline="s3://bkt/train.csv")
        .model_quality(
            baseline="s3://bkt/val.csv",
            problem_type="BinaryClassification",
            ground_truth="s3://bkt/gt/",
            probability_attribute="probability",
        )
        .explainability(
            SHAPConfig(baseline=[[1, 2, 3]], num_samples=50),
            data=DataConfig("s3://bkt/train.csv", "s3://bkt/clarify/", label=0),
        )
        .schedule("hourly")
        .with_security(
            volume_kms_key=KEY,
            output_kms_key=OUT_KEY,
            vpc_config=VPC,
            enable_network_isolation=True,
            encrypt_inter_container_traffic=True,
        )
    )
    backend.apply_monitor(plan)
    network = {
        "EnableInterContainerTrafficEncryption": True,
        "EnableNetworkIsolation": True,
        "VpcConfig": VPC_REQ,
    }
    seen = set()
    for req in backend.plan():
        p = req.params
        if req.operation == "CreateProcessingJob":
            assert p["ProcessingResources"]["ClusterConfig"]["VolumeKmsKeyId"] == KEY
            assert p["ProcessingOutputConfig"]["KmsKeyId"] == OUT_KEY
            assert p["NetworkConfig"] == network
            seen.add(req.operation)
        elif req.operation.endswith("JobDefinition"):
            kind = req.operation[len("Create") : -len("JobDefinition")]
            assert p["JobResources"]["ClusterConfig"]["VolumeKmsKeyId"] == KEY
            assert p[f"{kind}JobOutputConfig"]["KmsKeyId"] == OUT_KEY
            assert p["NetworkConfig"] == network
            seen.add(req.operation)
    assert seen == {
        "CreateProcessingJob",
        "CreateDataQualityJobDefinition",
        "CreateModelQualityJobDefinition",
        "CreateModelExplainabilityJobDefinition",
    }
    with pytest.raises(ConfigError):
        plan.with_security(volume_kms_key="bad key")


def test_trained_model_keeps_the_network_settings(local_session, tmp_path):
    script = tmp_path / "train.py"
    script.write_text(
        "import os\nopen(os.path.join(os.environ['SM_MODEL_DIR'], 'm.txt'), 'w').write('1')\n"
    )
    job = local_session.train(
        TrainingSpec(
            entry_point=str(script),
            framework="sklearn",
            profiler=None,
            vpc_config=VPC,
            enable_network_isolation=True,
            output_kms_key=OUT_KEY,
        )
    ).wait(timeout=90)
    record = job.describe()
    assert record["VpcConfig"] == VPC_REQ and record["EnableNetworkIsolation"] is True
    assert record["OutputDataConfig"]["KmsKeyId"] == OUT_KEY
    model = job.model()
    assert model.vpc_config == VPC and model.enable_network_isolation is True
    assert model.sha256
