"""``smkit.backends.local.jobs`` became a package split by responsibility; every name the one
``jobs.py`` module defined is still importable from it, the same objects as in the submodules."""

from __future__ import annotations

import importlib

import smkit.backends.local.jobs as jobs

# every top-level name of the former jobs.py, private ones included (tuning.py and tests use some)
FORMER_NAMES = {
    "ACCOUNT": "_common", "ACTIVE": "_common", "KIND": "_common", "REGION": "_common",
    "STOP_GRACE_SECONDS": "_common", "arn": "_common", "job_name": "_common",
    "MetricReader": "metrics",
    "_channel_exists": "submit", "submit": "submit", "_code_ignorer": "submit",
    "_start_supervisor": "submit", "_resolve_code": "submit", "build_record": "submit",
    "_reap": "reconcile", "_alive": "reconcile", "_kill_group": "reconcile",
    "reconcile": "reconcile", "stop": "reconcile",
    "_Supervisor": "supervisor", "_aws_rule": "supervisor", "run_supervisor": "supervisor",
    "_private_copy": "packaging", "_FICLONE": "packaging", "_reflink": "packaging",
    "_pack": "packaging",
    "describe": "read", "logs": "read", "follow": "read", "hyperparameters_of": "read",
    "require_job": "read",
}  # fmt: skip


def test_every_former_name_is_reexported_from_its_module() -> None:
    for name, module in FORMER_NAMES.items():
        sub = importlib.import_module(f"smkit.backends.local.jobs.{module}")
        assert getattr(jobs, name) is getattr(sub, name), name
    assert jobs.__all__ == [
        "ACTIVE", "KIND", "MetricReader", "job_name", "reconcile", "run_supervisor", "stop",
        "submit",
    ]  # fmt: skip


def test_the_supervisor_still_runs_as_python_m_jobs(monkeypatch, tmp_path) -> None:
    from smkit.backends.local import process

    main = importlib.import_module("smkit.backends.local.jobs.__main__")
    assert main.run_supervisor is jobs.run_supervisor
    seen = {}

    class _Proc:
        pid = 4242

    def fake_spawn(args, *, module=None, log_path=None, **kw):
        seen.update(args=list(args), module=module, log_path=log_path)
        return _Proc(), 1.5

    monkeypatch.setattr(process, "spawn", fake_spawn)
    assert jobs._start_supervisor(tmp_path, "j1", tmp_path / "jobs" / "j1") == (4242, 1.5)
    assert seen == {
        "args": [str(tmp_path), "j1"],
        "module": "smkit.backends.local.jobs",
        "log_path": tmp_path / "jobs" / "j1" / "supervisor.log",
    }
