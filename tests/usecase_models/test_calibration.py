"""Calibration math of the pneumonia-calibration use case (scripts/calibration.py)."""

from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import smkit.usecases.pneumonia_calibration as pkg

SCRIPTS = Path(pkg.__file__).parent / "scripts"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"_pneu_{name}", SCRIPTS / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


cal = _load("calibration")

logits_st = st.lists(
    st.floats(-20, 20, allow_nan=False, allow_subnormal=False), min_size=2, max_size=200
)
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def scored_labels(draw, min_size: int = 2):
    z = draw(logits_st.filter(lambda v: len(v) >= min_size))
    y = draw(st.lists(st.integers(0, 1), min_size=len(z), max_size=len(z)))
    return np.array(z), np.array(y, dtype=float)


def _naive_ece(y, p, n_bins=15):
    total = 0.0
    for k in range(n_bins):
        lo, hi = k / n_bins, (k + 1) / n_bins
        sel = [(pi > lo or (k == 0 and pi >= 0)) and pi <= hi for pi in p]
        n = sum(sel)
        if n:
            mp = sum(pi for pi, s in zip(p, sel) if s) / n
            my = sum(yi for yi, s in zip(y, sel) if s) / n
            total += n / len(p) * abs(my - mp)
    return total


# ---------------------------------------------------------------- metrics


def test_ece_of_perfectly_calibrated_predictor_is_near_zero():
    rng = np.random.default_rng(0)
    p = rng.uniform(0, 1, 200_000)
    y = (rng.uniform(0, 1, p.size) < p).astype(float)
    assert cal.expected_calibration_error(y, p) < 0.005
    assert cal.expected_calibration_error(y, p, mode="top_label") < 0.005
    # an overconfident predictor on the same labels is clearly off
    sharp = cal.sigmoid(3 * np.log(p / (1 - p)))
    assert cal.expected_calibration_error(y, sharp) > 0.1


@SETTINGS
@given(st.lists(st.integers(0, 1), min_size=1, max_size=100))
def test_ece_zero_when_predictions_equal_labels(labels):
    y = np.array(labels, dtype=float)
    assert cal.expected_calibration_error(y, y) == 0.0
    assert cal.expected_calibration_error(y, y, mode="top_label") == 0.0


@SETTINGS
@given(scored_labels(), st.integers(1, 30))
def test_ece_matches_reference_and_is_bounded(data, n_bins):
    z, y = data
    p = cal.sigmoid(z)
    ece = cal.expected_calibration_error(y, p, n_bins)
    assert 0.0 <= ece <= 1.0
    assert ece == pytest.approx(_naive_ece(y, p, n_bins), abs=1e-9)
    perm = np.random.default_rng(1).permutation(len(y))
    assert cal.expected_calibration_error(y[perm], p[perm], n_bins) == pytest.approx(ece)


def test_reliability_diagram_counts_and_ece():
    rng = np.random.default_rng(2)
    p = rng.uniform(0, 1, 500)
    y = (rng.uniform(0, 1, 500) < p).astype(float)
    rd = cal.reliability_diagram(y, p)
    assert rd["n_bins"] == 15 and len(rd["bins"]) == 15
    assert sum(b["count"] for b in rd["bins"]) == 500
    assert rd["ece"] == pytest.approx(cal.expected_calibration_error(y, p))
    for b in rd["bins"]:
        if b["count"]:
            assert b["lower"] <= b["mean_predicted"] <= b["upper"]


def test_brier_and_log_loss_known_values():
    y = [1, 0, 1, 0]
    p = [0.9, 0.1, 0.6, 0.5]
    assert cal.brier_score(y, p) == pytest.approx((0.01 + 0.01 + 0.16 + 0.25) / 4)
    ll = -(math.log(0.9) + math.log(0.9) + math.log(0.6) + math.log(0.5)) / 4
    assert cal.log_loss(y, p) == pytest.approx(ll)
    assert math.isfinite(cal.log_loss([1, 0], [0.0, 1.0]))
    with pytest.raises(ValueError):
        cal.brier_score([2, 0], [0.5, 0.5])


