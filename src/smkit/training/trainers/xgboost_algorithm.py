"""SageMaker's built-in XGBoost algorithm, as a standalone training script.

Reads ``hyperparameters.json`` (plain strings, as for built-in algorithms) with the
algorithm's names: ``num_round`` (required), ``eta``, ``gamma``, ``max_depth``,
``min_child_weight``, ``max_delta_step``, ``subsample``, ``colsample_bytree``,
``colsample_bylevel``, ``colsample_bynode``, ``lambda``, ``alpha``, ``tree_method``,
``sketch_eps``, ``scale_pos_weight``, ``max_leaves``, ``max_bin``, ``grow_policy``,
``objective``, ``num_class``, ``base_score``, ``eval_metric`` (comma-separated),
``seed``, ``early_stopping_rounds``, ``num_parallel_tree``, ``verbosity``.

Channels ``train`` (required) and ``validation`` (optional): CSV with the label in the first
column and no header (``text/csv``), or libsvm (``text/libsvm``, the default when no content
type is given, as in the algorithm). Each round logs ``[i]#011train-rmse:..#011validation-rmse:..``
like SageMaker's container, so the built-in metric definitions (``validation:rmse``...)
read it. The model is saved as ``xgboost-model`` (XGBoost's own format) in the model dir.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

INT_PARAMS = {
    "num_round",
    "max_depth",
    "max_leaves",
    "max_bin",
    "num_class",
    "seed",
    "early_stopping_rounds",
    "num_parallel_tree",
    "verbosity",
    "nthread",
}
FLOAT_PARAMS = {
    "eta",
    "gamma",
    "min_child_weight",
    "max_delta_step",
    "subsample",
    "colsample_bytree",
    "colsample_bylevel",
    "colsample_bynode",
    "lambda",
    "alpha",
    "sketch_eps",
    "scale_pos_weight",
    "base_score",
    "tweedie_variance_power",
}
STR_PARAMS = {"tree_method", "grow_policy", "objective", "eval_metric", "booster", "process_type"}
KNOWN = INT_PARAMS | FLOAT_PARAMS | STR_PARAMS
DEFAULT_METRIC = {"reg": "rmse", "binary": "error", "multi": "merror", "rank": "map"}


def fail(message: str) -> None:
    out = Path(os.environ.get("SM_OUTPUT_DIR", "/opt/ml/output"))
    out.mkdir(parents=True, exist_ok=True)
    (out / "failure").write_text(message)
    print(message, file=sys.stderr)
    sys.exit(1)


def parse_params(raw: dict[str, str]) -> tuple[dict, int, int | None]:
    params: dict = {}
    for key, text in raw.items():
        if key.startswith("sagemaker_") or key.startswith("_"):
            continue
        text = str(text).strip().strip('"')
        if key not in KNOWN:
            fail(f"ClientError: Hyperparameter {key!r} is not a valid XGBoost hyperparameter")
        try:
            if key in INT_PARAMS:
                params[key] = int(float(text))
            elif key in FLOAT_PARAMS:
                params[key] = float(text)
            else:
                params[key] = text
        except ValueError:
            fail(f"ClientError: Hyperparameter {key}: value {text!r} is not a number")
    if "num_round" not in params:
        fail("ClientError: Missing required hyperparameter: num_round")
    num_round = params.pop("num_round")
    early = params.pop("early_stopping_rounds", None)
    params.setdefault("objective", "reg:squarederror")
    metrics = params.pop("eval_metric", None)
    if metrics:
        params["eval_metric"] = metrics.split(",")
    else:
        params["eval_metric"] = [DEFAULT_METRIC.get(params["objective"].split(":")[0], "rmse")]
    params.setdefault("nthread", int(os.environ.get("SM_NUM_CPUS", "1")))
    return params, num_round, early


def load_channel(path: Path, content_type: str | None):
    import numpy as np
    import xgboost as xgb

    files = sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith("."))
    if not files:
        fail(f"ClientError: channel {path.name!r} has no files")
    ctype = (content_type or "text/libsvm").split(";")[0].strip().lower()
    if ctype in ("text/csv", "csv"):
        import pandas as pd

        frames = []
        for f in files:
            try:
                frames.append(pd.read_csv(f, header=None))
            except Exception as exc:
                fail(f"ClientError: could not read CSV {f.name}: {exc}")
        data = pd.concat(frames, ignore_index=True)
        if data.shape[1] < 2:
            fail(f"ClientError: CSV in channel {path.name!r} needs a label column and features")
        values = data.to_numpy(dtype=np.float32)
        return xgb.DMatrix(values[:, 1:], label=values[:, 0])
    if ctype in ("text/libsvm", "libsvm", "text/x-libsvm"):
        from sklearn.datasets import load_svmlight_files

        loaded = load_svmlight_files([str(f) for f in files])
        import scipy.sparse as sp

        xs = [loaded[i] for i in range(0, len(loaded), 2)]
        ys = [loaded[i] for i in range(1, len(loaded), 2)]
        width = max(x.shape[1] for x in xs)
        xs = [sp.csr_matrix((x.data, x.indices, x.indptr), shape=(x.shape[0], width)) for x in xs]
        return xgb.DMatrix(sp.vstack(xs), label=np.concatenate(ys))
    fail(
        f"ClientError: content type {content_type!r} is not supported; use text/csv or text/libsvm"
    )
    return None


def main() -> None:
    import xgboost as xgb

    config_dir = Path(os.environ.get("SM_INPUT_CONFIG_DIR", "/opt/ml/input/config"))
    raw = json.loads((config_dir / "hyperparameters.json").read_text())
    data_config = json.loads((config_dir / "inputdataconfig.json").read_text())
    params, num_round, early = parse_params(raw)
    if "train" not in data_config:
        fail("ClientError: the train channel is required")
    channels = json.loads(os.environ.get("SM_CHANNELS", '["train"]'))
    input_dir = Path(os.environ.get("SM_INPUT_DIR", "/opt/ml/input")) / "data"

    def channel_dir(name: str) -> Path:
        return Path(os.environ.get(f"SM_CHANNEL_{name.upper()}", input_dir / name))

    dtrain = load_channel(channel_dir("train"), data_config["train"].get("ContentType"))
    evals = [(dtrain, "train")]
    if "validation" in channels:
        dval = load_channel(channel_dir("validation"), data_config["validation"].get("ContentType"))
        evals.append((dval, "validation"))
    if early and len(evals) < 2:
        fail("ClientError: early_stopping_rounds needs a validation channel")
    booster = xgb.train(
        params,
        dtrain,
        num_boost_round=num_round,
        evals=evals,
        early_stopping_rounds=early,
        verbose_eval=True,
    )
    model_dir = Path(os.environ.get("SM_MODEL_DIR", "/opt/ml/model"))
    model_dir.mkdir(parents=True, exist_ok=True)
    booster.save_model(str(model_dir / "xgboost-model"))
    print(f"Saved model to {model_dir / 'xgboost-model'}", flush=True)


if __name__ == "__main__":
    main()
