"""Hyperparameter tuning specs: ranges, objective, strategy.

The ranges and their scalings follow ``CreateHyperParameterTuningJob``:

- `ContinuousParameter` and `IntegerParameter` with ``scaling`` ``Auto``,
  ``Linear``, ``Logarithmic`` (values > 0) or ``ReverseLogarithmic`` (continuous only,
  0 ≤ min < max < 1: search is dense near 1);
- `CategoricalParameter` with a list of values.

Strategies: ``Random``, ``Grid`` (categorical ranges only, as on SageMaker) and ``Bayesian``
(locally optuna's TPE sampler). The objective is the *last* value the objective metric's
regex captured in the job's logs, as SageMaker defines it.
"""

from __future__ import annotations

import itertools
import math
import re
from typing import Any

import attrs

from smkit.errors import ConfigError, ValidationError
from smkit.training.spec import MetricDefinition, TrainingSpec

__all__ = [
    "CategoricalParameter",
    "ContinuousParameter",
    "IntegerParameter",
    "ParameterRange",
    "TuningSpec",
    "tuning_config",
]

_SCALINGS = ("Auto", "Linear", "Logarithmic", "ReverseLogarithmic")


def _check_scaling(kind: str, value: str, lo: float, hi: float) -> None:
    if value not in _SCALINGS:
        raise ConfigError(f"{kind} scaling {value!r}: use one of {', '.join(_SCALINGS)}")
    if value == "Logarithmic" and lo <= 0:
        raise ConfigError(f"{kind}: Logarithmic scaling needs min_value > 0, got {lo!r}")
    if value == "ReverseLogarithmic" and not (0 <= lo < hi < 1):
        raise ConfigError(
            f"{kind}: ReverseLogarithmic scaling needs 0 <= min_value < max_value < 1, "
            f"got [{lo!r}, {hi!r}]"
        )


@attrs.frozen
class ContinuousParameter:
    """A real-valued range ``[min_value, max_value]``."""

    min_value: float
    max_value: float
    scaling: str = "Auto"

    def __attrs_post_init__(self) -> None:
        lo, hi = self.min_value, self.max_value
        if not all(isinstance(v, int | float) and math.isfinite(v) for v in (lo, hi)):
            raise ConfigError(f"ContinuousParameter bounds must be finite numbers: {lo!r}, {hi!r}")
        if lo >= hi:
            raise ConfigError(f"ContinuousParameter min_value {lo!r} must be < max_value {hi!r}")
        _check_scaling("ContinuousParameter", self.scaling, lo, hi)

    def contains(self, value: Any) -> bool:
        """Whether ``value`` lies in the range."""
        return isinstance(value, int | float) and self.min_value <= value <= self.max_value

    def to_aws(self, name: str) -> dict[str, str]:
        """``ContinuousParameterRanges`` entry."""
        return {
            "Name": name,
            "MinValue": repr(float(self.min_value)),
            "MaxValue": repr(float(self.max_value)),
            "ScalingType": self.scaling,
        }


@attrs.frozen
class IntegerParameter:
    """An integer range ``[min_value, max_value]`` (both included)."""

    min_value: int
    max_value: int
    scaling: str = "Auto"

    def __attrs_post_init__(self) -> None:
        lo, hi = self.min_value, self.max_value
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in (lo, hi)):
            raise ConfigError(f"IntegerParameter bounds must be integers: {lo!r}, {hi!r}")
        if lo > hi:
            raise ConfigError(f"IntegerParameter min_value {lo!r} must be <= max_value {hi!r}")
        if self.scaling == "ReverseLogarithmic":
            raise ConfigError("IntegerParameter does not support ReverseLogarithmic scaling")
        _check_scaling("IntegerParameter", self.scaling, lo, hi)

    def contains(self, value: Any) -> bool:
        """Whether ``value`` is an integer in the range."""
        return (
            isinstance(value, int | float)
            and float(value).is_integer()
            and self.min_value <= value <= self.max_value
        )

    def to_aws(self, name: str) -> dict[str, str]:
        """``IntegerParameterRanges`` entry."""
        return {
            "Name": name,
            "MinValue": str(self.min_value),
            "MaxValue": str(self.max_value),
            "ScalingType": self.scaling,
        }