@SETTINGS
@given(scored_labels())
def test_roc_auc_matches_pairwise_definition(data):
    z, y = data
    z = np.round(z)  # force ties
    if y.min() == y.max():
        with pytest.raises(ValueError):
            cal.roc_auc(y, z)
        return
    pos, neg = z[y == 1], z[y == 0]
    pairs = [(a > b) + 0.5 * (a == b) for a in pos for b in neg]
    assert cal.roc_auc(y, z) == pytest.approx(np.mean(pairs))


@SETTINGS
@given(scored_labels(), st.floats(0.05, 1.0))
def test_threshold_reaches_sensitivity_and_is_the_highest(data, target):
    z, y = data
    if y.sum() == 0:
        return
    p = cal.sigmoid(z)
    t = cal.threshold_for_sensitivity(y, p, target)
    got = cal.sensitivity_specificity(y, p, t)["sensitivity"]
    assert got >= target - 1e-9
    higher = p[(y == 1) & (p > t)]
    if higher.size:
        t2 = higher.min()
        assert cal.sensitivity_specificity(y, p, t2)["sensitivity"] < target - 1e-9


# ---------------------------------------------------------------- calibrators


def _nll(y, p):
    return cal.log_loss(y, p, eps=1e-300)


@SETTINGS
@given(scored_labels())
def test_temperature_scaling_never_increases_nll(data):
    z, y = data
    t = cal.TemperatureCalibrator().fit(z, y)
    assert t.temperature > 0
    before = cal._nll_from_logits(y, z)
    after = cal._nll_from_logits(y, z / t.temperature)
    assert after <= before + 1e-12


@SETTINGS
@given(scored_labels())
# saturated logits: Newton's method from a=1, b=0 used to stall at NLL 10.26 (found by CI)
@example(data=(np.array([-14.0, -14.0, -14.0, -14.0]), np.array([0.0, 1.0, 1.0, 1.0])))
def test_platt_without_smoothing_is_at_least_as_good_as_temperature(data):
    z, y = data
    t = cal.TemperatureCalibrator().fit(z, y)
    pl = cal.PlattCalibrator(smooth_targets=False).fit(z, y)
    nll_t = cal._nll_from_logits(y, z / t.temperature)
    nll_p = cal._nll_from_logits(y, pl.a * z + pl.b)
    assert nll_p <= nll_t + 1e-6


def test_temperature_recovers_a_known_temperature():
    rng = np.random.default_rng(3)
    true = rng.normal(0, 2, 50_000)
    y = (rng.uniform(0, 1, true.size) < cal.sigmoid(true)).astype(float)
    t = cal.TemperatureCalibrator().fit(3.0 * true, y)  # overconfident by 3x
    assert t.temperature == pytest.approx(3.0, rel=0.05)
    pl = cal.PlattCalibrator().fit(3.0 * true + 1.0, y)
    assert pl.a == pytest.approx(1 / 3, rel=0.05) and pl.b == pytest.approx(-1 / 3, abs=0.05)


@SETTINGS
@given(st.lists(st.floats(-5, 5, allow_nan=False), min_size=1, max_size=80))
def test_pav_is_monotone_and_preserves_the_mean(values):
    fit = cal.pav(values)
    assert np.all(np.diff(fit) >= -1e-12)
    assert fit.sum() == pytest.approx(np.sum(values), abs=1e-9)


@SETTINGS
@given(scored_labels(), logits_st)
def test_isotonic_output_is_monotone_and_in_range(data, queries):
    z, y = data
    iso = cal.IsotonicCalibrator().fit(z, y)
    q = np.sort(np.concatenate([np.array(queries), z]))
    p = iso.predict(q)
    assert np.all(np.diff(p) >= -1e-12)
    assert np.all((p >= iso.clip) & (p <= 1 - iso.clip))


