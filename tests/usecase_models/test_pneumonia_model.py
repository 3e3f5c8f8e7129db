"""pneumonia-calibration: synthetic chest X-rays, training script under the SageMaker
contract, and the classifier + calibrator endpoint hooks."""

from __future__ import annotations

import base64
import csv
import io
import json
import shutil
import sys
from pathlib import Path

import container_harness
import numpy as np
import pytest
from container_harness import load_module

import smkit.usecases.pneumonia_calibration as pkg
from smkit.datasets.synthetic_images import (
    CHEST_XRAY_CLASSES,
    chest_xray_image,
    make_chest_xray_dataset,
)
from smkit.errors import ValidationError

SCRIPTS = Path(pkg.__file__).parent / "scripts"
QUICK_HPS = ["--epochs", "6", "--width", "8", "--num-threads", "1"]


def run_training(tmp: Path, channels: dict[str, Path], args: list[str], timeout: int = 300):
    """Run this use case's scripts/train.py as the training container would."""
    return container_harness.run_training(SCRIPTS, tmp, channels, args, timeout)


def metric_lines(stdout: str) -> dict[str, float]:
    out = {}
    for line in stdout.splitlines():
        for tok in line.split():
            key, sep, value = tok.partition("=")
            if sep:
                try:
                    out[key] = float(value)
                except ValueError:
                    out[key] = value
    return out


# ---------------------------------------------------------------- synthetic data


def test_dataset_layout_balance_and_names(tmp_path):
    s = make_chest_xray_dataset(tmp_path, n_train=120, n_val=40, n_test=40, size=48)
    assert s.classes == CHEST_XRAY_CLASSES
    counts = s.counts()
    assert set(counts) == {"train", "val", "test"}
    assert counts["train"]["PNEUMONIA"] == round(120 * 0.74)
    for split in ("train", "val", "test"):
        for label in CHEST_XRAY_CLASSES:
            files = sorted((tmp_path / split / label).glob("*.jpeg"))
            assert len(files) == counts[split][label]
    names = [p.name for p in (tmp_path / "train" / "PNEUMONIA").iterdir()]
    assert all(n.startswith("person") and ("_bacteria_" in n or "_virus_" in n) for n in names)
    assert all(p.name.startswith("IM-") for p in (tmp_path / "train" / "NORMAL").iterdir())
    from PIL import Image

    img = Image.open(s.paths("test")[0])
    assert img.format == "JPEG" and img.mode == "L" and img.size == (48, 48)
    assert s.ambiguous <= {rel for rel, _ in s.files["train"] + s.files["val"] + s.files["test"]}


def test_dataset_is_deterministic_and_splits_independent(tmp_path):
    a = make_chest_xray_dataset(tmp_path / "a", n_train=20, n_val=10, n_test=10, seed=3)
    b = make_chest_xray_dataset(tmp_path / "b", n_train=20, n_val=10, n_test=10, seed=3)
    c = make_chest_xray_dataset(tmp_path / "c", n_train=30, n_val=10, n_test=10, seed=3)
    d = make_chest_xray_dataset(tmp_path / "d", n_train=20, n_val=10, n_test=10, seed=4)
    for rel, _ in a.files["test"]:
        assert (a.root / rel).read_bytes() == (b.root / rel).read_bytes()
        assert (a.root / rel).read_bytes() == (c.root / rel).read_bytes()
    assert any(
        not (d.root / rel).exists() or (a.root / rel).read_bytes() != (d.root / rel).read_bytes()
        for rel, _ in a.files["test"]
    )


def test_pneumonia_images_are_brighter_in_the_lungs_on_average():
    rng = np.random.default_rng(0)
    normal = np.mean([chest_xray_image(False, rng)[0].mean() for _ in range(150)])
    pneu = np.mean([chest_xray_image(True, rng)[0].mean() for _ in range(150)])
    assert pneu > normal
    img, sev = chest_xray_image(True, rng, 64, severity=0.0)
    assert sev == 0.0 and img.shape == (64, 64) and img.dtype == np.uint8


