"""Post-hoc calibration of a binary classifier's scores (pure numpy, runs in any container).

Calibrators map the classifier's logit ``z`` to a probability of the positive class:

- ``temperature``: ``sigmoid(z / T)``, one parameter ``T > 0`` (Guo et al., 2017);
- ``platt``: ``sigmoid(a * z + b)`` with Platt's (1999) smoothed targets;
- ``isotonic``: a non-decreasing step function fitted by pool-adjacent-violators, linearly
  interpolated between blocks and clipped to ``[clip, 1 - clip]`` so log-loss stays finite;
- ``histogram``: histogram binning (Zadrozny & Elkan, 2001): equal-frequency bins of the
  logit, each predicting its smoothed fraction of positives;
- ``beta``: beta calibration (Kull et al., 2017), ``sigmoid(a ln s - b ln(1 - s) + c)`` with
  ``s = sigmoid(z)`` and ``a, b >= 0``; it contains the identity (``a = b = 1, c = 0``);
- ``none``: ``sigmoid(z)``, the uncalibrated reference.

`select_calibrator` fits each candidate and scores it by *cross-validated* ECE and
log-loss on the validation outputs (k stratified folds; the winner is then refitted on all of
them), so a flexible fit does not win by memorising the set. The default criterion
(``ece+log_loss``) keeps the candidates whose cross-validated log-loss is within
``log_loss_tolerance`` of the best one and picks the lowest cross-validated ECE among them;
``log_loss`` and ``ece`` use one of the two alone.

Metrics: `expected_calibration_error` (15 equal-width bins of the positive-class
probability, or of the top-label confidence as in Guo et al.), `brier_score`,
`log_loss`, `roc_auc`, `reliability_diagram` data, and
`threshold_for_sensitivity`.

Run as a script over prediction CSVs (columns ``label`` (0/1 or NORMAL/PNEUMONIA) and
``logit``; other columns are carried into ``predictions.csv``)::

    python calibration.py --validation val.csv --test test.csv --out DIR --sensitivity 0.95
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "METHODS",
    "Calibrator",
    "BetaCalibrator",
    "HistogramBinningCalibrator",
    "IdentityCalibrator",
    "IsotonicCalibrator",
    "PlattCalibrator",
    "TemperatureCalibrator",
    "brier_score",
    "calibrate_and_report",
    "calibrator_from_dict",
    "expected_calibration_error",
    "fit_calibrator",
    "log_loss",
    "pav",
    "plot_reliability",
    "reliability_diagram",
    "roc_auc",
    "select_calibrator",
    "sensitivity_specificity",
    "sigmoid",
    "threshold_for_sensitivity",
]

METHODS = ("temperature", "platt", "isotonic", "histogram", "beta")
"""The calibrators `select_calibrator` chooses from by default."""

_LOSS_EPS = 1e-15


def _arr(values: Any) -> np.ndarray:
    return np.asarray(values, dtype=np.float64).reshape(-1)


def _labels(y: Any) -> np.ndarray:
    arr = _arr(y)
    if arr.size and not np.all((arr == 0) | (arr == 1)):
        raise ValueError("labels must be 0 or 1")
    return arr


def sigmoid(z: Any) -> np.ndarray:
    """Numerically stable logistic function."""
    z = _arr(z)
    out = np.empty_like(z)
    pos = z >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-z[pos]))
    ez = np.exp(z[~pos])
    out[~pos] = ez / (1.0 + ez)
    return out


def _softplus(z: np.ndarray) -> np.ndarray:
    return np.logaddexp(0.0, z)


# --------------------------------------------------------------------------------------
# metrics


def log_loss(y: Any, p: Any, eps: float = _LOSS_EPS) -> float:
    """Mean negative log-likelihood of binary labels under probabilities ``p``."""
    y, p = _labels(y), np.clip(_arr(p), eps, 1 - eps)
    if y.size == 0:
        raise ValueError("log_loss of an empty set")
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log1p(-p)))


def _nll_from_logits(y: np.ndarray, z: np.ndarray) -> float:
    # -[y log s(z) + (1-y) log(1-s(z))] = softplus(z) - y z, exact for any z
    return float(np.mean(_softplus(z) - y * z))


def brier_score(y: Any, p: Any) -> float:
    """Mean squared difference between probability and label."""
    y, p = _labels(y), _arr(p)
    if y.size == 0:
        raise ValueError("brier_score of an empty set")
    return float(np.mean((p - y) ** 2))


def _bin_index(conf: np.ndarray, n_bins: int) -> np.ndarray:
    # bins (k/n, (k+1)/n]; 0 goes into the first bin
    return np.clip(np.ceil(conf * n_bins).astype(int) - 1, 0, n_bins - 1)


def _conf_and_hit(y: np.ndarray, p: np.ndarray, mode: str) -> tuple[np.ndarray, np.ndarray]:
    if mode == "top_label":
        pred = p >= 0.5
        return np.where(pred, p, 1 - p), (pred == (y == 1)).astype(np.float64)
    if mode == "positive":
        return p, y
    raise ValueError(f"mode={mode!r}: use 'top_label' or 'positive'")


def expected_calibration_error(y: Any, p: Any, n_bins: int = 15, mode: str = "positive") -> float:
    """Expected calibration error over ``n_bins`` equal-width bins of [0, 1].

    ``ECE = sum_b (n_b / n) * |acc_b - conf_b|``.

    Args:
        y: Binary labels.
        p: Probabilities of the positive class.
        n_bins: Number of equal-width bins (15 as in Guo et al., 2017).
        mode: ``"positive"`` (default): confidence is ``p`` and accuracy the fraction of
            positives (the reliability diagram's view, and what a binary risk score needs);
            ``"top_label"``: confidence is ``max(p, 1 - p)`` and accuracy whether the
            predicted class (``p >= 0.5``) is right (Guo et al.).

    Returns:
        The ECE in [0, 1].
    """
    y, p = _labels(y), _arr(p)
    if y.size == 0:
        raise ValueError("expected_calibration_error of an empty set")
    conf, hit = _conf_and_hit(y, p, mode)
    idx = _bin_index(conf, n_bins)
    sum_conf = np.bincount(idx, weights=conf, minlength=n_bins)
    sum_hit = np.bincount(idx, weights=hit, minlength=n_bins)
    return float(np.abs(sum_hit - sum_conf).sum() / y.size)


def reliability_diagram(y: Any, p: Any, n_bins: int = 15, mode: str = "positive") -> dict:
    """Data for a reliability diagram: per equal-width bin, count, mean confidence, accuracy.

    Returns:
        ``{"mode", "n_bins", "ece", "bins": [{"lower", "upper", "count", "mean_predicted",
        "observed"}]}`` where empty bins have ``None`` for the means.
    """
    y, p = _labels(y), _arr(p)
    conf, hit = _conf_and_hit(y, p, mode)
    idx = _bin_index(conf, n_bins)
    bins = []
    for k in range(n_bins):
        sel = idx == k
        n = int(sel.sum())
        bins.append(
            {
                "lower": k / n_bins,
                "upper": (k + 1) / n_bins,
                "count": n,
                "mean_predicted": float(conf[sel].mean()) if n else None,
                "observed": float(hit[sel].mean()) if n else None,
            }
        )
    ece = expected_calibration_error(y, p, n_bins, mode) if y.size else None
    return {"mode": mode, "n_bins": n_bins, "ece": ece, "bins": bins}


def roc_auc(y: Any, score: Any) -> float:
    """Area under the ROC curve (Mann-Whitney U with average ranks for ties)."""
    y, s = _labels(y), _arr(score)
    n_pos = int(y.sum())
    n_neg = y.size - n_pos
    if n_pos == 0 or n_neg == 0:
        raise ValueError("roc_auc needs both classes")
    order = np.argsort(s, kind="mergesort")
    ranks = np.empty(s.size)
    ranks[order] = np.arange(1, s.size + 1)
    # average ranks over ties
    uniq, inv = np.unique(s, return_inverse=True)
    if uniq.size < s.size:
        sums = np.bincount(inv, weights=ranks)
        cnts = np.bincount(inv)
        ranks = (sums / cnts)[inv]
    u = ranks[y == 1].sum() - n_pos * (n_pos + 1) / 2
    return float(u / (n_pos * n_neg))


def threshold_for_sensitivity(y: Any, p: Any, sensitivity: float) -> float:
    """The highest threshold ``t`` whose rule ``p >= t`` reaches the target sensitivity.

    Args:
        y: Binary labels.
        p: Scores or probabilities (higher means more likely positive).
        sensitivity: Target recall of the positive class, in (0, 1].

    Returns:
        The threshold (one of the positives' scores).
    """
    y, p = _labels(y), _arr(p)
    if not 0.0 < sensitivity <= 1.0:
        raise ValueError(f"sensitivity={sensitivity!r} must be in (0, 1]")
    pos = np.sort(p[y == 1])[::-1]
    if pos.size == 0:
        raise ValueError("threshold_for_sensitivity needs positive examples")
    k = max(1, math.ceil(sensitivity * pos.size - 1e-9))
    return float(pos[k - 1])


def sensitivity_specificity(y: Any, p: Any, threshold: float) -> dict[str, float | None]:
    """Sensitivity and specificity of the rule ``p >= threshold``."""
    y, p = _labels(y), _arr(p)
    pred = p >= threshold
    n_pos, n_neg = int((y == 1).sum()), int((y == 0).sum())
    return {
        "sensitivity": float((pred & (y == 1)).sum() / n_pos) if n_pos else None,
        "specificity": float((~pred & (y == 0)).sum() / n_neg) if n_neg else None,
    }


# --------------------------------------------------------------------------------------
# calibrators


class Calibrator:
    """Maps logits to calibrated probabilities; ``fit`` returns ``self``."""

    method = "base"

    def fit(self, z: Any, y: Any) -> Calibrator:
        """Fit on logits ``z`` and binary labels ``y``."""
        raise NotImplementedError

    def predict(self, z: Any) -> np.ndarray:
        """Calibrated probabilities of the positive class."""
        raise NotImplementedError

    def params(self) -> dict:
        """The fitted parameters (JSON-serialisable)."""
        return {}

    def to_dict(self) -> dict:
        """``{"method": ..., **params}``, the format of ``calibrator.json``."""
        return {"method": self.method, **self.params()}


class IdentityCalibrator(Calibrator):
    """``sigmoid(z)``: no calibration."""

    method = "none"

    def fit(self, z: Any, y: Any) -> IdentityCalibrator:
        return self

    def predict(self, z: Any) -> np.ndarray:
        return sigmoid(z)


class TemperatureCalibrator(Calibrator):
    """Temperature scaling ``sigmoid(z / T)``.

    Fitted by a damped Newton method on ``a = 1 / T`` starting at ``T = 1``; the negative
    log-likelihood is convex in ``a`` and every accepted step lowers it, so the fit never has a
    higher NLL than the uncalibrated ``T = 1``.
    """

    method = "temperature"

    def __init__(self, temperature: float = 1.0) -> None:
        self.temperature = float(temperature)

    def fit(self, z: Any, y: Any) -> TemperatureCalibrator:
        z, y = _arr(z), _labels(y)
        a_min = 1e-6
        a = 1.0
        f = _nll_from_logits(y, a * z)
        for _ in range(100):
            s = sigmoid(a * z)
            g = float(np.mean((s - y) * z))
            h = float(np.mean(s * (1 - s) * z * z))
            if abs(g) < 1e-12:
                break
            step = g / h if h > 1e-12 else math.copysign(1.0, g)
            t = 1.0
            improved = False
            while t > 1e-10:
                a_new = max(a - t * step, a_min)
                f_new = _nll_from_logits(y, a_new * z)
                if f_new < f:
                    improved = True
                    break
                t *= 0.5
            if not improved:
                break
            converged = abs(a_new - a) < 1e-10 * max(1.0, a)
            a, f = a_new, f_new
            if converged:
                break
        self.temperature = 1.0 / a
        return self

    def predict(self, z: Any) -> np.ndarray:
        return sigmoid(_arr(z) / self.temperature)

    def params(self) -> dict:
        return {"temperature": self.temperature}


class PlattCalibrator(Calibrator):
    """Platt scaling ``sigmoid(a * z + b)``, fitted by Newton's method.

    Args:
        a: Slope.
        b: Intercept.
        smooth_targets: Use Platt's targets ``(N+ + 1) / (N+ + 2)`` and ``1 / (N- + 2)``
            instead of 1 and 0, which keeps the fit finite on separable data.
    """

    method = "platt"

    def __init__(self, a: float = 1.0, b: float = 0.0, smooth_targets: bool = True) -> None:
        self.a, self.b, self.smooth_targets = float(a), float(b), smooth_targets

    def fit(self, z: Any, y: Any) -> PlattCalibrator:
        z, y = _arr(z), _labels(y)
        t = y.copy()
        if self.smooth_targets:
            n_pos, n_neg = y.sum(), y.size - y.sum()
            t = np.where(y == 1, (n_pos + 1) / (n_pos + 2), 1 / (n_neg + 2))
        w = np.array([1.0, 0.0])
        x = np.column_stack([z, np.ones_like(z)])

        def loss(wv: np.ndarray) -> float:
            return _nll_from_logits(t, x @ wv)

        f = loss(w)
        # start from the intercept that matches the base rate when that is better: on
        # saturated scores (every logit far from 0) Newton's method from a=1, b=0 crawls
        rate = float(np.clip(t.mean(), 1e-12, 1 - 1e-12))
        w0 = np.array([1.0, np.log(rate / (1 - rate)) - float(z.mean())])
        if loss(w0) < f:
            w, f = w0, loss(w0)
        for _ in range(200):
            s = sigmoid(x @ w)
            g = x.T @ (s - t) / z.size
            h = (x * (s * (1 - s))[:, None]).T @ x / z.size
            if np.max(np.abs(g)) < 1e-12:
                break
            # damped Newton (Levenberg-Marquardt): more damping whenever a step fails
            for damping in (1e-10, 1e-6, 1e-3, 1e-1, 1.0, 10.0):
                step = np.linalg.solve(h + damping * np.eye(2), g)
                lr = 1.0
                while lr > 1e-6:
                    w_new = w - lr * step
                    f_new = loss(w_new)
                    if f_new < f:
                        break
                    lr *= 0.5
                else:
                    continue
                break
            else:
                break
            done = np.max(np.abs(w_new - w)) < 1e-10
            w, f = w_new, f_new
            if done:
                break
        self.a, self.b = float(w[0]), float(w[1])
        return self

    def predict(self, z: Any) -> np.ndarray:
        return sigmoid(self.a * _arr(z) + self.b)

    def params(self) -> dict:
        return {"a": self.a, "b": self.b}


def pav(y: Any, weights: Any | None = None) -> np.ndarray:
    """Pool-adjacent-violators: the non-decreasing least-squares fit to ``y`` (in order)."""
    y = _arr(y)
    w = np.ones_like(y) if weights is None else _arr(weights)
    vals: list[float] = []
    wts: list[float] = []
    lens: list[int] = []
    for yi, wi in zip(y, w, strict=True):
        vals.append(float(yi))
        wts.append(float(wi))
        lens.append(1)
        while len(vals) > 1 and vals[-2] > vals[-1]:
            v2, w2, n2 = vals.pop(), wts.pop(), lens.pop()
            v1, w1, n1 = vals.pop(), wts.pop(), lens.pop()
            ww = w1 + w2
            vals.append((v1 * w1 + v2 * w2) / ww if ww > 0 else (v1 + v2) / 2)
            wts.append(ww)
            lens.append(n1 + n2)
    return np.repeat(np.array(vals), np.array(lens, dtype=int))


class IsotonicCalibrator(Calibrator):
    """Isotonic regression of the label on the logit.

    Ties in the logit are pooled first; the fitted blocks become knots ``(x, y)`` (first and
    last logit of each block), predictions interpolate linearly between knots, are constant
    beyond them, and are clipped to ``[clip, 1 - clip]``.

    Args:
        clip: Floor and ceiling distance of the predictions from 0 and 1.
    """

    method = "isotonic"

    def __init__(
        self,
        x_knots: Any = (),
        y_knots: Any = (),
        clip: float = 1e-3,
    ) -> None:
        self.x_knots = _arr(x_knots)
        self.y_knots = _arr(y_knots)
        self.clip = float(clip)

    def fit(self, z: Any, y: Any) -> IsotonicCalibrator:
        z, y = _arr(z), _labels(y)
        if z.size == 0:
            raise ValueError("isotonic fit on an empty set")
        uz, inv = np.unique(z, return_inverse=True)
        wsum = np.bincount(inv).astype(np.float64)
        ymean = np.bincount(inv, weights=y) / wsum
        fitted = pav(ymean, wsum)
        xs: list[float] = []
        ys: list[float] = []
        start = 0
        for k in range(1, uz.size + 1):
            if k == uz.size or fitted[k] != fitted[start]:
                for xv in (uz[start], uz[k - 1]):
                    if not xs or xv > xs[-1]:
                        xs.append(float(xv))
                        ys.append(float(fitted[start]))
                start = k
        self.x_knots, self.y_knots = np.array(xs), np.array(ys)
        return self

    def predict(self, z: Any) -> np.ndarray:
        if self.x_knots.size == 0:
            raise ValueError("IsotonicCalibrator is not fitted")
        p = np.interp(_arr(z), self.x_knots, self.y_knots)
        return np.clip(p, self.clip, 1 - self.clip)

    def params(self) -> dict:
        return {
            "x_knots": self.x_knots.tolist(),
            "y_knots": self.y_knots.tolist(),
            "clip": self.clip,
        }


class HistogramBinningCalibrator(Calibrator):
    """Histogram binning: equal-frequency bins of the logit, each a smoothed positive rate.

    Args:
        n_bins: Bins; ``None`` picks ``n / 50`` clipped to [2, 15] at fit time.
        edges: Inner bin edges (logits), ascending.
        values: One probability per bin.
        prior: Laplace smoothing of each bin, ``(positives + prior) / (count + 2 prior)``.
    """

    method = "histogram"

    def __init__(
        self,
        n_bins: int | None = None,
        edges: Any = (),
        values: Any = (),
        prior: float = 1.0,
    ) -> None:
        self.n_bins = n_bins
        self.edges = _arr(edges)
        self.values = _arr(values)
        self.prior = float(prior)

    def fit(self, z: Any, y: Any) -> HistogramBinningCalibrator:
        z, y = _arr(z), _labels(y)
        if z.size == 0:
            raise ValueError("histogram binning on an empty set")
        k = self.n_bins or int(np.clip(z.size // 50, 2, 15))
        edges = np.unique(np.quantile(z, np.linspace(0, 1, k + 1)[1:-1]))
        idx = np.searchsorted(edges, z, side="right")
        count = np.bincount(idx, minlength=edges.size + 1).astype(np.float64)
        pos = np.bincount(idx, weights=y, minlength=edges.size + 1)
        self.edges = edges
        self.values = (pos + self.prior) / (count + 2 * self.prior)
        self.n_bins = int(edges.size + 1)
        return self

    def predict(self, z: Any) -> np.ndarray:
        if self.values.size == 0:
            raise ValueError("HistogramBinningCalibrator is not fitted")
        return self.values[np.searchsorted(self.edges, _arr(z), side="right")]

    def params(self) -> dict:
        return {
            "n_bins": self.n_bins,
            "edges": self.edges.tolist(),
            "values": self.values.tolist(),
            "prior": self.prior,
        }


def _newton_logistic(x: np.ndarray, t: np.ndarray, w: np.ndarray, ridge: float) -> np.ndarray:
    """Minimise mean logistic loss (+ ``ridge/2 |w - w0|^2``) by damped Newton from ``w``."""
    w0 = w.copy()

    def loss(wv: np.ndarray) -> float:
        return _nll_from_logits(t, x @ wv) + 0.5 * ridge * float(np.sum((wv - w0) ** 2))

    f = loss(w)
    eye = np.eye(w.size)
    for _ in range(200):
        s = sigmoid(x @ w)
        g = x.T @ (s - t) / t.size + ridge * (w - w0)
        if np.max(np.abs(g)) < 1e-12:
            break
        h = (x * (s * (1 - s))[:, None]).T @ x / t.size + ridge * eye
        for damping in (1e-10, 1e-6, 1e-3, 1e-1, 1.0, 10.0):
            step = np.linalg.solve(h + damping * eye, g)
            lr = 1.0
            while lr > 1e-6:
                w_new = w - lr * step
                f_new = loss(w_new)
                if f_new < f:
                    break
                lr *= 0.5
            else:
                continue
            break
        else:
            break
        done = np.max(np.abs(w_new - w)) < 1e-10
        w, f = w_new, f_new
        if done:
            break
    return w


class BetaCalibrator(Calibrator):
    """Beta calibration ``sigmoid(a ln s - b ln(1 - s) + c)``, ``s = sigmoid(z)``, ``a, b >= 0``.

    Fitted as a logistic regression on ``(ln s, -ln(1 - s))`` from the identity
    (``a = b = 1, c = 0``) by damped Newton with a tiny ridge towards it; a negative ``a`` or
    ``b`` is fixed at 0 and the rest refitted (Kull et al.'s rule), keeping the map monotone.
    """

    method = "beta"

    def __init__(self, a: float = 1.0, b: float = 1.0, c: float = 0.0) -> None:
        self.a, self.b, self.c = float(a), float(b), float(c)

    @staticmethod
    def _features(z: np.ndarray) -> np.ndarray:
        # ln s = -softplus(-z), -ln(1 - s) = softplus(z): exact for any logit
        return np.column_stack([-_softplus(-z), _softplus(z), np.ones_like(z)])

    def fit(self, z: Any, y: Any) -> BetaCalibrator:
        z, y = _arr(z), _labels(y)
        x = self._features(z)
        w = _newton_logistic(x, y, np.array([1.0, 1.0, 0.0]), ridge=1e-6)
        for j in (0, 1):
            if w[j] < 0:
                keep = [i for i in range(3) if i != j]
                sub = _newton_logistic(x[:, keep], y, w[keep].clip(0, None), ridge=1e-6)
                w = np.zeros(3)
                w[keep] = sub
        w[:2] = np.clip(w[:2], 0.0, None)
        self.a, self.b, self.c = (float(v) for v in w)
        return self

    def predict(self, z: Any) -> np.ndarray:
        return sigmoid(self._features(_arr(z)) @ np.array([self.a, self.b, self.c]))

    def params(self) -> dict:
        return {"a": self.a, "b": self.b, "c": self.c}


_CLASSES: dict[str, type[Calibrator]] = {
    "none": IdentityCalibrator,
    "temperature": TemperatureCalibrator,
    "platt": PlattCalibrator,
    "isotonic": IsotonicCalibrator,
    "histogram": HistogramBinningCalibrator,
    "beta": BetaCalibrator,
}


def fit_calibrator(method: str, z: Any, y: Any) -> Calibrator:
    """Fit a calibrator by name (``none``, ``temperature``, ``platt``, ``isotonic``,
    ``histogram``, ``beta``)."""
    if method not in _CLASSES:
        raise ValueError(f"unknown calibration method {method!r}; use one of {sorted(_CLASSES)}")
    return _CLASSES[method]().fit(z, y)


def calibrator_from_dict(data: dict) -> Calibrator:
    """Rebuild a calibrator from `Calibrator.to_dict` output (``calibrator.json``)."""
    params = dict(data)
    method = params.pop("method", None)
    if method not in _CLASSES:
        raise ValueError(f"unknown calibration method {method!r}; use one of {sorted(_CLASSES)}")
    if method == "platt":
        return PlattCalibrator(params["a"], params["b"])
    return _CLASSES[method](**params)


def _stratified_folds(y: np.ndarray, k: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    fold = np.empty(y.size, dtype=int)
    for cls in (0, 1):
        idx = np.flatnonzero(y == cls)
        idx = idx[rng.permutation(idx.size)]
        fold[idx] = np.arange(idx.size) % k
    return fold


def select_calibrator(
    z: Any,
    y: Any,
    methods: tuple[str, ...] | list[str] = METHODS,
    n_folds: int = 5,
    seed: int = 0,
    criterion: str = "ece+log_loss",
    log_loss_tolerance: float = 0.01,
    n_bins: int = 15,
) -> tuple[Calibrator, dict]:
    """Pick a calibrator by cross-validated ECE and log-loss, refitted on all data.

    Args:
        z: Validation logits.
        y: Validation labels.
        methods: Candidate method names.
        n_folds: Stratified folds (reduced to the minority class count when that is smaller;
            with fewer than 2 the in-sample scores are used).
        seed: Fold assignment seed.
        criterion: ``ece+log_loss`` (default): the lowest cross-validated ECE among the
            candidates whose cross-validated log-loss is within ``log_loss_tolerance`` of the
            best; ``log_loss`` or ``ece``: that score alone.
        log_loss_tolerance: See ``criterion``.
        n_bins: ECE bins.

    Returns:
        ``(calibrator, selection)`` where ``selection`` holds, per method, the
        cross-validated and the in-sample validation log-loss and ECE, the winner and the
        criterion.
    """
    z, y = _arr(z), _labels(y)
    if not methods:
        raise ValueError("select_calibrator needs at least one method")
    if criterion not in ("ece+log_loss", "log_loss", "ece"):
        raise ValueError(f"criterion={criterion!r}: use 'ece+log_loss', 'log_loss' or 'ece'")
    minority = int(min(y.sum(), y.size - y.sum()))
    k = min(n_folds, minority)
    cv: dict[str, float | None] = {}
    cv_ece: dict[str, float | None] = {}
    insample: dict[str, float] = {}
    insample_ece: dict[str, float] = {}
    fitted: dict[str, Calibrator] = {}
    fold = _stratified_folds(y, k, seed) if k >= 2 else None
    for m in ["none", *[m for m in methods if m != "none"]]:
        cal = fit_calibrator(m, z, y)
        fitted[m] = cal
        p_in = cal.predict(z)
        insample[m] = log_loss(y, p_in)
        insample_ece[m] = expected_calibration_error(y, p_in, n_bins)
        if fold is None:
            cv[m] = cv_ece[m] = None
            continue
        held = np.empty_like(z)
        for f in range(k):
            tr, te = fold != f, fold == f
            held[te] = fit_calibrator(m, z[tr], y[tr]).predict(z[te])
        cv[m] = log_loss(y, held)
        cv_ece[m] = expected_calibration_error(y, held, n_bins)
    loss = {m: (cv[m] if cv[m] is not None else insample[m]) for m in methods}
    ece = {m: (cv_ece[m] if cv_ece[m] is not None else insample_ece[m]) for m in methods}
    order = list(methods).index
    if criterion == "log_loss":
        best = min(methods, key=lambda m: (loss[m], order(m)))
    elif criterion == "ece":
        best = min(methods, key=lambda m: (ece[m], loss[m], order(m)))
    else:
        floor = min(loss.values())
        admissible = [m for m in methods if loss[m] <= floor + log_loss_tolerance]
        best = min(admissible, key=lambda m: (ece[m], loss[m], order(m)))
    scope = f"{k}-fold cross-validated" if fold is not None else "in-sample"
    wording = {
        "log_loss": f"{scope} log-loss on the validation outputs",
        "ece": f"{scope} ECE ({n_bins} bins) on the validation outputs",
        "ece+log_loss": (
            f"lowest {scope} ECE ({n_bins} bins) among the calibrators whose {scope} "
            f"log-loss is within {log_loss_tolerance:g} of the best, on the validation outputs"
        ),
    }
    selection = {
        "method": best,
        "criterion": wording[criterion],
        "n_validation": int(y.size),
        "validation_log_loss_cv": cv,
        "validation_log_loss_in_sample": insample,
        "validation_ece_cv": cv_ece,
        "validation_ece_in_sample": insample_ece,
    }
    return fitted[best], selection


def calibrate_and_report(
    z_val: Any,
    y_val: Any,
    z_test: Any | None = None,
    y_test: Any | None = None,
    *,
    methods: tuple[str, ...] | list[str] = METHODS,
    sensitivity: float = 0.95,
    n_bins: int = 15,
    seed: int = 0,
) -> tuple[Calibrator, dict]:
    """Select and fit a calibrator on validation outputs; evaluate it on the test split.

    Returns:
        ``(calibrator, report)``; ``report`` has the selection, the decision threshold (on the
        calibrated probability, chosen on validation for ``sensitivity``) and, when test
        outputs are given, ``ece_before``/``ece_after`` (``n_bins`` equal-width bins of the
        positive-class probability, the quantity the endpoint returns and the reliability
        diagram shows), ``ece_top_label_*`` (Guo et al.'s top-label variant), ``brier_*``,
        ``log_loss_*``, ``auc``, ``accuracy`` and the reliability-diagram data before and
        after.
    """
    z_val, y_val = _arr(z_val), _labels(y_val)
    cal, selection = select_calibrator(z_val, y_val, methods, seed=seed, n_bins=n_bins)
    p_val = cal.predict(z_val)
    thr = threshold_for_sensitivity(y_val, p_val, sensitivity)
    report: dict[str, Any] = {
        "method": cal.method,
        "calibrator": cal.to_dict(),
        "selection": selection,
        "n_bins": n_bins,
        "ece_definition": (
            f"{n_bins} equal-width bins of the predicted probability of the positive class, "
            "ECE = sum_b n_b/n |fraction positive_b - mean probability_b|; ece_top_label_* "
            "bins the top-label confidence max(p, 1-p) as in Guo et al. (2017)"
        ),
        "threshold": {
            "target_sensitivity": sensitivity,
            "calibrated_probability": thr,
            "validation": sensitivity_specificity(y_val, p_val, thr),
        },
    }
    if z_test is not None and y_test is not None:
        z_test, y_test = _arr(z_test), _labels(y_test)
        raw, calp = sigmoid(z_test), cal.predict(z_test)
        tl = "top_label"
        report.update(
            {
                "split": "test",
                "n": int(y_test.size),
                "n_positive": int(y_test.sum()),
                "ece_before": expected_calibration_error(y_test, raw, n_bins, "positive"),
                "ece_after": expected_calibration_error(y_test, calp, n_bins, "positive"),
                "ece_top_label_before": expected_calibration_error(y_test, raw, n_bins, tl),
                "ece_top_label_after": expected_calibration_error(y_test, calp, n_bins, tl),
                "brier_before": brier_score(y_test, raw),
                "brier_after": brier_score(y_test, calp),
                "log_loss_before": log_loss(y_test, raw),
                "log_loss_after": log_loss(y_test, calp),
                "accuracy": float(np.mean((raw >= 0.5) == (y_test == 1))),
                "auc": roc_auc(y_test, z_test) if 0 < y_test.sum() < y_test.size else None,
                "reliability_before": reliability_diagram(y_test, raw, n_bins),
                "reliability_after": reliability_diagram(y_test, calp, n_bins),
            }
        )
        report["threshold"]["test"] = sensitivity_specificity(y_test, calp, thr)
        # same-run references: every candidate, fitted on the same validation outputs
        report["test_ece_by_method"] = {
            m: expected_calibration_error(
                y_test, fit_calibrator(m, z_val, y_val).predict(z_test), n_bins
            )
            for m in ["none", *[m for m in methods if m != "none"]]
        }
    return cal, report


def plot_reliability(report: dict, path: str | Path, title: str = "Reliability diagram") -> Path:
    """Draw the before/after reliability diagrams of `calibrate_and_report` to a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 5))
    ax.plot([0, 1], [0, 1], "k--", lw=1, label="perfect")
    for key, name in (("reliability_before", "raw"), ("reliability_after", report["method"])):
        bins = [b for b in report[key]["bins"] if b["count"]]
        ece = report[key]["ece"]
        ax.plot(
            [b["mean_predicted"] for b in bins],
            [b["observed"] for b in bins],
            "o-",
            label=f"{name} (ECE {ece:.3f})",
        )
    ax.set_xlabel("predicted probability of PNEUMONIA")
    ax.set_ylabel("observed fraction of PNEUMONIA")
    ax.set_title(title)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.legend(loc="upper left")
    path = Path(path)
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)
    return path


# --------------------------------------------------------------------------------------
# command line


def _read_predictions(path: Path) -> tuple[list[dict], np.ndarray, np.ndarray]:
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    if not rows or "logit" not in rows[0] or "label" not in rows[0]:
        raise ValueError(f"{path}: needs a header with 'label' and 'logit' columns")

    def lab(v: str) -> float:
        v = v.strip()
        if v.upper() in ("PNEUMONIA", "1", "1.0", "TRUE"):
            return 1.0
        if v.upper() in ("NORMAL", "0", "0.0", "FALSE"):
            return 0.0
        raise ValueError(f"{path}: label {v!r} is not 0/1 or NORMAL/PNEUMONIA")

    y = np.array([lab(r["label"]) for r in rows])
    z = np.array([float(r["logit"]) for r in rows])
    return rows, z, y


def write_outputs(out: Path, cal: Calibrator, report: dict, rows: list[dict] | None) -> None:
    """Write ``calibrator.json``, ``calibration.json``, ``reliability.json`` and
    ``predictions.csv`` (when test rows are given) into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "calibrator.json").write_text(json.dumps(cal.to_dict(), indent=2))
    slim = {k: v for k, v in report.items() if not k.startswith("reliability_")}
    (out / "calibration.json").write_text(json.dumps(slim, indent=2))
    if "reliability_before" in report:
        rel = {"before": report["reliability_before"], "after": report["reliability_after"]}
        (out / "reliability.json").write_text(json.dumps(rel, indent=2))
    if rows:
        z = np.array([float(r["logit"]) for r in rows])
        calp = cal.predict(z)
        fields = list(rows[0].keys())
        for extra in ("raw_probability", "calibrated_probability"):
            if extra not in fields:
                fields.append(extra)
        with open(out / "predictions.csv", "w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=fields)
            w.writeheader()
            for r, zi, ci in zip(rows, z, calp, strict=True):
                w.writerow(
                    {
                        **r,
                        "raw_probability": f"{sigmoid(zi)[0]:.6f}",
                        "calibrated_probability": f"{ci:.6f}",
                    }
                )


def main(argv: list[str] | None = None) -> int:
    """Fit on a validation CSV, evaluate on a test CSV, write the outputs."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--validation", required=True, type=Path)
    ap.add_argument("--test", type=Path)
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--methods", default=",".join(METHODS))
    ap.add_argument("--sensitivity", type=float, default=0.95)
    ap.add_argument("--n-bins", "--n_bins", dest="n_bins", type=int, default=15)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    _, z_val, y_val = _read_predictions(args.validation)
    rows, z_test, y_test = (None, None, None)
    if args.test:
        rows, z_test, y_test = _read_predictions(args.test)
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    cal, report = calibrate_and_report(
        z_val,
        y_val,
        z_test,
        y_test,
        methods=methods,
        sensitivity=args.sensitivity,
        n_bins=args.n_bins,
        seed=args.seed,
    )
    write_outputs(args.out, cal, report, rows)
    print(f"calibration_method={cal.method}")
    for key in (
        "ece_before",
        "ece_after",
        "brier_before",
        "brier_after",
        "log_loss_before",
        "log_loss_after",
    ):
        if key in report:
            print(f"{key}={report[key]:.6f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
