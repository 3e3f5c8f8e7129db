"""Clarify explainability specs: ``SHAPConfig`` + ``ModelConfig`` + ``DataConfig``.

Together they make an `ExplainabilityAnalysisConfig`, whose
`to_dict` is Clarify's ``analysis_config.json``
(FORMATS.md §4). The specs are frozen attrs objects, validated when built; they import
nothing heavy.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs

from smkit.errors import ValidationError

__all__ = [
    "AGG_METHODS",
    "DATASET_TYPES",
    "DataConfig",
    "ExplainabilityAnalysisConfig",
    "ModelConfig",
    "SHAPConfig",
    "default_num_samples",
]

AGG_METHODS = ("mean_abs", "median", "mean_sq")
DATASET_TYPES = (
    "text/csv",
    "application/jsonlines",
    "application/json",
    "application/x-parquet",
    "application/x-image",
)


def default_num_samples(num_features: int) -> int:
    """Clarify's default coalition count: ``min(2M + 2048, 2**M - 2)`` for ``M`` features."""
    if num_features < 1:
        raise ValidationError(f"need at least one feature, got {num_features}")
    return max(1, min(2 * num_features + 2048, 2**num_features - 2))


def _positive_or_none(name: str) -> Callable[[Any, Any, Any], None]:
    def check(_inst: Any, _attr: Any, value: Any) -> None:
        if value is not None and (
            not isinstance(value, int) or isinstance(value, bool) or value < 1
        ):
            raise ValidationError(f"{name} must be a positive integer or None, got {value!r}")

    return check


def _baseline(_inst: Any, _attr: Any, value: Any) -> None:
    if value is None or isinstance(value, str):
        if (
            isinstance(value, str)
            and not value.startswith(("s3://", "/", "."))
            and "/" not in value
        ):
            raise ValidationError(
                f"SHAPConfig.baseline {value!r} is neither rows nor a URI/path",
                hint="pass a list of rows, an s3:// URI or a file path",
            )
        return
    if not isinstance(value, list | tuple) or not value:
        raise ValidationError(
            f"SHAPConfig.baseline must be a non-empty list of rows, a URI, or None; got {value!r}"
        )
    widths = {len(r) if isinstance(r, list | tuple) else -1 for r in value}
    if -1 in widths or len(widths) != 1:
        raise ValidationError("SHAPConfig.baseline rows must be lists of the same length")


def _rows(value: Any) -> Any:
    if value is None or isinstance(value, str):
        return value
    return tuple(tuple(r) for r in value)


@attrs.frozen
class SHAPConfig:
    """How Clarify computes SHAP values (``methods.shap`` of the analysis config).

    Attributes:
        baseline: Baseline rows (features only), an ``s3://`` URI / path of a CSV of them, or
            ``None`` for k-means centres of the data (``num_clusters``, 1-12).
        num_samples: Coalitions per baseline row; ``None`` means
            `default_num_samples`. The count used is ``min(num_samples, 2**M - 2)``.
        agg_method: Global value from local ones: ``mean_abs``, ``median`` or ``mean_sq``.
        use_logit: Explain the log-odds of the model's output instead of the output.
        save_local_shap_values: Write per-row values to ``explanations_shap/out.csv``.
        num_clusters: k-means clusters when there is no baseline (``None``: chosen 1-12).
        seed: Random seed of the coalition sampling and k-means.

    Examples:
        >>> SHAPConfig(num_samples=100, agg_method="mean_sq").to_dict()["agg_method"]
        'mean_sq'
    """

    baseline: Any = attrs.field(default=None, converter=_rows, validator=_baseline)
    num_samples: int | None = attrs.field(default=None, validator=_positive_or_none("num_samples"))
    agg_method: str = attrs.field(default="mean_abs")
    use_logit: bool = False
    save_local_shap_values: bool = True
    num_clusters: int | None = attrs.field(
        default=None, validator=_positive_or_none("num_clusters")
    )
    seed: int | None = 0

    @agg_method.validator
    def _agg(self, _attr: Any, value: str) -> None:
        if value not in AGG_METHODS:
            raise ValidationError(
                f"agg_method {value!r} is not one of {', '.join(AGG_METHODS)}", value=value
            )

    def __attrs_post_init__(self) -> None:
        if self.num_clusters is not None and not 1 <= self.num_clusters <= 12:
            raise ValidationError(f"num_clusters must be 1-12, got {self.num_clusters}")

    def coalitions(self, num_features: int) -> int:
        """The number of coalitions per baseline row for ``num_features`` features."""
        cap = max(1, 2**num_features - 2)
        return min(self.num_samples, cap) if self.num_samples else default_num_samples(num_features)

    def to_dict(self) -> dict[str, Any]:
        """The ``methods.shap`` object of ``analysis_config.json``."""
        out: dict[str, Any] = {}
        if self.baseline is not None:
            out["baseline"] = (
                self.baseline
                if isinstance(self.baseline, str)
                else [list(r) for r in self.baseline]
            )
        if self.num_samples is not None:
            out["num_samples"] = self.num_samples
        if self.num_clusters is not None:
            out["num_clusters"] = self.num_clusters
        if self.seed is not None:
            out["seed"] = self.seed
        out["agg_method"] = self.agg_method
        out["use_logit"] = self.use_logit
        out["save_local_shap_values"] = self.save_local_shap_values
        return out