def test_dataset_rejects_bad_arguments(tmp_path):
    with pytest.raises(ValidationError, match="pneumonia_fraction"):
        make_chest_xray_dataset(tmp_path, pneumonia_fraction=1.0)
    with pytest.raises(ValidationError, match="n_train"):
        make_chest_xray_dataset(tmp_path, n_train=-1)
    with pytest.raises(ValidationError, match="size"):
        make_chest_xray_dataset(tmp_path, size=8)


# ---------------------------------------------------------------- training + endpoint


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("pneumonia")
    make_chest_xray_dataset(tmp / "data", n_train=400, n_val=300, n_test=300)
    proc, model, data, output = run_training(tmp, {"data": tmp / "data"}, QUICK_HPS)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return {"proc": proc, "model": model, "data": data, "output": output, "root": tmp / "data"}


def test_training_writes_model_and_calibration_report(trained):
    model, data = trained["model"], trained["data"]
    for name in ("model.pth", "model_meta.json", "calibrator.json"):
        assert (model / name).is_file()
    for name in ("inference.py", "cxr_net.py", "calibration.py", "calibrator_inference.py"):
        assert (model / "code" / name).is_file()
    report = json.loads((data / "calibration.json").read_text())
    for key in (
        "ece_before",
        "ece_after",
        "brier_before",
        "brier_after",
        "log_loss_before",
        "log_loss_after",
        "method",
    ):
        assert key in report
    assert report["split"] == "test" and report["n"] == 300 and report["n_bins"] == 15
    assert report["method"] in ("temperature", "platt", "isotonic", "histogram", "beta")
    # the headline of the use case: calibration helps on held-out data
    assert report["ece_after"] < report["ece_before"]
    assert report["log_loss_after"] < report["log_loss_before"]
    assert report["auc"] > 0.55
    assert report["threshold"]["validation"]["sensitivity"] >= 0.95
    metrics = metric_lines(trained["proc"].stdout)
    assert metrics["calibration_method"] == report["method"]
    assert metrics["ece_after"] == pytest.approx(report["ece_after"], abs=1e-5)
    assert "val_auc" in metrics and "val_loss" in metrics


