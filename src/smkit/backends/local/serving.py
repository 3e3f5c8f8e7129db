"""Local backend verbs for serving (a mixin of :class:`~smkit.backends.local.LocalBackend`)."""

from __future__ import annotations

__all__ = ["LocalServing"]


class LocalServing:
    """Serving verbs of the local backend."""
