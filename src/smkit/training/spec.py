"""Training specs: what to run, on what data, with which settings.

A `TrainingSpec` describes one training job the way ``CreateTrainingJob`` does, in
terms a user writes: a script (``entry_point`` + ``source_dir``) and a framework, or a
built-in ``algorithm`` (``"xgboost"`` or ``"autogluon"``); hyperparameters; input
channels; instance settings; metric definitions; Debugger rules and a profiler. Specs are
frozen and validated when built; they never touch the disk or the network.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import attrs

from smkit.errors import ConfigError, ValidationError

__all__ = [
    "ALGORITHMS",
    "BUILTIN_METRICS",
    "FRAMEWORKS",
    "RULES",
    "Channel",
    "DebuggerRule",
    "MetricDefinition",
    "ProfilerSpec",
    "TrainingSpec",
    "VpcConfig",
]

#: Frameworks for script mode (they pick the training image on AWS).
FRAMEWORKS = ("sklearn", "pytorch", "xgboost", "autogluon", "custom")

#: Built-in algorithms run by smkit's own trainer scripts locally.
ALGORITHMS = ("xgboost", "autogluon")

#: Default framework versions (the image tag on AWS).
DEFAULT_VERSIONS = {
    "xgboost": "1.7-1",
    "sklearn": "1.2-1",
    "pytorch": "2.1",
    "autogluon": "1.1",
}

_NUM = r"([-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)"

#: Metric definitions of the built-in algorithms. XGBoost's container prints evaluation
#: lines such as ``[3]#011train-rmse:0.41#011validation-rmse:0.47`` (``#011`` is a tab as
#: CloudWatch shows it); the regexes accept a real tab too.
BUILTIN_METRICS: dict[str, tuple[tuple[str, str], ...]] = {
    "xgboost": tuple(
        (f"{channel}:{metric}", rf".*\[[0-9]+\].*(?:#011|\t){channel}-{metric}:{_NUM}.*")
        for channel in ("train", "validation")
        for metric in (
            "rmse",
            "mae",
            "logloss",
            "error",
            "merror",
            "mlogloss",
            "auc",
            "aucpr",
            "rmsle",
            "mape",
            "ndcg",
            "map",
        )
    ),
    "autogluon": (("validation:score", rf"smkit-autogluon validation_score={_NUM}"),),
}

#: Built-in Debugger rules smkit evaluates locally: snake_case name -> SageMaker's rule name.
RULES = {
    "loss_not_decreasing": "LossNotDecreasing",
    "overfit": "Overfit",
    "vanishing_gradient": "VanishingGradient",
    "exploding_tensor": "ExplodingTensor",
}

_NAME_RE = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
_INSTANCE_RE = re.compile(r"^(local|ml\.[a-z0-9]+\.[a-z0-9]+)$")


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


@attrs.frozen
class MetricDefinition:
    """A metric read from the job's logs: group 1 of ``regex`` on each line.

    Args:
        name: Metric name, e.g. ``"validation:rmse"`` (1-255 characters).
        regex: Python regular expression with one group capturing the number (≤ 500 chars).
    """

    name: str
    regex: str

    def __attrs_post_init__(self) -> None:
        if not self.name or len(self.name) > 255:
            raise ValidationError(f"metric name {self.name!r} must have 1-255 characters")
        if not self.regex or len(self.regex) > 500:
            raise ValidationError(
                f"metric {self.name!r}: regex must have 1-500 characters (SageMaker's limit)"
            )
        try:
            compiled = re.compile(self.regex)
        except re.error as exc:
            raise ValidationError(
                f"metric {self.name!r}: regex {self.regex!r} does not compile: {exc}"
            ) from exc
        if compiled.groups < 1:
            raise ValidationError(
                f"metric {self.name!r}: regex {self.regex!r} has no group",
                hint="wrap the number in parentheses, e.g. 'loss=([0-9.]+)'",
            )

    def to_aws(self) -> dict[str, str]:
        """``{"Name": ..., "Regex": ...}`` as ``AlgorithmSpecification.MetricDefinitions``."""
        return {"Name": self.name, "Regex": self.regex}


@attrs.frozen
class Channel:
    """One input channel.

    Args:
        uri: ``s3://`` prefix (or object) of the data, or a local file / directory.
        content_type: MIME type the algorithm reads (``text/csv``, ``text/libsvm``...).
        input_mode: ``File`` (the only mode the local backend runs).
        distribution: ``FullyReplicated`` or ``ShardedByS3Key``.
    """

    uri: str
    content_type: str | None = None
    input_mode: str = "File"
    distribution: str = "FullyReplicated"

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.uri, str) or not self.uri:
            raise ConfigError(f"channel uri must be a non-empty string, got {self.uri!r}")
        if self.input_mode not in ("File", "Pipe", "FastFile"):
            raise ConfigError(f"input_mode {self.input_mode!r}: use File, Pipe or FastFile")
        if self.distribution not in ("FullyReplicated", "ShardedByS3Key"):
            raise ConfigError(
                f"distribution {self.distribution!r}: use FullyReplicated or ShardedByS3Key"
            )


#: SageMaker's ``ChannelName`` pattern (1 to 64 characters); ``.`` and ``..`` are refused too,
#: since the name becomes a directory under ``/opt/ml/input/data``.
CHANNEL_NAME = re.compile(r"[A-Za-z0-9.\-_]{1,64}")


def check_channel_name(name: Any) -> str:
    """Validate a channel name (SageMaker's ``[A-Za-z0-9\\.\\-_]+``, at most 64 characters).

    Raises:
        ConfigError: the name could escape ``input/data`` or is not a SageMaker channel name.
    """
    if not isinstance(name, str) or not CHANNEL_NAME.fullmatch(name) or name in (".", ".."):
        raise ConfigError(
            f"channel name {name!r}: use 1 to 64 letters, digits, '.', '-' or '_' "
            "(SageMaker's ChannelName pattern; '.' and '..' are not names)",
            channel=str(name),
        )
    return name


def _to_channels(value: Any) -> dict[str, Channel]:
    if value is None:
        return {}
    if hasattr(value, "inputs") and hasattr(value, "channels"):  # a StagedData
        value = value.inputs
    if not isinstance(value, dict):
        raise ConfigError(
            f"inputs must be a dict of channel name -> URI or Channel, got {type(value).__name__}"
        )
    out: dict[str, Channel] = {}
    for name, item in value.items():
        check_channel_name(name)
        if isinstance(item, Channel):
            out[str(name)] = item
        elif isinstance(item, str):
            out[str(name)] = Channel(item)
        else:
            raise ConfigError(f"channel {name!r}: expected a URI string or Channel, got {item!r}")
    return out


def _to_metrics(value: Any) -> tuple[MetricDefinition, ...]:
    if value is None:
        return ()
    if isinstance(value, dict):
        value = [MetricDefinition(k, v) for k, v in value.items()]
    out = []
    for item in value:
        if isinstance(item, MetricDefinition):
            out.append(item)
        elif isinstance(item, dict):
            out.append(
                MetricDefinition(
                    item.get("Name", item.get("name", "")), item.get("Regex", item.get("regex", ""))
                )
            )
        else:
            out.append(MetricDefinition(*item))
    return tuple(out)


@attrs.frozen
class DebuggerRule:
    """A built-in Debugger rule with its parameters.

    Args:
        name: ``loss_not_decreasing``, ``overfit``, ``vanishing_gradient`` or
            ``exploding_tensor`` (SageMaker's ``LossNotDecreasing``... are accepted too).
        parameters: Rule parameters (e.g. ``{"num_steps": 10}``), as strings on AWS.
    """

    name: str = attrs.field(converter=lambda n: _snake(str(n)))
    parameters: dict[str, Any] = attrs.field(factory=dict, converter=dict)

    def __attrs_post_init__(self) -> None:
        if self.name not in RULES:
            raise ConfigError(
                f"unknown Debugger rule {self.name!r}; known: {', '.join(RULES)}",
            )

    @property
    def aws_name(self) -> str:
        """SageMaker's rule name (``LossNotDecreasing``)."""
        return RULES[self.name]


def _to_rules(value: Any) -> tuple[DebuggerRule, ...]:
    return tuple(r if isinstance(r, DebuggerRule) else DebuggerRule(r) for r in (value or ()))


@attrs.frozen
class ProfilerSpec:
    """System profiling while the job runs.

    Args:
        interval_ms: Sampling interval (SageMaker allows 100, 200, 500, 1000, 5000, 60000).
        enabled: Turn profiling off with ``False``.
    """

    interval_ms: int = 500
    enabled: bool = True

    def __attrs_post_init__(self) -> None:
        if self.interval_ms not in (100, 200, 500, 1000, 5000, 60000):
            raise ConfigError(
                f"profiler interval_ms {self.interval_ms!r}: SageMaker allows "
                "100, 200, 500, 1000, 5000 or 60000"
            )


def _hp_value(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(f"hyperparameter value {value!r} is not finite")
    return value


_SUBNET_RE = re.compile(r"^[-0-9a-zA-Z]{1,32}$")


def _ids(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    return tuple(value or ())


def _check_ids(inst: Any, attr: attrs.Attribute, value: tuple[str, ...]) -> None:
    if not 1 <= len(value) <= (16 if attr.name == "subnets" else 5):
        raise ConfigError(
            f"VpcConfig.{attr.name}: give 1-{16 if attr.name == 'subnets' else 5} ids, "
            f"got {len(value)}"
        )
    for item in value:
        if not isinstance(item, str) or not _SUBNET_RE.match(item):
            raise ConfigError(
                f"VpcConfig.{attr.name}: {item!r} is not an id like 'subnet-0abc' / 'sg-0abc'"
            )


@attrs.frozen
class VpcConfig:
    """The VPC a job, model or monitor runs in (SageMaker's ``VpcConfig``).

    Args:
        subnets: Subnet ids (1-16).
        security_group_ids: Security group ids (1-5).

    Examples:
        >>> VpcConfig(["subnet-1"], ["sg-1"]).to_request()
        {'SecurityGroupIds': ['sg-1'], 'Subnets': ['subnet-1']}
    """

    subnets: tuple[str, ...] = attrs.field(converter=_ids, validator=_check_ids)
    security_group_ids: tuple[str, ...] = attrs.field(converter=_ids, validator=_check_ids)

    def to_request(self) -> dict[str, list[str]]:
        """The request's ``VpcConfig``."""
        return {"SecurityGroupIds": list(self.security_group_ids), "Subnets": list(self.subnets)}

    @classmethod
    def coerce(cls, value: Any) -> VpcConfig | None:
        """A `VpcConfig` from itself, ``None``, or a dict (request keys
        ``Subnets``/``SecurityGroupIds`` or ``subnets``/``security_group_ids``)."""
        if value is None or isinstance(value, cls):
            return value
        if isinstance(value, dict):
            subnets = value.get("Subnets", value.get("subnets"))
            groups = value.get("SecurityGroupIds", value.get("security_group_ids"))
            return cls(subnets, groups)
        raise ConfigError(
            f"vpc_config must be a VpcConfig or a dict, got {type(value).__name__}",
            hint="VpcConfig(subnets=['subnet-...'], security_group_ids=['sg-...'])",
        )


def _opt_key(inst: Any, attr: attrs.Attribute, value: Any) -> None:
    if value is not None and (not isinstance(value, str) or not value.strip() or " " in value):
        raise ConfigError(
            f"{type(inst).__name__}.{attr.name} {value!r} is not a KMS key id, alias or ARN"
        )


def _to_paths(value: Any) -> tuple[str, ...]:
    """``dependencies=``: one path or several, as strings."""
    if value is None:
        return ()
    if isinstance(value, str | Path):
        value = [value]
    return tuple(str(v) for v in value)


@attrs.frozen
class TrainingSpec:
    """One training job.

    Give either ``entry_point`` (script mode; ``framework`` picks the image on AWS) or
    ``algorithm`` (``"xgboost"``: SageMaker's built-in XGBoost with its hyperparameter names
    and label-first CSV / libsvm input; ``"autogluon"``: AutoGluon tabular with ``label``,
    ``problem_type``, ``eval_metric``, ``presets``, ``time_limit``).

    Args:
        entry_point: Training script, relative to ``source_dir`` (or a path when no source dir).
        source_dir: Directory copied as the job's code directory.
        algorithm: A built-in algorithm instead of a script.
        framework: ``sklearn``, ``pytorch``, ``xgboost``, ``autogluon`` or ``custom``.
        framework_version: Image version on AWS (defaults per framework).
        py_version: Python version tag of the image (``py3``, ``py310``...).
        image_uri: A custom training image (overrides framework/version on AWS).
        hyperparameters: Passed to the script as ``--key value``.
        inputs: Channel name -> ``s3://`` URI, local path or `Channel`.
        instance_type: ``ml.*`` instance type (``local`` is accepted for the local backend).
        instance_count: Number of instances; the local backend runs one process per host
            (`algo-1` ... `algo-N`, see `smkit.backends.local.hosts`).
        volume_size_gb: Storage volume (AWS).
        max_runtime: Seconds after which the job is stopped.
        output_path: ``s3://`` prefix for ``<job>/output/model.tar.gz``; default: the bucket.
        metric_definitions: Metrics read from the logs; ``MetricDefinition``, a ``{name: regex}``
            dict or ``(name, regex)`` pairs.
        environment: Extra environment variables for the job.
        base_job_name: Prefix of generated job names.
        rules: Debugger rules to evaluate (names or `DebuggerRule`).
        profiler: System profiling settings; ``None`` turns it off.
        tags: Tags for the job on AWS.
        volume_kms_key: KMS key encrypting the instances' storage volume (AWS
            ``ResourceConfig.VolumeKmsKeyId``).
        output_kms_key: KMS key encrypting the model artifact and outputs (AWS
            ``OutputDataConfig.KmsKeyId``).
        vpc_config: `VpcConfig` (or a dict) the job's instances run in.
        enable_network_isolation: No network access from the training container (AWS).
        encrypt_inter_container_traffic: Encrypt traffic between instances (AWS).
        inherit_env: Local backend: give the script the whole host environment. By default
            it sees only ``environment``, the SageMaker variables and what Python needs
            (``PATH``, ``HOME``, the locale...), as a SageMaker container does; AWS
            credentials and tokens of the caller's shell do not reach it.
        dependencies: Extra directories or files copied next to the entry point in the
            code directory, each under its own name, as the SageMaker SDK's
            ``dependencies=`` packs them into the code tarball (so ``import common`` works
            for a ``dependencies=["libs/common"]``).
        install_requirements: Install the code directory's ``requirements.txt`` before the
            script, as the training toolkit does. Local backend only: ``False`` skips it
            (``--no-requirements``); SageMaker's containers always install it.
    """

    entry_point: str | None = None
    source_dir: str | None = None
    algorithm: str | None = None
    framework: str | None = None
    framework_version: str | None = None
    py_version: str | None = None
    image_uri: str | None = None
    hyperparameters: dict[str, Any] = attrs.field(factory=dict, converter=dict)
    inputs: dict[str, Channel] = attrs.field(factory=dict, converter=_to_channels)
    instance_type: str = "ml.m5.xlarge"
    instance_count: int = 1
    volume_size_gb: int = 30
    max_runtime: int = 86400
    output_path: str | None = None
    metric_definitions: tuple[MetricDefinition, ...] = attrs.field(
        factory=tuple, converter=_to_metrics
    )
    environment: dict[str, str] = attrs.field(factory=dict, converter=dict)
    base_job_name: str | None = None
    rules: tuple[DebuggerRule, ...] = attrs.field(factory=tuple, converter=_to_rules)
    profiler: ProfilerSpec | None = attrs.field(factory=ProfilerSpec)
    tags: dict[str, str] = attrs.field(factory=dict, converter=dict)
    volume_kms_key: str | None = attrs.field(default=None, validator=_opt_key)
    output_kms_key: str | None = attrs.field(default=None, validator=_opt_key)
    vpc_config: VpcConfig | None = attrs.field(default=None, converter=VpcConfig.coerce)
    enable_network_isolation: bool = attrs.field(default=False, converter=bool)
    encrypt_inter_container_traffic: bool = attrs.field(default=False, converter=bool)
    inherit_env: bool = attrs.field(default=False, converter=bool)
    dependencies: tuple[str, ...] = attrs.field(factory=tuple, converter=_to_paths)
    install_requirements: bool = attrs.field(default=True, converter=bool)

    def __attrs_post_init__(self) -> None:
        if (self.entry_point is None) == (self.algorithm is None):
            raise ConfigError(
                "TrainingSpec needs exactly one of entry_point (script mode) or algorithm "
                f"(built-in: {', '.join(ALGORITHMS)})",
            )
        if self.algorithm is not None and self.algorithm not in ALGORITHMS:
            raise ConfigError(
                f"unknown algorithm {self.algorithm!r}; built-in: {', '.join(ALGORITHMS)}"
            )
        if self.framework is not None and self.framework not in FRAMEWORKS:
            raise ConfigError(
                f"unknown framework {self.framework!r}; known: {', '.join(FRAMEWORKS)}"
            )
        if self.entry_point is not None and not self.entry_point.endswith((".py", ".sh")):
            raise ConfigError(
                f"entry_point {self.entry_point!r} must be a .py (or .sh) file",
            )
        if not _INSTANCE_RE.match(self.instance_type):
            raise ConfigError(
                f"instance_type {self.instance_type!r}: use an ml.* type such as ml.m5.xlarge"
            )
        if not isinstance(self.instance_count, int) or self.instance_count < 1:
            raise ConfigError(f"instance_count must be >= 1, got {self.instance_count!r}")
        if not isinstance(self.max_runtime, int | float) or self.max_runtime <= 0:
            raise ConfigError(f"max_runtime must be positive seconds, got {self.max_runtime!r}")
        if self.output_path is not None and not self.output_path.startswith("s3://"):
            raise ConfigError(
                f"output_path {self.output_path!r} must be an s3:// URI",
                hint="e.g. s3://my-bucket/models/",
            )
        if self.base_job_name is not None and not _NAME_RE.match(self.base_job_name):
            raise ConfigError(
                f"base_job_name {self.base_job_name!r}: letters, digits and '-' only, "
                "starting alphanumeric, at most 63 characters"
            )
        if len(self.metric_definitions) > 40:
            raise ValidationError(
                f"{len(self.metric_definitions)} metric definitions; SageMaker allows 40"
            )
        for key, value in self.hyperparameters.items():
            if not isinstance(key, str) or not key:
                raise ConfigError(f"hyperparameter names must be non-empty strings, got {key!r}")
            _hp_value(value)
        for key, value in self.environment.items():
            if not isinstance(value, str):
                raise ConfigError(f"environment {key!r} must be a string, got {value!r}")

    # -- derived ---------------------------------------------------------------------------
    @property
    def effective_framework(self) -> str:
        """The framework that picks the image (the algorithm for built-ins)."""
        return self.framework or self.algorithm or "custom"

    @property
    def effective_version(self) -> str | None:
        """``framework_version`` or the framework's default."""
        return self.framework_version or DEFAULT_VERSIONS.get(self.effective_framework)

    @property
    def all_metric_definitions(self) -> tuple[MetricDefinition, ...]:
        """The user's metric definitions plus the built-in algorithm's."""
        builtin = BUILTIN_METRICS.get(self.algorithm or "", ())
        names = {m.name for m in self.metric_definitions}
        extra = tuple(MetricDefinition(n, r) for n, r in builtin if n not in names)
        return self.metric_definitions + extra

    def job_name_prefix(self) -> str:
        """Prefix for generated job names."""
        if self.base_job_name:
            return self.base_job_name
        if self.algorithm:
            return self.algorithm
        stem = re.sub(r"[^a-zA-Z0-9]+", "-", (self.entry_point or "job").rsplit("/", 1)[-1][:-3])
        return (stem.strip("-") or "job")[:40]

    def evolve(self, **changes: Any) -> TrainingSpec:
        """A copy with ``changes`` applied (validated again)."""
        return attrs.evolve(self, **changes)

    def with_hyperparameters(self, **values: Any) -> TrainingSpec:
        """A copy with these hyperparameters set (merged over the existing ones)."""
        return attrs.evolve(self, hyperparameters={**self.hyperparameters, **values})
