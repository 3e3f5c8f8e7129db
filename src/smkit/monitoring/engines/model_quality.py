"""Model quality: SageMaker ModelQualityMonitor's metrics, constraints and violations.

Metric names and file shapes follow FORMATS.md §3. ``standard_deviation`` is given only
when ``n >= 200``: the deviation of the metric over 5 random 80% samples (seeded), else
the string ``"NaN"``. Suggested constraints use the baseline's value as the threshold:
error metrics (``mae``, ``mse``, ``rmse``, false rates) must not be greater, score metrics
(``r2``, ``accuracy``, ``auc``, ``true_positive_rate``...) must not be less (*inferred*).

Exact against real SageMaker output: the regression metrics of the SDK's own test data
(Spark's ``RegressionMetrics`` with the prediction as the observation, see
`_regression`), and the binary scalar metrics and integer confusion matrix of the
developer guide's example. A violation reads ``"Metric {name} with {value} was
{operator} {threshold}"`` with ``metric_name`` the metric's key (*inferred* from AWS's
``MonitoringCustomMetrics`` sample, which follows Model Monitor's format; no real
model-quality violations file was found).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from smkit.errors import ColumnNotFoundError, ValidationError

__all__ = [
    "baseline_columns",
    "binary_curves",
    "check_model_quality",
    "execution_columns",
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
    """Spark MLlib's ``RegressionMetrics`` as SageMaker calls it, bit for bit.

    SageMaker hands Spark the pairs the other way round (the prediction as the observation),
    so Spark's column summary is over ``(p, p - y, y)`` and its ``SStot`` is the spread of
    the *predictions*: ``r2 = 1 - SSerr / (variance(p) * (n - 1))``. That reproduces the real
    ``-3.208758170289026`` of the SDK's own test data (FORMATS.md §3); the other metrics are
    the same either way. The sums run in row order as one Spark partition (*inferred* for
    larger files, which Spark may split): ``mae = L1(p - y) / n``,
    ``mse = normL2(p - y)**2 / n`` (the square of a square root, as Spark),
    ``rmse = sqrt(mse)``.
    """
    import math

    n = len(y)
    l1 = 0.0
    m2 = 0.0
    # Spark's SummarizerBuffer for the predictions: Welford over non-zero values, then
    # the zeros folded in by the nnz correction of ``variance``
    mean = 0.0
    m2n = 0.0
    nnz = 0
    for obs, pred in zip(p.tolist(), y.tolist()):
        d = obs - pred
        if d != 0.0:
            l1 += abs(d)
            m2 += d * d
        if obs != 0.0:
            prev = mean
            diff = obs - prev
            mean = prev + diff / (nnz + 1.0)
            m2n += (obs - mean) * diff
            nnz += 1
    variance = 0.0
    if n > 1:
        variance = max((m2n + mean * mean * nnz * (n - nnz) / n) / (n - 1.0), 0.0)
    ss_err = math.pow(math.sqrt(m2), 2)
    ss_tot = variance * (n - 1)
    mse = ss_err / n
    return {
        "mae": l1 / n,
        "mse": mse,
        "rmse": math.sqrt(mse),
        "r2": 1.0 - ss_err / ss_tot if ss_tot > 0 else 0.0,  # constant predictions: 0
    }


def _fbeta(precision: float, recall: float, beta: float) -> float:
    """``(1 + b2) * p * r / (b2 * p + r)``, left to right (0 when ``p + r == 0``): this
    order gives the developer guide's ``0.3846153846153846`` and ``0.7142857142857143``
    bit for bit (Spark's ``(1 + b2) * (p * r / ...)`` ends one unit in the last place off)."""
    b2 = beta * beta
    if precision + recall == 0:
        return 0.0
    return (1.0 + b2) * precision * recall / (b2 * precision + recall)


def _binary_scores(tp: int, fp: int, tn: int, fn: int) -> dict[str, float]:
    """Scalar metrics of one confusion matrix, in the order SageMaker writes them.

    ``true_negative_rate = 1 - false_positive_rate`` and ``false_negative_rate =
    1 - true_positive_rate``, as SageMaker writes them (its documented example has
    ``0.33333333333333337 = 1 - 2/3``, not ``1/3``).
    """
    n = tp + tn + fp + fn
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    fpr = fp / (fp + tn) if fp + tn else 0.0
    return {
        "recall": recall,
        "precision": precision,
        "accuracy": (tp + tn) / n if n else 0.0,
        "true_positive_rate": recall,
        "true_negative_rate": 1.0 - fpr,
        "false_positive_rate": fpr,
        "false_negative_rate": 1.0 - recall,
        "f0_5": _fbeta(precision, recall, 0.5),
        "f1": _fbeta(precision, recall, 1.0),
        "f2": _fbeta(precision, recall, 2.0),
    }


def _counts(y: Any, pred: Any) -> tuple[int, int, int, int]:
    tp = int(((pred == 1) & (y == 1)).sum())
    fp = int(((pred == 1) & (y == 0)).sum())
    tn = int(((pred == 0) & (y == 0)).sum())
    fn = int(((pred == 0) & (y == 1)).sum())
    return tp, fp, tn, fn


def binary_curves(y: Any, score: Any) -> dict[str, Any]:
    """ROC, PR and AUC as Spark's ``BinaryClassificationMetrics`` (``numBins = 0``).

    One point per distinct score, scores descending (so recall ascending), from cumulative
    counts; ROC is framed by ``(0, 0)`` and ``(1, 1)``, PR starts at ``(0, p1)`` with ``p1``
    the first point's precision; ``auc`` is the trapezoidal area under the ROC points, summed
    in order. *Inferred* from Spark's code and the shape of SageMaker's documented example
    (6 ROC points and 5 PR points for 4 distinct scores), no SageMaker source states it.
    """
    import numpy as np

    y = np.asarray(y, dtype=np.float64)
    score = np.asarray(score, dtype=np.float64)
    order = np.argsort(-score, kind="stable")
    s, lab = score[order], y[order]
    pos = np.cumsum(lab == 1)
    neg = np.cumsum(lab != 1)
    last = np.flatnonzero(np.append(s[1:] != s[:-1], True))  # the end of each score's run
    tp, fp = pos[last].astype(np.int64), neg[last].astype(np.int64)
    total_p, total_n = int(pos[-1]) if len(pos) else 0, int(neg[-1]) if len(neg) else 0
    tpr = [float(t) / total_p if total_p else 0.0 for t in tp.tolist()]
    fpr = [float(f) / total_n if total_n else 0.0 for f in fp.tolist()]
    prec = [float(t) / (t + f) if t + f else 1.0 for t, f in zip(tp.tolist(), fp.tolist())]
    roc_x, roc_y = [0.0, *fpr, 1.0], [0.0, *tpr, 1.0]
    auc = 0.0
    for i in range(len(roc_x) - 1):
        auc += (roc_x[i + 1] - roc_x[i]) * (roc_y[i + 1] + roc_y[i]) / 2.0
    return {
        "receiver_operating_characteristic_curve": {
            "false_positive_rates": roc_x,
            "true_positive_rates": roc_y,
        },
        "precision_recall_curve": {
            "precisions": [prec[0] if prec else 1.0, *prec],
            "recalls": [0.0, *tpr],
        },
        "auc": auc,
    }


def _binary(y: Any, pred: Any, prob: Any | None) -> dict[str, Any]:
    scores = _binary_scores(*_counts(y, pred))
    # the best constant classifier always predicts the positive class (*inferred* from
    # SageMaker's documented example: recall 1.0, precision = accuracy = the positive rate)
    positives = int((y == 1).sum())
    const = _binary_scores(positives, len(y) - positives, 0, 0)
    out: dict[str, Any] = {k: scores[k] for k in ("recall", "precision", "accuracy")}
    for key in ("recall", "precision", "accuracy"):
        out[f"{key}_best_constant_classifier"] = const[key]
    for key in ("true_positive_rate", "true_negative_rate", "false_positive_rate"):
        out[key] = scores[key]
    out["false_negative_rate"] = scores["false_negative_rate"]
    if prob is not None:
        out.update(binary_curves(y, prob))
    for key in ("f0_5", "f1", "f2"):
        out[key] = scores[key]
    for key in ("f0_5", "f1", "f2"):
        out[f"{key}_best_constant_classifier"] = const[key]
    return out


def _confusion(y: Any, pred: Any) -> dict[str, dict[str, int]]:
    """``{actual: {predicted: count}}`` with integer counts, labels sorted as text."""
    labels = sorted({*map(str, y.tolist()), *map(str, pred.tolist())})
    matrix = {a: {b: 0 for b in labels} for a in labels}
    for actual, predicted in zip(map(str, y.tolist()), map(str, pred.tolist())):
        matrix[actual][predicted] += 1
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
    if problem_type != "Regression":  # SageMaker writes the matrix first
        metrics["confusion_matrix"] = _confusion(
            y.astype(int) if problem_type == "BinaryClassification" else y,
            pred.astype(int) if problem_type == "BinaryClassification" else pred,
        )
    for key, value in values.items():
        if isinstance(value, float):
            metrics[key] = {"value": value, "standard_deviation": deviations.get(key, "NaN")}
        else:
            metrics[key] = value
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
                if key.endswith("_best_constant_classifier"):
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
                        "description": f"Metric {key} with {value!r} was {op} {threshold!r}",
                        "metric_name": key,
                    }
                )
    return {"violations": violations}


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


