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


class LocalBackend:
    """Runs everything on this machine, below ``root``.

    Training, serving, monitoring and workflows are components sharing this backend as their
    context: ``backend.training`` (``training.py``), ``backend.serving`` (``serving.py``),
    ``backend.monitoring`` (``monitoring.py``) and ``backend.workflows`` (``workflows.py``);
    the backend's training, serving, monitoring and workflow methods delegate to them.

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
        self.serving = LocalServing(self)
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

    # -- serving: delegates to ``self.serving`` ------------------------------------------
    def deploy(self, model: Any, spec: Any, *, wait: bool = True) -> Any:
        """Record the model, endpoint config and endpoint, and start the endpoint's server.

        Args:
            model: A `ModelSpec` or anything with ``.model()``.
            spec: The `EndpointSpec`.
            wait: Block until ``InService`` (up to ``spec.startup_timeout``).

        Returns:
            The `Endpoint` handle.

        Raises:
            ResourceExistsError: an endpoint of that name exists (delete it first).
            SourceNotFoundError: the artifact or the inference script does not exist.
            ResourceFailedError: the server failed to start (the reason attached).
        """
        return self.serving.deploy(model, spec, wait=wait)

    def describe_endpoint(self, name: str) -> dict[str, Any]:
        """The endpoint's DescribeEndpoint-shaped record (liveness checked).

        Raises:
            ResourceNotFoundError: no endpoint of that name was ever created.
        """
        return self.serving.describe_endpoint(name)

    def list_endpoints(self, *, include_deleted: bool = False) -> list[dict[str, Any]]:
        """Every endpoint's record, newest first (liveness checked)."""
        return self.serving.list_endpoints(include_deleted=include_deleted)

    def endpoint(self, name: str, auth_token: str | None = None) -> Any:
        """The `Endpoint` handle of an existing endpoint.

        Args:
            name: The endpoint.
            auth_token: Its bearer token, when it was deployed with one.
        """
        return self.serving.endpoint(name, auth_token)

    def endpoint_transport(
        self, name: str, timeout: float = 65.0, auth_token: str | None = None
    ) -> Any:
        """A predictor transport posting to the endpoint's ``/invocations``.

        Args:
            name: The endpoint.
            timeout: Seconds per request.
            auth_token: Bearer token of an endpoint deployed with one (default: the
                ``SMKIT_ENDPOINT_TOKEN`` environment variable).
        """
        return self.serving.endpoint_transport(name, timeout, auth_token)

    def predictor(
        self,
        name: str,
        serializer: Any = "csv",
        deserializer: Any = None,
        auth_token: str | None = None,
        **options: Any,
    ) -> Any:
        """A `Predictor` for endpoint ``name``.

        Args:
            auth_token: Bearer token of an endpoint deployed with one (default: the
                ``SMKIT_ENDPOINT_TOKEN`` environment variable).

        Raises:
            ValidationError: no such endpoint, or it is not in service.
        """
        return self.serving.predictor(name, serializer, deserializer, auth_token, **options)

    def flush_endpoint_capture(
        self, name: str, timeout: float = 30.0, auth_token: str | None = None
    ) -> None:
        """Block until the endpoint's capture queue so far is in the store.

        An endpoint no longer in service flushed its queue when it stopped.
        """
        self.serving.flush_endpoint_capture(name, timeout, auth_token)

    def delete_endpoint(self, name: str, *, force: bool = False) -> None:
        """Stop the endpoint's server (draining its capture) and delete the endpoint,
        its endpoint config and its model.

        Raises:
            ResourceNotFoundError: no such endpoint (or already deleted).
            ResourceInUseError: a monitoring schedule uses it and ``force`` is false.
        """
        self.serving.delete_endpoint(name, force=force)

    def gateway(
        self, timeout: float = 30.0, *, host: str = "127.0.0.1", auth_token: str | None = None
    ) -> str:
        """The URL of the local SageMaker Runtime gateway (started if not running).

        Args:
            timeout: Seconds to wait for it to start.
            host: Address it binds when started (default: this machine only; any other
                address logs a warning).
            auth_token: Bearer token it then requires (``Authorization: Bearer ...``; only its
                SHA-256 is recorded). The header is passed on to the endpoints, so an
                endpoint with a token needs the same one.
        """
        return self.serving.gateway(timeout, host=host, auth_token=auth_token)

    def stop_gateway(self) -> None:
        """Stop the local gateway (no error when none runs)."""
        self.serving.stop_gateway()

    # the serving component's private helpers, kept reachable on the backend
    def _resolve_model(self, mspec: Any) -> tuple[str, str | None, str | None]:
        return self.serving._resolve_model(mspec)

    def _launch(
        self,
        name: str,
        log_path: Path,
        module: str = "endpoint_server",
        extra_args: list[str] | None = None,
        extra_env: dict[str, str] | None = None,
        inherit_env: bool = True,
    ) -> None:
        self.serving._launch(name, log_path, module, extra_args, extra_env, inherit_env)

    def _wait_in_service(self, endpoint: Any, timeout: float, log_path: Path) -> None:
        self.serving._wait_in_service(endpoint, timeout, log_path)

    def _checked(self, rec: Any) -> Any:
        return self.serving._checked(rec)

    def _endpoint_dict(self, rec: Any) -> dict[str, Any]:
        return self.serving._endpoint_dict(rec)

    def _url(self, name: str) -> str:
        return self.serving._url(name)

    def _schedules_using(self, name: str) -> list[str]:
        return self.serving._schedules_using(name)

    @staticmethod
    def _stop_pid(pid: int | None, start_time: float | None, grace: float = 30.0) -> None:
        LocalServing._stop_pid(pid, start_time, grace)

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
