"""Faults: a killed training process is Failed within seconds; a full disk while capturing
drops nothing silently (held for retry, counted, reported)."""

from __future__ import annotations

import errno
import json
import os
import signal
import threading
import time

import pytest

from smkit.backends.local.capture import CaptureWriter
from smkit.backends.local.store import LocalStore
from smkit.training import TrainingSpec

pytestmark = pytest.mark.timeout(120)


class FullDisk:
    """A store whose writes fail with ENOSPC while ``full`` is set."""

    def __init__(self, inner, full: bool = True) -> None:
        self.inner = inner
        self.full = full
        self.failures = 0
        self.lock = threading.Lock()

    def put_bytes(self, uri, data, **kw):
        with self.lock:
            if self.full:
                self.failures += 1
                raise OSError(errno.ENOSPC, "No space left on device", uri)
        return self.inner.put_bytes(uri, data, **kw)


def _events(n: int):
    now = time.time()
    return [(now, f"{i},1.0\n".encode(), "text/csv", b"0.5", "text/csv", None) for i in range(n)]


def _lines(store: LocalStore, prefix: str) -> list[dict]:
    out = []
    for info in store.list(prefix):
        out += [json.loads(x) for x in store.get_bytes(info.uri).decode().splitlines()]
    return out


def test_enospc_holds_records_and_writes_them_when_space_returns(tmp_path):
    inner = LocalStore(tmp_path / "store")
    store = FullDisk(inner)
    seen = []
    writer = CaptureWriter(
        store,
        "s3://bkt/capture/ep/AllTraffic",
        flush_interval=0.05,
        retry_delay=0.001,
        on_stats=seen.append,
    )
    for ev in _events(50):
        writer.submit(ev)
    assert writer.flush(timeout=10) is False  # not in the store: reported, not pretended
    stats = writer.stats()
    assert stats["Held"] == 50 and stats["Written"] == 0 and stats["Dropped"] == 0
    assert stats["WriteErrors"] >= 5 and "No space left" in stats["LastError"]
    assert seen and seen[-1]["Held"] == 50  # the endpoint record gets these
    for ev in _events(30):  # new events queue behind the held ones
        writer.submit(ev)
    store.full = False
    assert writer.flush(timeout=10) is True
    writer.close()
    stats = writer.stats()
    assert stats == {**stats, "Submitted": 80, "Written": 80, "Held": 0, "Dropped": 0}
    assert len(_lines(inner, "s3://bkt/capture/ep/AllTraffic/")) == 80
    assert seen[-1]["Written"] == 80


def test_enospc_past_the_memory_bound_drops_oldest_and_counts(tmp_path):
    store = FullDisk(LocalStore(tmp_path / "store"))
    writer = CaptureWriter(
        store, "s3://bkt/c/ep/v", flush_interval=0.01, retry_delay=0.001, max_held_bytes=2000
    )
    total = 0
    for _ in range(10):
        for ev in _events(20):
            writer.submit(ev)
        total += 20
        writer.flush(timeout=10)
    writer.close(timeout=10)
    stats = writer.stats()
    assert stats["Submitted"] == total
    assert stats["Dropped"] > 0
    assert stats["Written"] + stats["Held"] + stats["Dropped"] == total  # every one counted


def test_enospc_at_shutdown_is_counted(tmp_path):
    store = FullDisk(LocalStore(tmp_path / "store"))
    writer = CaptureWriter(store, "s3://bkt/c/ep/v", flush_interval=0.01, retry_delay=0.001)
    for ev in _events(7):
        writer.submit(ev)
    writer.close(timeout=10)
    assert writer.stats()["Dropped"] == 7 and writer.stats()["Written"] == 0


def _wait_for(predicate, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def test_killed_training_supervisor_is_failed_within_seconds(local_session, tmp_path):
    script = tmp_path / "sleepy.py"
    script.write_text("import time\nprint('up', flush=True)\ntime.sleep(60)\n")
    job = local_session.train(TrainingSpec(entry_point=str(script), profiler=None))
    assert _wait_for(lambda: job.describe().get("ScriptPid"))
    record = job.describe()
    os.kill(record["SupervisorPid"], signal.SIGKILL)
    t0 = time.monotonic()
    backend = local_session.backend
    assert _wait_for(
        lambda: any(
            j["TrainingJobName"] == job.name and j["TrainingJobStatus"] == "Failed"
            for j in backend.list_training_jobs()
        ),
        timeout=5,
    )
    assert time.monotonic() - t0 < 5
    d = backend.describe_training_job(job.name)
    assert d["TrainingJobStatus"] == "Failed"
    assert "supervisor" in d["FailureReason"]


def test_killed_training_script_is_failed_with_the_signal(local_session, tmp_path):
    script = tmp_path / "sleepy.py"
    script.write_text("import time\nprint('up', flush=True)\ntime.sleep(60)\n")
    job = local_session.train(TrainingSpec(entry_point=str(script), profiler=None))
    assert _wait_for(lambda: job.describe().get("ScriptPid"))
    os.kill(job.describe()["ScriptPid"], signal.SIGKILL)
    t0 = time.monotonic()
    assert _wait_for(lambda: job.describe()["TrainingJobStatus"] == "Failed", timeout=10)
    assert time.monotonic() - t0 < 10
    assert "SIGKILL" in job.describe()["FailureReason"]
