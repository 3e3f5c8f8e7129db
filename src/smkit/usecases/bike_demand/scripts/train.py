"""Training script for ``bike-demand`` (SageMaker script mode; never imports smkit).

Channels (CSV files with a header row, Kaggle's columns; ``.csv.gz`` is fine):

- ``train`` (required): raw rows with ``datetime``, the weather/calendar columns and the
  target ``count`` (and, when present, ``casual`` and ``registered``).
- ``validation`` (optional): rows held out for the reported ``validation_rmsle``. Without it,
  the last ``--validation_days`` days of every month of ``train`` are held out.

Inside the training rows, the last ``--tuning_days`` days of every month are the tuning split
(early stopping, AutoGluon's model selection and ensemble weights); the final models are then
refit on all training rows with the tuned settings. The validation rows are used for nothing
but the reported score, so ``validation_rmsle`` is measured on data the model never saw.

Targets: ``--target_mode split``: one model learns ``log1p(casual)`` and one
``log1p(registered)``; the prediction is the sum of both back-transformed. ``count``: one
model learns ``log1p(count)``. ``blend``: both, averaged on the log scale. ``auto`` (default)
picks ``split`` for AutoGluon (two predictors share the time limit: each gets more of it) and
``blend`` for LightGBM, or ``count`` when ``casual``/``registered`` are not in the data. The
two components are targets only, never features.

Trainers: ``--trainer autogluon`` (default; ``--time_limit`` seconds shared equally by the
targets, ``--fit_fraction`` of each share for fitting and the rest for the refit; on a busy
machine the refits can overrun, so the run takes about 1-1.5x ``--time_limit`` plus ~30 s),
``--trainer lightgbm`` (fast, for quick runs and CI) or ``--trainer gbm`` (LightGBM and
XGBoost per target, averaged on the log scale; under a minute on 2 cores).

Validation schemes (``--validation_scheme``, used when no ``validation`` channel is given):
``last_days`` holds out the last ``--validation_days`` days of every month (days 17-19 of
Kaggle's train file); ``kaggle`` fits on days 1-9 and holds out days 10-19 of every month, as
Kaggle's test (days 20-end) follows a train file of days 1-19: ten unseen days, 1-11 days
away from the nearest known one. ``auto`` is ``kaggle`` for ``gbm``, ``last_days`` otherwise.

``--compare true`` (the default with ``gbm``) also reports, in the same run, the model's
RMSLE on the old split (the last ``--validation_days`` days of train + validation rows,
``last_days_rmsle``) and a plain LightGBM on ``log1p(count)`` with the pre-issue-20 features
on the validation rows (``reference_rmsle``). ``--refit_all true`` (the default
with ``gbm``) refits the saved model on train + validation rows after scoring (the
validation score comes from the model fitted without them); the submission uses that model.

Writes the model to ``SM_MODEL_DIR`` (with ``code/`` holding ``inference.py`` and
``features.py``), ``leaderboard.csv``, ``feature_importance.csv``, ``validation_predictions.csv``
and ``metrics.json`` to ``SM_OUTPUT_DATA_DIR``, and prints ``validation_rmsle=...`` (plus
``validation_rmse=...`` and ``train_seconds=...``). On error it writes the reason to
``SM_OUTPUT_DIR/failure`` and exits 1.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import shutil
import sys
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

MODEL_META = "bike_model.json"
FORMAT_VERSION = 1


def _bool(value: str) -> bool:
    text = str(value).strip().strip('"').lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true/false, got {value!r}")


def _optbool(value: str) -> bool | None:
    text = str(value).strip().strip('"').lower()
    return None if text in ("", "none", "null", "auto") else _bool(text)


def _str(value: str) -> str:
    # Script mode JSON-encodes string hyperparameters ("abc" -> "\"abc\""); accept both.
    text = str(value)
    if len(text) >= 2 and text[0] == text[-1] == '"':
        return json.loads(text)
    return text


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Hyperparameters (``--key value``) and the container's ``SM_*`` locations."""
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    p.add_argument(
        "--trainer", type=_str, default="autogluon", choices=["autogluon", "lightgbm", "gbm"]
    )
    p.add_argument(
        "--validation_scheme",
        type=_str,
        default="auto",
        choices=["auto", "last_days", "kaggle"],
        help="without a validation channel: last days of each month, or days 10-19 (kaggle)",
    )
    p.add_argument("--compare", type=_optbool, default=None, help="old split + reference model")
    p.add_argument(
        "--refit_all", type=_optbool, default=None, help="refit on train + validation rows"
    )
    p.add_argument(
        "--target_mode", type=_str, default="auto", choices=["auto", "split", "count", "blend"]
    )
    p.add_argument("--time_limit", type=float, default=240.0, help="AutoGluon seconds, all targets")
    p.add_argument("--presets", type=_str, default="medium_quality")
    p.add_argument(
        "--ag_models",
        type=_str,
        default="GBM,XGB",
        help="AutoGluon model types (comma list), or 'default' for AutoGluon's own set",
    )
    p.add_argument(
        "--fit_fraction",
        type=float,
        default=0.6,
        help="AutoGluon: share of each target's time for fitting; the rest is left for the refit",
    )
    p.add_argument("--validation_days", type=int, default=3)
    p.add_argument("--tuning_days", type=int, default=2)
    p.add_argument(
        "--learning_rate", type=float, default=None, help="LightGBM (0.05; gbm trainer 0.02)"
    )
    p.add_argument("--num_leaves", type=int, default=None, help="LightGBM (31; gbm trainer 15)")
    p.add_argument("--xgb_learning_rate", type=float, default=0.03, help="gbm trainer")
    p.add_argument("--xgb_max_depth", type=int, default=5, help="gbm trainer")
    p.add_argument("--max_rounds", type=int, default=3000, help="lightgbm trainer")
    p.add_argument("--importance_repeats", type=int, default=2)
    p.add_argument(
        "--importance_rows",
        type=int,
        default=2000,
        help="validation rows (a fixed random sample) for the permutation importance; 0: all",
    )
    p.add_argument("--refit", type=_bool, default=True, help="refit on train+tuning rows")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--label", type=_str, default="count")
    p.add_argument("--model_dir", default=os.environ.get("SM_MODEL_DIR", "/opt/ml/model"))
    p.add_argument(
        "--output_data_dir", default=os.environ.get("SM_OUTPUT_DATA_DIR", "/opt/ml/output/data")
    )
    p.add_argument("--output_dir", default=os.environ.get("SM_OUTPUT_DIR", "/opt/ml/output"))
    p.add_argument("--train", default=os.environ.get("SM_CHANNEL_TRAIN"))
    p.add_argument("--validation", default=os.environ.get("SM_CHANNEL_VALIDATION"))
    p.add_argument("--num_cpus", type=int, default=int(os.environ.get("SM_NUM_CPUS", "0") or 0))
    args = p.parse_args(argv)
    gbm = args.trainer == "gbm"
    if args.learning_rate is None:
        args.learning_rate = 0.02 if gbm else 0.05
    if args.num_leaves is None:
        args.num_leaves = 15 if gbm else 31
    if args.validation_scheme == "auto":
        args.validation_scheme = "kaggle" if gbm else "last_days"
    if args.compare is None:
        args.compare = gbm
    if args.refit_all is None:
        args.refit_all = gbm
    return args


