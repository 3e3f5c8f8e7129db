"""Shared helpers for the serving tests: tiny model artifacts built on the fly."""

from __future__ import annotations

import hashlib
import json
import tarfile
import textwrap
from pathlib import Path

FIXTURES = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "sagemaker"
if not FIXTURES.is_dir():  # the repository may live elsewhere; fall back to the shared tree
    FIXTURES = Path("/work/shared/fixtures/sagemaker")

WINE_ROW = [13.2, 1.78, 2.14, 11.2, 100.0, 2.65, 2.76, 0.26, 1.28, 4.38, 1.05, 3.4, 1050.0]
WINE_CSV = ",".join(str(v) for v in WINE_ROW) + "\n"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def pack(out: Path, files: dict[str, Path]) -> Path:
    with tarfile.open(out, "w:gz") as tar:
        for arcname, path in files.items():
            tar.add(path, arcname=arcname)
    return out


def wine_xgboost(tmp: Path) -> Path:
    """model.tar.gz holding an XGBoost multi-class model trained on sklearn's wine data."""
    import xgboost as xgb
    from sklearn.datasets import load_wine

    X, y = load_wine(return_X_y=True)
    booster = xgb.train(
        {"objective": "multi:softprob", "num_class": 3, "max_depth": 3, "nthread": 1},
        xgb.DMatrix(X, label=y),
        10,
    )
    model = tmp / "xgboost-model.json"
    booster.save_model(str(model))
    return pack(tmp / "wine-xgb.tar.gz", {"xgboost-model": model})


def wine_sklearn(tmp: Path) -> Path:
    """model.tar.gz holding a scikit-learn logistic regression (model.joblib)."""
    import joblib
    from sklearn.datasets import load_wine
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = load_wine(return_X_y=True)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(X, y)
    path = tmp / "model.joblib"
    joblib.dump(model, path)
    return pack(tmp / "wine-sklearn.tar.gz", {"model.joblib": path})


INFERENCE_SCRIPT = textwrap.dedent(
    '''
    """A user inference script with the four toolkit hooks."""
    import json
    import os

    from smkit.backends.local.handlers import current_request


    def model_fn(model_dir):
        with open(os.path.join(model_dir, "weights.json")) as fh:
            return json.load(fh)


    def input_fn(body, content_type):
        if content_type.startswith("application/json"):
            return json.loads(body)["x"]
        return [float(v) for v in body.strip().split(",")]  # text/csv arrives as str


    def predict_fn(data, model):
        if any(v < 0 for v in data):
            raise ValueError("negative input is not allowed by this model")
        return sum(w * v for w, v in zip(model["w"], data)) + model["b"]


    def output_fn(prediction, accept):
        attrs = current_request.get().get("custom_attributes")
        if accept == "application/json":
            return json.dumps({"score": prediction}), "application/json", attrs
        return f"{prediction}", "text/csv", attrs
    '''
)


def custom_model(tmp: Path) -> tuple[Path, Path]:
    """(model.tar.gz with weights.json, source_dir with inference.py)."""
    weights = tmp / "weights.json"
    weights.write_text(json.dumps({"w": [1.0, 2.0, 3.0], "b": 0.5}))
    src = tmp / "code"
    src.mkdir(exist_ok=True)
    (src / "inference.py").write_text(INFERENCE_SCRIPT)
    return pack(tmp / "custom.tar.gz", {"weights.json": weights}), src