@SETTINGS
@given(scored_labels())
def test_isotonic_fits_at_least_as_well_as_any_monotone_map(data):
    # PAV is the least-squares projection onto monotone maps; sigmoid(z) is one of them
    z, y = data
    iso = cal.IsotonicCalibrator(clip=0.0).fit(z, y)
    assert cal.brier_score(y, iso.predict(z)) <= cal.brier_score(y, cal.sigmoid(z)) + 1e-12


@SETTINGS
@given(
    scored_labels(min_size=4),
    st.sampled_from(["none", "temperature", "platt", "isotonic", "histogram", "beta"]),
)
def test_calibrator_json_roundtrip(data, method):
    z, y = data
    c = cal.fit_calibrator(method, z, y)
    again = cal.calibrator_from_dict(json.loads(json.dumps(c.to_dict())))
    assert again.method == method
    np.testing.assert_allclose(again.predict(z), c.predict(z), rtol=0, atol=1e-12)


def test_unknown_method_is_rejected():
    with pytest.raises(ValueError, match="unknown calibration method 'gamma'"):
        cal.fit_calibrator("gamma", [0.0, 1.0], [0, 1])
    with pytest.raises(ValueError, match="criterion"):
        cal.select_calibrator([0.0, 1.0, 2.0, 3.0], [0, 1, 0, 1], criterion="auc")


def test_selection_by_cross_validated_ece_and_log_loss_and_held_out_improvement():
    rng = np.random.default_rng(4)
    true = rng.normal(1.0, 1.5, 4000)
    y = (rng.uniform(0, 1, true.size) < cal.sigmoid(true)).astype(float)
    z = 2.5 * true - 1.0  # overconfident and shifted, as a class-weighted net is
    _, rep = cal.calibrate_and_report(z[:2000], y[:2000], z[2000:], y[2000:])
    sel = rep["selection"]
    cv, cv_ece = sel["validation_log_loss_cv"], sel["validation_ece_cv"]
    # the lowest CV ECE among the candidates within 0.01 of the best CV log-loss
    admissible = [m for m in cal.METHODS if cv[m] <= min(cv[n] for n in cal.METHODS) + 0.01]
    assert rep["method"] == min(admissible, key=cv_ece.get)
    assert rep["method"] != "temperature"  # temperature cannot undo the shift
    assert "ECE" in sel["criterion"] and "log-loss" in sel["criterion"]
    # the log-loss criterion alone is still available
    only_loss, sel_loss = cal.select_calibrator(z[:2000], y[:2000], criterion="log_loss")
    assert only_loss.method == min(cal.METHODS, key=sel_loss["validation_log_loss_cv"].get)
    # every candidate's held-out ECE is reported next to the chosen one's
    by_method = rep["test_ece_by_method"]
    assert set(by_method) == {"none", *cal.METHODS}
    assert by_method[rep["method"]] == pytest.approx(rep["ece_after"])
    assert by_method["none"] == pytest.approx(rep["ece_before"])
    assert rep["ece_after"] < rep["ece_before"]
    assert rep["log_loss_after"] < rep["log_loss_before"]
    assert rep["brier_after"] < rep["brier_before"]
    thr = rep["threshold"]
    assert thr["validation"]["sensitivity"] >= 0.95
    assert thr["test"]["sensitivity"] > 0.9


