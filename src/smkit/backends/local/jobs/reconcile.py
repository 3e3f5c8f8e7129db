"""Reconciliation of a job record with its processes, and stop requests.

Whoever reads a job that is still ``InProgress`` calls `reconcile`: a supervisor that is
gone (killed from outside, a reboot) turns the job ``Failed``, so no job stays ``InProgress``
forever.
"""

from __future__ import annotations

import signal
from datetime import UTC, datetime
from typing import Any

from smkit.backends.local import process
from smkit.backends.local.jobs._common import ACTIVE, KIND
from smkit.errors import ValidationError
from smkit.ids import now_iso

__all__ = ["reconcile", "stop"]

_reap = process.reap
_alive = process.alive
_kill_group = process.kill_group


def reconcile(catalog: Any, name: str, *, grace: float = 30.0) -> Any:
    """Mark a job whose supervisor is gone as ``Failed``; returns the current resource."""
    _reap()
    res = catalog.describe(KIND, name)
    if res.status not in ACTIVE:
        return res
    data = res.data
    pid = data.get("SupervisorPid")
    if pid is None and (datetime.now(UTC) - res.created_at).total_seconds() < grace:
        return res
    if _alive(pid, data.get("SupervisorStartTime")):
        return res
    _kill_scripts(data)
    now = now_iso()
    reason = (
        "InternalServerError: the job's supervisor process "
        + (f"(pid {pid}) " if pid else "")
        + "ended without reporting a result (killed from outside?)"
    )
    transitions = list(data.get("SecondaryStatusTransitions", []))
    if transitions:
        transitions[-1].setdefault("EndTime", now)
    transitions.append({"Status": "Failed", "StartTime": now, "StatusMessage": reason})
    try:
        return catalog.update(
            KIND,
            name,
            status="Failed",
            message=reason,
            TrainingJobStatus="Failed",
            SecondaryStatus="Failed",
            FailureReason=reason,
            TrainingEndTime=data.get("TrainingEndTime") or now,
            LastModifiedTime=now,
            SecondaryStatusTransitions=transitions,
        )
    except ValidationError:  # it finished meanwhile
        return catalog.describe(KIND, name)


def stop(catalog: Any, name: str) -> None:
    """Ask a running job to stop: status ``Stopping`` and SIGTERM to the script."""
    res = reconcile(catalog, name)
    if res.status != "InProgress":
        return
    try:
        catalog.update(KIND, name, status="Stopping", TrainingJobStatus="Stopping")
    except ValidationError:
        return
    _kill_scripts(catalog.describe(KIND, name).data, signal.SIGTERM)


def _kill_scripts(data: dict[str, Any], sig: int = signal.SIGKILL) -> None:
    """Signal the script of every host (``ScriptPid`` is algo-1's, ``HostPids`` the rest)."""
    _kill_group(data.get("ScriptPid"), data.get("ScriptStartTime"), sig)
    for pid, started in data.get("HostPids") or []:
        _kill_group(int(pid), started, sig)
