"""Clarify explainability: KernelSHAP with Clarify's semantics, TreeSHAP when exact.

- Coalitions: ``min(num_samples, 2**M - 2)`` per baseline row (default
  ``min(2M + 2048, 2**M - 2)``), run by ``shap.KernelExplainer`` with the baseline rows as
  its background data (every coalition is evaluated against every baseline row and the
  results averaged, so absent features take the baseline's values).
- Baseline: the given rows, else k-means centres of the data (``num_clusters``, default
  ``min(12, rows)`` clusters capped at 1-12; *inferred*: Clarify picks the count itself).
- ``expected_value`` is the mean prediction on the baseline (*inferred*).
- Global values: ``agg_method`` over the local values: ``mean_abs`` (mean of absolute
  values), ``median`` (median of the values), ``mean_sq`` (mean of squares).
- ``use_logit``: the explained output is ``log(p / (1 - p))``.
- TreeSHAP fast path: for XGBoost models and scikit-learn tree ensembles, interventional
  TreeSHAP against the same baseline computes exactly the Shapley values KernelSHAP
  estimates; it is used when the explained output is the model's raw output (regression,
  or a binary classifier's probability with ``use_logit=True``, whose log-odds is the raw
  margin).
- Drift: nDCG of the current global ranking against the baseline's attributions; a
  violation when it falls below `NDCG_THRESHOLD`.
- ``explanations_shap/out.csv``: one row per explained row; columns are the feature names for
  one label, ``{label}___{feature}`` for several (*inferred*).
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from smkit.errors import ConfigError, ValidationError

__all__ = [
    "NDCG_THRESHOLD",
    "aggregate",
    "analysis_document",
    "attribution_drift",
    "compare_tree_kernel",
    "explain",
    "local_values_csv",
    "ndcg",
    "write_analysis",
]

NDCG_THRESHOLD = 0.9


def aggregate(values: Any, method: str) -> Any:
    """Global SHAP values (one per feature) from local ones (rows × features)."""
    import numpy as np

    v = np.asarray(values, dtype=np.float64)
    if method == "mean_abs":
        return np.abs(v).mean(axis=0)
    if method == "median":
        return np.median(v, axis=0)
    if method == "mean_sq":
        return (v * v).mean(axis=0)
    raise ValidationError(f"unknown agg_method {method!r}")


def _kmeans_baseline(x: Any, num_clusters: int | None, seed: int | None) -> Any:
    import numpy as np
    from sklearn.cluster import KMeans

    k = num_clusters or min(12, len(x))
    k = max(1, min(k, 12, len(np.unique(x, axis=0))))
    km = KMeans(n_clusters=k, n_init=4, random_state=seed or 0).fit(x)
    return km.cluster_centers_


def _is_tree_model(model: Any) -> bool:
    if model is None:
        return False
    mod = type(model).__module__
    name = type(model).__name__
    if mod.startswith("xgboost"):
        return True
    return mod.startswith("sklearn.ensemble") and (
        "Forest" in name or "Trees" in name or "GradientBoosting" in name
    )


def _tree_output_is_raw(model: Any, use_logit: bool) -> bool:
    """Whether TreeSHAP's raw output is exactly the quantity Kernel would explain."""
    mod = type(model).__module__
    name = type(model).__name__
    if "Regressor" in name:
        return not use_logit
    if mod.startswith("xgboost"):
        if name == "Booster":
            objective = _booster_objective(model)
            if objective.startswith("reg:") and objective != "reg:logistic":
                return not use_logit
            return use_logit and objective in ("binary:logistic", "reg:logistic")
        n_classes = getattr(model, "n_classes_", 2)
        return use_logit and n_classes == 2
    return False


def _booster_objective(booster: Any) -> str:
    import json

    try:
        return str(json.loads(booster.save_config())["learner"]["objective"]["name"])
    except Exception:  # pragma: no cover - unusual booster
        return ""


def _predict_callable(model: Any, use_logit: bool) -> Callable[[Any], Any]:
    """A predict function for an in-process model (probabilities for classifiers)."""
    import numpy as np

    if type(model).__name__ == "Booster":
        import xgboost as xgb

        return lambda x: model.predict(xgb.DMatrix(np.asarray(x, dtype=np.float64)))
    if hasattr(model, "predict_proba"):

        def proba(x: Any) -> Any:
            p = model.predict_proba(np.asarray(x, dtype=np.float64))
            return p[:, 1] if p.shape[1] == 2 else p

        return proba
    return lambda x: model.predict(np.asarray(x, dtype=np.float64))