def test_command_line_writes_outputs(tmp_path):
    rng = np.random.default_rng(5)

    def write(path, n):
        true = rng.normal(0.5, 1.5, n)
        y = rng.uniform(0, 1, n) < cal.sigmoid(true)
        with open(path, "w") as fh:
            fh.write("path,label,logit\n")
            for i, (lab, t) in enumerate(zip(y, true)):
                fh.write(f"img{i}.jpeg,{'PNEUMONIA' if lab else 'NORMAL'},{3 * t:.5f}\n")

    write(tmp_path / "val.csv", 600)
    write(tmp_path / "test.csv", 400)
    out = tmp_path / "out"
    rc = cal.main(
        [
            "--validation",
            str(tmp_path / "val.csv"),
            "--test",
            str(tmp_path / "test.csv"),
            "--out",
            str(out),
            "--methods",
            "temperature,platt",
        ]
    )
    assert rc == 0
    report = json.loads((out / "calibration.json").read_text())
    for key in (
        "ece_before",
        "ece_after",
        "brier_before",
        "brier_after",
        "log_loss_before",
        "log_loss_after",
        "method",
    ):
        assert key in report
    assert report["method"] in ("temperature", "platt")
    lines = (out / "predictions.csv").read_text().splitlines()
    assert lines[0] == "path,label,logit,raw_probability,calibrated_probability"
    assert len(lines) == 401
    assert set(json.loads((out / "reliability.json").read_text())) == {"before", "after"}
    c = cal.calibrator_from_dict(json.loads((out / "calibrator.json").read_text()))
    assert c.method == report["method"]


def test_plot_reliability(tmp_path):
    rng = np.random.default_rng(6)
    z = rng.normal(0, 2, 400)
    y = (rng.uniform(0, 1, 400) < cal.sigmoid(z / 2)).astype(float)
    _, rep = cal.calibrate_and_report(z[:200], y[:200], z[200:], y[200:])
    path = cal.plot_reliability(rep, tmp_path / "rel.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_beta_calibration_contains_the_identity_and_recovers_a_beta_map():
    rng = np.random.default_rng(7)
    z = rng.normal(0.0, 2.0, 6000)
    y = (rng.uniform(0, 1, z.size) < cal.sigmoid(z)).astype(float)
    beta = cal.BetaCalibrator().fit(z, y)  # already calibrated: close to a = b = 1, c = 0
    assert beta.a == pytest.approx(1.0, abs=0.15) and beta.b == pytest.approx(1.0, abs=0.15)
    assert abs(beta.c) < 0.15
    s = cal.sigmoid(z)
    true = cal.sigmoid(2.0 * np.log(s) - 0.5 * np.log1p(-s) + 0.3)
    y2 = (rng.uniform(0, 1, z.size) < true).astype(float)
    fit = cal.BetaCalibrator().fit(z, y2)
    assert fit.a == pytest.approx(2.0, abs=0.3) and fit.b == pytest.approx(0.5, abs=0.2)
    # the maximum-likelihood fit: no worse than the true map on its data, and close to it
    assert cal.log_loss(y2, fit.predict(z)) <= cal.log_loss(y2, true) + 1e-9
    assert np.max(np.abs(fit.predict(z) - true)) < 0.06
    p = fit.predict(np.sort(z))
    assert np.all(np.diff(p) >= -1e-12)  # a, b >= 0: monotone


@SETTINGS
@given(scored_labels(min_size=4))
def test_beta_never_has_negative_shape_parameters(data):
    z, y = data
    fit = cal.BetaCalibrator().fit(z, y)
    assert fit.a >= 0 and fit.b >= 0
    assert np.all((fit.predict(z) >= 0) & (fit.predict(z) <= 1))


def test_histogram_binning_bins_and_smoothing():
    z = np.arange(100, dtype=float)
    y = (z >= 50).astype(float)
    h = cal.HistogramBinningCalibrator(n_bins=4).fit(z, y)
    assert h.n_bins == 4 and len(h.edges) == 3
    np.testing.assert_allclose(h.values, [1 / 27, 1 / 27, 26 / 27, 26 / 27])
    assert h.predict([-5.0, 10.0, 80.0, 500.0]) == pytest.approx([1 / 27, 1 / 27, 26 / 27, 26 / 27])
    auto = cal.HistogramBinningCalibrator().fit(
        np.linspace(-3, 3, 1000), np.r_[[0] * 500, [1] * 500]
    )
    assert auto.n_bins == 15
