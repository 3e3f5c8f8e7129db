"""Model quality: SageMaker ModelQualityMonitor's metrics, constraints and violations.

Metric names and file shapes follow FORMATS.md §3. ``standard_deviation`` is given only
when ``n >= 200``: the deviation of the metric over 5 random 80% samples (seeded), else
the string ``"NaN"``. Suggested constraints use the baseline's value as the threshold:
error metrics (``mae``, ``mse``, ``rmse``, false rates) must not be greater, score metrics
(``r2``, ``accuracy``, ``auc``...) must not be less (*inferred*).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from smkit.errors import ColumnNotFoundError, ValidationError

__all__ = [
    "baseline_columns",
    "check_model_quality",
    "merge_ground_truth",
    "model_quality_statistics",
    "suggest_model_quality_constraints",
]

_LOWER_IS_BETTER = {"mae", "mse", "rmse", "false_positive_rate", "false_negative_rate"}
_SECTION = {
    "Regression": ("regression_metrics", "regression_constraints"),
    "BinaryClassification": ("binary_classification_metrics", "binary_classification_constraints"),
    "MulticlassClassification": (
        "multiclass_classification_metrics",
        "multiclass_classification_constraints",
    ),
}


def _regression(y: Any, p: Any) -> dict[str, float]:
    import numpy as np

    err = p - y
    mse = float(np.mean(err * err))
    ss_tot = float(np.sum((y - y.mean()) ** 2))
    return {
        "mae": float(np.mean(np.abs(err))),
        "mse": mse,
        "rmse": float(np.sqrt(mse)),
        "r2": 1.0 - float(np.sum(err * err)) / ss_tot if ss_tot > 0 else 0.0,
    }


def _fbeta(precision: float, recall: float, beta: float) -> float:
    b2 = beta * beta
    denom = b2 * precision + recall
    return (1 + b2) * precision * recall / denom if denom > 0 else 0.0


def _binary_scores(y: Any, pred: Any) -> dict[str, float]:
    tp = float(((pred == 1) & (y == 1)).sum())
    tn = float(((pred == 0) & (y == 0)).sum())
    fp = float(((pred == 1) & (y == 0)).sum())
    fn = float(((pred == 0) & (y == 1)).sum())
    n = tp + tn + fp + fn
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    return {
        "recall": recall,
        "precision": precision,
        "accuracy": (tp + tn) / n if n else 0.0,
        "true_positive_rate": recall,
        "true_negative_rate": tn / (tn + fp) if tn + fp else 0.0,
        "false_positive_rate": fp / (fp + tn) if fp + tn else 0.0,
        "false_negative_rate": fn / (fn + tp) if fn + tp else 0.0,
        "f0_5": _fbeta(precision, recall, 0.5),
        "f1": _fbeta(precision, recall, 1.0),
        "f2": _fbeta(precision, recall, 2.0),
    }


def _binary(y: Any, pred: Any, prob: Any | None) -> dict[str, Any]:
    import numpy as np

    scores = _binary_scores(y, pred)
    out: dict[str, Any] = dict(scores)
    # best constant classifier: always predict the majority class
    majority = 1 if (y == 1).mean() >= 0.5 else 0
    const = _binary_scores(y, np.full_like(y, majority))
    for key in ("recall", "precision", "accuracy", "f0_5", "f1", "f2"):
        out[f"{key}_best_constant_classifier"] = const[key]
    if prob is not None and len(np.unique(y)) == 2:
        from sklearn.metrics import precision_recall_curve, roc_auc_score, roc_curve

        out["auc"] = float(roc_auc_score(y, prob))
        fpr, tpr, _ = roc_curve(y, prob)
        prec, rec, _ = precision_recall_curve(y, prob)
        out["receiver_operating_characteristic_curve"] = {
            "false_positive_rates": fpr.tolist(),
            "true_positive_rates": tpr.tolist(),
        }
        out["precision_recall_curve"] = {"precisions": prec.tolist(), "recalls": rec.tolist()}
    return out


def _confusion(y: Any, pred: Any) -> dict[str, dict[str, float]]:
    labels = sorted({*map(str, y.tolist()), *map(str, pred.tolist())})
    matrix = {a: {b: 0.0 for b in labels} for a in labels}
    for actual, predicted in zip(map(str, y.tolist()), map(str, pred.tolist())):
        matrix[actual][predicted] += 1.0
    return matrix


def _multiclass(y: Any, pred: Any) -> dict[str, float]:
    import numpy as np
    from sklearn.metrics import fbeta_score, precision_score, recall_score

    def scores(p: Any) -> dict[str, float]:
        kw = {"average": "weighted", "zero_division": 0}
        return {
            "accuracy": float((p == y).mean()),
            "weighted_recall": float(recall_score(y, p, **kw)),
            "weighted_precision": float(precision_score(y, p, **kw)),
            "weighted_f0_5": float(fbeta_score(y, p, beta=0.5, **kw)),
            "weighted_f1": float(fbeta_score(y, p, beta=1.0, **kw)),
            "weighted_f2": float(fbeta_score(y, p, beta=2.0, **kw)),
        }

    out = scores(pred)
    values, counts = np.unique(y, return_counts=True)
    const = scores(np.full_like(y, values[int(np.argmax(counts))]))
    for key, value in const.items():
        out[f"{key}_best_constant_classifier"] = value
    return out


def _compute(problem_type: str, y: Any, pred: Any, prob: Any | None) -> dict[str, Any]:
    if problem_type == "Regression":
        return _regression(y.astype(float), pred.astype(float))
    if problem_type == "BinaryClassification":
        return _binary(y.astype(int), pred.astype(int), prob)
    return _multiclass(y, pred)


def model_quality_statistics(
    problem_type: str,
    labels: Iterable[Any],
    predictions: Iterable[Any],
    probabilities: Iterable[float] | None = None,
    *,
    seed: int = 0,
) -> dict[str, Any]:
    """Model-quality ``statistics.json`` for labels vs predictions.

    Raises:
        ValidationError: unknown problem type, empty or mismatched inputs.
    """
    import numpy as np

    if problem_type not in _SECTION:
        raise ValidationError(f"unknown problem_type {problem_type!r}")
    y = np.asarray(list(labels))
    pred = np.asarray(list(predictions))
    prob = None if probabilities is None else np.asarray(list(probabilities), dtype=float)
    if len(y) == 0 or len(y) != len(pred) or (prob is not None and len(prob) != len(y)):
        raise ValidationError(
            f"model quality needs equally many labels and predictions, got {len(y)} and {len(pred)}"
        )
    if problem_type != "MulticlassClassification":
        y = y.astype(float)
        pred = pred.astype(float)
    values = _compute(problem_type, y, pred, prob)
    deviations: dict[str, Any] = {}
    n = len(y)
    if n >= 200:
        rng = np.random.default_rng(seed)
        samples = []
        for _ in range(5):
            idx = rng.choice(n, int(n * 0.8), replace=False)
            samples.append(
                _compute(problem_type, y[idx], pred[idx], None if prob is None else prob[idx])
            )
        for key, value in values.items():
            if isinstance(value, float):
                deviations[key] = float(np.std([s.get(key, value) for s in samples]))
    metrics: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, float):
            metrics[key] = {"value": value, "standard_deviation": deviations.get(key, "NaN")}
        else:
            metrics[key] = value
    if problem_type != "Regression":
        metrics["confusion_matrix"] = _confusion(
            y.astype(int) if problem_type == "BinaryClassification" else y,
            pred.astype(int) if problem_type == "BinaryClassification" else pred,
        )
    return {
        "version": 0.0,
        "dataset": {
            "item_count": n,
            "evaluation_time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        },
        _SECTION[problem_type][0]: metrics,
    }


def suggest_model_quality_constraints(statistics: dict[str, Any]) -> dict[str, Any]:
    """Model-quality ``constraints.json`` from baseline statistics."""
    for section, csection in _SECTION.values():
        if section in statistics:
            out = {}
            for key, entry in statistics[section].items():
                if not isinstance(entry, dict) or "value" not in entry:
                    continue
                if key.endswith("_best_constant_classifier") or key == "true_positive_rate":
                    continue
                op = "GreaterThanThreshold" if key in _LOWER_IS_BETTER else "LessThanThreshold"
                out[key] = {"threshold": entry["value"], "comparison_operator": op}
            return {"version": 0.0, csection: out}
    raise ValidationError(f"no model-quality metrics in statistics: {sorted(statistics)}")


_OPS = {
    "GreaterThanThreshold": lambda v, t: v > t,
    "GreaterThanOrEqualToThreshold": lambda v, t: v >= t,
    "LessThanThreshold": lambda v, t: v < t,
    "LessThanOrEqualToThreshold": lambda v, t: v <= t,
}


def check_model_quality(statistics: dict[str, Any], constraints: dict[str, Any]) -> dict[str, Any]:
    """The violations file: each constraint whose operator holds is a violation."""
    violations = []
    for _ptype, (section, csection) in _SECTION.items():
        if csection not in constraints:
            continue
        metrics = statistics.get(section, {})
        for key, rule in constraints[csection].items():
            op = rule.get("comparison_operator")
            if op not in _OPS:
                raise ValidationError(f"unknown comparison_operator {op!r} for {key}")
            entry = metrics.get(key)
            if not isinstance(entry, dict) or "value" not in entry:
                continue
            value, threshold = float(entry["value"]), float(rule["threshold"])
            if _OPS[op](value, threshold):
                violations.append(
                    {
                        "constraint_check_type": op,
                        "description": f"Metric {key} with {value!r} {_words(op)} "
                        f"threshold {threshold!r}",
                        "metric_name": key,
                    }
                )
    return {"violations": violations}


def _words(op: str) -> str:
    return {
        "GreaterThanThreshold": "+/- 0.0 was greater than",
        "GreaterThanOrEqualToThreshold": "+/- 0.0 was greater than or equal to",
        "LessThanThreshold": "+/- 0.0 was less than",
        "LessThanOrEqualToThreshold": "+/- 0.0 was less than or equal to",
    }[op]


def merge_ground_truth(
    capture_lines: Iterable[Any], truth_lines: Iterable[str]
) -> tuple[list[str], list[str], dict[str, int]]:
    """Pair captured predictions with ground truth on ``inferenceId``, else ``eventId``.

    Returns:
        ``(predictions, labels, counts)`` where counts has ``captured``, ``ground_truth``,
        ``matched`` and ``skipped`` (corrupt lines).
    """
    from smkit.monitoring.engines.capture import (
        CORRUPT,
        ReadStats,
        first_value,
        iter_capture_records,
    )

    truth: dict[str, str] = {}
    skipped = 0
    for line in truth_lines:
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
            meta = obj.get("eventMetadata", {})
            key = meta.get("inferenceId") or meta["eventId"]
            truth[str(key)] = first_value(obj["groundTruthData"])
        except CORRUPT:
            skipped += 1
    preds, labels = [], []
    captured = 0
    read = ReadStats()
    for record in iter_capture_records(capture_lines, read):
        try:
            key = record.key
            if record.output is None:
                raise KeyError("endpointOutput")
            value = first_value(record.output)
        except CORRUPT:
            skipped += 1
            continue
        captured += 1
        if key in truth:
            preds.append(value)
            labels.append(truth[key])
    skipped += read.skipped
    return (
        preds,
        labels,
        {
            "captured": captured,
            "ground_truth": len(truth),
            "matched": len(preds),
            "skipped": skipped,
        },
    )


def baseline_columns(path: str, config: Any) -> tuple[list[Any], list[Any], list[float] | None]:
    """Labels, predictions and probabilities from a model-quality baseline CSV."""
    import pandas as pd

    df = pd.read_csv(path)
    need = [config.ground_truth_attribute]
    if config.inference_attribute:
        need.append(config.inference_attribute)
    if config.probability_attribute:
        need.append(config.probability_attribute)
    for col in need:
        if col not in df.columns:
            raise ColumnNotFoundError(
                f"column {col!r} is not in the model-quality baseline {path!r}; "
                f"columns: {list(df.columns)}"
            )
    prob = (
        df[config.probability_attribute].astype(float).tolist()
        if config.probability_attribute
        else None
    )
    if config.inference_attribute:
        pred = df[config.inference_attribute].tolist()
    else:
        pred = [1 if p >= config.probability_threshold else 0 for p in prob or []]
    return df[config.ground_truth_attribute].tolist(), pred, prob
