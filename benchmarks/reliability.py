"""Reliability report: nothing lost under load, faults survived, fuzz cases that crashed.

Run: ``.venv/bin/python benchmarks/reliability.py [--requests 3000] [--concurrency 8]
[--fuzz-examples 300]``

One run prints:

- **load**: requests sent / accepted / captured by a local endpoint with 100% data capture
  under bounded concurrent keep-alive load (:mod:`smkit.serving.loadgen`); captured is
  counted from the capture JSONL in the store after a flush;
- **faults**: injected / survived for S3 throttling (503 SlowDown), 500s and connection
  resets on a moto server (botocore ``before-send`` hooks: every put must read back whole),
  exhausted retries (must raise and leave no object), ``ENOSPC`` on the capture writer's
  store writes (every record must be written once space returns, or counted), and killed
  endpoint / training processes (each must read ``Failed`` with a reason within 5 s);
- **fuzz**: hypothesis cases tried / failed over the targets of
  ``tests/test_fuzz_parsers.py`` (a failure is any exception but a smkit error).

The reference of each figure is what a lossless run gives (requests sent, faults injected,
cases tried), so every ratio should read 1.00x (0 for fuzz failures).
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
    parser.add_argument("--quick", action="store_true", help="smaller load and fuzz counts")
    args = parser.parse_args()
    if args.quick:
        args.requests, args.capture_events, args.fuzz_examples = 500, 500, 50
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
        ratio=failed / max(tried, 1),
        note=f"{tried} cases tried",
    )
    print(f"fuzz cases tried: {tried}; failed: {failed}")
    print("NOTHING LOST" if lost == 0 and failed == 0 else f"LOST OR FAILED: {lost + failed}")
    return 0 if lost == 0 and failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