@attrs.frozen
class ModelConfig:
    """Which model Clarify explains (the ``predictor`` object of the analysis config).

    Give ``model_name`` (Clarify starts a shadow endpoint) or ``endpoint_name``; inside a
    `MonitorPlan` the plan's endpoint is used when neither is set.

    Attributes:
        model_name: A SageMaker model name.
        endpoint_name: An existing endpoint.
        instance_type: Shadow endpoint instance type (with ``model_name``).
        instance_count: Shadow endpoint instance count.
        content_type: Request content type.
        accept_type: Response content type.
        probability: Index (or JSON key) of the probability in the model's output, if any.
        label_headers: Names of the output columns (else ``label0``, ``label1``...).
        predict_fn: Local backend only: a callable from a 2-D array of rows to predictions,
            used instead of calling an endpoint (not part of the analysis config).
        model: Local backend only: the in-process model object (an XGBoost Booster or a
            scikit-learn tree ensemble) that enables the exact TreeSHAP fast path.
    """

    model_name: str | None = None
    endpoint_name: str | None = None
    instance_type: str = "ml.m5.xlarge"
    instance_count: int = attrs.field(default=1)
    content_type: str = "text/csv"
    accept_type: str = "text/csv"
    probability: int | str | None = None
    label_headers: tuple[str, ...] | None = attrs.field(
        default=None, converter=lambda v: tuple(v) if v is not None else None
    )
    predict_fn: Any = attrs.field(default=None, eq=False, repr=False)
    model: Any = attrs.field(default=None, eq=False, repr=False)

    @instance_count.validator
    def _count(self, _attr: Any, value: int) -> None:
        if not isinstance(value, int) or value < 1:
            raise ValidationError(f"instance_count must be >= 1, got {value!r}")

    def __attrs_post_init__(self) -> None:
        if self.model_name and self.endpoint_name:
            raise ValidationError(
                "ModelConfig takes model_name or endpoint_name, not both",
                hint="drop one of them",
            )

    def to_dict(self) -> dict[str, Any]:
        """The ``predictor`` object of ``analysis_config.json``."""
        out: dict[str, Any] = {}
        if self.endpoint_name:
            out["endpoint_name"] = self.endpoint_name
        else:
            if self.model_name:
                out["model_name"] = self.model_name
            out["instance_type"] = self.instance_type
            out["initial_instance_count"] = self.instance_count
        out["content_type"] = self.content_type
        out["accept_type"] = self.accept_type
        if self.probability is not None:
            out["probability"] = self.probability
        if self.label_headers is not None:
            out["label_headers"] = list(self.label_headers)
        return out


