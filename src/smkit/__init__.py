"""smkit: the SageMaker MLOps lifecycle, simple, composable and testable.

Build immutable specs, hand them to a `Session`; the ``local`` backend (default)
runs everything on this machine, the ``aws`` backend sends the same work to AWS.

Every public name is importable from here. Names are loaded on first use, so
``import smkit`` stays fast and imports none of boto3, pandas, torch or sagemaker.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# public name -> module that defines it
_EXPORTS: dict[str, str] = {
    "Session": "smkit.session",
    "StagingSpec": "smkit.staging",
    "StagedData": "smkit.staging",
    "RandomSplit": "smkit.staging",
    "StratifiedSplit": "smkit.staging",
    "TimeSplit": "smkit.staging",
    "Report": "smkit.report",
    "SmkitError": "smkit.errors",
    "MonitorPlan": "smkit.monitoring",
    "SHAPConfig": "smkit.monitoring",
    "ModelConfig": "smkit.monitoring",
    "DataConfig": "smkit.monitoring",
    "ExplainabilityAnalysisConfig": "smkit.monitoring",
    "CronSchedule": "smkit.monitoring",
    "ModelSpec": "smkit.serving",
    "EndpointSpec": "smkit.serving",
    "DataCaptureSpec": "smkit.serving",
    "Endpoint": "smkit.serving",
    "Predictor": "smkit.serving",
    "Workflow": "smkit.workflow",
    "LambdaSpec": "smkit.workflow",
    "Task": "smkit.workflow",
    "Choice": "smkit.workflow",
    "Pass": "smkit.workflow",
    "Wait": "smkit.workflow",
    "Succeed": "smkit.workflow",
    "Fail": "smkit.workflow",
    "Parallel": "smkit.workflow",
    "Map": "smkit.workflow",
    "Retry": "smkit.workflow",
    "Catch": "smkit.workflow",
    "Var": "smkit.workflow",
    "When": "smkit.workflow",
    "Condition": "smkit.workflow",
    "TrainingSpec": "smkit.training",
    "VpcConfig": "smkit.training",
    "TuningSpec": "smkit.training",
    "ContinuousParameter": "smkit.training",
    "IntegerParameter": "smkit.training",
    "CategoricalParameter": "smkit.training",
    "TrainingJob": "smkit.training",
    "TuningJob": "smkit.training",
    "Channel": "smkit.training",
    "MetricDefinition": "smkit.training",
    "DebuggerRule": "smkit.training",
    "ProfilerSpec": "smkit.training",
}

__all__ = sorted([*_EXPORTS, "__version__", "errors"])

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from smkit import errors
    from smkit.errors import SmkitError
    from smkit.monitoring import (
        CronSchedule,
        DataConfig,
        ExplainabilityAnalysisConfig,
        ModelConfig,
        MonitorPlan,
        SHAPConfig,
    )
    from smkit.report import Report
    from smkit.serving import DataCaptureSpec, Endpoint, EndpointSpec, ModelSpec, Predictor
    from smkit.session import Session
    from smkit.staging import RandomSplit, StagedData, StagingSpec, StratifiedSplit, TimeSplit
    from smkit.training import (
        CategoricalParameter,
        Channel,
        ContinuousParameter,
        DebuggerRule,
        IntegerParameter,
        MetricDefinition,
        ProfilerSpec,
        TrainingJob,
        TrainingSpec,
        TuningJob,
        TuningSpec,
        VpcConfig,
    )
    from smkit.workflow import (
        Catch,
        Choice,
        Condition,
        Fail,
        LambdaSpec,
        Map,
        Parallel,
        Pass,
        Retry,
        Succeed,
        Task,
        Var,
        Wait,
        When,
        Workflow,
    )


_SUBPACKAGES = frozenset(
    {"errors", "monitoring", "serving", "staging", "training", "usecases", "workflow"}
)


def __getattr__(name: str) -> Any:
    if name in _SUBPACKAGES:  # e.g. smkit.workflow.confidence_filter without an explicit import
        return importlib.import_module(f"smkit.{name}")
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'smkit' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
