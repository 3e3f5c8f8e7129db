"""Local evaluation of SageMaker Debugger's built-in rules over the hook's records.

Each rule reads the records `smkit.training.hook` wrote (``scalars.jsonl`` in the
job's tensor directory) and returns a status as SageMaker reports it in
``DebugRuleEvaluationStatuses``: ``NoIssuesFound``, ``IssuesFound`` or ``Error`` (the job is
``InProgress`` until then). Parameters and defaults follow SageMaker's rule documentation:

``loss_not_decreasing``
    Losses are the scalars whose name matches ``loss_regex`` (default ``.*loss.*``) in mode
    ``mode`` (default ``train``). Values are averaged over windows of ``num_steps`` (10)
    records; the rule fires when a window's mean is not at least ``diff_percent`` (0) percent
    below the previous window's mean.
``overfit``
    Compares the mean of the ``eval``-mode loss with the mean ``train`` loss over each window
    of ``num_steps`` (10) after ``start_step`` (0): fires when
    ``(eval - train) / |train| > ratio_threshold`` (0.1) for ``patience`` (1) windows in a row.
``vanishing_gradient``
    Fires when a gradient tensor's (name matching ``.*grad.*``) mean absolute value falls
    below ``threshold`` (1e-7).
``exploding_tensor``
    Fires when any recorded value or tensor holds NaN (or, unless ``only_nan``, infinity).
"""

from __future__ import annotations

import itertools
import json
import math
import re
from pathlib import Path
from typing import Any

import attrs

__all__ = ["RuleResult", "evaluate_rule", "load_records", "summarise_steps"]


@attrs.frozen
class RuleResult:
    """A rule's verdict: ``status`` (``NoIssuesFound`` / ``IssuesFound`` / ``Error``) and why."""

    name: str
    status: str
    details: str = ""


def load_records(tensor_dir: str | Path) -> list[dict[str, Any]]:
    """Every record in ``scalars.jsonl`` (malformed lines are skipped)."""
    path = Path(tensor_dir) / "scalars.jsonl"
    if not path.is_file():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            continue
    return out


def _series(records: list[dict[str, Any]], pattern: str, mode: str) -> list[float]:
    rx = re.compile(pattern)
    rows = [
        r
        for r in records
        if "value" in r and r.get("mode", "train") == mode and rx.fullmatch(str(r.get("name")))
    ]
    rows.sort(key=lambda r: (r.get("step", 0), r.get("time", 0)))
    return [float(r["value"]) for r in rows]


def _windows(values: list[float], size: int) -> list[float]:
    return [
        sum(values[i : i + size]) / len(values[i : i + size]) for i in range(0, len(values), size)
    ]


def _loss_not_decreasing(records: list[dict[str, Any]], p: dict[str, Any]) -> tuple[bool, str]:
    num_steps = int(p.get("num_steps", 10))
    diff = float(p.get("diff_percent", 0.0))
    losses = _series(records, str(p.get("loss_regex", ".*loss.*")), str(p.get("mode", "train")))
    losses = [v for v in losses if math.isfinite(v)]
    if len(losses) < 2 * num_steps:
        return False, f"{len(losses)} loss values; fewer than 2 windows of {num_steps}"
    means = _windows(losses[: len(losses) - len(losses) % num_steps], num_steps)
    for i in range(1, len(means)):
        prev, cur = means[i - 1], means[i]
        if cur > prev - abs(prev) * diff / 100.0:
            return True, (
                f"loss window {i} mean {cur:.6g} did not decrease from {prev:.6g} "
                f"(diff_percent={diff:g}, num_steps={num_steps})"
            )
    return False, f"loss decreased over {len(means)} windows of {num_steps} steps"


