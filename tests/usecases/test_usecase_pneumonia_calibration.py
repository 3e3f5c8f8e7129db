"""The ``pneumonia-calibration`` use case: quick CLI run, the AWS plan (serial pipeline),
``--set data=DIR``, settings, and the AWS serial-inference-pipeline request."""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path

import pytest

from smkit.cli import main
from smkit.errors import ConfigError, SourceNotFoundError
from smkit.serving import EndpointSpec, ModelSpec
from smkit.usecases import build_config, load_usecase
from smkit.usecases.pneumonia_calibration import (
    PneumoniaCalibrationConfig,
    find_splits,
    load_math,
)

CALIBRATION_KEYS = (
    "ece_before",
    "ece_after",
    "brier_before",
    "brier_after",
    "log_loss_before",
    "log_loss_after",
    "method",
)


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("pneumonia")
    home = tmp_path_factory.mktemp("home")
    mp = pytest.MonkeyPatch()
    mp.setenv("SMKIT_HOME", str(home))
    try:
        assert main(["run", "pneumonia-calibration", "--quick", "--out", str(out)]) == 0
    finally:
        mp.undo()
    out.joinpath("_home").write_text(str(home))
    return out


@pytest.mark.timeout(600)
def test_quick_run_calibrates_on_held_out_data(quick_run: Path) -> None:
    report = json.loads((quick_run / "report.json").read_text())
    assert report["status"] == "Succeeded"
    metrics = report["metrics"]
    assert metrics["test_images"] == 300
    assert metrics["images"]["test"] == {"NORMAL": 78, "PNEUMONIA": 222}
    # the use case's headline: calibration helps on the held-out test split
    assert metrics["test_ece_after"] < metrics["test_ece_before"]
    assert metrics["test_log_loss_after"] < metrics["test_log_loss_before"]
    # the deployed calibrator is the fitted one (endpoint vs the job's validation outputs)
    assert metrics["serving_parity_max_abs_diff"] < 1e-4
    for name in ("calibration", "predictions", "reliability", "endpoint", "training_job"):
        assert name in report["artifacts"], name
    assert (quick_run / "report.html").is_file()
    assert (quick_run / "reliability.png").stat().st_size > 1000
    assert (quick_run / "probabilities.png").stat().st_size > 1000

    cal = json.loads((quick_run / "calibration.json").read_text())
    for key in CALIBRATION_KEYS:
        assert key in cal, key
    assert cal["method"] in ("temperature", "platt", "isotonic", "histogram", "beta")
    assert cal["method"] == cal["selection"]["method"] == metrics["calibration_method"]
    assert cal["split"] == "test" and cal["n"] == 300 and cal["n_bins"] == 15
    assert cal["ece_after"] < cal["ece_before"]
    assert cal["threshold"]["target_sensitivity"] == 0.95
    assert cal["threshold"]["validation"]["sensitivity"] >= 0.95
    assert 0 < cal["threshold"]["calibrated_probability"] < 1


