"""The first screen of the ``pneumonia-calibration`` report."""

from __future__ import annotations

from typing import Any

from smkit.usecases._summary import metric, mode_note, num

#: Below this test AUC a run is weak enough to say so on the first screen.
WEAK_AUC = 0.8


def summarize(report: Any, config: Any) -> None:
    """Headline: AUC, calibration error before/after and the operating point."""
    auc = metric(report, "test_auc")
    before = metric(report, "test_ece_before")
    after = metric(report, "test_ece_after")
    method = metric(report, "calibration_method")
    if auc is None:
        report.headline("No test metrics: the endpoint answered no test images.", level="bad")
        return
    sens = metric(report, "test_sensitivity_at_threshold")
    spec = metric(report, "test_specificity_at_threshold")
    verdict = (
        f"On {num(metric(report, 'test_images'))} test images the deployed model scores AUC "
        f"{num(auc)}; {method or 'the'} calibration takes the expected calibration error "
        f"from {num(before)} to {num(after)}."
    )
    numbers: list[tuple[str, Any, str]] = [
        ("test AUC", auc, mode_note(config)),
        ("ECE before", before, "raw probabilities"),
        ("ECE after", after, f"{method} calibrated" if method else "calibrated"),
    ]
    if sens is not None:
        numbers.append(("sensitivity", sens, f"at threshold {num(metric(report, 'threshold'))}"))
    if spec is not None:
        numbers.append(("specificity", spec, "at the same threshold"))
    steps = ["Use your own Kaggle-layout images: --set data=PATH (train/val/test folders)."]
    weak = auc < WEAK_AUC
    if getattr(config, "quick", False):
        steps.insert(0, "Run without --quick for the full-size model before reading the AUC.")
    report.headline(verdict, numbers, next_steps=steps, level="warn" if weak else None)
    if weak:
        size = getattr(config, "size", None)
        detail = ""
        if callable(size):
            try:
                detail = (
                    f" (a width-{size('width')} network, {size('epochs')} epochs, "
                    f"{size('n_train')} training images)"
                )
            except (KeyError, TypeError, ValueError):
                detail = ""
        if getattr(config, "quick", False):
            report.add_caveat(
                f"Quick run: the model is deliberately small{detail}, so AUC {num(auc)} shows "
                "the flow works, not how well the model detects pneumonia; the calibration "
                "numbers are valid for this weak model only."
            )
        else:
            report.add_caveat(
                f"AUC {num(auc)} is below {WEAK_AUC}: the model barely separates the classes; "
                "check the data before using the threshold."
            )
