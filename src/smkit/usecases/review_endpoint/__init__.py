"""``review-endpoint``: a text review classifier behind an endpoint.

The flow, end to end:

1. **preprocess**: read a CSV with a text column and a binary label column (default: the
   shipped synthetic sample in the schema of Kaggle's "Women's E-Commerce Clothing Reviews",
   ``Review Text`` / ``Recommended IND``); clean the texts (HTML entities, Unicode, line
   breaks), map the labels (0/1, booleans, two strings with ``positive_value``, or a rating
   with ``label_threshold``), drop empty texts and unmappable labels, remove duplicate texts.
   Every drop is counted in the report. Deduplicating *before* splitting keeps a text from
   landing in two splits;
2. **stage**: the kept rows, as they were in the file (messy text included, plus a ``row_id``
   column: the row's position in the input), are split per class into train / validation /
   test (`smkit.staging.StratifiedSplit`) and uploaded, one channel each;
3. **train**: a script-mode job (``framework="sklearn"``, ``scripts/train.py``): TF-IDF word
   1-2-grams + character 2-5-grams (sublinear) + sentiment-lexicon features (the VADER
   lexicon, MIT, shipped in ``scripts/``) and a class-weighted logistic regression, ``C``
   chosen by cross-validated ROC AUC on the train channel, scored on validation, then refit
   on train + validation. The job cleans the text itself (the same
   ``scripts/text_clean.py``) and scores the test channel once, after the choice;
4. **deploy**: ``scripts/inference.py`` behind an endpoint: ``{"instances": ["text", ...]}``
   in, ``{"predictions": [p, ...]}`` (positive-class probabilities) out;
5. **evaluate**: the raw test texts sent through the endpoint's predictor in batches; ROC
   AUC, F1, accuracy and the confusion matrix at ``threshold`` from its answers; ROC curve and
   confusion-matrix figures; ``predictions.csv`` (``row_id``, ``label``, ``probability``,
   ``predicted``);
6. **teardown**: the endpoint is deleted, or with ``keep_endpoint`` left running (locally it
   deletes itself after ``idle_timeout`` seconds without requests) and its URL printed.

``scripts/`` is a SageMaker script-mode source dir and never imports smkit, so the same dir
runs in a SageMaker container.
"""

from __future__ import annotations

import csv
import importlib.util
import json
import math
import sys
import time
from pathlib import Path
from typing import Any, ClassVar

import attrs

from smkit.backends import Capability
from smkit.errors import ConfigError, FormatError, ModelError, SmkitError, SourceNotFoundError
from smkit.report import Report
from smkit.usecases._base import UseCaseConfig

__all__ = ["SCRIPTS_DIR", "ReviewEndpoint", "ReviewEndpointConfig", "load_text_clean"]

#: Directory of the training and inference scripts (the job's and the endpoint's code).
SCRIPTS_DIR = Path(__file__).resolve().parent / "scripts"

#: Regexes reading the training script's log lines into job metrics.
METRICS = {
    "validation:auc": r"validation_auc=([0-9.]+)",
    "validation:f1": r"validation_f1=([0-9.]+)",
    "validation:accuracy": r"validation_accuracy=([0-9.]+)",
    "test:auc": r"test_auc=([0-9.]+)",
    "cv:auc": r"cv_auc=([0-9.]+)",
}

#: Which split every reported figure comes from.
METRIC_SPLITS = {
    "training.cv_auc": "k-fold cross-validation on the train channel (chooses C)",
    "training.validation_*": "the validation channel, scored by the model fitted on train only",
    "training.test_auc": "the test channel, scored in the job by the final model",
    "test_*": "the test channel through the endpoint (final model, refit on train + validation)",
}
#: Cross-validation folds choosing ``C`` in quick mode (the script's default is 5).
QUICK_CV_FOLDS = 3

#: ``C`` values tried in quick mode (the script's default grid has seven).
QUICK_C_GRID = "0.3,1,3,10"
#: Rows read from ``data`` at most in quick mode (the shipped sample has fewer).
QUICK_MAX_ROWS = 2000


def _fraction(inst: Any, attr: attrs.Attribute, value: Any) -> None:
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    if not ok or math.isnan(value) or not 0 < value < 0.5:
        raise ConfigError(f"review-endpoint {attr.name}={value!r} must be a number in (0, 0.5)")


