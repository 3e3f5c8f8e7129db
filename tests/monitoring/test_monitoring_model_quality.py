"""Model-quality metrics, constraints and violations (FORMATS.md §3)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from smkit.backends.local.model_quality import (
    check_model_quality,
    merge_ground_truth,
    model_quality_statistics,
    suggest_model_quality_constraints,
)
from smkit.errors import ValidationError

FIXTURES = Path("/work/shared/fixtures/sagemaker")


def test_regression_metrics_and_the_fixture_constraints():
    y = np.array([1.0, 2.0, 3.0, 4.0])
    p = np.array([1.5, 2.0, 2.0, 5.0])
    stats = model_quality_statistics("Regression", y, p)
    m = stats["regression_metrics"]
    assert m["mae"] == {"value": pytest.approx(0.625), "standard_deviation": "NaN"}
    assert m["mse"]["value"] == pytest.approx((0.25 + 0 + 1 + 1) / 4)
    assert m["rmse"]["value"] == pytest.approx(np.sqrt(m["mse"]["value"]))
    assert m["r2"]["value"] == pytest.approx(1 - 2.25 / 5.0)
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
