"""AWS backend verbs for monitoring (a mixin of :class:`~smkit.backends.aws.AwsBackend`)."""

from __future__ import annotations

__all__ = ["AwsMonitoring"]


class AwsMonitoring:
    """Monitoring verbs of the aws backend."""
