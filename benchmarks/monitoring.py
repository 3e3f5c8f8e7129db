"""Monitoring benchmarks: the data-quality baseline and TreeSHAP vs KernelSHAP.

Run: ``.venv/bin/python benchmarks/monitoring.py [--rows 1000000] [--repeat 3]``

1. Baseline statistics + constraints on a generated CSV (``rows`` × 20 columns: 14 float,
   3 int, 3 categorical, 1% missing), timed against pyarrow's ``read_csv`` of the same file in
   the same run (median of ``repeat`` runs each), with the analyzer's peak RSS growth measured
   in a fresh subprocess.
2. TreeSHAP vs KernelSHAP (Clarify semantics) per row on an XGBoost model of sklearn's wine
   data: the time ratio and the Spearman agreement of the global rankings.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import emit


def make_csv(path: Path, rows: int, seed: int = 0) -> None:
    """Write the benchmark CSV (header row; 14 float, 3 int, 3 categorical; 1% missing)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pcsv

    rng = np.random.default_rng(seed)

    def missing() -> np.ndarray:
        return rng.random(rows) < 0.01

    cols: dict[str, object] = {}
    for i in range(14):
        cols[f"f{i}"] = pa.array(np.round(rng.normal(i, 1 + i / 7, rows), 6), mask=missing())
    for i in range(3):
        cols[f"i{i}"] = pa.array(rng.integers(0, 1000 * (i + 1), rows), mask=missing())
    cats = np.array(["red", "green", "blue", "amber", "violet"])
    for i in range(3):
        cols[f"c{i}"] = pa.array(cats[rng.integers(0, 5 - i, rows)], mask=missing())
    pcsv.write_csv(pa.table(cols), path, pcsv.WriteOptions(quoting_style="none"))


def _median_time(fn, repeat: int) -> tuple[float, list[float], float]:
    """Median wall seconds, the runs, and the median process CPU seconds."""
    times, cpu = [], []
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return statistics.median(times), times, statistics.median(cpu)


_RSS_CODE = """
import json, resource, sys, psutil
from smkit.backends.local.monitor import compute_statistics, suggest_constraints
proc = psutil.Process()
before = proc.memory_info().rss
import pyarrow, pyarrow.csv, pyarrow.compute, numpy, numba  # imports are not working memory
after_imports = proc.memory_info().rss
stats = compute_statistics(sys.argv[1])
suggest_constraints(stats)
# VmHWM: this process's own high-water mark (ru_maxrss would include the parent's at fork)
with open("/proc/self/status") as fh:
    hwm = [line for line in fh if line.startswith("VmHWM:")]
if hwm:
    peak = int(hwm[0].split()[1]) * 1024
else:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"peak_rss": peak, "after_imports": after_imports}))
"""


def _peak_rss(path: Path) -> dict[str, int]:
    out = subprocess.run(
        [sys.executable, "-c", _RSS_CODE, str(path)], capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout)


