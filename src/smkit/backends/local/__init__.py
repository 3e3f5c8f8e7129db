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
from pathlib import Path
from typing import Any

from smkit.backends._protocol import Capability, Resource
from smkit.backends.local.catalog import LocalCatalog
from smkit.backends.local.monitoring import LocalMonitoring
from smkit.backends.local.serving import LocalServing
from smkit.backends.local.store import LocalStore
from smkit.backends.local.training import LocalTraining
from smkit.backends.local.workflows import LocalWorkflows

__all__ = ["DEFAULT_ROOT", "LocalBackend", "default_root"]

DEFAULT_ROOT = ".smkit"


def default_root() -> Path:
    """The local root: ``$SMKIT_HOME`` if set, else ``./.smkit``."""
    return Path(os.environ.get("SMKIT_HOME") or DEFAULT_ROOT).resolve()


class LocalBackend(LocalTraining, LocalServing, LocalMonitoring, LocalWorkflows):
    """Runs everything on this machine, below ``root``.

    The capability verbs come from one mixin per capability module (``training.py``,
    ``serving.py``, ``monitoring.py``, ``workflows.py`` beside this file).

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
