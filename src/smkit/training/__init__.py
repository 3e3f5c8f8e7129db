"""Training: specs for training and tuning jobs, and the handles of running jobs.

- :class:`TrainingSpec`: script mode (``entry_point`` + ``source_dir`` + ``framework``) or a
  built-in ``algorithm`` (``xgboost``, ``autogluon``); channels, hyperparameters, metrics,
  Debugger rules (:class:`DebuggerRule`) and the profiler (:class:`ProfilerSpec`).
- :class:`TuningSpec` with :class:`ContinuousParameter`, :class:`IntegerParameter`,
  :class:`CategoricalParameter` ranges.
- :class:`TrainingJob` / :class:`TuningJob`: what ``session.train`` / ``session.tune`` return.
- :mod:`smkit.training.hook`: record scalars and tensors from a training script.
- :mod:`smkit.training.images`: Dockerfiles for custom images, checked locally first.

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
