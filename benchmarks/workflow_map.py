"""Workflow Map cost: a Distributed Map over 100,000 small items, time and peak memory.

Run: ``.venv/bin/python benchmarks/workflow_map.py [--quick]``

Each size runs in a fresh process, twice: through the local Step Functions executor (a
Distributed Map reading a JSON-lines object from the local store, one child execution per
item running a Pass state with an intrinsic, results written with ResultWriter), and as the
reference, a plain Python loop over the same items computing the same values and writing the
same result file. Figures: wall time, peak resident memory above the process's baseline
after imports, and how time scales from the smallest to the largest size (4x the items:
linear is 4.0).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import emit, header

BENCH = "workflow_map"

DEFINITION = {
    "StartAt": "EachItem",
    "States": {
        "EachItem": {
            "Type": "Map",
            "ItemReader": {
                "Resource": "arn:aws:states:::s3:getObject",
                "ReaderConfig": {"InputType": "JSONL"},
                "Parameters": {"Bucket": "bench", "Key": "items.jsonl"},
            },
            "ItemProcessor": {
                "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                "StartAt": "Double",
                "States": {
                    "Double": {
                        "Type": "Pass",
                        "Parameters": {"id.$": "$.id", "double.$": "States.MathAdd($.v, $.v)"},
                        "End": True,
                    }
                },
            },
            "ResultWriter": {
                "Resource": "arn:aws:states:::s3:putObject",
                "Parameters": {"Bucket": "bench", "Prefix": "results"},
            },
            "End": True,
        }
    },
}


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _items(n: int) -> bytes:
    return "".join(json.dumps({"id": i, "v": i % 7}) + "\n" for i in range(n)).encode()


def one(n: int, mode: str) -> dict:
    """Run one size in this process; returns seconds and peak MiB above the baseline."""
    import smkit
    from smkit.workflow import Workflow

    root = tempfile.mkdtemp(prefix="smkit-bench-map-")
    session = smkit.Session(root=root)
    store = session.backend.store
    store.put_bytes("s3://bench/items.jsonl", _items(n))
    wf = Workflow.from_asl(DEFINITION, name="bench-map")
    base = _rss_mib()
    start = time.perf_counter()
    if mode == "smkit":
        ex = session.run_workflow(wf, {})
        seconds, peak = time.perf_counter() - start, _rss_mib()
        assert ex.status == "SUCCEEDED", (ex.error, ex.cause)
        # checking the result files (parsing 100,000 records) is not part of the figure
        manifest = json.loads(
            store.get_bytes("s3://bench/" + ex.output["ResultWriterDetails"]["Key"])
        )
        count = sum(
            len(json.loads(store.get_bytes("s3://bench/" + f["Key"])))
            for f in manifest["ResultFiles"]["SUCCEEDED"]
        )
    else:
        text = store.get_bytes("s3://bench/items.jsonl").decode()
        results = []
        for line in text.splitlines():
            item = json.loads(line)
            out = {"id": item["id"], "double": item["v"] + item["v"]}
            results.append({"Input": json.dumps(item), "Output": json.dumps(out)})
        store.put_bytes("s3://bench/results/reference.json", json.dumps(results).encode())
        count = len(results)
        seconds, peak = time.perf_counter() - start, _rss_mib()
    assert count == n, count
    return {"seconds": seconds, "peak_mib": max(0.0, peak - base)}


def _measure(n: int, mode: str) -> dict:
    proc = subprocess.run(
        [sys.executable, __file__, "--one", str(n), mode], capture_output=True, text=True
    )
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr[-2000:])
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10,000 and 40,000 items")
    parser.add_argument("--one", nargs=2, metavar=("N", "MODE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one(int(args.one[0]), args.one[1])))
        return
    sizes = [10_000, 40_000] if args.quick else [25_000, 100_000]
    header(
        "Distributed Map over small items (local executor)",
        "a plain Python loop over the same items, same values and result file, same run",
    )
    got = {}
    for n in sizes:
        sm, ref = _measure(n, "smkit"), _measure(n, "python")
        got[n] = (sm, ref)
        emit(BENCH, f"Map over {n:,} items: time", sm["seconds"], ref["seconds"], "s")
        emit(
            BENCH,
            f"Map over {n:,} items: peak memory",
            sm["peak_mib"],
            ref["peak_mib"],
            "MiB",
            note="RSS above the baseline after imports",
        )
    small, large = sizes
    scale = got[large][0]["seconds"] / got[small][0]["seconds"]
    ref_scale = got[large][1]["seconds"] / got[small][1]["seconds"]
    emit(
        BENCH,
        f"time x{large // small} items (linear = {large // small})",
        scale,
        ref_scale,
        "ratio",
        ratio=ref_scale / scale if scale else None,
    )


if __name__ == "__main__":
    main()
