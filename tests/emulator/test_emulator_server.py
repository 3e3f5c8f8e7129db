"""The emulator's server: routing by SigV4 service, moto behind it, AWS-shaped errors."""

from __future__ import annotations

import json

import httpx
import pytest
from botocore.exceptions import ClientError

from smkit.emulator.protocol import credential_scope, shape_output, to_epoch
from smkit.testing.emulator import Emulator

pytestmark = pytest.mark.timeout(120)


def test_credential_scope_reads_the_service_of_header_and_presigned_url() -> None:
    auth = (
        "AWS4-HMAC-SHA256 Credential=testing/20261203/eu-west-1/sagemaker/aws4_request, "
        "SignedHeaders=host;x-amz-date, Signature=abc"
    )
    assert credential_scope({"authorization": auth}) == ("eu-west-1", "sagemaker")
    qs = "X-Amz-Credential=testing%2F20261203%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=1"
    assert credential_scope({}, qs) == ("us-east-1", "s3")
    assert credential_scope({}, "") is None


def test_shape_output_keeps_the_model_members_and_epoch_timestamps() -> None:
    out = shape_output(
        "sagemaker",
        "DescribeModel",
        {
            "ModelName": "m",
            "ModelArn": "arn:aws:sagemaker:us-east-1:123456789012:model/m",
            "CreationTime": "2026-01-01T00:00:00+00:00",
            "NotAMember": 1,
        },
    )
    assert out == {
        "ModelName": "m",
        "ModelArn": "arn:aws:sagemaker:us-east-1:123456789012:model/m",
        "CreationTime": to_epoch("2026-01-01T00:00:00+00:00"),
    }
    assert out["CreationTime"] == 1767225600.0


def test_s3_sts_and_logs_go_to_moto(emulator: Emulator) -> None:
    s3 = emulator.client("s3")
    s3.create_bucket(Bucket="server-test-bucket")
    s3.put_object(Bucket="server-test-bucket", Key="a/b.csv", Body=b"1,2\n")
    assert s3.get_object(Bucket="server-test-bucket", Key="a/b.csv")["Body"].read() == b"1,2\n"
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="server-test-bucket")["Contents"]]
    assert keys == ["a/b.csv"]
    assert emulator.client("sts").get_caller_identity()["Account"] == "123456789012"
    logs = emulator.client("logs")
    logs.create_log_group(logGroupName="/server/test")
    groups = logs.describe_log_groups(logGroupNamePrefix="/server/")["logGroups"]
    assert [g["logGroupName"] for g in groups] == ["/server/test"]
    iam = emulator.client("iam")
    role = iam.create_role(RoleName="server-test-role", AssumeRolePolicyDocument="{}")
    assert role["Role"]["Arn"] == "arn:aws:iam::123456789012:role/server-test-role"


def test_an_unsupported_sagemaker_operation_names_itself(emulator: Emulator) -> None:
    sm = emulator.client("sagemaker")
    with pytest.raises(ClientError) as info:
        sm.list_clusters()
    err = info.value.response
    assert err["Error"]["Code"] == "UnknownOperationException"
    assert "SageMaker.ListClusters" in err["Error"]["Message"]
    assert err["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_a_malformed_request_is_a_validation_exception(emulator: Emulator) -> None:
    resp = httpx.post(
        emulator.url,
        content=json.dumps({"TrainingJobName": 5}),
        headers={
            "X-Amz-Target": "SageMaker.DescribeTrainingJob",
            "Content-Type": "application/x-amz-json-1.1",
            "Authorization": "AWS4-HMAC-SHA256 Credential=testing/20261203/us-east-1/sagemaker/"
            "aws4_request, SignedHeaders=host, Signature=x",
        },
        trust_env=False,
    )
    assert resp.status_code == 400
    doc = resp.json()
    assert doc["__type"] == "ValidationException"
    assert "TrainingJobName" in doc["message"]


def test_unknown_resources_answer_as_sagemaker_does(emulator: Emulator) -> None:
    sm = emulator.client("sagemaker")
    with pytest.raises(ClientError) as info:
        sm.describe_training_job(TrainingJobName="no-such-job")
    assert info.value.response["Error"]["Code"] == "ValidationException"
    with pytest.raises(ClientError) as info:
        sm.describe_endpoint(EndpointName="no-such-endpoint")
    assert "Could not find endpoint" in info.value.response["Error"]["Message"]
    runtime = emulator.client("sagemaker-runtime")
    with pytest.raises(ClientError) as info:
        runtime.invoke_endpoint(EndpointName="no-such-endpoint", Body=b"1", ContentType="text/csv")
    assert info.value.response["Error"]["Code"] == "ValidationError"
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_an_action_moto_does_not_implement_is_an_unknown_action(emulator: Emulator) -> None:
    from botocore.config import Config

    logs = emulator.client("logs", config=Config(retries={"max_attempts": 1}))
    with pytest.raises(ClientError) as info:
        logs.get_log_anomaly_detector(
            anomalyDetectorArn="arn:aws:logs:us-east-1:123456789012:anomaly-detector:x"
        )
    err = info.value.response
    assert err["Error"]["Code"] == "UnknownOperationException"
    assert "GetLogAnomalyDetector" in err["Error"]["Message"]
    assert err["ResponseMetadata"]["HTTPStatusCode"] == 400
    # a query-protocol service (IAM) with an action nobody knows
    resp = httpx.post(
        emulator.url + "/",
        data={"Action": "NoSuchAction", "Version": "2010-05-08"},
        headers={
            "Authorization": "AWS4-HMAC-SHA256 Credential=testing/20261203/us-east-1/iam/"
            "aws4_request, SignedHeaders=host, Signature=x"
        },
        trust_env=False,
        timeout=30,
    )
    assert resp.status_code == 400
    assert "<Code>InvalidAction</Code>" in resp.text
    assert "NoSuchAction" in resp.text
    # a real 404 without a body passes through: moto labels it text/html, and S3 clients
    # (the SageMaker SDK's default bucket) read it as "no such bucket, create it"
    s3 = emulator.client("s3", config=Config(retries={"max_attempts": 1}))
    with pytest.raises(ClientError) as info:
        s3.head_bucket(Bucket="no-such-bucket-for-head")
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert info.value.response["Error"]["Code"] == "404"