def _csv_files(channel: str | None, name: str) -> list[str]:
    if not channel:
        raise ValueError(f"no {name!r} channel: set SM_CHANNEL_{name.upper()} or --{name}")
    if os.path.isfile(channel):
        return [channel]
    files = sorted(
        f
        for pattern in ("*.csv", "*.csv.gz")
        for f in glob.glob(os.path.join(channel, "**", pattern), recursive=True)
    )
    if not files:
        raise ValueError(f"channel {name!r} at {channel} holds no .csv or .csv.gz file")
    return files


def load_data(args: argparse.Namespace):
    """Return ``(train, validation)`` raw frames."""
    from features import kaggle_like_split, read_frames, time_split

    train = read_frames(_csv_files(args.train, "train"))
    if args.validation:
        validation = read_frames(_csv_files(args.validation, "validation"))
    elif args.validation_scheme == "kaggle":
        train, validation = kaggle_like_split(train)
    else:
        train, validation = time_split(train, validation_days=args.validation_days)
    for name, frame in (("train", train), ("validation", validation)):
        if args.label not in frame.columns:
            raise ValueError(
                f"channel {name!r} has no label column {args.label!r}; "
                f"columns: {list(frame.columns)}"
            )
        if len(frame) == 0:
            raise ValueError(f"channel {name!r} has no rows")
    return train, validation


