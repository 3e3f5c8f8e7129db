"""Local process supervision, in one place: spawn a daemon, tell whether it lives, kill it.

Every long-lived local resource (a training or tuning supervisor, an endpoint server, the
runtime gateway, a workflow execution) runs as its own process in its own session, and its
catalog record keeps the process id *and* its start time. A record is trusted only while a
process with that pid and that start time exists: a reused pid does not keep a dead job alive.
Whoever reads a record that claims to be running reconciles it with `alive` and turns it
to its failed status when the owner is gone (see each resource's ``reconcile``).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = ["alive", "kill_group", "process_start_time", "reap", "spawn", "src_pythonpath"]

#: Popen objects of daemons this process started (polled so they never stay zombies).
_CHILDREN: list[subprocess.Popen[bytes]] = []


def src_pythonpath(env: Mapping[str, str]) -> str:
    """``PYTHONPATH`` with the directory holding this ``smkit`` first (so a daemon imports the
    same code as its parent, installed or not)."""
    src_root = str(Path(__file__).resolve().parents[3])
    return os.pathsep.join(filter(None, [src_root, env.get("PYTHONPATH")]))


def _boot_id() -> str:
    try:
        with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as fh:
            return fh.read().strip()
    except OSError:
        return ""


def process_start_time(pid: int) -> float | str:
    """What identifies ``pid`` with its start, for `alive` to tell it from a reused pid.

    On Linux: ``"<boot id>/<seconds after boot>"``. Seconds after boot come from the
    process's ``starttime`` (clock ticks since boot), so a step of the wall clock (NTP, a
    resumed VM) cannot change them; the boot id tells one boot from the next. Elsewhere:
    the start time as seconds since the epoch (``time.time()`` if it cannot be read).
    """
    import psutil

    boot = _boot_id()
    since = _since_boot(pid) if boot else None
    if since is not None:
        return f"{boot}/{since:.3f}"
    try:
        return float(psutil.Process(pid).create_time())
    except psutil.Error:
        return time.time()


def _since_boot(pid: int) -> float | None:
    """Seconds from boot to the start of ``pid`` (``/proc/<pid>/stat`` field 22, in clock
    ticks), or ``None`` when it cannot be read."""
    try:
        with open(f"/proc/{int(pid)}/stat", "rb") as fh:
            stat = fh.read()
        # the command name (field 2) is in parentheses and may hold spaces: split after it
        fields = stat.rpartition(b")")[2].split()
        return int(fields[19]) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def _same_start(proc: Any, started: float | str) -> bool:
    """Whether ``proc`` started when ``started`` (from `process_start_time`) says."""
    if isinstance(started, str) and "/" in started:
        boot, _, since = started.rpartition("/")
        now = _since_boot(proc.pid)
        if boot != _boot_id() or now is None:
            return False
        return abs(now - float(since)) <= 0.05
    # a wall-clock start (older records, other systems): a clock step may shift it a little
    return abs(proc.create_time() - float(started)) <= 1.0


def spawn(
    args: Sequence[str],
    *,
    log_path: str | Path,
    env: Mapping[str, str] | None = None,
    cwd: str | Path | None = None,
    module: str | None = None,
) -> tuple[subprocess.Popen[bytes], float | str]:
    """Start a daemon in its own session, stdout and stderr appended to ``log_path``.

    Args:
        args: The command; with ``module`` set, the arguments after ``python -m MODULE``.
        log_path: Where its output goes (created with its folder).
        env: Its environment (default: this process's, with ``PYTHONPATH`` led by smkit).
        cwd: Its working directory.
        module: Run ``sys.executable -m module *args``.

    Returns:
        The process and its start time (for `alive`).
    """
    log_path = Path(log_path)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    if env is None:
        env = dict(os.environ)
        env["PYTHONPATH"] = src_pythonpath(env)
    cmd = [sys.executable, "-m", module, *args] if module else list(args)
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
            env=dict(env),
            cwd=str(cwd) if cwd is not None else None,
        )
    _CHILDREN.append(proc)
    return proc, process_start_time(proc.pid)


def reap() -> None:
    """Collect the exit status of daemons this process started that have ended."""
    for proc in list(_CHILDREN):
        if proc.poll() is not None:
            _CHILDREN.remove(proc)


def alive(pid: int | None, started: float | str | None = None) -> bool:
    """Whether process ``pid`` runs: not a zombie, and started at ``started`` (±1 s) if given."""
    if not pid:
        return False
    import psutil

    try:
        proc = psutil.Process(int(pid))
        if started and not _same_start(proc, started):
            return False  # the pid was reused by another process
        return proc.status() != psutil.STATUS_ZOMBIE
    except (psutil.Error, ValueError, TypeError):
        return False


def kill_group(pid: int | None, started: float | str | None, sig: int = signal.SIGKILL) -> bool:
    """Send ``sig`` to the process group led by ``pid`` if that process still lives.

    Returns:
        Whether the signal was sent.
    """
    if not (pid and alive(pid, started)):
        return False
    try:
        os.killpg(int(pid), sig)
    except (ProcessLookupError, PermissionError):
        return False
    return True


if sys.platform == "win32":  # pragma: no cover - smkit's local backend needs POSIX sessions
    raise ImportError("the local backend's process supervision needs a POSIX system")
