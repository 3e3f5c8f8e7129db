"""Cold-import time of ``smkit`` vs ``sagemaker.core.model_monitor`` (the SDK's monitor module).

Each import runs in a fresh interpreter (``python -X importtime`` is not used: we time the
whole process start + import and subtract a bare interpreter start measured the same way).
Prints medians of N runs and the ratio.

    python benchmarks/import_time.py [--runs 7]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time


def _time(code: str, runs: int) -> list[float]:
    times = []
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True, env=env)
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    base = statistics.median(_time("pass", args.runs))
    smkit_t = statistics.median(_time("import smkit; smkit.Session", args.runs)) - base
    try:
        sm_t = statistics.median(_time("import sagemaker.core.model_monitor", args.runs)) - base
    except subprocess.CalledProcessError:
        print("sagemaker is not installed (pip install 'smkit[aws]'): no reference")
        return
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"machine: {cores} cores; medians of {args.runs} cold starts, interpreter start "
          f"({base * 1000:.0f} ms) subtracted")
    print(f"{'figure':<40}{'smkit':>10}{'reference':>12}{'ratio':>10}")
    print(f"{'cold import (ms)':<40}{smkit_t * 1000:>10.1f}{sm_t * 1000:>12.1f}"
          f"{sm_t / max(smkit_t, 1e-6):>9.1f}x")
    print("reference: import sagemaker.core.model_monitor")


if __name__ == "__main__":
    main()