def resolve_targets(args: argparse.Namespace, train) -> list[str]:
    """The columns to learn: casual + registered (split), the label (count), or all three."""
    has_parts = {"casual", "registered"} <= set(train.columns)
    mode = args.target_mode
    if mode == "auto":
        per_trainer = "blend" if args.trainer == "lightgbm" else "split"
        mode = per_trainer if has_parts else "count"
    if mode in ("split", "blend"):
        if not has_parts:
            raise ValueError(
                f"--target_mode {mode} needs 'casual' and 'registered' columns in the train "
                "channel; stage them (as targets) or use --target_mode count"
            )
        return ["casual", "registered"] + ([args.label] if mode == "blend" else [])
    return [args.label]


# ----------------------------------------------------------------------------- LightGBM
def _lgb_params(args: argparse.Namespace) -> dict:
    return {
        "objective": "regression",
        "learning_rate": args.learning_rate,
        "num_leaves": args.num_leaves,
        "min_data_in_leaf": 20,
        "bagging_fraction": 0.8,
        "bagging_freq": 1,
        "feature_fraction": 0.8,
        "lambda_l2": 1.0,
        "verbosity": -1,
        "seed": args.seed,
        "num_threads": args.num_cpus or 0,
    }


def fit_lightgbm(args, fit_x, fit_raw, tune_x, tune_raw, targets, model_dir: Path):
    """Fit one LightGBM booster per target; return ``(models, leaderboard rows)``."""
    import lightgbm as lgb
    import numpy as np
    import pandas as pd

    params = _lgb_params(args)
    models, rows = {}, []
    for target in targets:
        y_fit = np.log1p(fit_raw[target].to_numpy(dtype=float))
        y_tune = np.log1p(tune_raw[target].to_numpy(dtype=float))
        start = time.time()
        fit_set = lgb.Dataset(fit_x, y_fit, free_raw_data=False)
        tune_set = lgb.Dataset(tune_x, y_tune, reference=fit_set)
        booster = lgb.train(
            params,
            fit_set,
            num_boost_round=args.max_rounds,
            valid_sets=[tune_set],
            callbacks=[lgb.early_stopping(200, verbose=False)],
        )
        best = int(booster.best_iteration or args.max_rounds)
        tune_pred = booster.predict(tune_x, num_iteration=best)
        tune_score = float(np.sqrt(np.mean((tune_pred - y_tune) ** 2)))
        name = "LightGBM"
        if args.refit:
            all_x = pd.concat([fit_x, tune_x], ignore_index=True)
            all_y = np.concatenate([y_fit, y_tune])
            rounds = max(1, round(best * len(all_x) / max(1, len(fit_x))))
            booster = lgb.train(params, lgb.Dataset(all_x, all_y), num_boost_round=rounds)
            name = "LightGBM_FULL"
        else:
            booster = booster if best == booster.current_iteration() else _truncate(booster, best)
        fit_seconds = time.time() - start
        booster.save_model(str(model_dir / f"lgb_{target}.txt"))
        models[target] = booster
        rows.append(
            {
                "target": target,
                "model": name,
                "score_val": -tune_score,
                "eval_metric": "root_mean_squared_error(log1p)",
                "fit_time": round(fit_seconds, 3),
                "num_boost_round": best,
                "can_infer": True,
            }
        )
        print(f"[lightgbm] {target}: tuning rmse(log1p)={tune_score:.4f} rounds={best}", flush=True)
    return models, rows


def _xgb_params(args: argparse.Namespace) -> dict:
    return {
        "learning_rate": args.xgb_learning_rate,
        "max_depth": args.xgb_max_depth,
        "subsample": 0.8,
        "colsample_bytree": 0.8,
        "min_child_weight": 3,
        "reg_lambda": 1.0,
        "tree_method": "hist",
        "random_state": args.seed,
        "n_jobs": args.num_cpus or None,
    }


