"""System profiling of a running job: CPU %, memory, per-step time, GPU when present.

`SystemSampler` samples a process tree every ``interval`` seconds (psutil) in a
background thread. `write_profile` writes ``system_metrics.json``:

    {"interval_ms": 500, "cores": 2,
     "samples": [{"t": 0.5, "cpu_percent": 97.0, "rss_mb": 210.3, "system_memory_percent": 41.2,
                  "gpu_percent": null, "gpu_memory_mb": null}, ...],
     "steps": {"count": 100, "mean_s": 0.012, "p50_s": 0.011, "p95_s": 0.02, "max_s": 0.05},
     "summary": {"cpu_percent_mean": 95.1, "cpu_percent_max": 101.0, "rss_mb_max": 250.0}}

and `plot_profile` a PNG of CPU and memory over time (and step times).
"""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

__all__ = ["SystemSampler", "plot_profile", "write_profile"]


def _gpu_sample() -> tuple[float | None, float | None]:
    if shutil.which("nvidia-smi") is None:
        return None, None
    try:
        out = subprocess.run(
            [
                "nvidia-smi",
                "--query-gpu=utilization.gpu,memory.used",
                "--format=csv,noheader,nounits",
            ],
            capture_output=True,
            text=True,
            timeout=2,
        ).stdout.strip()
        util, mem = out.splitlines()[0].split(",")
        return float(util), float(mem)
    except (OSError, ValueError, IndexError, subprocess.SubprocessError):
        return None, None


class SystemSampler:
    """Samples the resource use of a process and its children.

    Args:
        pid: Root process to follow.
        interval: Seconds between samples.
    """

    def __init__(self, pid: int, interval: float = 0.5) -> None:
        self.pid = pid
        self.interval = interval
        self.samples: list[dict[str, Any]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="smkit-profiler", daemon=True)
        self._gpu = shutil.which("nvidia-smi") is not None
        self._start = time.monotonic()

    def start(self) -> SystemSampler:
        """Start sampling in a daemon thread."""
        self._thread.start()
        return self

    def stop(self) -> list[dict[str, Any]]:
        """Stop sampling and return the samples."""
        self._stop.set()
        self._thread.join(timeout=5)
        return self.samples

    def _run(self) -> None:
        import psutil

        try:
            root = psutil.Process(self.pid)
        except psutil.Error:
            return
        procs: dict[int, Any] = {}
        while not self._stop.wait(self.interval):
            try:
                tree = [root, *root.children(recursive=True)]
            except psutil.Error:
                break
            cpu = 0.0
            rss = 0
            for proc in tree:
                known = procs.setdefault(proc.pid, proc)
                try:
                    cpu += known.cpu_percent(None)
                    rss += known.memory_info().rss
                except psutil.Error:
                    continue
            gpu, gpu_mem = _gpu_sample() if self._gpu else (None, None)
            self.samples.append(
                {
                    "t": round(time.monotonic() - self._start, 3),
                    "cpu_percent": round(cpu, 1),
                    "rss_mb": round(rss / 2**20, 1),
                    "system_memory_percent": psutil.virtual_memory().percent,
                    "gpu_percent": gpu,
                    "gpu_memory_mb": gpu_mem,
                }
            )


def write_profile(
    path: str | Path,
    samples: list[dict[str, Any]],
    step_times: list[float],
    *,
    interval_ms: int,
) -> dict[str, Any]:
    """Write ``system_metrics.json`` and return its content."""
    import os

    cpu = [s["cpu_percent"] for s in samples]
    rss = [s["rss_mb"] for s in samples]
    steps: dict[str, Any] = {"count": len(step_times)}
    if step_times:
        ordered = sorted(step_times)
        steps.update(
            mean_s=statistics.fmean(step_times),
            p50_s=ordered[len(ordered) // 2],
            p95_s=ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))],
            max_s=ordered[-1],
        )
    doc = {
        "interval_ms": interval_ms,
        "cores": os.cpu_count(),
        "samples": samples,
        "steps": steps,
        "step_times_s": step_times,
        "summary": {
            "samples": len(samples),
            "cpu_percent_mean": statistics.fmean(cpu) if cpu else None,
            "cpu_percent_max": max(cpu, default=None),
            "rss_mb_max": max(rss, default=None),
        },
    }
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(doc, indent=1))
    return doc


def plot_profile(doc: dict[str, Any], path: str | Path) -> Path:
    """A PNG of CPU %, memory and (when recorded) step times."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    samples = doc.get("samples", [])
    steps = doc.get("step_times_s", [])
    rows = 3 if steps else 2
    fig, axes = plt.subplots(rows, 1, figsize=(7, 2.2 * rows), constrained_layout=True)
    t = [s["t"] for s in samples]
    axes[0].plot(t, [s["cpu_percent"] for s in samples], color="tab:blue")
    axes[0].set_ylabel("CPU %")
    axes[1].plot(t, [s["rss_mb"] for s in samples], color="tab:orange")
    axes[1].set_ylabel("RSS MiB")
    axes[1].set_xlabel("seconds")
    if steps:
        axes[2].plot(range(1, len(steps) + 1), steps, color="tab:green")
        axes[2].set_ylabel("step s")
        axes[2].set_xlabel("step")
    out = Path(path)
    fig.savefig(out, dpi=80)
    plt.close(fig)
    return out
