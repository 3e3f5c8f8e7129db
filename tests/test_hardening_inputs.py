"""Issue 21, items 7 and 8: bounded extraction, cleanup, and smkit errors instead of raw
exceptions for hostile inputs (decompression bombs, odd keys, NaN waits and timeouts, deep
nesting)."""

from __future__ import annotations

import io
import os
import tarfile
import time

import pytest

from smkit.errors import ConfigError, SmkitError, ValidationError

pytestmark = pytest.mark.timeout(120)


def _bomb(path, size):
    """A tar.gz of one member of ``size`` zero bytes (compresses ~1000x)."""

    class Zeros(io.RawIOBase):
        def __init__(self, n):
            self.left = n

        def readable(self):
            return True

        def readinto(self, b):
            n = min(len(b), self.left)
            b[:n] = bytes(n)
            self.left -= n
            return n

    with tarfile.open(path, "w:gz") as tar:
        info = tarfile.TarInfo("model.bin")
        info.size = size
        tar.addfile(info, io.BufferedReader(Zeros(size)))
    return path


def test_decompression_bomb_is_refused_before_writing(local_session, tmp_path, monkeypatch):
    from smkit.backends.local.endpoint_server import prepare_model

    bomb = _bomb(tmp_path / "bomb.tar.gz", 64 << 20)
    assert bomb.stat().st_size < 1 << 20
    monkeypatch.setenv("SMKIT_MAX_MODEL_BYTES", str(16 << 20))
    dest = tmp_path / "dest"
    model = {"PrimaryContainer": {"ModelDataUrl": str(bomb)}}
    with pytest.raises(ValidationError, match="extracts to more than"):
        prepare_model(local_session.backend, model, dest)
    assert not dest.exists()  # nothing half-extracted left
    monkeypatch.setenv("SMKIT_MAX_MODEL_BYTES", str(128 << 20))
    assert (prepare_model(local_session.backend, model, dest) / "model.bin").stat().st_size == (
        64 << 20
    )


def test_store_refuses_reserved_empty_and_overlong_key_segments(local_session):
    store = local_session.store
    for uri, why in (
        ("s3://bkt/a/.smkit-tmp-123-x", "reserved"),
        ("s3://bkt/a//b", "empty key segment"),
        ("s3://bkt/dir/", "empty key segment"),
        ("s3://bkt/" + "k" * 300, "255 bytes"),
    ):
        with pytest.raises(ConfigError, match=why):
            store.put_bytes(uri, b"x")
    with pytest.raises(ConfigError, match="255 bytes"):
        store.head("s3://bkt/x/" + "é" * 200)
    store.put_bytes("s3://bkt/a/b", b"ok")
    assert [o.uri for o in store.list("s3://bkt/")] == ["s3://bkt/a/b"]


def test_orphaned_temporary_files_are_swept_when_listed(local_session):
    from smkit.backends.local import store as store_mod

    store = local_session.store
    store.put_bytes("s3://bkt/p/x.csv", b"1")
    folder = store.path_for("s3://bkt/p/x.csv").parent
    old = folder / f"{store_mod.TMP_PREFIX}dead-x.csv"
    fresh = folder / f"{store_mod.TMP_PREFIX}live-y.csv"
    old.write_bytes(b"partial")
    fresh.write_bytes(b"being written")
    past = time.time() - store_mod.ORPHAN_SECONDS - 10
    os.utime(old, (past, past))
    assert [o.uri for o in store.list("s3://bkt/p/")] == ["s3://bkt/p/x.csv"]
    assert not old.exists() and fresh.exists()  # a write in progress is left alone


@pytest.mark.parametrize("seconds", [float("nan"), 1e308, 10**400, float("inf")])
def test_wait_of_nan_or_huge_seconds_fails_the_execution_cleanly(seconds):
    from smkit.backends.local.asl import Executor
    from smkit.workflow.machine import Workflow

    wf = Workflow.from_asl(
        {"StartAt": "W", "States": {"W": {"Type": "Wait", "SecondsPath": "$.s", "End": True}}}
    )
    slept = []
    ex = Executor(wf, sleep=slept.append).run({"s": seconds})
    assert ex.status == "FAILED" and not slept


@pytest.mark.parametrize("timeout", [float("nan"), float("inf"), 0, -5])
def test_execution_timeout_must_be_a_positive_number(timeout):
    from smkit.backends.local.asl import Executor
    from smkit.workflow.machine import Workflow

    wf = Workflow.from_asl({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})
    with pytest.raises(ConfigError, match="timeout"):
        Executor(wf, timeout=timeout)


