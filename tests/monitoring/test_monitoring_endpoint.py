"""End to end with serving: deploy with capture, send traffic, monitor, delete."""

from __future__ import annotations

import json
import tarfile

import numpy as np
import pytest

import smkit
from smkit.errors import ResourceInUseError
from smkit.monitoring import MonitorPlan, SHAPConfig


@pytest.mark.timeout(300)
def test_monitor_a_real_local_endpoint(local_session, tmp_path):
    xgb = pytest.importorskip("xgboost")
    from sklearn.datasets import load_wine

    x, y = load_wine(return_X_y=True)
    x = x[:, :5]
    label = (y == 0).astype(int)
    booster = xgb.train(
        {"objective": "binary:logistic", "max_depth": 3, "nthread": 1},
        xgb.DMatrix(x, label=label),
        10,
    )
    booster.save_model(str(tmp_path / "xgboost-model.json"))
    with tarfile.open(tmp_path / "model.tar.gz", "w:gz") as tar:
        tar.add(tmp_path / "xgboost-model.json", arcname="xgboost-model")
    baseline = tmp_path / "train.csv"
    np.savetxt(baseline, np.column_stack([booster.predict(xgb.DMatrix(x)), x]), delimiter=",")

    endpoint = local_session.deploy(
        smkit.ModelSpec(model_data=str(tmp_path / "model.tar.gz"), framework="xgboost"),
        smkit.EndpointSpec(
            name="wine-mon", data_capture=smkit.DataCaptureSpec(sampling_percentage=100)
        ),
    )
    try:
        plan = (
            MonitorPlan(endpoint)
            .data_quality(baseline=str(baseline))
            .explainability(SHAPConfig(num_samples=30, num_clusters=2))
            .schedule("hourly")
        )
        assert plan.capture_enabled is True
        monitor = local_session.apply(plan)
        pick = np.random.default_rng(0).choice(len(x), 80, replace=False)
        shifted = x[pick].copy()
        shifted[:, 4] *= 1.6  # magnesium drifts
        for row in shifted:
            endpoint.predict(",".join(map(str, row)) + "\n", content_type="text/csv")
        endpoint.flush_capture()
        run = monitor.run_now()
        dq = next(e for e in run.executions if e.monitor_type == "DataQuality")
        assert dq.item_count == 80
        drifted = {
            v["feature_name"]
            for v in dq.violations["violations"]
            if v["constraint_check_type"] == "baseline_drift_check"
        }
        assert "_c5" in drifted and drifted <= {"_c0", "_c5"}  # the input, maybe the output
        clar = next(e for e in run.executions if e.monitor_type == "ModelExplainability")
        assert clar.status in ("Completed", "CompletedWithViolations"), clar.message
        assert set(
            clar.analysis["explanations"]["kernel_shap"]["label0"]["global_shap_values"]
        ) == {f"_c{i}" for i in range(5)}
        with pytest.raises(ResourceInUseError):
            endpoint.delete()
        monitor.stop()
        assert (
            json.loads(local_session.store.get_bytes(dq.uris["statistics"]))["dataset"][
                "item_count"
            ]
            == 80
        )
    finally:
        endpoint.delete(force=True)