@pytest.mark.timeout(600)
def test_predictions_csv_reproduces_the_figures(quick_run: Path) -> None:
    import numpy as np

    with open(quick_run / "predictions.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 300
    assert list(rows[0])[:4] == ["path", "label", "raw_probability", "calibrated_probability"]
    assert all(r["path"].startswith("test/") for r in rows)
    assert all(r["label"] == ("1" if "/PNEUMONIA/" in r["path"] else "0") for r in rows)
    y = np.array([float(r["label"]) for r in rows])
    raw = np.array([float(r["raw_probability"]) for r in rows])
    calp = np.array([float(r["calibrated_probability"]) for r in rows])
    assert ((raw > 0) & (raw < 1) & (calp > 0) & (calp < 1)).all()
    cm = load_math()
    cal = json.loads((quick_run / "calibration.json").read_text())
    assert cm.expected_calibration_error(y, raw) == pytest.approx(cal["ece_before"], abs=1e-4)
    assert cm.expected_calibration_error(y, calp) == pytest.approx(cal["ece_after"], abs=1e-4)
    assert cm.brier_score(y, calp) == pytest.approx(cal["brier_after"], abs=1e-4)
    thr = cal["threshold"]["calibrated_probability"]
    labels = {r["predicted_label"] for r in rows}
    assert labels <= {"NORMAL", "PNEUMONIA"}
    for r in rows:
        assert (r["predicted_label"] == "PNEUMONIA") == (float(r["calibrated_probability"]) >= thr)


@pytest.mark.timeout(600)
def test_quick_run_deletes_the_endpoint(quick_run: Path) -> None:
    import smkit

    report = json.loads((quick_run / "report.json").read_text())
    assert report["details"]["endpoint_deleted"] is True
    home = (quick_run / "_home").read_text()
    with smkit.Session(root=home) as session:
        record = session.catalog.describe("endpoint", report["artifacts"]["endpoint"])
    assert record.status == "Deleted"


def test_plan_deploys_a_two_container_serial_pipeline(tmp_path: Path) -> None:
    out = tmp_path / "plan"
    args = ["run", "pneumonia-calibration", "--quick", "--backend", "aws", "--plan"]
    assert main([*args, "--out", str(out)]) == 0
    plan = json.loads((out / "plan.json").read_text())
    ops = Counter(r["operation"] for r in plan)
    assert ops["PutObject"] >= 1000  # every image, plus the training and inference code
    for op in (
        "CreateTrainingJob",
        "CreateModel",
        "CreateEndpointConfig",
        "CreateEndpoint",
        "DeleteEndpoint",
        "DeleteEndpointConfig",
        "DeleteModel",
    ):
        assert ops[op] == 1, op
    assert ops["InvokeEndpoint"] == 0  # nothing to send in plan mode
    job = next(r for r in plan if r["operation"] == "CreateTrainingJob")["params"]
    assert sorted(c["ChannelName"] for c in job["InputDataConfig"]) == ["train", "validation"]
    assert job["HyperParameters"]["sensitivity"] == "0.95"
    model = next(r for r in plan if r["operation"] == "CreateModel")["params"]
    assert "PrimaryContainer" not in model
    assert model["InferenceExecutionConfig"] == {"Mode": "Serial"}
    first, second = model["Containers"]
    assert first["Environment"]["SAGEMAKER_PROGRAM"] == "inference.py"
    assert first["Environment"]["CALIBRATOR"] == "off"
    assert second["Environment"]["SAGEMAKER_PROGRAM"] == "calibrator_inference.py"
    # each PyTorch container is repacked with its own code/ (as the SDK does): the trained
    # model.tar.gz is read, and one model.tar.gz per container is uploaded
    for i, container in enumerate((first, second), start=1):
        assert container["ModelDataUrl"].endswith(f"/container-{i}/model.tar.gz")
        assert container["Environment"]["SAGEMAKER_SUBMIT_DIRECTORY"] == "/opt/ml/model/code"
    gets = [r["params"]["Key"] for r in plan if r["operation"] == "GetObject"]
    assert f"{job['TrainingJobName']}/output/model.tar.gz" in gets
    report = json.loads((out / "report.json").read_text())
    assert "serial inference pipeline" in report["details"]["deployment"]


def _kaggle_folder(root: Path) -> Path:
    from smkit.datasets.synthetic_images import make_chest_xray_dataset

    make_chest_xray_dataset(root, n_train=20, n_val=0, n_test=10, size=32)
    return root


def test_data_folder_is_staged_as_given(tmp_path: Path) -> None:
    data = _kaggle_folder(tmp_path / "kaggle")
    out = tmp_path / "plan"
    args = ["run", "pneumonia-calibration", "--backend", "aws", "--plan", "--out", str(out)]
    args += ["--set", f"data={data}", "--set", "serial_pipeline=false"]
    assert main(args) == 0
    plan = json.loads((out / "plan.json").read_text())
    images = [
        r["params"]["Key"]
        for r in plan
        if r["operation"] == "PutObject" and r["params"]["Key"].endswith(".jpeg")
    ]
    assert len(images) == 30
    assert {k.split("/")[2] for k in images} == {"train", "test"}
    job = next(r for r in plan if r["operation"] == "CreateTrainingJob")["params"]
    assert [c["ChannelName"] for c in job["InputDataConfig"]] == ["train"]  # no val/ given
    model = next(r for r in plan if r["operation"] == "CreateModel")["params"]
    assert model["PrimaryContainer"]["Environment"]["SAGEMAKER_PROGRAM"] == "inference.py"
    assert not (out / "images").exists()  # nothing generated


def test_find_splits_checks_the_layout(tmp_path: Path) -> None:
    data = _kaggle_folder(tmp_path / "kaggle")
    splits = find_splits(data)
    assert {k: len(v) for k, v in splits.items()} == {"train": 20, "validation": 0, "test": 10}
    assert {lab for _, lab in splits["test"]} == {0, 1}
    with pytest.raises(SourceNotFoundError, match="does not exist"):
        find_splits(tmp_path / "nowhere")
    for p in (data / "test" / "NORMAL").iterdir():
        p.unlink()
    with pytest.raises(SourceNotFoundError, match="'test' split"):
        find_splits(data)


def test_settings() -> None:
    usecase = load_usecase("pneumonia-calibration")
    quick = build_config(usecase, {"sensitivity": "0.9", "epochs": "3"}, quick=True)
    assert quick.sensitivity == 0.9 and quick.size("epochs") == 3
    assert quick.size("n_train") == 400 and quick.size("width") == 8
    assert PneumoniaCalibrationConfig().size("n_train") == 1200
    assert PneumoniaCalibrationConfig().size("epochs") == 15
    for key, value, match in (
        ("sensitivity", "1.5", "sensitivity"),
        ("sensitivity", "0", "sensitivity"),
        ("arch", "vgg", "arch"),
        ("methods", "temperature,gamma", "methods"),
        ("image_size", "8", "image_size"),
        ("invoke_batch", "0", "invoke_batch"),
        ("n_test", "0", "n_test"),
    ):
        with pytest.raises(ConfigError, match=match):
            build_config(usecase, {key: value})


def test_aws_pipeline_request_and_limits() -> None:
    from smkit.backends.aws import AwsBackend

    backend = AwsBackend(plan=True, region="eu-west-1", bucket="bkt")
    a = ModelSpec(model_data="s3://bkt/m/model.tar.gz", framework="pytorch")
    b = a.with_(image_uri="123456789012.dkr.ecr.eu-west-1.amazonaws.com/cal:1")
    backend.deploy([a, b], EndpointSpec(name="cxr"))
    model = backend.plan()[0].params
    assert [c["Image"] for c in model["Containers"]][1].endswith("/cal:1")
    assert "pytorch-inference" in model["Containers"][0]["Image"]
    assert model["InferenceExecutionConfig"] == {"Mode": "Serial"}
    with pytest.raises(ConfigError, match="2 to 15"):
        backend.deploy([a], EndpointSpec(name="cxr2"))


@pytest.mark.aws
@pytest.mark.timeout(120)
def test_serial_pipeline_on_moto(aws_session, tmp_path: Path) -> None:
    from smkit.usecases.pneumonia_calibration import SCRIPTS_DIR

    backend = aws_session.backend
    image = "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-inference:2.1-cpu-py310"
    import io
    import tarfile

    tar = tmp_path / "model.tar.gz"
    with tarfile.open(tar, "w:gz") as t:
        info = tarfile.TarInfo("model.pt")
        info.size = 4
        t.addfile(info, io.BytesIO(b"fake"))
    base = ModelSpec(
        model_data=str(tar),
        framework="pytorch",
        image_uri=image,
        entry_point="inference.py",
        source_dir=str(SCRIPTS_DIR),
    )
    endpoint = aws_session.deploy(
        [base.with_(env={"CALIBRATOR": "off"}), base.with_(entry_point="calibrator_inference.py")],
        EndpointSpec(name="cxr"),
    )
    assert endpoint.status == "InService"
    model = backend.call("sagemaker", "DescribeModel", {"ModelName": "cxr-model"})
    programs = [c["Environment"]["SAGEMAKER_PROGRAM"] for c in model["Containers"]]
    assert programs == ["inference.py", "calibrator_inference.py"]
    urls = [c["ModelDataUrl"] for c in model["Containers"]]
    # each PyTorch container is repacked with its own code/ (the serving toolkit reads
    # user code only from /opt/ml/model/code)
    assert urls == [f"s3://smkit-test/cxr-model/container-{i}/model.tar.gz" for i in (1, 2)]
    # moto keeps the containers but drops InferenceExecutionConfig: check what was sent
    sent = next(r.params for r in backend.plan() if r.operation == "CreateModel")
    assert sent["InferenceExecutionConfig"] == {"Mode": "Serial"}
    endpoint.delete()
    assert [r.operation for r in backend.plan()][-3:] == [
        "DeleteEndpoint",
        "DeleteEndpointConfig",
        "DeleteModel",
    ]
