"""AutoGluon tabular training, as a standalone SageMaker script-mode entry point.

Hyperparameters (``--name value``): ``label`` (required), ``problem_type`` (``binary``,
``multiclass``, ``regression``, ``quantile``; inferred when absent), ``eval_metric``,
``presets`` (default ``medium_quality``), ``time_limit`` (seconds), ``hyperparameters``
(AutoGluon's model hyperparameters as JSON, e.g. ``{"GBM": {}}``), ``seed``.

Channels: ``train`` (required) and ``validation`` (optional; used as ``tuning_data``), CSV or
Parquet files with a header. The fitted predictor is saved in the model directory; the
leaderboard (``leaderboard.csv``) and permutation feature importance
(``feature_importance.csv``) go to the output data directory (``output.tar.gz``). The final
validation score is logged as ``smkit-autogluon validation_score=<value>`` (higher is better,
AutoGluon's convention), which the built-in metric ``validation:score`` reads.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path


def read_dir(path: str):
    import pandas as pd

    files = sorted(p for p in Path(path).rglob("*") if p.is_file() and not p.name.startswith("."))
    frames = [
        pd.read_parquet(f) if f.suffix in (".parquet", ".pq") else pd.read_csv(f) for f in files
    ]
    if not frames:
        raise SystemExit(f"no data files in {path}")
    return pd.concat(frames, ignore_index=True)


def fail(message: str) -> None:
    out = Path(os.environ.get("SM_OUTPUT_DIR", "/opt/ml/output"))
    out.mkdir(parents=True, exist_ok=True)
    (out / "failure").write_text(message)
    print(message, file=sys.stderr)
    sys.exit(1)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--label", required=True)
    parser.add_argument("--problem_type", default=None)
    parser.add_argument("--eval_metric", default=None)
    parser.add_argument("--presets", default="medium_quality")
    parser.add_argument("--time_limit", type=float, default=None)
    parser.add_argument("--hyperparameters", default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--model-dir", default=os.environ.get("SM_MODEL_DIR", "/opt/ml/model"))
    parser.add_argument(
        "--output-data-dir", default=os.environ.get("SM_OUTPUT_DATA_DIR", "/opt/ml/output/data")
    )
    parser.add_argument("--train", default=os.environ.get("SM_CHANNEL_TRAIN"))
    parser.add_argument("--validation", default=os.environ.get("SM_CHANNEL_VALIDATION"))
    args, _ = parser.parse_known_args()

    from autogluon.tabular import TabularPredictor

    if not args.train:
        fail("ClientError: the train channel is required")
    train = read_dir(args.train)
    if args.label not in train.columns:
        fail(
            f"ClientError: label {args.label!r} is not a column of the training data; "
            f"columns: {', '.join(map(str, train.columns))}"
        )
    validation = read_dir(args.validation) if args.validation else None
    fit_args: dict = {"presets": args.presets, "verbosity": 2}
    if args.time_limit:
        fit_args["time_limit"] = args.time_limit
    if args.hyperparameters:
        fit_args["hyperparameters"] = json.loads(args.hyperparameters)
    if validation is not None:
        fit_args["tuning_data"] = validation
    predictor = TabularPredictor(
        label=args.label,
        problem_type=args.problem_type,
        eval_metric=args.eval_metric,
        path=args.model_dir,
    ).fit(train, **fit_args)
    out = Path(args.output_data_dir)
    out.mkdir(parents=True, exist_ok=True)
    board = predictor.leaderboard(validation, silent=True)
    board.to_csv(out / "leaderboard.csv", index=False)
    data = validation if validation is not None else train
    importance = predictor.feature_importance(data, subsample_size=min(len(data), 500))
    importance.to_csv(out / "feature_importance.csv")
    score_col = "score_test" if validation is not None else "score_val"
    best = board.iloc[0]
    score = float(best[score_col])
    print(f"smkit-autogluon best_model={best['model']}", flush=True)
    print(f"smkit-autogluon validation_score={score}", flush=True)


if __name__ == "__main__":
    main()