def explain(
    data: Any,
    shap_config: Any,
    *,
    feature_names: list[str],
    predict_fn: Callable[[Any], Any] | None = None,
    model: Any = None,
    label_headers: list[str] | None = None,
    method: str = "auto",
) -> dict[str, Any]:
    """SHAP values of ``data`` (rows × features) with Clarify's semantics.

    Args:
        data: The rows to explain (features only, numeric).
        shap_config: A `smkit.monitoring.SHAPConfig`.
        feature_names: Names of the columns of ``data``.
        predict_fn: Rows → predictions (1-D, or rows × labels). Derived from ``model`` if None.
        model: An in-process model; tree models enable TreeSHAP.
        label_headers: Names of the outputs (else ``label0``...).
        method: ``auto`` (TreeSHAP when exact, else KernelSHAP), ``kernel`` or ``tree``.

    Returns:
        ``{"labels": [...], "local": {label: rows×features array}, "global": {label:
        {feature: value}}, "expected": {label: value}, "method": "kernel"|"tree",
        "baseline": array, "coalitions": int}``.
    """
    import numpy as np

    x = np.asarray(data, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] != len(feature_names):
        raise ValidationError(
            f"data has shape {x.shape} but {len(feature_names)} feature names were given"
        )
    if predict_fn is None:
        if model is None:
            raise ConfigError("explain() needs predict_fn or model")
        predict_fn = _predict_callable(model, shap_config.use_logit)
    if shap_config.baseline is not None and not isinstance(shap_config.baseline, str):
        baseline = np.asarray(shap_config.baseline, dtype=np.float64)
    else:
        baseline = _kmeans_baseline(x, shap_config.num_clusters, shap_config.seed)
    if baseline.shape[1] != x.shape[1]:
        raise ValidationError(
            f"baseline rows have {baseline.shape[1]} values but the data has {x.shape[1]} features"
        )
    m = x.shape[1]
    coalitions = shap_config.coalitions(m)
    use_tree = method == "tree" or (
        method == "auto"
        and _is_tree_model(model)
        and _tree_output_is_raw(model, shap_config.use_logit)
    )

    def link(p: Any) -> Any:
        p = np.asarray(p, dtype=np.float64)
        if shap_config.use_logit:
            p = np.clip(p, 1e-12, 1 - 1e-12)
            return np.log(p / (1 - p))
        return p

    def f(rows: Any) -> Any:
        return link(predict_fn(rows))

    base_pred = np.asarray(f(baseline))
    if use_tree:
        import shap

        explainer = shap.TreeExplainer(
            model, data=baseline, feature_perturbation="interventional", model_output="raw"
        )
        values = explainer.shap_values(x, check_additivity=False)
        expected = np.atleast_1d(base_pred.mean(axis=0))
        used = "tree"
    else:
        import shap

        explainer = shap.KernelExplainer(f, baseline, feature_names=None)
        if shap_config.seed is not None:
            np.random.seed(shap_config.seed)  # KernelExplainer samples with numpy's global RNG
        values = explainer.shap_values(x, nsamples=coalitions, silent=True, l1_reg=False)
        expected = np.atleast_1d(base_pred.mean(axis=0))
        used = "kernel"
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim == 2:
        per_label = [arr]
    elif arr.shape[0] == x.shape[0]:  # rows × features × labels (newer shap)
        per_label = [arr[:, :, i] for i in range(arr.shape[2])]
    else:  # labels × rows × features
        per_label = [arr[i] for i in range(arr.shape[0])]
    labels = list(label_headers) if label_headers else [f"label{i}" for i in range(len(per_label))]
    if len(labels) != len(per_label):
        labels = [f"label{i}" for i in range(len(per_label))]
    result: dict[str, Any] = {
        "labels": labels,
        "local": {},
        "global": {},
        "expected": {},
        "method": used,
        "baseline": baseline,
        "coalitions": coalitions,
    }
    for i, label in enumerate(labels):
        local = per_label[i]
        result["local"][label] = local
        glob = aggregate(local, shap_config.agg_method)
        result["global"][label] = {n: float(v) for n, v in zip(feature_names, glob)}
        result["expected"][label] = float(expected[i] if len(expected) > i else expected[0])
    return result


def analysis_document(result: dict[str, Any]) -> dict[str, Any]:
    """Clarify's ``analysis.json`` from `explain`'s result."""
    return {
        "version": "1.0",
        "explanations": {
            "kernel_shap": {
                label: {
                    "global_shap_values": result["global"][label],
                    "expected_value": result["expected"][label],
                }
                for label in result["labels"]
            }
        },
    }


def local_values_csv(result: dict[str, Any], feature_names: list[str]) -> str:
    """The text of ``explanations_shap/out.csv``."""
    labels = result["labels"]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    if len(labels) == 1:
        writer.writerow(feature_names)
    else:
        writer.writerow([f"{lab}___{f}" for lab in labels for f in feature_names])
    rows = len(result["local"][labels[0]])
    for r in range(rows):
        row: list[str] = []
        for lab in labels:
            row.extend(repr(float(v)) for v in result["local"][lab][r])
        writer.writerow(row)
    return out.getvalue()


