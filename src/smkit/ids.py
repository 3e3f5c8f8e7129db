"""Names, times and ARNs, in SageMaker's shapes, for every backend.

One place for what both backends (and the CLI) build from a name: unique job names with the
SDK's timestamp suffix, the name pattern SageMaker enforces, ISO times, and the ARNs the local
backend writes (account ``000000000000``, region ``local``) or AWS returns.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from smkit.errors import ConfigError

__all__ = [
    "LOCAL_ACCOUNT",
    "LOCAL_REGION",
    "NAME_PATTERN",
    "check_name",
    "now_iso",
    "sagemaker_arn",
    "unique_name",
]

#: The account id the local backend writes in its ARNs (no AWS account is involved).
LOCAL_ACCOUNT = "000000000000"
#: The region the local backend writes in its ARNs.
LOCAL_REGION = "local"
#: SageMaker's pattern for job, model, endpoint and schedule names (at most 63 characters).
NAME_PATTERN = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")


def now_iso() -> str:
    """UTC time, ISO 8601 with milliseconds."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def unique_name(prefix: str) -> str:
    """``<prefix>-YYYY-mm-dd-HH-MM-SS-mmm`` (the SDK's naming), at most 63 characters."""
    stamp = datetime.now(UTC).strftime("%Y-%m-%d-%H-%M-%S-%f")[:-3]
    return f"{prefix[: 63 - len(stamp) - 1]}-{stamp}"


def check_name(name: str) -> str:
    """Validate a job name (SageMaker's pattern, at most 63 characters) and return it.

    Raises:
        ConfigError: the name does not match.
    """
    if not NAME_PATTERN.match(name):
        raise ConfigError(
            f"job name {name!r}: letters, digits and '-', starting alphanumeric, ≤ 63 characters"
        )
    return name


def sagemaker_arn(
    kind: str, name: str, *, region: str = LOCAL_REGION, account: str = LOCAL_ACCOUNT
) -> str:
    """A SageMaker ARN (``arn:aws:sagemaker:<region>:<account>:<kind>/<name lowercased>``)."""
    return f"arn:aws:sagemaker:{region}:{account}:{kind}/{name.lower()}"
