"""Model Monitor and Clarify requests: baseline processing jobs, job definitions, schedules.

The shapes follow what the SageMaker Python SDK v2 sends (``DefaultModelMonitor``,
``ModelQualityMonitor``, ``ModelExplainabilityMonitor``):

- the data- and model-quality baselines run the Model Monitor analyzer with the dataset at
  ``/opt/ml/processing/input/baseline_dataset_input`` and the SDK's environment
  (``dataset_format``, ``dataset_source``, ``output_path``, ``publish_cloudwatch_metrics``);
- the Clarify baseline mounts the dataset at ``/opt/ml/processing/input/data`` and the
  analysis config at ``/opt/ml/processing/input/config`` (Clarify's documented layout);
- the explainability job definition gets its own analysis config (``methods``,
  ``predictor`` and the feature-only ``headers``: captured traffic has no label column).
"""

from __future__ import annotations

import json
from typing import Any

__all__ = [
    "CLARIFY_CONFIG_INPUT",
    "CLARIFY_DATA_INPUT",
    "MONITOR_INSTANCE",
    "PROCESSING_INPUT",
    "PROCESSING_OUTPUT",
    "cluster_config",
    "create_monitoring_schedule",
    "create_processing_job",
    "data_quality_baseline_env",
    "data_quality_job_definition",
    "endpoint_input",
    "explainability_monitor_config",
    "merge_monitoring_config",
    "model_explainability_job_definition",
    "model_quality_baseline_env",
    "model_quality_job_definition",
    "monitoring_outputs",
    "processing_s3_input",
]

MONITOR_INSTANCE = "ml.m5.xlarge"
PROCESSING_INPUT = "/opt/ml/processing/input"
PROCESSING_OUTPUT = "/opt/ml/processing/output"
#: Where Clarify reads the dataset and the analysis config (SDK ``run_explainability``).
CLARIFY_DATA_INPUT = f"{PROCESSING_INPUT}/data"
CLARIFY_CONFIG_INPUT = f"{PROCESSING_INPUT}/config"
_BASELINE_INPUT = "baseline_dataset_input"


def cluster_config(instance_type: str = MONITOR_INSTANCE, volume_gb: int = 20) -> dict[str, Any]:
    """``ProcessingResources`` / ``JobResources``."""
    return {
        "ClusterConfig": {
            "InstanceCount": 1,
            "InstanceType": instance_type,
            "VolumeSizeInGB": volume_gb,
        }
    }


def processing_s3_input(
    name: str, uri: str, local_path: str | None = None, *, data_type: str = "S3Prefix"
) -> dict[str, Any]:
    """One ``ProcessingInput`` read from S3 (``File`` mode, fully replicated)."""
    return {
        "InputName": name,
        "S3Input": {
            "S3Uri": uri,
            "LocalPath": local_path or f"{PROCESSING_INPUT}/{name}",
            "S3DataType": data_type,
            "S3InputMode": "File",
            "S3DataDistributionType": "FullyReplicated",
        },
    }


def create_processing_job(
    name: str,
    *,
    image: str,
    role: str,
    inputs: list[dict[str, Any]],
    output_uri: str,
    environment: dict[str, str] | None = None,
    resources: dict[str, Any] | None = None,
    max_runtime: int = 3600,
    output_name: str = "monitoring_output",
) -> dict[str, Any]:
    """``CreateProcessingJob`` writing ``/opt/ml/processing/output`` to ``output_uri``."""
    out: dict[str, Any] = {
        "ProcessingJobName": name,
        "RoleArn": role,
        "AppSpecification": {"ImageUri": image},
        "ProcessingInputs": inputs,
        "ProcessingOutputConfig": {
            "Outputs": [
                {
                    "OutputName": output_name,
                    "S3Output": {
                        "S3Uri": output_uri,
                        "LocalPath": PROCESSING_OUTPUT,
                        "S3UploadMode": "EndOfJob",
                    },
                }
            ]
        },
        "ProcessingResources": resources or cluster_config(),
        "StoppingCondition": {"MaxRuntimeInSeconds": int(max_runtime)},
    }
    if environment is not None:
        out["Environment"] = dict(environment)
    return out


