"""Reliability report: nothing lost under load, faults survived, fuzz cases that crashed.

Run: ``.venv/bin/python benchmarks/reliability.py [--requests 3000] [--concurrency 8]
[--fuzz-examples 300] [--attack-header-mb 80] [--attack-idle 1000] [--no-reference]``

One run prints:

- **load**: requests sent / accepted / captured by a local endpoint with 100% data capture
  under bounded concurrent keep-alive load (:mod:`smkit.serving.loadgen`); captured is
  counted from the capture JSONL in the store after a flush;
- **faults**: injected / survived for S3 throttling (503 SlowDown), 500s and connection
  resets on a moto server (botocore ``before-send`` hooks: every put must read back whole),
  exhausted retries (must raise and leave no object), ``ENOSPC`` on the capture writer's
  store writes (every record must be written once space returns, or counted), and killed
  endpoint / training processes (each must read ``Failed`` with a reason within 5 s);
- **attacks** (issue 21, loopback only): tried / held for an 80 MB header while 1,000
  idle connections are held (a legitimate client's median must stay under 50 ms, on the
  endpoint and on the gateway; the reference is the same attack on stock uvicorn httptools
  in the same run), idle and half-sent heads closed by the head timeout, a partial body
  answered 408, the connection cap's 503, ``/ping`` under HTTP/1.0, gateway bursts of
  1,000 and 1,000x5 right after start, a directory swapped in for a verified artifact, a
  ``../`` channel name, a script rewriting its inputs, host secrets and a hyperparameter
  secret kept from the script and its log;
- **fuzz**: hypothesis cases tried / failed over the targets of
  ``tests/test_fuzz_parsers.py`` (a failure is any exception but a smkit error).

The reference of each figure is what a lossless run gives (requests sent, faults injected,
cases tried), so every ratio should read 1.00x (fuzz failures read "0 failures").
"""

from __future__ import annotations

import argparse
import errno
import importlib.util
import json
import os
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import emit, header

BENCH = "reliability"
ROW = "13.2,1.78,2.14,11.2,100,2.65,2.76,0.26,1.28,4.38,1.05,3.4,1050\n"


def _wine_artifact(tmp: Path) -> Path:
    import tarfile

    import joblib
    from sklearn.datasets import load_wine
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = load_wine(return_X_y=True)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(X, y)
    joblib.dump(model, tmp / "model.joblib")
    out = tmp / "model.tar.gz"
    with tarfile.open(out, "w:gz") as tar:
        tar.add(tmp / "model.joblib", arcname="model.joblib")
    return out


def _wait(predicate, timeout: float) -> float | None:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if predicate():
            return time.monotonic() - t0
        time.sleep(0.05)
    return None


# -- load --------------------------------------------------------------------------------
def load(session, artifact: Path, requests: int, concurrency: int) -> tuple[int, int, int]:
    from smkit.serving import DataCaptureSpec, EndpointSpec, ModelSpec
    from smkit.serving.loadgen import run_load

    ep = session.deploy(
        ModelSpec(model_data=str(artifact), framework="sklearn"),
        EndpointSpec(name="load", data_capture=DataCaptureSpec(sampling_percentage=100)),
    )
    try:
        result = run_load(
            ep.url + "/invocations", ROW.encode(), concurrency=concurrency, requests=requests
        )
        accepted = result.statuses.get(200, 0)
        sent = result.requests + result.errors
        ep.flush_capture()
        store = session.backend.store
        captured = 0
        for info in store.list(ep.capture_prefix):
            captured += sum(1 for line in store.get_bytes(info.uri).splitlines() if line.strip())
    finally:
        ep.delete()
    return sent, accepted, captured


