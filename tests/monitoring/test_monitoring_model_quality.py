"""Model-quality metrics, constraints and violations (FORMATS.md §3)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from smkit.backends.local.model_quality import (
    baseline_columns,
    check_model_quality,
    merge_ground_truth,
    model_quality_statistics,
    suggest_model_quality_constraints,
)
from smkit.errors import ValidationError

FIXTURES = Path("/work/shared/fixtures/sagemaker")
SDK = Path(__file__).parent / "fixtures" / "sdk"


class _MQConfig:
    ground_truth_attribute = "Label"
    inference_attribute = "Prediction"
    probability_attribute = None
    probability_threshold = 0.5


def test_regression_is_sagemakers_bit_for_bit_on_the_sdk_test_data():
    # aws/sagemaker-python-sdk tests/data/pipeline/quality_check_step/model_quality/:
    # baseline_dataset.csv and the statistics.json SageMaker wrote for it
    labels, preds, _ = baseline_columns(str(SDK / "model_quality_baseline_dataset.csv"), _MQConfig)
    stats = model_quality_statistics("Regression", labels, preds)
    real = json.loads((SDK / "model_quality_statistics.json").read_text())
    assert stats["regression_metrics"] == real["regression_metrics"]  # r2 = -3.208758170289026
    assert stats["dataset"]["item_count"] == real["dataset"]["item_count"]
    # and the constraints SageMaker suggested from it (the shared fixture)
    fixture = json.loads((FIXTURES / "model-quality-constraints.json").read_text())
    assert suggest_model_quality_constraints(stats) == fixture


def test_binary_metrics_match_the_developer_guide_example():
    # docs.aws.amazon.com/sagemaker/latest/dg/model-monitor-model-quality-metrics.html:
    # confusion {"0": {"0": 1, "1": 2}, "1": {"0": 0, "1": 1}} (actual -> predicted)
    stats = model_quality_statistics("BinaryClassification", [0, 0, 0, 1], [0, 1, 1, 1])
    m = stats["binary_classification_metrics"]
    assert m["confusion_matrix"] == {"0": {"0": 1, "1": 2}, "1": {"0": 0, "1": 1}}
    assert all(type(c) is int for row in m["confusion_matrix"].values() for c in row.values())
    expected = {
        "recall": 1.0,
        "precision": 0.3333333333333333,
        "accuracy": 0.5,
        "recall_best_constant_classifier": 1.0,
        "precision_best_constant_classifier": 0.25,
        "accuracy_best_constant_classifier": 0.25,
        "true_positive_rate": 1.0,
        "true_negative_rate": 0.33333333333333337,
        "false_positive_rate": 0.6666666666666666,
        "false_negative_rate": 0.0,
        "f0_5": 0.3846153846153846,
        "f1": 0.5,
        "f2": 0.7142857142857143,
        "f0_5_best_constant_classifier": 0.29411764705882354,
        "f1_best_constant_classifier": 0.4,
        "f2_best_constant_classifier": 0.625,
    }
    assert {k: m[k]["value"] for k in expected} == expected  # bit for bit
    assert list(m) == ["confusion_matrix", *expected]  # SageMaker's key order, no curves
    for key in expected:
        assert m[key]["standard_deviation"] == "NaN"


def test_false_negative_rate_is_one_minus_true_positive_rate():
    y = [1, 1, 1, 0, 0, 1, 0]
    p = [1, 0, 1, 0, 1, 1, 0]
    m = model_quality_statistics("BinaryClassification", y, p)["binary_classification_metrics"]
    assert m["false_negative_rate"]["value"] == 1.0 - m["true_positive_rate"]["value"]
    assert m["true_negative_rate"]["value"] == 1.0 - m["false_positive_rate"]["value"]


def test_curves_have_one_point_per_distinct_score():
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(5)
    y = rng.integers(0, 2, 300)
    score = np.round(rng.random(300) * 0.6 + y * 0.3, 2)  # ties
    stats = model_quality_statistics(
        "BinaryClassification", y, (score >= 0.5).astype(int), score
    )
    m = stats["binary_classification_metrics"]
    distinct = len(np.unique(score))
    roc = m["receiver_operating_characteristic_curve"]
    pr = m["precision_recall_curve"]
    assert len(roc["false_positive_rates"]) == len(roc["true_positive_rates"]) == distinct + 2
    assert (roc["false_positive_rates"][0], roc["true_positive_rates"][0]) == (0.0, 0.0)
    assert (roc["false_positive_rates"][-1], roc["true_positive_rates"][-1]) == (1.0, 1.0)
    assert len(pr["recalls"]) == len(pr["precisions"]) == distinct + 1
    assert pr["recalls"] == sorted(pr["recalls"]) and pr["recalls"][0] == 0.0
    assert pr["precisions"][0] == pr["precisions"][1]
    assert m["auc"]["value"] == pytest.approx(roc_auc_score(y, score), abs=1e-12)
    assert list(m).index("auc") < list(m).index("f0_5")


def test_binary_constraints_include_true_positive_rate_and_violations_read_like_sagemakers():
    stats = model_quality_statistics("BinaryClassification", [0, 1, 1, 0], [0, 1, 1, 1])
    cons = suggest_model_quality_constraints(stats)["binary_classification_constraints"]
    assert cons["true_positive_rate"]["comparison_operator"] == "LessThanThreshold"
    assert cons["false_negative_rate"]["comparison_operator"] == "GreaterThanThreshold"
    assert not any(k.endswith("_best_constant_classifier") for k in cons)
    worse = model_quality_statistics("BinaryClassification", [0, 1, 1, 0], [0, 0, 1, 1])
    found = check_model_quality(worse, {"binary_classification_constraints": cons})["violations"]
    tpr = next(v for v in found if v["metric_name"] == "true_positive_rate")
    assert tpr == {
        "constraint_check_type": "LessThanThreshold",
        "description": "Metric true_positive_rate with 0.5 was LessThanThreshold 1.0",
        "metric_name": "true_positive_rate",
    }


def test_regression_metrics_and_the_fixture_constraints():
    y = np.array([1.0, 2.0, 3.0, 4.0])
    p = np.array([1.5, 2.0, 2.0, 5.0])
    stats = model_quality_statistics("Regression", y, p)
    m = stats["regression_metrics"]
    assert m["mae"] == {"value": pytest.approx(0.625), "standard_deviation": "NaN"}
    assert m["mse"]["value"] == pytest.approx((0.25 + 0 + 1 + 1) / 4)
    assert m["rmse"]["value"] == pytest.approx(np.sqrt(m["mse"]["value"]))
    # SageMaker's r2 divides by the spread of the predictions (mean 2.625): 7.6875
    assert m["r2"]["value"] == pytest.approx(1 - 2.25 / 7.6875)
    assert stats["dataset"]["item_count"] == 4 and stats["version"] == 0.0
    fixture = json.loads((FIXTURES / "model-quality-constraints.json").read_text())
    found = check_model_quality(stats, fixture)["violations"]
    assert {v["metric_name"] for v in found} == {"mae", "mse", "rmse"}
    assert all(v["constraint_check_type"] == "GreaterThanThreshold" for v in found)
    ours = suggest_model_quality_constraints(stats)
    assert set(ours["regression_constraints"]) == set(fixture["regression_constraints"])
    assert ours["regression_constraints"]["r2"]["comparison_operator"] == "LessThanThreshold"
    assert check_model_quality(stats, ours)["violations"] == []


def test_multiclass_names_and_deviation_above_200_rows():
    rng = np.random.default_rng(0)
    y = rng.choice(["a", "b", "c"], 300)
    p = np.where(rng.random(300) < 0.8, y, "a")
    stats = model_quality_statistics("MulticlassClassification", y, p)
    m = stats["multiclass_classification_metrics"]
    for key in (
        "accuracy",
        "weighted_recall",
        "weighted_precision",
        "weighted_f0_5",
        "weighted_f1",
        "weighted_f2",
        "accuracy_best_constant_classifier",
        "weighted_f1_best_constant_classifier",
    ):
        assert isinstance(m[key]["standard_deviation"], float), key
    assert sum(sum(row.values()) for row in m["confusion_matrix"].values()) == 300
    with pytest.raises(ValidationError):
        model_quality_statistics("Regression", [1.0], [1.0, 2.0])


def test_merge_on_inference_id_else_event_id():
    def cap(event, output, inference=None):
        meta = {"eventId": event, **({"inferenceId": inference} if inference else {})}
        return json.dumps(
            {
                "captureData": {
                    "endpointOutput": {"data": output, "encoding": "CSV"},
                    "endpointInput": {"data": "1,2", "encoding": "CSV"},
                },
                "eventMetadata": meta,
            }
        )

    def truth(key, label):
        return json.dumps(
            {
                "groundTruthData": {"data": label, "encoding": "CSV"},
                "eventMetadata": {"eventId": key},
            }
        )

    preds, labels, counts = merge_ground_truth(
        [cap("e1", "0.9"), cap("e2", "0.1", inference="i2"), cap("e3", "0.5"), "{bad"],
        [truth("e1", "1"), truth("i2", "0"), truth("e2", "1"), "nope"],
    )
    assert preds == ["0.9", "0.1"] and labels == ["1", "0"]
    assert counts == {"captured": 3, "ground_truth": 3, "matched": 2, "skipped": 2}
    actuals = (FIXTURES / "monitor-actuals.jsonl").read_text().splitlines()
    captures = (FIXTURES / "monitor-capture.jsonl").read_text().splitlines()
    preds, labels, counts = merge_ground_truth(captures, actuals)
    assert counts["matched"] == len(preds) > 0
