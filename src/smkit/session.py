"""The `Session`: one entry point that hands specs to a backend.

The backend is chosen by the ``backend`` argument, then the ``SMKIT_BACKEND`` environment
variable, then ``"local"``. Options not meant for the chosen backend are ignored by it, so
the same call works whichever backend the environment picks.
"""

from __future__ import annotations

import builtins
import os
from typing import TYPE_CHECKING, Any, cast

from smkit.backends import _registry
from smkit.backends._protocol import Capability, require
from smkit.backends._resources import ResourceKind, Verb, run_verb

if TYPE_CHECKING:
    from smkit.backends._protocol import (
        Backend,
        Catalog,
        MonitoringBackend,
        ObjectStore,
        ServingBackend,
        TrainingBackend,
        WorkflowBackend,
    )
    from smkit.monitoring.plan import MonitorPlan
    from smkit.serving.endpoint import Endpoint
    from smkit.serving.predictor import Predictor
    from smkit.serving.spec import EndpointSpec
    from smkit.staging import StagedData, StagingSpec
    from smkit.training.job import TrainingJob, TuningJob
    from smkit.training.spec import TrainingSpec
    from smkit.training.tuning import TuningSpec
    from smkit.workflow.execution import Execution
    from smkit.workflow.machine import Workflow

__all__ = ["Session", "resolve_backend_name"]


def resolve_backend_name(backend: str | None = None) -> str:
    """The backend name a `Session` would use: argument > ``SMKIT_BACKEND`` > local."""
    return backend or os.environ.get("SMKIT_BACKEND") or "local"


