"""Built-in handlers (in-process) and a model trained by `session.train` served as is."""

from __future__ import annotations

import io
import json
import textwrap

import numpy as np
import pytest
from serving_helpers import WINE_CSV, WINE_ROW

from smkit.backends.local.handlers import Handler, RequestError, parse_accept


def test_parse_accept():
    sup = ("text/csv", "application/json")
    assert parse_accept(None, "text/csv", sup) == "text/csv"
    assert parse_accept("*/*", "application/json", sup) == "application/json"
    assert parse_accept("application/json, text/csv;q=0.5", "text/csv", sup) == "application/json"
    assert parse_accept("text/csv;q=0.2, application/json;q=0.9", "text/csv", sup) == (
        "application/json"
    )
    assert parse_accept("text/*", "text/csv", sup) == "text/csv"
    with pytest.raises(RequestError) as info:
        parse_accept("application/xml", "text/csv", sup)
    assert info.value.status == 406


def test_pytorch_torchscript_handler(tmp_path):
    import torch

    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(13, 3), torch.nn.Softmax(dim=1))
    torch.jit.script(net).save(str(tmp_path / "model.pt"))
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "model.pt").write_bytes((tmp_path / "model.pt").read_bytes())
    h = Handler(tmp_path / "m", "pytorch")
    # as in the PyTorch container: a single CSV row decodes to 1-D, so send two; the JSON
    # answer is the array itself
    body, ctype, _ = h((WINE_CSV * 2).encode(), "text/csv", "application/json")
    probs = json.loads(body)
    assert ctype == "application/json" and abs(sum(probs[0]) - 1) < 1e-5
    buf = io.BytesIO()
    np.save(buf, np.array([WINE_ROW, WINE_ROW], dtype=np.float32))
    body, ctype, _ = h(buf.getvalue(), "application/x-npy", "application/x-npy")
    assert ctype == "application/x-npy" and np.load(io.BytesIO(body)).shape == (2, 3)


def test_autogluon_handler(tmp_path):
    import pandas as pd
    from autogluon.tabular import TabularPredictor
    from sklearn.datasets import load_wine

    data = load_wine(as_frame=True).frame
    TabularPredictor(label="target", path=str(tmp_path / "ag"), verbosity=0).fit(
        data, hyperparameters={"GBM": {"num_boost_round": 20}}, time_limit=60
    )
    h = Handler(tmp_path / "ag", "autogluon")
    body, ctype, _ = h(WINE_CSV.encode(), "text/csv", None)  # default Accept: JSON
    assert ctype == "application/json" and json.loads(body)[0] in {0, 1, 2}
    assert isinstance(pd.read_csv(io.StringIO(WINE_CSV), header=None), pd.DataFrame)


TRAIN_SCRIPT = textwrap.dedent(
    """
    import argparse, os
    import joblib
    import numpy as np
    from sklearn.linear_model import LogisticRegression


    def model_fn(model_dir):
        return {"clf": joblib.load(os.path.join(model_dir, "clf.joblib"))}


    def predict_fn(data, model):
        return model["clf"].predict_proba(data)[:, 1]


    if __name__ == "__main__":
        p = argparse.ArgumentParser()
        p.add_argument("--C", type=float, default=1.0)
        args, _ = p.parse_known_args()
        train = os.environ["SM_CHANNEL_TRAIN"]
        xy = np.loadtxt(os.path.join(train, "train.csv"), delimiter=",")
        clf = LogisticRegression(C=args.C, max_iter=500).fit(xy[:, 1:], xy[:, 0])
        joblib.dump(clf, os.path.join(os.environ["SM_MODEL_DIR"], "clf.joblib"))
    """
)


@pytest.mark.timeout(240)
def test_serve_a_model_trained_by_smkit_with_its_own_model_fn(local_session, tmp_path):
    pytest.importorskip("smkit.training")
    from smkit.serving import EndpointSpec
    from smkit.training import TrainingSpec

    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 3))
    y = (x[:, 0] + x[:, 1] > 0).astype(float)
    local_session.store.put_bytes(
        "s3://smkit/train-data/train.csv",
        "\n".join(",".join(map(str, [t, *r])) for t, r in zip(y, x)).encode(),
    )
    src = tmp_path / "src"
    src.mkdir()
    (src / "train.py").write_text(TRAIN_SCRIPT)
    job = local_session.train(
        TrainingSpec(
            entry_point="train.py",
            source_dir=str(src),
            framework="sklearn",
            hyperparameters={"C": 0.5},
            inputs={"train": "s3://smkit/train-data/"},
        )
    )
    job.wait(timeout=180)
    ep = local_session.deploy(job.model(), EndpointSpec(name="trained"))
    try:
        assert ep.describe()["Framework"] == "sklearn"
        probs = ep.predict([[3.0, 3.0, 0.0], [-3.0, -3.0, 0.0]])
        assert probs[0] > 0.9 and probs[1] < 0.1
    finally:
        ep.delete()