def test_deeply_nested_parallel_is_a_validation_error_not_recursion():
    from smkit.backends.local.asl import Executor
    from smkit.workflow.machine import MAX_NESTING, Workflow

    def nest(n):
        st = {"Type": "Pass", "End": True}
        for _ in range(n):
            st = {"Type": "Parallel", "Branches": [{"StartAt": "X", "States": {"X": st}}],
                  "End": True}  # fmt: skip
        return {"StartAt": "X", "States": {"X": st}}

    with pytest.raises(SmkitError, match="nested"):
        Workflow.from_asl(nest(150))
    assert Executor(Workflow.from_asl(nest(MAX_NESTING - 1))).run({}).status == "SUCCEEDED"


@pytest.mark.slow
def test_deleting_an_endpoint_removes_its_extracted_model(local_session, tmp_path):
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent / "serving"))
    from serving_helpers import wine_sklearn

    from smkit.serving import EndpointSpec, ModelSpec

    ep = local_session.deploy(
        ModelSpec(model_data=str(wine_sklearn(tmp_path)), framework="sklearn"),
        EndpointSpec(name="tidy"),
    )
    model_dir = local_session.backend.root / "endpoints" / "tidy" / "model"
    assert model_dir.is_dir()
    ep.delete()
    assert not model_dir.exists()


@pytest.mark.parametrize(
    "content, why",
    [
        (bytes(range(256)) * 20, "does not parse as CSV"),  # a binary file
        (b"a,b\n1,\xff\xfe\n", "does not parse as CSV"),  # invalid UTF-8
        (b"a,a,b\n1,2,3\n", "duplicate column"),  # silently collapsed before
        ((",".join(f"c{i}" for i in range(20_000)) + "\n").encode(), "columns; at most"),
    ],
)
def test_monitor_baseline_of_hostile_csv_is_a_format_error(tmp_path, content, why):
    from smkit.backends.local.monitor import compute_statistics
    from smkit.errors import FormatError

    path = tmp_path / "data.csv"
    path.write_bytes(content)
    with pytest.raises(FormatError, match=why):
        compute_statistics(path, fmt="csv", header=True)


@pytest.mark.parametrize(
    "source, error",
    [("/dev/zero", "not a regular file"), ("/etc/passwd", "does not read as CSV|no 'datetime'")],
)
def test_staging_demo_source_must_be_a_csv_file(source, error):
    from smkit.usecases.staging_demo import _read_source

    if not os.path.exists(source):
        pytest.skip(f"{source} missing here")
    with pytest.raises(SmkitError, match=error):
        _read_source(source)


def test_execution_of_a_killed_process_is_failed_not_running_forever(tmp_path):
    """The process running a workflow is SIGKILLed mid-Wait: a later describe reads FAILED."""
    import signal
    import subprocess
    import sys
    from pathlib import Path

    from smkit.session import Session

    root = tmp_path / "root"
    code = (
        "import sys\n"
        "from smkit.session import Session\n"
        f"s = Session('local', root={str(root)!r})\n"
        "d = {'StartAt': 'W', 'States': {'W': {'Type': 'Wait', 'Seconds': 60, 'End': True}}}\n"
        "s.backend.run_workflow(d, name='doomed')\n"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")}
    proc = subprocess.Popen([sys.executable, "-c", code], env=env)
    try:
        session = Session("local", root=root)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if session.backend.describe_execution("doomed").status == "RUNNING":
                    break
            except SmkitError:
                pass
            time.sleep(0.1)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        ex = session.backend.describe_execution("doomed")
        assert ex.status == "FAILED" and "killed" in (ex.cause or "")
        session.close()
    finally:
        if proc.poll() is None:
            proc.kill()


def test_deeply_nested_json_lines_are_skipped_not_a_recursion_error(tmp_path):
    from smkit.backends.local.monitor import ReadStats, compute_statistics

    path = tmp_path / "deep.jsonl"
    depth = 100_000
    path.write_text('{"a":' * depth + "1" + "}" * depth + '\n{"a": 1}\n')
    stats = ReadStats()
    result = compute_statistics(path, read_stats=stats)
    assert stats.skipped == 1 and result["dataset"]["item_count"] == 1


def test_model_errors_show_no_native_stack_or_local_paths():
    from smkit.backends.local.isolation import public_error

    native = ValueError(
        "[20:37:43] /__w/xgboost/xgboost/src/learner.cc:1289: Check failed: n (3 vs. 5) : "
        "Number of columns does not match.\nStack trace:\n  [bt] (0) /work/main/.venv/lib/"
        "python3.11/site-packages/xgboost/lib/libxgboost.so(+0x2c1a8c) [0x7f44482c1a8c]"
    )
    msg = public_error(native)
    want = "ValueError: learner.cc:1289: Check failed: n (3 vs. 5) : Number of columns"
    assert msg == want + " does not match."
    assert "/" not in msg and "libxgboost" not in msg
    assert public_error(ValueError("negative input")) == "ValueError: negative input"