def fit_gbm(args, fit_x, fit_raw, tune_x, tune_raw, targets, model_dir: Path):
    """LightGBM and XGBoost per target on ``log1p``, averaged; return ``(models, rows)``.

    Both stop early on the tuning rows; with ``--refit`` each is then refit on fit + tuning
    rows with its round count scaled to the larger set.
    """
    import lightgbm as lgb
    import numpy as np
    import pandas as pd
    import xgboost as xgb
    from features import AveragedRegressor

    lgb_params = _lgb_params(args)
    models, rows = {}, []
    all_x = pd.concat([fit_x, tune_x], ignore_index=True)
    scale = len(all_x) / max(1, len(fit_x))
    for target in targets:
        y_fit = np.log1p(fit_raw[target].to_numpy(dtype=float))
        y_tune = np.log1p(tune_raw[target].to_numpy(dtype=float))
        all_y = np.concatenate([y_fit, y_tune])
        members, tune_preds = [], []
        for name in ("LightGBM", "XGBoost"):
            start = time.time()
            if name == "LightGBM":
                fit_set = lgb.Dataset(fit_x, y_fit, free_raw_data=False)
                booster = lgb.train(
                    lgb_params,
                    fit_set,
                    num_boost_round=args.max_rounds,
                    valid_sets=[lgb.Dataset(tune_x, y_tune, reference=fit_set)],
                    callbacks=[lgb.early_stopping(200, verbose=False)],
                )
                best = int(booster.best_iteration or args.max_rounds)
                tune_pred = booster.predict(tune_x, num_iteration=best)
                if args.refit:
                    booster = lgb.train(
                        lgb_params, lgb.Dataset(all_x, all_y), num_boost_round=round(best * scale)
                    )
                else:
                    booster = _truncate(booster, best)
                booster.save_model(str(model_dir / f"lgb_{target}.txt"))
                model = booster
            else:
                params = _xgb_params(args)
                model = xgb.XGBRegressor(
                    n_estimators=args.max_rounds, early_stopping_rounds=200, **params
                )
                model.fit(fit_x, y_fit, eval_set=[(tune_x, y_tune)], verbose=False)
                best = int(model.best_iteration) + 1
                tune_pred = model.predict(tune_x, iteration_range=(0, best))
                final_rounds = round(best * scale) if args.refit else best
                model = xgb.XGBRegressor(n_estimators=max(1, final_rounds), **params)
                model.fit(all_x if args.refit else fit_x, all_y if args.refit else y_fit)
                model.save_model(str(model_dir / f"xgb_{target}.json"))
            tune_score = float(np.sqrt(np.mean((tune_pred - y_tune) ** 2)))
            tune_preds.append(tune_pred)
            members.append(model)
            rows.append(
                {
                    "target": target,
                    "model": name + ("_FULL" if args.refit else ""),
                    "score_val": -tune_score,
                    "eval_metric": "root_mean_squared_error(log1p)",
                    "fit_time": round(time.time() - start, 3),
                    "num_boost_round": best,
                    "can_infer": True,
                }
            )
            print(f"[gbm] {target} {name}: tuning rmse(log1p)={tune_score:.4f} rounds={best}")
        blend_score = float(np.sqrt(np.mean((np.mean(tune_preds, axis=0) - y_tune) ** 2)))
        rows.append(
            {
                "target": target,
                "model": "WeightedEnsemble(LightGBM,XGBoost)",
                "score_val": -blend_score,
                "eval_metric": "root_mean_squared_error(log1p)",
                "fit_time": None,
                "num_boost_round": None,
                "can_infer": True,
            }
        )
        models[target] = AveragedRegressor(members)
    return models, rows


def _truncate(booster, rounds: int):
    import lightgbm as lgb

    return lgb.Booster(model_str=booster.model_to_string(num_iteration=rounds))


# ----------------------------------------------------------------------------- AutoGluon
def _ag_hyperparameters(spec: str):
    if spec.strip().lower() in ("", "default", "auto"):
        return "default"
    from autogluon.tabular.configs.hyperparameter_configs import get_hyperparameter_config

    base = get_hyperparameter_config("default")
    wanted = [s.strip() for s in spec.split(",") if s.strip()]
    unknown = [w for w in wanted if w not in base]
    if unknown:
        raise ValueError(f"unknown AutoGluon model type(s) {unknown}; known: {sorted(base)}")
    return {w: base[w] for w in wanted}


