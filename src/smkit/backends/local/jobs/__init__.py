"""Local training jobs: the SageMaker training-container contract in a subprocess.

`submit` prepares ``<root>/jobs/<job>/`` (shaped like ``/opt/ml``, see
`smkit.training.contract`), records a DescribeTrainingJob-shaped ``training_job`` in
the catalog and starts a *supervisor* process (``python -m smkit.backends.local.jobs ROOT
NAME``). The supervisor

1. copies each channel's objects into ``input/data/<channel>`` (``Downloading``);
2. runs the entry point with ``sys.executable`` in its own process group, once per host
   (``algo-1`` ... ``algo-N`` for ``InstanceCount=N``, each in its own namespaces, see
   `smkit.backends.local.hosts`), with every ``SM_*`` variable and the hyperparameters as
   ``--key value`` (``Training``), streaming stdout+stderr line by line into ``logs.txt``
   and reading metrics with the regexes;
3. stops it (SIGTERM, then SIGKILL after a grace period) when ``MaxRuntimeInSeconds`` passes
   or when a stop is requested (catalog status ``Stopping``);
4. samples CPU / memory (the profiler) while it runs;
5. packs ``model/`` into ``model.tar.gz`` and ``output/data`` into ``output.tar.gz`` at
   ``<output path>/<job>/output/`` (``Uploading``), evaluates the Debugger rules, and writes
   the final status: ``Completed`` (exit 0), ``Failed`` (reason: ``output/failure`` or the
   exit code and the last lines of the log) or ``Stopped``.

The record keeps the supervisor's pid and start time. Whoever reads a job that is still
``InProgress`` calls `reconcile`: a supervisor that is gone (killed from outside, a
reboot) turns the job ``Failed``, so no job stays ``InProgress`` forever.

The package is split by responsibility: `smkit.backends.local.jobs.submit` (in the
caller's process), `smkit.backends.local.jobs.supervisor` (the supervisor's body),
`smkit.backends.local.jobs.reconcile` (liveness and stop requests),
`smkit.backends.local.jobs.packaging` (input copies, output tarballs),
`smkit.backends.local.jobs.metrics` and `smkit.backends.local.jobs.read` (what
the handles read). Every name is re-exported here.
"""

# Every name the one ``jobs.py`` this package replaced defined, private ones included (the
# tuning driver and tests use some), is re-exported: hence no F401 here.
# ruff: noqa: F401

from __future__ import annotations

from smkit.backends.local.jobs._common import (
    ACCOUNT,
    ACTIVE,
    KIND,
    REGION,
    STOP_GRACE_SECONDS,
    arn,
    job_name,
)
from smkit.backends.local.jobs.metrics import MetricReader
from smkit.backends.local.jobs.packaging import _FICLONE, _pack, _private_copy, _reflink
from smkit.backends.local.jobs.read import (
    describe,
    follow,
    hyperparameters_of,
    logs,
    require_job,
)
from smkit.backends.local.jobs.reconcile import _alive, _kill_group, _reap, reconcile, stop
from smkit.backends.local.jobs.submit import (
    _channel_exists,
    _code_ignorer,
    _resolve_code,
    _start_supervisor,
    build_record,
    submit,
)
from smkit.backends.local.jobs.supervisor import _aws_rule, _Supervisor, run_supervisor

__all__ = [
    "ACTIVE",
    "KIND",
    "MetricReader",
    "job_name",
    "reconcile",
    "run_supervisor",
    "stop",
    "submit",
]
