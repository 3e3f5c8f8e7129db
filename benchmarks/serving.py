"""Serving throughput and latency: smkit's local endpoint against references in the same run.

Run: ``.venv/bin/python benchmarks/serving.py [--duration 15] [--concurrency 1 8 32]``

One XGBoost model trained on scikit-learn's wine data is served by

- smkit's local endpoint (one worker) with data capture off, and with 100% capture on;
- a minimal Starlette app on uvicorn (httptools + uvloop) doing the same parse/predict/format
  with no checks and no capture (the "bare minimal server" reference);
- ``mlflow models serve`` (1 worker, ``--env-manager local``) when mlflow is importable;
- at the same worker count, smkit's endpoint with ``SAGEMAKER_MODEL_SERVER_WORKERS=2`` and
  100% capture against ``mlflow models serve --workers 2`` (``--workers 1`` skips them);
- at concurrency 8 only, a stdlib ``ThreadingHTTPServer`` (the other stack considered).

Each server runs in its own process; an external closed-loop keep-alive load generator,
``wrk`` (from the system packages, ``apt-get install wrk``; ``--loadgen python`` or a machine
without it falls back to :mod:`smkit.serving.loadgen`), sends one wine row per request for
``--duration`` seconds per concurrency level, split into ``--windows`` windows taken
round-robin across the servers (so load from other processes on the machine hits each server
alike): the throughput printed is the median of a server's windows; latencies are wrk's
percentiles (median p50, worst p99 over the windows), or percentiles over all requests with
the Python generator.
Ratios compare servers measured in this same run on this machine.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROW = "13.2,1.78,2.14,11.2,100,2.65,2.76,0.26,1.28,4.38,1.05,3.4,1050"
COLUMNS = [f"f{i}" for i in range(13)]

REFERENCE_APP = r"""
import sys
import numpy as np
import xgboost as xgb
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

booster = xgb.Booster()
booster.load_model(sys.argv[2])
booster.set_param({"nthread": 1})

async def invocations(request: Request) -> Response:
    text = (await request.body()).decode()
    arr = np.array([ln.split(",") for ln in text.splitlines() if ln], dtype=np.float32)
    pred = booster.inplace_predict(arr)
    return Response("\n".join(",".join(map(str, r)) for r in pred), media_type="text/csv")

async def ping(request: Request) -> Response:
    return Response(b"")

app = Starlette(routes=[Route("/invocations", invocations, methods=["POST"]),
                        Route("/ping", ping)])
import uvicorn
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning",
            access_log=False, http="httptools", loop="uvloop")
"""

STDLIB_APP = r"""
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
import numpy as np
import xgboost as xgb

booster = xgb.Booster()
booster.load_model(sys.argv[2])
booster.set_param({"nthread": 1})

class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def do_GET(self):
        self.send_response(200); self.send_header("Content-Length", "0"); self.end_headers()
    def do_POST(self):
        text = self.rfile.read(int(self.headers["Content-Length"])).decode()
        arr = np.array([ln.split(",") for ln in text.splitlines() if ln], dtype=np.float32)
        out = "\n".join(",".join(map(str, r)) for r in booster.inplace_predict(arr)).encode()
        self.send_response(200); self.send_header("Content-Type", "text/csv")
        self.send_header("Content-Length", str(len(out))); self.end_headers()
        self.wfile.write(out)

class S(ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        # a load generator closing its connections at the end of a window is not an error
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)

