import multiprocessing as mp
import sqlite3
import time

import pytest

from smkit.backends.local.catalog import LocalCatalog
from smkit.errors import CatalogLockedError, ConfigError, ResourceNotFoundError, ValidationError


def test_status_transitions_recorded(tmp_path):
    cat = LocalCatalog(tmp_path / "c.db")
    cat.create("training_job", "j1", {"HyperParameters": {"a": "1"}}, status="InProgress")
    cat.update("training_job", "j1", status="Completed", message="done", ModelArtifacts={"S3": 1})
    r = cat.describe("training_job", "j1")
    assert r.status == "Completed"
    assert [t.status for t in r.transitions] == ["InProgress", "Completed"]
    assert r.transitions[1].message == "done"
    assert r.data["ModelArtifacts"] == {"S3": 1} and r.data["HyperParameters"] == {"a": "1"}
    assert r.updated_at >= r.created_at


def test_illegal_transition_refused(tmp_path):
    cat = LocalCatalog(tmp_path / "c.db")
    cat.create("training_job", "j", {}, status="InProgress")
    cat.update("training_job", "j", status="Failed")
    with pytest.raises(ValidationError, match="Failed is final"):
        cat.update("training_job", "j", status="InProgress")


def test_unknown_kind(tmp_path):
    with pytest.raises(ConfigError, match="unknown resource kind 'widget'"):
        LocalCatalog(tmp_path / "c.db").list("widget")


def test_deleted_keeps_reason_and_name_is_reusable(tmp_path):
    cat = LocalCatalog(tmp_path / "c.db")
    cat.create("endpoint", "e", {}, status="Creating")
    cat.update("endpoint", "e", status="InService")
    cat.delete("endpoint", "e", reason="idle for 60s")
    assert cat.list("endpoint") == []
    gone = cat.describe("endpoint", "e")
    assert gone.status == "Deleted" and gone.transitions[-1].message == "idle for 60s"
    with pytest.raises(ResourceNotFoundError):
        cat.delete("endpoint", "e")
    again = cat.create("endpoint", "e", {}, status="Creating")
    assert [t.status for t in again.transitions] == ["Creating"]


def _writer(path, prefix, n):
    cat = LocalCatalog(path)
    for i in range(n):
        cat.create("model", f"{prefix}-{i}", {"i": i}, status="Created")
        cat.update("model", f"{prefix}-{i}", touched=True)


def test_two_processes_write_concurrently(tmp_path):
    path = tmp_path / "c.db"
    LocalCatalog(path)
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(path, p, 40)) for p in ("a", "b")]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    models = LocalCatalog(path).list("model")
    assert len(models) == 80 and all(m.data["touched"] for m in models)


def test_locked_catalog_waits_then_clear_error(tmp_path):
    path = tmp_path / "c.db"
    cat = LocalCatalog(path, timeout=0.5)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    start = time.monotonic()
    with pytest.raises(CatalogLockedError, match="stayed locked"):
        cat.create("model", "m", {}, status="Created")
    assert time.monotonic() - start >= 0.4
    holder.execute("ROLLBACK")
    cat.create("model", "m", {}, status="Created")  # works once the lock is gone


def _die_mid_transaction(path, ready):
    import os
    import signal

    cat = LocalCatalog(path)
    with cat._tx() as con:
        con.execute("INSERT INTO resources VALUES ('model', 'half', 'Created', '{}', 0, 0)")
        ready.set()
        os.kill(os.getpid(), signal.SIGKILL)  # dies holding the write lock, uncommitted


def test_catalog_survives_process_killed_mid_transaction(tmp_path):
    path = tmp_path / "c.db"
    cat = LocalCatalog(path, timeout=5)
    cat.create("model", "before", {}, status="Created")
    ctx = mp.get_context("spawn")
    ready = ctx.Event()
    proc = ctx.Process(target=_die_mid_transaction, args=(path, ready))
    proc.start()
    proc.join(30)
    assert proc.exitcode == -9 and ready.is_set()
    names = [m.name for m in cat.list("model")]
    assert names == ["before"]  # the killed transaction left nothing behind
    cat.create("model", "after", {}, status="Created")  # and the lock is gone
    assert sorted(m.name for m in LocalCatalog(path).list("model")) == ["after", "before"]
    integrity = sqlite3.connect(path).execute("PRAGMA integrity_check").fetchone()[0]
    assert integrity == "ok"