def test_predictions_csv_and_reliability(trained):
    data = trained["data"]
    with open(data / "predictions.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 300
    assert {"path", "label", "raw_probability", "calibrated_probability"} <= set(rows[0])
    assert all(r["path"].startswith("test/") for r in rows)
    assert {r["label"] for r in rows} == {"0", "1"}
    rel = json.loads((data / "reliability.json").read_text())
    assert sum(b["count"] for b in rel["after"]["bins"]) == 300
    assert (data / "validation_predictions.csv").is_file()
    assert (data / "reliability.png").is_file()


def _endpoint(model_dir: Path, name: str):
    mod = load_module(model_dir / "code" / "inference.py", name)
    return mod, mod.model_fn(str(model_dir))


def test_endpoint_returns_raw_and_calibrated_probability(trained):
    mod, model = _endpoint(trained["model"], "_pneu_inference_a")
    image = next((trained["root"] / "test" / "PNEUMONIA").iterdir())
    body = image.read_bytes()
    for ctype in ("application/x-image", "image/jpeg"):
        out, accept = mod.output_fn(mod.predict_fn(mod.input_fn(body, ctype), model), None)
        assert accept == "application/json"
        pred = json.loads(out)
        assert 0 < pred["raw_probability"] < 1 and 0 < pred["calibrated_probability"] < 1
        assert pred["predicted_label"] in CHEST_XRAY_CLASSES
        assert pred["calibration_method"] == model["calibrator"].method
    # matches the training run's predictions.csv for the same image
    with open(trained["data"] / "predictions.csv") as fh:
        row = next(r for r in csv.DictReader(fh) if r["path"].endswith(image.name))
    assert pred["raw_probability"] == pytest.approx(float(row["raw_probability"]), abs=1e-4)
    assert pred["calibrated_probability"] == pytest.approx(
        float(row["calibrated_probability"]), abs=1e-4
    )
    # JSON with base64, a PNG among them, and CSV output
    from PIL import Image

    png = io.BytesIO()
    Image.open(image).save(png, format="PNG")
    payload = json.dumps(
        {"instances": [base64.b64encode(body).decode(), base64.b64encode(png.getvalue()).decode()]}
    )
    out, _ = mod.output_fn(mod.predict_fn(mod.input_fn(payload, "application/json"), model), None)
    preds = json.loads(out)["predictions"]
    assert len(preds) == 2
    csv_out, ctype = mod.output_fn(mod.predict_fn([body], model), "text/csv")
    assert ctype == "text/csv" and len(csv_out.strip().split(",")) == 2
    with pytest.raises(ValueError, match="unsupported content type"):
        mod.input_fn(body, "text/plain")
    with pytest.raises(ValueError, match="instances"):
        mod.input_fn(json.dumps({"x": 1}), "application/json")


def test_serial_pipeline_matches_single_endpoint(trained, tmp_path):
    # container 1: classifier without calibrator.json; container 2: calibrator only
    first = tmp_path / "classifier"
    shutil.copytree(trained["model"], first)
    (first / "calibrator.json").unlink()
    second = tmp_path / "calibrator"
    second.mkdir()
    shutil.copy2(trained["model"] / "calibrator.json", second)
    shutil.copy2(trained["model"] / "model_meta.json", second)
    c1, m1 = _endpoint(first, "_pneu_inference_b")
    c2 = load_module(trained["model"] / "code" / "calibrator_inference.py", "_pneu_cal_inf")
    m2 = c2.model_fn(str(second))
    both, mb = _endpoint(trained["model"], "_pneu_inference_c")
    body = next((trained["root"] / "test" / "NORMAL").iterdir()).read_bytes()
    mid, ctype = c1.output_fn(c1.predict_fn(c1.input_fn(body, "image/jpeg"), m1), None)
    assert json.loads(mid)["calibrated_probability"] is None
    final, _ = c2.output_fn(c2.predict_fn(c2.input_fn(mid, ctype), m2), None)
    single, _ = both.output_fn(both.predict_fn(both.input_fn(body, "image/jpeg"), mb), None)
    a, b = json.loads(final), json.loads(single)
    assert a["calibrated_probability"] == pytest.approx(b["calibrated_probability"])
    assert a["predicted_label"] == b["predicted_label"]


def test_small_val_split_is_replaced_by_a_train_holdout(tmp_path):
    make_chest_xray_dataset(tmp_path / "data", n_train=160, n_val=16, n_test=0, size=48)
    proc, _, data, _ = run_training(
        tmp_path,
        {"train": tmp_path / "data"},
        ["--epochs", "1", "--width", "4", "--image-size", "48", "--num-threads", "1"],
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads((data / "calibration.json").read_text())
    assert "of train" in report["validation_source"]
    assert "the 16 validation-split images" in report["validation_source"]
    assert "ece_after" not in report  # no test split, no test figures
    # 40% of train (the most it takes to approach --min-val 300) + the 16 given images
    assert "validation: 80 images" in proc.stdout and "train: 96 images" in proc.stdout


def test_missing_data_writes_failure_file(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    proc, _, _, output = run_training(tmp_path, {"train": empty}, ["--epochs", "1"])
    assert proc.returncode == 1
    assert "no NORMAL/PNEUMONIA images" in (output / "failure").read_text()


def test_resnet18_variant_builds_without_downloads():
    import torch

    sys.path.insert(0, str(SCRIPTS))
    try:
        cxr_net = load_module(SCRIPTS / "cxr_net.py", "_pneu_cxr_net")
    finally:
        sys.path.remove(str(SCRIPTS))
    net = cxr_net.build_model("resnet18")
    assert net(torch.zeros(2, 1, 64, 64)).shape == (2, 1)
    with pytest.raises(ValueError, match="unknown arch"):
        cxr_net.build_model("vgg")


@pytest.mark.slow
def test_default_mode_run(tmp_path):
    make_chest_xray_dataset(tmp_path / "data")
    proc, _, data, _ = run_training(tmp_path, {"data": tmp_path / "data"}, [], timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads((data / "calibration.json").read_text())
    assert report["auc"] > 0.85
    assert report["ece_after"] < report["ece_before"]
    assert report["brier_after"] < report["brier_before"]
