"""Cold-import time of ``smkit`` vs ``sagemaker.core.model_monitor`` (the SDK's monitor module).

Each import runs in a fresh interpreter; a bare interpreter start, measured the same way,
is subtracted. Prints medians of N runs and the ratio.

    python benchmarks/import_time.py [--runs 7]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import emit, header


def _time(code: str, runs: int) -> float:
    times = []
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True, env=env)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    header("import time", "import sagemaker.core.model_monitor (cold, fresh interpreter)")
    base = _time("pass", args.runs)
    smkit_t = _time("import smkit; smkit.Session", args.runs) - base
    try:
        sm_t = _time("import sagemaker.core.model_monitor", args.runs) - base
    except subprocess.CalledProcessError:
        print("sagemaker is not installed (pip install 'smkit[aws]'): no reference")
        return
    print(
        f"medians of {args.runs} cold starts; interpreter start ({base * 1000:.0f} ms) subtracted"
    )
    emit("import_time", "cold import", smkit_t * 1000, sm_t * 1000, "ms")


if __name__ == "__main__":
    main()
