"""MonitorPlan's order, schedules, and the Clarify specs."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import smkit
from smkit.errors import OrderError, ValidationError
from smkit.monitoring import (
    CronSchedule,
    DataConfig,
    ExplainabilityAnalysisConfig,
    ModelConfig,
    MonitorPlan,
    SHAPConfig,
    daily,
    default_num_samples,
    every_x_hours,
    hourly,
)

FIXTURES = Path("/work/shared/fixtures/sagemaker")


class FakeEndpoint:
    def __init__(self, name: str, data_capture):
        self.name = name
        self.data_capture = data_capture


def test_public_names_are_exported():
    for name in (
        "MonitorPlan",
        "SHAPConfig",
        "ModelConfig",
        "DataConfig",
        "ExplainabilityAnalysisConfig",
        "CronSchedule",
    ):
        assert getattr(smkit, name) is not None
        assert name in smkit.__all__


def test_schedule_before_baseline_names_the_baseline():
    with pytest.raises(OrderError, match="before a baseline") as info:
        MonitorPlan("ep").schedule("hourly")
    assert info.value.context["missing"] == "baseline"


def test_endpoint_without_capture_names_data_capture():
    with pytest.raises(OrderError, match="no data capture") as info:
        MonitorPlan(FakeEndpoint("ep", None)).data_quality(baseline="s3://b/x.csv")
    assert info.value.context["missing"] == "data capture"
    plan = MonitorPlan(FakeEndpoint("ep", object())).data_quality(baseline="s3://b/x.csv")
    assert plan.capture_enabled is True


def test_baseline_required_and_explainability_starts_from_shap():
    with pytest.raises(OrderError, match="baseline dataset"):
        MonitorPlan("ep").data_quality()
    with pytest.raises(OrderError, match="SHAPConfig") as info:
        MonitorPlan("ep").explainability(None)
    assert info.value.context["missing"] == "SHAPConfig"
    plan = MonitorPlan("ep").explainability(SHAPConfig(num_samples=10))
    with pytest.raises(OrderError, match="no DataConfig"):
        plan.explainability_config.analysis_config("ep", None)
    with pytest.raises(OrderError, match="no schedule") as info:
        plan.check_complete()
    assert info.value.context["missing"] == "schedule"


def test_plan_is_immutable_and_complete():
    p0 = MonitorPlan("ep")
    p1 = p0.data_quality(baseline="s3://b/train.csv")
    p2 = p1.explainability(SHAPConfig(baseline=[[1, 2]])).schedule("daily@4").named("churn")
    assert p0.monitors == [] and p1.monitors == ["DataQuality"]
    assert p2.monitors == ["DataQuality", "ModelExplainability"]
    assert p2.schedule_expression == "cron(0 4 ? * * *)"
    assert p2.schedule_name("DataQuality") == "churn-data-quality"
    p2.check_complete()
    cfg = p2.explainability_config.analysis_config("ep", "s3://b/train.csv")
    assert cfg.model.endpoint_name == "ep" and cfg.data.s3_data_input_path == "s3://b/train.csv"
    with pytest.raises(ValidationError):
        p1.model_quality(baseline="s3://b/v.csv", problem_type="Ranking", ground_truth="s3://b/gt")


def test_cron_helpers_and_next_time():
    assert hourly().expression == "cron(0 * ? * * *)"
    assert daily(23).expression == "cron(0 23 ? * * *)"
    assert every_x_hours(6, 1).expression == "cron(0 1/6 ? * * *)"
    t = datetime(2024, 3, 5, 10, 15, tzinfo=UTC)
    assert hourly().next_after(t) == datetime(2024, 3, 5, 11, 0, tzinfo=UTC)
    assert daily(3).next_after(t) == datetime(2024, 3, 6, 3, 0, tzinfo=UTC)
    weekly = CronSchedule("cron(30 8 ? * MON-FRI *)")
    sat = datetime(2024, 3, 9, 12, tzinfo=UTC)  # a Saturday
    assert weekly.next_after(sat) == datetime(2024, 3, 11, 8, 30, tzinfo=UTC)
    assert hourly().due(
        datetime(2024, 1, 1, 9, 59, tzinfo=UTC), datetime(2024, 1, 1, 10, 0, tzinfo=UTC)
    )


@pytest.mark.parametrize(
    "expr",
    [
        "0 * * * *",
        "cron(0 * * * *)",
        "cron(0 * * * * *)",
        "cron(61 * ? * * *)",
        "cron(0 0 L * ? *)",
    ],
)
def test_bad_cron_expressions(expr):
    with pytest.raises(ValidationError):
        CronSchedule(expr)


@given(st.integers(min_value=0, max_value=59), st.integers(min_value=0, max_value=23))
def test_next_after_matches(minute, hour):
    cron = CronSchedule(f"cron({minute} {hour} ? * * *)")
    nxt = cron.next_after(datetime(2024, 2, 28, 12, 0, tzinfo=UTC))
    assert nxt is not None and cron.matches(nxt) and (nxt.minute, nxt.hour) == (minute, hour)


def test_shap_config_rules():
    assert default_num_samples(3) == 6  # 2^3 - 2
    assert default_num_samples(14) == 2 * 14 + 2048
    assert SHAPConfig(num_samples=100).coalitions(3) == 6
    assert SHAPConfig(num_samples=100).coalitions(10) == 100
    with pytest.raises(ValidationError):
        SHAPConfig(agg_method="max")
    with pytest.raises(ValidationError):
        SHAPConfig(baseline=[[1, 2], [3]])
    with pytest.raises(ValidationError):
        SHAPConfig(num_clusters=13)
    with pytest.raises(ValidationError):
        ModelConfig(model_name="m", endpoint_name="e")
    with pytest.raises(ValidationError):
        DataConfig("s3://b/d.csv", "s3://b/o", label="y", headers=["a", "b"])


def test_analysis_config_round_trips_clarifys_own_file():
    source = json.loads((FIXTURES / "clarify-explainability-analysis-config.json").read_text())
    cfg = ExplainabilityAnalysisConfig.from_dict(source)
    out = cfg.to_dict()
    assert out["methods"]["shap"]["baseline"] == source["methods"]["shap"]["baseline"]
    for key in ("dataset_type", "headers", "label"):
        assert out[key] == source[key]
    assert out["methods"]["report"] == source["methods"]["report"]
    for key in (
        "model_name",
        "instance_type",
        "initial_instance_count",
        "accept_type",
        "content_type",
    ):
        assert out["predictor"][key] == source["predictor"][key]
    shap = {k: v for k, v in out["methods"]["shap"].items() if k != "seed"}
    assert shap == source["methods"]["shap"]
