"""Start, stop and inspect the emulator daemon.

The daemon is ``python -m smkit.emulator.server --root ROOT --port PORT`` in its own session,
its output in ``ROOT/emulator.log``. Once it serves it writes ``ROOT/emulator.json`` (its pid,
URL and moto's URL); `status` trusts that file only while the pid is alive and the
server answers its health check.
"""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path
from typing import Any

from smkit.errors import ConfigError, SmkitTimeoutError

__all__ = ["default_root", "start", "status", "stop"]

STATE_FILE = "emulator.json"
LOG_FILE = "emulator.log"


def default_root() -> Path:
    """``$SMKIT_HOME/emulator`` (``./.smkit/emulator`` by default)."""
    from smkit.backends.local import default_root as local_root

    return local_root() / "emulator"


def _read_state(root: Path) -> dict[str, Any] | None:
    try:
        return dict(json.loads((root / STATE_FILE).read_text()))
    except (OSError, ValueError):
        return None


def _healthy(url: str, timeout: float = 2.0) -> bool:
    import httpx

    try:
        resp = httpx.get(f"{url}/_smkit/health", timeout=timeout, trust_env=False)
        return resp.status_code == 200
    except httpx.HTTPError:
        return False


def _alive(pid: Any) -> bool:
    from smkit.backends.local.process import alive

    return bool(pid) and alive(int(pid))


def status(root: str | Path | None = None) -> dict[str, Any]:
    """``{"running": bool, "url", "pid", "moto_url", "root"}`` of the emulator at ``root``."""
    root = Path(root).resolve() if root else default_root()
    state = _read_state(root) or {}
    running = bool(state) and _alive(state.get("pid")) and _healthy(state["url"])
    return {
        "running": running,
        "url": state.get("url") if running else None,
        "pid": state.get("pid") if running else None,
        "moto_url": state.get("moto_url") if running else None,
        "root": str(root),
    }


def start(
    root: str | Path | None = None, port: int | None = None, *, timeout: float = 60.0
) -> dict[str, Any]:
    """Start the daemon (unless one runs at ``root``) and wait until it serves.

    Args:
        root: State directory (default `default_root`).
        port: Port on 127.0.0.1 (default `smkit.emulator.DEFAULT_PORT`; 0: any free).
        timeout: Seconds to wait for it to answer.

    Returns:
        `status` of the running emulator.

    Raises:
        MissingExtraError: moto or boto3 is not installed (``pip install 'smkit[emulator]'``).
        SmkitTimeoutError: it did not come up (the log's tail is in the message).
    """
    from smkit._compat import require
    from smkit.backends.local.process import spawn
    from smkit.emulator import DEFAULT_PORT

    for module in ("moto.server", "boto3"):
        require(module, "emulator", feature="the emulator")
    root = Path(root).resolve() if root else default_root()
    current = status(root)
    if current["running"]:
        return current
    root.mkdir(parents=True, exist_ok=True)
    (root / STATE_FILE).unlink(missing_ok=True)
    port = DEFAULT_PORT if port is None else int(port)
    if not 0 <= port <= 65535:
        raise ConfigError(f"--port {port}: not a TCP port")
    log = root / LOG_FILE
    proc, _ = spawn(
        ["--root", str(root), "--port", str(port)], module="smkit.emulator.server", log_path=log
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = _read_state(root)
        if state and state.get("pid") == proc.pid and _healthy(state["url"]):
            return status(root)
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    tail = log.read_text(errors="replace")[-2000:] if log.is_file() else ""
    if proc.poll() is None:
        proc.kill()
    raise SmkitTimeoutError(f"the emulator did not start (log {log}):\n{tail}")


def stop(root: str | Path | None = None, *, timeout: float = 30.0) -> bool:
    """Stop the daemon at ``root`` (SIGTERM, then SIGKILL); ``False`` when none ran."""
    root = Path(root).resolve() if root else default_root()
    state = _read_state(root)
    if not state or not _alive(state.get("pid")):
        (root / STATE_FILE).unlink(missing_ok=True)
        return False
    pid = int(state["pid"])
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and _alive(pid):
        time.sleep(0.1)
    if _alive(pid):
        os.kill(pid, signal.SIGKILL)
    (root / STATE_FILE).unlink(missing_ok=True)
    return True
