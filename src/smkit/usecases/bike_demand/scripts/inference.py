"""Inference hooks for ``bike-demand`` (SageMaker inference toolkit; never imports smkit).

Requests carry rows with test.csv's columns (``datetime``, ``season``, ``holiday``,
``workingday``, ``weather``, ``temp``, ``atemp``, ``humidity``, ``windspeed``):

- ``text/csv``: with a header row, or without one in exactly that column order;
- ``application/json``: a list of records, ``{"instances": [...]}`` of records, or one record.

Responses are predicted hourly rental counts (>= 0): ``application/json`` (default)
``{"predictions": [c, ...]}``, or ``text/csv`` with one count per line.
"""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from features import AveragedRegressor, combine_predictions, make_features  # noqa: E402  (shipped next to this file)

MODEL_META = "bike_model.json"
INPUT_COLUMNS = (
    "datetime",
    "season",
    "holiday",
    "workingday",
    "weather",
    "temp",
    "atemp",
    "humidity",
    "windspeed",
)


class BikeModel:
    """The loaded per-target models and how to combine them."""

    def __init__(self, meta: dict, models: dict[str, Any]) -> None:
        self.meta = meta
        self.models = models

    def predict(self, frame) -> list[float]:
        """Predicted counts (>= 0) for raw rows."""
        import numpy as np

        x = make_features(frame)[self.meta["features"]]
        log_predictions = {
            target: np.asarray(self.models[target].predict(x), dtype=float)
            for target in self.meta["targets"]
        }
        return [float(v) for v in combine_predictions(log_predictions)]


def model_fn(model_dir: str) -> BikeModel:
    """Load the models written by ``train.py`` from ``model_dir``."""
    root = Path(model_dir)
    meta_path = root / MODEL_META
    if not meta_path.is_file():
        raise FileNotFoundError(f"{meta_path} not found: is {root} a bike-demand model directory?")
    meta = json.loads(meta_path.read_text())
    models: dict[str, Any] = {}
    for target in meta["targets"]:
        if meta["trainer"] == "lightgbm":
            import lightgbm as lgb

            models[target] = lgb.Booster(model_file=str(root / f"lgb_{target}.txt"))
        elif meta["trainer"] == "gbm":
            import lightgbm as lgb
            import xgboost as xgb

            booster = xgb.XGBRegressor()
            booster.load_model(str(root / f"xgb_{target}.json"))
            models[target] = AveragedRegressor(
                [lgb.Booster(model_file=str(root / f"lgb_{target}.txt")), booster]
            )
        else:
            from autogluon.tabular import TabularPredictor

            models[target] = TabularPredictor.load(
                str(root / f"ag_{target}"), require_py_version_match=False, check_packages=False
            )
    return BikeModel(meta, models)


def _mime(content_type: str | None) -> str:
    return (content_type or "").split(";")[0].strip().lower()


def input_fn(body: bytes | str, content_type: str = "text/csv"):
    """Parse a request body into a DataFrame of raw rows."""
    import pandas as pd

    text = body.decode("utf-8") if isinstance(body, bytes | bytearray) else str(body)
    mime = _mime(content_type)
    if mime in ("text/csv", "text/plain", ""):
        first = text.lstrip().split("\n", 1)[0]
        if "datetime" in first:
            frame = pd.read_csv(io.StringIO(text))
        else:
            frame = pd.read_csv(io.StringIO(text), header=None)
            if frame.shape[1] != len(INPUT_COLUMNS):
                raise ValueError(
                    f"CSV without a header needs {len(INPUT_COLUMNS)} columns in the order "
                    f"{list(INPUT_COLUMNS)}, got {frame.shape[1]}"
                )
            frame.columns = list(INPUT_COLUMNS)
    elif mime == "application/json":
        data = json.loads(text)
        if isinstance(data, dict) and "instances" in data:
            data = data["instances"]
        if isinstance(data, dict):
            data = [data]
        if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
            raise ValueError(
                'JSON input must be a record, a list of records or {"instances": [records]}'
            )
        frame = pd.DataFrame.from_records(data)
    else:
        raise ValueError(
            f"unsupported content type {content_type!r}; use text/csv or application/json"
        )
    if len(frame) == 0:
        raise ValueError("the request holds no rows")
    return frame


def predict_fn(data, model: BikeModel) -> list[float]:
    """Predict counts for the parsed rows."""
    return model.predict(data)


def output_fn(prediction: list[float], accept: str | None = "application/json"):
    """Serialize predictions; returns ``(body, content_type)``."""
    mime = _mime(accept)
    if mime in ("", "*/*", "application/json"):
        return json.dumps({"predictions": prediction}), "application/json"
    if mime == "text/csv":
        return "".join(f"{v}\n" for v in prediction), "text/csv"
    raise ValueError(f"unsupported accept type {accept!r}; use application/json or text/csv")
