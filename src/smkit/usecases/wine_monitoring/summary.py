"""The first screen of the ``wine-monitoring`` report."""

from __future__ import annotations

from typing import Any

from smkit.report import plural
from smkit.usecases._summary import metric, num


def summarize(report: Any, config: Any) -> None:
    """Headline: was the drift caught (and only the drift), and did retraining help."""
    normal_v = metric(report, "normal_violations")
    drifted_v = metric(report, "drifted_violations")
    if normal_v is None or drifted_v is None:
        report.headline("The monitoring windows did not run: no verdict.", level="bad")
        return
    drifted = list(metric(report, "drifted_features") or [])
    false_alarms = list(metric(report, "normal_drifted_features") or [])
    retrained = bool(metric(report, "retraining_triggered"))
    before = metric(report, "accuracy_before_validation_drifted")
    after = metric(report, "accuracy_after_validation_drifted")
    caught = drifted_v > 0
    parts = []
    if caught:
        parts.append(
            f"Drift caught: {plural(int(drifted_v), 'violation')} in the drifted window"
            + (f" ({', '.join(drifted)})" if drifted else "")
        )
    else:
        parts.append("Drift missed: the drifted window raised no violation")
    parts.append(
        "none in normal traffic"
        if normal_v == 0
        else f"but {plural(int(normal_v), 'false alarm')} in normal traffic"
    )
    verdict = ", ".join(parts) + "."
    if retrained and before is not None and after is not None:
        verdict += (
            f" Retraining lifted accuracy on drifted data from {num(before)} to {num(after)}."
        )
    elif retrained:
        verdict += " Retraining was triggered."
    report.headline(
        verdict,
        [
            ("drifted-window violations", drifted_v, ", ".join(drifted) or "none"),
            ("normal-window violations", normal_v, "false alarms"),
            ("accuracy, drifted traffic", metric(report, "accuracy_drifted"), "model quality"),
            ("accuracy after retraining", after, "on drifted validation data"),
            ("SHAP nDCG, drifted", metric(report, "ndcg_drifted"), "attribution stability"),
        ],
        next_steps=[
            "Read the drift table below: features in red crossed the KS threshold.",
            "Try another shift: --set drift_features=alcohol,proline --set drift_sigmas=1.5.",
            "Keep the endpoint and schedules to explore them: --set keep_endpoint=true.",
        ],
        level="ok" if caught and normal_v == 0 else "warn",
    )
    if normal_v:
        report.add_caveat(
            f"{plural(int(normal_v), 'violation')} in normal traffic"
            + (f" ({', '.join(false_alarms)})" if false_alarms else "")
            + ": the thresholds are too tight for this window size."
        )
    if not caught:
        report.add_caveat("The injected drift went unnoticed: the threshold is too loose.")