class Session:
    """Runs specs on a backend.

    Args:
        backend: Backend name (``"local"``, ``"aws"``, or any registered through the
            ``smkit.backends`` entry-point group) or an already-built backend object.
        **options: Passed to the backend (e.g. ``root=`` for local; ``region=``, ``role=``
            (SageMaker), ``lambda_role=``, ``states_role=``, ``bucket=``, ``endpoint_url=``,
            ``plan=``, ``account=``, ``debugger=`` for aws).

    Raises:
        UnknownBackendError: the name is not registered.
        MissingExtraError: the backend's extra is not installed.

    Examples:
        >>> import smkit
        >>> s = smkit.Session(root="/tmp/smkit-doc")  # local backend under /tmp/smkit-doc
        >>> s.backend.name
        'local'
    """

    def __init__(self, backend: str | Backend | None = None, **options: Any) -> None:
        if backend is not None and not isinstance(backend, str):
            self.backend: Backend = backend
        else:
            cls = _registry.load(resolve_backend_name(backend))
            self.backend = cls(**options)

    def __repr__(self) -> str:
        return f"Session(backend={self.backend!r})"

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def name(self) -> str:
        """The backend's registry name."""
        return self.backend.name

    @property
    def store(self) -> ObjectStore:
        """The backend's object store (``s3://`` URIs)."""
        return self.backend.store

    @property
    def catalog(self) -> Catalog:
        """The backend's catalog of resources."""
        return self.backend.catalog

    @property
    def plan_mode(self) -> bool:
        """Whether requests are only planned (never sent)."""
        return bool(self.backend.plan_mode)

    @property
    def capabilities(self) -> frozenset[Capability]:
        """What the backend offers (see [Capability][smkit.backends.Capability])."""
        return frozenset(self.backend.capabilities)

    def supports(self, capability: Capability | str) -> bool:
        """Whether the backend offers ``capability``; use cases ask this, not the name."""
        return self.backend.supports(capability)

    def default_bucket(self) -> str:
        """The bucket used when a spec gives no destination (``smkit`` locally)."""
        return self.backend.default_bucket()

    def stage(self, spec: StagingSpec) -> StagedData:
        """Prepare data as the spec says and upload each channel.

        Returns:
            The channel URIs, row counts and upload statistics.
        """
        from smkit.staging import run_staging

        return run_staging(self, spec)

    # -- capability verbs: each checks the capability, then calls its declared method -------
    def _training(self) -> TrainingBackend:
        return cast("TrainingBackend", require(self.backend, Capability.TRAINING))

    def _serving(self) -> ServingBackend:
        return cast("ServingBackend", require(self.backend, Capability.SERVING))

    def train(self, spec: TrainingSpec, **options: Any) -> TrainingJob:
        """Start a training job from a ``TrainingSpec``; returns a job handle."""
        return self._training().train(spec, **options)

    def tune(self, spec: TuningSpec, **options: Any) -> TuningJob:
        """Start a hyper-parameter tuning job from a ``TuningSpec``; returns its handle."""
        return self._training().tune(spec, **options)

    def deploy(self, model: Any, spec: EndpointSpec, **options: Any) -> Endpoint:
        """Deploy a model (``ModelSpec`` or a trained job's model) behind an ``EndpointSpec``."""
        return self._serving().deploy(model, spec, **options)

    def predictor(self, name: str, **options: Any) -> Predictor:
        """A predictor client for the endpoint ``name``."""
        return self._serving().predictor(name, **options)

    def apply(self, plan: MonitorPlan) -> Any:
        """Carry out a ``MonitorPlan``; returns the monitor handle."""
        backend = cast("MonitoringBackend", require(self.backend, Capability.MONITORING))
        return backend.apply_monitor(plan)

    def run_workflow(self, workflow: Workflow, input: Any = None, **options: Any) -> Execution:
        """Deploy (if needed) and run a ``Workflow``; returns the execution."""
        backend = cast("WorkflowBackend", require(self.backend, Capability.WORKFLOWS))
        return backend.run_workflow(workflow, input, **options)

    # -- generic resource verbs: one per verb, over every kind ----------------------------
    def describe(self, kind: ResourceKind | str, name: str) -> dict[str, Any]:
        """The Describe* record of a resource.

        Args:
            kind: A [ResourceKind][smkit.backends.ResourceKind]: ``training_job``,
                ``tuning_job``, ``endpoint``, ``execution`` (named by its ARN) or
                ``monitoring_schedule``.
            name: The resource's name.

        Raises:
            ConfigError: an unknown kind.
            BackendError: the backend lacks the kind's capability.
            ResourceNotFoundError: no such resource.

        Examples:
            >>> import smkit
            >>> s = smkit.Session(root="/tmp/smkit-doc")
            >>> s.describe("notebook", "x")
            Traceback (most recent call last):
            ...
            smkit.errors.ConfigError: unknown resource kind 'notebook'; known kinds: ...
        """
        return cast("dict[str, Any]", run_verb(self.backend, Verb.DESCRIBE, kind, name))

    def stop(self, kind: ResourceKind | str, name: str) -> None:
        """Ask a running job (``training_job``, ``tuning_job``) to stop.

        Raises:
            ConfigError: an unknown kind, or one that is not stopped (an endpoint is
                deleted instead); the message says which verbs the kind offers.
            BackendError: the backend lacks the kind's capability.
        """
        run_verb(self.backend, Verb.STOP, kind, name)

    def delete(self, kind: ResourceKind | str, name: str, *, force: bool = False) -> None:
        """Delete an ``endpoint`` (with its config and model) or a ``monitoring_schedule``.

        Args:
            kind: The resource kind.
            name: The resource's name.
            force: Delete an endpoint even when a monitoring schedule uses it.

        Raises:
            ConfigError: an unknown kind, or one SageMaker never deletes (jobs, executions).
            BackendError: the backend lacks the kind's capability.
        """
        run_verb(self.backend, Verb.DELETE, kind, name, force=force)

    def logs(self, kind: ResourceKind | str, name: str) -> str:
        """The log text of a ``training_job``, or an ``execution``'s history, one event a line.

        Raises:
            ConfigError: an unknown kind, or one without logs.
            BackendError: the backend lacks the kind's capability.
        """
        return str(run_verb(self.backend, Verb.LOGS, kind, name))

    def plan(self) -> builtins.list[Any]:
        """The AWS requests recorded so far (empty for backends that send none)."""
        return list(self.backend.plan())

    def list(
        self, kind: ResourceKind | str, *, status: str | None = None
    ) -> builtins.list[dict[str, Any]]:
        """The Describe* records of every resource of a kind, newest first.

        Args:
            kind: ``training_job``, ``tuning_job``, ``endpoint`` or ``monitoring_schedule``.
            status: Keep only the resources with this status (e.g. ``Completed``).

        Raises:
            ConfigError: an unknown kind, or one that cannot be listed (executions).
            BackendError: the backend lacks the kind's capability.
        """
        return cast(
            "builtins.list[dict[str, Any]]",
            run_verb(self.backend, Verb.LIST, kind, status=status),
        )

    def close(self) -> None:
        """Release the backend's resources."""
        self.backend.close()
