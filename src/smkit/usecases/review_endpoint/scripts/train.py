"""Training script for ``review-endpoint`` (SageMaker script mode; never imports smkit).

Channels (CSV files with a header row; ``.csv.gz`` is fine):

- ``train`` (required): a text column and a binary label column (``--text_column``,
  ``--label_column``; labels as 0/1, booleans, two strings with ``--positive_value``, or a
  rating with ``--label_threshold``). Rows are cleaned, empty texts and unmappable labels
  dropped, duplicate texts removed (`text_clean`).
- ``validation`` (optional): scores the chosen model (``validation_auc``); without it, a
  stratified ``--validation_fraction`` of ``train`` is held out.
- ``test`` (optional): scored once with the final model (``test_auc=...``).

Model: TF-IDF word 1-2-grams + character 2-5-grams (``char_wb``), both sublinear, plus (with
``--lexicon true``, the default) a few standardised sentiment-lexicon features
(`lexicon`, the VADER lexicon shipped next to this script), in one matrix, and a
class-weighted logistic regression. ``C`` is chosen from ``--c_grid`` by ``--cv_folds``-fold
stratified cross-validated ROC AUC on the train split (``cv_auc``; with ``--cv_folds`` below 2,
by validation AUC as before); the validation split then scores the model fitted on train with
that ``C`` (``validation_auc``), and the final model is refit on train + validation
(``--refit false`` keeps the train-only model).

Writes ``model.joblib`` and ``review_model.json`` (+ ``code/``) to ``SM_MODEL_DIR``,
``c_search.csv`` and ``metrics.json`` to ``SM_OUTPUT_DATA_DIR``, and prints
``validation_auc=...`` (plus F1 and accuracy at 0.5). On error it writes the reason to
``SM_OUTPUT_DIR/failure`` and exits 1.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import shutil
import sys
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

MODEL_FILE = "model.joblib"
MODEL_META = "review_model.json"
FORMAT_VERSION = 1


def _bool(value: str) -> bool:
    text = str(value).strip().strip('"').lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true/false, got {value!r}")


def _str(value: str) -> str:
    # Script mode JSON-encodes string hyperparameters ("abc" -> "\"abc\""); accept both.
    text = str(value)
    if len(text) >= 2 and text[0] == text[-1] == '"':
        return json.loads(text)
    return text


def _opt_float(value: str) -> float | None:
    text = _str(value).strip().lower()
    return None if text in ("", "none", "null") else float(text)


def _grid(value: str) -> list[float]:
    items = [float(v) for v in _str(value).replace(";", ",").split(",") if v.strip()]
    if not items or any(v <= 0 for v in items):
        raise argparse.ArgumentTypeError(f"c_grid needs positive numbers, got {value!r}")
    return items


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Hyperparameters (``--key value``) and the container's ``SM_*`` locations."""
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    p.add_argument("--text_column", type=_str, default="Review Text")
    p.add_argument("--label_column", type=_str, default="Recommended IND")
    p.add_argument("--positive_value", type=_str, default=None)
    p.add_argument("--negative_value", type=_str, default=None)
    p.add_argument("--label_threshold", type=_opt_float, default=None)
    p.add_argument("--c_grid", type=_grid, default=_grid("0.03,0.1,0.3,1,3,10,30"))
    p.add_argument("--cv_folds", type=int, default=5, help="CV folds choosing C (<2: validation)")
    p.add_argument("--lexicon", type=_bool, default=True, help="add sentiment-lexicon features")
    p.add_argument("--lexicon_weight", type=float, default=0.3)
    p.add_argument("--word_ngram_max", type=int, default=2)
    p.add_argument("--char_ngram_min", type=int, default=2)
    p.add_argument("--char_ngram_max", type=int, default=5)
    p.add_argument("--min_df", type=int, default=1)
    p.add_argument("--max_features", type=int, default=200000)
    p.add_argument("--class_weight", type=_str, default="balanced", choices=["balanced", "none"])
    p.add_argument("--validation_fraction", type=float, default=0.2)
    p.add_argument("--refit", type=_bool, default=True)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--model_dir", default=os.environ.get("SM_MODEL_DIR", "/opt/ml/model"))
    p.add_argument(
        "--output_data_dir", default=os.environ.get("SM_OUTPUT_DATA_DIR", "/opt/ml/output/data")
    )
    p.add_argument("--output_dir", default=os.environ.get("SM_OUTPUT_DIR", "/opt/ml/output"))
    p.add_argument("--train", default=os.environ.get("SM_CHANNEL_TRAIN"))
    p.add_argument("--validation", default=os.environ.get("SM_CHANNEL_VALIDATION"))
    p.add_argument("--test", default=os.environ.get("SM_CHANNEL_TEST"))
    return p.parse_args(argv)


def _csv_files(channel: str | None, name: str) -> list[str]:
    if not channel:
        raise ValueError(f"no {name!r} channel: set SM_CHANNEL_{name.upper()} or --{name}")
    if os.path.isfile(channel):
        return [channel]
    files = sorted(
        f
        for pattern in ("*.csv", "*.csv.gz")
        for f in glob.glob(os.path.join(channel, "**", pattern), recursive=True)
    )
    if not files:
        raise ValueError(f"channel {name!r} at {channel} holds no .csv or .csv.gz file")
    return files


