"""The first screen of the ``bike-demand`` report."""

from __future__ import annotations

from typing import Any

from smkit.usecases._summary import metric, mode_note, num


def summarize(report: Any, config: Any) -> None:
    """Headline: validation RMSLE, the submission and (if served) the endpoint parity."""
    rmsle = metric(report, "validation_rmsle")
    sub = metric(report, "submission_rows")
    trainer = metric(report, "trainer") or report.details.get("trainer")
    if rmsle is None:
        report.headline("No validation score: the training job reported no RMSLE.", level="bad")
        return
    numbers: list[tuple[str, Any, str]] = [
        ("validation RMSLE", rmsle, f"{mode_note(config)}, lower is better"),
        ("validation RMSE", metric(report, "validation_rmse"), "rentals per hour"),
        ("submission rows", sub, "submission.csv for test.csv"),
        ("models in leaderboard", metric(report, "leaderboard_models"), str(trainer or "")),
    ]
    if metric(report, "endpoint_parity_max_abs_diff") is not None:
        numbers.append(
            ("endpoint parity", metric(report, "endpoint_parity_max_abs_diff"), "max abs diff")
        )
    report.headline(
        f"Validation RMSLE {num(rmsle)} on the held-out last days of each month"
        + (f"; submission.csv has {num(sub)} predictions." if sub else "."),
        numbers,
        next_steps=[
            "Submit submission.csv (see Artifacts for its path) to the Kaggle competition.",
            "Run without --quick for the AutoGluon ensemble; --set time_limit=600 trains longer.",
            "Serve the model: --set serve=true.",
        ],
    )
    if getattr(config, "quick", False):
        months = getattr(config, "quick_months", None)
        report.add_caveat(
            f"Quick run: trained on the last {months or 'few'} months only, with small settings: "
            "a smoke test of the flow, not the model's best score."
        )
