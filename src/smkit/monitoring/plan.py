"""``MonitorPlan``: SageMaker's monitoring steps, in the only order that works.

1. **data capture** on the endpoint (``DataCaptureConfig``),
2. a **baseline** per monitor: data quality (statistics + constraints of a baseline dataset),
   model quality (metrics of predictions against labels), explainability
   (``SHAPConfig`` + ``ModelConfig`` + ``DataConfig`` → ``ExplainabilityAnalysisConfig`` →
   Clarify's baseline ``analysis.json``),
3. a **schedule** (AWS cron; `hourly` / ``daily``),
4. **executions** over the captured data (``monitor.run_now()``, or when due),
5. **violations** of each execution.

The plan is an immutable builder: each method returns a new plan. A step taken before the
step it needs raises `OrderError` naming the missing step. Nothing is
read or sent until ``session.apply(plan)``; a plan built from an endpoint *name* checks the
endpoint's capture configuration then, from its catalog record.
"""

from __future__ import annotations

import copy
from typing import Any

import attrs

from smkit.errors import OrderError, ValidationError
from smkit.monitoring.clarify import (
    DataConfig,
    ExplainabilityAnalysisConfig,
    ModelConfig,
    SHAPConfig,
)
from smkit.monitoring.schedule import CronSchedule, parse_schedule

__all__ = [
    "PROBLEM_TYPES",
    "STEPS",
    "DataQualityConfig",
    "ExplainabilityConfig",
    "ModelQualityConfig",
    "MonitorPlan",
]

PROBLEM_TYPES = ("Regression", "BinaryClassification", "MulticlassClassification")
#: The documented order, as step names used in error messages.
STEPS = ("data capture", "baseline", "schedule", "execution", "violations")


@attrs.frozen
class DataQualityConfig:
    """The data-quality monitor of a plan.

    Attributes:
        baseline: The baseline dataset (``s3://`` URI or local path): CSV, JSON lines.
        header: Whether the baseline CSV has a header row (``None``: detected from the
            first two rows). Captured CSV has none, so its
            columns are ``_c0``, ``_c1``... (output first): use a header-less baseline with
            the label/prediction first to compare like with like.
        monitoring_config: Overrides merged into the suggested ``monitoring_config``
            (thresholds, comparison methods).
    """

    baseline: str
    header: bool | None = None
    monitoring_config: dict[str, Any] = attrs.field(factory=dict)


@attrs.frozen
class ModelQualityConfig:
    """The model-quality monitor of a plan.

    Attributes:
        baseline: CSV (with header) of predictions and labels from a validation run.
        problem_type: ``Regression``, ``BinaryClassification`` or ``MulticlassClassification``.
        ground_truth: ``s3://`` prefix of uploaded ground-truth JSONL (FORMATS.md §1).
        inference_attribute: Baseline column of the predicted value/label.
        probability_attribute: Baseline column of the predicted probability (binary).
        ground_truth_attribute: Baseline column of the label.
        probability_threshold: Probability at or above which a binary prediction is 1.
    """

    baseline: str
    problem_type: str = attrs.field()
    ground_truth: str
    ground_truth_attribute: str = "label"
    inference_attribute: str | None = "prediction"
    probability_attribute: str | None = None
    probability_threshold: float = 0.5

    @problem_type.validator
    def _pt(self, _attr: Any, value: str) -> None:
        if value not in PROBLEM_TYPES:
            raise ValidationError(
                f"problem_type {value!r} is not one of {', '.join(PROBLEM_TYPES)}"
            )


