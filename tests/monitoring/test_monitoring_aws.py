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
        "PutObject",
        "CreateModelExplainabilityJobDefinition",
        "CreateMonitoringSchedule",
    ]
    reqs = backend.plan()
    assert "sagemaker-model-monitor-analyzer" in reqs[0].params["AppSpecification"]["ImageUri"]
    assert ".eu-west-1." in reqs[0].params["AppSpecification"]["ImageUri"]
    assert "sagemaker-clarify-processing" in reqs[7].params["AppSpecification"]["ImageUri"]
    clarify_inputs = {
        i["InputName"]: i["S3Input"]["LocalPath"] for i in reqs[7].params["ProcessingInputs"]
    }
    assert clarify_inputs == {
        "dataset": "/opt/ml/processing/input/data",
        "analysis_config": "/opt/ml/processing/input/config",
    }
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
    assert set(started.statuses) == {"DataQuality", "ModelQuality", "ModelExplainability"}
    assert started.status == "InProgress" and not started.done  # plan mode: nothing waits
    assert set(started.statuses.values()) == {"Pending"}


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
    # only SageMaker is stubbed: no S3 behind it to create the bucket in
    backend = AwsBackend(region="us-east-1", bucket="bkt", role=ROLE, create_bucket=False)
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


def _by_op(backend, op):
    return [r.params for r in backend.plan() if r.operation == op]


def test_explainability_definition_gets_its_own_label_free_analysis_config():
    import json

    backend = AwsBackend(plan=True, region="eu-west-1", bucket="bkt", role=ROLE)
    plan = (
        MonitorPlan("churn")
        .explainability(
            SHAPConfig(baseline=[[1, 2]], num_samples=10),
            data=DataConfig(
                "s3://bkt/train.csv", "s3://bkt/clarify/", label="y", headers=["y", "a", "b"]
            ),
        )
        .schedule("hourly")
    )
    backend.apply_monitor(plan)
    puts = {p["Key"]: json.loads(p["Body"]) for p in _by_op(backend, "PutObject")}
    (definition,) = _by_op(backend, "CreateModelExplainabilityJobDefinition")
    config_uri = definition["ModelExplainabilityAppSpecification"]["ConfigUri"]
    monitor_cfg = puts[config_uri.split("/", 3)[3]]
    assert set(monitor_cfg) == {"methods", "predictor", "headers"}
    assert monitor_cfg["headers"] == ["a", "b"]
    assert monitor_cfg["predictor"]["endpoint_name"] == "churn"
    assert "shap" in monitor_cfg["methods"]
    baseline_cfg = next(v for k, v in puts.items() if "baseline" in k)
    assert baseline_cfg["label"] == "y" and baseline_cfg["headers"] == ["y", "a", "b"]


def test_model_quality_baseline_env_matches_the_sdk():
    import json

    backend = AwsBackend(plan=True, region="eu-west-1", bucket="bkt", role=ROLE)
    backend.apply_monitor(_plan())
    env = _by_op(backend, "CreateProcessingJob")[1]["Environment"]
    assert env["publish_cloudwatch_metrics"] == "Disabled"
    assert json.loads(env["dataset_format"]) == {
        "csv": {"header": True, "output_columns_position": "START"}
    }
    assert env["analysis_type"] == "MODEL_QUALITY"


def test_data_quality_overrides_are_merged_into_the_baseline_constraints():
    import json

    backend = AwsBackend(plan=True, region="eu-west-1", bucket="bkt", role=ROLE)
    plan = (
        MonitorPlan("churn")
        .data_quality(
            baseline="s3://bkt/train.csv",
            monitoring_config={"comparison_threshold": 0.5, "emit_metrics": "Disabled"},
        )
        .schedule("hourly")
    )
    backend.apply_monitor(plan)
    ops = [r.operation for r in backend.plan()]
    assert ops[:5] == [
        "CreateProcessingJob",
        "DescribeProcessingJob",
        "GetObject",
        "PutObject",
        "CreateDataQualityJobDefinition",
    ]
    (put,) = _by_op(backend, "PutObject")
    (definition,) = _by_op(backend, "CreateDataQualityJobDefinition")
    uri = definition["DataQualityBaselineConfig"]["ConstraintsResource"]["S3Uri"]
    assert uri == f"s3://{put['Bucket']}/{put['Key']}"
    assert json.loads(put["Body"])["monitoring_config"] == {
        "comparison_threshold": 0.5,
        "emit_metrics": "Disabled",
    }


@pytest.mark.aws
def test_data_quality_overrides_on_moto_wait_for_the_baseline(aws_backend):
    import json

    base = "s3://smkit-test/mon/base"
    suggested = {"version": 0.0, "features": [], "monitoring_config": {"emit_metrics": "Enabled"}}
    aws_backend.store.put_bytes(f"{base}/constraints.json", json.dumps(suggested).encode())
    plan = (
        MonitorPlan("churn")
        .data_quality(
            baseline="s3://smkit-test/train.csv", monitoring_config={"comparison_threshold": 0.3}
        )
        .schedule("daily")
    )
    aws_backend._dq(
        plan,
        "baseline-churn-2",
        "churn-dq-2",
        base,
        "s3://smkit-test/mon/reports",
        aws_backend.region,
        aws_backend.role,
    )
    merged = json.loads(aws_backend.store.get_bytes(f"{base}/constraints.json"))
    assert merged["monitoring_config"] == {"emit_metrics": "Enabled", "comparison_threshold": 0.3}
    assert merged["features"] == []


