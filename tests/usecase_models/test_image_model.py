"""image-workflow: synthetic shapes, training script under the SageMaker contract, and the
classifier endpoint hooks."""

from __future__ import annotations

import base64
import csv
import io
import json
from pathlib import Path

import container_harness
import numpy as np
import pytest
from container_harness import load_module

import smkit.usecases.image_workflow as pkg
from smkit.datasets.synthetic_images import SHAPE_CLASSES, make_shapes_dataset, shape_image
from smkit.errors import ValidationError

SCRIPTS = Path(pkg.__file__).parent / "scripts"
QUICK_HPS = ["--epochs", "10", "--num-threads", "1"]


def run_training(tmp: Path, channels: dict[str, Path], args: list[str], timeout: int = 300):
    """Run this use case's scripts/train.py as the training container would."""
    return container_harness.run_training(SCRIPTS, tmp, channels, args, timeout)


# ---------------------------------------------------------------- synthetic data


def test_dataset_layout_and_balance(tmp_path):
    s = make_shapes_dataset(tmp_path, n_train=30, n_val=9, n_test=0, ambiguous_fraction=0.3)
    assert s.counts() == {
        "train": dict.fromkeys(SHAPE_CLASSES, 10),
        "val": dict.fromkeys(SHAPE_CLASSES, 3),
    }
    assert not (tmp_path / "test").exists()
    from PIL import Image

    img = Image.open(s.paths("train", "circle")[0])
    assert img.format == "PNG" and img.mode == "RGB" and img.size == (32, 32)
    assert 0 < len(s.ambiguous) < 39


def test_dataset_is_deterministic_and_jpeg_works(tmp_path):
    a = make_shapes_dataset(tmp_path / "a", n_train=12, n_val=3, n_test=3, seed=1)
    b = make_shapes_dataset(tmp_path / "b", n_train=12, n_val=3, n_test=3, seed=1)
    c = make_shapes_dataset(tmp_path / "c", n_train=50, n_val=3, n_test=3, seed=1)
    for rel, _ in a.files["test"] + a.files["val"]:
        assert (a.root / rel).read_bytes() == (b.root / rel).read_bytes()
        assert (a.root / rel).read_bytes() == (c.root / rel).read_bytes()
    j = make_shapes_dataset(tmp_path / "j", n_train=3, n_val=0, n_test=0, image_format="jpeg")
    assert all(p.suffix == ".jpeg" for p in j.paths("train"))


def test_ambiguous_images_have_lower_contrast():
    rng = np.random.default_rng(0)

    def spread(amb):
        return np.mean([shape_image("square", rng, ambiguous=amb).std() for _ in range(60)])

    assert spread(True) != spread(False)
    with pytest.raises(ValidationError, match="unknown shape"):
        shape_image("hexagon", rng)


def test_dataset_rejects_bad_arguments(tmp_path):
    with pytest.raises(ValidationError, match="ambiguous_fraction"):
        make_shapes_dataset(tmp_path, ambiguous_fraction=1.5)
    with pytest.raises(ValidationError, match="image_format"):
        make_shapes_dataset(tmp_path, image_format="gif")
    with pytest.raises(ValidationError, match="n_val"):
        make_shapes_dataset(tmp_path, n_val=-2)


# ---------------------------------------------------------------- training + endpoint


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("shapes")
    summary = make_shapes_dataset(tmp / "data", n_train=600, n_val=90, n_test=150)
    proc, model, data, _ = run_training(tmp, {"data": tmp / "data"}, QUICK_HPS)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return {"proc": proc, "model": model, "data": data, "summary": summary}