def execution_columns(
    problem_type: str, preds: list[Any], labels: list[Any], probability_threshold: float
) -> tuple[list[Any], list[Any], list[float] | None]:
    """``(labels, predictions, probabilities)`` of an execution from merged capture values.

    A binary classifier whose captured outputs are scores in (0, 1) gets them as
    probabilities, and predictions thresholded at ``probability_threshold``; labels of
    binary and regression problems are read as floats.

    Examples:
        >>> execution_columns("BinaryClassification", ["0.8", "0.2"], ["1", "0"], 0.5)
        ([1.0, 0.0], [1, 0], [0.8, 0.2])
    """
    probs = None
    if problem_type == "BinaryClassification":
        values = [float(p) for p in preds]
        if any(0 < v < 1 for v in values):
            probs = values
            preds = [1 if v >= probability_threshold else 0 for v in values]
        labels = [float(v) for v in labels]
    elif problem_type == "Regression":
        preds, labels = [float(p) for p in preds], [float(v) for v in labels]
    return labels, preds, probs


def baseline_columns(path: str, config: Any) -> tuple[list[Any], list[Any], list[float] | None]:
    """Labels, predictions and probabilities from a model-quality baseline CSV."""
    import pandas as pd

    df = pd.read_csv(path, float_precision="round_trip")  # correctly rounded, as float()
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
