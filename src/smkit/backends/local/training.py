"""Local backend verbs for training (a mixin of :class:`~smkit.backends.local.LocalBackend`)."""

from __future__ import annotations

__all__ = ["LocalTraining"]


class LocalTraining:
    """Training verbs of the local backend."""