# -- faults ------------------------------------------------------------------------------
class _S3Fault:
    """botocore ``before-send`` hook failing the first ``n`` requests it sees."""

    def __init__(self, kind: str, n: int) -> None:
        self.kind, self.n, self.injected = kind, n, 0

    def __call__(self, request, **kwargs):
        from botocore.awsrequest import AWSResponse
        from botocore.exceptions import ConnectionClosedError

        if self.injected >= self.n:
            return None
        self.injected += 1
        if self.kind == "reset":
            raise ConnectionClosedError(endpoint_url=request.url)
        status, code = {"throttle": (503, "SlowDown"), "500": (500, "InternalError")}[self.kind]
        body = f"<Error><Code>{code}</Code><Message>injected</Message></Error>".encode()
        raw = type("Raw", (), {"stream": lambda self, *a, **k: iter([body])})()
        return AWSResponse(request.url, status, {"Content-Type": "application/xml"}, raw)


def s3_faults(objects: int) -> dict[str, tuple[int, int]]:
    from smkit.backends.aws import AwsBackend
    from smkit.errors import AwsError
    from smkit.testing.moto import moto_server

    out: dict[str, tuple[int, int]] = {}
    import logging

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    with moto_server() as moto:
        backend = AwsBackend(region="us-east-1", endpoint_url=moto.url, bucket="smkit-rel")
        backend.store.ensure_bucket("smkit-rel")
        client = backend.requester.client("s3")
        for kind in ("throttle", "500", "reset"):
            injected = survived = 0
            for i in range(objects):
                hook = _S3Fault(kind, 2)
                client.meta.events.register_first("before-send.s3.PutObject", hook)
                uri = f"s3://smkit-rel/{kind}/{i}.bin"
                data = os.urandom(2048)
                try:
                    backend.store.put_bytes(uri, data)
                    ok = backend.store.get_bytes(uri) == data
                except Exception:
                    ok = False
                finally:
                    client.meta.events.unregister("before-send.s3.PutObject", hook)
                injected += hook.injected
                survived += hook.injected if ok else 0
            out[f"S3 {kind} faults"] = (injected, survived)
        # retries exhausted: an error, and no partial object
        hook = _S3Fault("500", 10**6)
        client.meta.events.register_first("before-send.s3.PutObject", hook)
        try:
            backend.store.put_bytes("s3://smkit-rel/never.bin", b"x" * 100)
            ok = False
        except AwsError:
            ok = True
        finally:
            client.meta.events.unregister("before-send.s3.PutObject", hook)
        ok = ok and backend.store.head("s3://smkit-rel/never.bin") is None
        out["S3 retries exhausted (clean error)"] = (1, int(ok))
        backend.close()
    return out


class _FullDisk:
    def __init__(self, inner) -> None:
        self.inner, self.full, self.failures = inner, True, 0
        self.lock = threading.Lock()

    def put_bytes(self, uri, data, **kw):
        with self.lock:
            if self.full:
                self.failures += 1
                raise OSError(errno.ENOSPC, "No space left on device", uri)
        return self.inner.put_bytes(uri, data, **kw)


def enospc(tmp: Path, events: int) -> tuple[int, int, dict]:
    from smkit.backends.local.capture import CaptureWriter
    from smkit.backends.local.store import LocalStore

    inner = LocalStore(tmp / "enospc")
    store = _FullDisk(inner)
    writer = CaptureWriter(store, "s3://smkit/cap/ep/AllTraffic", flush_interval=0.05)
    now = time.time()
    for i in range(events):
        writer.submit((now, f"{i},1\n".encode(), "text/csv", b"0", "text/csv", None))
    writer.flush(timeout=5)  # fails: the disk is full; records are held
    store.full = False
    writer.flush(timeout=30)
    writer.close()
    stats = {k: v for k, v in writer.stats().items() if k != "LastError"}
    lines = sum(len(inner.get_bytes(o.uri).splitlines()) for o in inner.list("s3://smkit/cap/ep/"))
    survived = events if lines == events and stats["Dropped"] == 0 else lines
    return store.failures, survived, stats


