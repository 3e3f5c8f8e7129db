"""The local catalog: resources and their status histories in SQLite (WAL mode).

Every process that uses the same local root sees the same catalog. Writes run in
``BEGIN IMMEDIATE`` transactions so two processes never interleave a read-modify-write;
a writer waits for a lock up to ``timeout`` seconds, then raises
`CatalogLockedError`. WAL keeps the file consistent when a process dies
mid-transaction: the transaction is simply not there.

Statuses follow SageMaker's for each kind; `TRANSITIONS` lists the moves allowed from
each non-terminal status. A resource that is deleted keeps its record with status
``Deleted`` (and the reason), so ``smkit endpoints list --all`` can say why it went; its name
can be used again.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from smkit.backends._protocol import Resource, Transition
from smkit.errors import (
    CatalogLockedError,
    ConfigError,
    ResourceExistsError,
    ResourceNotFoundError,
    ValidationError,
)

__all__ = ["KINDS", "TRANSITIONS", "LocalCatalog"]

_JOB = {
    "InProgress": {"Completed", "Failed", "Stopping", "Stopped"},
    "Stopping": {"Stopped", "Failed", "Completed"},
}
_ENDPOINT = {
    "Creating": {"InService", "Failed", "Deleting"},
    "InService": {"Updating", "Deleting", "Failed", "OutOfService"},
    "Updating": {"InService", "Failed", "Deleting"},
    "OutOfService": {"InService", "Deleting", "Failed"},
    "Failed": {"Deleting"},
    "Deleting": {"Failed"},
}
_EXECUTION = {
    "Pending": {"InProgress", "Completed", "CompletedWithViolations", "Failed", "Stopped"},
    "InProgress": {"Completed", "CompletedWithViolations", "Failed", "Stopped"},
}
_SFN = {"RUNNING": {"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"}}

#: Allowed status moves per kind: {from_status: {to_status, ...}}. Statuses absent as keys
#: are terminal. ``Deleted`` is reachable from every status through `LocalCatalog.delete`.
TRANSITIONS: dict[str, dict[str, set[str]]] = {
    "training_job": _JOB,
    "tuning_job": _JOB,
    "processing_job": _JOB,
    "model": {},
    "endpoint_config": {},
    "endpoint": _ENDPOINT,
    "monitoring_schedule": {
        "Pending": {"Scheduled", "Failed", "Stopped"},
        "Scheduled": {"Stopped", "Failed"},
        "Stopped": {"Scheduled"},
    },
    "monitoring_execution": _EXECUTION,
    "state_machine": {"ACTIVE": {"DELETING"}},
    "execution": _SFN,
    "lambda_function": {"Active": {"Inactive"}},
    "gateway": {"InService": {"Failed"}},
}
KINDS = frozenset(TRANSITIONS)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS resources (
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    status TEXT NOT NULL,
    data TEXT NOT NULL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    PRIMARY KEY (kind, name)
);
CREATE TABLE IF NOT EXISTS transitions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    status TEXT NOT NULL,
    at REAL NOT NULL,
    message TEXT
);
CREATE INDEX IF NOT EXISTS transitions_by_resource ON transitions (kind, name, id);
CREATE INDEX IF NOT EXISTS resources_by_status ON resources (kind, status);
"""


def _ts(value: float) -> datetime:
    return datetime.fromtimestamp(value, UTC)


