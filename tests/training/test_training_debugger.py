"""Debugger hook + rules and the profiler, locally."""

from __future__ import annotations

import itertools
import math
import textwrap

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smkit.training import DebuggerRule, ProfilerSpec, TrainingSpec
from smkit.training.rules import evaluate_rule

pytestmark = pytest.mark.timeout(120)

SCRIPT = textwrap.dedent(
    """
    import argparse
    import time
    from smkit.training import hook

    p = argparse.ArgumentParser()
    p.add_argument("--growth", type=float)
    a = p.parse_args()
    w = 1.0
    for step in range(40):
        loss = w * w
        hook.scalar("train_loss", loss, step=step)
        hook.scalar("val_loss", loss * 1.02, step=step, mode="eval")
        hook.tensor("w.grad", [2 * w, 2 * w], step=step)
        w = w * a.growth
        print(f"step={step} loss={loss:.6g}", flush=True)
        hook.step()
        time.sleep(0.01)
    """
)

RULES = ["loss_not_decreasing", "overfit", "vanishing_gradient", "exploding_tensor"]


def _job(local_session, tmp_path, growth):
    script = tmp_path / "fit.py"
    script.write_text(SCRIPT)
    spec = TrainingSpec(
        entry_point=str(script),
        hyperparameters={"growth": growth},
        rules=RULES,
        profiler=ProfilerSpec(interval_ms=100),
    )
    return local_session.train(spec).wait(timeout=90)


def test_rules_fire_on_diverging_and_stay_quiet_on_converging(local_session, tmp_path):
    converging = _job(local_session, tmp_path, 0.9)
    assert converging.rule_statuses == {
        "LossNotDecreasing": "NoIssuesFound",
        "Overfit": "NoIssuesFound",
        "VanishingGradient": "NoIssuesFound",
        "ExplodingTensor": "NoIssuesFound",
    }
    diverging = _job(local_session, tmp_path, 1e5)
    statuses = diverging.rule_statuses
    assert statuses["LossNotDecreasing"] == "IssuesFound"
    assert statuses["ExplodingTensor"] == "IssuesFound"  # (1e5 ** step) ** 2 overflows to inf
    details = {
        s["RuleConfigurationName"]: s["StatusDetails"]
        for s in diverging.describe()["DebugRuleEvaluationStatuses"]
    }
    assert "did not decrease" in details["LossNotDecreasing"]
    # the profiler sampled the job and plotted it
    profile = converging.profile
    assert profile is not None and profile["samples"]
    assert profile["steps"]["count"] == 39
    assert {"cpu_percent", "rss_mb"} <= set(profile["samples"][0])
    report_dir = converging.describe()["ProfilerReport"]
    from pathlib import Path

    assert (Path(report_dir) / "system_metrics.png").stat().st_size > 1000
    cfg = converging.describe()["ProfilerConfig"]
    assert local_session.store.list(cfg["S3OutputPath"] + "/")


def test_vanishing_gradient_and_overfit_rules():
    recs = [
        {"step": i, "name": "g.grad", "mode": "train", "tensor": {"mean_abs": 1e-9}}
        for i in range(3)
    ]
    assert evaluate_rule("vanishing_gradient", {}, recs).status == "IssuesFound"
    train = [{"step": i, "name": "loss", "mode": "train", "value": 1.0} for i in range(20)]
    val = [{"step": i, "name": "loss", "mode": "eval", "value": 1.5} for i in range(20)]
    assert evaluate_rule("overfit", {}, train + val).status == "IssuesFound"
    assert evaluate_rule("overfit", {"ratio_threshold": 1.0}, train + val).status == "NoIssuesFound"
    assert evaluate_rule("loss_not_decreasing", {"num_steps": "x"}, train).status == "Error"


