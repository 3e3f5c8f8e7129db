"""Run every benchmark and write the table the docs include (docs/benchmarks-results.md).

    python benchmarks/run_all.py [--only NAME ...] [--quick]

Each benchmark prints ``RESULT {...}`` lines (see ``_common.emit``); this script collects them
into a markdown table: figure, smkit, reference, ratio, machine.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
from _common import cores  # noqa: E402

OUT = HERE.parent / "docs" / "benchmarks-results.md"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", default=None, help="benchmark names to run")
    parser.add_argument("--quick", action="store_true", help="pass --quick to each benchmark")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    scripts = sorted(p for p in HERE.glob("*.py") if not p.name.startswith(("_", "run_all")))
    if args.only:
        scripts = [p for p in scripts if p.stem in args.only]
    rows: list[dict] = []
    failures = []
    for script in scripts:
        quick = args.quick and '"--quick"' in script.read_text()
        cmd = [sys.executable, str(script)] + (["--quick"] if quick else [])
        print(f"== {script.name}", flush=True)
        start = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True)
        print(proc.stdout)
        if proc.returncode != 0:
            failures.append(script.name)
            print(proc.stderr[-2000:], file=sys.stderr)
            continue
        for line in proc.stdout.splitlines():
            if line.startswith("RESULT "):
                row = json.loads(line[7:])
                row["seconds"] = round(time.perf_counter() - start, 1)
                rows.append(row)
    if args.only and args.out.is_file():  # keep the other benchmarks' rows
        kept = [
            line
            for line in args.out.read_text().splitlines()
            if line.startswith("| ")
            and not line.startswith(("| benchmark", "|---"))
            and line.split("|")[1].strip() not in args.only
        ]
    else:
        kept = []
    machine = f"{cores()} cores, {platform.machine()}, Python {platform.python_version()}"
    today = f"{datetime.now(UTC):%Y-%m-%d}"
    measured = f"Measured {today} on {machine} by `python benchmarks/run_all.py`."
    if kept:  # a partial run: the first line keeps the other rows' date
        first = args.out.read_text().splitlines()[0].split("; ")[0].rstrip(".")
        measured = f"{first}; {', '.join(args.only)} re-measured {today}."
    new = []
    for r in rows:
        ref = f"{r['reference']:.4g}" if r.get("reference") is not None else "-"
        ratio = f"{r['ratio']:.2f}x" if r.get("ratio") is not None else "-"
        if r.get("ratio_text"):
            ratio = r["ratio_text"]
        new.append(
            f"| {r['benchmark']} | {r['figure']} ({r['unit']}) | {r['smkit']:.4g} | "
            f"{ref} | {ratio} | {r.get('note', '')} |"
        )
    lines = [
        measured,
        "",
        "| benchmark | figure | smkit | reference | ratio | note |",
        "|---|---|---|---|---|---|",
    ]
    # rows grouped by benchmark in name order (sorted is stable: each one's rows keep theirs)
    lines.extend(sorted(kept + new, key=lambda line: line.split("|")[1].strip()))
    args.out.write_text("\n".join(lines) + "\n")
    print(f"wrote {args.out}")
    if failures:
        print(f"failed: {', '.join(failures)}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