def killed_processes(session, artifact: Path, tmp: Path) -> tuple[int, int, list[float]]:
    from smkit.serving import EndpointSpec, ModelSpec
    from smkit.training import TrainingSpec

    killed = survived = 0
    delays: list[float] = []
    ep = session.deploy(
        ModelSpec(model_data=str(artifact), framework="sklearn"), EndpointSpec(name="doomed")
    )
    os.kill(ep.describe()["Pid"], signal.SIGKILL)
    killed += 1
    dt = _wait(
        lambda: any(
            r["EndpointName"] == "doomed" and r["EndpointStatus"] == "Failed"
            for r in session.backend.list_endpoints()
        ),
        5,
    )
    if dt is not None and ep.describe().get("FailureReason"):
        survived += 1
        delays.append(dt)
    ep.delete()
    script = tmp / "sleepy.py"
    script.write_text("import time\nprint('up', flush=True)\ntime.sleep(60)\n")
    for pid_key in ("SupervisorPid", "ScriptPid"):
        job = session.train(TrainingSpec(entry_point=str(script), profiler=None))
        _wait(lambda job=job: job.describe().get("ScriptPid"), 60)
        os.kill(job.describe()[pid_key], signal.SIGKILL)
        killed += 1
        dt = _wait(lambda job=job: job.describe()["TrainingJobStatus"] == "Failed", 5)
        if dt is not None and job.describe().get("FailureReason"):
            survived += 1
            delays.append(dt)
    return killed, survived, delays


# -- hostile clients and inputs (issue 21) -------------------------------------------------
def _server(plain: bool, **limits):
    import subprocess

    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")}
    env.update({f"SMKIT_HTTP_{k.upper()}": str(v) for k, v in limits.items()})
    args = [sys.executable, "-m", "smkit.testing.attacks", "serve", *(["--plain"] if plain else [])]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, env=env)
    port = int(proc.stdout.readline())
    time.sleep(0.3)
    return proc, port


def crowd_latency(port: int, header_bytes: int, idle: int, path: str) -> dict:
    """Legit median latency (ms) while ``idle`` connections are held and one client sends a
    ``header_bytes`` header; also what happened to that attack."""
    from smkit.testing.attacks import (
        huge_header,
        idle_connections,
        in_thread,
        legit_latencies,
        median_ms,
    )

    url = f"http://127.0.0.1:{port}"
    with idle_connections("127.0.0.1", port, idle):
        thread, box = in_thread(huge_header, "127.0.0.1", port, header_bytes, path=path)
        time.sleep(0.2)  # the attack is under way
        lat, codes = legit_latencies(url, 60, pause=0.01)
        while thread.is_alive() and len(lat) < 3000:  # measure for as long as it lasts
            more_lat, more_codes = legit_latencies(url, 20, pause=0.01)
            lat += more_lat
            codes += more_codes
        thread.join(120)
    attack = box.get("result") or {"status": None, "sent": header_bytes, "seconds": None}
    return {
        "median_ms": median_ms([t for t, c in zip(lat, codes, strict=True) if c == 200]),
        "max_ms": max(lat) * 1000,
        "ok": sum(c == 200 for c in codes),
        "asked": len(codes),
        "attack": attack,
    }


