"""The first screen of the ``review-endpoint`` report."""

from __future__ import annotations

from typing import Any

from smkit.usecases._summary import metric, mode_note, num


def summarize(report: Any, config: Any) -> None:
    """Headline: test AUC / F1 from the endpoint's answers and the serving parity."""
    auc = metric(report, "test_auc")
    f1 = metric(report, "test_f1")
    rows = metric(report, "test_rows")
    parity = metric(report, "serving_parity_auc_diff")
    if auc is None:
        report.headline("No test metrics: the endpoint answered no test reviews.", level="bad")
        return
    good = auc >= 0.85
    report.headline(
        f"The review classifier, served by an endpoint, scores AUC {num(auc)} and F1 {num(f1)} "
        f"on {num(rows)} held-out reviews"
        + (" and answers exactly as the trained model." if parity == 0 else "."),
        [
            ("test AUC", auc, mode_note(config)),
            ("test F1", f1, f"threshold {num(metric(report, 'threshold'))}"),
            ("test accuracy", metric(report, "test_accuracy"), ""),
            ("reviews scored", rows, "through the endpoint"),
            ("serving parity (AUC diff)", parity, "endpoint vs in-process"),
        ],
        next_steps=[
            "Point it at your own CSV: --set data=PATH --set text_column=... "
            "--set label_column=...",
            "Keep the endpoint to try it: --set keep_endpoint=true, then "
            "`smkit endpoints invoke NAME`.",
        ],
        level="ok" if good else "warn",
    )
    if not good:
        report.add_caveat(
            f"Test AUC {num(auc)} is below 0.85: check the label mapping and the "
            "preprocessing counts below before trusting the endpoint."
        )
