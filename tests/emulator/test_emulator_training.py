"""Training jobs on the emulator, with boto3 only: they really run, fail and stop."""

from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ClientError, WaiterError
from emulator_helpers import (
    FAILING_PY,
    WAIT,
    XGBOOST_IMAGE,
    check_request,
    check_response,
    csv_rows,
    script_job,
    tarball,
)

pytestmark = pytest.mark.timeout(300)


@pytest.fixture
def bucket(emulator_env) -> str:
    import uuid

    name = f"train-{uuid.uuid4().hex[:12]}"
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=name)
    s3.put_object(Bucket=name, Key="data/train/train.csv", Body=csv_rows())
    return name


def test_a_failing_script_fails_the_job_and_the_waiter(bucket: str) -> None:
    s3, sm = boto3.client("s3"), boto3.client("sagemaker")
    s3.put_object(Bucket=bucket, Key="code/fail.tar.gz", Body=tarball({"train.py": FAILING_PY}))
    req = check_request(
        sm, "CreateTrainingJob", script_job(f"{bucket}-fail", bucket, "code/fail.tar.gz")
    )
    check_response(sm, "CreateTrainingJob", sm.create_training_job(**req))
    with pytest.raises(WaiterError) as info:
        sm.get_waiter("training_job_completed_or_stopped").wait(
            TrainingJobName=req["TrainingJobName"], WaiterConfig=WAIT
        )
    assert "Failed" in str(info.value)
    desc = check_response(
        sm, "DescribeTrainingJob", sm.describe_training_job(TrainingJobName=req["TrainingJobName"])
    )
    assert desc["TrainingJobStatus"] == "Failed"
    assert "ExitCode 3" in desc["FailureReason"]
    assert "about to fail" in desc["FailureReason"]
    statuses = [t["Status"] for t in desc["SecondaryStatusTransitions"]]
    assert statuses[0] == "Starting" and statuses[-1] == "Failed"
    assert "Training" in statuses
    # the log went to CloudWatch Logs as SageMaker's does
    logs = boto3.client("logs")
    streams = logs.describe_log_streams(
        logGroupName="/aws/sagemaker/TrainingJobs", logStreamNamePrefix=req["TrainingJobName"]
    )["logStreams"]
    assert len(streams) == 1
    events = logs.get_log_events(
        logGroupName="/aws/sagemaker/TrainingJobs", logStreamName=streams[0]["logStreamName"]
    )["events"]
    assert "about to fail" in [e["message"] for e in events]
    # a name is taken once
    with pytest.raises(ClientError) as dup:
        sm.create_training_job(**req)
    assert dup.value.response["Error"]["Code"] == "ResourceInUse"
    with pytest.raises(ClientError) as stop:
        sm.stop_training_job(TrainingJobName=req["TrainingJobName"])
    assert stop.value.response["Error"]["Code"] == "ValidationException"


def test_a_channel_without_data_is_a_client_error(bucket: str) -> None:
    sm = boto3.client("sagemaker")
    req = script_job(f"{bucket}-nodata", bucket, "code/none.tar.gz")
    req["InputDataConfig"][0]["DataSource"]["S3DataSource"]["S3Uri"] = f"s3://{bucket}/nothing/"
    sm.create_training_job(**check_request(sm, "CreateTrainingJob", req))
    with pytest.raises(WaiterError):
        sm.get_waiter("training_job_completed_or_stopped").wait(
            TrainingJobName=req["TrainingJobName"], WaiterConfig=WAIT
        )
    desc = sm.describe_training_job(TrainingJobName=req["TrainingJobName"])
    assert desc["FailureReason"].startswith("ClientError: Data download failed")
    assert f"s3://{bucket}/nothing/" in desc["FailureReason"]
    listed = sm.list_training_jobs(NameContains=bucket, StatusEquals="Failed")
    check_response(sm, "ListTrainingJobs", listed)
    assert req["TrainingJobName"] in [s["TrainingJobName"] for s in listed["TrainingJobSummaries"]]


def test_built_in_xgboost_trains_and_writes_model_tar_gz(bucket: str) -> None:
    s3, sm = boto3.client("s3"), boto3.client("sagemaker")
    name = f"{bucket}-xgb"
    req = check_request(
        sm,
        "CreateTrainingJob",
        {
            "TrainingJobName": name,
            "AlgorithmSpecification": {"TrainingImage": XGBOOST_IMAGE, "TrainingInputMode": "File"},
            "RoleArn": "arn:aws:iam::123456789012:role/r",
            "HyperParameters": {"num_round": "3", "objective": "binary:logistic", "max_depth": "2"},
            "InputDataConfig": [
                {
                    "ChannelName": "train",
                    "ContentType": "text/csv",
                    "DataSource": {
                        "S3DataSource": {
                            "S3DataType": "S3Prefix",
                            "S3Uri": f"s3://{bucket}/data/train/",
                        }
                    },
                }
            ],
            "OutputDataConfig": {"S3OutputPath": f"s3://{bucket}/xgb"},
            "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1,
                               "VolumeSizeInGB": 5},
            "StoppingCondition": {"MaxRuntimeInSeconds": 300},
        },
    )
    sm.create_training_job(**req)
    sm.get_waiter("training_job_completed_or_stopped").wait(TrainingJobName=name, WaiterConfig=WAIT)
    desc = check_response(sm, "DescribeTrainingJob", sm.describe_training_job(TrainingJobName=name))
    assert desc["TrainingJobStatus"] == "Completed", desc.get("FailureReason")
    artifact = desc["ModelArtifacts"]["S3ModelArtifacts"]
    assert artifact == f"s3://{bucket}/xgb/{name}/output/model.tar.gz"
    import io
    import tarfile

    body = s3.get_object(Bucket=bucket, Key=f"xgb/{name}/output/model.tar.gz")["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(body)) as tar:
        assert "xgboost-model" in tar.getnames()
    metrics = {m["MetricName"] for m in desc.get("FinalMetricDataList", [])}
    assert "train:error" in metrics or "train:logloss" in metrics
    assert desc["TrainingEndTime"] >= desc["TrainingStartTime"]


SLEEPY_PY = """
import time
print("sleeping", flush=True)
time.sleep(120)
"""


def test_stop_training_job_ends_stopped(bucket: str) -> None:
    import time

    s3, sm = boto3.client("s3"), boto3.client("sagemaker")
    s3.put_object(Bucket=bucket, Key="code/sleep.tar.gz", Body=tarball({"train.py": SLEEPY_PY}))
    req = script_job(f"{bucket}-stop", bucket, "code/sleep.tar.gz")
    sm.create_training_job(**req)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if sm.describe_training_job(TrainingJobName=req["TrainingJobName"])[
            "SecondaryStatus"
        ] == "Training":
            break
        time.sleep(0.3)
    stopped = sm.stop_training_job(TrainingJobName=req["TrainingJobName"])
    check_response(sm, "StopTrainingJob", stopped)
    assert sm.describe_training_job(TrainingJobName=req["TrainingJobName"])[
        "TrainingJobStatus"
    ] in ("Stopping", "Stopped")
    sm.get_waiter("training_job_completed_or_stopped").wait(
        TrainingJobName=req["TrainingJobName"], WaiterConfig=WAIT
    )
    desc = sm.describe_training_job(TrainingJobName=req["TrainingJobName"])
    assert desc["TrainingJobStatus"] == "Stopped"
    assert desc["SecondaryStatus"] == "Stopped"
