"""The built-in AutoGluon tabular trainer (a real, small fit)."""

from __future__ import annotations

import tarfile

import pytest

from smkit.training import TrainingSpec

pytestmark = pytest.mark.timeout(300)  # ~12 s on 2 cores: not marked slow


def test_autogluon_trainer_saves_predictor_leaderboard_and_importance(local_session):
    pytest.importorskip("autogluon.tabular")
    import numpy as np

    rng = np.random.default_rng(0)
    rows = ["a,b,c,label"]
    for _ in range(120):
        a, b, c = rng.normal(size=3)
        rows.append(f"{a:.4f},{b:.4f},{c:.4f},{int(a + b > 0)}")
    local_session.store.put_bytes(
        "s3://smkit/ag/train/train.csv", ("\n".join(rows) + "\n").encode()
    )
    spec = TrainingSpec(
        algorithm="autogluon",
        hyperparameters={
            "label": "label",
            "problem_type": "binary",
            "eval_metric": "accuracy",
            "time_limit": 20,
            "hyperparameters": '{"GBM": {}}',
        },
        inputs={"train": "s3://smkit/ag/train/"},
        profiler=None,
    )
    job = local_session.train(spec).wait(timeout=280)
    assert job.metrics["validation:score"] > 0.6
    with tarfile.open(local_session.store.path_for(job.output_data)) as tar:
        assert {"leaderboard.csv", "feature_importance.csv"} <= set(tar.getnames())
    with tarfile.open(local_session.store.path_for(job.model_data)) as tar:
        assert "predictor.pkl" in tar.getnames()
    assert job.model().framework == "autogluon"