@given(st.lists(st.floats(min_value=0.001, max_value=1e6), min_size=20, max_size=80))
def test_monotone_decreasing_losses_never_fire(values):
    losses = sorted(values, reverse=True)
    # strictly decreasing window means
    losses = [v * (1 - i * 1e-3) for i, v in enumerate(losses)]
    recs = [{"step": i, "name": "loss", "mode": "train", "value": v} for i, v in enumerate(losses)]
    windows = [sum(losses[i : i + 10]) for i in range(0, len(losses) - len(losses) % 10, 10)]
    expected = any(b >= a for a, b in itertools.pairwise(windows))
    status = evaluate_rule("loss_not_decreasing", {}, recs).status
    assert status == ("IssuesFound" if expected else "NoIssuesFound")
    assert evaluate_rule("exploding_tensor", {}, recs).status == "NoIssuesFound"
    recs.append({"step": 99, "name": "loss", "mode": "train", "value": math.nan})
    assert evaluate_rule("exploding_tensor", {}, recs).status == "IssuesFound"


def test_hook_writes_where_debughookconfig_says(tmp_path, monkeypatch):
    import json

    from smkit.training.hook import Hook

    cfg = tmp_path / "config"
    cfg.mkdir()
    (cfg / "debughookconfig.json").write_text(json.dumps({"LocalPath": str(tmp_path / "t")}))
    monkeypatch.setenv("SM_INPUT_CONFIG_DIR", str(cfg))
    hook = Hook()
    hook.scalar("loss", 1.0)
    hook.tensor("w", [[1.0, -3.0], [float("inf"), 0.0]])
    hook.step()
    hook.flush()
    lines = (tmp_path / "t" / "scalars.jsonl").read_text().splitlines()
    tensor = json.loads(lines[1])["tensor"]
    assert tensor["inf"] == 1 and tensor["max_abs"] == 3.0 and tensor["size"] == 4
    with pytest.raises(ValueError, match="mode"):
        hook.scalar("x", 1.0, mode="bogus")


def test_rule_names_accept_sagemaker_spelling():
    assert DebuggerRule("LossNotDecreasing").name == "loss_not_decreasing"
    with pytest.raises(ValueError, match="unknown Debugger rule"):
        DebuggerRule("nope")


TORCH_SCRIPT = textwrap.dedent(
    """
    import argparse
    import os

    import torch
    from smkit.training import hook

    p = argparse.ArgumentParser()
    p.add_argument("--lr", type=float)
    p.add_argument("--epochs", type=int, default=30)
    a = p.parse_args()
    torch.manual_seed(0)
    X = torch.randn(64, 3)
    y = X @ torch.tensor([1.0, -2.0, 0.5]) + 0.1
    model = torch.nn.Linear(3, 1)
    opt = torch.optim.SGD(model.parameters(), lr=a.lr)
    for epoch in range(a.epochs):
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(model(X).squeeze(1), y)
        loss.backward()
        hook.scalar("train_loss", loss.item(), step=epoch)
        hook.tensor("weight.grad", model.weight.grad, step=epoch)
        opt.step()
        hook.step()
        print(f"epoch={epoch} loss={loss.item():.6g}")
    torch.save(model.state_dict(), os.path.join(os.environ["SM_MODEL_DIR"], "model.pth"))
    """
)


@pytest.mark.parametrize(
    ("lr", "expected"),
    [pytest.param(0.1, "NoIssuesFound", marks=pytest.mark.slow), (3.0, "IssuesFound")],
)
def test_pytorch_script_mode_with_hook(local_session, tmp_path, lr, expected):
    pytest.importorskip("torch")
    src = tmp_path / "src"
    src.mkdir()
    (src / "train.py").write_text(TORCH_SCRIPT)
    spec = TrainingSpec(
        entry_point="train.py",
        source_dir=str(src),
        framework="pytorch",
        framework_version="2.1",
        hyperparameters={"lr": lr},
        metric_definitions={"train:loss": r"loss=([0-9.e+\-]+|inf|nan)"},
        rules=["loss_not_decreasing"],
        profiler=None,
    )
    job = local_session.train(spec).wait(timeout=110)
    assert job.rule_statuses == {"LossNotDecreasing": expected}
    assert job.model().framework == "pytorch"