def hostile(session, artifact: Path, tmp: Path, header_mb: int, idle: int, reference: bool):
    """(figure, tried, held, note) rows of the issue-21 attacks, and the headline latencies."""
    import socket

    from smkit.backends.local.http_guard import raise_fd_limit
    from smkit.errors import ConfigError, SmkitError
    from smkit.serving import EndpointSpec, ModelSpec
    from smkit.testing.attacks import burst, idle_connections, partial_body, read_response
    from smkit.training import TrainingSpec

    raise_fd_limit()
    rows: list[tuple[str, int, int, str]] = []
    size = header_mb * 1024 * 1024
    headline: dict = {}

    # HTTP: the real endpoint and gateway (head/body timeouts shortened to 5 s for the run)
    os.environ["SMKIT_HTTP_HEAD_TIMEOUT"] = os.environ["SMKIT_HTTP_BODY_TIMEOUT"] = "5"
    ep = session.deploy(
        ModelSpec(model_data=str(artifact), framework="sklearn"), EndpointSpec(name="hostile")
    )
    gw_port = int(session.backend.gateway().rsplit(":", 1)[1])
    ep_port = int(ep.url.rsplit(":", 1)[1])
    try:
        for label, port, path in (
            ("endpoint", ep_port, "/invocations"),
            ("gateway", gw_port, "/endpoints/hostile/invocations"),
        ):
            r = crowd_latency(port, size, idle, path)
            headline[label] = r
            held = int(r["ok"] == r["asked"] and r["median_ms"] < 50)
            a = r["attack"]
            rows.append(
                (
                    f"{label}: {header_mb} MB header + {idle} idle conns, legit median < 50 ms",
                    1,
                    held,
                    f"legit median {r['median_ms']:.1f} ms (max {r['max_ms']:.0f}), "
                    f"{r['ok']}/{r['asked']} ok; attack "
                    f"answered {a['status']} after {a['sent']} bytes",
                )
            )
        with idle_connections("127.0.0.1", ep_port, 20) as idle_socks, idle_connections(
            "127.0.0.1", ep_port, 20, partial=True
        ) as slow:
            t0 = time.monotonic()
            closed = sum(read_response(s, timeout=15) == b"" for s in idle_socks)
            timed = sum(read_response(s, timeout=15).startswith(b"HTTP/1.1 408") for s in slow)
            took = time.monotonic() - t0
        rows.append(("idle connections closed by the head timeout", 20, closed, f"{took:.1f} s"))
        rows.append(("partial heads (slowloris) answered 408", 20, timed, "head timeout 5 s"))
        rows.append(
            ("partial body answered 408", 1, int(partial_body("127.0.0.1", ep_port) == 408), "")
        )
        with socket.create_connection(("127.0.0.1", ep_port), timeout=10) as sock:
            sock.sendall(b"GET /ping HTTP/1.0\r\n\r\n")
            raw = read_response(sock, timeout=5)
        rows.append(
            ("/ping under HTTP/1.0 has Content-Length", 1, int(b"content-length: 0" in raw.lower()),
             "")
        )  # fmt: skip
        session.backend.stop_gateway()
        gw_port = int(session.backend.gateway().rsplit(":", 1)[1])  # cold: an empty pool
        for per in (1, 5):
            g = burst("127.0.0.1", gw_port, "/endpoints/hostile/invocations", ROW.encode(),
                      clients=1000, per_client=per, timeout=30)  # fmt: skip
            ok = g["statuses"].get(200, 0)
            label = f"gateway burst 1000x{per} answered" + (" (fresh)" if per == 1 else "")
            rows.append((label, 1000 * per, ok, f"{g['seconds']:.1f} s"))
    finally:
        ep.delete()
        session.backend.stop_gateway()
        os.environ.pop("SMKIT_HTTP_HEAD_TIMEOUT")
        os.environ.pop("SMKIT_HTTP_BODY_TIMEOUT")

    proc, port = _server(False, max_connections=100)
    try:
        with idle_connections("127.0.0.1", port, 120):
            time.sleep(0.2)
            with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
                sock.sendall(b"GET /ping HTTP/1.1\r\nHost: x\r\n\r\n")
                raw = read_response(sock)
        rows.append(("connection cap answers a JSON 503", 1, int(b"ServiceUnavailable" in raw), ""))
    finally:
        proc.terminate()
    if reference:  # the same attack on the stock httptools stack, same run
        proc, port = _server(True)
        try:
            headline["reference"] = crowd_latency(port, size, idle, "/invocations")
        finally:
            proc.terminate()

    # artifacts and jobs
    url = "s3://smkit/hostile/output/model.tar.gz"
    session.store.put_file(url, artifact)
    sha = session.store.head(url).sha256
    stored = session.store.path_for(url)
    stored.unlink()
    stored.mkdir()
    (stored / "model.joblib").write_bytes(b"pickle of the attacker")
    try:
        session.deploy(ModelSpec(model_data=url, framework="sklearn", sha256=sha),
                       EndpointSpec(name="swapped"))  # fmt: skip
        refused = 0
    except SmkitError:
        refused = 1
    rows.append(("directory in place of a verified model.tar.gz refused", 1, refused, ""))
    try:
        TrainingSpec(entry_point="x.py", inputs={"../../../x": str(artifact)})
        refused = 0
    except ConfigError:
        refused = 1
    rows.append(("channel name ../../../x refused", 1, refused, ""))
    script = tmp / "rewrite.py"
    script.write_text(
        "import json, os\n"
        "d = os.environ['SM_CHANNEL_TRAIN']\n"
        "for f in os.listdir(d): open(os.path.join(d, f), 'w').write('rewritten')\n"
        "print('SEEN', 'AWS_SECRET_ACCESS_KEY' in os.environ)\n"
    )
    user_file = tmp / "mine.csv"
    user_file.write_text("1,2,3\n")
    session.store.put_file("s3://smkit/hostile/train/a.csv", user_file)
    os.environ["AWS_SECRET_ACCESS_KEY"] = "bench-secret-not-real"
    try:
        job = session.train(
            TrainingSpec(entry_point=str(script), profiler=None,
                         inputs={"train": "s3://smkit/hostile/train/", "mine": str(user_file)},
                         hyperparameters={"db_password": "bench-secret-not-real"})
        ).wait(timeout=120)  # fmt: skip
    finally:
        os.environ.pop("AWS_SECRET_ACCESS_KEY")
    intact = (
        session.store.path_for("s3://smkit/hostile/train/a.csv").read_text() == "1,2,3\n"
        and user_file.read_text() == "1,2,3\n"
    )
    log = job.logs() if callable(getattr(job, "logs", None)) else ""
    log = log if isinstance(log, str) else "".join(log)
    rows.append(("script rewriting its inputs leaves store and user file intact", 1, int(intact),
                 ""))  # fmt: skip
    rows.append(("host AWS secret not visible to the script", 1, int("SEEN False" in log), ""))
    rows.append(("hyperparameter secret not in the job log", 1,
                 int("bench-secret-not-real" not in log), ""))  # fmt: skip
    rows.extend(_bounded_inputs(session, tmp))
    return rows, headline


