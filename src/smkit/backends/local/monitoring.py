"""Local backend verbs for monitoring (a mixin of :class:`~smkit.backends.local.LocalBackend`)."""

from __future__ import annotations

__all__ = ["LocalMonitoring"]


class LocalMonitoring:
    """Monitoring verbs of the local backend."""
