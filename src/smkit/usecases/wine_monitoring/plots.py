"""Figures of the ``wine-monitoring`` report (matplotlib, Agg backend)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = [
    "before_after_figure",
    "distribution_figure",
    "importance_figure",
    "series_figure",
    "shap_figure",
]

_COLORS = ["#4c72b0", "#55a868", "#dd8452", "#c44e52", "#8172b3", "#937860"]


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def importance_figure(importance: dict[str, float], title: str) -> Any:
    """Horizontal bars of XGBoost feature importance (gain), largest on top."""
    plt = _plt()
    items = sorted(importance.items(), key=lambda kv: kv[1])
    fig, ax = plt.subplots(figsize=(6, 0.32 * len(items) + 1.2))
    ax.barh([k for k, _ in items], [v for _, v in items], color=_COLORS[0])
    ax.set_xlabel("gain")
    ax.set_title(title, fontsize=10)
    ax.tick_params(axis="y", labelsize=8)
    fig.tight_layout()
    return fig


def _buckets(feature: dict[str, Any]) -> tuple[list[float], list[float]]:
    num = feature.get("numerical_statistics") or {}
    buckets = num.get("distribution", {}).get("kll", {}).get("buckets", [])
    if not buckets:
        return [], []
    total = sum(b["count"] for b in buckets) or 1.0
    edges = [b["lower_bound"] for b in buckets] + [buckets[-1]["upper_bound"]]
    return edges, [b["count"] / total for b in buckets]


def distribution_figure(
    statistics: dict[str, dict[str, Any]], columns: dict[str, str], drifted: Sequence[str]
) -> Any:
    """Per-feature histograms (the statistics' 10 KLL buckets) of each dataset.

    Args:
        statistics: ``dataset label → statistics.json`` (``baseline``, ``normal``...).
        columns: ``capture column (_c0...) → display name``, in display order.
        drifted: Capture columns flagged with ``baseline_drift_check`` (titles marked).
    """
    plt = _plt()
    names = list(columns)
    cols = min(4, len(names))
    rows = (len(names) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(3.3 * cols, 2.4 * rows), squeeze=False)
    for ax, column in zip(axes.flat, names):
        mark = " (drift)" if column in drifted else ""
        ax.set_title(f"{columns[column]}{mark}", fontsize=9, color="#c44e52" if mark else "black")
        for i, (label, stats) in enumerate(statistics.items()):
            feature = next((f for f in stats.get("features", []) if f["name"] == column), None)
            if feature is None:
                continue
            edges, heights = _buckets(feature)
            if heights:
                ax.stairs(heights, edges, label=label, color=_COLORS[i % len(_COLORS)], lw=1.5)
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[len(names) :]:
        ax.axis("off")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    if handles:
        fig.legend(handles, labels, loc="upper right", fontsize=8, ncol=len(labels))
    fig.tight_layout(rect=(0, 0, 1, 0.95))
    return fig


def shap_figure(analyses: dict[str, dict[str, float]], title: str) -> Any:
    """Grouped horizontal bars of global SHAP values per dataset (``label → {feature: v}``)."""
    import numpy as np

    plt = _plt()
    first = next(iter(analyses.values()))
    order = sorted(first, key=lambda k: first[k])
    y = np.arange(len(order))
    height = 0.8 / max(1, len(analyses))
    fig, ax = plt.subplots(figsize=(7, 0.36 * len(order) + 1.4))
    for i, (label, values) in enumerate(analyses.items()):
        ax.barh(
            y + i * height,
            [values.get(k, 0.0) for k in order],
            height=height,
            label=label,
            color=_COLORS[i % len(_COLORS)],
        )
    ax.set_yticks(y + height * (len(analyses) - 1) / 2, order, fontsize=8)
    ax.set_xlabel("mean |SHAP value| (probability)")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def series_figure(
    windows: Sequence[str], series: dict[str, Sequence[float | None]], title: str
) -> Any:
    """One line per metric across the monitoring windows (``None`` points skipped)."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(8, 3.4))
    for i, (name, values) in enumerate(series.items()):
        xs = [w for w, v in zip(windows, values) if v is not None]
        ys = [v for v in values if v is not None]
        ax.plot(xs, ys, marker="o", label=name, color=_COLORS[i % len(_COLORS)])
    ax.set_ylim(-0.05, 1.05)
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.0, 0.5))
    ax.tick_params(axis="x", labelsize=8)
    fig.tight_layout()
    return fig


def before_after_figure(rows: list[dict[str, Any]], metric: str) -> Any:
    """Bars of ``metric`` before and after retraining, per evaluation set."""
    import numpy as np

    plt = _plt()
    sets = [r["evaluation set"] for r in rows]
    x = np.arange(len(sets))
    fig, ax = plt.subplots(figsize=(6, 3.2))
    before = [r[f"{metric} before"] for r in rows]
    after = [r[f"{metric} after"] for r in rows]
    ax.bar(x - 0.2, before, 0.4, label="deployed model", color=_COLORS[2])
    ax.bar(x + 0.2, after, 0.4, label="retrained model", color=_COLORS[1])
    for xi, b, a in zip(x, before, after):
        ax.text(xi - 0.2, b + 0.01, f"{b:.2f}", ha="center", fontsize=8)
        ax.text(xi + 0.2, a + 0.01, f"{a:.2f}", ha="center", fontsize=8)
    ax.set_xticks(x, sets, fontsize=8)
    ax.set_ylim(0, 1.12)
    ax.set_ylabel(metric)
    ax.legend(fontsize=8, loc="lower right")
    ax.set_title(f"{metric} before and after retraining", fontsize=10)
    fig.tight_layout()
    return fig