def fit_autogluon(args, fit_x, fit_raw, tune_x, tune_raw, targets, model_dir: Path):
    """Fit one AutoGluon ``TabularPredictor`` per target; return ``(models, leaderboard rows)``."""
    import numpy as np
    from autogluon.tabular import TabularPredictor

    hyperparameters = _ag_hyperparameters(args.ag_models)
    models, rows = {}, []
    deadline = time.time() + args.time_limit
    for i, target in enumerate(targets):
        label = f"log1p_{target}"
        train_df = fit_x.assign(**{label: np.log1p(fit_raw[target].to_numpy(dtype=float))})
        tune_df = tune_x.assign(**{label: np.log1p(tune_raw[target].to_numpy(dtype=float))})
        # Every target gets the same share, so a slow first refit (on a busy machine) cannot
        # starve the later targets; a target may use what earlier ones left unused. The
        # refit on fit + tuning rows runs outside AutoGluon's own limit: keep room for it.
        share = max(args.time_limit / len(targets), (deadline - time.time()) / (len(targets) - i))
        budget = max(10.0, share * (args.fit_fraction if args.refit else 1.0))
        path = model_dir / f"ag_{target}"
        start = time.time()
        predictor = TabularPredictor(
            label=label,
            problem_type="regression",
            eval_metric="root_mean_squared_error",
            path=str(path),
            verbosity=1,
        )
        fit_kwargs = {}
        if args.num_cpus:
            fit_kwargs["num_cpus"] = args.num_cpus
        predictor.fit(
            train_data=train_df,
            tuning_data=tune_df,
            time_limit=budget,
            presets=args.presets,
            hyperparameters=hyperparameters,
            use_bag_holdout=False,
            **fit_kwargs,
        )
        board = predictor.leaderboard(silent=True)
        if args.refit:
            # Retrain the best model (and its ensemble inputs) on fit + tuning rows with the
            # tuned settings; the refit model becomes the predictor's best.
            predictor.refit_full(model="best", set_best_to_refit_full=True)
            board = predictor.leaderboard(silent=True)
        predictor.delete_models(models_to_keep="best", dry_run=False)
        predictor.save_space()
        fit_seconds = time.time() - start
        print(
            f"[autogluon] {target}: best={predictor.model_best} in {fit_seconds:.1f}s "
            f"(share {share:.0f}s, fit budget {budget:.0f}s)",
            flush=True,
        )
        models[target] = predictor
        for rec in board.to_dict(orient="records"):
            rows.append({"target": target, **{k: _plain(v) for k, v in rec.items()}})
    return models, rows


def _plain(value):
    if hasattr(value, "item"):
        return value.item()
    return value


# ----------------------------------------------------------------------------- common
def predict_counts(models: dict, trainer: str, x):
    """Counts (>= 0) from the per-target ``log1p`` models (see ``combine_predictions``)."""
    import numpy as np
    from features import combine_predictions

    return combine_predictions(
        {target: np.asarray(model.predict(x), dtype=float) for target, model in models.items()}
    )


def permutation_importance(models, trainer, x, y, repeats: int, seed: int):
    """RMSLE increase on the validation rows when each feature is shuffled.

    All shuffled copies go through the models in one batch (AutoGluon's per-call overhead
    dominates on small frames).
    """
    import numpy as np
    import pandas as pd
    from features import rmsle

    rng = np.random.default_rng(seed)
    repeats = max(1, repeats)
    copies, keys = [x], [("", -1)]
    for col in x.columns:
        for r in range(repeats):
            shuffled = x.copy()
            shuffled[col] = rng.permutation(shuffled[col].to_numpy())
            copies.append(shuffled)
            keys.append((col, r))
    pred = predict_counts(models, trainer, pd.concat(copies, ignore_index=True))
    n = len(x)
    base = rmsle(y, pred[:n])
    deltas: dict[str, list[float]] = {}
    for i, (col, _) in enumerate(keys[1:], start=1):
        deltas.setdefault(col, []).append(rmsle(y, pred[i * n : (i + 1) * n]) - base)
    rows = [
        {
            "feature": col,
            "importance": float(np.mean(d)),
            "stddev": float(np.std(d)),
            "n_repeats": len(d),
        }
        for col, d in deltas.items()
    ]
    return pd.DataFrame(rows).sort_values("importance", ascending=False, ignore_index=True)


