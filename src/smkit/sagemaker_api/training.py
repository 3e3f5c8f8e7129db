"""CreateTrainingJob and CreateHyperParameterTuningJob requests.

Both start from the DescribeTrainingJob-shaped record of
`smkit.training.record.build_record` (the fields a spec determines), so the local
backend's record and the aws backend's request cannot drift apart.

SageMaker Debugger (rules, profiler) is opt-in here: ``debugger=False`` (the default) sends
neither ``DebugRuleConfigurations`` nor ``ProfilerRuleConfigurations`` and turns the profiler
off, because Debugger is closed to new customers and a rule job fails the whole training job
for accounts without it.
"""

from __future__ import annotations

from typing import Any

__all__ = ["create_training_job", "create_tuning_job"]

_FIELDS = (
    "TrainingJobName",
    "AlgorithmSpecification",
    "RoleArn",
    "HyperParameters",
    "InputDataConfig",
    "OutputDataConfig",
    "ResourceConfig",
    "StoppingCondition",
    "EnableNetworkIsolation",
    "EnableManagedSpotTraining",
)


def create_training_job(
    spec: Any,
    record: dict[str, Any],
    *,
    debugger: bool = False,
    rule_image: str | None = None,
) -> dict[str, Any]:
    """``CreateTrainingJob`` for ``spec`` from its record.

    Args:
        spec: The `smkit.training.TrainingSpec` (inputs already ``s3://``).
        record: ``build_record(spec, name, ...)``.
        debugger: Send the spec's Debugger rules and profiler (SageMaker Debugger).
        rule_image: The region's Debugger rule image (needed when ``debugger`` and the spec
            has rules or a profiler).
    """
    algo = dict(record["AlgorithmSpecification"])
    if spec.algorithm == "xgboost":
        # the built-in algorithm defines its own metrics; send only the user's
        algo["MetricDefinitions"] = [m.to_aws() for m in spec.metric_definitions]
    if not algo.get("MetricDefinitions"):
        algo.pop("MetricDefinitions", None)
    params: dict[str, Any] = {key: record[key] for key in _FIELDS}
    params["AlgorithmSpecification"] = algo
    for key in ("VpcConfig", "EnableInterContainerTrafficEncryption"):
        if key in record:
            params[key] = record[key]
    if not params["InputDataConfig"]:
        del params["InputDataConfig"]
    if spec.environment:
        params["Environment"] = dict(spec.environment)
    if debugger and spec.rules:
        params["DebugHookConfig"] = {
            "S3OutputPath": record["DebugHookConfig"]["S3OutputPath"],
            "LocalPath": "/opt/ml/output/tensors",
            "CollectionConfigurations": [
                {"CollectionName": "losses", "CollectionParameters": {"save_interval": "1"}},
                {"CollectionName": "gradients"},
            ],
        }
        params["DebugRuleConfigurations"] = [
            {**cfg, "RuleEvaluatorImage": rule_image, "InstanceType": "ml.t3.medium"}
            for cfg in record["DebugRuleConfigurations"]
        ]
    if debugger and "ProfilerConfig" in record:
        params["ProfilerConfig"] = record["ProfilerConfig"]
        params["ProfilerRuleConfigurations"] = [
            {
                "RuleConfigurationName": "ProfilerReport",
                "RuleEvaluatorImage": rule_image,
                "RuleParameters": {"rule_to_invoke": "ProfilerReport"},
            }
        ]
    else:
        params["ProfilerConfig"] = {"DisableProfiler": True}
    if spec.tags:
        params["Tags"] = [{"Key": k, "Value": v} for k, v in sorted(spec.tags.items())]
    return params


def create_tuning_job(
    spec: Any, name: str, training: dict[str, Any], config: dict[str, Any]
) -> dict[str, Any]:
    """``CreateHyperParameterTuningJob`` from a ``CreateTrainingJob`` request.

    Args:
        spec: The `smkit.training.TuningSpec`.
        name: The tuning job's name.
        training: `create_training_job` of the spec's training spec.
        config: ``tuning_config(spec)`` (the ``HyperParameterTuningJobConfig``).
    """
    config = {**config, "ResourceLimits": dict(config["ResourceLimits"])}
    if spec.strategy == "Grid" and spec.max_jobs is None:
        del config["ResourceLimits"]["MaxNumberOfTrainingJobs"]
    algo = {
        k: v
        for k, v in training["AlgorithmSpecification"].items()
        if k in ("TrainingImage", "TrainingInputMode", "MetricDefinitions")
    }
    if spec.objective_regex is not None or spec.training.algorithm != "xgboost":
        defs = spec.training_spec.all_metric_definitions
        algo["MetricDefinitions"] = [m.to_aws() for m in defs]
    definition: dict[str, Any] = {
        "StaticHyperParameters": training["HyperParameters"],
        "AlgorithmSpecification": algo,
        "RoleArn": training["RoleArn"],
        "OutputDataConfig": training["OutputDataConfig"],
        "ResourceConfig": training["ResourceConfig"],
        "StoppingCondition": training["StoppingCondition"],
    }
    if "InputDataConfig" in training:
        definition["InputDataConfig"] = training["InputDataConfig"]
    for key in ("VpcConfig", "EnableNetworkIsolation", "EnableInterContainerTrafficEncryption"):
        if training.get(key):
            definition[key] = training[key]
    if spec.training.environment:
        definition["Environment"] = dict(spec.training.environment)
    return {
        "HyperParameterTuningJobName": name,
        "HyperParameterTuningJobConfig": config,
        "TrainingJobDefinition": definition,
    }