@attrs.frozen
class ExplainabilityConfig:
    """The explainability monitor of a plan (its parts, resolved at apply time)."""

    shap: SHAPConfig
    model: ModelConfig | None = None
    data: DataConfig | None = None
    threshold: float = 0.9

    def analysis_config(
        self, endpoint: str, fallback_data: str | None
    ) -> ExplainabilityAnalysisConfig:
        """The full analysis config, filling the model with the plan's endpoint.

        Raises:
            OrderError: no ``DataConfig`` and no data-quality baseline to take it from.
        """
        model = self.model or ModelConfig(endpoint_name=endpoint)
        if not model.endpoint_name and not model.model_name:
            model = attrs.evolve(model, endpoint_name=endpoint)
        data = self.data
        if data is None:
            if fallback_data is None:
                raise OrderError(
                    "the explainability monitor has no DataConfig: Clarify needs a baseline "
                    "dataset (SHAPConfig + ModelConfig + DataConfig, then the analysis config)",
                    hint="pass data=DataConfig(...) to .explainability(), or add "
                    ".data_quality(baseline=...) first so its dataset is used",
                    missing="DataConfig",
                )
            data = DataConfig(s3_data_input_path=fallback_data, s3_output_path="")
        return ExplainabilityAnalysisConfig(self.shap, model, data)


def _endpoint_name(endpoint: Any) -> str:
    name = endpoint if isinstance(endpoint, str) else getattr(endpoint, "name", None)
    if not isinstance(name, str) or not name:
        raise ValidationError(
            f"MonitorPlan needs an Endpoint handle or an endpoint name, got {endpoint!r}"
        )
    return name


def _capture_known(endpoint: Any) -> bool | None:
    """Whether the handle says capture is on (``None`` when only a name was given)."""
    if isinstance(endpoint, str) or not hasattr(endpoint, "data_capture"):
        return None
    spec = endpoint.data_capture
    if spec is None:
        return False
    for attr in ("enable_capture", "enabled", "enable"):
        if hasattr(spec, attr):
            return bool(getattr(spec, attr))
    return True