def test_training_writes_model_and_metrics(trained):
    model, data = trained["model"], trained["data"]
    assert (model / "model.pth").is_file()
    meta = json.loads((model / "model_meta.json").read_text())
    assert meta["classes"] == list(SHAPE_CLASSES) and meta["image_size"] == 32
    assert {p.name for p in (model / "code").iterdir()} >= {"inference.py", "shapes_net.py"}
    metrics = json.loads((data / "metrics.json").read_text())
    assert metrics["test_accuracy"] > 0.5  # chance is 1/3
    stdout = trained["proc"].stdout
    assert "epoch=10 train_loss=" in stdout and "val_accuracy=" in stdout
    assert f"test_accuracy={metrics['test_accuracy']:.6f}" in stdout
    with open(data / "test_predictions.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 150 and rows[0]["path"].startswith("test/")


def test_endpoint_hooks_on_image_bytes_and_json(trained):
    mod = load_module(trained["model"] / "code" / "inference.py", "_shapes_inference_a")
    model = mod.model_fn(str(trained["model"]))
    path = trained["summary"].paths("test", "triangle")[0]
    png = path.read_bytes()
    from PIL import Image

    jpg = io.BytesIO()
    Image.open(path).save(jpg, format="JPEG")
    preds = []
    for body, ctype in (
        (png, "image/png"),
        (png, "application/x-image"),
        (jpg.getvalue(), "image/jpeg"),
    ):
        out, accept = mod.output_fn(mod.predict_fn(mod.input_fn(body, ctype), model), "*/*")
        assert accept == "application/json"
        pred = json.loads(out)
        assert pred["classes"] == list(SHAPE_CLASSES)
        assert sum(pred["probabilities"]) == pytest.approx(1.0, abs=1e-6)
        assert pred["confidence"] == pytest.approx(max(pred["probabilities"]))
        assert pred["predicted_label"] == SHAPE_CLASSES[int(np.argmax(pred["probabilities"]))]
        preds.append(pred)
    assert preds[0] == preds[1]
    # the training run's test predictions agree with the endpoint
    with open(trained["data"] / "test_predictions.csv") as fh:
        row = next(r for r in csv.DictReader(fh) if r["path"].endswith(path.name))
    assert preds[0]["confidence"] == pytest.approx(float(row["confidence"]), abs=1e-4)
    b64 = base64.b64encode(png).decode()
    single = json.loads(
        mod.output_fn(mod.predict_fn(mod.input_fn(json.dumps({"image": b64}), None), model), None)[
            0
        ]
    )
    assert single == preds[0]
    batch = mod.predict_fn(mod.input_fn(json.dumps([b64, b64, b64]), "application/json"), model)
    body, ctype = mod.output_fn(batch, "application/json")
    assert len(json.loads(body)["predictions"]) == 3
    body, ctype = mod.output_fn(batch, "text/csv")
    assert ctype == "text/csv" and len(body.strip().splitlines()) == 3
    with pytest.raises(ValueError, match="unsupported content type"):
        mod.input_fn(png, "text/csv")
    with pytest.raises(ValueError, match="unsupported accept"):
        mod.output_fn(batch, "application/xml")


def test_confidences_vary_so_a_threshold_splits_them(trained):
    with open(trained["data"] / "test_predictions.csv") as fh:
        conf = np.array([float(r["confidence"]) for r in csv.DictReader(fh)])
    assert conf.min() < 0.6 and conf.max() > 0.8


def test_separate_channels_and_unknown_class(tmp_path):
    make_shapes_dataset(tmp_path / "d", n_train=30, n_val=0, n_test=6)
    (tmp_path / "d" / "test" / "hexagon").mkdir()
    src = next((tmp_path / "d" / "test" / "circle").iterdir())
    (tmp_path / "d" / "test" / "hexagon" / "x.png").write_bytes(src.read_bytes())
    proc, _, _, output = run_training(
        tmp_path,
        {"train": tmp_path / "d" / "train", "test": tmp_path / "d" / "test"},
        ["--epochs", "1", "--num-threads", "1"],
    )
    assert proc.returncode == 1
    assert "class 'hexagon' is not among the training classes" in (output / "failure").read_text()


def test_no_channel_writes_failure_file(tmp_path):
    proc, _, _, output = run_training(tmp_path, {}, ["--epochs", "1"])
    assert proc.returncode == 1
    assert "no training data" in (output / "failure").read_text()


@pytest.mark.slow
def test_default_mode_run(tmp_path):
    make_shapes_dataset(tmp_path / "data")
    proc, _, data, _ = run_training(tmp_path, {"data": tmp_path / "data"}, [], timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    metrics = json.loads((data / "metrics.json").read_text())
    assert metrics["test_accuracy"] > 0.8
    assert 0.05 < metrics["test_share_confidence_below_0.8"] < 0.6