@attrs.frozen
class CategoricalParameter:
    """One of a list of values (1-30 on SageMaker)."""

    values: tuple[Any, ...] = attrs.field(converter=tuple)

    def __attrs_post_init__(self) -> None:
        if not self.values:
            raise ConfigError("CategoricalParameter needs at least one value")
        if len(self.values) > 30:
            raise ConfigError(f"CategoricalParameter has {len(self.values)} values; max 30")
        if len({str(v) for v in self.values}) != len(self.values):
            raise ConfigError(f"CategoricalParameter values repeat: {self.values!r}")

    def contains(self, value: Any) -> bool:
        """Whether ``value`` is one of the values (compared as text, as on SageMaker)."""
        return str(value) in {str(v) for v in self.values}

    def to_aws(self, name: str) -> dict[str, Any]:
        """``CategoricalParameterRanges`` entry."""
        return {"Name": name, "Values": [str(v) for v in self.values]}


ParameterRange = ContinuousParameter | IntegerParameter | CategoricalParameter

_STRATEGIES = ("Random", "Grid", "Bayesian")


@attrs.frozen
class TuningSpec:
    """A hyperparameter tuning job.

    Args:
        training: The training job to tune; its hyperparameters are the static ones.
        ranges: Hyperparameter name -> range.
        objective_metric: Metric name to optimise; it must be among the training spec's metric
            definitions (or the built-in algorithm's), unless ``objective_regex`` is given.
        objective_type: ``Minimize`` or ``Maximize``.
        objective_regex: Regex for the objective when it is not defined on the training spec.
        strategy: ``Random``, ``Grid`` or ``Bayesian``.
        max_jobs: Total number of training jobs (Grid: defaults to the grid size).
        max_parallel_jobs: Jobs run at once (locally also bounded by the CPU count).
        early_stopping: ``Auto`` stops trials whose running objective is worse than the median
            of earlier trials at the same point; ``Off`` never does.
        seed: Random seed of the search (``RandomSeed`` on AWS).
        base_job_name: Prefix of the tuning job's name (at most 32 characters on AWS).
    """

    training: TrainingSpec
    ranges: dict[str, ParameterRange] = attrs.field(converter=dict)
    objective_metric: str
    objective_type: str = "Minimize"
    objective_regex: str | None = None
    strategy: str = "Bayesian"
    max_jobs: int | None = None
    max_parallel_jobs: int = 1
    early_stopping: str = "Off"
    seed: int | None = 0
    base_job_name: str | None = None

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.training, TrainingSpec):
            raise ConfigError(f"training must be a TrainingSpec, got {type(self.training)!r}")
        if not self.ranges:
            raise ConfigError("TuningSpec needs at least one hyperparameter range")
        for name, rng in self.ranges.items():
            if not isinstance(rng, ContinuousParameter | IntegerParameter | CategoricalParameter):
                raise ConfigError(
                    f"range {name!r}: expected ContinuousParameter, IntegerParameter or "
                    f"CategoricalParameter, got {rng!r}"
                )
            if name in self.training.hyperparameters:
                raise ConfigError(
                    f"hyperparameter {name!r} is both static (in the TrainingSpec) and tuned",
                    hint="remove it from TrainingSpec.hyperparameters",
                )
        if self.objective_type not in ("Minimize", "Maximize"):
            raise ConfigError(f"objective_type {self.objective_type!r}: Minimize or Maximize")
        if self.strategy not in _STRATEGIES:
            raise ConfigError(f"strategy {self.strategy!r}: use one of {', '.join(_STRATEGIES)}")
        if self.strategy == "Grid":
            bad = [n for n, r in self.ranges.items() if not isinstance(r, CategoricalParameter)]
            if bad:
                raise ConfigError(
                    f"Grid strategy takes categorical ranges only; {', '.join(bad)} are not",
                    hint="use CategoricalParameter, or the Random / Bayesian strategy",
                )
        elif self.max_jobs is None:
            raise ConfigError(f"{self.strategy} strategy needs max_jobs")
        if self.max_jobs is not None and not (1 <= self.max_jobs <= 10000):
            raise ConfigError(f"max_jobs must be 1..10000, got {self.max_jobs!r}")
        if not isinstance(self.max_parallel_jobs, int) or self.max_parallel_jobs < 1:
            raise ConfigError(f"max_parallel_jobs must be >= 1, got {self.max_parallel_jobs!r}")
        if self.early_stopping not in ("Auto", "Off"):
            raise ConfigError(f"early_stopping {self.early_stopping!r}: Auto or Off")
        if self.objective_regex is None and not any(
            m.name == self.objective_metric for m in self.training.all_metric_definitions
        ):
            known = [m.name for m in self.training.all_metric_definitions]
            raise ValidationError(
                f"objective metric {self.objective_metric!r} has no metric definition; "
                f"defined: {', '.join(known) or 'none'}",
                hint="add it to TrainingSpec.metric_definitions or pass objective_regex",
            )
        if self.objective_regex is not None:
            MetricDefinition(self.objective_metric, self.objective_regex)
        if self.base_job_name is not None and not re.match(
            r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,31}$", self.base_job_name
        ):
            raise ConfigError(
                f"base_job_name {self.base_job_name!r}: letters, digits, '-', at most 32 chars"
            )

    # -- derived ---------------------------------------------------------------------------
    @property
    def training_spec(self) -> TrainingSpec:
        """The training spec with the objective metric definition added when needed."""
        if self.objective_regex is None:
            return self.training
        defs = [m for m in self.training.metric_definitions if m.name != self.objective_metric]
        defs.append(MetricDefinition(self.objective_metric, self.objective_regex))
        return self.training.evolve(metric_definitions=defs)

    @property
    def grid(self) -> list[dict[str, Any]]:
        """Every combination of the categorical values (Grid strategy), in order."""
        names = sorted(self.ranges)
        values = [self.ranges[n].values for n in names]  # type: ignore[union-attr]
        return [dict(zip(names, combo)) for combo in itertools.product(*values)]

    @property
    def total_jobs(self) -> int:
        """Number of training jobs the tuning job runs."""
        if self.strategy == "Grid":
            size = len(self.grid)
            return min(size, self.max_jobs) if self.max_jobs else size
        return int(self.max_jobs or 1)

    def check(self, hyperparameters: dict[str, Any]) -> None:
        """Raise `ValidationError` when a value lies outside its range."""
        for name, value in hyperparameters.items():
            rng = self.ranges.get(name)
            if rng is not None and not rng.contains(value):
                raise ValidationError(
                    f"hyperparameter {name}={value!r} is outside its range {rng!r}", name=name
                )

    def better(self, a: float, b: float) -> bool:
        """Whether objective value ``a`` is better than ``b``."""
        return a < b if self.objective_type == "Minimize" else a > b

    def evolve(self, **changes: Any) -> TuningSpec:
        """A copy with ``changes`` applied (validated again)."""
        return attrs.evolve(self, **changes)


