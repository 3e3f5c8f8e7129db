"""The training job a spec describes, as SageMaker records it (DescribeTrainingJob's fields).

Both backends start from `build_record`: the local backend stores it in its catalog (and
runs the job from it), the aws backend takes the CreateTrainingJob fields from it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from smkit import uri as s3uri
from smkit.errors import SourceNotFoundError
from smkit.ids import sagemaker_arn
from smkit.training.contract import encode_hyperparameters

__all__ = [
    "BUILTIN_SCRIPTS",
    "TRAINERS",
    "build_record",
    "copy_dependencies",
    "resolve_dependencies",
    "resolve_code",
]

#: Where smkit's own trainer scripts for the built-in algorithms live.
TRAINERS = Path(__file__).resolve().parent / "trainers"
#: The trainer script of each built-in algorithm.
BUILTIN_SCRIPTS = {"xgboost": "xgboost_algorithm.py", "autogluon": "autogluon_tabular.py"}

_TRAINERS = TRAINERS
_BUILTIN_SCRIPTS = BUILTIN_SCRIPTS


def resolve_code(spec: Any) -> tuple[Path, str]:
    """(code to copy, entry point file name) of a spec, checked to exist.

    The code is the source directory, or the entry point file alone when there is none
    (as the SageMaker SDK uploads it).
    """
    if spec.algorithm is not None:
        return _TRAINERS, _BUILTIN_SCRIPTS[spec.algorithm]
    entry = spec.entry_point
    if spec.source_dir is not None:
        src = Path(spec.source_dir).expanduser().resolve()
        if not src.is_dir():
            raise SourceNotFoundError(
                f"source_dir {spec.source_dir!r} is not a directory", path=str(src)
            )
        if not (src / entry).is_file():
            raise SourceNotFoundError(
                f"entry point {entry!r} not found in source_dir {str(src)!r}",
                hint="entry_point is relative to source_dir",
                path=str(src / entry),
            )
        return src, entry
    path = Path(entry).expanduser().resolve()
    if not path.is_file():
        raise SourceNotFoundError(f"entry point {entry!r} not found", path=str(path))
    return path, path.name


def resolve_dependencies(paths: tuple[str, ...] | list[str]) -> list[Path]:
    """The ``dependencies=`` of a spec as absolute paths, each checked to exist.

    Raises:
        SourceNotFoundError: a path does not exist.
        ConfigError: two dependencies would land under the same name.
    """
    from smkit.errors import ConfigError

    resolved: list[Path] = []
    seen: dict[str, Path] = {}
    for raw in paths:
        path = Path(raw).expanduser().resolve()
        if not path.exists():
            raise SourceNotFoundError(
                f"dependency {raw!r} does not exist",
                hint="dependencies= takes directories or files, copied next to the entry point",
                path=str(path),
            )
        if path.name in seen:
            raise ConfigError(
                f"dependencies {str(seen[path.name])!r} and {str(path)!r} would both be "
                f"copied as {path.name!r}",
            )
        seen[path.name] = path
        resolved.append(path)
    return resolved


def copy_dependencies(paths: list[Path], code_dir: Path) -> list[str]:
    """Copy each dependency into ``code_dir`` under its own name, as the SDK packs them.

    A dependency never overwrites a file of the source directory (the SDK would silently
    keep whichever came last; here it is an error).

    Returns:
        The names added to ``code_dir``.
    """
    import shutil

    from smkit.errors import ConfigError

    added: list[str] = []
    for path in paths:
        target = code_dir / path.name
        if target.exists():
            raise ConfigError(
                f"dependency {str(path)!r} clashes with {path.name!r} already in the code",
                hint="rename the dependency or remove the file from source_dir",
            )
        if path.is_dir():
            ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".git")
            shutil.copytree(path, target, symlinks=False, ignore=ignore)
        else:
            shutil.copy2(path, target)
        added.append(path.name)
    return added


def build_record(
    spec: Any,
    name: str,
    *,
    output_path: str,
    role: str,
    image: str,
    tuning_job_arn: str | None = None,
    extra_hyperparameters: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The DescribeTrainingJob-shaped fields a training spec determines."""
    script_mode = spec.algorithm is None or spec.algorithm == "autogluon"
    hps = encode_hyperparameters(dict(spec.hyperparameters), script_mode=script_mode)
    if extra_hyperparameters:
        hps.update(extra_hyperparameters)
    metric_defs = [m.to_aws() for m in spec.all_metric_definitions]
    record: dict[str, Any] = {
        "TrainingJobName": name,
        "TrainingJobArn": sagemaker_arn("training-job", name),
        "HyperParameters": hps,
        "AlgorithmSpecification": {
            "TrainingImage": image,
            "TrainingInputMode": "File",
            "MetricDefinitions": metric_defs,
            "EnableSageMakerMetricsTimeSeries": False,
        },
        "RoleArn": role,
        "InputDataConfig": [
            {
                "ChannelName": cname,
                "DataSource": {
                    "S3DataSource": {
                        "S3DataType": "S3Prefix",
                        "S3Uri": ch.uri,
                        "S3DataDistributionType": ch.distribution,
                    }
                },
                **({"ContentType": ch.content_type} if ch.content_type else {}),
                "CompressionType": "None",
                "RecordWrapperType": "None",
                "InputMode": ch.input_mode,
            }
            for cname, ch in sorted(spec.inputs.items())
        ],
        "OutputDataConfig": {"S3OutputPath": output_path},
        "ResourceConfig": {
            "InstanceType": spec.instance_type,
            "InstanceCount": spec.instance_count,
            "VolumeSizeInGB": spec.volume_size_gb,
        },
        "StoppingCondition": {"MaxRuntimeInSeconds": int(spec.max_runtime)},
        "Environment": dict(spec.environment),
        "EnableNetworkIsolation": bool(getattr(spec, "enable_network_isolation", False)),
        "EnableManagedSpotTraining": False,
    }
    if getattr(spec, "output_kms_key", None):
        record["OutputDataConfig"]["KmsKeyId"] = spec.output_kms_key
    if getattr(spec, "volume_kms_key", None):
        record["ResourceConfig"]["VolumeKmsKeyId"] = spec.volume_kms_key
    if getattr(spec, "vpc_config", None) is not None:
        record["VpcConfig"] = spec.vpc_config.to_request()
    if getattr(spec, "encrypt_inter_container_traffic", False):
        record["EnableInterContainerTrafficEncryption"] = True
    if tuning_job_arn:
        record["TuningJobArn"] = tuning_job_arn
    if spec.rules:
        record["DebugHookConfig"] = {
            "S3OutputPath": s3uri.join(output_path, name, "debug-output"),
            "LocalPath": "/opt/ml/output/tensors",
        }
        record["DebugRuleConfigurations"] = [
            {
                "RuleConfigurationName": r.aws_name,
                "RuleEvaluatorImage": "local",
                "RuleParameters": {
                    "rule_to_invoke": r.aws_name,
                    **{k: str(v) for k, v in r.parameters.items()},
                },
            }
            for r in spec.rules
        ]
    if spec.profiler is not None and spec.profiler.enabled:
        record["ProfilerConfig"] = {
            "S3OutputPath": s3uri.join(output_path, name, "profiler-output"),
            "ProfilingIntervalInMilliseconds": spec.profiler.interval_ms,
            "DisableProfiler": False,
        }
        record["ProfilingStatus"] = "Enabled"
    else:
        record["ProfilingStatus"] = "Disabled"
    return record
