"""The aws backend's monitoring requests: plan mode, moto's server, botocore's Stubber."""

from __future__ import annotations

import pytest

from smkit.backends.aws import AwsBackend
from smkit.errors import OrderError
from smkit.monitoring import DataConfig, MonitorPlan, SHAPConfig

ROLE = "arn:aws:iam::123456789012:role/SmkitTestRole"


def _plan() -> MonitorPlan:
    return (
        MonitorPlan("churn")
        .data_quality(baseline="s3://bkt/train.csv", header=False)
        .model_quality(
            baseline="s3://bkt/val.csv",
            problem_type="BinaryClassification",
            ground_truth="s3://bkt/gt/",
            inference_attribute=None,
            probability_attribute="prob",
        )
        .explainability(
            SHAPConfig(baseline=[[1, 2, 3]], num_samples=50),
            data=DataConfig("s3://bkt/train.csv", "s3://bkt/clarify/", label=0),
        )
        .schedule("hourly")
    )


def test_plan_mode_records_validated_requests():
    backend = AwsBackend(plan=True, region="eu-west-1", bucket="bkt", role=ROLE)
    monitor = backend.apply_monitor(_plan())
    ops = [r.operation for r in backend.plan()]
    assert ops == [
        "CreateProcessingJob",
        "CreateDataQualityJobDefinition",
        "CreateMonitoringSchedule",
        "CreateProcessingJob",
        "CreateModelQualityJobDefinition",
        "CreateMonitoringSchedule",
        "PutObject",
        "CreateProcessingJob",
        "CreateModelExplainabilityJobDefinition",
        "CreateMonitoringSchedule",
    ]
    reqs = backend.plan()
    assert "sagemaker-model-monitor-analyzer" in reqs[0].params["AppSpecification"]["ImageUri"]
    assert ".eu-west-1." in reqs[0].params["AppSpecification"]["ImageUri"]
    assert "sagemaker-clarify-processing" in reqs[7].params["AppSpecification"]["ImageUri"]
    schedule = reqs[2].params["MonitoringScheduleConfig"]
    assert schedule["ScheduleConfig"]["ScheduleExpression"] == "cron(0 * ? * * *)"
    assert schedule["MonitoringType"] == "DataQuality"
    assert schedule["MonitoringJobDefinitionName"] == reqs[1].params["JobDefinitionName"]
    dq = reqs[1].params
    assert dq["DataQualityBaselineConfig"]["StatisticsResource"]["S3Uri"].endswith(
        "/statistics.json"
    )
    assert dq["DataQualityJobInput"]["EndpointInput"]["EndpointName"] == "churn"
    mq = reqs[4].params
    assert mq["ModelQualityAppSpecification"]["ProblemType"] == "BinaryClassification"
    assert mq["ModelQualityJobInput"]["GroundTruthS3Input"]["S3Uri"] == "s3://bkt/gt/"
    assert monitor.schedules["ModelExplainability"] == "churn-explainability"
    started = monitor.run_now()
    assert (
        backend.plan()[-1].params["MonitoringScheduleConfig"]["ScheduleConfig"][
            "ScheduleExpression"
        ]
        == "NOW"
    )
    assert set(started) == {"DataQuality", "ModelQuality", "ModelExplainability"}


def test_moto_accepts_the_baseline_job_and_job_definition(aws_backend):
    plan = MonitorPlan("churn").data_quality(baseline="s3://smkit-test/train.csv").schedule("daily")
    aws_backend._dq(
        plan,
        "baseline-churn-1",
        "churn-dq-1",
        "s3://smkit-test/mon/base",
        "s3://smkit-test/mon/reports",
        aws_backend.region,
        aws_backend.role,
    )
    job = aws_backend.call(
        "sagemaker", "DescribeProcessingJob", {"ProcessingJobName": "baseline-churn-1"}
    )
    assert job["ProcessingJobName"] == "baseline-churn-1"
    assert job["ProcessingInputs"][0]["S3Input"]["S3Uri"] == "s3://smkit-test/train.csv"
    definition = aws_backend.call(
        "sagemaker", "DescribeDataQualityJobDefinition", {"JobDefinitionName": "churn-dq-1"}
    )
    assert definition["JobDefinitionName"] == "churn-dq-1"


def test_stubbed_schedule_creation_and_capture_check(monkeypatch):
    from botocore.stub import ANY, Stubber

    from smkit.testing.moto import FAKE_CREDENTIALS

    for key, value in FAKE_CREDENTIALS.items():
        monkeypatch.setenv(key, value)
    backend = AwsBackend(region="us-east-1", bucket="bkt", role=ROLE)
    client = backend.requester.client("sagemaker")
    plan = MonitorPlan("churn").data_quality(baseline="s3://bkt/train.csv").schedule("daily")
    with Stubber(client) as stub:
        stub.add_response(
            "describe_endpoint",
            {
                "EndpointName": "churn",
                "EndpointArn": "arn:aws:sagemaker:us-east-1:1:endpoint/churn",
                "EndpointStatus": "InService",
                "CreationTime": "2024-01-01T00:00:00Z",
                "LastModifiedTime": "2024-01-01T00:00:00Z",
                "DataCaptureConfig": {
                    "EnableCapture": True,
                    "CaptureStatus": "Started",
                    "CurrentSamplingPercentage": 100,
                    "DestinationS3Uri": "s3://bkt/capture",
                    "KmsKeyId": "",
                },
            },
            {"EndpointName": "churn"},
        )
        stub.add_response(
            "create_processing_job",
            {"ProcessingJobArn": "arn:aws:sagemaker:us-east-1:1:processing-job/x"},
            None,
        )
        stub.add_response(
            "create_data_quality_job_definition",
            {"JobDefinitionArn": "arn:aws:sagemaker:us-east-1:1:data-quality-job-definition/x"},
            None,
        )
        stub.add_response(
            "create_monitoring_schedule",
            {
                "MonitoringScheduleArn": "arn:aws:sagemaker:us-east-1:1:"
                "monitoring-schedule/churn-data-quality"
            },
            {
                "MonitoringScheduleName": "churn-data-quality",
                "MonitoringScheduleConfig": {
                    "ScheduleConfig": {"ScheduleExpression": "cron(0 0 ? * * *)"},
                    "MonitoringJobDefinitionName": ANY,
                    "MonitoringType": "DataQuality",
                },
            },
        )
        monitor = backend.apply_monitor(plan)
        stub.assert_no_pending_responses()
    assert monitor.schedules == {"DataQuality": "churn-data-quality"}
    with Stubber(client) as stub:
        stub.add_response(
            "describe_endpoint",
            {
                "EndpointName": "churn",
                "EndpointArn": "arn:aws:sagemaker:us-east-1:1:endpoint/churn",
                "EndpointStatus": "InService",
                "CreationTime": "2024-01-01T00:00:00Z",
                "LastModifiedTime": "2024-01-01T00:00:00Z",
            },
            {"EndpointName": "churn"},
        )
        with pytest.raises(OrderError, match="no data capture"):
            backend.apply_monitor(plan)