@attrs.frozen
class DataConfig:
    """The dataset Clarify analyses and where it writes.

    Attributes:
        s3_data_input_path: ``s3://`` URI (or local path) of the dataset.
        s3_output_path: Where ``analysis.json`` (and ``explanations_shap/``) go.
        label: The label column (excluded from the features), by name or index.
        headers: Column names of the dataset (with the label).
        features: JSONPath of the features in JSON lines data.
        dataset_type: One of `DATASET_TYPES`.
    """

    s3_data_input_path: str
    s3_output_path: str
    label: str | int | None = None
    headers: tuple[str, ...] | None = attrs.field(
        default=None, converter=lambda v: tuple(v) if v is not None else None
    )
    features: str | None = None
    dataset_type: str = attrs.field(default="text/csv")

    @dataset_type.validator
    def _type(self, _attr: Any, value: str) -> None:
        if value not in DATASET_TYPES:
            raise ValidationError(
                f"dataset_type {value!r} is not one of {', '.join(DATASET_TYPES)}"
            )

    def __attrs_post_init__(self) -> None:
        if isinstance(self.label, str) and self.headers and self.label not in self.headers:
            raise ValidationError(
                f"label {self.label!r} is not among the headers {list(self.headers)}",
                hint="add it to headers or fix its spelling",
            )


@attrs.frozen
class ExplainabilityAnalysisConfig:
    """Clarify's explainability analysis: SHAP settings, the model and the data.

    Examples:
        >>> cfg = ExplainabilityAnalysisConfig(
        ...     SHAPConfig(baseline=[[1, 2]], num_samples=10),
        ...     ModelConfig(endpoint_name="ep"),
        ...     DataConfig("s3://b/in.csv", "s3://b/out/", label="y", headers=["y", "a", "b"]))
        >>> cfg.to_dict()["predictor"]["endpoint_name"]
        'ep'
    """

    shap: SHAPConfig = attrs.field(validator=attrs.validators.instance_of(SHAPConfig))
    model: ModelConfig = attrs.field(validator=attrs.validators.instance_of(ModelConfig))
    data: DataConfig | None = attrs.field(
        default=None, validator=attrs.validators.optional(attrs.validators.instance_of(DataConfig))
    )

    def to_dict(self) -> dict[str, Any]:
        """Clarify's ``analysis_config.json``."""
        out: dict[str, Any] = {"dataset_type": self.data.dataset_type if self.data else "text/csv"}
        if self.data is not None:
            if self.data.headers is not None:
                out["headers"] = list(self.data.headers)
            if self.data.label is not None:
                out["label"] = self.data.label
            if self.data.features is not None:
                out["features"] = self.data.features
        out["methods"] = {
            "shap": self.shap.to_dict(),
            "report": {"name": "report", "title": "Analysis Report"},
        }
        out["predictor"] = self.model.to_dict()
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ExplainabilityAnalysisConfig:
        """Build from an ``analysis_config.json`` dict (Clarify's own files included)."""
        shap = dict(data.get("methods", {}).get("shap", {}))
        pred = dict(data.get("predictor", {}))
        return cls(
            SHAPConfig(
                baseline=shap.get("baseline"),
                num_samples=shap.get("num_samples"),
                agg_method=shap.get("agg_method", "mean_abs"),
                use_logit=bool(shap.get("use_logit", False)),
                save_local_shap_values=bool(shap.get("save_local_shap_values", True)),
                num_clusters=shap.get("num_clusters"),
                seed=shap.get("seed", 0),
            ),
            ModelConfig(
                model_name=pred.get("model_name"),
                endpoint_name=pred.get("endpoint_name"),
                instance_type=pred.get("instance_type", "ml.m5.xlarge"),
                instance_count=int(pred.get("initial_instance_count", 1)),
                content_type=pred.get("content_type", "text/csv"),
                accept_type=pred.get("accept_type", "text/csv"),
                probability=pred.get("probability"),
                label_headers=pred.get("label_headers"),
            ),
            DataConfig(
                s3_data_input_path=data.get("s3_data_input_path", ""),
                s3_output_path=data.get("s3_output_path", ""),
                label=data.get("label"),
                headers=data.get("headers"),
                features=data.get("features"),
                dataset_type=data.get("dataset_type", "text/csv"),
            ),
        )
