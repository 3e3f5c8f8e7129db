"""The embedded local backend: no AWS account, no Docker.

Everything lives below one root directory (``SMKIT_HOME``, default ``./.smkit``):

    <root>/
      s3/<bucket>/<key>          the object store (s3:// URIs map here)
      catalog.db                 the SQLite catalog (WAL) of jobs, endpoints, schedules, ...
      jobs/<job-name>/           per-job working directories shaped like /opt/ml
      endpoints/<name>/          endpoint server state and logs
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from smkit.backends._protocol import Capability, Resource
from smkit.backends.local.catalog import LocalCatalog
from smkit.backends.local.monitoring import LocalMonitoring
from smkit.backends.local.serving import LocalServing
from smkit.backends.local.store import LocalStore
from smkit.backends.local.training import LocalTraining
from smkit.backends.local.workflows import LocalWorkflows

if TYPE_CHECKING:
    from smkit.backends.local.monitoring import LocalMonitor, MonitoringExecution
    from smkit.monitoring.plan import MonitorPlan
    from smkit.training.job import TrainingJob, TuningJob
    from smkit.training.spec import TrainingSpec
    from smkit.training.tuning import TuningSpec
    from smkit.workflow.execution import Execution

__all__ = ["DEFAULT_ROOT", "LocalBackend", "default_root"]

DEFAULT_ROOT = ".smkit"


def default_root() -> Path:
    """The local root: ``$SMKIT_HOME`` if set, else ``./.smkit``."""
    return Path(os.environ.get("SMKIT_HOME") or DEFAULT_ROOT).resolve()


class LocalBackend(LocalServing):
    """Runs everything on this machine, below ``root``.

    Training, monitoring and workflows are components sharing this backend as their context:
    ``backend.training`` (``training.py``), ``backend.monitoring`` (``monitoring.py``) and
    ``backend.workflows`` (``workflows.py``); the backend's training, monitoring and workflow
    methods delegate to them. Serving is still a mixin (``serving.py`` beside this file).

    Args:
        root: The local root directory; defaults to `default_root`.
        catalog_timeout: Seconds to wait for another process's catalog lock.
        **options: Ignored options meant for other backends (``region``, ``role``...), so the
            same keyword arguments can be passed whichever backend is chosen.
    """

    name = "local"
    capabilities = frozenset(
        {
            Capability.TRAINING,
            Capability.SERVING,
            Capability.MONITORING,
            Capability.WORKFLOWS,
            Capability.LOCAL_FILES,
            Capability.IN_PROCESS_HANDLERS,
            Capability.ON_DEMAND_MONITORING,
            Capability.IDLE_SHUTDOWN,
            Capability.RUNTIME_GATEWAY,
            Capability.CALLER_SCHEDULER,
        }
    )

    def __init__(
        self, root: str | Path | None = None, *, catalog_timeout: float = 10.0, **options: Any
    ) -> None:
        self.root = Path(root).resolve() if root is not None else default_root()
        self.root.mkdir(parents=True, exist_ok=True)
        self.store = LocalStore(self.root / "s3")
        self.catalog = LocalCatalog(self.root / "catalog.db", timeout=catalog_timeout)
        self.options = options
        self.plan_mode = False
        self.training = LocalTraining(self)
        self.monitoring = LocalMonitoring(self)
        self.workflows = LocalWorkflows(self)

    def __repr__(self) -> str:
        return f"LocalBackend(root={str(self.root)!r})"

    def supports(self, capability: Capability | str) -> bool:
        """Whether this backend offers ``capability`` ([Capability][smkit.backends.Capability])."""
        return Capability(capability) in self.capabilities

    def default_bucket(self) -> str:
        """``smkit``: the bucket folder below the root used when a spec gives no destination."""
        return "smkit"

    @property
    def bucket(self) -> str:
        """The default bucket (``smkit``)."""
        return self.default_bucket()

    def plan(self) -> list[Any]:
        """Nothing is sent anywhere, so nothing is planned: always empty."""
        return []

    def describe(self, kind: str, name: str) -> Resource:
        """Describe a catalog resource."""
        return self.catalog.describe(kind, name)

    def work_dir(self, *parts: str) -> Path:
        """A directory below the root for backend state (created)."""
        path = self.root.joinpath(*parts)
        path.mkdir(parents=True, exist_ok=True)
        return path

    def close(self) -> None:
        """Close the catalog connection of this thread."""
        self.catalog.close()

    # -- training: delegates to ``self.training`` ----------------------------------------
    def job_poll_delay(self, attempt: int) -> float:
        """Fast polls first (local jobs start in milliseconds), then every 0.25 s."""
        return self.training.job_poll_delay(attempt)

    def train(
        self, spec: TrainingSpec, *, name: str | None = None, wait: bool = False
    ) -> TrainingJob:
        """Start a training job (a subprocess) and return its handle.

        Args:
            spec: What to train.
            name: Job name (default: ``<prefix>-<timestamp>``).
            wait: Block until it ends (raising if it fails).

        Raises:
            SourceNotFoundError: entry point, source dir or channel data missing.
        """
        return self.training.train(spec, name=name, wait=wait)

    def training_job(self, name: str) -> TrainingJob:
        """A handle on an existing training job."""
        return self.training.training_job(name)

    def describe_training_job(self, name: str) -> dict[str, Any]:
        """The job's DescribeTrainingJob-shaped record (reconciled with its process)."""
        return self.training.describe_training_job(name)

    def list_training_jobs(self, status: str | None = None) -> list[dict[str, Any]]:
        """Every training job's record, newest first (each reconciled)."""
        return self.training.list_training_jobs(status)

    def training_job_logs(self, name: str) -> str:
        """The job's log text so far."""
        return self.training.training_job_logs(name)

    def follow_training_job(self, name: str, emit: Callable[[str], None]) -> Callable[[], None]:
        """A callable that emits the log lines written since its last call."""
        return self.training.follow_training_job(name, emit)

    def stop_training_job(self, name: str) -> None:
        """Stop a running job (SIGTERM to the script; it ends ``Stopped``)."""
        self.training.stop_training_job(name)

    def tune(self, spec: TuningSpec, *, name: str | None = None, wait: bool = False) -> TuningJob:
        """Start a hyperparameter tuning job and return its handle."""
        return self.training.tune(spec, name=name, wait=wait)

    def tuning_job(self, name: str) -> TuningJob:
        """A handle on an existing tuning job."""
        return self.training.tuning_job(name)

    def describe_tuning_job(self, name: str) -> dict[str, Any]:
        """The DescribeHyperParameterTuningJob-shaped record (reconciled)."""
        return self.training.describe_tuning_job(name)

    def list_tuning_jobs(self, status: str | None = None) -> list[dict[str, Any]]:
        """Every tuning job's record, newest first."""
        return self.training.list_tuning_jobs(status)

    def tuning_job_trials(self, name: str) -> list[dict[str, Any]]:
        """The training jobs of a tuning job (ListTrainingJobsForHyperParameterTuningJob)."""
        return self.training.tuning_job_trials(name)

    def stop_tuning_job(self, name: str) -> None:
        """Stop a tuning job and its running training jobs."""
        self.training.stop_tuning_job(name)

    # -- monitoring: delegates to ``self.monitoring`` ------------------------------------
    def apply_monitor(self, plan: MonitorPlan) -> LocalMonitor:
        """Carry out a `MonitorPlan`: baseline jobs, then one schedule per monitor type.

        Raises:
            OrderError: a step is missing (capture, baseline, schedule).
            ResourceNotFoundError: the endpoint does not exist.
        """
        return self.monitoring.apply_monitor(plan)

    def monitor(self, endpoint_name: str) -> LocalMonitor:
        """Reopen the monitors of an endpoint from the catalog."""
        return self.monitoring.monitor(endpoint_name)

    def run_execution(
        self,
        schedule: str,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        plan: Any = None,
        scheduled: datetime | None = None,
    ) -> MonitoringExecution:
        """Run one execution of ``schedule`` over the captures in ``[start, end)``."""
        return self.monitoring.run_execution(
            schedule, start=start, end=end, plan=plan, scheduled=scheduled
        )

    def run_due(
        self, now: datetime | None = None, *, names: list[str] | None = None, plan: Any = None
    ) -> list[MonitoringExecution]:
        """Run every ``Scheduled`` schedule whose cron time has come since its last run."""
        return self.monitoring.run_due(now, names=names, plan=plan)

    # -- workflows: delegates to ``self.workflows`` --------------------------------------
    def deploy_workflow(self, workflow: Any, *, role_arn: str | None = None) -> dict[str, Any]:
        """Record (or update) the state machine; returns its DescribeStateMachine record."""
        return self.workflows.deploy_workflow(workflow, role_arn=role_arn)

    def run_workflow(self, workflow: Any, input: Any = None, **options: Any) -> Execution:
        """Run ``workflow`` in this process and record the execution.

        The options (``handlers``, ``name``, ``timeout``, ``clock``...) are those of
        ``LocalWorkflows.run_workflow`` (``backend.workflows``).
        """
        return self.workflows.run_workflow(workflow, input, **options)

    def describe_execution(self, execution_id: str) -> Execution:
        """The recorded execution (name or ARN) as an `smkit.workflow.Execution`."""
        return self.workflows.describe_execution(execution_id)

    def stop_execution(
        self, execution_id: str, *, error: str | None = None, cause: str | None = None
    ) -> None:
        """Record a running execution ``ABORTED`` (see ``LocalWorkflows.stop_execution``)."""
        self.workflows.stop_execution(execution_id, error=error, cause=cause)

    def execution_history(self, execution_id: str) -> list[dict[str, Any]]:
        """The recorded ``GetExecutionHistory``-shaped events of an execution."""
        return self.workflows.execution_history(execution_id)