def _positive_int(inst: Any, attr: attrs.Attribute, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"review-endpoint {attr.name}={value!r} must be an integer >= 1")


@attrs.define
class ReviewEndpointConfig(UseCaseConfig):
    """Settings of ``review-endpoint``.

    Attributes:
        data: CSV file with a text and a binary label column (e.g. Kaggle's
            ``Womens Clothing E-Commerce Reviews.csv``). Default: the shipped synthetic sample.
        text_column: The review-text column.
        label_column: The label column: 0/1, booleans, two distinct strings (see
            ``positive_value``) or a numeric rating (see ``label_threshold``).
        positive_value: The positive label when the column holds strings; the most frequent
            other value is negative, rows with any further value are dropped and counted.
        label_threshold: For a numeric rating: positive when ``rating >= label_threshold``.
        validation_fraction: Share of the cleaned rows in the validation channel (tunes ``C``).
        test_fraction: Share of the cleaned rows in the held-out test channel.
        max_rows: Read at most this many rows of ``data`` (0: all; quick mode: 2000).
        c_grid: Comma-separated ``C`` values tried on validation (default: the training
            script's 7-value grid; quick mode: ``0.3,1,3,10``).
        threshold: Probability at or above which a review is predicted positive (F1,
            accuracy, confusion matrix).
        invoke_batch: Texts per endpoint request.
        seed: Seed of the split and the model.
        prefix: ``s3://`` prefix for the channels (default
            ``s3://<default bucket>/review-endpoint/``).
        endpoint_name: Endpoint name (default ``review-endpoint-<timestamp>``).
        instance_type: Training instance type on AWS.
        endpoint_instance_type: Endpoint instance type on AWS.
        keep_endpoint: Leave the endpoint running at the end (its URL is printed).
        idle_timeout: With ``keep_endpoint``: seconds without requests after which the local
            endpoint deletes itself (SageMaker endpoints have no idle timeout; delete them
            with ``smkit endpoints delete NAME``).
    """

    data: str | None = None
    text_column: str = "Review Text"
    label_column: str = "Recommended IND"
    positive_value: str | None = None
    label_threshold: float | None = None
    validation_fraction: float = attrs.field(default=0.2, validator=_fraction)
    test_fraction: float = attrs.field(default=0.2, validator=_fraction)
    max_rows: int = 0
    c_grid: str | None = None
    threshold: float = 0.5
    invoke_batch: int = attrs.field(default=64, validator=_positive_int)
    seed: int = 0
    prefix: str | None = None
    endpoint_name: str | None = None
    instance_type: str = "ml.m5.xlarge"
    endpoint_instance_type: str = "ml.m5.large"
    keep_endpoint: bool = False
    idle_timeout: float = 900.0

    def __attrs_post_init__(self) -> None:
        if self.positive_value is not None and self.label_threshold is not None:
            raise ConfigError(
                "review-endpoint: set either positive_value (string labels) or label_threshold "
                "(a numeric rating), not both"
            )
        if not self.text_column or not self.label_column:
            raise ConfigError("review-endpoint: text_column and label_column must be non-empty")
        if self.text_column == self.label_column:
            raise ConfigError(
                f"review-endpoint: text_column and label_column are both {self.text_column!r}"
            )
        if isinstance(self.max_rows, bool) or not isinstance(self.max_rows, int):
            raise ConfigError(f"review-endpoint max_rows={self.max_rows!r} must be an integer")
        if self.max_rows < 0:
            raise ConfigError(f"review-endpoint max_rows={self.max_rows!r} must be >= 0")
        if not 0 < self.threshold < 1:
            raise ConfigError(f"review-endpoint threshold={self.threshold!r} must be in (0, 1)")
        if not self.idle_timeout > 0:
            raise ConfigError(
                f"review-endpoint idle_timeout={self.idle_timeout!r} must be > 0 seconds"
            )
        if self.validation_fraction + self.test_fraction >= 0.8:
            raise ConfigError(
                "review-endpoint: validation_fraction + test_fraction leaves under 20% to train"
            )
        if self.c_grid is not None:
            try:
                values = [float(v) for v in self.c_grid.split(",") if v.strip()]
            except ValueError:
                values = []
            if not values or any(not v > 0 for v in values):
                raise ConfigError(
                    f"review-endpoint c_grid={self.c_grid!r}: give positive numbers "
                    "separated by commas, e.g. 0.3,1,3"
                )
        if self.prefix is not None and not self.prefix.startswith("s3://"):
            raise ConfigError(f"review-endpoint prefix={self.prefix!r} must be an s3:// URI")

    @property
    def effective_c_grid(self) -> str | None:
        """The ``C`` grid given to the job (``None``: the script's default)."""
        if self.c_grid is not None:
            return self.c_grid
        return QUICK_C_GRID if self.quick else None

    @property
    def effective_max_rows(self) -> int:
        """Rows read from ``data`` at most (0: all)."""
        if self.max_rows:
            return self.max_rows
        return QUICK_MAX_ROWS if self.quick else 0


