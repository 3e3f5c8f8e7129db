"""The interfaces every backend implements, one per capability.

A backend is an object with an [ObjectStore][smkit.backends.ObjectStore] (``s3://`` URIs), a
[Catalog][smkit.backends.Catalog] (named resources with statuses) and the verbs of the
capabilities it offers, each declared here as a ``Protocol``:

- [TrainingBackend][smkit.backends.TrainingBackend]: training and tuning jobs;
- [ServingBackend][smkit.backends.ServingBackend]: models, endpoints, predictors, capture;
- [MonitoringBackend][smkit.backends.MonitoringBackend]: monitors applied from a ``MonitorPlan``;
- [WorkflowBackend][smkit.backends.WorkflowBackend]: state machines and their executions.

The verbs take *specs* (immutable attrs objects built by the user) and return handles
(``TrainingJob``, ``Endpoint``, ``Execution``...) which call back only the methods declared
here. A backend says what it offers through ``capabilities`` / ``supports()`` with the names
of [Capability][smkit.backends.Capability]; the Session and the use cases ask that, never the
backend's name. Each protocol has a contract suite in `smkit.testing` that a new backend
subclasses and passes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import attrs

if TYPE_CHECKING:
    from smkit.serving.endpoint import Endpoint
    from smkit.serving.predictor import Predictor
    from smkit.training.job import TrainingJob, TuningJob
    from smkit.training.spec import TrainingSpec
    from smkit.training.tuning import TuningSpec
    from smkit.workflow.execution import Execution

__all__ = [
    "Backend",
    "Capability",
    "Catalog",
    "MonitoringBackend",
    "ObjectInfo",
    "ObjectStore",
    "Resource",
    "ServingBackend",
    "TrainingBackend",
    "Transition",
    "WorkflowBackend",
    "require",
]


class Capability(StrEnum):
    """What a backend can do, asked with ``backend.supports(...)``.

    The first five name a protocol of this module; the others name behaviour that differs
    between places where the same verbs run.
    """

    TRAINING = "training"
    """Training and tuning jobs ([TrainingBackend][smkit.backends.TrainingBackend])."""
    SERVING = "serving"
    """Models and endpoints ([ServingBackend][smkit.backends.ServingBackend])."""
    MONITORING = "monitoring"
    """Monitors from a ``MonitorPlan`` ([MonitoringBackend][smkit.backends.MonitoringBackend])."""
    WORKFLOWS = "workflows"
    """State machines ([WorkflowBackend][smkit.backends.WorkflowBackend])."""
    PLAN = "plan"
    """Requests can be recorded and validated without being sent (``plan()``)."""
    LOCAL_FILES = "local_files"
    """Stored objects are files on this machine (``store.path_for(uri)``)."""
    IN_PROCESS_HANDLERS = "in_process_handlers"
    """Workflow Lambda handlers can be Python functions of the calling process."""
    ON_DEMAND_MONITORING = "on_demand_monitoring"
    """A monitoring execution run now returns its results when the call returns."""
    IDLE_SHUTDOWN = "idle_shutdown"
    """Endpoints can delete themselves after an idle timeout."""
    INFERENCE_PIPELINES = "inference_pipelines"
    """Serial inference pipelines: several containers behind one endpoint."""
    RUNTIME_GATEWAY = "runtime_gateway"
    """A local SageMaker Runtime gateway can front the endpoints (``gateway()``)."""
    CALLER_SCHEDULER = "caller_scheduler"
    """Monitoring schedules run when the caller asks (``run_due()``), not on their own."""


@attrs.frozen
class ObjectInfo:
    """What a store knows about one object.

    Attributes:
        uri: ``s3://bucket/key`` of the object.
        size: Size in bytes.
        sha256: Hex SHA-256 of the content, or ``None`` when the store does not know it.
        last_modified: When the object was last written (UTC).
    """

    uri: str
    size: int
    sha256: str | None = None
    last_modified: datetime | None = None


@runtime_checkable
class ObjectStore(Protocol):
    """Objects addressed by ``s3://bucket/key`` URIs, with S3's semantics.

    Writes are atomic: a reader sees the old object or the new one, never a part.
    """

    def put_bytes(self, uri: str, data: bytes, *, content_type: str | None = None) -> ObjectInfo:
        """Write ``data`` to ``uri`` (replacing any object there)."""
        ...

    def put_file(
        self, uri: str, path: str | Path, *, content_type: str | None = None, progress: bool = False
    ) -> tuple[ObjectInfo, bool]:
        """Upload a local file; returns the object and whether bytes were sent.

        An object whose SHA-256 already matches the file's is not uploaded again.
        """
        ...

    def get_bytes(self, uri: str) -> bytes:
        """Read an object's bytes; `ResourceNotFoundError` if absent."""
        ...

    def get_file(self, uri: str, path: str | Path) -> Path:
        """Download an object to ``path`` (atomically) and return the path."""
        ...

    def head(self, uri: str) -> ObjectInfo | None:
        """Describe an object, or ``None`` when there is none."""
        ...

    def list(self, prefix: str) -> list[ObjectInfo]:
        """Objects whose key starts with the prefix's key (string prefix, as S3), sorted by key."""
        ...

    def delete(self, uri: str) -> None:
        """Delete an object (no error when it is absent, as S3)."""
        ...


