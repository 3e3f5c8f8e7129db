"""The retraining policy of ``wine-monitoring``: when does a monitoring run start a new job.

A `RetrainingPolicy` looks at the executions of one monitoring run (one per monitor
type) and decides: retrain when an execution of a *watched* monitor type ended
``CompletedWithViolations`` with at least one violation of a *watched* check. By default it
watches data-quality drift (``baseline_drift_check``) and every model-quality violation
(a metric below or above its baseline threshold); explainability drift is reported but
does not trigger retraining on its own.
"""

from __future__ import annotations

from typing import Any

import attrs

__all__ = ["RetrainingDecision", "RetrainingPolicy"]

_MQ_CHECKS = (
    "LessThanThreshold",
    "LessThanOrEqualToThreshold",
    "GreaterThanThreshold",
    "GreaterThanOrEqualToThreshold",
)


@attrs.frozen
class RetrainingDecision:
    """What the policy decided for one monitoring run.

    Attributes:
        retrain: Whether a new training job should start.
        reasons: One line per triggering violation (``DataQuality: baseline_drift_check on
            _c1``...).
    """

    retrain: bool
    reasons: tuple[str, ...] = ()


@attrs.frozen
class RetrainingPolicy:
    """Retrain when a watched monitor reports a watched violation.

    Attributes:
        monitor_types: Monitor types whose executions can trigger retraining.
        data_quality_checks: Data-quality ``constraint_check_type`` values that trigger.
        model_quality_checks: Model-quality ``constraint_check_type`` values that trigger.
        min_drifted_features: Data-quality drift triggers only when at least this many
            features drifted.
    """

    monitor_types: tuple[str, ...] = ("DataQuality", "ModelQuality")
    data_quality_checks: tuple[str, ...] = ("baseline_drift_check",)
    model_quality_checks: tuple[str, ...] = _MQ_CHECKS
    min_drifted_features: int = 1

    def decide(self, executions: Any) -> RetrainingDecision:
        """Decide on the executions of one run (objects with ``monitor_type``, ``status``
        and ``violations``, e.g. ``MonitorRun.executions``)."""
        reasons: list[str] = []
        for execution in executions:
            kind = execution.monitor_type
            if kind not in self.monitor_types or execution.status != "CompletedWithViolations":
                continue
            found = list(execution.violations.get("violations", []))
            if kind == "DataQuality":
                hits = [v for v in found if v["constraint_check_type"] in self.data_quality_checks]
                if len(hits) >= self.min_drifted_features:
                    reasons += [
                        f"DataQuality: {v['constraint_check_type']} on {v['feature_name']}"
                        for v in hits
                    ]
            elif kind == "ModelQuality":
                reasons += [
                    f"ModelQuality: {v.get('metric_name', '?')} ({v['constraint_check_type']})"
                    for v in found
                    if v["constraint_check_type"] in self.model_quality_checks
                ]
            else:
                reasons += [f"{kind}: {v['constraint_check_type']}" for v in found]
        return RetrainingDecision(bool(reasons), tuple(reasons))
