"""The whole SageMaker lifecycle on the emulator with boto3 alone (no smkit client code):
stage data and code in S3, train an sklearn script, wait with boto3's waiters, deploy with
data capture, invoke, read the capture back from S3, delete everything."""

from __future__ import annotations

import io
import json
import tarfile
import time

import boto3
import pytest
from botocore.exceptions import ClientError
from emulator_helpers import (
    ROLE,
    SKLEARN_IMAGE,
    TRAIN_PY,
    WAIT,
    check_request,
    check_response,
    csv_rows,
    script_job,
    tarball,
)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

BUCKET = "emulator-e2e"


def test_train_deploy_invoke_capture_delete(emulator_env) -> None:
    s3 = boto3.client("s3")  # AWS_ENDPOINT_URL points at the emulator
    sm = boto3.client("sagemaker")
    runtime = boto3.client("sagemaker-runtime")
    s3.create_bucket(Bucket=BUCKET)
    s3.put_object(Bucket=BUCKET, Key="data/train/train.csv", Body=csv_rows())
    s3.put_object(Bucket=BUCKET, Key="code/sourcedir.tar.gz", Body=tarball({"train.py": TRAIN_PY}))

    # -- train ------------------------------------------------------------------------------
    job = "e2e-sklearn"
    req = check_request(sm, "CreateTrainingJob", script_job(job, BUCKET, "code/sourcedir.tar.gz"))
    created = check_response(sm, "CreateTrainingJob", sm.create_training_job(**req))
    assert created["TrainingJobArn"].endswith(f":training-job/{job}")
    sm.get_waiter("training_job_completed_or_stopped").wait(TrainingJobName=job, WaiterConfig=WAIT)
    desc = check_response(sm, "DescribeTrainingJob", sm.describe_training_job(TrainingJobName=job))
    assert desc["TrainingJobStatus"] == "Completed", desc.get("FailureReason")
    assert [t["Status"] for t in desc["SecondaryStatusTransitions"]] == [
        "Starting", "Downloading", "Training", "Uploading", "Completed",
    ]
    assert {m["MetricName"]: m["Value"] for m in desc["FinalMetricDataList"]} == {
        "train:accuracy": 1.0
    }
    artifact = desc["ModelArtifacts"]["S3ModelArtifacts"]
    assert artifact == f"s3://{BUCKET}/output/{job}/output/model.tar.gz"
    body = s3.get_object(Bucket=BUCKET, Key=f"output/{job}/output/model.tar.gz")["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(body)) as tar:
        assert "model.joblib" in tar.getnames()
    s3.head_object(Bucket=BUCKET, Key=f"output/{job}/output/output.tar.gz")
    summaries = sm.list_training_jobs(NameContains="e2e-")["TrainingJobSummaries"]
    assert [(s["TrainingJobName"], s["TrainingJobStatus"]) for s in summaries] == [
        (job, "Completed")
    ]

    # -- deploy -----------------------------------------------------------------------------
    model_req = check_request(
        sm,
        "CreateModel",
        {
            "ModelName": "e2e-model",
            "ExecutionRoleArn": ROLE,
            "PrimaryContainer": {"Image": SKLEARN_IMAGE, "ModelDataUrl": artifact},
        },
    )
    check_response(sm, "CreateModel", sm.create_model(**model_req))
    config_req = check_request(
        sm,
        "CreateEndpointConfig",
        {
            "EndpointConfigName": "e2e-config",
            "ProductionVariants": [
                {
                    "VariantName": "AllTraffic",
                    "ModelName": "e2e-model",
                    "InitialInstanceCount": 1,
                    "InstanceType": "ml.m5.large",
                }
            ],
            "DataCaptureConfig": {
                "EnableCapture": True,
                "InitialSamplingPercentage": 100,
                "DestinationS3Uri": f"s3://{BUCKET}/capture",
                "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
            },
        },
    )
    check_response(sm, "CreateEndpointConfig", sm.create_endpoint_config(**config_req))
    check_response(
        sm,
        "CreateEndpoint",
        sm.create_endpoint(EndpointName="e2e-endpoint", EndpointConfigName="e2e-config"),
    )
    sm.get_waiter("endpoint_in_service").wait(EndpointName="e2e-endpoint", WaiterConfig=WAIT)
    ep = check_response(sm, "DescribeEndpoint", sm.describe_endpoint(EndpointName="e2e-endpoint"))
    assert ep["EndpointStatus"] == "InService", ep.get("FailureReason")
    assert ep["DataCaptureConfig"]["DestinationS3Uri"] == f"s3://{BUCKET}/capture"
    check_response(sm, "DescribeModel", sm.describe_model(ModelName="e2e-model"))
    check_response(
        sm, "DescribeEndpointConfig", sm.describe_endpoint_config(EndpointConfigName="e2e-config")
    )

    # -- invoke -----------------------------------------------------------------------------
    answer = runtime.invoke_endpoint(
        EndpointName="e2e-endpoint", ContentType="text/csv", Accept="text/csv",
        Body=b"1.1,0.0\n0.0,1.1\n",
    )
    assert answer["Body"].read().decode().split() == ["1.0", "0.0"]
    assert answer["InvokedProductionVariant"] == "AllTraffic"
    with pytest.raises(ClientError) as info:
        runtime.invoke_endpoint(EndpointName="e2e-endpoint", ContentType="text/csv", Body=b"x,y")
    err = info.value.response
    assert err["Error"]["Code"] == "ModelError"
    assert err["ResponseMetadata"]["HTTPStatusCode"] == 424
    assert err["OriginalStatusCode"] == 400

    # -- the capture, in SageMaker's layout in S3 --------------------------------------------
    keys: list[str] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not keys:
        listing = s3.list_objects_v2(Bucket=BUCKET, Prefix="capture/")
        keys = [o["Key"] for o in listing.get("Contents", [])]
        time.sleep(0.5)
    assert keys, "no capture object reached S3"
    parts = keys[0].split("/")
    assert parts[:3] == ["capture", "e2e-endpoint", "AllTraffic"]
    assert [len(p) for p in parts[3:7]] == [4, 2, 2, 2]  # yyyy/mm/dd/hh
    assert parts[-1].endswith(".jsonl")
    lines = [
        json.loads(line)
        for key in keys
        for line in s3.get_object(Bucket=BUCKET, Key=key)["Body"].read().splitlines()
    ]
    first = lines[0]["captureData"]
    assert first["endpointInput"]["data"] == "1.1,0.0\n0.0,1.1\n"
    assert first["endpointInput"]["encoding"] == "CSV"
    assert first["endpointOutput"]["data"].split() == ["1.0", "0.0"]

    # -- delete everything ------------------------------------------------------------------
    sm.delete_endpoint(EndpointName="e2e-endpoint")
    sm.get_waiter("endpoint_deleted").wait(EndpointName="e2e-endpoint", WaiterConfig=WAIT)
    sm.delete_endpoint_config(EndpointConfigName="e2e-config")
    sm.delete_model(ModelName="e2e-model")
    assert sm.list_endpoints(NameContains="e2e-")["Endpoints"] == []
    assert sm.list_endpoint_configs(NameContains="e2e-")["EndpointConfigs"] == []
    assert sm.list_models(NameContains="e2e-")["Models"] == []
    with pytest.raises(ClientError) as gone:
        runtime.invoke_endpoint(EndpointName="e2e-endpoint", ContentType="text/csv", Body=b"1,2")
    assert gone.value.response["Error"]["Code"] == "ValidationError"
    for key in [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]]:
        s3.delete_object(Bucket=BUCKET, Key=key)
    s3.delete_bucket(Bucket=BUCKET)
