"""``smkit run`` reports progress and stops what it started when interrupted (issue 19)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

SRC = str(Path(__file__).resolve().parents[1] / "src")


def _start(tmp_path: Path, *args: str) -> tuple[subprocess.Popen[str], list[str]]:
    env = dict(os.environ)
    env.update(SMKIT_HOME=str(tmp_path / "home"), PYTHONPATH=SRC, PYTHONUNBUFFERED="1")
    env.pop("SMKIT_BACKEND", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "smkit.cli", "run", *args, "--out", str(tmp_path / "out")],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    lines: list[str] = []

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line.rstrip("\n"))

    threading.Thread(target=pump, daemon=True).start()
    return proc, lines


def _wait_for(lines: list[str], needle: str, proc: subprocess.Popen[str], timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for line in list(lines):
            if needle in line:
                return line
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    proc.kill()
    raise AssertionError(f"no line with {needle!r} in:\n" + "\n".join(lines))


def _nothing_running(home: Path) -> None:
    import psutil

    from smkit import Session

    with Session("local", root=str(home)) as s:
        jobs = s.backend.list_training_jobs()
        assert jobs, "the run started no job"
        assert not [j["TrainingJobName"] for j in jobs if j["TrainingJobStatus"] == "InProgress"]
        for ep in s.backend.list_endpoints(include_deleted=True):
            assert ep["EndpointStatus"] in ("Deleted", "Failed"), ep
            pid = ep.get("Pid")
            if pid:
                assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == "zombie"
        assert not s.catalog.list("execution", status="RUNNING")


@pytest.mark.timeout(240)
def test_progress_lines_and_sigint_during_training_stops_the_job(tmp_path: Path) -> None:
    proc, lines = _start(tmp_path, "review-endpoint", "--quick")
    line = _wait_for(lines, "train: training job review-endpoint-2", proc, 180)
    # one line per change, stage and elapsed seconds; no carriage returns when not a TTY
    assert line.startswith("review-endpoint [") and "s] train: training job" in line
    job = line.rsplit(" ", 1)[-1]
    from smkit import Session

    with Session("local", root=str(tmp_path / "home")) as s:
        assert s.backend.describe_training_job(job)["TrainingJobStatus"] == "InProgress"
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=120) == 130
    time.sleep(0.3)
    text = "\n".join(lines)
    assert "\r" not in text
    assert "interrupted by SIGINT" in text and f"stopped: training job {job}" in text
    with Session("local", root=str(tmp_path / "home")) as s:
        assert s.backend.describe_training_job(job)["TrainingJobStatus"] == "Stopped"
    _nothing_running(tmp_path / "home")
    assert not (tmp_path / "out" / "report.html").exists()


@pytest.mark.timeout(240)
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_sigterm_or_sighup_with_a_live_endpoint_deletes_it(tmp_path: Path, sig: int) -> None:
    proc, lines = _start(tmp_path, "review-endpoint", "--quick")
    line = _wait_for(lines, "deploy: endpoint review-endpoint-", proc, 180)
    endpoint = re.search(r"endpoint (review-endpoint-[\d-]+)", line).group(1)
    _wait_for(lines, "] predict_test", proc, 60)
    proc.send_signal(sig)
    assert proc.wait(timeout=120) == 128 + sig
    time.sleep(0.3)
    text = "\n".join(lines)
    assert f"interrupted by {signal.Signals(sig).name}" in text
    # deleted by the use case's own teardown as the interrupt unwound it, or by the cleanup
    assert f"endpoint {endpoint} (Deleted)" in text or f"stopped: endpoint {endpoint}" in text
    _nothing_running(tmp_path / "home")


@pytest.mark.timeout(60)
def test_sigint_during_a_workflow_execution_leaves_none_running(tmp_path: Path) -> None:
    from smkit import Session
    from smkit.usecases._run import Interrupted, RunContext
    from smkit.workflow import Task, Workflow

    release = threading.Event()

    def slow(event, context):
        release.wait(30)
        return {"ok": True}

    ctx = RunContext(Session("local", root=str(tmp_path / "home")))
    wf = Workflow("slow-flow", Task.lambda_("T", "slow"))
    timer = threading.Timer(1.0, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    try:
        with ctx.signals(), pytest.raises(Interrupted) as caught:
            ctx.session.run_workflow(wf, {}, handlers={"slow": slow})
    finally:
        release.set()
        timer.cancel()
    assert caught.value.exit_code == 130
    # the local execution runs in this process: the interrupt itself ends it (ABORTED)
    assert ctx.cleanup() == ([], [], [])
    catalog = ctx.session.catalog
    assert not catalog.list("execution", status="RUNNING")
    assert [r.status for r in catalog.list("execution")] == ["ABORTED"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # restored