def data_quality_baseline_env(*, header: bool) -> dict[str, str]:
    """Environment of the data-quality baseline (``DefaultModelMonitor.suggest_baseline``)."""
    return {
        "dataset_format": json.dumps(
            {"csv": {"header": header, "output_columns_position": "START"}}
        ),
        "dataset_source": f"{PROCESSING_INPUT}/{_BASELINE_INPUT}",
        "output_path": PROCESSING_OUTPUT,
        "publish_cloudwatch_metrics": "Disabled",
    }


def model_quality_baseline_env(cfg: Any) -> dict[str, str]:
    """Environment of the model-quality baseline (``ModelQualityMonitor.suggest_baseline``
    with ``DatasetFormat.csv(header=True)``) for a
    `smkit.monitoring.plan.ModelQualityConfig`."""
    env = {
        "analysis_type": "MODEL_QUALITY",
        "dataset_format": json.dumps({"csv": {"header": True, "output_columns_position": "START"}}),
        "dataset_source": f"{PROCESSING_INPUT}/{_BASELINE_INPUT}",
        "output_path": PROCESSING_OUTPUT,
        "publish_cloudwatch_metrics": "Disabled",
        "problem_type": cfg.problem_type,
        "ground_truth_attribute": cfg.ground_truth_attribute,
    }
    if cfg.inference_attribute:
        env["inference_attribute"] = cfg.inference_attribute
    if cfg.probability_attribute:
        env["probability_attribute"] = cfg.probability_attribute
        env["probability_threshold_attribute"] = str(cfg.probability_threshold)
    return env


def endpoint_input(
    endpoint_name: str, local_name: str = "endpoint", **extra: Any
) -> dict[str, Any]:
    """``EndpointInput`` of a job definition."""
    return {
        "EndpointName": endpoint_name,
        "LocalPath": f"{PROCESSING_INPUT}/{local_name}",
        "S3InputMode": "File",
        "S3DataDistributionType": "FullyReplicated",
        **extra,
    }


def monitoring_outputs(reports: str) -> dict[str, Any]:
    """``*JobOutputConfig`` writing the reports to ``reports`` (``Continuous`` upload, the
    SDK's ``MonitoringOutput`` default)."""
    return {
        "MonitoringOutputs": [
            {
                "S3Output": {
                    "S3Uri": reports,
                    "LocalPath": PROCESSING_OUTPUT,
                    "S3UploadMode": "Continuous",
                }
            }
        ]
    }


#: The monitoring job's environment (the SDK's ``enable_cloudwatch_metrics=True`` default of
#: ``create_monitoring_schedule``).
MONITOR_ENVIRONMENT = {"publish_cloudwatch_metrics": "Enabled"}


def _definition(
    kind: str,
    name: str,
    *,
    role: str,
    baseline: dict[str, Any],
    app: dict[str, Any],
    job_input: dict[str, Any],
    reports: str,
    resources: dict[str, Any] | None,
    max_runtime: int,
) -> dict[str, Any]:
    return {
        "JobDefinitionName": name,
        f"{kind}BaselineConfig": baseline,
        f"{kind}AppSpecification": app,
        f"{kind}JobInput": job_input,
        f"{kind}JobOutputConfig": monitoring_outputs(reports),
        "JobResources": resources or cluster_config(),
        "RoleArn": role,
        "StoppingCondition": {"MaxRuntimeInSeconds": int(max_runtime)},
    }


def data_quality_job_definition(
    name: str,
    *,
    image: str,
    role: str,
    endpoint_name: str,
    baseline_job: str,
    statistics_uri: str,
    constraints_uri: str,
    reports: str,
    resources: dict[str, Any] | None = None,
    max_runtime: int = 3600,
) -> dict[str, Any]:
    """``CreateDataQualityJobDefinition``."""
    return _definition(
        "DataQuality",
        name,
        role=role,
        baseline={
            "BaseliningJobName": baseline_job,
            "ConstraintsResource": {"S3Uri": constraints_uri},
            "StatisticsResource": {"S3Uri": statistics_uri},
        },
        app={"ImageUri": image, "Environment": dict(MONITOR_ENVIRONMENT)},
        job_input={"EndpointInput": endpoint_input(endpoint_name)},
        reports=reports,
        resources=resources,
        max_runtime=max_runtime,
    )


