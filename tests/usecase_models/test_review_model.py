"""review-endpoint's machine-learning part: cleaning, label mapping, the synthetic sample, and
the training script run as a SageMaker container would, then served by its hooks."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smkit.datasets import dataset_path

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ROOT / "src/smkit/usecases/review_endpoint/scripts"
SAMPLE_DIR = ROOT / "src/smkit/datasets/reviews"


def _load(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(path.parent))
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(path.parent))
    return module


text_clean = _load(SCRIPTS / "text_clean.py", "review_text_clean")
make_sample = _load(SAMPLE_DIR / "make_sample.py", "review_make_sample")


def _raw() -> pd.DataFrame:
    return pd.read_csv(
        dataset_path("reviews", "reviews_sample.csv"), dtype=str, keep_default_na=False
    )


# ----------------------------------------------------------------------------- cleaning
@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("Fits true to size &amp; soft", "Fits true to size & soft"),
        ("I&#39;m 5&#39;2&quot;", "I'm 5'2\""),
        ("double &amp;#39;escaped&amp;#39;", "double 'escaped'"),
        ("  two\n\nlines \t here ", "two lines here"),
        ("ｆｕｌｌ width", "full width"),
        ("bell\x07char", "bell char"),
        (None, ""),
        (float("nan"), ""),
        ("   \n ", ""),
    ],
)
def test_clean_text(raw, clean):
    assert text_clean.clean_text(raw) == clean


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_clean_text_is_idempotent_and_tidy(value):
    once = text_clean.clean_text(value)
    assert text_clean.clean_text(once) == once
    assert once == once.strip()
    assert "  " not in once and "\n" not in once


def test_map_labels_binary_and_booleans():
    labels, mapping = text_clean.map_labels([1, 0, "1", "0", True, "false", "yes", "N", "", None])
    assert labels == [1, 0, 1, 0, 1, 0, 1, 0, None, None]
    assert mapping.kind == "binary"


def test_map_labels_strings_drop_other_values():
    values = ["pos", "neg", "neg", "maybe", "pos", "neg", None]
    labels, mapping = text_clean.map_labels(values, positive_value="pos")
    assert labels == [1, 0, 0, None, 1, 0, None]
    assert (mapping.positive, mapping.negative) == ("pos", "neg")
    labels, _ = text_clean.map_labels(values, positive_value="pos", negative_value="maybe")
    assert labels == [1, None, None, 0, 1, None, None]


def test_map_labels_threshold():
    labels, mapping = text_clean.map_labels(["5", 4, 3.0, "1", "n/a"], label_threshold=4)
    assert labels == [1, 1, 0, 0, None]
    assert mapping.positive == ">= 4"


def test_map_labels_errors_say_which_option_to_set():
    with pytest.raises(ValueError, match="positive_value"):
        text_clean.map_labels(["good", "bad", "good"])
    with pytest.raises(ValueError, match="label_threshold"):
        text_clean.map_labels([1, 2, 3, 4, 5, 5])
    with pytest.raises(ValueError, match="does not occur"):
        text_clean.map_labels(["a", "b"], positive_value="c")
    with pytest.raises(ValueError, match="both"):
        text_clean.map_labels([1, 1, 1])
    with pytest.raises(ValueError, match="not both"):
        text_clean.map_labels([1, 0], positive_value="1", label_threshold=1)


def test_prepare_counts_what_it_drops():
    df = pd.DataFrame(
        {
            "Review Text": ["Great!", "great! ", "", "Bad &amp; thin", None, "ok", "Bad & thin"],
            "Recommended IND": ["1", "0", "1", "0", "1", "x", "0"],
        }
    )
    out, stats = text_clean.prepare(df)
    assert out["text"].tolist() == ["Great!", "Bad & thin"]
    assert out["label"].tolist() == [1, 0]
    assert out["row_id"].tolist() == [0, 3]
    assert stats["dropped_empty_text"] == 2
    assert stats["dropped_bad_label"] == 1
    assert stats["dropped_duplicates"] == 2
    assert stats["conflicting_duplicates"] == 1
    assert stats["rows_out"] == 2
    with pytest.raises(ValueError, match="missing column"):
        text_clean.prepare(df, text_column="Body")


def test_stratified_split_is_disjoint_complete_and_balanced():
    df = pd.DataFrame({"text": [f"t{i}" for i in range(100)], "label": [1] * 70 + [0] * 30})
    parts = text_clean.stratified_split(df, fractions={"validation": 0.2, "test": 0.1}, seed=3)
    assert list(parts) == ["train", "validation", "test"]
    texts = [t for p in parts.values() for t in p["text"]]
    assert sorted(texts) == sorted(df["text"])
    assert (len(parts["validation"]), len(parts["test"])) == (20, 10)
    assert parts["validation"]["label"].sum() == 14
    again = text_clean.stratified_split(df, fractions={"validation": 0.2, "test": 0.1}, seed=3)
    assert again["test"].equals(parts["test"])
    with pytest.raises(ValueError, match="fractions"):
        text_clean.stratified_split(df, fractions={"validation": 0.6, "test": 0.5})


# ----------------------------------------------------------------------------- the sample
def test_sample_is_regenerated_byte_for_byte(tmp_path):
    path = make_sample.write(tmp_path / "s.csv")
    assert path.read_bytes() == dataset_path("reviews", "reviews_sample.csv").read_bytes()


def test_sample_is_messy_like_real_reviews():
    raw = _raw()
    assert list(raw.columns[1:8]) == [
        "Clothing ID",
        "Age",
        "Title",
        "Review Text",
        "Rating",
        "Recommended IND",
        "Positive Feedback Count",
    ]
    texts = raw["Review Text"]
    assert len(raw) >= 300
    assert texts.str.contains("&amp;|&#39;|&quot;").sum() > 20
    assert texts.str.contains("\n").sum() > 20
    assert (texts.str.strip() == "").sum() > 5
    assert texts.str.contains('"').sum() > 5
    cleaned, stats = text_clean.prepare(raw)
    assert stats["dropped_duplicates"] > 10
    assert 0.5 < cleaned["label"].mean() < 0.8


# ----------------------------------------------------------------------------- container harness
def run_training(tmp_path: Path, channels: dict[str, pd.DataFrame], *args: str):
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
    proc = subprocess.run(
        [sys.executable, str(SCRIPTS / "train.py"), *args],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return proc, dirs


def _metric(stdout: str, name: str) -> float:
    for line in stdout.splitlines():
        if line.startswith(f"{name}="):
            return float(line.split("=", 1)[1])
    raise AssertionError(f"no {name}= line in:\n{stdout}")


@pytest.fixture(scope="module")
def splits() -> dict[str, pd.DataFrame]:
    """Clean + dedupe first (so no text crosses splits), then ship the raw, messy rows."""
    raw = _raw()
    cleaned, _ = text_clean.prepare(raw)
    parts = text_clean.stratified_split(cleaned, fractions={"validation": 0.2, "test": 0.2}, seed=0)
    return {name: raw.iloc[part["row_id"]].reset_index(drop=True) for name, part in parts.items()}


@pytest.fixture(scope="module")
def trained(tmp_path_factory, splits):
    tmp = tmp_path_factory.mktemp("review")
    proc, dirs = run_training(
        tmp, {"train": splits["train"], "validation": splits["validation"]}, "--seed", "0"
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc, dirs


def test_training_prints_metrics_and_writes_the_model(trained):
    proc, dirs = trained
    auc = _metric(proc.stdout, "validation_auc")
    assert 0.85 < auc <= 1.0
    assert 0 < _metric(proc.stdout, "validation_f1") <= 1
    # C is chosen by cross-validated AUC on the train split; validation scores that choice
    search = pd.read_csv(dirs["SM_OUTPUT_DATA_DIR"] / "c_search.csv")
    assert len(search) == 7 and search["cv_auc"].between(0.5, 1.0).all()
    best = search["cv_auc"].idxmax()
    meta = json.loads((dirs["SM_MODEL_DIR"] / "review_model.json").read_text())
    assert meta["C"] == search.loc[best, "C"]
    assert search.loc[best, "auc"] == pytest.approx(auc, abs=1e-5)
    assert search["auc"].notna().sum() == 1
    assert _metric(proc.stdout, "cv_auc") == pytest.approx(search.loc[best, "cv_auc"], abs=1e-5)
    metrics = json.loads((dirs["SM_OUTPUT_DATA_DIR"] / "metrics.json").read_text())
    assert "cross-validated" in metrics["selection"] and metrics["lexicon"] is True
    assert meta["vocabulary"]["word"] > 100 and meta["vocabulary"]["char"] > 1000
    for name in ("text_clean.py", "lexicon.py", "sentiment_lexicon.tsv"):
        assert (dirs["SM_MODEL_DIR"] / "code" / name).is_file(), name


def test_endpoint_hooks_score_the_held_out_test_split(trained, splits):
    from sklearn.metrics import roc_auc_score

    _, dirs = trained
    inference = _load(SCRIPTS / "inference.py", "review_inference")
    model = inference.model_fn(str(dirs["SM_MODEL_DIR"]))
    test, _ = text_clean.prepare(splits["test"])
    body = json.dumps({"instances": splits["test"]["Review Text"].tolist()})
    data = inference.input_fn(body.encode(), "application/json")
    out, ctype = inference.output_fn(inference.predict_fn(data, model), "application/json")
    assert ctype == "application/json"
    probs = json.loads(out)["predictions"]
    assert len(probs) == len(splits["test"])
    assert all(0.0 <= p <= 1.0 for p in probs)
    y = splits["test"]["Recommended IND"].astype(int)
    assert roc_auc_score(y, probs) > 0.85
    assert len(test) == len(splits["test"])  # the test split was cleaned and deduped upstream


def test_endpoint_input_forms(trained):
    _, dirs = trained
    inference = _load(SCRIPTS / "inference.py", "review_inference")
    model = inference.model_fn(str(dirs["SM_MODEL_DIR"]))
    good = "I love this dress, so flattering &amp; soft!"
    bad = "Poor quality, it pilled after two wears. It's going back."
    [p_good, p_bad] = inference.predict_fn(inference.input_fn(json.dumps([good, bad])), model)
    assert p_good > 0.5 > p_bad
    assert inference.predict_fn(inference.input_fn(json.dumps(good)), model) == [p_good]
    records = {"instances": [{"Review Text": good}, {"text": bad}]}
    assert inference.predict_fn(inference.input_fn(json.dumps(records)), model) == pytest.approx(
        [p_good, p_bad]
    )
    csv_body = f'Review Text\n"{good}"\n"{bad}"\n'
    csv_probs = inference.predict_fn(inference.input_fn(csv_body, "text/csv"), model)
    assert csv_probs == pytest.approx([p_good, p_bad])
    body, ctype = inference.output_fn(csv_probs, "text/csv")
    assert ctype == "text/csv" and len(body.splitlines()) == 2
    assert inference.predict_fn(inference.input_fn('{"instances": []}'), model) == []
    with pytest.raises(ValueError, match="instances"):
        inference.input_fn('{"texts": ["a"]}', "application/json")
    with pytest.raises(ValueError, match="content type"):
        inference.input_fn(b"a", "application/x-npy")
    with pytest.raises(ValueError, match="no text field"):
        inference.predict_fn([{"body": "x"}], model)


def test_rating_threshold_and_string_labels(tmp_path, splits):
    train = splits["train"].copy()
    proc, _ = run_training(
        tmp_path / "rating",
        {"train": train},
        "--label_column",
        '"Rating"',
        "--label_threshold",
        "4",
        "--c_grid",
        "1",
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert _metric(proc.stdout, "validation_auc") > 0.7
    assert '"kind": "threshold"' in proc.stdout

    train["verdict"] = train["Recommended IND"].map({"1": "yes please", "0": "no thanks"})
    train.loc[train.index[:7], "verdict"] = "unsure"
    proc, _ = run_training(
        tmp_path / "strings",
        {"train": train},
        "--label_column",
        "verdict",
        "--positive_value",
        "yes please",
        "--c_grid",
        "1",
        "--refit",
        "false",
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert '"dropped_bad_label": 7' in proc.stdout


def test_failure_file_names_the_fix(tmp_path, splits):
    proc, dirs = run_training(
        tmp_path, {"train": splits["train"]}, "--label_column", "Title", "--c_grid", "1"
    )
    assert proc.returncode == 1
    failure = (dirs["SM_OUTPUT_DIR"] / "failure").read_text()
    assert "positive_value" in failure


# ----------------------------------------------------------------------------- real text
def test_cross_validated_auc_on_real_review_snippets(capsys, monkeypatch):
    """The shipped real-text sample (Amazon review sentences rated by humans, MIT, see
    ``datasets/amazon_review_snippets/README.md``): 5-fold cross-validated ROC AUC with a
    review's sentences kept in one fold, TF-IDF alone vs TF-IDF + lexicon features, C = 3."""
    import numpy as np
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedGroupKFold

    monkeypatch.syspath_prepend(str(SCRIPTS))  # train.py imports lexicon.py lazily
    train = _load(SCRIPTS / "train.py", "review_train")
    lexicon = _load(SCRIPTS / "lexicon.py", "review_lexicon")
    data = pd.read_csv(dataset_path("amazon_review_snippets", "snippets.csv.gz"))
    assert len(data) == 2985 and data["review_id"].nunique() == 298
    assert set(data["label"]) == {0, 1} and (data["label"] == (data["sentiment"] > 0)).all()
    texts = [text_clean.clean_text(t) for t in data["text"]]
    y = data["label"].to_numpy()
    args = train.parse_args(["--lexicon", "true"])
    n_lex = len(lexicon.FEATURE_NAMES)
    oof = {"tfidf": np.zeros(len(y)), "tfidf+lexicon": np.zeros(len(y))}
    folds = StratifiedGroupKFold(5, shuffle=True, random_state=0)
    for tr, te in folds.split(texts, y, data["review_id"]):
        feats = train.build_features(args)
        x_tr = feats.fit_transform([texts[i] for i in tr]).tocsr()
        x_te = feats.transform([texts[i] for i in te]).tocsr()
        for name, cols in (("tfidf", slice(0, -n_lex)), ("tfidf+lexicon", slice(None))):
            clf = train.build_classifier(args, 3.0).fit(x_tr[:, cols], y[tr])
            oof[name][te] = clf.predict_proba(x_te[:, cols])[:, 1]
    auc = {name: roc_auc_score(y, p) for name, p in oof.items()}
    with capsys.disabled():
        print(f"\n[real review snippets, 5-fold grouped CV] ROC AUC {auc}")
    assert auc["tfidf+lexicon"] >= 0.88  # the goal on real review text
    assert auc["tfidf+lexicon"] > auc["tfidf"]
    assert auc["tfidf"] > 0.8