def load_text_clean() -> Any:
    """The scripts' ``text_clean`` module (cleaning, label mapping, deduplication)."""
    name = "_smkit_review_text_clean"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, SCRIPTS_DIR / "text_clean.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def read_reviews(path: str | Path, max_rows: int = 0) -> Any:
    """Read a review CSV keeping every cell as text (empty cells as ``""``).

    Raises:
        SourceNotFoundError: the file does not exist.
        FormatError: it does not parse as CSV.
    """
    import pandas as pd

    p = Path(path).expanduser()
    if not p.is_file():
        raise SourceNotFoundError(
            f"review data {str(p)!r} not found",
            hint="pass a CSV with --set data=PATH (e.g. Kaggle's "
            "'Womens Clothing E-Commerce Reviews.csv')",
            path=str(p),
        )
    try:
        return pd.read_csv(
            p, dtype=str, keep_default_na=False, nrows=max_rows or None, encoding_errors="replace"
        )
    except (ValueError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise FormatError(f"could not read {str(p)!r} as CSV: {exc}", path=str(p)) from exc


class ReviewEndpoint:
    """Train a review classifier, serve it, score the held-out split through the endpoint."""

    name: ClassVar[str] = "review-endpoint"
    description: ClassVar[str] = (
        "Text review classifier (TF-IDF + logistic regression) behind a JSON endpoint; "
        "test-split AUC/F1 from the endpoint's answers"
    )
    Config: ClassVar[type] = ReviewEndpointConfig

    def run(self, session: Any, config: ReviewEndpointConfig, out_dir: Path) -> Report:
        """Run the flow (see the module docstring); returns the report."""
        from smkit.serving import EndpointSpec
        from smkit.staging import StagingSpec, StratifiedSplit, split_indices
        from smkit.training import TrainingSpec

        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        plan = session.plan_mode
        report = Report(name=self.name, title="Review classifier behind an endpoint")
        prefix = (config.prefix or f"s3://{session.default_bucket()}/review-endpoint/").rstrip("/")
        endpoint_name = config.endpoint_name or time.strftime("review-endpoint-%Y%m%d-%H%M%S")
        report.details["config"] = attrs.asdict(config)
        report.add_mermaid("Flow", _FLOW)

        # 1. preprocess: clean, map labels, drop empty texts, dedupe
        with report.timer("preprocess"):
            frame, cleaned, stats = self._preprocess(config)
        report.metrics["preprocessing"] = {k: v for k, v in stats.items() if type(v) is int}
        report.details["data"] = stats["source"]
        report.details["label_mapping"] = stats["label_mapping"]
        report.add_table(
            "Preprocessing",
            [
                {"step": "rows read", "rows": stats["rows_in"]},
                {"step": "dropped: empty text", "rows": -stats["dropped_empty_text"]},
                {"step": "dropped: label not mappable", "rows": -stats["dropped_bad_label"]},
                {"step": "dropped: duplicate text", "rows": -stats["dropped_duplicates"]},
                {"step": "kept", "rows": stats["rows_out"]},
            ],
        )

        # 2. stage train / validation / test
        split = StratifiedSplit(
            validation=config.validation_fraction,
            test=config.test_fraction,
            seed=config.seed,
            column=config.label_column,
        )
        staging = StagingSpec(
            source=frame,
            label=config.label_column,
            split=split,
            header=True,
            destination=f"{prefix}/data/",
            name="reviews",
        )
        with report.timer("stage"):
            staged = session.stage(staging)
            parts = split_indices(frame, split, label=config.label_column)
        report.metrics["rows"] = dict(staged.rows)
        report.artifacts.update({f"channel_{k}": v for k, v in staged.channels.items()})
        if set(staged.rows) != {"train", "validation", "test"}:
            raise ConfigError(
                f"too few rows to split: channels {staged.rows}",
                hint="give more data or larger validation_fraction / test_fraction",
            )
        test_raw = frame.iloc[parts["test"]]
        test = cleaned.iloc[parts["test"]].set_index("row_id")

        # 3. training job (script mode)
        hyperparameters: dict[str, Any] = {
            "text_column": config.text_column,
            "label_column": config.label_column,
            "seed": config.seed,
        }
        if config.positive_value is not None:
            hyperparameters["positive_value"] = config.positive_value
        if config.label_threshold is not None:
            hyperparameters["label_threshold"] = config.label_threshold
        if config.effective_c_grid is not None:
            hyperparameters["c_grid"] = config.effective_c_grid
        if config.quick:
            hyperparameters["cv_folds"] = QUICK_CV_FOLDS
        spec = TrainingSpec(
            entry_point="train.py",
            source_dir=str(SCRIPTS_DIR),
            framework="sklearn",
            hyperparameters=hyperparameters,
            inputs=dict(staged.channels),
            instance_type=config.instance_type,
            metric_definitions=METRICS,
            base_job_name="review-endpoint",
        )
        with report.timer("train"):
            job = session.train(spec)
            if not plan:
                job.wait()
        report.artifacts["training_job"] = job.name
        training: dict[str, Any] = {}
        if plan:
            from smkit.serving import ModelSpec

            model = ModelSpec(
                model_data=f"s3://{session.default_bucket()}/{job.name}/output/model.tar.gz",
                framework="sklearn",
                framework_version=spec.effective_version,
                entry_point="inference.py",
                source_dir=str(SCRIPTS_DIR),
            )
        else:
            model = job.model(entry_point="inference.py", source_dir=str(SCRIPTS_DIR))
            report.artifacts["model_data"] = job.model_data
            report.metrics["training"] = {k.replace(":", "_"): v for k, v in job.metrics.items()}
            report.details["metric_splits"] = dict(METRIC_SPLITS)
            with report.timer("read_training_outputs"):
                training = _training_outputs(session, job, out_dir / "training")
            if training:
                report.artifacts["training_outputs"] = str(out_dir / "training")

        # 4. deploy; 5. the test split through the endpoint
        endpoint_spec = EndpointSpec(
            name=endpoint_name,
            instance_type=config.endpoint_instance_type,
            idle_timeout=config.idle_timeout if config.keep_endpoint else None,
        )
        endpoint = None
        probs: list[float] = []
        try:
            with report.timer("deploy"):
                endpoint = session.deploy(model, endpoint_spec)
            report.artifacts["endpoint"] = endpoint_name
            if not plan:
                predictor = endpoint.predictor(serializer="json", deserializer="json")
                texts = test_raw[config.text_column].tolist()
                with report.timer("predict_test"):
                    probs = predict_texts(predictor, texts, config.invoke_batch)
        finally:
            if endpoint is not None and not config.keep_endpoint:
                with report.timer("delete_endpoint"):
                    endpoint.delete()
                report.details["endpoint_deleted"] = True
        if endpoint is not None and config.keep_endpoint:
            self._keep(report, session, endpoint, config, plan)

        if plan:
            ending = "(kept: no deletion)" if config.keep_endpoint else "and its deletion"
            report.add_text(
                "Plan",
                f"Nothing ran: the channels' uploads, the training job, the endpoint {ending} "
                "are planned; no predictions, so no test metrics.",
            )
            return report

        # 6. metrics, figures and predictions.csv from the endpoint's answers
        self._evaluate(report, config, test, probs, training, out_dir)
        return report

    # -- the pieces ----------------------------------------------------------------------
    @staticmethod
    def _preprocess(config: ReviewEndpointConfig) -> tuple[Any, Any, dict[str, Any]]:
        """``(raw rows kept, with row_id; their cleaned form; counts)``."""
        from smkit.datasets import dataset_path

        tc = load_text_clean()
        path = config.data or str(dataset_path("reviews", "reviews_sample.csv"))
        raw = read_reviews(path, config.effective_max_rows)
        try:
            cleaned, stats = tc.prepare(
                raw,
                text_column=config.text_column,
                label_column=config.label_column,
                positive_value=config.positive_value,
                label_threshold=config.label_threshold,
            )
        except ValueError as exc:
            raise ConfigError(f"review-endpoint: {exc}", path=str(path)) from exc
        stats = {"source": str(path), **stats}
        id_column = "row_id" if "row_id" not in raw.columns else "smkit_row_id"
        frame = raw.iloc[cleaned["row_id"].to_numpy()].reset_index(drop=True)
        frame.insert(0, id_column, cleaned["row_id"].to_numpy())  # row i of frame = cleaned's
        return frame, cleaned, stats

    @staticmethod
    def _keep(
        report: Report, session: Any, endpoint: Any, config: ReviewEndpointConfig, plan: bool
    ) -> None:
        url = None if plan else endpoint.url
        report.details["endpoint_deleted"] = False
        report.details["endpoint_url"] = url
        if session.supports(Capability.IDLE_SHUTDOWN):
            report.details["endpoint_idle_timeout"] = config.idle_timeout
            note = f"deletes itself after {config.idle_timeout:g}s without requests"
        else:
            note = "SageMaker bills it until deleted"
        report.add_text(
            "Endpoint kept",
            f"{endpoint.name} at {url} ({note}); delete it with "
            f"`smkit endpoints delete {endpoint.name}`.",
        )
        if not plan:
            print(f"endpoint {endpoint.name} kept: {url} ({note})")

    @staticmethod
    def _evaluate(
        report: Report,
        config: ReviewEndpointConfig,
        test: Any,
        probs: list[float],
        training: dict[str, Any],
        out_dir: Path,
    ) -> None:
        import numpy as np
        from sklearn.metrics import (
            accuracy_score,
            confusion_matrix,
            f1_score,
            precision_score,
            recall_score,
            roc_auc_score,
            roc_curve,
        )

        y = test["label"].to_numpy().astype(int)
        p = np.asarray(probs, dtype=float)
        if p.shape != y.shape:
            raise ModelError(f"endpoint answered {p.size} probabilities for {y.size} test texts")
        pred = (p >= config.threshold).astype(int)
        tn, fp, fn, tp = (int(v) for v in confusion_matrix(y, pred, labels=[0, 1]).ravel())
        auc = float(roc_auc_score(y, p)) if len(set(y.tolist())) == 2 else float("nan")
        test_metrics = {
            "test_auc": round(auc, 6),
            "test_f1": round(float(f1_score(y, pred, zero_division=0)), 6),
            "test_accuracy": round(float(accuracy_score(y, pred)), 6),
            "test_precision": round(float(precision_score(y, pred, zero_division=0)), 6),
            "test_recall": round(float(recall_score(y, pred, zero_division=0)), 6),
        }
        report.metrics.update(test_metrics)
        report.metrics["test_rows"] = int(y.size)
        report.metrics["threshold"] = config.threshold
        report.metrics["confusion_matrix"] = {"tn": tn, "fp": fp, "fn": fn, "tp": tp}
        job_test_auc = (training.get("metrics.json") or {}).get("test_auc")
        if job_test_auc is not None:
            report.metrics["serving_parity_auc_diff"] = round(abs(auc - job_test_auc), 8)
            report.details["serving_parity"] = (
                "|test AUC from the endpoint's answers - test AUC the training job computed "
                "in-process with the same model|"
            )

        path = out_dir / "predictions.csv"
        with open(path, "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["row_id", "label", "probability", "predicted"])
            for rid, label, prob, hat in zip(test.index, y, p, pred, strict=True):
                w.writerow([int(rid), int(label), f"{prob:.6f}", int(hat)])
        report.artifacts["predictions"] = str(path)
        metrics_path = out_dir / "test_metrics.json"
        metrics_path.write_text(
            json.dumps(
                {
                    "split": "test",
                    "source": "the endpoint's answers",
                    "rows": int(y.size),
                    "positives": int(y.sum()),
                    **test_metrics,
                    "threshold": config.threshold,
                    "confusion_matrix": {"tn": tn, "fp": fp, "fn": fn, "tp": tp},
                },
                indent=2,
            )
            + "\n"
        )
        report.artifacts["test_metrics"] = str(metrics_path)

        rows = [{"metric": k.removeprefix("test_"), "value": v} for k, v in test_metrics.items()]
        report.add_table(f"Test split from the endpoint's answers ({y.size} reviews)", rows)
        search = training.get("c_search.csv")
        if search:

            def _num(row: dict, key: str) -> float | None:
                value = row.get(key)
                return round(float(value), 4) if value not in (None, "") else None

            by_cv = "cv_auc" in search[0]
            report.add_table(
                (
                    "C chosen by cross-validated AUC on the train channel; validation scores "
                    "the chosen C (inside the training job)"
                    if by_cv
                    else "C chosen on the validation channel (inside the training job)"
                ),
                [
                    {
                        "C": float(r["C"]),
                        **({"train-channel CV AUC": _num(r, "cv_auc")} if by_cv else {}),
                        "validation AUC": _num(r, "auc"),
                        "validation F1": _num(r, "f1"),
                    }
                    for r in search
                ],
            )
        fpr, tpr, _ = roc_curve(y, p)
        report.add_figure(
            "ROC curve on the test split", roc_figure(fpr, tpr, auc), filename="roc_curve.png"
        )
        report.add_figure(
            f"Confusion matrix on the test split (threshold {config.threshold:g})",
            confusion_figure(tn, fp, fn, tp),
            filename="confusion_matrix.png",
        )


_FLOW = """flowchart LR
  csv[(reviews CSV)] --> prep[clean, map labels,<br/>drop empty, dedupe]
  prep --> stage[stage train / validation / test]
  stage --> job[training job<br/>TF-IDF + logistic regression]
  job --> ep[endpoint<br/>JSON in, probabilities out]
  stage -- test texts --> ep
  ep --> metrics[AUC, F1, accuracy,<br/>confusion matrix]
  ep --> del[delete endpoint]
"""


def predict_texts(predictor: Any, texts: list[str], batch: int) -> list[float]:
    """Positive-class probabilities for ``texts``, ``batch`` texts per request, in order.

    Raises:
        ModelError: the endpoint answered a different number of probabilities.
    """
    out: list[float] = []
    for i in range(0, len(texts), batch):
        chunk = texts[i : i + batch]
        answer = predictor.predict({"instances": chunk})
        preds = answer.get("predictions") if isinstance(answer, dict) else None
        if not isinstance(preds, list) or len(preds) != len(chunk):
            got = len(preds) if isinstance(preds, list) else type(answer).__name__
            raise ModelError(f"endpoint answered {got} predictions for {len(chunk)} texts")
        out.extend(float(v) for v in preds)
    return out


def _training_outputs(session: Any, job: Any, dest: Path) -> dict[str, Any]:
    """Unpack the job's ``output.tar.gz`` (``metrics.json``, ``c_search.csv``) into ``dest``."""
    import io
    import tarfile

    uri = job.output_data
    found: dict[str, Any] = {}
    if not uri:
        return found
    try:
        body = session.store.get_bytes(uri)
    except (SmkitError, OSError):  # the outputs are extras of the report
        return found
    dest.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(body), mode="r:gz") as tar:
        for member in tar.getmembers():
            name = Path(member.name).name  # flat: never a path outside ``dest``
            fh = tar.extractfile(member) if member.isfile() and name else None
            if fh is None:
                continue
            data = fh.read()
            (dest / name).write_bytes(data)
            if name == "metrics.json":
                found[name] = json.loads(data)
            elif name == "c_search.csv":
                found[name] = list(csv.DictReader(io.StringIO(data.decode())))
    return found


def roc_figure(fpr: Any, tpr: Any, auc: float) -> Any:
    """Matplotlib figure: the ROC curve with its AUC."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4.6, 4.2), constrained_layout=True)
    ax.plot([0, 1], [0, 1], "k--", lw=1, label="chance")
    ax.plot(fpr, tpr, color="#ff9900", lw=2, label=f"endpoint (AUC {auc:.3f})")
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.01)
    ax.set_title("ROC curve, test split")
    ax.legend(loc="lower right", fontsize=8)
    return fig


def confusion_figure(tn: int, fp: int, fn: int, tp: int) -> Any:
    """Matplotlib figure: the 2x2 confusion matrix with counts."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    cells = np.array([[tn, fp], [fn, tp]])
    fig, ax = plt.subplots(figsize=(3.8, 3.4), constrained_layout=True)
    ax.imshow(cells, cmap="Oranges")
    for (i, j), v in np.ndenumerate(cells):
        dark = v > cells.max() / 2
        ax.text(j, i, str(v), ha="center", va="center", color="white" if dark else "black")
    ax.set_xticks([0, 1], ["0", "1"])
    ax.set_yticks([0, 1], ["0", "1"])
    ax.set_xlabel("predicted")
    ax.set_ylabel("true label")
    ax.set_title("Confusion matrix, test split")
    return fig
