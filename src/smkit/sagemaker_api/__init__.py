"""Pure request builders: spec (and resolved names, URIs, images) -> the SageMaker request.

Every function here returns the exact parameter dict of one SageMaker API operation
(``CreateModel``, ``CreateEndpointConfig``, ``CreateEndpoint``, ``CreateTrainingJob``,
``CreateHyperParameterTuningJob``, ``CreateProcessingJob``, the monitoring job definitions and
``CreateMonitoringSchedule``) or of one of their nested shapes. Nothing is uploaded, looked up
or sent: the caller resolves names, S3 URIs and image URIs first. Both backends use these
shapes (the aws backend sends them; the local one records the same fields), so one place
decides what a request looks like. This package imports no backend.
"""

from __future__ import annotations

from smkit.sagemaker_api.monitoring import (
    CLARIFY_CONFIG_INPUT,
    CLARIFY_DATA_INPUT,
    MONITOR_INSTANCE,
    PROCESSING_INPUT,
    PROCESSING_OUTPUT,
    cluster_config,
    create_monitoring_schedule,
    create_processing_job,
    data_quality_baseline_env,
    data_quality_job_definition,
    endpoint_input,
    explainability_monitor_config,
    merge_monitoring_config,
    model_explainability_job_definition,
    model_quality_baseline_env,
    model_quality_job_definition,
    monitoring_outputs,
    processing_s3_input,
)
from smkit.sagemaker_api.serving import (
    container,
    create_endpoint,
    create_endpoint_config,
    create_model,
    create_pipeline_model,
    data_capture_config,
    production_variant,
)
from smkit.sagemaker_api.training import create_training_job, create_tuning_job

__all__ = [
    "CLARIFY_CONFIG_INPUT",
    "CLARIFY_DATA_INPUT",
    "MONITOR_INSTANCE",
    "PROCESSING_INPUT",
    "PROCESSING_OUTPUT",
    "cluster_config",
    "container",
    "create_endpoint",
    "create_endpoint_config",
    "create_model",
    "create_monitoring_schedule",
    "create_pipeline_model",
    "create_processing_job",
    "create_training_job",
    "create_tuning_job",
    "data_capture_config",
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
    "production_variant",
]
