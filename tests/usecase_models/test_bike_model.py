"""bike-demand's machine-learning part: features, split, metric, submission, and the training
script run as a SageMaker container would (subprocess + SM_* env), then served by its hooks."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smkit.datasets import dataset_path

SCRIPTS = Path(__file__).resolve().parents[2] / "src/smkit/usecases/bike_demand/scripts"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"bike_{name}", SCRIPTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(SCRIPTS))
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(SCRIPTS))
    return module


features = _load("features")
submission = _load("submission")


@pytest.fixture(scope="module")
def train_df() -> pd.DataFrame:
    return pd.read_csv(dataset_path("bike_sharing", "train.csv.gz"))


@pytest.fixture(scope="module")
def test_df() -> pd.DataFrame:
    return pd.read_csv(dataset_path("bike_sharing", "test.csv.gz"))


# ----------------------------------------------------------------------------- features
def test_features_have_the_documented_columns_and_no_targets(train_df):
    x = features.make_features(train_df.head(200))
    assert list(x.columns) == list(features.FEATURES)
    assert not set(x.columns) & {"casual", "registered", "count"}
    assert len(x) == 200
    assert not x.isna().any().any()


def test_feature_values(train_df):
    x = features.make_features(train_df.head(48))
    first = x.iloc[0]  # 2011-01-01 00:00, a Saturday, not a working day
    assert (first["hour"], first["weekday"], first["month"], first["year"]) == (0, 5, 1, 2011)
    assert first["dayofyear"] == 1 and first["months_since_start"] == 0
    assert first["days_since_start"] == 0.0
    assert first["hour_workingday"] == 0 and first["night"] == 1
    assert x["hour"].tolist()[:24] == list(range(24))


def test_commute_and_leisure_peaks(test_df):
    x = features.make_features(test_df)
    commute = x[x["commute_peak"] == 1]
    assert set(commute["hour"]) == {7, 8, 17, 18, 19}
    assert (commute["workingday"] == 1).all()
    leisure = x[x["leisure_peak"] == 1]
    assert (leisure["workingday"] == 0).all() and leisure["hour"].between(10, 19).all()
    assert (x["hour_workingday"] == x["hour"] + 24 * x["workingday"]).all()


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.integers(0, 10_000), st.integers(0, 10_000))
def test_targets_never_change_the_features(train_df, casual, registered):
    rows = train_df.head(30)
    changed = rows.assign(casual=casual, registered=registered, count=casual + registered)
    pd.testing.assert_frame_equal(features.make_features(rows), features.make_features(changed))


def test_missing_column_and_bad_datetime_are_named(train_df):
    with pytest.raises(ValueError, match="humidity"):
        features.make_features(train_df.drop(columns=["humidity"]).head(5))
    bad = train_df.head(3).copy()
    bad.loc[1, "datetime"] = "yesterday"
    with pytest.raises(ValueError, match="yesterday"):
        features.make_features(bad)


def test_time_split_holds_out_days_17_to_19(train_df):
    train, valid = features.time_split(train_df, validation_days=3)
    assert len(train) + len(valid) == len(train_df)
    vdays = set(pd.to_datetime(valid["datetime"]).dt.day)
    tdays = set(pd.to_datetime(train["datetime"]).dt.day)
    assert vdays == {17, 18, 19}
    assert tdays == set(range(1, 17))
    # Every month keeps rows on both sides.
    assert pd.to_datetime(valid["datetime"]).dt.to_period("M").nunique() == 24


def test_kaggle_like_split_fits_days_1_to_9_and_holds_out_days_10_to_19(train_df):
    train, valid = features.kaggle_like_split(train_df)
    assert len(train) + len(valid) == len(train_df)  # Kaggle's train file ends on day 19
    assert set(pd.to_datetime(train["datetime"]).dt.day) == set(range(1, 10))
    assert set(pd.to_datetime(valid["datetime"]).dt.day) == set(range(10, 20))
    # every month of both years is on both sides, as in Kaggle's train/test split
    for frame in (train, valid):
        assert pd.to_datetime(frame["datetime"]).dt.to_period("M").nunique() == 24
    # later days (a test file's) are dropped, not put into validation
    late = pd.DataFrame(
        {"datetime": ["2011-01-05 00:00:00", "2011-01-15 01:00:00", "2011-01-25 02:00:00"]}
    )
    tr, va = features.kaggle_like_split(late)
    assert tr["datetime"].tolist() == ["2011-01-05 00:00:00"]
    assert va["datetime"].tolist() == ["2011-01-15 01:00:00"]
    with pytest.raises(ValueError, match="train_last_day"):
        features.kaggle_like_split(train_df, train_last_day=12, validation_last_day=12)


def test_context_features_ignore_row_order(train_df):
    rows = train_df.head(72)
    x = features.make_features(rows)
    shuffled = rows.sample(frac=1, random_state=3)
    y = features.make_features(shuffled)
    pd.testing.assert_frame_equal(y, x.iloc[shuffled.index].reset_index(drop=True))
    day = pd.to_datetime(rows["datetime"]).dt.normalize()
    assert np.allclose(x["day_temp_mean"], rows.groupby(day)["temp"].transform("mean"))
    assert (x["weather_prev"].iloc[1:].to_numpy() == rows["weather"].iloc[:-1].to_numpy()).all()
    assert x["hour_daytype"].between(0, 71).all()
    assert set(features.BASE_FEATURES) < set(features.FEATURES)


def test_averaged_regressor():
    class Const:
        def __init__(self, v):
            self.v = v

        def predict(self, x):
            return np.full(len(x), self.v)

    avg = features.AveragedRegressor([Const(1.0), Const(3.0)])
    assert avg.predict([0, 0]) == pytest.approx([2.0, 2.0])
    assert features.AveragedRegressor([Const(1.0), Const(3.0)], [3, 1]).predict([0]) == (
        pytest.approx([1.5])
    )
    with pytest.raises(ValueError, match="weight"):
        features.AveragedRegressor([Const(1.0)], [1, 2])


def test_time_split_edges(train_df):
    train, valid = features.time_split(train_df.head(100), validation_days=0)
    assert len(valid) == 0 and len(train) == 100
    with pytest.raises(ValueError, match="validation_days"):
        two_days = train_df[train_df["datetime"] < "2011-01-03"]
        features.time_split(two_days, validation_days=2)  # only two days in that month
    with pytest.raises(ValueError, match=">= 0"):
        features.time_split(train_df, validation_days=-1)


def test_rmsle():
    assert features.rmsle([0, 1, 2], [0, 1, 2]) == 0.0
    expected = np.sqrt(np.mean((np.log1p([1, 3]) - np.log1p([0, 7])) ** 2))
    assert features.rmsle([0, 7], [1, 3]) == pytest.approx(expected)
    assert features.rmsle([0], [-5]) == 0.0  # negative predictions are clipped to 0
    with pytest.raises(ValueError, match="shape"):
        features.rmsle([1, 2], [1])


def test_combine_predictions():
    c, r, t = np.log1p([1.0, 10.0]), np.log1p([3.0, 30.0]), np.log1p([4.0, 10.0])
    split = features.combine_predictions({"casual": c, "registered": r})
    assert split == pytest.approx([4.0, 40.0])
    assert features.combine_predictions({"count": t}) == pytest.approx([4.0, 10.0])
    blend = features.combine_predictions({"casual": c, "registered": r, "count": t})
    assert blend == pytest.approx([4.0, np.expm1((np.log1p(40.0) + np.log1p(10.0)) / 2)])
    assert features.combine_predictions({"count": [-3.0]}) == pytest.approx([0.0])
    with pytest.raises(ValueError, match="partner"):
        features.combine_predictions({"casual": c})
    with pytest.raises(ValueError, match="no predictions"):
        features.combine_predictions({})


# ----------------------------------------------------------------------------- submission
def test_submission_format(tmp_path, test_df):
    dts = test_df["datetime"].head(4)
    path = submission.write_submission(tmp_path / "s" / "submission.csv", dts, [1.5, -2, 0, 10])
    lines = path.read_text().splitlines()
    assert lines[0] == "datetime,count"
    assert lines[1] == "2011-01-20 00:00:00,1.5000"
    assert lines[2].endswith(",0.0000")  # clipped at 0
    frame = submission.make_submission(dts, [1, 2, 3, 4])
    assert list(frame.columns) == ["datetime", "count"]
    with pytest.raises(ValueError, match="pair up"):
        submission.make_submission(dts, [1, 2])
    with pytest.raises(ValueError, match="NaN"):
        submission.make_submission(dts, [1, 2, float("nan"), 4])
    with pytest.raises(ValueError, match="does not parse"):
        submission.make_submission(["soon"], [1])


# ----------------------------------------------------------------------------- container harness
def run_training(tmp_path: Path, channels: dict[str, pd.DataFrame], *args: str, timeout=300):
    """Run train.py like the training container: SM_* env, channel dirs, hyperparameter args."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SM_")}
    dirs = {
        "SM_MODEL_DIR": tmp_path / "model",
        "SM_OUTPUT_DATA_DIR": tmp_path / "output" / "data",
        "SM_OUTPUT_DIR": tmp_path / "output",
    }
    for name, frame in channels.items():
        d = tmp_path / "input" / "data" / name
        d.mkdir(parents=True, exist_ok=True)
        frame.to_csv(d / f"{name}.csv", index=False)
        dirs[f"SM_CHANNEL_{name.upper()}"] = d
    env.update({k: str(v) for k, v in dirs.items()})
    env["SM_CHANNELS"] = json.dumps(sorted(channels))
    env["SM_NUM_CPUS"] = "1"  # the CI machine is small and shared; threads would spin
    proc = subprocess.run(
        [sys.executable, str(SCRIPTS / "train.py"), *args],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return proc, dirs


def _metric(stdout: str, name: str) -> float:
    for line in stdout.splitlines():
        if line.startswith(f"{name}="):
            return float(line.split("=", 1)[1])
    raise AssertionError(f"no {name}= line in:\n{stdout}")


def _subset(train_df: pd.DataFrame, months: int = 4) -> pd.DataFrame:
    ts = pd.to_datetime(train_df["datetime"])
    return train_df[(ts.dt.year == 2012) & (ts.dt.month <= months)].reset_index(drop=True)


@pytest.fixture(scope="module")
def lightgbm_model(tmp_path_factory, train_df):
    pytest.importorskip("lightgbm")  # comes with smkit[autogluon]
    tmp = tmp_path_factory.mktemp("bike_lgb")
    proc, dirs = run_training(
        tmp,
        {"train": _subset(train_df)},
        "--trainer",
        "lightgbm",
        "--learning_rate",
        "0.1",
        "--max_rounds",
        "400",
        "--importance_repeats",
        "1",
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc, dirs


def test_lightgbm_training_writes_model_metrics_and_tables(lightgbm_model):
    proc, dirs = lightgbm_model
    rmsle = _metric(proc.stdout, "validation_rmsle")
    assert 0 < rmsle < 0.6
    out = dirs["SM_OUTPUT_DATA_DIR"]
    board = pd.read_csv(out / "leaderboard.csv")
    assert set(board["target"]) == {"casual", "registered", "count"}  # auto -> blend
    importance = pd.read_csv(out / "feature_importance.csv")
    assert set(importance["feature"]) == set(features.FEATURES)
    assert importance["feature"].iloc[0] in ("hour", "hour_workingday")
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["validation_rmsle"] == pytest.approx(rmsle, abs=1e-5)
    # Days 17-19 of four months, hourly (one hour is missing in the source data).
    assert 4 * 3 * 24 - 3 <= metrics["rows_validation"] <= 4 * 3 * 24
    model = dirs["SM_MODEL_DIR"]
    meta = json.loads((model / "bike_model.json").read_text())
    assert meta["targets"] == ["casual", "registered", "count"]
    assert not {"casual", "registered", "count"} & set(meta["features"])
    assert (model / "code" / "inference.py").is_file()
    assert (model / "code" / "features.py").is_file()


def test_inference_hooks_serve_test_rows(lightgbm_model, test_df):
    _, dirs = lightgbm_model
    inference = _load("inference")
    model = inference.model_fn(str(dirs["SM_MODEL_DIR"]))
    rows = test_df.head(48)

    with_header = inference.input_fn(rows.to_csv(index=False).encode(), "text/csv")
    body, ctype = inference.output_fn(inference.predict_fn(with_header, model), "application/json")
    assert ctype == "application/json"
    counts = json.loads(body)["predictions"]
    assert len(counts) == 48 and min(counts) >= 0
    # Night hours are quieter than the evening commute on a working day (2011-01-20, Thursday).
    assert counts[17] > 5 * counts[3]

    no_header = inference.input_fn(rows.to_csv(index=False, header=False), "text/csv")
    records = inference.input_fn(json.dumps(rows.to_dict(orient="records")), "application/json")
    wrapped = inference.input_fn(
        json.dumps({"instances": rows.to_dict(orient="records")}), "application/json; charset=utf-8"
    )
    for frame in (no_header, records, wrapped):
        assert inference.predict_fn(frame, model) == pytest.approx(counts)

    body, ctype = inference.output_fn(counts[:2], "text/csv")
    assert ctype == "text/csv" and len(body.splitlines()) == 2
    with pytest.raises(ValueError, match="content type"):
        inference.input_fn(b"x", "application/x-npy")
    with pytest.raises(ValueError, match="accept"):
        inference.output_fn(counts, "application/xml")
    with pytest.raises(ValueError, match="9 columns"):
        inference.input_fn("1,2,3\n", "text/csv")


def test_inference_builds_a_kaggle_submission(lightgbm_model, test_df, tmp_path):
    _, dirs = lightgbm_model
    inference = _load("inference")
    model = inference.model_fn(str(dirs["SM_MODEL_DIR"]))
    counts = inference.predict_fn(test_df, model)
    path = submission.write_submission(tmp_path / "submission.csv", test_df["datetime"], counts)
    sub = pd.read_csv(path)
    assert len(sub) == len(test_df) == 6493
    assert (sub["count"] >= 0).all()
    assert sub["datetime"].tolist() == test_df["datetime"].tolist()


def test_validation_channel_and_count_target(tmp_path, train_df):
    pytest.importorskip("lightgbm")
    data = _subset(train_df, months=3)
    train, valid = features.time_split(data, validation_days=3)
    proc, dirs = run_training(
        tmp_path,
        {"train": train.drop(columns=["casual", "registered"]), "validation": valid},
        "--trainer",
        '"lightgbm"',  # script mode JSON-encodes strings
        "--learning_rate",
        "0.1",
        "--max_rounds",
        "300",
        "--importance_repeats",
        "1",
        "--refit",
        "false",
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert _metric(proc.stdout, "validation_rmsle") < 0.7
    meta = json.loads((dirs["SM_MODEL_DIR"] / "bike_model.json").read_text())
    assert meta["targets"] == ["count"]


def test_failure_file_on_bad_input(tmp_path, train_df):
    proc, dirs = run_training(
        tmp_path,
        {"train": _subset(train_df, 2).drop(columns=["casual", "registered"])},
        "--trainer",
        "lightgbm",
        "--target_mode",
        "split",
    )
    assert proc.returncode == 1
    failure = (dirs["SM_OUTPUT_DIR"] / "failure").read_text()
    assert "casual" in failure and "target_mode count" in failure


def test_failure_file_without_train_channel(tmp_path):
    proc, dirs = run_training(tmp_path, {}, "--trainer", "lightgbm")
    assert proc.returncode == 1
    assert "train" in (dirs["SM_OUTPUT_DIR"] / "failure").read_text()


@pytest.mark.slow
def test_autogluon_training_and_serving(tmp_path, train_df, test_df):
    pytest.importorskip("autogluon.tabular")
    proc, dirs = run_training(
        tmp_path,
        {"train": _subset(train_df, months=3)},
        "--time_limit",
        "40",
        "--importance_repeats",
        "1",
        timeout=400,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert _metric(proc.stdout, "validation_rmsle") < 0.7
    board = pd.read_csv(dirs["SM_OUTPUT_DATA_DIR"] / "leaderboard.csv")
    assert {"target", "model", "score_val"} <= set(board.columns)
    assert board["model"].str.endswith("_FULL").any()
    inference = _load("inference")
    model = inference.model_fn(str(dirs["SM_MODEL_DIR"]))
    counts = inference.predict_fn(inference.input_fn(test_df.head(24).to_csv(index=False)), model)
    assert len(counts) == 24 and min(counts) >= 0


def test_gbm_trainer_scores_the_kaggle_like_split_with_same_run_references(tmp_path, train_df):
    pytest.importorskip("lightgbm")
    pytest.importorskip("xgboost")
    proc, dirs = run_training(
        tmp_path,
        {"train": _subset(train_df, months=3)},
        "--trainer",
        "gbm",
        "--max_rounds",
        "300",
        "--learning_rate",
        "0.1",
        "--xgb_learning_rate",
        "0.1",
        "--importance_repeats",
        "1",
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    metrics = json.loads((dirs["SM_OUTPUT_DATA_DIR"] / "metrics.json").read_text())
    assert metrics["validation_scheme"] == "kaggle"
    assert "days 10-19" in metrics["validation_split"]
    # days 10-19 of three months, hourly; the old split (days 17-19) is reported too
    assert 3 * 10 * 24 - 10 <= metrics["rows_validation"] <= 3 * 10 * 24
    assert 3 * 3 * 24 - 5 <= metrics["rows_last_days_validation"] <= 3 * 3 * 24
    assert metrics["rows_final_fit"] == len(_subset(train_df, months=3))
    assert _metric(proc.stdout, "validation_rmsle") < 0.6
    assert 0 < metrics["last_days_rmsle"] < 0.6
    assert 0 < metrics["reference_rmsle"] < 0.8
    assert metrics["targets"] == ["casual", "registered"]  # auto -> split for gbm
    board = pd.read_csv(dirs["SM_OUTPUT_DATA_DIR"] / "leaderboard.csv")
    assert {"LightGBM_FULL", "XGBoost_FULL"} <= set(board["model"])
    model_dir = dirs["SM_MODEL_DIR"]
    assert (model_dir / "xgb_casual.json").is_file() and (
        model_dir / "lgb_registered.txt"
    ).is_file()
    inference = _load("inference")
    model = inference.model_fn(str(model_dir))
    counts = model.predict(pd.read_csv(dataset_path("bike_sharing", "test.csv.gz")).head(48))
    assert len(counts) == 48 and min(counts) >= 0 and counts[17] > 5 * counts[3]
