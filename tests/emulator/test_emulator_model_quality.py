"""Model-quality and explainability monitoring on the emulator, with boto3 alone: the
baseline processing jobs (the analyzer with ``analysis_type=MODEL_QUALITY``, the Clarify
image), the job definitions, ``NOW`` schedules over captured traffic, and the reports in S3.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import tarfile
import time
import uuid
from pathlib import Path

import boto3
import pytest
from emulator_helpers import ROLE, SKLEARN_IMAGE, WAIT, check_request, check_response

pytestmark = pytest.mark.timeout(240)

ANALYZER = "156813124566.dkr.ecr.us-east-1.amazonaws.com/sagemaker-model-monitor-analyzer"
CLARIFY = "205585389593.dkr.ecr.us-east-1.amazonaws.com/sagemaker-clarify-processing:1.0"
CLUSTER = {"ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.xlarge",
                             "VolumeSizeInGB": 30}}
OUTPUT = "/opt/ml/processing/output"


def _s3_input(name: str, uri: str, local: str) -> dict:
    return {
        "InputName": name,
        "S3Input": {"S3Uri": uri, "LocalPath": local, "S3DataType": "S3Prefix",
                    "S3InputMode": "File", "S3DataDistributionType": "FullyReplicated"},
    }


def _processing(sm, name: str, image: str, inputs: list, out: str, env: dict | None,
                output_name: str) -> dict:
    req = {
        "ProcessingJobName": name,
        "ProcessingInputs": inputs,
        "ProcessingOutputConfig": {"Outputs": [{
            "OutputName": output_name,
            "S3Output": {"S3Uri": out, "LocalPath": OUTPUT, "S3UploadMode": "EndOfJob"},
        }]},
        "ProcessingResources": CLUSTER,
        "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
        "AppSpecification": {"ImageUri": image},
        "RoleArn": ROLE,
        **({"Environment": env} if env else {}),
    }
    sm.create_processing_job(**check_request(sm, "CreateProcessingJob", req))
    sm.get_waiter("processing_job_completed_or_stopped").wait(
        ProcessingJobName=name, WaiterConfig=WAIT
    )
    desc = sm.describe_processing_job(ProcessingJobName=name)
    assert desc["ProcessingJobStatus"] == "Completed", desc.get("FailureReason")
    return desc


def _wait_execution(sm, schedule: str) -> dict:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        runs = sm.list_monitoring_executions(MonitoringScheduleName=schedule)[
            "MonitoringExecutionSummaries"
        ]
        if runs and runs[0]["MonitoringExecutionStatus"] not in ("Pending", "InProgress"):
            return runs[0]
        time.sleep(0.5)
    raise AssertionError(f"no finished execution of {schedule}")


def _schedule(sm, name: str, definition: str, kind: str) -> dict:
    req = {
        "MonitoringScheduleName": name,
        "MonitoringScheduleConfig": {
            "ScheduleConfig": {"ScheduleExpression": "NOW", "DataAnalysisStartTime": "-PT1H",
                               "DataAnalysisEndTime": "-PT0H"},
            "MonitoringJobDefinitionName": definition,
            "MonitoringType": kind,
        },
    }
    sm.create_monitoring_schedule(**check_request(sm, "CreateMonitoringSchedule", req))
    return _wait_execution(sm, name)


def _reports(s3, bucket: str, prefix: str) -> dict[str, bytes]:
    found = s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])
    return {
        o["Key"].rsplit("/", 1)[-1]: s3.get_object(Bucket=bucket, Key=o["Key"])["Body"].read()
        for o in found
    }


@pytest.fixture
def served(emulator_env):
    """A linear model ``y = 2 a + b`` on an endpoint with full data capture."""
    import joblib
    import numpy as np
    from sklearn.linear_model import LinearRegression

    s3, sm = boto3.client("s3"), boto3.client("sagemaker")
    tag = uuid.uuid4().hex[:8]
    bucket = f"mq-{tag}"
    s3.create_bucket(Bucket=bucket)
    x = np.array([[a, b] for a in range(1, 6) for b in range(1, 5)], dtype=float)
    raw = io.BytesIO()
    joblib.dump(LinearRegression().fit(x, 2 * x[:, 0] + x[:, 1]), raw)
    tar_buf = io.BytesIO()
    with tarfile.open(fileobj=tar_buf, mode="w:gz") as tar:
        info = tarfile.TarInfo("model.joblib")
        info.size = len(raw.getvalue())
        tar.addfile(info, io.BytesIO(raw.getvalue()))
    s3.put_object(Bucket=bucket, Key="model.tar.gz", Body=tar_buf.getvalue())
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
    yield {"bucket": bucket, "endpoint": endpoint, "tag": tag, "x": x}
    sm.delete_endpoint(EndpointName=endpoint)


def test_model_quality_schedule_merges_capture_with_ground_truth(served) -> None:
    s3, sm = boto3.client("s3"), boto3.client("sagemaker")
    runtime = boto3.client("sagemaker-runtime")
    bucket, endpoint, tag = served["bucket"], served["endpoint"], served["tag"]
    # the baseline: the model's own (exact) answers against their labels
    rows = ["label,prediction"] + [f"{2 * a + b},{2 * a + b}" for a, b in served["x"].tolist()]
    s3.put_object(Bucket=bucket, Key="mq-baseline/data.csv", Body="\n".join(rows).encode())
    env = {
        "analysis_type": "MODEL_QUALITY",
        "dataset_format": '{"csv": {"header": true, "output_columns_position": "START"}}',
        "dataset_source": "/opt/ml/processing/input/baseline_dataset_input",
        "output_path": OUTPUT,
        "publish_cloudwatch_metrics": "Disabled",
        "problem_type": "Regression",
        "ground_truth_attribute": "label",
        "inference_attribute": "prediction",
    }
    _processing(
        sm, f"mq-base-{tag}", ANALYZER,
        [_s3_input("baseline_dataset_input", f"s3://{bucket}/mq-baseline/",
                   "/opt/ml/processing/input/baseline_dataset_input")],
        f"s3://{bucket}/mq-baseline-out", env, "monitoring_output",
    )
    base = _reports(s3, bucket, "mq-baseline-out/")
    assert {"statistics.json", "constraints.json"} <= set(base)
    assert "mae" in json.loads(base["constraints.json"])["regression_constraints"]

    definition = f"mq-def-{tag}"
    req = {
        "JobDefinitionName": definition,
        "ModelQualityBaselineConfig": {
            "BaseliningJobName": f"mq-base-{tag}",
            "ConstraintsResource": {"S3Uri": f"s3://{bucket}/mq-baseline-out/constraints.json"},
        },
        "ModelQualityAppSpecification": {"ImageUri": ANALYZER, "ProblemType": "Regression",
                                         "Environment": {"publish_cloudwatch_metrics": "Enabled"}},
        "ModelQualityJobInput": {
            "EndpointInput": {"EndpointName": endpoint,
                              "LocalPath": "/opt/ml/processing/input/endpoint"},
            "GroundTruthS3Input": {"S3Uri": f"s3://{bucket}/ground-truth"},
        },
        "ModelQualityJobOutputConfig": {"MonitoringOutputs": [{"S3Output": {
            "S3Uri": f"s3://{bucket}/reports", "LocalPath": OUTPUT,
            "S3UploadMode": "Continuous"}}]},
        "JobResources": CLUSTER,
        "RoleArn": ROLE,
        "StoppingCondition": {"MaxRuntimeInSeconds": 1800},
    }
    arn = sm.create_model_quality_job_definition(
        **check_request(sm, "CreateModelQualityJobDefinition", req)
    )["JobDefinitionArn"]
    assert arn.endswith(f":model-quality-job-definition/{definition}")
    desc = check_response(
        sm, "DescribeModelQualityJobDefinition",
        sm.describe_model_quality_job_definition(JobDefinitionName=definition),
    )
    assert desc["ModelQualityJobInput"]["GroundTruthS3Input"]["S3Uri"].endswith("/ground-truth")
    listed = sm.list_model_quality_job_definitions(EndpointName=endpoint)
    assert [d["MonitoringJobDefinitionName"] for d in listed["JobDefinitionSummaries"]] == [
        definition
    ]

    truth = []
    for i, (a, b) in enumerate(served["x"].tolist()[:12]):
        runtime.invoke_endpoint(EndpointName=endpoint, ContentType="text/csv",
                                Body=f"{a},{b}", InferenceId=f"id-{i}")
        label = 2 * a + b + (5.0 if i % 2 else 0.0)  # half the answers are 5 off
        truth.append(json.dumps({
            "groundTruthData": {"data": str(label), "encoding": "CSV"},
            "eventMetadata": {"eventId": f"id-{i}"},
            "eventVersion": "0",
        }))
    s3.put_object(Bucket=bucket, Key="ground-truth/2026/01/01/00/truth.jsonl",
                  Body="\n".join(truth).encode())
    schedule = f"mq-now-{tag}"
    run = _schedule(sm, schedule, definition, "ModelQuality")
    assert run["MonitoringExecutionStatus"] == "CompletedWithViolations", run.get("FailureReason")
    assert run["MonitoringType"] == "ModelQuality"
    reports = _reports(s3, bucket, f"reports/{endpoint}/{schedule}/")
    assert {"statistics.json", "constraint_violations.json"} <= set(reports)
    stats = json.loads(reports["statistics.json"])
    assert stats["dataset"]["item_count"] == 12
    assert stats["regression_metrics"]["mae"]["value"] == pytest.approx(2.5, abs=1e-6)
    violations = json.loads(reports["constraint_violations.json"])["violations"]
    assert {v["metric_name"] for v in violations} >= {"mae"}
    job = sm.describe_processing_job(ProcessingJobName=run["ProcessingJobArn"].rsplit("/", 1)[1])
    out = job["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["S3Uri"]
    assert out.startswith(f"s3://{bucket}/reports/{endpoint}/{schedule}/")
    sm.delete_monitoring_schedule(MonitoringScheduleName=schedule)
    sm.delete_model_quality_job_definition(JobDefinitionName=definition)
    with pytest.raises(sm.exceptions.ResourceNotFound):
        sm.describe_model_quality_job_definition(JobDefinitionName=definition)


def test_explainability_schedule_writes_analysis(served) -> None:
    s3, sm = boto3.client("s3"), boto3.client("sagemaker")
    runtime = boto3.client("sagemaker-runtime")
    bucket, endpoint, tag = served["bucket"], served["endpoint"], served["tag"]
    x = served["x"].tolist()
    data = "\n".join(f"{2 * a + b},{a},{b}" for a, b in x)
    s3.put_object(Bucket=bucket, Key="clarify/train.csv", Body=data.encode())
    shap = {"baseline": [[3.0, 2.5]], "num_samples": 16, "agg_method": "mean_abs",
            "save_local_shap_values": True, "seed": 0}
    predictor = {"endpoint_name": endpoint, "content_type": "text/csv",
                 "accept_type": "text/csv"}
    config = {"dataset_type": "text/csv", "headers": ["y", "a", "b"], "label": "y",
              "methods": {"shap": shap}, "predictor": predictor}
    s3.put_object(Bucket=bucket, Key="clarify/analysis_config.json",
                  Body=json.dumps(config).encode())
    _processing(
        sm, f"clarify-base-{tag}", CLARIFY,
        [_s3_input("dataset", f"s3://{bucket}/clarify/train.csv",
                   "/opt/ml/processing/input/data"),
         _s3_input("analysis_config", f"s3://{bucket}/clarify/analysis_config.json",
                   "/opt/ml/processing/input/config")],
        f"s3://{bucket}/clarify-out", None, "analysis_result",
    )
    base = _reports(s3, bucket, "clarify-out/")
    baseline = json.loads(base["analysis.json"])
    shap_values = baseline["explanations"]["kernel_shap"]["label0"]["global_shap_values"]
    assert set(shap_values) == {"a", "b"}
    assert shap_values["a"] > shap_values["b"] > 0  # y = 2a + b
    assert "out.csv" in base

    monitor_config = {"methods": {"shap": shap}, "predictor": predictor, "headers": ["a", "b"]}
    s3.put_object(Bucket=bucket, Key="clarify/monitor_config.json",
                  Body=json.dumps(monitor_config).encode())
    definition = f"me-def-{tag}"
    req = {
        "JobDefinitionName": definition,
        "ModelExplainabilityBaselineConfig": {
            "BaseliningJobName": f"clarify-base-{tag}",
            "ConstraintsResource": {"S3Uri": f"s3://{bucket}/clarify-out/analysis.json"},
        },
        "ModelExplainabilityAppSpecification": {
            "ImageUri": CLARIFY, "ConfigUri": f"s3://{bucket}/clarify/monitor_config.json",
        },
        "ModelExplainabilityJobInput": {"EndpointInput": {
            "EndpointName": endpoint, "LocalPath": "/opt/ml/processing/input/endpoint"}},
        "ModelExplainabilityJobOutputConfig": {"MonitoringOutputs": [{"S3Output": {
            "S3Uri": f"s3://{bucket}/reports", "LocalPath": OUTPUT}}]},
        "JobResources": CLUSTER,
        "RoleArn": ROLE,
    }
    sm.create_model_explainability_job_definition(
        **check_request(sm, "CreateModelExplainabilityJobDefinition", req)
    )
    check_response(
        sm, "DescribeModelExplainabilityJobDefinition",
        sm.describe_model_explainability_job_definition(JobDefinitionName=definition),
    )
    for a, b in x[:10]:
        runtime.invoke_endpoint(EndpointName=endpoint, ContentType="text/csv", Body=f"{a},{b}")
    schedule = f"me-now-{tag}"
    run = _schedule(sm, schedule, definition, "ModelExplainability")
    assert run["MonitoringExecutionStatus"] == "Completed", run.get("FailureReason")
    reports = _reports(s3, bucket, f"reports/{endpoint}/{schedule}/")
    assert {"analysis.json", "constraint_violations.json"} <= set(reports)
    current = json.loads(reports["analysis.json"])["explanations"]["kernel_shap"]["label0"]
    assert current["global_shap_values"]["a"] > current["global_shap_values"]["b"]
    assert json.loads(reports["constraint_violations.json"])["violations"] == []
    # Clarify's own requests to the endpoint are not data for the next execution
    again = _schedule(sm, f"me-again-{tag}", definition, "ModelExplainability")
    assert again["MonitoringExecutionStatus"] == "Completed", again.get("FailureReason")
    captured = 0
    for o in s3.list_objects_v2(Bucket=bucket, Prefix="capture/").get("Contents", []):
        captured += s3.get_object(Bucket=bucket, Key=o["Key"])["Body"].read().count(b"\n")
    assert captured > 10  # the capture holds Clarify's requests too
    second = json.loads(
        _reports(s3, bucket, f"reports/{endpoint}/me-again-{tag}/")["analysis.json"]
    )["explanations"]["kernel_shap"]["label0"]["global_shap_values"]
    assert second == pytest.approx(current["global_shap_values"])
    for name in (schedule, f"me-again-{tag}"):
        sm.delete_monitoring_schedule(MonitoringScheduleName=name)
    sm.delete_model_explainability_job_definition(JobDefinitionName=definition)


def test_a_schedule_of_an_unknown_definition_is_refused(emulator_env) -> None:
    sm = boto3.client("sagemaker")
    with pytest.raises(sm.exceptions.ResourceNotFound):
        sm.create_monitoring_schedule(
            MonitoringScheduleName=f"x-{uuid.uuid4().hex[:8]}",
            MonitoringScheduleConfig={
                "ScheduleConfig": {"ScheduleExpression": "cron(0 * ? * * *)"},
                "MonitoringJobDefinitionName": "no-such-definition",
                "MonitoringType": "ModelQuality",
            },
        )


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_wine_monitoring_quick_runs_end_to_end(emulator, tmp_path: Path) -> None:
    env = emulator.environment()
    src = str(Path(__file__).resolve().parents[2] / "src")
    env["PYTHONPATH"] = f"{src}:{env['PYTHONPATH']}"
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, "-m", "smkit.cli", "run", "wine-monitoring", "--quick",
         "--out", str(out), "--backend", "aws", "--endpoint-url", emulator.url,
         "--region", "us-east-1", "--role", "arn:aws:iam::123456789012:role/sm",
         "--lambda-role", "arn:aws:iam::123456789012:role/lam",
         "--states-role", "arn:aws:iam::123456789012:role/sfn"],
        env=env, capture_output=True, text=True, timeout=800, cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    report = json.loads((out / "report.json").read_text())
    metrics = report["metrics"]
    assert report["status"] == "Succeeded"
    assert metrics["accuracy_normal"] > 0.8
    assert metrics["accuracy_drifted"] is not None
    assert metrics["ndcg_normal"] is not None and metrics["ndcg_drifted"] is not None
    assert metrics["retraining_triggered"] is True
    statuses = [w["status"] for w in report["details"]["windows"]]
    assert all(
        set(s) == {"DataQuality", "ModelQuality", "ModelExplainability"} for s in statuses
    )
    assert all(v != "Failed" for s in statuses for v in s.values())
