"""The first screen of the ``script-mode-hpo`` report."""

from __future__ import annotations

from typing import Any

from smkit.report import plural
from smkit.usecases._summary import metric, mode_note, num


def summarize(report: Any, config: Any) -> None:
    """Headline: best trial, test R², trials completed and Debugger rule issues."""
    best = metric(report, "best_objective")
    trials = metric(report, "trials") or 0
    done = metric(report, "trials_completed") or 0
    issues = metric(report, "rule_issues") or 0
    r2 = metric(report, "test_r2")
    hps = metric(report, "best_hyperparameters") or {}
    if best is None:
        report.headline(
            f"The tuning job ended {metric(report, 'tuning_status') or 'without a best trial'}: "
            "no trial reported the objective.",
            [("trials completed", done, f"of {trials}")],
            level="bad",
        )
        return
    hp_text = ", ".join(f"{k}={num(v)}" for k, v in sorted(hps.items()))
    verdict = (
        f"Best of {plural(int(trials), 'trial')}: validation MSE {num(best)}"
        + (f" ({hp_text})" if hp_text else "")
        + (
            f"; retrained with the profiler it explains R² {num(r2)} on the test split."
            if r2 is not None
            else "."
        )
    )
    issue_text = plural(int(issues), "rule issue") if isinstance(issues, int) else str(issues)
    report.headline(
        verdict,
        [
            ("best validation MSE", best, mode_note(config)),
            ("test R²", r2, "profiled best run"),
            ("trials completed", done, f"of {trials}"),
            (
                "Debugger rule issues",
                issues,
                f"in {num(metric(report, 'rule_evaluations'))} rule evaluations",
            ),
            ("image check", metric(report, "image_check"), "local contract run"),
        ],
        next_steps=[
            "Build and push the custom image from the Dockerfile below (see Artifacts).",
            "Widen the search: --set max_jobs=20 --set max_parallel_jobs=2.",
        ],
        level="warn" if issues else None,
    )
    if issues:
        report.add_caveat(
            f"The Debugger rules found {issue_text}: see the 'Debugger rules' table before "
            "trusting the best trial."
        )
    if getattr(config, "quick", False):
        report.add_caveat(
            "Quick run: few trials over few epochs on a small synthetic table; the best "
            "hyperparameters are a demonstration, not a tuned result."
        )
