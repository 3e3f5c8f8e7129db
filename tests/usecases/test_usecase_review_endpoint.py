"""The ``review-endpoint`` use case: quick CLI run on the shipped sample, the AWS plan, other
files (string labels, ratings), a kept endpoint with an idle timeout, and settings."""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path

import pytest

from smkit.cli import main
from smkit.errors import ConfigError, SourceNotFoundError
from smkit.usecases import build_config, load_usecase
from smkit.usecases.review_endpoint import ReviewEndpointConfig, predict_texts, read_reviews


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("review")
    home = tmp_path_factory.mktemp("home")
    mp = pytest.MonkeyPatch()
    mp.setenv("SMKIT_HOME", str(home))
    try:
        assert main(["run", "review-endpoint", "--quick", "--out", str(out)]) == 0
    finally:
        mp.undo()
    out.joinpath("_home").write_text(str(home))
    return out


@pytest.mark.timeout(300)
def test_quick_run_scores_the_test_split_through_the_endpoint(quick_run: Path) -> None:
    report = json.loads((quick_run / "report.json").read_text())
    assert report["status"] == "Succeeded"
    m = report["metrics"]
    prep = m["preprocessing"]
    # the sample is messy on purpose: empty texts and duplicates are dropped and counted
    assert prep["dropped_empty_text"] > 5 and prep["dropped_duplicates"] > 10
    assert prep["rows_out"] == (
        prep["rows_in"]
        - prep["dropped_empty_text"]
        - prep["dropped_bad_label"]
        - prep["dropped_duplicates"]
    )
    assert sum(m["rows"].values()) == prep["rows_out"]
    assert m["rows"]["test"] == m["test_rows"] == pytest.approx(0.2 * prep["rows_out"], abs=2)
    assert m["test_auc"] > 0.85
    assert 0.7 < m["test_f1"] <= 1 and 0.7 < m["test_accuracy"] <= 1
    cm = m["confusion_matrix"]
    assert sum(cm.values()) == m["test_rows"]
    assert m["test_accuracy"] == pytest.approx((cm["tp"] + cm["tn"]) / m["test_rows"], abs=1e-6)
    # the endpoint serves the very model the job scored in-process
    assert m["serving_parity_auc_diff"] < 1e-6
    assert m["training"]["validation_auc"] > 0.8
    assert 0.8 < m["training"]["cv_auc"] <= 1.0  # chooses C on the train channel
    splits = report["details"]["metric_splits"]
    assert "train channel" in splits["training.cv_auc"] and "endpoint" in splits["test_*"]
    for name in ("predictions", "endpoint", "training_job", "model_data", "channel_test"):
        assert name in report["artifacts"], name
    assert (quick_run / "report.html").is_file()
    assert (quick_run / "roc_curve.png").stat().st_size > 1000
    assert (quick_run / "confusion_matrix.png").stat().st_size > 1000
    assert json.loads((quick_run / "test_metrics.json").read_text())["test_auc"] == m["test_auc"]