class LocalCatalog:
    """Resources in a SQLite database shared by processes.

    Args:
        path: Database file (created with its parent directory).
        timeout: Seconds a writer waits for another process's lock before giving up.
    """

    def __init__(self, path: str | Path, *, timeout: float = 10.0) -> None:
        self.path = Path(path)
        self.timeout = timeout
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        with self._tx() as con:
            for statement in filter(str.strip, _SCHEMA.split(";")):
                con.execute(statement)

    # -- connections ---------------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        con = getattr(self._local, "con", None)
        if con is None:
            con = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None)
            con.execute("PRAGMA journal_mode=WAL")
            con.execute("PRAGMA synchronous=NORMAL")
            con.execute(f"PRAGMA busy_timeout={int(self.timeout * 1000)}")
            self._local.con = con
        return con

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        con = self._connect()
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                con.execute("BEGIN IMMEDIATE")
                break
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) and "busy" not in str(exc):
                    raise
                if time.monotonic() >= deadline:
                    raise CatalogLockedError(
                        f"catalog {str(self.path)!r} stayed locked for {self.timeout:g}s",
                        hint="another process holds a write lock; retry, or stop that process",
                        path=str(self.path),
                    ) from exc
                time.sleep(0.05)
        try:
            yield con
        except BaseException:
            con.execute("ROLLBACK")
            raise
        else:
            con.execute("COMMIT")

    def close(self) -> None:
        """Close this thread's connection."""
        con = getattr(self._local, "con", None)
        if con is not None:
            con.close()
            self._local.con = None

    # -- helpers -------------------------------------------------------------------------
    @staticmethod
    def _check_kind(kind: str) -> None:
        if kind not in KINDS:
            raise ConfigError(
                f"unknown resource kind {kind!r}; known kinds: {', '.join(sorted(KINDS))}",
                kind=kind,
            )

    def _row(self, con: sqlite3.Connection, kind: str, name: str) -> tuple[Any, ...] | None:
        return con.execute(
            "SELECT kind, name, status, data, created_at, updated_at FROM resources "
            "WHERE kind = ? AND name = ?",
            (kind, name),
        ).fetchone()

    def _resource(self, con: sqlite3.Connection, row: tuple[Any, ...]) -> Resource:
        kind, name, status, data, created, updated = row
        hist = con.execute(
            "SELECT status, at, message FROM transitions WHERE kind = ? AND name = ? "
            "AND at >= ? ORDER BY id",
            (kind, name, created),
        ).fetchall()
        return Resource(
            kind=kind,
            name=name,
            status=status,
            data=json.loads(data),
            created_at=_ts(created),
            updated_at=_ts(updated),
            transitions=tuple(Transition(s, _ts(a), m) for s, a, m in hist),
        )

    # -- API -----------------------------------------------------------------------------
    def create(self, kind: str, name: str, data: dict[str, Any], *, status: str) -> Resource:
        """Record a new resource in ``status``; a ``Deleted`` record of that name is replaced."""
        self._check_kind(kind)
        if not name:
            raise ValidationError(f"empty {kind} name")
        now = time.time()
        payload = json.dumps(data, default=str)
        with self._tx() as con:
            row = self._row(con, kind, name)
            if row is not None and row[2] != "Deleted":
                raise ResourceExistsError(
                    f"{kind} {name!r} already exists (status {row[2]})",
                    hint="pick another name or delete the existing one first",
                    kind=kind,
                    name=name,
                )
            con.execute(
                "INSERT OR REPLACE INTO resources VALUES (?, ?, ?, ?, ?, ?)",
                (kind, name, status, payload, now, now),
            )
            con.execute(
                "INSERT INTO transitions (kind, name, status, at, message) VALUES (?, ?, ?, ?, ?)",
                (kind, name, status, now, None),
            )
            return self._resource(con, self._row(con, kind, name))  # type: ignore[arg-type]

    def describe(self, kind: str, name: str) -> Resource:
        """The resource's current record and history."""
        self._check_kind(kind)
        con = self._connect()
        row = self._row(con, kind, name)
        if row is None:
            raise ResourceNotFoundError(f"no {kind} named {name!r}", kind=kind, name=name)
        return self._resource(con, row)

    def list(
        self, kind: str, *, status: str | None = None, include_deleted: bool = False
    ) -> list[Resource]:
        """Resources of ``kind``, newest first; ``Deleted`` ones only when asked."""
        self._check_kind(kind)
        con = self._connect()
        sql = (
            "SELECT kind, name, status, data, created_at, updated_at FROM resources WHERE kind = ?"
        )
        args: list[Any] = [kind]
        if status is not None:
            sql += " AND status = ?"
            args.append(status)
        elif not include_deleted:
            sql += " AND status != 'Deleted'"
        sql += " ORDER BY created_at DESC, name"
        return [self._resource(con, row) for row in con.execute(sql, args).fetchall()]

    def update(
        self,
        kind: str,
        name: str,
        *,
        status: str | None = None,
        message: str | None = None,
        derive: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
        **fields: Any,
    ) -> Resource:
        """Move to ``status`` (if given and allowed) and merge ``fields`` into the data.

        ``derive``, when given, is called with the merged data inside the same transaction
        and what it returns is merged too (fields computed from several writers' fields,
        with no update lost between the read and the write).

        Raises:
            ResourceNotFoundError: no such resource.
            ValidationError: the status move is not allowed for this kind.
        """
        self._check_kind(kind)
        now = time.time()
        with self._tx() as con:
            row = self._row(con, kind, name)
            if row is None:
                raise ResourceNotFoundError(f"no {kind} named {name!r}", kind=kind, name=name)
            current = row[2]
            data = json.loads(row[3])
            data.update(json.loads(json.dumps(fields, default=str)))
            if derive is not None:
                data.update(json.loads(json.dumps(derive(data), default=str)))
            new_status = current
            if status is not None and status != current:
                allowed = TRANSITIONS[kind].get(current, set())
                if status not in allowed:
                    raise ValidationError(
                        f"{kind} {name!r} cannot go from {current} to {status}"
                        + (
                            f"; allowed: {', '.join(sorted(allowed))}"
                            if allowed
                            else f" ({current} is final)"
                        ),
                        kind=kind,
                        name=name,
                    )
                new_status = status
                con.execute(
                    "INSERT INTO transitions (kind, name, status, at, message) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (kind, name, status, now, message),
                )
            con.execute(
                "UPDATE resources SET status = ?, data = ?, updated_at = ? "
                "WHERE kind = ? AND name = ?",
                (new_status, json.dumps(data, default=str), now, kind, name),
            )
            return self._resource(con, self._row(con, kind, name))  # type: ignore[arg-type]

    def delete(self, kind: str, name: str, *, reason: str | None = None) -> None:
        """Mark the resource ``Deleted`` (keeping its record and the reason).

        Raises:
            ResourceNotFoundError: no such resource, or it is already deleted.
        """
        self._check_kind(kind)
        now = time.time()
        with self._tx() as con:
            row = self._row(con, kind, name)
            if row is None or row[2] == "Deleted":
                raise ResourceNotFoundError(f"no {kind} named {name!r}", kind=kind, name=name)
            con.execute(
                "UPDATE resources SET status = 'Deleted', updated_at = ? "
                "WHERE kind = ? AND name = ?",
                (now, kind, name),
            )
            con.execute(
                "INSERT INTO transitions (kind, name, status, at, message) VALUES (?, ?, ?, ?, ?)",
                (kind, name, "Deleted", now, reason),
            )