def test_run_now_window_and_unique_names():
    from datetime import UTC, datetime, timedelta

    from smkit.backends.aws.monitoring import analysis_offset

    backend = AwsBackend(plan=True, region="eu-west-1", bucket="bkt", role=ROLE)
    monitor = backend.apply_monitor(_plan())
    now = datetime.now(UTC)
    first = monitor.run_now(now - timedelta(hours=5), now - timedelta(hours=2))
    second = monitor.run_now(hours=3)
    third = monitor.run_now()
    once = [
        r.params
        for r in backend.plan()
        if r.operation == "CreateMonitoringSchedule"
        and r.params["MonitoringScheduleConfig"]["ScheduleConfig"]["ScheduleExpression"] == "NOW"
    ]
    assert len(once) == 9
    windows = [
        (
            o["MonitoringScheduleConfig"]["ScheduleConfig"]["DataAnalysisStartTime"],
            o["MonitoringScheduleConfig"]["ScheduleConfig"]["DataAnalysisEndTime"],
        )
        for o in once
    ]
    assert windows[0] == ("-PT5H", "-PT2H")
    assert windows[3] == ("-PT3H", "-PT0H")
    assert windows[6] == ("-PT1H", "-PT0H")
    names = [o["MonitoringScheduleName"] for o in once]
    assert len(set(names)) == 9  # three calls in the same second: still distinct
    assert set(first.statuses) == set(second.statuses) == set(third.statuses)
    assert {e.schedule for e in first.executions} == set(names[:3])
    assert analysis_offset(now - timedelta(minutes=90), now=now) == "-PT2H"
    assert analysis_offset(now - timedelta(minutes=90), now=now, end=True) == "-PT1H"
    monitor.run_now(now - timedelta(minutes=10), now)  # widened to the whole last hour
    assert (
        backend.plan()[-1].params["MonitoringScheduleConfig"]["ScheduleConfig"][
            "DataAnalysisStartTime"
        ]
        == "-PT1H"
    )
    with pytest.raises(smkit_errors().ConfigError):
        monitor.run_now("-PT1H", "-PT2H")  # ends before it starts
    with pytest.raises(smkit_errors().ConfigError):
        analysis_offset(now + timedelta(hours=1), now=now)


def smkit_errors():
    import smkit.errors

    return smkit.errors


class _Store:
    """The report files of the stubbed executions (S3 is not stubbed)."""

    def __init__(self, files: dict[str, bytes]) -> None:
        self.files = files
        self.read: list[str] = []

    def get_bytes(self, uri: str) -> bytes:
        from smkit.errors import ResourceNotFoundError

        self.read.append(uri)
        if uri not in self.files:
            raise ResourceNotFoundError(uri)
        return self.files[uri]


def _summary(schedule, status, *, job=None, reason=None):
    out = {
        "MonitoringScheduleName": schedule,
        "ScheduledTime": "2024-01-01T10:00:00Z",
        "CreationTime": "2024-01-01T10:00:01Z",
        "LastModifiedTime": "2024-01-01T10:05:00Z",
        "MonitoringExecutionStatus": status,
        "EndpointName": "churn",
    }
    if job:
        out["ProcessingJobArn"] = f"arn:aws:sagemaker:us-east-1:1:processing-job/{job}"
    if reason:
        out["FailureReason"] = reason
    return out


def _stubbed_monitor(monkeypatch):
    import json

    from smkit.backends.aws.monitoring import AwsMonitor
    from smkit.testing.moto import FAKE_CREDENTIALS

    for key, value in FAKE_CREDENTIALS.items():
        monkeypatch.setenv(key, value)
    backend = AwsBackend(region="us-east-1", bucket="bkt", role=ROLE, create_bucket=False)
    backend._definition_names = {}
    delays: list[int] = []
    monkeypatch.setattr(backend, "job_poll_delay", lambda attempt: delays.append(attempt) or 0.0)
    reports = "s3://bkt/mon/churn/churn-data-quality/2024/01/01/10"
    violation = {"feature_name": "_c1", "constraint_check_type": "baseline_drift_check"}
    backend.store = _Store(
        {
            f"{reports}/constraint_violations.json": json.dumps(
                {"violations": [violation]}
            ).encode(),
            f"{reports}/statistics.json": json.dumps({"dataset": {"item_count": 54}}).encode(),
        }
    )
    monitor = AwsMonitor(
        backend,
        "churn",
        {"DataQuality": "churn-data-quality", "ModelQuality": "churn-model-quality"},
        {},
        {},
    )
    return backend, monitor, reports, violation, delays


