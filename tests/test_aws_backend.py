import pytest

import smkit
from smkit.backends.aws.client import validate_request
from smkit.backends.aws.errors import translate
from smkit.errors import (
    AwsError,
    ResourceNotFoundError,
    ThrottlingError,
    ValidationError,
)


def test_plan_mode_sends_nothing_and_validates(monkeypatch):
    monkeypatch.delenv("AWS_ACCESS_KEY_ID", raising=False)
    s = smkit.Session("aws", plan=True, region="eu-west-1", endpoint_url="http://127.0.0.1:9")
    s.store.put_bytes("s3://bkt/k.txt", b"abc")
    plan = s.plan()
    assert [(p.service, p.operation) for p in plan] == [("s3", "PutObject")]
    assert plan[0].to_dict()["params"]["Body"] == "<3 bytes>"
    assert plan[0].params["Metadata"]["sha256"]


def test_botocore_validation_rejects_bad_request():
    with pytest.raises(ValidationError, match="CreateModel"):
        validate_request("sagemaker", "CreateModel", {"ModelName": 3})
    with pytest.raises(ValidationError, match="no operation"):
        validate_request("sagemaker", "CreateWidget", {})


class _Fake(Exception):
    def __init__(self, code, message="m"):
        super().__init__(message)
        self.response = {"Error": {"Code": code, "Message": message}}


@pytest.mark.parametrize(
    ("code", "message", "cls"),
    [
        ("NoSuchKey", "x", ResourceNotFoundError),
        ("ValidationException", "Could not find model", ResourceNotFoundError),
        ("ThrottlingException", "slow", ThrottlingError),
        ("ValidationException", "bad field", ValidationError),
        ("InternalFailure", "boom", AwsError),
    ],
)
def test_translate(code, message, cls):
    err = translate(
        _Fake(code, message), service="sagemaker", operation="DescribeModel", resource="m"
    )
    assert type(err) is cls
    assert "DescribeModel" in str(err) and code in str(err)


@pytest.mark.aws
def test_client_error_translated_on_moto(aws_backend):
    with pytest.raises(ResourceNotFoundError, match="DescribeEndpoint"):
        aws_backend.catalog.describe("endpoint", "nope")


def test_missing_region_is_clear(monkeypatch):
    for var in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE", "AWS_CONFIG_FILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    s = smkit.Session("aws")
    with pytest.raises(smkit.errors.ConfigError, match="region"):
        _ = s.backend.region


@pytest.mark.aws
def test_created_bucket_is_locked_down(aws_backend):
    s3 = aws_backend.requester.client("s3")
    block = s3.get_public_access_block(Bucket="smkit-test")["PublicAccessBlockConfiguration"]
    assert all(block.values())
    enc = s3.get_bucket_encryption(Bucket="smkit-test")["ServerSideEncryptionConfiguration"]
    assert enc["Rules"][0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"


def test_new_bucket_gets_tls_only_policy_on_aws():
    import json

    s = smkit.Session("aws", plan=True, region="eu-west-1")
    s.backend.store.ensure_bucket("my-new-bucket")
    ops = {p.operation: p.params for p in s.plan()}
    assert ops["CreateBucket"]["CreateBucketConfiguration"] == {"LocationConstraint": "eu-west-1"}
    deny = json.loads(ops["PutBucketPolicy"]["Policy"])["Statement"][0]
    assert deny["Effect"] == "Deny" and deny["Principal"] == "*"
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert "PutPublicAccessBlock" in ops and "PutBucketEncryption" in ops


@pytest.mark.aws
def test_default_bucket_is_created_on_a_real_run(moto, monkeypatch):
    from smkit.backends.aws import AwsBackend
    from smkit.testing.moto import FAKE_CREDENTIALS

    for key, value in FAKE_CREDENTIALS.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("SMKIT_BUCKET", raising=False)
    moto.reset()
    backend = AwsBackend(region="us-east-1", endpoint_url=moto.url)
    assert backend.bucket == "sagemaker-us-east-1-123456789012"
    s3 = backend.requester.client("s3")
    assert s3.head_bucket(Bucket=backend.bucket)["ResponseMetadata"]["HTTPStatusCode"] == 200
    ops = [r.operation for r in backend.plan()]
    assert ops[:3] == ["GetCallerIdentity", "HeadBucket", "CreateBucket"]
    n = len(backend.plan())
    _ = backend.bucket  # checked once per backend
    assert len(backend.plan()) == n


def test_plan_mode_creates_no_bucket():
    s = smkit.Session("aws", plan=True, region="eu-west-1")
    assert s.default_bucket() == "sagemaker-eu-west-1-123456789012"
    assert s.plan() == []


def test_backend_is_composed_of_components_sharing_its_context():
    from smkit.backends.aws import AwsBackend

    backend = AwsBackend(plan=True, region="eu-west-1", bucket="bkt", debugger=False)
    parts = [backend.training, backend.serving, backend.monitoring, backend.workflows]
    assert [type(p).__name__ for p in parts] == [
        "AwsTraining",
        "AwsServing",
        "AwsMonitoring",
        "AwsWorkflows",
    ]
    assert all(p.backend is backend for p in parts)
    assert not isinstance(backend, type(backend.training))  # composed, not a mixin
    # settings are read through the context at call time
    backend.debugger = True
    assert backend.training.debugger is True
    assert {p.bucket for p in parts} == {"bkt"} and {p.region for p in parts} == {"eu-west-1"}
    # the backend's verbs delegate to the components; handles call the backend back
    assert backend.job_poll_delay(3) == backend.training.job_poll_delay(3) == 8.0
    assert backend.training_job("j1").backend is backend
    assert backend.endpoint("ep").backend is backend
    backend.stop_training_job("j1")
    assert [(p.operation, p.params) for p in backend.plan()] == [
        ("StopTrainingJob", {"TrainingJobName": "j1"})
    ]
    backend._definition_names = {"s": "d"}
    assert backend.monitoring._definition_names == {"s": "d"}


def test_staging_demo_honours_bucket(tmp_path, capsys):
    import json

    from smkit.cli import main

    out = tmp_path / "plan"
    args = ["run", "staging-demo", "--quick", "--backend", "aws", "--plan", "--out", str(out)]
    assert main([*args, "--bucket", "my-own-bucket"]) == 0
    plan = json.loads((out / "plan.json").read_text())
    buckets = {r["params"]["Bucket"] for r in plan if "Bucket" in r["params"]}
    assert buckets == {"my-own-bucket"}
    keys = {r["params"]["Key"] for r in plan if r["operation"] == "PutObject"}
    assert keys and all(k.startswith("staging-demo/") for k in keys)


def test_cli_help_says_debugger_is_opt_in_and_names_the_roles(capsys):
    from smkit.cli import main

    with pytest.raises(SystemExit):
        main(["run", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--debugger" in text and "opt-in, default off" in text
    for flag in ("--role", "--lambda-role", "--states-role"):
        assert flag in text
    assert "lambda.amazonaws.com" in text and "states.amazonaws.com" in text
