"""AWS backend verbs for training (a mixin of :class:`~smkit.backends.aws.AwsBackend`)."""

from __future__ import annotations

__all__ = ["AwsTraining"]


class AwsTraining:
    """Training verbs of the aws backend."""
