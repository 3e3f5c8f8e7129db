"""The :class:`Session`: one entry point that hands specs to a backend.

The backend is chosen by the ``backend`` argument, then the ``SMKIT_BACKEND`` environment
variable, then ``"local"``. Options not meant for the chosen backend are ignored by it, so
the same call works whichever backend the environment picks.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from smkit.backends import _registry

if TYPE_CHECKING:
    from smkit.backends._protocol import Backend, Catalog, ObjectStore
    from smkit.staging import StagedData, StagingSpec

__all__ = ["Session", "resolve_backend_name"]


def resolve_backend_name(backend: str | None = None) -> str:
    """The backend name a :class:`Session` would use: argument > ``SMKIT_BACKEND`` > local."""
    return backend or os.environ.get("SMKIT_BACKEND") or "local"


class Session:
    """Runs specs on a backend.

    Args:
        backend: Backend name (``"local"``, ``"aws"``, or any registered through the
            ``smkit.backends`` entry-point group) or an already-built backend object.
        **options: Passed to the backend (e.g. ``root=`` for local; ``region=``, ``role=``,
            ``bucket=``, ``endpoint_url=``, ``plan=`` for aws).

    Raises:
        UnknownBackendError: the name is not registered.
        MissingExtraError: the backend's extra is not installed.

    Example:
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
        return bool(getattr(self.backend, "plan_mode", False))

    def default_bucket(self) -> str:
        """The bucket used when a spec gives no destination (``smkit`` locally)."""
        return str(getattr(self.backend, "bucket", "smkit"))

    def stage(self, spec: StagingSpec) -> StagedData:
        """Prepare data as the spec says and upload each channel.

        Returns:
            The channel URIs, row counts and upload statistics.
        """
        from smkit.staging import run_staging

        return run_staging(self, spec)

    # -- capability verbs: each is implemented by the backend's mixin of that capability ----
    def _verb(self, verb: str) -> Any:
        method = getattr(self.backend, verb, None)
        if method is None:
            from smkit.errors import BackendError

            raise BackendError(
                f"backend {self.name!r} does not implement {verb!r}",
                hint="use a backend that supports it (local and aws implement every verb)",
            )
        return method

    def train(self, spec: Any) -> Any:
        """Start a training job from a ``TrainingSpec``; returns a job handle."""
        return self._verb("train")(spec)

    def tune(self, spec: Any) -> Any:
        """Start a hyper-parameter tuning job from a ``TuningSpec``; returns its handle."""
        return self._verb("tune")(spec)

    def deploy(self, model: Any, spec: Any) -> Any:
        """Deploy a model (``ModelSpec`` or a trained job's model) behind an ``EndpointSpec``."""
        return self._verb("deploy")(model, spec)

    def predictor(self, name: str, **options: Any) -> Any:
        """A predictor client for the endpoint ``name``."""
        return self._verb("predictor")(name, **options)

    def apply(self, plan: Any) -> Any:
        """Carry out a ``MonitorPlan``; returns the monitor handle."""
        return self._verb("apply_monitor")(plan)

    def run_workflow(self, workflow: Any, input: Any = None, **options: Any) -> Any:
        """Deploy (if needed) and run a ``Workflow``; returns the execution."""
        return self._verb("run_workflow")(workflow, input, **options)

    def plan(self) -> list[Any]:
        """The AWS requests recorded so far (empty for backends that send none)."""
        planner = getattr(self.backend, "plan", None)
        return list(planner()) if callable(planner) else []

    def close(self) -> None:
        """Release the backend's resources."""
        self.backend.close()