def _bounded_inputs(session, tmp: Path) -> list[tuple[str, int, int, str]]:
    """Decompression bomb, reserved keys, NaN waits, deep nesting, hostile CSVs."""
    import io
    import tarfile

    from smkit.backends.local.asl import Executor
    from smkit.backends.local.endpoint_server import prepare_model
    from smkit.backends.local.monitor import compute_statistics
    from smkit.errors import SmkitError
    from smkit.workflow.machine import Workflow

    rows = []
    bomb = tmp / "bomb.tar.gz"
    with tarfile.open(bomb, "w:gz") as tar:
        info = tarfile.TarInfo("model.bin")
        info.size = 256 << 20
        tar.addfile(info, io.BytesIO(bytes(info.size)))
    os.environ["SMKIT_MAX_MODEL_BYTES"] = str(64 << 20)
    try:
        prepare_model(session.backend, {"PrimaryContainer": {"ModelDataUrl": str(bomb)}},
                      tmp / "bomb-out")  # fmt: skip
        held = 0
    except SmkitError:
        held = int(not (tmp / "bomb-out").exists())
    finally:
        os.environ.pop("SMKIT_MAX_MODEL_BYTES")
    rows.append(("decompression bomb (256 MB in <1 MB) refused before writing", 1, held,
                 f"archive {bomb.stat().st_size} bytes"))  # fmt: skip
    held = 0
    for uri in ("s3://smkit/a/.smkit-tmp-1-x", "s3://smkit/a//b", "s3://smkit/" + "k" * 300):
        try:
            session.store.put_bytes(uri, b"x")
        except SmkitError:
            held += 1
    rows.append(("reserved / empty / over-255-byte key segments refused", 3, held, ""))
    wf = Workflow.from_asl(
        {"StartAt": "W", "States": {"W": {"Type": "Wait", "SecondsPath": "$.s", "End": True}}}
    )
    held = sum(
        Executor(wf, sleep=lambda s: None).run({"s": v}).status == "FAILED"
        for v in (float("nan"), 1e308, 10**400)
    )
    rows.append(("Wait of NaN / 1e308 / 10**400 seconds fails cleanly", 3, held, ""))
    st: dict = {"Type": "Pass", "End": True}
    for _ in range(150):
        st = {"Type": "Parallel", "Branches": [{"StartAt": "X", "States": {"X": st}}],
              "End": True}  # fmt: skip
    try:
        Workflow.from_asl({"StartAt": "X", "States": {"X": st}})
        held = 0
    except SmkitError:
        held = 1
    rows.append(("Parallel nested 150 deep is a smkit error", 1, held, ""))
    held = 0
    for name, content in (("bin.csv", bytes(range(256)) * 20), ("utf.csv", b"a,b\n1,\xff\n"),
                          ("dup.csv", b"a,a\n1,2\n")):  # fmt: skip
        (tmp / name).write_bytes(content)
        try:
            compute_statistics(tmp / name, fmt="csv")
        except SmkitError:
            held += 1
    rows.append(("binary / invalid UTF-8 / duplicate-column CSV baselines: smkit error", 3,
                 held, ""))  # fmt: skip
    return rows