def _overfit(records: list[dict[str, Any]], p: dict[str, Any]) -> tuple[bool, str]:
    num_steps = int(p.get("num_steps", 10))
    ratio = float(p.get("ratio_threshold", 0.1))
    patience = int(p.get("patience", 1))
    start = int(p.get("start_step", 0))
    rx = str(p.get("loss_regex", ".*loss.*"))
    later = [r for r in records if int(r.get("step", 0)) >= start]
    train = [v for v in _series(later, rx, "train") if math.isfinite(v)]
    val = [v for v in _series(later, rx, "eval") if math.isfinite(v)]
    if not train or not val:
        return False, "needs both train- and eval-mode losses"
    tw, vw = _windows(train, num_steps), _windows(val, num_steps)
    streak = 0
    for i, (t, v) in enumerate(zip(tw, vw)):
        gap = (v - t) / abs(t) if t else math.inf
        streak = streak + 1 if gap > ratio else 0
        if streak >= patience:
            return True, (
                f"window {i}: validation loss {v:.6g} exceeds training loss {t:.6g} by "
                f"{gap:.1%} (ratio_threshold={ratio:g})"
            )
    return False, f"validation loss within {ratio:.0%} of training loss"


def _vanishing_gradient(records: list[dict[str, Any]], p: dict[str, Any]) -> tuple[bool, str]:
    threshold = float(p.get("threshold", 1e-7))
    rx = re.compile(str(p.get("tensor_regex", ".*grad.*")))
    grads = [r for r in records if "tensor" in r and rx.fullmatch(str(r.get("name")))]
    if not grads:
        return False, "no gradient tensors recorded"
    for r in grads:
        mean_abs = float(r["tensor"].get("mean_abs", math.nan))
        if math.isfinite(mean_abs) and mean_abs < threshold:
            return True, (
                f"gradient {r['name']} at step {r.get('step')} has mean |g| {mean_abs:.3g} "
                f"< threshold {threshold:g}"
            )
    return False, f"{len(grads)} gradient records above {threshold:g}"


def _exploding_tensor(records: list[dict[str, Any]], p: dict[str, Any]) -> tuple[bool, str]:
    only_nan = str(p.get("only_nan", "false")).lower() in ("1", "true", "yes")
    for r in records:
        if "tensor" in r:
            t = r["tensor"]
            bad = t.get("nan", 0) > 0 or (not only_nan and t.get("inf", 0) > 0)
        else:
            v = float(r.get("value", 0.0))
            bad = math.isnan(v) or (not only_nan and math.isinf(v))
        if bad:
            return True, f"{r.get('name')} at step {r.get('step')} holds NaN/inf values"
    return False, f"{len(records)} records, all finite"


_RULES = {
    "loss_not_decreasing": _loss_not_decreasing,
    "overfit": _overfit,
    "vanishing_gradient": _vanishing_gradient,
    "exploding_tensor": _exploding_tensor,
}


def evaluate_rule(
    name: str, parameters: dict[str, Any], records: list[dict[str, Any]]
) -> RuleResult:
    """Evaluate one built-in rule over hook records.

    Returns:
        ``IssuesFound`` when the rule fires, ``NoIssuesFound`` when not, ``Error`` when the
        rule could not run (e.g. a bad parameter), each with details.
    """
    fn = _RULES.get(name)
    if fn is None:
        return RuleResult(name, "Error", f"unknown rule {name!r}")
    try:
        fired, details = fn(records, dict(parameters))
    except (TypeError, ValueError, re.error) as exc:
        return RuleResult(name, "Error", f"{type(exc).__name__}: {exc}")
    return RuleResult(name, "IssuesFound" if fired else "NoIssuesFound", details)


def summarise_steps(tensor_dir: str | Path) -> list[float]:
    """Per-step durations (seconds) from the hook's ``steps.jsonl``."""
    path = Path(tensor_dir) / "steps.jsonl"
    if not path.is_file():
        return []
    times = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            times.append(float(json.loads(line)["time"]))
        except (ValueError, KeyError):
            continue
    return [b - a for a, b in itertools.pairwise(times)]