def copy_code(model_dir: Path) -> None:
    """Put the inference code next to the model (``code/``, SageMaker's repack layout)."""
    code = model_dir / "code"
    code.mkdir(parents=True, exist_ok=True)
    for name in ("inference.py", "features.py"):
        src = HERE / name
        if src.is_file():
            shutil.copy2(src, code / name)


def _describe_split(args: argparse.Namespace, validation) -> str:
    if args.validation:
        from features import parse_datetime

        days = sorted(set(parse_datetime(validation["datetime"]).dt.day.tolist()))
        return f"the validation channel (days {days[0]}-{days[-1]} of the month)"
    if args.validation_scheme == "kaggle":
        return "days 10-19 of every month held out, fit on days 1-9 (mimics Kaggle's test)"
    return f"the last {args.validation_days} days of every month held out"


def compare(args, fit, train, validation, targets, val_x, y_val) -> dict:
    """Same-run references: the model on the old split, a plain LightGBM on the new one.

    - ``last_days_rmsle``: the same trainer fitted on train + validation rows minus the last
      ``--validation_days`` days of every month, scored on those days (the old split);
    - ``reference_rmsle``: LightGBM on ``log1p(count)`` with the pre-issue-20
      features (`features.BASE_FEATURES`), scored on this run's validation rows.
    """
    import tempfile

    import lightgbm as lgb
    import numpy as np
    import pandas as pd
    from features import BASE_FEATURES, make_features, rmsle, time_split

    out: dict = {}
    everything = pd.concat([train, validation], ignore_index=True)
    old_train, old_val = time_split(everything, validation_days=args.validation_days)
    fit_raw, tune_raw = time_split(old_train, validation_days=args.tuning_days)
    with tempfile.TemporaryDirectory() as tmp:
        models, _ = fit(
            args,
            make_features(fit_raw),
            fit_raw,
            make_features(tune_raw),
            tune_raw,
            targets,
            Path(tmp),
        )
        pred = predict_counts(models, args.trainer, make_features(old_val))
    out["last_days_rmsle"] = rmsle(old_val[args.label].to_numpy(dtype=float), pred)
    out["last_days_split"] = f"the last {args.validation_days} days of every month held out"
    out["rows_last_days_validation"] = len(old_val)

    fit_raw, tune_raw = time_split(train, validation_days=args.tuning_days)
    base = list(BASE_FEATURES)
    params = {**_lgb_params(args), "learning_rate": 0.05, "num_leaves": 31}
    fit_set = lgb.Dataset(make_features(fit_raw)[base], np.log1p(fit_raw[args.label]))
    booster = lgb.train(
        params,
        fit_set,
        num_boost_round=args.max_rounds,
        valid_sets=[
            lgb.Dataset(
                make_features(tune_raw)[base], np.log1p(tune_raw[args.label]), reference=fit_set
            )
        ],
        callbacks=[lgb.early_stopping(200, verbose=False)],
    )
    ref = np.expm1(booster.predict(val_x[base], num_iteration=booster.best_iteration))
    out["reference_rmsle"] = rmsle(y_val, np.clip(ref, 0, None))
    out["reference_model"] = "LightGBM on log1p(count), pre-issue-20 features, same rows"
    return out


