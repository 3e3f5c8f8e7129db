"""The first screen of the ``image-workflow`` report."""

from __future__ import annotations

from typing import Any

from smkit.report import plural
from smkit.usecases._summary import metric, mode_note, num


def summarize(report: Any, config: Any) -> None:
    """Headline: executions passed / stopped by the confidence check, accuracy."""
    n = metric(report, "executions")
    if not n:
        report.headline("No workflow executions ran.", level="bad")
        return
    ok = metric(report, "succeeded") or 0
    failed = metric(report, "failed") or 0
    low = metric(report, "below_threshold") or 0
    threshold = getattr(config, "effective_threshold", None)
    acc = metric(report, "workflow_accuracy")
    verdict = (
        f"{ok} of {plural(int(n), 'execution')} passed the confidence check"
        + (f" (threshold {num(threshold)})" if threshold is not None else "")
        + (f"; {plural(int(low), 'image')} stopped for review" if low else "")
        + (
            f"; the endpoint labelled {num(acc * 100)}% of the images right."
            if acc is not None
            else "."
        )
    )
    other = int(failed) - int(low)
    report.headline(
        verdict,
        [
            ("executions succeeded", ok, f"of {n}"),
            ("stopped by the check", low, "low confidence"),
            ("workflow accuracy", acc, "all labelled images"),
            ("accuracy of passed", metric(report, "accuracy_of_passed"), "what gets through"),
            ("model test accuracy", metric(report, "test_accuracy"), mode_note(config)),
        ],
        next_steps=[
            "Look at the stopped executions' images (Executions table): they are the ones a "
            "person should label.",
            "Raise the bar: --set threshold=0.9 (the full run's default).",
        ],
        level="bad" if other > 0 else None,
    )
    if other > 0:
        report.add_caveat(
            f"{plural(other, 'execution')} failed for another reason than low confidence: "
            "see the error column of the Executions table."
        )
    if getattr(config, "quick", False):
        report.add_caveat(
            f"Quick run: a small network, few epochs and a lower confidence threshold "
            f"({num(threshold)}); the pass rate is not what the full run would show."
        )