# -- fuzz --------------------------------------------------------------------------------
def _counting(strategy, check, counts: dict, examples: int):
    from hypothesis import HealthCheck, given, settings

    @settings(
        max_examples=examples, deadline=None, database=None, suppress_health_check=list(HealthCheck)
    )
    @given(strategy)
    def run(case):
        counts["tried"] += 1
        try:
            check(case)
        except Exception as exc:  # counted, not raised: every case runs
            counts["failed"] += 1
            counts["first"] = counts["first"] or f"{type(exc).__name__}: {exc}"[:200]

    return run


def fuzz(examples: int) -> dict[str, tuple[int, int, str]]:
    path = Path(__file__).resolve().parents[1] / "tests" / "test_fuzz_parsers.py"
    spec = importlib.util.spec_from_file_location("smkit_fuzz_targets", path)
    mod = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(mod)
    out = {}
    for name, (strategy, check) in mod.TARGETS.items():
        counts = {"tried": 0, "failed": 0, "first": ""}
        run = _counting(strategy, check, counts, examples)
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            run()
        out[name] = (counts["tried"], counts["failed"], counts["first"])
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--s3-objects", type=int, default=5)
    parser.add_argument("--capture-events", type=int, default=2000)
    parser.add_argument("--fuzz-examples", type=int, default=300)
    parser.add_argument("--attack-header-mb", type=int, default=80)
    parser.add_argument("--attack-idle", type=int, default=1000)
    parser.add_argument(
        "--no-reference", action="store_true", help="skip the stock-httptools reference run"
    )
    parser.add_argument("--quick", action="store_true", help="smaller load and fuzz counts")
    args = parser.parse_args()
    if args.quick:
        args.requests, args.capture_events, args.fuzz_examples = 500, 500, 50
        args.attack_header_mb, args.attack_idle = 8, 200
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    header(
        "smkit reliability: nothing lost, faults survived, fuzz crashes",
        "what a lossless run gives (requests sent, faults injected, cases tried)",
    )
    from smkit.session import Session

    lost = 0
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        os.environ["SMKIT_HOME"] = str(tmp / "home")
        session = Session("local", root=tmp / "root")
        artifact = _wine_artifact(tmp)
        try:
            sent, accepted, captured = load(session, artifact, args.requests, args.concurrency)
            emit(
                BENCH, "requests sent", sent, args.requests, "requests", ratio=sent / args.requests
            )
            emit(
                BENCH,
                "requests accepted (HTTP 200)",
                accepted,
                sent,
                "requests",
                ratio=accepted / sent,
            )
            emit(
                BENCH,
                "requests captured (100% capture)",
                captured,
                accepted,
                "records",
                ratio=captured / max(accepted, 1),
            )
            lost += (sent - accepted) + (accepted - captured)

            for figure, (injected, survived) in s3_faults(args.s3_objects).items():
                emit(
                    BENCH,
                    f"{figure} survived",
                    survived,
                    injected,
                    "faults",
                    ratio=survived / injected,
                )
                lost += injected - survived
            failures, survived, stats = enospc(tmp, args.capture_events)
            emit(
                BENCH,
                "ENOSPC on capture: records kept",
                survived,
                args.capture_events,
                "records",
                ratio=survived / args.capture_events,
                note=f"{failures} failed writes injected; stats {json.dumps(stats)}",
            )
            print(f"  ENOSPC write failures injected: {failures}; writer stats: {stats}")
            lost += args.capture_events - survived
            killed, marked, delays = killed_processes(session, artifact, tmp)
            emit(
                BENCH,
                "killed processes marked Failed <= 5 s",
                marked,
                killed,
                "processes",
                ratio=marked / killed,
                note=f"seconds to Failed: {[round(d, 2) for d in delays]}",
            )
            print(f"  seconds from kill to Failed: {[round(d, 2) for d in delays]}")
            lost += killed - marked
            rows, headline = hostile(
                session,
                artifact,
                tmp,
                args.attack_header_mb,
                args.attack_idle,
                reference=not args.no_reference,
            )
            tried_all = held_all = 0
            for figure, tried, held, note in rows:
                emit(BENCH, f"attack held: {figure}", held, tried, "attacks",
                     ratio=held / tried, note=note)  # fmt: skip
                if note:
                    print(f"  {note}")
                tried_all += tried
                held_all += held
                lost += tried - held
            ref = headline.get("reference")
            for label in ("endpoint", "gateway"):
                mine = headline[label]["median_ms"]
                emit(
                    BENCH,
                    f"{label} legit median under {args.attack_header_mb} MB header + "
                    f"{args.attack_idle} idle",
                    mine,
                    ref["median_ms"] if ref else None,
                    "ms",
                    note="reference: the same attack on stock uvicorn httptools, same run"
                    + (f" (its attack took {ref['attack']['seconds']:.1f} s, "
                       f"{ref['ok']}/{ref['asked']} legit ok)" if ref else ""),
                )  # fmt: skip
                emit(
                    BENCH,
                    f"{label} legit worst latency, same attack",
                    headline[label]["max_ms"],
                    ref["max_ms"] if ref else None,
                    "ms",
                    note="the stock parser stalls every client while it copies the header",
                )
            print(f"  attacks tried: {tried_all}; held: {held_all}")
        finally:
            for rec in session.backend.list_endpoints():
                try:
                    session.backend.delete_endpoint(rec["EndpointName"], force=True)
                except Exception:
                    pass
            session.close()
    tried = failed = 0
    for name, (n, bad, first) in fuzz(args.fuzz_examples).items():
        tried += n
        failed += bad
        print(f"  fuzz {name}: {n} cases, {bad} failed" + (f" (first: {first})" if first else ""))
    emit(
        BENCH,
        "fuzz cases failed",
        failed,
        tried,
        "cases",
        ratio=None,
        ratio_text=f"{failed} failure" + ("" if failed == 1 else "s"),
        note=f"{tried} cases tried",
    )
    print(f"fuzz cases tried: {tried}; failed: {failed}")
    print("NOTHING LOST" if lost == 0 and failed == 0 else f"LOST OR FAILED: {lost + failed}")
    return 0 if lost == 0 and failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