def run(args: argparse.Namespace) -> dict:
    """Train, evaluate on the validation rows, save; return the metrics."""
    import numpy as np
    import pandas as pd
    from features import FEATURES, make_features, rmsle, time_split

    started = time.time()
    model_dir = Path(args.model_dir)
    out_dir = Path(args.output_data_dir)
    model_dir.mkdir(parents=True, exist_ok=True)
    out_dir.mkdir(parents=True, exist_ok=True)

    train, validation = load_data(args)
    targets = resolve_targets(args, train)
    fit_raw, tune_raw = time_split(train, validation_days=args.tuning_days)
    if len(tune_raw) == 0:
        raise ValueError("--tuning_days must be >= 1: the tuning rows drive early stopping")
    fit_x, tune_x = make_features(fit_raw), make_features(tune_raw)
    val_x = make_features(validation)
    print(
        f"rows: fit={len(fit_x)} tuning={len(tune_x)} validation={len(val_x)} "
        f"targets={targets} trainer={args.trainer}",
        flush=True,
    )

    fit = {"autogluon": fit_autogluon, "lightgbm": fit_lightgbm, "gbm": fit_gbm}[args.trainer]
    models, board_rows = fit(args, fit_x, fit_raw, tune_x, tune_raw, targets, model_dir)

    y_val = validation[args.label].to_numpy(dtype=float)
    pred = predict_counts(models, args.trainer, val_x)
    val_rmsle = rmsle(y_val, pred)
    val_rmse = float(np.sqrt(np.mean((pred - y_val) ** 2)))
    print(f"[{args.validation_scheme}] validation_rmsle={val_rmsle:.5f}", flush=True)
    extra: dict = {}
    scored_models = models  # importance is measured on the model that never saw validation
    if args.compare:
        extra.update(compare(args, fit, train, validation, targets, val_x, y_val))
    if args.refit_all:
        # The saved model: refit on every labelled row (train + validation), same settings.
        everything = pd.concat([train, validation], ignore_index=True)
        all_fit, all_tune = time_split(everything, validation_days=args.tuning_days)
        models, board_rows = fit(
            args,
            make_features(all_fit),
            all_fit,
            make_features(all_tune),
            all_tune,
            targets,
            model_dir,
        )
        extra["rows_final_fit"] = len(everything)
    train_seconds = time.time() - started

    pd.DataFrame(board_rows).to_csv(out_dir / "leaderboard.csv", index=False)
    imp_x, imp_y = val_x, y_val
    if 0 < args.importance_rows < len(val_x):
        pick = np.sort(
            np.random.default_rng(args.seed).choice(len(val_x), args.importance_rows, replace=False)
        )
        imp_x, imp_y = val_x.iloc[pick].reset_index(drop=True), y_val[pick]
    importance = permutation_importance(
        scored_models, args.trainer, imp_x, imp_y, args.importance_repeats, args.seed
    )
    importance.to_csv(out_dir / "feature_importance.csv", index=False)
    pd.DataFrame(
        {"datetime": validation["datetime"].astype(str), "count": y_val, "prediction": pred}
    ).to_csv(out_dir / "validation_predictions.csv", index=False)

    meta = {
        "format_version": FORMAT_VERSION,
        "trainer": args.trainer,
        "targets": targets,
        "features": list(FEATURES),
        "label": args.label,
        "target_transform": "log1p",
    }
    (model_dir / MODEL_META).write_text(json.dumps(meta, indent=2))
    copy_code(model_dir)

    metrics = {
        "validation_rmsle": val_rmsle,
        "validation_rmse": val_rmse,
        "validation_scheme": args.validation_scheme,
        "validation_split": _describe_split(args, validation),
        **extra,
        "train_seconds": train_seconds,
        "total_seconds": time.time() - started,
        "rows_fit": len(fit_x),
        "rows_tuning": len(tune_x),
        "rows_validation": len(val_x),
        "trainer": args.trainer,
        "targets": targets,
    }
    (out_dir / "metrics.json").write_text(json.dumps(metrics, indent=2))
    print(f"validation_rmsle={val_rmsle:.5f}", flush=True)
    print(f"validation_rmse={val_rmse:.4f}", flush=True)
    for key in ("last_days_rmsle", "reference_rmsle"):
        if key in extra:
            print(f"{key}={extra[key]:.5f}", flush=True)
    print(f"train_seconds={train_seconds:.1f}", flush=True)
    print(f"total_seconds={metrics['total_seconds']:.1f}", flush=True)
    return metrics


def main(argv: list[str] | None = None) -> int:
    """Entry point: run, or write ``failure`` and exit 1."""
    args = parse_args(argv)
    try:
        run(args)
    except Exception as exc:
        traceback.print_exc()
        try:
            Path(args.output_dir).mkdir(parents=True, exist_ok=True)
            message = f"{type(exc).__name__}: {exc}"
            (Path(args.output_dir) / "failure").write_text(message[:1024])
        except OSError:
            pass
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
