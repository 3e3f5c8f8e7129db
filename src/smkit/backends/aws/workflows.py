"""AWS backend verbs for workflows (a mixin of :class:`~smkit.backends.aws.AwsBackend`)."""

from __future__ import annotations

__all__ = ["AwsWorkflows"]


class AwsWorkflows:
    """Workflows verbs of the aws backend."""