def model_quality_job_definition(
    name: str,
    *,
    image: str,
    role: str,
    endpoint_name: str,
    cfg: Any,
    baseline_job: str,
    constraints_uri: str,
    reports: str,
    resources: dict[str, Any] | None = None,
    max_runtime: int = 3600,
) -> dict[str, Any]:
    """``CreateModelQualityJobDefinition`` for a ``ModelQualityConfig``."""
    extra: dict[str, Any] = {}
    if cfg.inference_attribute:
        extra["InferenceAttribute"] = cfg.inference_attribute
    if cfg.probability_attribute:
        extra["ProbabilityAttribute"] = cfg.probability_attribute
        extra["ProbabilityThresholdAttribute"] = float(cfg.probability_threshold)
    return _definition(
        "ModelQuality",
        name,
        role=role,
        baseline={
            "BaseliningJobName": baseline_job,
            "ConstraintsResource": {"S3Uri": constraints_uri},
        },
        app={
            "ImageUri": image,
            "ProblemType": cfg.problem_type,
            "Environment": dict(MONITOR_ENVIRONMENT),
        },
        job_input={
            "EndpointInput": endpoint_input(endpoint_name, **extra),
            "GroundTruthS3Input": {"S3Uri": cfg.ground_truth},
        },
        reports=reports,
        resources=resources,
        max_runtime=max_runtime,
    )


def explainability_monitor_config(analysis_config: dict[str, Any]) -> dict[str, Any]:
    """The analysis config of an explainability *job definition* from the baseline's.

    As the SDK's ``ExplainabilityAnalysisConfig``: ``methods`` (the SHAP settings),
    ``predictor`` and the ``headers`` of the features only (the label column is removed:
    captured traffic has none). The baseline's ``label``, ``features``, ``dataset_type`` and
    the ``report`` method are dropped.
    """
    methods = {k: v for k, v in analysis_config.get("methods", {}).items() if k != "report"}
    out: dict[str, Any] = {"methods": methods, "predictor": dict(analysis_config["predictor"])}
    headers = analysis_config.get("headers")
    if headers:
        headers = list(headers)
        label = analysis_config.get("label")
        if isinstance(label, str) and label in headers:
            headers.remove(label)
        elif isinstance(label, int) and not isinstance(label, bool) and 0 <= label < len(headers):
            del headers[label]
        out["headers"] = headers
    return out


def model_explainability_job_definition(
    name: str,
    *,
    image: str,
    role: str,
    endpoint_name: str,
    baseline_job: str,
    analysis_uri: str,
    config_uri: str,
    reports: str,
    resources: dict[str, Any] | None = None,
    max_runtime: int = 3600,
) -> dict[str, Any]:
    """``CreateModelExplainabilityJobDefinition`` (``config_uri``: the job definition's own
    analysis config, see `explainability_monitor_config`)."""
    return _definition(
        "ModelExplainability",
        name,
        role=role,
        baseline={
            "BaseliningJobName": baseline_job,
            "ConstraintsResource": {"S3Uri": analysis_uri},
        },
        app={"ImageUri": image, "ConfigUri": config_uri, "Environment": dict(MONITOR_ENVIRONMENT)},
        job_input={"EndpointInput": endpoint_input(endpoint_name)},
        reports=reports,
        resources=resources,
        max_runtime=max_runtime,
    )


def create_monitoring_schedule(
    name: str,
    *,
    definition: str,
    monitoring_type: str,
    expression: str,
    start: str | None = None,
    end: str | None = None,
) -> dict[str, Any]:
    """``CreateMonitoringSchedule``; ``expression="NOW"`` with ``start``/``end`` (ISO 8601
    offsets such as ``-PT1H``, relative to the run) is a one-time run over that window."""
    schedule: dict[str, Any] = {"ScheduleExpression": expression}
    if start is not None:
        schedule["DataAnalysisStartTime"] = start
    if end is not None:
        schedule["DataAnalysisEndTime"] = end
    return {
        "MonitoringScheduleName": name,
        "MonitoringScheduleConfig": {
            "ScheduleConfig": schedule,
            "MonitoringJobDefinitionName": definition,
            "MonitoringType": monitoring_type,
        },
    }


def merge_monitoring_config(
    constraints: dict[str, Any], overrides: dict[str, Any]
) -> dict[str, Any]:
    """``constraints`` with ``overrides`` merged (recursively) into its ``monitoring_config``."""

    def merge(into: dict[str, Any], extra: dict[str, Any]) -> None:
        for key, value in extra.items():
            if isinstance(value, dict) and isinstance(into.get(key), dict):
                merge(into[key], value)
            else:
                into[key] = value

    out = json.loads(json.dumps(constraints))
    merge(out.setdefault("monitoring_config", {}), overrides)
    return out
