"""The pure request builders of :mod:`smkit.sagemaker_api`: every built request passes
botocore's ParamValidator against the real SageMaker service model."""

from __future__ import annotations

import botocore.session
import botocore.validate
import pytest

from smkit import sagemaker_api as api
from smkit.monitoring import DataConfig, MonitorPlan, SHAPConfig
from smkit.serving import DataCaptureSpec
from smkit.training import Channel, TrainingSpec

ROLE = "arn:aws:iam::123456789012:role/sm"
IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"


@pytest.fixture(scope="module")
def model():
    return botocore.session.get_session().get_service_model("sagemaker")


def _valid(model, operation: str, params: dict) -> None:
    shape = model.operation_model(operation).input_shape
    report = botocore.validate.ParamValidator().validate(params, shape)
    assert not report.has_errors(), report.generate_report()


def test_validator_can_fail(model):
    shape = model.operation_model("CreateEndpoint").input_shape
    report = botocore.validate.ParamValidator().validate({"EndpointName": "x"}, shape)
    assert report.has_errors()


def test_serving_requests_validate(model):
    c = api.container(IMAGE, "s3://b/m/model.tar.gz", {"SAGEMAKER_PROGRAM": "inference.py"})
    _valid(model, "CreateModel", api.create_model("m", c, ROLE, network_isolation=True))
    _valid(model, "CreateModel", api.create_pipeline_model("p", [c, c], ROLE))
    capture = api.data_capture_config(DataCaptureSpec(sampling_percentage=50), "s3://b/capture/")
    assert capture["DestinationS3Uri"] == "s3://b/capture"
    config = api.create_endpoint_config(
        "cfg",
        [api.production_variant("AllTraffic", "m", 1, "ml.m5.large")],
        data_capture=capture,
        kms_key="alias/k",
    )
    _valid(model, "CreateEndpointConfig", config)
    _valid(model, "CreateEndpoint", api.create_endpoint("e", "cfg"))


def _training_spec(**kw):
    return TrainingSpec(
        algorithm="xgboost",
        hyperparameters={"num_round": 10},
        inputs={"train": Channel("s3://b/train/", content_type="text/csv")},
        **kw,
    )


def test_training_and_tuning_requests_validate(model):
    from smkit.training import IntegerParameter, TuningSpec
    from smkit.training.record import build_record
    from smkit.training.tuning import tuning_config

    spec = _training_spec()
    record = build_record(spec, "job-1", output_path="s3://b/out/", role=ROLE, image=IMAGE)
    training = api.create_training_job(spec, record)
    _valid(model, "CreateTrainingJob", training)
    assert training["ProfilerConfig"] == {"DisableProfiler": True}
    tuning = TuningSpec(
        training=spec,
        objective_metric="validation:rmse",
        objective_type="Minimize",
        ranges={"max_depth": IntegerParameter(2, 8)},
        max_jobs=4,
        max_parallel_jobs=2,
    )
    req = api.create_tuning_job(tuning, "tune-1", training, tuning_config(tuning))
    _valid(model, "CreateHyperParameterTuningJob", req)


def test_monitoring_requests_validate(model):
    plan = (
        MonitorPlan("ep")
        .model_quality(
            baseline="s3://b/val.csv",
            problem_type="BinaryClassification",
            ground_truth="s3://b/gt/",
            inference_attribute=None,
            probability_attribute="prob",
        )
        .schedule("hourly")
    )
    cfg = plan.model_quality_config
    job = api.create_processing_job(
        "baseline-1",
        image=IMAGE,
        role=ROLE,
        inputs=[api.processing_s3_input("baseline_dataset_input", "s3://b/val.csv")],
        output_uri="s3://b/base",
        environment=api.model_quality_baseline_env(cfg),
    )
    _valid(model, "CreateProcessingJob", job)
    _valid(
        model,
        "CreateDataQualityJobDefinition",
        api.data_quality_job_definition(
            "dq",
            image=IMAGE,
            role=ROLE,
            endpoint_name="ep",
            baseline_job="baseline-1",
            statistics_uri="s3://b/base/statistics.json",
            constraints_uri="s3://b/base/constraints.json",
            reports="s3://b/reports",
        ),
    )
    _valid(
        model,
        "CreateModelQualityJobDefinition",
        api.model_quality_job_definition(
            "mq",
            image=IMAGE,
            role=ROLE,
            endpoint_name="ep",
            cfg=cfg,
            baseline_job="baseline-1",
            constraints_uri="s3://b/base/constraints.json",
            reports="s3://b/reports",
        ),
    )
    _valid(
        model,
        "CreateModelExplainabilityJobDefinition",
        api.model_explainability_job_definition(
            "mx",
            image=IMAGE,
            role=ROLE,
            endpoint_name="ep",
            baseline_job="baseline-1",
            analysis_uri="s3://b/base/analysis.json",
            config_uri="s3://b/reports/mx/analysis_config.json",
            reports="s3://b/reports",
        ),
    )
    for kwargs in (
        {"expression": "cron(0 * ? * * *)"},
        {"expression": "NOW", "start": "-PT2H", "end": "-PT0H"},
    ):
        _valid(
            model,
            "CreateMonitoringSchedule",
            api.create_monitoring_schedule(
                "s", definition="dq", monitoring_type="DataQuality", **kwargs
            ),
        )


def test_explainability_monitor_config_drops_the_label():
    from smkit.monitoring import ExplainabilityAnalysisConfig, ModelConfig

    full = ExplainabilityAnalysisConfig(
        SHAPConfig(baseline=[[1, 2]], num_samples=10),
        ModelConfig(endpoint_name="ep"),
        DataConfig("s3://b/d.csv", "s3://b/o/", label="y", headers=["a", "y", "b"]),
    ).to_dict()
    out = api.explainability_monitor_config(full)
    assert out["headers"] == ["a", "b"] and set(out) == {"methods", "predictor", "headers"}
    by_index = api.explainability_monitor_config({**full, "label": 0})
    assert by_index["headers"] == ["y", "b"]


def test_merge_monitoring_config_is_recursive_and_pure():
    base = {"features": [1], "monitoring_config": {"distribution_constraints": {"a": 1, "b": 2}}}
    out = api.merge_monitoring_config(base, {"distribution_constraints": {"b": 3}, "x": True})
    assert out["monitoring_config"] == {"distribution_constraints": {"a": 1, "b": 3}, "x": True}
    assert base["monitoring_config"]["distribution_constraints"]["b"] == 2