def read_channel(args: argparse.Namespace, channel: str | None, name: str):
    """Read, clean and deduplicate one channel; return ``(frame, stats)``."""
    import pandas as pd
    from text_clean import prepare

    raw = pd.concat(
        [pd.read_csv(f, dtype=str, keep_default_na=False) for f in _csv_files(channel, name)],
        ignore_index=True,
    )
    # Keep empty cells as "" (not NaN) so the label mapping sees the real values.
    frame, stats = prepare(
        raw,
        text_column=args.text_column,
        label_column=args.label_column,
        positive_value=args.positive_value,
        negative_value=args.negative_value,
        label_threshold=args.label_threshold,
    )
    print(f"[{name}] {json.dumps(stats, sort_keys=True)}", flush=True)
    return frame, stats


def build_features(args: argparse.Namespace):
    """The TF-IDF word + char n-gram (+ lexicon) features, as one ``FeatureUnion``."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import FeatureUnion

    words = TfidfVectorizer(
        analyzer="word",
        ngram_range=(1, args.word_ngram_max),
        lowercase=True,
        strip_accents="unicode",
        sublinear_tf=True,
        min_df=args.min_df,
        max_features=args.max_features,
        token_pattern=r"(?u)\b\w[\w']*\b",
    )
    chars = TfidfVectorizer(
        analyzer="char_wb",
        ngram_range=(args.char_ngram_min, args.char_ngram_max),
        lowercase=True,
        strip_accents="unicode",
        sublinear_tf=True,
        min_df=args.min_df,
        max_features=args.max_features,
    )
    parts = [("word", words), ("char", chars)]
    if getattr(args, "lexicon", False):
        from lexicon import LexiconFeatures

        parts.append(("lexicon", LexiconFeatures(weight=args.lexicon_weight)))
    return FeatureUnion(parts)


def build_classifier(args: argparse.Namespace, c: float):
    """The class-weighted logistic regression."""
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(
        C=c,
        solver="liblinear",
        max_iter=2000,
        class_weight=None if args.class_weight == "none" else "balanced",
        random_state=args.seed,
    )


def build_model(args: argparse.Namespace, c: float):
    """Features and classifier as one Pipeline (steps ``tfidf`` and ``clf``)."""
    from sklearn.pipeline import Pipeline

    return Pipeline([("tfidf", build_features(args)), ("clf", build_classifier(args, c))])


def cross_validated_auc(args: argparse.Namespace, texts: list[str], y, grid) -> dict[float, float]:
    """Stratified ``--cv_folds``-fold out-of-fold ROC AUC of every ``C`` in ``grid``.

    The features are fitted once per fold (on that fold's training texts), then every ``C``
    reuses them.
    """
    import numpy as np
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold

    folds = min(args.cv_folds, int(np.bincount(y, minlength=2).min()))
    if folds < 2:
        raise ValueError(f"cross-validation needs >= 2 texts of each class, got {np.bincount(y)}")
    oof = {c: np.zeros(len(y)) for c in grid}
    splitter = StratifiedKFold(folds, shuffle=True, random_state=args.seed)
    for tr, te in splitter.split(np.zeros(len(y)), y):
        feats = build_features(args)
        x_tr = feats.fit_transform([texts[i] for i in tr])
        x_te = feats.transform([texts[i] for i in te])
        for c in grid:
            oof[c][te] = build_classifier(args, c).fit(x_tr, y[tr]).predict_proba(x_te)[:, 1]
    return {c: float(roc_auc_score(y, oof[c])) for c in grid}


def scores(y, prob) -> dict[str, float]:
    """ROC AUC, F1, accuracy (threshold 0.5) and the confusion matrix."""
    from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, roc_auc_score

    pred = (prob >= 0.5).astype(int)
    tn, fp, fn, tp = confusion_matrix(y, pred, labels=[0, 1]).ravel()
    return {
        "auc": float(roc_auc_score(y, prob)),
        "f1": float(f1_score(y, pred, zero_division=0)),
        "accuracy": float(accuracy_score(y, pred)),
        "tn": int(tn),
        "fp": int(fp),
        "fn": int(fn),
        "tp": int(tp),
    }


def run(args: argparse.Namespace) -> dict:
    """Tune ``C`` on validation, refit, score, save; return the metrics."""
    import joblib
    import numpy as np
    import pandas as pd
    from text_clean import stratified_split

    started = time.time()
    model_dir = Path(args.model_dir)
    out_dir = Path(args.output_data_dir)
    model_dir.mkdir(parents=True, exist_ok=True)
    out_dir.mkdir(parents=True, exist_ok=True)

    train, train_stats = read_channel(args, args.train, "train")
    if args.validation:
        validation, _ = read_channel(args, args.validation, "validation")
        # A validation text that also occurs in train would flatter the score: drop it.
        seen = set(train["text"].str.casefold())
        validation = validation[~validation["text"].str.casefold().isin(seen)]
    else:
        parts = stratified_split(
            train, fractions={"validation": args.validation_fraction}, seed=args.seed
        )
        train, validation = parts["train"], parts["validation"]
    for name, frame in (("train", train), ("validation", validation)):
        if frame["label"].nunique() < 2:
            raise ValueError(f"channel {name!r} needs both classes after cleaning")

    y_train = train["label"].to_numpy()
    y_val = validation["label"].to_numpy()
    search = []
    best_c, best_auc, best_scores = None, -1.0, {}
    cv_auc: dict[float, float] = {}
    if args.cv_folds >= 2:
        cv_auc = cross_validated_auc(args, train["text"].tolist(), y_train, args.c_grid)
        best_c = max(args.c_grid, key=lambda c: (cv_auc[c], -args.c_grid.index(c)))
        for c in args.c_grid:
            print(f"[search] C={c:g} cross-validated AUC {cv_auc[c]:.4f}", flush=True)
        model = build_model(args, best_c).fit(train["text"].tolist(), y_train)
        best_scores = scores(y_val, model.predict_proba(validation["text"].tolist())[:, 1])
        search = [{"C": c, "cv_auc": cv_auc[c]} for c in args.c_grid]
        search[args.c_grid.index(best_c)].update(best_scores)
    else:
        for c in args.c_grid:
            model = build_model(args, c).fit(train["text"].tolist(), y_train)
            prob = model.predict_proba(validation["text"].tolist())[:, 1]
            s = scores(y_val, prob)
            search.append({"C": c, **s})
            print(f"[search] C={c:g} validation_auc={s['auc']:.4f}", flush=True)
            if s["auc"] > best_auc + 1e-12:
                best_c, best_auc, best_scores = c, s["auc"], s
    pd.DataFrame(search).to_csv(out_dir / "c_search.csv", index=False)

    if args.refit:
        texts = train["text"].tolist() + validation["text"].tolist()
        labels = np.concatenate([y_train, y_val])
        final = build_model(args, best_c).fit(texts, labels)
    else:
        final = build_model(args, best_c).fit(train["text"].tolist(), y_train)
    joblib.dump(final, model_dir / MODEL_FILE)
    meta = {
        "format_version": FORMAT_VERSION,
        "C": best_c,
        "text_column": args.text_column,
        "label_mapping": train_stats["label_mapping"],
        "refit_on_validation": bool(args.refit),
        "lexicon": bool(args.lexicon),
        "vocabulary": {
            name: len(vec.vocabulary_)
            for name, vec in final.named_steps["tfidf"].transformer_list
            if hasattr(vec, "vocabulary_")
        },
    }
    (model_dir / MODEL_META).write_text(json.dumps(meta, indent=2))
    code = model_dir / "code"
    code.mkdir(exist_ok=True)
    for name in ("inference.py", "text_clean.py", "lexicon.py", "sentiment_lexicon.tsv"):
        shutil.copy2(HERE / name, code / name)

    metrics: dict = {
        "best_C": best_c,
        "selection": (
            f"C by {min(args.cv_folds, 99)}-fold cross-validated ROC AUC on the train split"
            if cv_auc
            else "C by ROC AUC on the validation split"
        ),
        **({"cv_auc": cv_auc[best_c]} if cv_auc else {}),
        "lexicon": bool(args.lexicon),
        **{f"validation_{k}": v for k, v in best_scores.items()},
        "rows_train": len(train),
        "rows_validation": len(validation),
        "train_cleaning": train_stats,
    }
    print(f"best_C={best_c:g}", flush=True)
    if cv_auc:
        print(f"cv_auc={cv_auc[best_c]:.5f}", flush=True)
    print(f"validation_auc={best_scores['auc']:.5f}", flush=True)
    print(f"validation_f1={best_scores['f1']:.5f}", flush=True)
    print(f"validation_accuracy={best_scores['accuracy']:.5f}", flush=True)
    if args.test:
        test, _ = read_channel(args, args.test, "test")
        if test["label"].nunique() == 2:
            t = scores(test["label"].to_numpy(), final.predict_proba(test["text"].tolist())[:, 1])
            metrics.update({f"test_{k}": v for k, v in t.items()})
            metrics["rows_test"] = len(test)
            print(f"test_auc={t['auc']:.5f}", flush=True)
    metrics["train_seconds"] = time.time() - started
    (out_dir / "metrics.json").write_text(json.dumps(metrics, indent=2))
    print(f"train_seconds={metrics['train_seconds']:.1f}", flush=True)
    return metrics


def main(argv: list[str] | None = None) -> int:
    """Entry point: run, or write ``failure`` and exit 1."""
    args = parse_args(argv)
    try:
        run(args)
    except Exception as exc:
        traceback.print_exc()
        try:
            Path(args.output_dir).mkdir(parents=True, exist_ok=True)
            (Path(args.output_dir) / "failure").write_text(f"{type(exc).__name__}: {exc}"[:1024])
        except OSError:
            pass
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