def tuning_config(spec: Any) -> dict[str, Any]:
    """``HyperParameterTuningJobConfig`` of a `TuningSpec`."""
    ranges: dict[str, list[dict[str, Any]]] = {
        "IntegerParameterRanges": [],
        "ContinuousParameterRanges": [],
        "CategoricalParameterRanges": [],
    }
    for name, rng in sorted(spec.ranges.items()):
        if isinstance(rng, ContinuousParameter):
            ranges["ContinuousParameterRanges"].append(rng.to_aws(name))
        elif isinstance(rng, CategoricalParameter):
            ranges["CategoricalParameterRanges"].append(rng.to_aws(name))
        else:
            ranges["IntegerParameterRanges"].append(rng.to_aws(name))
    config: dict[str, Any] = {
        "Strategy": spec.strategy,
        "HyperParameterTuningJobObjective": {
            "Type": spec.objective_type,
            "MetricName": spec.objective_metric,
        },
        "ResourceLimits": {
            "MaxNumberOfTrainingJobs": spec.total_jobs,
            "MaxParallelTrainingJobs": spec.max_parallel_jobs,
        },
        "ParameterRanges": ranges,
        "TrainingJobEarlyStoppingType": spec.early_stopping,
    }
    if spec.seed is not None:
        config["RandomSeed"] = int(spec.seed)
    return config