S(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
"""


sys.path.insert(0, str(Path(__file__).parent))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(url: str, proc: subprocess.Popen | None = None, timeout: float = 120) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            if httpx.get(url, timeout=2, trust_env=False).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{url} not ready after {timeout}s")


WRK_SCRIPT = """
wrk.method = "POST"
wrk.headers["Content-Type"] = os.getenv("SMKIT_BENCH_CTYPE")
local f = io.open(os.getenv("SMKIT_BENCH_BODY"), "rb")
wrk.body = f:read("*a")
f:close()
"""


class WrkWindow:
    """One ``wrk`` run: throughput, latency percentiles (ms) and non-2xx answers."""

    def __init__(self, rps: float, p50: float, p99: float, non2xx: int, requests: int) -> None:
        self.throughput, self.p50, self.p99 = rps, p50, p99
        self.non2xx, self.requests = non2xx, requests


def _wrk_ms(text: str) -> float:
    value = float(text.rstrip("umsµ"))
    if text.endswith("us"):
        return value / 1000
    if text.endswith("ms"):
        return value
    if text.endswith("m"):
        return value * 60_000
    return value * 1000  # seconds


def run_wrk(url: str, body: bytes, ctype: str, concurrency: int, duration: float) -> WrkWindow:
    """``wrk`` against ``url`` for ``duration`` seconds with ``concurrency`` connections."""
    import re

    tmp = Path(tempfile.mkdtemp(prefix="smkit-wrk-"))
    (tmp / "body").write_bytes(body)
    (tmp / "post.lua").write_text(WRK_SCRIPT)
    env = {**os.environ, "SMKIT_BENCH_BODY": str(tmp / "body"), "SMKIT_BENCH_CTYPE": ctype}
    threads = max(1, min(2, concurrency))
    out = subprocess.run(
        [
            "wrk", "-t", str(threads), "-c", str(concurrency), "-d", f"{max(1, round(duration))}s",
            "--latency", "-s", str(tmp / "post.lua"), url,
        ],
        capture_output=True, text=True, env=env, check=True, timeout=duration + 60,
    ).stdout  # fmt: skip
    shutil.rmtree(tmp, ignore_errors=True)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = _wrk_ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1))
    p99 = _wrk_ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    total = int(re.search(r"(\d+) requests in", out).group(1))
    return WrkWindow(rps, p50, p99, int(bad.group(1)) if bad else 0, total)


def _summary(windows: list) -> dict:
    if windows and isinstance(windows[0], WrkWindow):
        return {
            "rps": statistics.median(w.throughput for w in windows),
            "p50": statistics.median(w.p50 for w in windows),
            "p99": max(w.p99 for w in windows),
            "non200": sum(w.non2xx for w in windows),
            "requests": sum(w.requests for w in windows),
        }
    lat = sorted(x for w in windows for x in w.latencies)
    bad = sum(n for w in windows for code, n in w.statuses.items() if code != 200)
    return {
        "rps": statistics.median(w.throughput for w in windows),
        "p50": statistics.median(lat) * 1000 if lat else float("nan"),
        "p99": lat[min(len(lat) - 1, round(0.99 * (len(lat) - 1)))] * 1000 if lat else 0,
        "non200": bad,
        "requests": len(lat),
    }


LOADGEN = "wrk" if shutil.which("wrk") else "python"


def measure_interleaved(
    servers: dict[str, tuple[str, bytes, str]], concurrency: int, duration: float, windows: int
) -> dict[str, dict]:
    """Round-robin windows over the servers, so background load hits each alike."""
    from smkit.serving.loadgen import run_load

    def one(url: str, body: bytes, ctype: str, seconds: float) -> object:
        if LOADGEN == "wrk":
            return run_wrk(url, body, ctype, concurrency, seconds)
        return run_load(url, body, content_type=ctype, concurrency=concurrency, duration=seconds)

    runs: dict[str, list] = {name: [] for name in servers}
    for url, body, ctype in servers.values():  # warm up
        run_load(url, body, content_type=ctype, concurrency=concurrency, duration=0.5)
    for _ in range(windows):
        for name, (url, body, ctype) in servers.items():
            runs[name].append(one(url, body, ctype, duration / windows))
    return {name: _summary(ws) for name, ws in runs.items()}


def build_model(tmp: Path) -> tuple[Path, Path]:
    import tarfile

    import xgboost as xgb
    from sklearn.datasets import load_wine

    X, y = load_wine(return_X_y=True)
    booster = xgb.train(
        {"objective": "multi:softprob", "num_class": 3, "max_depth": 4, "nthread": 1},
        xgb.DMatrix(X, label=y),
        50,
    )
    model = tmp / "xgboost-model.json"
    booster.save_model(str(model))
    tar = tmp / "model.tar.gz"
    with tarfile.open(tar, "w:gz") as t:
        t.add(model, arcname="xgboost-model")
    return model, tar


def start_mlflow(
    tmp: Path, model_json: Path, workers: int = 1
) -> tuple[subprocess.Popen, str] | None:
    try:
        import mlflow.xgboost
        import xgboost as xgb
    except ImportError:
        return None
    booster = xgb.Booster()
    booster.load_model(str(model_json))
    path = tmp / f"mlflow-model-{workers}"
    if not path.exists():
        mlflow.xgboost.save_model(booster, str(path))
    port = free_port()
    exe = shutil.which("mlflow", path=str(Path(sys.executable).parent)) or "mlflow"
    env = {
        **os.environ,
        "MLFLOW_TRACKING_URI": f"file://{tmp}/mlruns",
        "OMP_NUM_THREADS": "1",
        # mlflow execs `uvicorn` by name: the venv's bin must be on PATH
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    proc = subprocess.Popen(
        [
            exe,
            "models",
            "serve",
            "-m",
            str(path),
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
            "--env-manager",
            "local",
            "-w",
            str(workers),
        ],
        stdout=subprocess.DEVNULL,
        stderr=open(tmp / f"mlflow-{workers}.log", "wb"),  # noqa: SIM115
        env=env,
        start_new_session=True,
    )
    try:
        wait_ready(f"http://127.0.0.1:{port}/ping", proc, timeout=180)
    except (RuntimeError, TimeoutError) as exc:
        proc.kill()
        tail = (tmp / f"mlflow-{workers}.log").read_text(errors="replace")[-1500:]
        print(f"mlflow models serve did not start ({exc}); log tail:\n{tail}")
        return None
    return proc, f"http://127.0.0.1:{port}/invocations"


def start_script(tmp: Path, name: str, code: str, model_json: Path) -> tuple[subprocess.Popen, str]:
    script = tmp / f"{name}.py"
    script.write_text(code)
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, str(script), str(port), str(model_json)],
        env={**os.environ, "OMP_NUM_THREADS": "1"},
        start_new_session=True,
    )
    wait_ready(f"http://127.0.0.1:{port}/ping", proc)
    return proc, f"http://127.0.0.1:{port}/invocations"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=float, default=15.0, help="seconds per level")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--windows", type=int, default=5, help="windows per level")
    parser.add_argument("--no-mlflow", action="store_true", help="skip the MLflow reference")
    parser.add_argument("--json", help="also write the results to this JSON file")
    parser.add_argument(
        "--workers",
        type=int,
        default=2,
        help="worker count of the multi-worker pair (smkit and mlflow); 1 skips it",
    )
    parser.add_argument("--quick", action="store_true", help="3 s per level, concurrency 8 only")
    parser.add_argument(
        "--loadgen",
        choices=("wrk", "python"),
        default=LOADGEN,
        help="load generator (default: wrk when installed, else smkit's asyncio one)",
    )
    args = parser.parse_args()
    globals()["LOADGEN"] = args.loadgen
    if args.loadgen == "wrk" and not shutil.which("wrk"):
        parser.error("wrk is not installed (apt-get install wrk), or use --loadgen python")
    if args.quick:
        args.duration, args.concurrency, args.windows = 3.0, [8], 3

    from smkit.serving import DataCaptureSpec, EndpointSpec, ModelSpec
    from smkit.session import Session

    tmp = Path(tempfile.mkdtemp(prefix="smkit-bench-"))
    session = Session("local", root=tmp / "root")
    procs: list[subprocess.Popen] = []
    try:
        model_json, tar = build_model(tmp)
        csv_body = (ROW + "\n").encode()
        servers: dict[str, tuple[str, bytes, str]] = {}
        for name, capture in (("smkit", None), ("smkit+capture", DataCaptureSpec(100))):
            ep = session.deploy(
                # one worker, as the Starlette and first mlflow references (the default is
                # one per CPU, measured in the multi-worker pair below)
                ModelSpec(
                    model_data=str(tar),
                    framework="xgboost",
                    env={"SAGEMAKER_MODEL_SERVER_WORKERS": "1"},
                ),
                EndpointSpec(name=name.replace("+", "-"), data_capture=capture),
            )
            servers[name] = (ep.url + "/invocations", csv_body, "text/csv")
        multi = f"smkit+capture, {args.workers} workers"
        mlflow_multi = f"mlflow, {args.workers} workers"
        if args.workers > 1:
            ep = session.deploy(
                ModelSpec(
                    model_data=str(tar),
                    framework="xgboost",
                    env={"SAGEMAKER_MODEL_SERVER_WORKERS": str(args.workers)},
                ),
                EndpointSpec(name="smkit-workers", data_capture=DataCaptureSpec(100)),
            )
            servers[multi] = (ep.url + "/invocations", csv_body, "text/csv")
        proc, url = start_script(tmp, "starlette_ref", REFERENCE_APP, model_json)
        procs.append(proc)
        servers["starlette-minimal"] = (url, csv_body, "text/csv")
        if not args.no_mlflow:
            started = start_mlflow(tmp, model_json)
            if started is None:
                print("mlflow: not importable or cannot serve offline; MLflow ratios skipped")
            else:
                procs.append(started[0])
                mlflow_body = json.dumps(
                    {
                        "dataframe_split": {
                            "columns": COLUMNS,
                            "data": [[float(v) for v in ROW.split(",")]],
                        }
                    }
                ).encode()
                servers["mlflow"] = (started[1], mlflow_body, "application/json")
                if args.workers > 1:
                    started = start_mlflow(tmp, model_json, args.workers)
                    if started is not None:
                        procs.append(started[0])
                        servers[mlflow_multi] = (started[1], mlflow_body, "application/json")
        results: dict[str, dict[int, dict]] = {name: {} for name in servers}
        for c in args.concurrency:
            for name, r in measure_interleaved(servers, c, args.duration, args.windows).items():
                results[name][c] = r
        stdlib_ratio = None
        if 8 in args.concurrency:
            proc, url = start_script(tmp, "stdlib_ref", STDLIB_APP, model_json)
            procs.append(proc)
            pair = {
                "stdlib-threading": (url, csv_body, "text/csv"),
                "starlette-minimal": servers["starlette-minimal"],
            }
            both = measure_interleaved(pair, 8, args.duration / 3, args.windows)
            results["stdlib-threading"] = {8: both["stdlib-threading"]}
            stdlib_ratio = both["stdlib-threading"]["rps"] / both["starlette-minimal"]["rps"]
        print(
            f"\nmachine: {os.cpu_count()} cores; {args.duration:g}s per level; one wine row per "
            f"request; rps = median of {args.windows} windows, servers interleaved; "
            f"load generator: {args.loadgen}"
        )
        print(f"{'server':<28} {'conc':>4} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'non-200':>8}")
        for name, by_c in results.items():
            for c, r in by_c.items():
                print(
                    f"{name:<28} {c:>4} {r['rps']:>9.0f} {r['p50']:>8.2f} {r['p99']:>8.2f} "
                    f"{r['non200']:>8}"
                )
        print("\nratios (same run):")
        for c in args.concurrency:
            on, off = results["smkit+capture"][c]["rps"], results["smkit"][c]["rps"]
            bare = results["starlette-minimal"][c]["rps"]
            line = (
                f"  c={c:<3} capture on/off {on / off:5.2f}x   smkit+capture/starlette-minimal "
                f"{on / bare:5.2f}x   smkit/starlette-minimal {off / bare:5.2f}x"
            )
            if "mlflow" in results:
                ml = results["mlflow"][c]["rps"]
                line += f"   smkit+capture/mlflow {on / ml:5.1f}x   smkit/mlflow {off / ml:5.1f}x"
            print(line)
            if multi in results:
                mw = results[multi][c]["rps"]
                line = f"  c={c:<3} {args.workers} workers: smkit+capture/1 worker {mw / on:5.2f}x"
                if mlflow_multi in results:
                    line += f"   smkit+capture/mlflow {mw / results[mlflow_multi][c]['rps']:5.1f}x"
                print(line)
        if stdlib_ratio is not None:
            print(f"  c=8   stdlib ThreadingHTTPServer/starlette-minimal {stdlib_ratio:5.2f}x")
        from _common import emit

        for c in args.concurrency:
            on, off = results["smkit+capture"][c]["rps"], results["smkit"][c]["rps"]
            bare = results["starlette-minimal"][c]["rps"]
            emit(
                "serving",
                f"throughput with capture, c={c}",
                on,
                bare,
                "req/s",
                ratio=on / bare,
                note="reference: minimal Starlette app, same model, same run",
            )
            emit(
                "serving",
                f"capture on vs off, c={c}",
                on,
                off,
                "req/s",
                ratio=on / off,
                note="reference: smkit endpoint without capture",
            )
            if "mlflow" in results:
                ml = results["mlflow"][c]["rps"]
                emit(
                    "serving",
                    f"throughput with capture vs MLflow, c={c}",
                    on,
                    ml,
                    "req/s",
                    ratio=on / ml,
                    note="reference: mlflow models serve, same model",
                )
            if multi in results and mlflow_multi in results:
                mw, ml = results[multi][c]["rps"], results[mlflow_multi][c]["rps"]
                emit(
                    "serving",
                    f"throughput with capture vs MLflow, {args.workers} workers each, c={c}",
                    mw,
                    ml,
                    "req/s",
                    ratio=mw / ml,
                    note=f"reference: mlflow models serve --workers {args.workers}, same model",
                )
        if args.json:
            Path(args.json).write_text(json.dumps(results, indent=2))
    finally:
        for p in procs:
            p.terminate()
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
        for rec in session.backend.list_endpoints():
            session.backend.delete_endpoint(rec["EndpointName"], force=True)
        session.close()
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
