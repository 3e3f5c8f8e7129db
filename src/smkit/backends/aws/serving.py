"""AWS backend verbs for serving (a mixin of :class:`~smkit.backends.aws.AwsBackend`)."""

from __future__ import annotations

__all__ = ["AwsServing"]


class AwsServing:
    """Serving verbs of the aws backend."""
