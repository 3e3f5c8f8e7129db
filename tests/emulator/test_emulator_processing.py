"""Processing jobs with the Model Monitor analyzer image, as DefaultModelMonitor sends them."""

from __future__ import annotations

import json
import uuid

import boto3
import pytest
from emulator_helpers import ROLE, WAIT, check_request, check_response

pytestmark = pytest.mark.timeout(120)

ANALYZER = "156813124566.dkr.ecr.us-east-1.amazonaws.com/sagemaker-model-monitor-analyzer"


def _job(name: str, bucket: str, data_prefix: str, out_prefix: str, **env: str) -> dict:
    """A CreateProcessingJob request shaped like the SageMaker SDK's suggest_baseline."""
    inputs = [
        {
            "InputName": "baseline_dataset_input",
            "AppManaged": False,
            "S3Input": {
                "S3Uri": f"s3://{bucket}/{data_prefix}",
                "LocalPath": "/opt/ml/processing/input/baseline_dataset_input",
                "S3DataType": "S3Prefix",
                "S3InputMode": "File",
                "S3DataDistributionType": "FullyReplicated",
            },
        }
    ]
    if "baseline_constraints" in env:
        inputs.append(
            {
                "InputName": "constraints",
                "S3Input": {
                    "S3Uri": f"s3://{bucket}/baseline/constraints.json",
                    "LocalPath": "/opt/ml/processing/baseline/constraints",
                    "S3DataType": "S3Prefix",
                    "S3InputMode": "File",
                },
            }
        )
    return {
        "ProcessingJobName": name,
        "ProcessingInputs": inputs,
        "ProcessingOutputConfig": {
            "Outputs": [
                {
                    "OutputName": "monitoring_output",
                    "AppManaged": False,
                    "S3Output": {
                        "S3Uri": f"s3://{bucket}/{out_prefix}",
                        "LocalPath": "/opt/ml/processing/output",
                        "S3UploadMode": "EndOfJob",
                    },
                }
            ]
        },
        "ProcessingResources": {
            "ClusterConfig": {
                "InstanceCount": 1, "InstanceType": "ml.m5.xlarge", "VolumeSizeInGB": 30,
            }
        },
        "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
        "AppSpecification": {"ImageUri": ANALYZER},
        "Environment": {
            "dataset_format": '{"csv": {"header": true, "output_columns_position": "START"}}',
            "dataset_source": "/opt/ml/processing/input/baseline_dataset_input",
            "output_path": "/opt/ml/processing/output",
            "publish_cloudwatch_metrics": "Disabled",
            **env,
        },
        "RoleArn": ROLE,
    }


def test_suggest_baseline_then_check_new_data(emulator_env) -> None:
    s3, sm = boto3.client("s3"), boto3.client("sagemaker")
    bucket = f"mon-{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=bucket)
    rows = "".join(f"{i % 3},{1.5 + i % 5},{'red' if i % 2 else 'blue'}\n" for i in range(30))
    s3.put_object(Bucket=bucket, Key="data/part-1.csv", Body=b"label,size,color\n" + rows.encode())

    name = f"{bucket}-baseline"
    req = check_request(sm, "CreateProcessingJob", _job(name, bucket, "data/", "baseline"))
    check_response(sm, "CreateProcessingJob", sm.create_processing_job(**req))
    sm.get_waiter("processing_job_completed_or_stopped").wait(
        ProcessingJobName=name, WaiterConfig=WAIT
    )
    desc = check_response(
        sm, "DescribeProcessingJob", sm.describe_processing_job(ProcessingJobName=name)
    )
    assert desc["ProcessingJobStatus"] == "Completed", desc.get("FailureReason")
    stats = json.loads(s3.get_object(Bucket=bucket, Key="baseline/statistics.json")["Body"].read())
    assert stats["dataset"]["item_count"] == 30
    by_name = {f["name"]: f for f in stats["features"]}
    assert by_name["size"]["numerical_statistics"]["min"] == 1.5
    constraints = json.loads(
        s3.get_object(Bucket=bucket, Key="baseline/constraints.json")["Body"].read()
    )
    color = next(f for f in constraints["features"] if f["name"] == "color")
    assert sorted(color["string_constraints"]["domains"]) == ["blue", "red"]

    # new data with a colour outside the baseline's domain: a violation
    s3.put_object(
        Bucket=bucket, Key="new/part.csv", Body=b"label,size,color\n1,2.5,green\n0,1.5,red\n"
    )
    check = f"{bucket}-check"
    sm.create_processing_job(
        **_job(
            check, bucket, "new/", "check",
            baseline_constraints="/opt/ml/processing/baseline/constraints/constraints.json",
        )
    )
    sm.get_waiter("processing_job_completed_or_stopped").wait(
        ProcessingJobName=check, WaiterConfig=WAIT
    )
    assert sm.describe_processing_job(ProcessingJobName=check)["ProcessingJobStatus"] == (
        "Completed"
    )
    found = json.loads(
        s3.get_object(Bucket=bucket, Key="check/constraint_violations.json")["Body"].read()
    )
    kinds = {(v["feature_name"], v["constraint_check_type"]) for v in found["violations"]}
    assert ("color", "data_type_check") in kinds or ("color", "categorical_values_check") in kinds
    listed = sm.list_processing_jobs(NameContains=bucket)["ProcessingJobSummaries"]
    assert sorted(j["ProcessingJobName"] for j in listed) == sorted([name, check])


def test_an_unsupported_image_fails_the_job(emulator_env) -> None:
    s3, sm = boto3.client("s3"), boto3.client("sagemaker")
    bucket = f"mon-{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="data/a.csv", Body=b"a\n1\n")
    req = _job(f"{bucket}-x", bucket, "data/", "out")
    req["AppSpecification"] = {"ImageUri": "123456789012.dkr.ecr.us-east-1.amazonaws.com/mine:1"}
    sm.create_processing_job(**req)
    with pytest.raises(Exception, match="Failed"):
        sm.get_waiter("processing_job_completed_or_stopped").wait(
            ProcessingJobName=req["ProcessingJobName"], WaiterConfig=WAIT
        )
    desc = sm.describe_processing_job(ProcessingJobName=req["ProcessingJobName"])
    assert "Model Monitor analyzer" in desc["FailureReason"]