def write_analysis(
    result: dict[str, Any], out_dir: str | Path, feature_names: list[str], save_local: bool = True
) -> dict[str, Path]:
    """Write ``analysis.json`` (and ``explanations_shap/out.csv``) into ``out_dir``."""
    from smkit.monitoring.files import write_json_file

    out = Path(out_dir)
    paths = {"analysis": write_json_file(out / "analysis.json", analysis_document(result))}
    if save_local:
        target = out / "explanations_shap" / "out.csv"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(local_values_csv(result, feature_names), encoding="utf-8")
        paths["local"] = target
    return paths


def ndcg(baseline: dict[str, float], current: dict[str, float]) -> float:
    """nDCG of the current ranking against the baseline attributions (FORMATS.md §4).

    ``DCG = Σ a(f'_i) / log2(i + 1)`` over the current ranking ``f'``, ``iDCG`` the same over
    the baseline's own ranking, ``a`` the (absolute) baseline attribution.
    """
    a = {k: abs(float(v)) for k, v in baseline.items()}
    ranked_now = sorted(current, key=lambda k: (-abs(float(current[k])), k))
    ranked_base = sorted(a, key=lambda k: (-a[k], k))
    dcg = sum(a.get(f, 0.0) / math.log2(i + 1) for i, f in enumerate(ranked_now, start=1))
    idcg = sum(a[f] / math.log2(i + 1) for i, f in enumerate(ranked_base, start=1))
    return dcg / idcg if idcg > 0 else 1.0


def attribution_drift(
    baseline_analysis: dict[str, Any],
    current_analysis: dict[str, Any],
    threshold: float = NDCG_THRESHOLD,
) -> dict[str, Any]:
    """The explainability monitor's violations file (``feature_attribution_drift_check``)."""
    violations = []
    base = baseline_analysis.get("explanations", {}).get("kernel_shap", {})
    cur = current_analysis.get("explanations", {}).get("kernel_shap", {})
    for label, entry in cur.items():
        if label not in base:
            continue
        score = ndcg(base[label]["global_shap_values"], entry["global_shap_values"])
        if score < threshold:
            violations.append(
                {
                    "label": label,
                    "metric_name": "shap",
                    "constraint_check_type": "feature_attribution_drift_check",
                    "description": f"Feature attribution drift {score!r} exceeds threshold "
                    f"{threshold!r}",
                }
            )
    return {"version": "1.0", "violations": violations}


def compare_tree_kernel(
    *, rows: int = 50, repeat: int = 3, num_samples: int | None = None, seed: int = 0
) -> dict[str, Any]:
    """TreeSHAP vs KernelSHAP on an XGBoost model of sklearn's wine data (benchmark).

    A binary classifier (class 0 against the rest) explained with ``use_logit=True``, so both
    explain the same log-odds; the baseline is k-means centres (``num_clusters=4``).

    Returns:
        Per-row seconds of each, the speed-up, and the Spearman correlation of the global
        (mean_abs) rankings.
    """
    import statistics
    import time
    import warnings

    import numpy as np
    import xgboost as xgb
    from attrs import evolve as attrs_evolve
    from scipy.stats import spearmanr
    from sklearn.datasets import load_wine

    from smkit.monitoring.clarify import SHAPConfig

    data = load_wine()
    x, y = data.data, (data.target == 0).astype(int)
    model = xgb.XGBClassifier(n_estimators=60, max_depth=3, random_state=seed, n_jobs=1).fit(x, y)
    names = list(data.feature_names)
    baseline = _kmeans_baseline(x, 4, seed)
    cfg = SHAPConfig(baseline=baseline.tolist(), num_samples=num_samples, use_logit=True, seed=seed)
    sample = x[np.random.default_rng(seed).choice(len(x), rows, replace=False)]
    tree_t, kern_t = [], []
    tree_res = kern_res = None
    explain(sample[:2], cfg, feature_names=names, model=model, method="tree")  # warm imports
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        explain(
            sample[:1],
            attrs_evolve(cfg, num_samples=64),
            feature_names=names,
            model=model,
            method="kernel",
        )
    for _ in range(repeat):
        t0 = time.perf_counter()
        tree_res = explain(sample, cfg, feature_names=names, model=model, method="tree")
        tree_t.append((time.perf_counter() - t0) / rows)
    for _ in range(max(1, min(repeat, 2))):
        t0 = time.perf_counter()
        kern_res = explain(sample, cfg, feature_names=names, model=model, method="kernel")
        kern_t.append((time.perf_counter() - t0) / rows)
    assert tree_res is not None and kern_res is not None
    g_tree = [tree_res["global"]["label0"][n] for n in names]
    g_kern = [kern_res["global"]["label0"][n] for n in names]
    rho = float(spearmanr(g_tree, g_kern).statistic)
    t_tree, t_kern = statistics.median(tree_t), statistics.median(kern_t)
    return {
        "rows": rows,
        "features": len(names),
        "num_samples": kern_res["coalitions"],
        "tree_per_row_s": t_tree,
        "kernel_per_row_s": t_kern,
        "speedup": t_kern / t_tree,
        "spearman": rho,
        "max_abs_local_diff": float(
            np.max(np.abs(tree_res["local"]["label0"] - kern_res["local"]["label0"]))
        ),
    }
