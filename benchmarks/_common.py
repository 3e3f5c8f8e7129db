"""Shared output format of the benchmarks.

Every figure is printed as a human-readable row and as one machine-readable line
``RESULT {...json...}`` that ``benchmarks/run_all.py`` collects into the docs table.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import time
from collections.abc import Callable

__all__ = ["cores", "emit", "header", "median_time"]


def cores() -> int:
    """CPU cores this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def header(title: str, reference: str) -> None:
    """Print the benchmark's title, the reference it compares against, and the machine."""
    print(f"# {title}")
    print(f"machine: {cores()} cores, {platform.machine()}, Python {platform.python_version()}")
    print(f"reference: {reference}")
    print(f"{'figure':<46}{'smkit':>12}{'reference':>12}{'ratio':>9}")


def emit(
    benchmark: str,
    figure: str,
    smkit: float,
    reference: float | None,
    unit: str,
    *,
    ratio: float | None = None,
    note: str = "",
    ratio_text: str | None = None,
) -> None:
    """Print one figure.

    ``ratio`` defaults to reference / smkit, right for times: above 1 smkit is that many
    times faster. For throughputs and counts (higher is better) pass ``ratio=smkit /
    reference`` explicitly, so that above 1 always means smkit does better.
    ``ratio_text`` stands in for the ratio where one would mislead (``"0 failures"``)."""
    if ratio is None and reference and ratio_text is None:
        ratio = reference / smkit if smkit else None
    ref = f"{reference:>12.4g}" if reference is not None else f"{'-':>12}"
    rat = f"{ratio:>8.2f}x" if ratio is not None else f"{'-':>9}"
    if ratio_text is not None:
        rat = f"{ratio_text:>9}"
    print(f"{figure + ' (' + unit + ')':<46}{smkit:>12.4g}{ref}{rat}")
    print(
        "RESULT "
        + json.dumps(
            {
                "benchmark": benchmark,
                "figure": figure,
                "unit": unit,
                "smkit": smkit,
                "reference": reference,
                "ratio": ratio,
                "note": note,
                "ratio_text": ratio_text,
                "cores": cores(),
            }
        )
    )


def median_time(fn: Callable[[], object], runs: int = 5) -> float:
    """Median wall time of ``fn`` over ``runs`` calls, in seconds."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)