@pytest.mark.timeout(300)
def test_predictions_csv_reproduces_the_metrics(quick_run: Path) -> None:
    from sklearn.metrics import f1_score, roc_auc_score

    from smkit.datasets import dataset_path
    from smkit.usecases.review_endpoint import load_text_clean

    report = json.loads((quick_run / "report.json").read_text())
    with open(quick_run / "predictions.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == ["row_id", "label", "probability", "predicted"]
    assert len(rows) == report["metrics"]["test_rows"]
    y = [int(r["label"]) for r in rows]
    p = [float(r["probability"]) for r in rows]
    assert all(0 <= v <= 1 for v in p)
    assert roc_auc_score(y, p) == pytest.approx(report["metrics"]["test_auc"], abs=1e-4)
    assert f1_score(y, [int(r["predicted"]) for r in rows]) == pytest.approx(
        report["metrics"]["test_f1"], abs=1e-6
    )
    # row ids point at the input file's rows, and the labels are theirs
    raw = read_reviews(dataset_path("reviews", "reviews_sample.csv"))
    ids = [int(r["row_id"]) for r in rows]
    assert len(set(ids)) == len(ids)
    labels, _ = load_text_clean().map_labels(raw["Recommended IND"].iloc[ids].tolist())
    assert labels == y


@pytest.mark.timeout(300)
def test_quick_run_deletes_the_endpoint(quick_run: Path) -> None:
    import smkit

    report = json.loads((quick_run / "report.json").read_text())
    assert report["details"]["endpoint_deleted"] is True
    with smkit.Session(root=(quick_run / "_home").read_text()) as session:
        record = session.catalog.describe("endpoint", report["artifacts"]["endpoint"])
    assert record.status == "Deleted"


def test_plan_lists_every_request(tmp_path: Path) -> None:
    out = tmp_path / "plan"
    args = ["run", "review-endpoint", "--quick", "--backend", "aws", "--plan", "--out", str(out)]
    assert main(args) == 0
    plan = json.loads((out / "plan.json").read_text())
    ops = Counter(r["operation"] for r in plan)
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
    keys = [r["params"]["Key"] for r in plan if r["operation"] == "PutObject"]
    for channel in ("train", "validation", "test"):
        assert f"review-endpoint/data/{channel}/{channel}.csv" in keys
    job = next(r for r in plan if r["operation"] == "CreateTrainingJob")["params"]
    assert sorted(c["ChannelName"] for c in job["InputDataConfig"]) == [
        "test",
        "train",
        "validation",
    ]
    hps = job["HyperParameters"]
    assert json.loads(hps["text_column"]) == "Review Text"
    assert json.loads(hps["label_column"]) == "Recommended IND"
    assert json.loads(hps["sagemaker_program"]) == "train.py"
    assert "sagemaker-scikit-learn" in job["AlgorithmSpecification"]["TrainingImage"]
    names = {d["Name"] for d in job["AlgorithmSpecification"]["MetricDefinitions"]}
    assert {"validation:auc", "test:auc"} <= names
    model = next(r for r in plan if r["operation"] == "CreateModel")["params"]
    container = model["PrimaryContainer"]
    assert container["Environment"]["SAGEMAKER_PROGRAM"] == "inference.py"
    assert container["ModelDataUrl"].endswith(f"{job['TrainingJobName']}/output/model.tar.gz")
    report = json.loads((out / "report.json").read_text())
    assert report["metrics"]["preprocessing"]["rows_out"] > 500
    assert "test_auc" not in report["metrics"]


def _other_file(path: Path) -> Path:
    """The sample under other column names, with string labels and a third, odd value."""
    from smkit.datasets import dataset_path

    raw = read_reviews(dataset_path("reviews", "reviews_sample.csv"))
    frame = raw[["Review Text", "Rating", "Recommended IND"]].rename(
        columns={"Review Text": "body", "Recommended IND": "verdict"}
    )
    frame["verdict"] = frame["verdict"].map({"1": "keep", "0": "return"})
    frame.loc[frame.index[:9], "verdict"] = "unsure"
    frame.to_csv(path, index=False)
    return path


def test_plan_with_string_labels_and_ratings(tmp_path: Path) -> None:
    data = _other_file(tmp_path / "other.csv")
    base = ["run", "review-endpoint", "--backend", "aws", "--plan", "--set", f"data={data}"]
    base += ["--set", "text_column=body"]
    out = tmp_path / "strings"
    args = [*base, "--set", "label_column=verdict", "--set", "positive_value=keep"]
    assert main([*args, "--out", str(out)]) == 0
    report = json.loads((out / "report.json").read_text())
    assert report["metrics"]["preprocessing"]["dropped_bad_label"] > 0  # the "unsure" rows
    assert report["details"]["label_mapping"]["positive"] == "keep"
    assert report["details"]["label_mapping"]["negative"] == "return"
    plan = json.loads((out / "plan.json").read_text())
    hps = next(r for r in plan if r["operation"] == "CreateTrainingJob")["params"][
        "HyperParameters"
    ]
    assert json.loads(hps["positive_value"]) == "keep"
    assert "c_grid" not in hps  # the script's full grid outside quick mode

    out = tmp_path / "rating"
    args = [*base, "--set", "label_column=Rating", "--set", "label_threshold=4"]
    assert main([*args, "--out", str(out)]) == 0
    report = json.loads((out / "report.json").read_text())
    assert report["details"]["label_mapping"] == {
        "kind": "threshold",
        "positive": ">= 4",
        "negative": "< 4",
    }
    plan = json.loads((out / "plan.json").read_text())
    hps = next(r for r in plan if r["operation"] == "CreateTrainingJob")["params"][
        "HyperParameters"
    ]
    assert float(hps["label_threshold"]) == 4.0


def test_bad_data_names_the_fix(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    data = _other_file(tmp_path / "other.csv")
    base = ["run", "review-endpoint", "--backend", "aws", "--plan", "--out", str(tmp_path / "o")]
    strings = ["--set", "text_column=body", "--set", "label_column=verdict"]
    for settings, message in (
        ([*strings], "positive_value"),  # string labels without saying which is positive
        ([], "missing column"),  # the default columns are not in this file
    ):
        assert main([*base, "--set", f"data={data}", *settings]) != 0
        assert message in capsys.readouterr().err
    assert main([*base, "--set", f"data={tmp_path / 'nowhere.csv'}"]) != 0
    assert "not found" in capsys.readouterr().err
    with pytest.raises(SourceNotFoundError, match="not found"):
        read_reviews(tmp_path / "nowhere.csv")


@pytest.mark.timeout(300)
def test_kept_endpoint_on_other_data(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    import smkit

    data = _other_file(tmp_path / "other.csv")
    out = tmp_path / "kept"
    args = ["run", "review-endpoint", "--quick", "--out", str(out), "--set", f"data={data}"]
    args += ["--set", "text_column=body", "--set", "label_column=verdict"]
    args += ["--set", "positive_value=keep", "--set", "keep_endpoint=true"]
    args += ["--set", "idle_timeout=120", "--set", "endpoint_name=reviews-kept"]
    assert main(args) == 0
    printed = capsys.readouterr().out
    report = json.loads((out / "report.json").read_text())
    url = report["details"]["endpoint_url"]
    assert url.startswith("http://127.0.0.1:") and url in printed
    assert report["details"]["endpoint_deleted"] is False
    assert report["metrics"]["test_auc"] > 0.85
    with smkit.Session() as session:
        endpoint = session.backend.endpoint("reviews-kept")
        try:
            assert endpoint.status == "InService"
            assert endpoint.describe()["IdleTimeout"] == 120
            answer = endpoint.predictor(serializer="json").predict(
                {"instances": ["I love it, so soft &amp; flattering!", "Cheap fabric. Returned."]}
            )
            good, bad = answer["predictions"]
            assert good > 0.5 > bad
        finally:
            endpoint.delete()
        assert endpoint.status == "Deleted"


class _FakePredictor:
    def __init__(self, short: bool = False) -> None:
        self.bodies: list[dict] = []
        self.short = short

    def predict(self, body: dict) -> dict:
        self.bodies.append(body)
        n = len(body["instances"]) - int(self.short)
        return {"predictions": [len(t) / 100 for t in body["instances"][:n]]}


def test_predict_texts_batches_in_order() -> None:
    from smkit.errors import ModelError

    texts = [f"text {'x' * i}" for i in range(10)]
    fake = _FakePredictor()
    probs = predict_texts(fake, texts, 4)
    assert [len(b["instances"]) for b in fake.bodies] == [4, 4, 2]
    assert probs == [len(t) / 100 for t in texts]
    with pytest.raises(ModelError, match="3 predictions for 4 texts"):
        predict_texts(_FakePredictor(short=True), texts, 4)


def test_settings() -> None:
    usecase = load_usecase("review-endpoint")
    quick = build_config(usecase, {"label_threshold": "4", "label_column": "Rating"}, quick=True)
    assert quick.label_threshold == 4.0 and quick.effective_c_grid == "0.3,1,3,10"
    assert quick.effective_max_rows == 2000
    full = ReviewEndpointConfig()
    assert full.effective_c_grid is None and full.effective_max_rows == 0
    assert full.idle_timeout == 900 and full.keep_endpoint is False
    for settings, match in (
        ({"positive_value": "yes", "label_threshold": "3"}, "not both"),
        ({"validation_fraction": "0.6"}, "validation_fraction"),
        ({"test_fraction": "0"}, "test_fraction"),
        ({"validation_fraction": "0.45", "test_fraction": "0.45"}, "under 20%"),
        ({"threshold": "1.5"}, "threshold"),
        ({"invoke_batch": "0"}, "invoke_batch"),
        ({"idle_timeout": "0"}, "idle_timeout"),
        ({"c_grid": "1,-2"}, "c_grid"),
        ({"c_grid": "a,b"}, "c_grid"),
        ({"max_rows": "-1"}, "max_rows"),
        ({"prefix": "bucket/x"}, "s3://"),
        ({"text_column": "x", "label_column": "x"}, "both"),
        ({"colour": "red"}, "no setting"),
    ):
        with pytest.raises(ConfigError, match=match):
            build_config(usecase, settings)
