"""Per-execution HTML reports and CloudWatch-style metric series.

Each execution's report (``report.html`` + ``report.json`` + PNGs) shows the violations
table, per-feature baseline vs current distributions, the SHAP bar chart (explainability),
and the time series of the schedule's metrics so far. Metrics follow Model Monitor's
CloudWatch names (namespace ``/aws/sagemaker/Endpoints/data-metric``, dimensions
``EndpointName`` and ``ScheduleName``): ``feature_data_{name}``, ``feature_non_null_{name}``,
``feature_baseline_drift_{name}``.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

__all__ = [
    "METRIC_NAMESPACE",
    "execution_report",
    "metric_records",
    "metrics_csv",
]

METRIC_NAMESPACE = "/aws/sagemaker/Endpoints/data-metric"


def metric_records(
    metrics: dict[str, dict[str, float]], *, endpoint: str, schedule: str, timestamp: str
) -> list[dict[str, Any]]:
    """Flatten one execution's metrics into CloudWatch ``PutMetricData``-like records."""
    records = []
    for name, stats in sorted(metrics.items()):
        for stat, value in stats.items():
            records.append(
                {
                    "Namespace": METRIC_NAMESPACE,
                    "MetricName": name,
                    "Dimensions": [
                        {"Name": "EndpointName", "Value": endpoint},
                        {"Name": "ScheduleName", "Value": schedule},
                    ],
                    "Timestamp": timestamp,
                    "Statistic": stat,
                    "Value": value,
                }
            )
    return records


def metrics_csv(records: list[dict[str, Any]]) -> str:
    """The records as CSV: ``timestamp,metric,statistic,value,endpoint,schedule``."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["timestamp", "metric", "statistic", "value", "endpoint", "schedule"])
    for r in records:
        dims = {d["Name"]: d["Value"] for d in r["Dimensions"]}
        writer.writerow(
            [
                r["Timestamp"],
                r["MetricName"],
                r["Statistic"],
                r["Value"],
                dims.get("EndpointName"),
                dims.get("ScheduleName"),
            ]
        )
    return out.getvalue()


def _distribution_figure(baseline: dict[str, Any], current: dict[str, Any], limit: int = 8) -> Any:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    base = {f["name"]: f for f in baseline.get("features", [])}
    pairs = [(f, base[f["name"]]) for f in current.get("features", []) if f["name"] in base][:limit]
    if not pairs:
        return None
    cols = min(4, len(pairs))
    rows = (len(pairs) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 2.4 * rows), squeeze=False)
    for ax, (cur, bas) in zip(axes.flat, pairs):
        ax.set_title(cur["name"], fontsize=9)
        for feature, label, color in ((bas, "baseline", "#4c72b0"), (cur, "current", "#dd8452")):
            num = feature.get("numerical_statistics")
            if num:
                buckets = num.get("distribution", {}).get("kll", {}).get("buckets", [])
                total = sum(b["count"] for b in buckets) or 1.0
                xs = [b["lower_bound"] for b in buckets] + (
                    [buckets[-1]["upper_bound"]] if buckets else []
                )
                ys = [b["count"] / total for b in buckets]
                if ys:
                    ax.stairs(ys, xs, label=label, color=color)
            else:
                cats = (feature.get("string_statistics") or {}).get("distribution", {})
                buckets = cats.get("categorical", {}).get("buckets", [])[:10]
                total = sum(b["count"] for b in buckets) or 1.0
                ax.bar(
                    [str(b["value"]) for b in buckets],
                    [b["count"] / total for b in buckets],
                    alpha=0.5,
                    label=label,
                    color=color,
                )
                ax.tick_params(axis="x", labelrotation=45, labelsize=7)
        ax.legend(fontsize=7)
    for ax in list(axes.flat)[len(pairs) :]:
        ax.axis("off")
    fig.tight_layout()
    return fig


def _shap_figure(analysis: dict[str, Any]) -> Any:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    labels = analysis.get("explanations", {}).get("kernel_shap", {})
    if not labels:
        return None
    fig, axes = plt.subplots(1, len(labels), figsize=(5 * len(labels), 4), squeeze=False)
    for ax, (label, entry) in zip(axes.flat, labels.items()):
        items = sorted(entry["global_shap_values"].items(), key=lambda kv: abs(kv[1]))[-15:]
        ax.barh([k for k, _ in items], [v for _, v in items], color="#55a868")
        ax.set_title(f"global SHAP ({label})", fontsize=9)
        ax.tick_params(axis="y", labelsize=7)
    fig.tight_layout()
    return fig


def _series_figure(history: list[dict[str, Any]], limit: int = 6) -> Any:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    series: dict[str, list[tuple[str, float]]] = {}
    for r in history:
        if r["Statistic"] != "Average":
            continue
        if r["MetricName"].startswith(("feature_baseline_drift_", "feature_non_null_")) or not (
            r["MetricName"].startswith("feature_")
        ):
            series.setdefault(r["MetricName"], []).append((r["Timestamp"], r["Value"]))
    if not series:
        return None
    names = sorted(series, key=lambda n: (not n.startswith("feature_baseline_drift_"), n))[:limit]
    fig, ax = plt.subplots(figsize=(8, 3.2))
    for name in names:
        points = sorted(series[name])
        ax.plot([p[0][5:16] for p in points], [p[1] for p in points], marker="o", label=name)
    ax.legend(fontsize=7)
    ax.tick_params(axis="x", labelrotation=30, labelsize=7)
    ax.set_title("metrics per execution", fontsize=9)
    fig.tight_layout()
    return fig


def execution_report(
    out_dir: str | Path,
    *,
    title: str,
    monitor_type: str,
    status: str,
    violations: dict[str, Any],
    statistics: dict[str, Any] | None = None,
    baseline_statistics: dict[str, Any] | None = None,
    analysis: dict[str, Any] | None = None,
    history: list[dict[str, Any]] | None = None,
    details: dict[str, Any] | None = None,
) -> dict[str, Path]:
    """Write one execution's report into ``out_dir``; returns the written paths."""
    from smkit.report import Report

    report = Report(name=title, title=title, status=status)
    report.details.update(details or {})
    report.metrics["violations"] = len(violations.get("violations", []))
    report.add_text("Status", f"{monitor_type}: {status}")
    report.add_table("Violations", list(violations.get("violations", [])))
    if statistics and baseline_statistics and statistics.get("features"):
        fig = _distribution_figure(baseline_statistics, statistics)
        if fig is not None:
            report.add_figure(
                "Baseline vs current distributions", fig, filename="distributions.png"
            )
    if analysis:
        fig = _shap_figure(analysis)
        if fig is not None:
            report.add_figure("SHAP values", fig, filename="shap.png")
    if history:
        fig = _series_figure(history)
        if fig is not None:
            report.add_figure("Metric time series", fig, filename="metrics.png")
    return report.write(out_dir)
