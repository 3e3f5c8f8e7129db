"""Local backend verbs for workflows (a mixin of :class:`~smkit.backends.local.LocalBackend`)."""

from __future__ import annotations

__all__ = ["LocalWorkflows"]


class LocalWorkflows:
    """Workflows verbs of the local backend."""