def bench_baseline(rows: int, repeat: int) -> dict[str, float]:
    import pyarrow.csv as pcsv

    from smkit.backends.local.monitor import compute_statistics, suggest_constraints

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "data.csv"
        t0 = time.perf_counter()
        make_csv(path, rows)
        gen = time.perf_counter() - t0
        size = path.stat().st_size
        # warm the page cache and the analyzer's compiled loop once
        pcsv.read_csv(path)
        t0 = time.perf_counter()
        compute_statistics(path)
        first = time.perf_counter() - t0
        # interleave the two so machine load hits both alike
        arrow_runs, our_runs, arrow_cpu, our_cpu = [], [], [], []
        for _ in range(repeat):
            _, runs, cpu = _median_time(lambda: pcsv.read_csv(path), 1)
            arrow_runs += runs
            arrow_cpu.append(cpu)
            _, runs, cpu = _median_time(lambda: suggest_constraints(compute_statistics(path)), 1)
            our_runs += runs
            our_cpu.append(cpu)
        t_arrow, t_ours = statistics.median(arrow_runs), statistics.median(our_runs)
        quarter = Path(tmp) / "quarter.csv"
        with open(path, "rb") as src, open(quarter, "wb") as dst:
            for i, line in enumerate(src):
                if i > rows // 4:
                    break
                dst.write(line)
        rss, rss_q = (_peak_rss(p) for p in (path, quarter))
    return {
        "rows": rows,
        "file_mb": size / 1e6,
        "generate_s": gen,
        "first_run_s": first,
        "baseline_s": t_ours,
        "baseline_runs": our_runs,
        "pyarrow_read_s": t_arrow,
        "pyarrow_runs": arrow_runs,
        "ratio": t_ours / t_arrow,
        "cpu_ratio": statistics.median(our_cpu) / statistics.median(arrow_cpu),
        "pyarrow_cpu_s": statistics.median(arrow_cpu),
        "baseline_cpu_s": statistics.median(our_cpu),
        "peak_rss_mb": rss["peak_rss"] / 1e6,
        "rss_after_imports_mb": rss["after_imports"] / 1e6,
        "peak_rss_quarter_mb": rss_q["peak_rss"] / 1e6,
    }


def bench_shap(repeat: int) -> dict[str, float]:
    from smkit.backends.local.clarify import compare_tree_kernel

    return compare_tree_kernel(repeat=repeat)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip-shap", action="store_true")
    parser.add_argument("--quick", action="store_true", help="200,000 rows, one repeat")
    args = parser.parse_args(argv)
    if args.quick:
        args.rows, args.repeat = min(args.rows, 200_000), 1
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"machine: {cores} cores")
    b = bench_baseline(args.rows, args.repeat)
    print(
        f"baseline {b['rows']:,} rows x 20 cols ({b['file_mb']:.0f} MB): "
        f"{b['baseline_s']:.2f} s (median of {args.repeat}; first run {b['first_run_s']:.2f} s) "
        f"vs pyarrow read_csv {b['pyarrow_read_s']:.2f} s -> ratio {b['ratio']:.2f}x "
        f"(CPU-time ratio {b['cpu_ratio']:.2f}x); "
        f"peak RSS {b['peak_rss_mb']:.0f} MB ({b['rss_after_imports_mb']:.0f} MB after imports; "
        f"{b['peak_rss_quarter_mb']:.0f} MB for a quarter of the rows)"
    )
    print(
        f"  goal <= 2x on {cores} cores: {'met' if b['ratio'] <= 2.0 else 'NOT met'}; peak RSS "
        f"full / quarter of the rows = {b['peak_rss_mb'] / b['peak_rss_quarter_mb']:.2f} "
        "(flat memory: about 1)"
    )
    emit(
        "monitoring",
        f"data-quality baseline, {b['rows']:,} rows x 20 cols",
        b["baseline_s"],
        b["pyarrow_read_s"],
        "s",
        note=(
            f"smkit takes {b['ratio']:.2f}x the read's time on {cores} cores; reference: "
            f"pyarrow read_csv of the same file, same run; peak RSS {b['peak_rss_mb']:.0f} MB"
        ),
    )
    if not args.skip_shap:
        s = bench_shap(args.repeat)
        print(
            f"TreeSHAP {s['tree_per_row_s'] * 1e3:.3f} ms/row vs KernelSHAP "
            f"{s['kernel_per_row_s'] * 1e3:.1f} ms/row -> {s['speedup']:.0f}x faster; "
            f"Spearman of global rankings {s['spearman']:.3f} "
            f"({s['rows']} rows, {s['features']} features, num_samples {s['num_samples']})"
        )
        emit(
            "monitoring",
            "TreeSHAP per row, wine XGBoost",
            s["tree_per_row_s"] * 1e3,
            s["kernel_per_row_s"] * 1e3,
            "ms",
            note=f"reference: KernelSHAP per row; Spearman of rankings {s['spearman']:.3f}",
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