@attrs.frozen
class Transition:
    """One status change of a resource."""

    status: str
    at: datetime
    message: str | None = None


@attrs.frozen
class Resource:
    """A catalog record: a named resource of some kind, its status and its fields.

    Attributes:
        kind: Resource kind, e.g. ``"training_job"``, ``"endpoint"``.
        name: Unique name within the kind.
        status: Current status (``InProgress``, ``InService``, ``Completed``...).
        data: The resource's fields, shaped like the matching AWS Describe* response.
        created_at: Creation time (UTC).
        updated_at: Time of the last change (UTC).
        transitions: Status history, oldest first.
    """

    kind: str
    name: str
    status: str
    data: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    transitions: tuple[Transition, ...] = ()


@runtime_checkable
class Catalog(Protocol):
    """Named resources with statuses, shared by every process using the same backend."""

    def create(self, kind: str, name: str, data: dict[str, Any], *, status: str) -> Resource:
        """Record a new resource; `ResourceExistsError` if taken."""
        ...

    def describe(self, kind: str, name: str) -> Resource:
        """One resource; `ResourceNotFoundError` if there is none."""
        ...

    def list(self, kind: str, *, status: str | None = None) -> list[Resource]:
        """Resources of a kind (optionally with a status), newest first."""
        ...

    def update(
        self,
        kind: str,
        name: str,
        *,
        status: str | None = None,
        message: str | None = None,
        **fields: Any,
    ) -> Resource:
        """Change a resource's status and/or merge fields into its data."""
        ...

    def delete(self, kind: str, name: str, *, reason: str | None = None) -> None:
        """Delete a resource (its history is kept where the backend can keep it)."""
        ...


@runtime_checkable
class Backend(Protocol):
    """What every backend offers. ``name`` is its registry name (``local``, ``aws``).

    The capability verbs are declared by the protocols below; ``capabilities`` lists the
    [Capability][smkit.backends.Capability] names the backend implements.
    """

    name: str
    store: ObjectStore
    catalog: Catalog
    capabilities: frozenset[Capability]
    plan_mode: bool

    def supports(self, capability: Capability | str) -> bool:
        """Whether the backend offers ``capability``."""
        ...

    def default_bucket(self) -> str:
        """The bucket used when a spec gives no destination."""
        ...

    def plan(self) -> list[Any]:
        """The requests recorded so far (empty for a backend that sends none)."""
        ...

    def describe(self, kind: str, name: str) -> Resource:
        """Describe a resource (same as ``catalog.describe``)."""
        ...

    def close(self) -> None:
        """Release what the backend holds (connections, clients)."""
        ...


@runtime_checkable
class TrainingBackend(Backend, Protocol):
    """Training and tuning jobs, with DescribeTrainingJob-shaped records."""

    def train(
        self, spec: TrainingSpec, *, name: str | None = None, wait: bool = False
    ) -> TrainingJob:
        """Start a training job; ``wait`` blocks until it ends."""
        ...

    def training_job(self, name: str) -> TrainingJob:
        """The handle of an existing job."""
        ...

    def describe_training_job(self, name: str) -> dict[str, Any]:
        """The job's DescribeTrainingJob record."""
        ...

    def list_training_jobs(self, status: str | None = None) -> list[dict[str, Any]]:
        """Job summaries, newest first."""
        ...

    def training_job_logs(self, name: str) -> str:
        """The job's log text so far."""
        ...

    def follow_training_job(self, name: str, emit: Callable[[str], None]) -> Callable[[], None]:
        """A pump: each call emits the log lines written since the previous call."""
        ...

    def stop_training_job(self, name: str) -> None:
        """Ask a running job to stop."""
        ...

    def job_poll_delay(self, attempt: int) -> float:
        """Seconds to wait before the ``attempt``-th poll of a job's status."""
        ...

    def tune(self, spec: TuningSpec, *, name: str | None = None, wait: bool = False) -> TuningJob:
        """Start a hyper-parameter tuning job."""
        ...

    def tuning_job(self, name: str) -> TuningJob:
        """The handle of an existing tuning job."""
        ...

    def describe_tuning_job(self, name: str) -> dict[str, Any]:
        """The DescribeHyperParameterTuningJob record."""
        ...

    def list_tuning_jobs(self, status: str | None = None) -> list[dict[str, Any]]:
        """Tuning job summaries, newest first."""
        ...

    def tuning_job_trials(self, name: str) -> list[dict[str, Any]]:
        """The training jobs of a tuning job (ListTrainingJobsForHyperParameterTuningJob)."""
        ...

    def stop_tuning_job(self, name: str) -> None:
        """Ask a tuning job (and its running trials) to stop."""
        ...