@attrs.frozen(init=False)
class MonitorPlan:
    """What to monitor on an endpoint, built step by step (immutable).

    Args:
        endpoint: An Endpoint handle or an endpoint name.

    Examples:
        >>> from smkit.monitoring import MonitorPlan
        >>> plan = (MonitorPlan("churn")
        ...         .data_quality(baseline="s3://b/train.csv")
        ...         .schedule("hourly"))
        >>> plan.schedule_expression
        'cron(0 * ? * * *)'
        >>> MonitorPlan("churn").schedule("hourly")
        Traceback (most recent call last):
        ...
        smkit.errors.OrderError: cannot schedule before a baseline: ...
    """

    endpoint_name: str
    endpoint: Any = attrs.field(eq=False, repr=False)
    capture_enabled: bool | None
    data_quality_config: DataQualityConfig | None = None
    model_quality_config: ModelQualityConfig | None = None
    explainability_config: ExplainabilityConfig | None = None
    cron: CronSchedule | None = None
    output: str | None = None
    name: str | None = None
    volume_kms_key: str | None = None
    output_kms_key: str | None = None
    vpc_config: Any = None
    enable_network_isolation: bool = False
    encrypt_inter_container_traffic: bool = False

    def __init__(self, endpoint: Any) -> None:
        self.__attrs_init__(
            endpoint_name=_endpoint_name(endpoint),
            endpoint=endpoint,
            capture_enabled=_capture_known(endpoint),
        )

    # -- helpers -----------------------------------------------------------------------
    def _with(self, **changes: Any) -> MonitorPlan:
        new = copy.copy(self)
        for key, value in changes.items():
            object.__setattr__(new, key, value)
        return new

    def _require_capture(self, step: str) -> None:
        if self.capture_enabled is False:
            raise OrderError(
                f"cannot add {step} to endpoint {self.endpoint_name!r}: it has no data capture "
                "(step 1 of the monitoring order)",
                hint="deploy it with EndpointSpec(data_capture=DataCaptureSpec(...)) first",
                missing="data capture",
                endpoint=self.endpoint_name,
            )

    @property
    def monitors(self) -> list[str]:
        """The monitor types in this plan (``DataQuality``, ``ModelQuality``, ...)."""
        out = []
        if self.data_quality_config:
            out.append("DataQuality")
        if self.model_quality_config:
            out.append("ModelQuality")
        if self.explainability_config:
            out.append("ModelExplainability")
        return out

    @property
    def schedule_expression(self) -> str | None:
        """The AWS cron expression, once scheduled."""
        return self.cron.expression if self.cron else None

    # -- steps -------------------------------------------------------------------------
    def data_quality(
        self,
        baseline: str | None = None,
        *,
        header: bool | None = None,
        monitoring_config: dict[str, Any] | None = None,
    ) -> MonitorPlan:
        """Add the data-quality monitor with its baseline dataset.

        Raises:
            OrderError: the endpoint has no data capture, or no baseline was given.
        """
        self._require_capture("a data-quality monitor")
        if not baseline:
            raise OrderError(
                "a data-quality monitor needs a baseline dataset before anything else "
                "(step 2: statistics + constraints)",
                hint="pass baseline='s3://bucket/train.csv' (or a local path)",
                missing="baseline",
            )
        return self._with(
            data_quality_config=DataQualityConfig(baseline, header, dict(monitoring_config or {}))
        )

    def model_quality(
        self,
        baseline: str | None = None,
        *,
        problem_type: str,
        ground_truth: str,
        ground_truth_attribute: str = "label",
        inference_attribute: str | None = "prediction",
        probability_attribute: str | None = None,
        probability_threshold: float = 0.5,
    ) -> MonitorPlan:
        """Add the model-quality monitor (baseline of predictions + labels, ground truth).

        Raises:
            OrderError: no data capture, or no baseline.
        """
        self._require_capture("a model-quality monitor")
        if not baseline:
            raise OrderError(
                "a model-quality monitor needs a baseline of predictions and labels first",
                hint="pass baseline='s3://bucket/validation-predictions.csv'",
                missing="baseline",
            )
        return self._with(
            model_quality_config=ModelQualityConfig(
                baseline,
                problem_type,
                ground_truth,
                ground_truth_attribute,
                inference_attribute,
                probability_attribute,
                probability_threshold,
            )
        )

    def explainability(
        self,
        shap: SHAPConfig | ExplainabilityAnalysisConfig | None = None,
        *,
        model: ModelConfig | None = None,
        data: DataConfig | None = None,
        threshold: float = 0.9,
    ) -> MonitorPlan:
        """Add the Clarify explainability monitor.

        Args:
            shap: A `SHAPConfig` (or a complete `ExplainabilityAnalysisConfig`).
            model: Which model to explain (default: this plan's endpoint).
            data: The baseline dataset (default: the data-quality baseline).
            threshold: nDCG below which attributions have drifted.

        Raises:
            OrderError: no data capture, or no SHAPConfig.
        """
        self._require_capture("an explainability monitor")
        if isinstance(shap, ExplainabilityAnalysisConfig):
            cfg = ExplainabilityConfig(shap.shap, shap.model, shap.data, threshold)
        elif isinstance(shap, SHAPConfig):
            cfg = ExplainabilityConfig(shap, model, data, threshold)
        else:
            raise OrderError(
                "the explainability monitor starts from a SHAPConfig "
                "(then ModelConfig and DataConfig make the analysis config)",
                hint="pass smkit.SHAPConfig(baseline=..., num_samples=...)",
                missing="SHAPConfig",
            )
        if not 0 < threshold <= 1:
            raise ValidationError(f"nDCG threshold must be in (0, 1], got {threshold!r}")
        return self._with(explainability_config=cfg)

    def schedule(self, expression: str | CronSchedule = "hourly") -> MonitorPlan:
        """Schedule the monitors (``"hourly"``, ``"daily"``, ``"daily@H"``, ``cron(...)``).

        Raises:
            OrderError: no monitor with a baseline yet.
        """
        if not self.monitors:
            raise OrderError(
                "cannot schedule before a baseline: add a monitor with its baseline first "
                "(step 2 comes before step 3)",
                hint="call .data_quality(baseline=...), .model_quality(...) or "
                ".explainability(SHAPConfig(...)) before .schedule()",
                missing="baseline",
            )
        return self._with(cron=parse_schedule(expression))

    def with_output(self, uri: str) -> MonitorPlan:
        """Where baselines and execution reports go (``s3://bucket/prefix``)."""
        if not isinstance(uri, str) or not uri.startswith("s3://"):
            raise ValidationError(f"output must be an s3:// URI, got {uri!r}")
        return self._with(output=uri.rstrip("/"))

    def with_security(
        self,
        *,
        volume_kms_key: str | None = None,
        output_kms_key: str | None = None,
        vpc_config: Any = None,
        enable_network_isolation: bool = False,
        encrypt_inter_container_traffic: bool = False,
    ) -> MonitorPlan:
        """KMS keys and network settings of the baseline jobs and monitoring job
        definitions (AWS ``ClusterConfig.VolumeKmsKeyId``, the outputs' ``KmsKeyId`` and
        ``NetworkConfig``).

        Args:
            volume_kms_key: KMS key of the processing instances' storage volume.
            output_kms_key: KMS key of the baseline and report objects.
            vpc_config: A `VpcConfig` (or a dict).
            enable_network_isolation: No network access from the monitoring containers.
            encrypt_inter_container_traffic: Encrypt traffic between instances.

        Raises:
            ConfigError: a key or VPC setting is malformed.
        """
        from smkit.errors import ConfigError
        from smkit.training.spec import VpcConfig

        for what, key in (("volume_kms_key", volume_kms_key), ("output_kms_key", output_kms_key)):
            if key is not None and (not isinstance(key, str) or not key.strip() or " " in key):
                raise ConfigError(f"MonitorPlan {what} {key!r} is not a KMS key id, alias or ARN")
        return self._with(
            volume_kms_key=volume_kms_key,
            output_kms_key=output_kms_key,
            vpc_config=VpcConfig.coerce(vpc_config),
            enable_network_isolation=bool(enable_network_isolation),
            encrypt_inter_container_traffic=bool(encrypt_inter_container_traffic),
        )

    def network_config(self) -> dict[str, Any] | None:
        """The ``NetworkConfig`` of the monitoring requests (``None`` when all defaults)."""
        out: dict[str, Any] = {}
        if self.encrypt_inter_container_traffic:
            out["EnableInterContainerTrafficEncryption"] = True
        if self.enable_network_isolation:
            out["EnableNetworkIsolation"] = True
        if self.vpc_config is not None:
            out["VpcConfig"] = self.vpc_config.to_request()
        return out or None

    def named(self, name: str) -> MonitorPlan:
        """Base name of the schedules (default: the endpoint's name)."""
        if not name or len(name) > 50 or not all(c.isalnum() or c == "-" for c in name):
            raise ValidationError(
                f"schedule name {name!r}: 1-50 letters, digits or '-'", value=name
            )
        return self._with(name=name)

    # -- checks ------------------------------------------------------------------------
    def steps(self) -> list[tuple[str, bool | None]]:
        """The documented steps and whether each is in the plan (``None``: checked at apply)."""
        return [
            ("data capture", self.capture_enabled),
            ("baseline", bool(self.monitors)),
            ("schedule", self.cron is not None),
        ]

    def check_complete(self) -> None:
        """Raise `OrderError` naming the first missing step of the plan."""
        self._require_capture("monitors")
        if not self.monitors:
            raise OrderError(
                "the plan has no monitor: add a baseline first",
                hint="call .data_quality(baseline=...)",
                missing="baseline",
            )
        if self.cron is None:
            raise OrderError(
                "the plan has no schedule (step 3)",
                hint="add .schedule('hourly') (or daily / a cron expression)",
                missing="schedule",
            )

    def schedule_name(self, monitor_type: str) -> str:
        """The schedule name for one monitor type."""
        suffix = {
            "DataQuality": "data-quality",
            "ModelQuality": "model-quality",
            "ModelExplainability": "explainability",
        }[monitor_type]
        return f"{self.name or self.endpoint_name}-{suffix}"[:63]
