"""Local Clarify: KernelSHAP semantics, the TreeSHAP fast path, files and nDCG drift."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
import pytest

from smkit.backends.local.clarify import (
    aggregate,
    analysis_document,
    attribution_drift,
    explain,
    local_values_csv,
    ndcg,
    write_analysis,
)
from smkit.monitoring import SHAPConfig
from smkit.monitoring.files import read_analysis

FIXTURES = Path("/work/shared/fixtures/sagemaker")


def test_linear_model_kernel_shap_is_exact():
    rng = np.random.default_rng(0)
    x = rng.normal(0, 1, (8, 3))
    w = np.array([2.0, -1.0, 0.5])
    baseline = [[0.5, 0.5, 0.5]]
    res = explain(
        x,
        SHAPConfig(baseline=baseline),
        feature_names=["a", "b", "c"],
        predict_fn=lambda rows: np.asarray(rows) @ w,
    )
    local = res["local"]["label0"]
    np.testing.assert_allclose(local, (x - 0.5) * w, atol=1e-8)  # absent features take baseline
    assert res["coalitions"] == 6  # min(default, 2^3 - 2)
    assert res["expected"]["label0"] == pytest.approx(0.75)  # mean prediction on the baseline
    assert res["method"] == "kernel"
    g = res["global"]["label0"]
    assert g["a"] == pytest.approx(np.abs((x[:, 0] - 0.5) * 2).mean())


def test_aggregation_methods():
    v = np.array([[1.0, -2.0], [-3.0, 4.0], [5.0, 0.0]])
    np.testing.assert_allclose(aggregate(v, "mean_abs"), [3.0, 2.0])
    np.testing.assert_allclose(aggregate(v, "median"), [1.0, 0.0])
    np.testing.assert_allclose(aggregate(v, "mean_sq"), [35 / 3, 20 / 3])


def test_kmeans_baseline_when_none_and_logit():
    rng = np.random.default_rng(1)
    x = rng.normal(0, 1, (40, 2))

    def prob(rows):
        z = np.asarray(rows) @ np.array([1.5, -0.5])
        return 1 / (1 + np.exp(-z))

    res = explain(
        x, SHAPConfig(use_logit=True, num_clusters=3), feature_names=["a", "b"], predict_fn=prob
    )
    assert res["baseline"].shape == (3, 2)
    # with the logit link the explained output is linear, so values are exact
    centre = res["baseline"].mean(axis=0)
    np.testing.assert_allclose(res["local"]["label0"][:, 0], 1.5 * (x[:, 0] - centre[0]), atol=1e-6)


def test_tree_fast_path_agrees_with_kernel():
    xgb = pytest.importorskip("xgboost")
    from sklearn.datasets import load_wine

    data = load_wine()
    x, y = data.data, (data.target == 0).astype(int)
    model = xgb.XGBClassifier(n_estimators=20, max_depth=3, n_jobs=1, random_state=0).fit(x, y)
    names = list(data.feature_names)
    cfg = SHAPConfig(baseline=[x.mean(axis=0).tolist()], use_logit=True, seed=0)
    tree = explain(x[:5], cfg, feature_names=names, model=model)
    assert tree["method"] == "tree"
    kern = explain(x[:5], cfg, feature_names=names, model=model, method="kernel")
    np.testing.assert_allclose(tree["local"]["label0"], kern["local"]["label0"], atol=2e-2)
    # without logit the probability is not TreeSHAP's raw output: KernelSHAP is used
    assert (
        explain(
            x[:2],
            SHAPConfig(baseline=[x.mean(axis=0).tolist()], num_samples=50),
            feature_names=names,
            model=model,
        )["method"]
        == "kernel"
    )


def test_analysis_files_have_clarifys_shape(tmp_path):
    res = explain(
        np.eye(3),
        SHAPConfig(baseline=[[0, 0, 0]]),
        feature_names=["a", "b", "c"],
        predict_fn=lambda r: np.asarray(r).sum(axis=1),
    )
    paths = write_analysis(res, tmp_path, ["a", "b", "c"])
    ours = read_analysis(paths["analysis"])
    theirs = json.loads((FIXTURES / "clarify-explainability-analysis.json").read_text())
    assert ours["version"] == theirs["version"]
    assert set(ours["explanations"]["kernel_shap"]["label0"]) == set(
        theirs["explanations"]["kernel_shap"]["label0"]
    )
    rows = list(csv.reader(io.StringIO(paths["local"].read_text())))
    assert rows[0] == ["a", "b", "c"] and len(rows) == 4
    two = dict(
        res, labels=["l0", "l1"], local={"l0": res["local"]["label0"], "l1": res["local"]["label0"]}
    )
    assert local_values_csv(two, ["a", "b", "c"]).splitlines()[0].startswith("l0___a,l0___b")


def test_ndcg_and_drift_violations():
    base = {"a": 0.5, "b": 0.3, "c": 0.2}
    assert ndcg(base, {"a": 9, "b": 5, "c": 1}) == pytest.approx(1.0)
    swapped = ndcg(base, {"c": 9, "b": 5, "a": 1})
    expected = (0.2 + 0.3 / np.log2(3) + 0.5 / 2) / (0.5 + 0.3 / np.log2(3) + 0.2 / 2)
    assert swapped == pytest.approx(expected)

    def doc(g):
        return {
            "version": "1.0",
            "explanations": {
                "kernel_shap": {"label0": {"global_shap_values": g, "expected_value": 0}}
            },
        }

    assert attribution_drift(doc(base), doc({"a": 3, "b": 2, "c": 1}))["violations"] == []
    v = attribution_drift(doc(base), doc({"a": 0.0, "b": 0.1, "c": 0.9}))["violations"]
    assert v[0]["constraint_check_type"] == "feature_attribution_drift_check"
    assert v[0]["label"] == "label0" and v[0]["metric_name"] == "shap"
    assert v[0]["description"].endswith("exceeds threshold 0.9")
    real = read_analysis(FIXTURES / "clarify-explainability-analysis.json")
    assert attribution_drift(real, real)["violations"] == []
    assert analysis_document({"labels": [], "global": {}, "expected": {}})["version"] == "1.0"
