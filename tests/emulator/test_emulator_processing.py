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


def _wait_execution(sm, schedule: str) -> dict:
    import time

    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        runs = sm.list_monitoring_executions(MonitoringScheduleName=schedule)[
            "MonitoringExecutionSummaries"
        ]
        if runs and runs[0]["MonitoringExecutionStatus"] not in ("Pending", "InProgress"):
            return runs[0]
        time.sleep(0.5)
    raise AssertionError(f"no finished execution of {schedule}")


def test_on_demand_monitoring_of_an_endpoint_finds_violations(emulator_env) -> None:
    import io
    import tarfile

    import joblib
    import numpy as np
    from emulator_helpers import SKLEARN_IMAGE
    from sklearn.linear_model import LinearRegression

    s3, sm = boto3.client("s3"), boto3.client("sagemaker")
    runtime = boto3.client("sagemaker-runtime")
    tag = uuid.uuid4().hex[:8]
    bucket = f"mon-{tag}"
    s3.create_bucket(Bucket=bucket)
    x = np.arange(1, 21, dtype=float).reshape(-1, 1)
    raw = io.BytesIO()
    joblib.dump(LinearRegression().fit(x, 2 * x[:, 0]), raw)
    tar_buf = io.BytesIO()
    with tarfile.open(fileobj=tar_buf, mode="w:gz") as tar:
        info = tarfile.TarInfo("model.joblib")
        info.size = len(raw.getvalue())
        tar.addfile(info, io.BytesIO(raw.getvalue()))
    s3.put_object(Bucket=bucket, Key="model.tar.gz", Body=tar_buf.getvalue())
    # the baseline: header-less, output first, as the capture is read
    baseline_rows = "".join(f"{2 * v},{v}\n" for v in range(1, 21))
    s3.put_object(Bucket=bucket, Key="baseline-data/train.csv", Body=baseline_rows.encode())
    job = _job(f"{bucket}-base", bucket, "baseline-data/", "baseline")
    job["Environment"]["dataset_format"] = '{"csv": {"header": false}}'
    sm.create_processing_job(**job)
    sm.get_waiter("processing_job_completed_or_stopped").wait(
        ProcessingJobName=job["ProcessingJobName"], WaiterConfig=WAIT
    )

    sm.create_model(
        ModelName=f"m-{tag}", ExecutionRoleArn=ROLE,
        PrimaryContainer={"Image": SKLEARN_IMAGE, "ModelDataUrl": f"s3://{bucket}/model.tar.gz"},
    )
    sm.create_endpoint_config(
        EndpointConfigName=f"c-{tag}",
        ProductionVariants=[{"VariantName": "AllTraffic", "ModelName": f"m-{tag}",
                             "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}],
        DataCaptureConfig={"EnableCapture": True, "InitialSamplingPercentage": 100,
                           "DestinationS3Uri": f"s3://{bucket}/capture",
                           "CaptureOptions": [{"CaptureMode": "Input"},
                                              {"CaptureMode": "Output"}]},
    )
    endpoint = f"e-{tag}"
    sm.create_endpoint(EndpointName=endpoint, EndpointConfigName=f"c-{tag}")
    sm.get_waiter("endpoint_in_service").wait(EndpointName=endpoint, WaiterConfig=WAIT)
    for v in (3, 5, 8):
        runtime.invoke_endpoint(EndpointName=endpoint, ContentType="text/csv", Body=f"{v}")

    def schedule(name: str) -> dict:
        req = {
            "MonitoringScheduleName": name,
            "MonitoringScheduleConfig": {
                "ScheduleConfig": {
                    "ScheduleExpression": "NOW",
                    "DataAnalysisStartTime": "-PT1H",
                    "DataAnalysisEndTime": "-PT0H",
                },
                "MonitoringJobDefinition": {
                    "BaselineConfig": {
                        "ConstraintsResource": {"S3Uri": f"s3://{bucket}/baseline/constraints.json"},
                        "StatisticsResource": {"S3Uri": f"s3://{bucket}/baseline/statistics.json"},
                    },
                    "MonitoringInputs": [{"EndpointInput": {
                        "EndpointName": endpoint, "LocalPath": "/opt/ml/processing/input/endpoint",
                    }}],
                    "MonitoringOutputConfig": {"MonitoringOutputs": [{"S3Output": {
                        "S3Uri": f"s3://{bucket}/reports",
                        "LocalPath": "/opt/ml/processing/output",
                    }}]},
                    "MonitoringResources": {"ClusterConfig": {
                        "InstanceCount": 1, "InstanceType": "ml.m5.xlarge", "VolumeSizeInGB": 10,
                    }},
                    "MonitoringAppSpecification": {"ImageUri": ANALYZER},
                    "RoleArn": ROLE,
                },
                "MonitoringType": "DataQuality",
            },
        }
        sm.create_monitoring_schedule(**check_request(sm, "CreateMonitoringSchedule", req))
        return _wait_execution(sm, name)

    clean = schedule(f"clean-{tag}")
    assert clean["MonitoringExecutionStatus"] == "Completed", clean.get("FailureReason")
    for v in (2.5, 7.25):  # fractional inputs against an Integral baseline: data_type_check
        runtime.invoke_endpoint(EndpointName=endpoint, ContentType="text/csv", Body=f"{v}")
    drifted = schedule(f"drift-{tag}")
    assert drifted["MonitoringExecutionStatus"] == "CompletedWithViolations"
    desc = check_response(
        sm, "DescribeMonitoringSchedule",
        sm.describe_monitoring_schedule(MonitoringScheduleName=f"drift-{tag}"),
    )
    assert desc["LastMonitoringExecutionSummary"]["MonitoringExecutionStatus"] == (
        "CompletedWithViolations"
    )
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="reports/")["Contents"]]
    found = [
        k for k in keys
        if k.startswith(f"reports/{endpoint}/drift-{tag}/")
        and k.endswith("constraint_violations.json")
    ]
    assert len(found) == 1
    doc = json.loads(s3.get_object(Bucket=bucket, Key=found[0])["Body"].read())
    assert {v["constraint_check_type"] for v in doc["violations"]} == {"data_type_check"}
    sm.delete_monitoring_schedule(MonitoringScheduleName=f"clean-{tag}")
    sm.delete_monitoring_schedule(MonitoringScheduleName=f"drift-{tag}")
    sm.delete_endpoint(EndpointName=endpoint)
    sm.get_waiter("endpoint_deleted").wait(EndpointName=endpoint, WaiterConfig=WAIT)