def _created(stub):
    from botocore.stub import ANY

    stub.add_response(
        "create_monitoring_schedule",
        {"MonitoringScheduleArn": "arn:aws:sagemaker:us-east-1:1:monitoring-schedule/x"},
        {"MonitoringScheduleName": ANY, "MonitoringScheduleConfig": ANY},
    )


def test_run_now_waits_for_the_executions_and_reads_their_reports(monkeypatch):
    from botocore.stub import ANY, Stubber

    from smkit.monitoring import MonitoringExecution, MonitorRun

    backend, monitor, reports, violation, delays = _stubbed_monitor(monkeypatch)
    listed = {"MonitoringScheduleName": ANY, "SortBy": "ScheduledTime", "SortOrder": "Descending"}
    with Stubber(backend.requester.client("sagemaker")) as stub:
        _created(stub)
        _created(stub)
        # first poll: data quality runs, model quality has not started
        stub.add_response(
            "list_monitoring_executions",
            {"MonitoringExecutionSummaries": [_summary("dq-now", "InProgress", job="dq-job")]},
            listed,
        )
        stub.add_response(
            "list_monitoring_executions", {"MonitoringExecutionSummaries": []}, listed
        )
        # second poll: both ended
        stub.add_response(
            "list_monitoring_executions",
            {
                "MonitoringExecutionSummaries": [
                    _summary("dq-now", "CompletedWithViolations", job="dq-job")
                ]
            },
            listed,
        )
        stub.add_response(
            "describe_processing_job",
            {
                "ProcessingJobName": "dq-job",
                "ProcessingJobArn": "arn:aws:sagemaker:us-east-1:1:processing-job/dq-job",
                "ProcessingJobStatus": "Completed",
                "CreationTime": "2024-01-01T10:00:01Z",
                "AppSpecification": {"ImageUri": "model-monitor:latest"},
                "ProcessingResources": {
                    "ClusterConfig": {
                        "InstanceCount": 1,
                        "InstanceType": "ml.m5.xlarge",
                        "VolumeSizeInGB": 20,
                    }
                },
                "ProcessingOutputConfig": {
                    "Outputs": [
                        {
                            "OutputName": "result",
                            "S3Output": {
                                "S3Uri": reports,
                                "LocalPath": "/opt/ml/processing/output",
                                "S3UploadMode": "EndOfJob",
                            },
                        }
                    ]
                },
            },
            {"ProcessingJobName": "dq-job"},
        )
        stub.add_response(
            "list_monitoring_executions",
            {
                "MonitoringExecutionSummaries": [
                    _summary("mq-now", "Failed", reason="no ground truth")
                ]
            },
            listed,
        )
        run = monitor.run_now(hours=2)
        stub.assert_no_pending_responses()
    assert isinstance(run, MonitorRun) and run.done
    assert delays == [0], "one poll delay between the two polls"
    dq, mq = run.executions
    assert isinstance(dq, MonitoringExecution)
    assert run.statuses == {"DataQuality": "CompletedWithViolations", "ModelQuality": "Failed"}
    assert run.status == "Failed"
    assert run.violations == [violation]
    assert dq.name == "dq-job" and dq.item_count == 54
    assert dq.report_uri == reports and run.report_uris == {"DataQuality": reports}
    assert dq.uris["violations"] == f"{reports}/constraint_violations.json"
    assert dq.statistics == {"dataset": {"item_count": 54}} and dq.analysis is None
    assert mq.message == "no ground truth" and mq.violations == {"violations": []}
    assert set(monitor.once.values()) == {"DataQuality", "ModelQuality"}


def test_run_now_without_waiting_returns_the_executions_pending(monkeypatch):
    from botocore.stub import Stubber

    backend, monitor, *_ = _stubbed_monitor(monkeypatch)
    with Stubber(backend.requester.client("sagemaker")) as stub:
        _created(stub)
        _created(stub)
        run = monitor.run_now("-PT3H", wait=False)
        stub.assert_no_pending_responses()  # nothing polled
    assert run.statuses == {"DataQuality": "Pending", "ModelQuality": "Pending"}
    assert run.status == "InProgress" and not run.done and run.violations == []
    assert {e.schedule for e in run.executions} == set(monitor.once)


def test_run_now_times_out_with_the_executions_named(monkeypatch):
    from botocore.stub import ANY, Stubber

    from smkit.errors import SmkitTimeoutError

    backend, monitor, *_ = _stubbed_monitor(monkeypatch)
    monitor.schedules = {"DataQuality": "churn-data-quality"}
    with Stubber(backend.requester.client("sagemaker")) as stub:
        _created(stub)
        stub.add_response(
            "list_monitoring_executions",
            {"MonitoringExecutionSummaries": [_summary("dq-now", "InProgress")]},
            {"MonitoringScheduleName": ANY, "SortBy": "ScheduledTime", "SortOrder": "Descending"},
        )
        with pytest.raises(SmkitTimeoutError, match="still running"):
            monitor.run_now(wait=True, timeout=0)
