"""Monitoring: data quality, model quality and Clarify explainability, in SageMaker's order.

Build a `MonitorPlan` (capture → baseline → schedule), hand it to
``session.apply(plan)`` (a `Monitor`, the same verbs on every backend), then run
executions (``monitor.run_now()`` returns a `MonitorRun`, or when due) and read their
violations. The specs here import nothing heavy; the analysis runs in the backends.
"""

from smkit.monitoring.clarify import (
    DataConfig,
    ExplainabilityAnalysisConfig,
    ModelConfig,
    SHAPConfig,
    default_num_samples,
)
from smkit.monitoring.files import (
    read_analysis,
    read_constraints,
    read_statistics,
    read_violations,
    write_json_file,
)
from smkit.monitoring.handle import Monitor, MonitoringExecution, MonitorRun
from smkit.monitoring.plan import (
    DataQualityConfig,
    ExplainabilityConfig,
    ModelQualityConfig,
    MonitorPlan,
)
from smkit.monitoring.schedule import CronSchedule, daily, every_x_hours, hourly, parse_schedule

__all__ = [
    "CronSchedule",
    "DataConfig",
    "DataQualityConfig",
    "ExplainabilityAnalysisConfig",
    "ExplainabilityConfig",
    "ModelConfig",
    "ModelQualityConfig",
    "Monitor",
    "MonitorPlan",
    "MonitorRun",
    "MonitoringExecution",
    "SHAPConfig",
    "daily",
    "default_num_samples",
    "every_x_hours",
    "hourly",
    "parse_schedule",
    "read_analysis",
    "read_constraints",
    "read_statistics",
    "read_violations",
    "write_json_file",
]