@runtime_checkable
class ServingBackend(Backend, Protocol):
    """Models, endpoint configs and endpoints, with data capture."""

    def deploy(self, model: Any, spec: Any, *, wait: bool = True) -> Endpoint:
        """Create the model, endpoint config and endpoint; ``wait`` until InService."""
        ...

    def endpoint(self, name: str) -> Endpoint:
        """The handle of an existing endpoint."""
        ...

    def describe_endpoint(self, name: str) -> dict[str, Any]:
        """The DescribeEndpoint record."""
        ...

    def list_endpoints(self, *, include_deleted: bool = False) -> list[dict[str, Any]]:
        """Endpoint summaries, newest first."""
        ...

    def endpoint_transport(self, name: str) -> Any:
        """A callable ``(body, content_type, accept) -> (body, content_type)`` invoking it."""
        ...

    def predictor(
        self, name: str, *, serializer: Any = "csv", deserializer: Any = None, **options: Any
    ) -> Predictor:
        """A predictor client for the endpoint."""
        ...

    def flush_endpoint_capture(self, name: str, timeout: float = 30.0) -> None:
        """Return once every answered request's capture record is stored."""
        ...

    def delete_endpoint(self, name: str, *, force: bool = False) -> None:
        """Delete the endpoint, its config and its model."""
        ...


@runtime_checkable
class MonitoringBackend(Backend, Protocol):
    """Monitors applied from a ``MonitorPlan`` (baselines, schedules, executions)."""

    def apply_monitor(self, plan: Any) -> Any:
        """Carry out the plan in SageMaker's order; returns the monitor handle."""
        ...


@runtime_checkable
class WorkflowBackend(Backend, Protocol):
    """Lambda functions chained by a Step Functions state machine."""

    def deploy_workflow(self, workflow: Any, **options: Any) -> Any:
        """Create (or update) the workflow's functions and state machine."""
        ...

    def run_workflow(self, workflow: Any, input: Any = None, **options: Any) -> Execution:
        """Deploy if needed, start an execution and (by default) wait for it.

        Every backend accepts ``on_start``: a callable given the execution ARN as soon as
        the execution has started, before the wait (an interrupted caller stops it with
        ``stop_execution``).
        """
        ...

    def stop_execution(
        self, execution_id: str, *, error: str | None = None, cause: str | None = None
    ) -> None:
        """Stop a running execution (StopExecution): it ends ``ABORTED``."""
        ...

    def describe_execution(self, execution_id: str) -> Any:
        """An execution by its id or ARN."""
        ...

    def execution_history(self, execution_id: str) -> list[dict[str, Any]]:
        """The execution's history events, oldest first."""
        ...


_PROTOCOLS: dict[Capability, type] = {
    Capability.TRAINING: TrainingBackend,
    Capability.SERVING: ServingBackend,
    Capability.MONITORING: MonitoringBackend,
    Capability.WORKFLOWS: WorkflowBackend,
}


def require(backend: Backend, capability: Capability | str) -> Any:
    """``backend`` if it offers ``capability``, else a clear error naming the backend.

    Raises:
        BackendError: the backend does not offer it.
    """
    cap = Capability(capability)
    if backend.supports(cap):
        return backend
    from smkit.errors import BackendError

    offered = ", ".join(sorted(c.value for c in backend.capabilities)) or "none"
    raise BackendError(
        f"backend {backend.name!r} does not offer {cap.value!r} (it offers: {offered})",
        hint="pick a backend that does (local and aws offer every verb capability)",
    )


def iter_chunks(fh: Any, size: int = 1 << 20) -> Iterator[bytes]:
    """Yield ``size``-byte chunks of a binary file object until EOF."""
    while chunk := fh.read(size):
        yield chunk


def sha256_file(path: str | Path) -> str:
    """Hex SHA-256 of a file's content, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter_chunks(fh):
            h.update(chunk)
    return h.hexdigest()
