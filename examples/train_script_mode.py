"""Train an unmodified SageMaker script locally, then tune one hyperparameter.

Run: ``python examples/train_script_mode.py`` (about a minute; everything stays below a
temporary directory).
"""

import tempfile
import textwrap
from pathlib import Path

import numpy as np

import smkit

SCRIPT = """
import argparse, os, pickle
import numpy as np
from sklearn.linear_model import Ridge

p = argparse.ArgumentParser()
p.add_argument("--alpha", type=float, default=1.0)
p.add_argument("--model-dir", default=os.environ["SM_MODEL_DIR"])
a = p.parse_args()
train = np.loadtxt(os.path.join(os.environ["SM_CHANNEL_TRAIN"], "train.csv"), delimiter=",")
val = np.loadtxt(os.path.join(os.environ["SM_CHANNEL_VALIDATION"], "val.csv"), delimiter=",")
model = Ridge(alpha=a.alpha).fit(train[:, 1:], train[:, 0])
rmse = float(np.sqrt(np.mean((model.predict(val[:, 1:]) - val[:, 0]) ** 2)))
print(f"val_rmse={rmse:.5f}")
pickle.dump(model, open(os.path.join(a.model_dir, "model.pkl"), "wb"))
"""

with tempfile.TemporaryDirectory() as tmp:
    tmp = Path(tmp)
    (tmp / "src").mkdir()
    (tmp / "src" / "train.py").write_text(textwrap.dedent(SCRIPT))
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 20))
    y = X @ rng.normal(size=20) + rng.normal(scale=2.0, size=400)
    rows = np.column_stack([y, X])  # label first, no header
    s = smkit.Session(root=tmp / "smkit")
    s.store.put_bytes(
        "s3://smkit/ex/train/train.csv",
        "\n".join(",".join(map(str, r)) for r in rows[:40]).encode(),
    )
    s.store.put_bytes(
        "s3://smkit/ex/validation/val.csv",
        "\n".join(",".join(map(str, r)) for r in rows[300:]).encode(),
    )

    spec = smkit.TrainingSpec(
        entry_point="train.py",
        source_dir=str(tmp / "src"),
        framework="sklearn",
        inputs={"train": "s3://smkit/ex/train/", "validation": "s3://smkit/ex/validation/"},
        metric_definitions={"validation:rmse": r"val_rmse=([0-9.]+)"},
    )
    job = s.train(spec.with_hyperparameters(alpha=1.0)).wait(logs=True)
    print("model:", job.model_data, job.metrics)

    tuning = s.tune(
        smkit.TuningSpec(
            training=spec,
            ranges={"alpha": smkit.ContinuousParameter(0.01, 1000, "Logarithmic")},
            objective_metric="validation:rmse",
            strategy="Bayesian",
            max_jobs=6,
            max_parallel_jobs=2,
        )
    ).wait()
    for row in tuning.table():
        print(row)
    print("best:", tuning.best_job.name, tuning.best_objective)
    tuning.plot(tmp / "objective.png")
