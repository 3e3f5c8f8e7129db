"""Deploy an XGBoost model trained on the wine data, call it, read its capture, delete it.

Run: ``python examples/deploy_endpoint.py`` (local backend, under a temporary root).
"""

from __future__ import annotations

import json
import tarfile
import tempfile
from pathlib import Path

import xgboost as xgb
from sklearn.datasets import load_wine

import smkit

tmp = Path(tempfile.mkdtemp(prefix="smkit-deploy-"))
X, y = load_wine(return_X_y=True)
booster = xgb.train({"objective": "multi:softprob", "num_class": 3}, xgb.DMatrix(X, label=y), 20)
booster.save_model(str(tmp / "xgboost-model.json"))
with tarfile.open(tmp / "model.tar.gz", "w:gz") as tar:
    tar.add(tmp / "xgboost-model.json", arcname="xgboost-model")

session = smkit.Session(root=tmp / "root")
endpoint = session.deploy(
    smkit.ModelSpec(model_data=str(tmp / "model.tar.gz"), framework="xgboost"),
    smkit.EndpointSpec(name="wine", data_capture=smkit.DataCaptureSpec(sampling_percentage=100)),
)
print("serving at", endpoint.url)
print("csv :", endpoint.predict(X[:2]))
print("json:", session.predictor("wine", serializer="json").predict(X[:1].tolist()))

endpoint.flush_capture()
first = session.store.list(endpoint.capture_prefix)[0]
print("capture:", first.uri)
print(json.dumps(json.loads(session.store.get_bytes(first.uri).splitlines()[0]), indent=1))
endpoint.delete()
print("status:", endpoint.status)
