"""Training: specs for training and tuning jobs, and the handles of running jobs.

- `TrainingSpec`: script mode (``entry_point`` + ``source_dir`` + ``framework``) or a
  built-in ``algorithm`` (``xgboost``, ``autogluon``); channels, hyperparameters, metrics,
  Debugger rules (`DebuggerRule`) and the profiler (`ProfilerSpec`).
- `TuningSpec` with `ContinuousParameter`, `IntegerParameter`,
  `CategoricalParameter` ranges.
- `TrainingJob` / `TuningJob`: what ``session.train`` / ``session.tune`` return.
- `smkit.training.hook`: record scalars and tensors from a training script.
- `smkit.training.images`: Dockerfiles for custom images, checked locally first.

This package imports only the standard library and attrs.
"""

from __future__ import annotations

from smkit.training.job import TrainingJob, TuningJob
from smkit.training.spec import (
    Channel,
    DebuggerRule,
    MetricDefinition,
    ProfilerSpec,
    TrainingSpec,
    VpcConfig,
)
from smkit.training.tuning import (
    CategoricalParameter,
    ContinuousParameter,
    IntegerParameter,
    TuningSpec,
)

__all__ = [
    "CategoricalParameter",
    "Channel",
    "ContinuousParameter",
    "DebuggerRule",
    "IntegerParameter",
    "MetricDefinition",
    "ProfilerSpec",
    "TrainingJob",
    "TrainingSpec",
    "TuningJob",
    "TuningSpec",
    "VpcConfig",
]
