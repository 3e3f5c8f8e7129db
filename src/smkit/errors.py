"""The smkit error hierarchy.

Every error smkit raises on purpose derives from `SmkitError`. Errors coming from
boto3, botocore, subprocesses or SQLite are translated at the boundary into one of these,
carrying the offending value and what to do next:

    SmkitError
    ├── ConfigError                 bad input: a spec, an argument, a file the user pointed at
    │   ├── UnknownBackendError     a backend name nobody registered
    │   ├── MissingExtraError       a backend or feature whose optional extra is not installed
    │   ├── InvalidURIError         a malformed s3:// URI
    │   ├── UnsafeKeyError          an object key that would escape the store root
    │   ├── SourceNotFoundError     a data file / entry point / directory that does not exist
    │   ├── ColumnNotFoundError     a label or column that is not in the data
    │   ├── SplitError              split fractions that do not make a partition
    │   ├── FormatError             a file or payload that does not parse as its format says
    │   ├── ValidationError         a request or definition rejected before it is sent or run
    │   └── OrderError              a lifecycle step out of SageMaker's documented order
    ├── ResourceError               something about a named resource
    │   ├── ResourceNotFoundError   no such job / model / endpoint / object
    │   ├── ResourceExistsError     the name is taken
    │   ├── ResourceInUseError      it is used by something else (e.g. a schedule on an endpoint)
    │   └── ResourceFailedError     it ended Failed (reason attached)
    ├── BackendError                the backend could not do what was asked
    │   ├── CatalogLockedError      the SQLite catalog stayed locked past the timeout
    │   ├── AwsError                an AWS API error, translated (service, operation, code)
    │   │   └── ThrottlingError     AWS asked us to slow down; retried before it surfaces
    │   ├── ModelError              the model raised while serving (HTTP 424 on SageMaker)
    │   └── RequirementsError       pip could not install a code directory's requirements.txt
    └── SmkitTimeoutError           a wait, a job or an execution ran past its limit

Each error's message names the value at fault and, where there is one, the fix.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "AwsError",
    "BackendError",
    "CatalogLockedError",
    "ColumnNotFoundError",
    "ConfigError",
    "FormatError",
    "InvalidURIError",
    "MissingExtraError",
    "ModelError",
    "OrderError",
    "RequirementsError",
    "ResourceError",
    "ResourceExistsError",
    "ResourceFailedError",
    "ResourceInUseError",
    "ResourceNotFoundError",
    "SmkitError",
    "SourceNotFoundError",
    "SplitError",
    "ThrottlingError",
    "SmkitTimeoutError",
    "UnknownBackendError",
    "UnsafeKeyError",
    "ValidationError",
]


class SmkitError(Exception):
    """Base of every error smkit raises on purpose.

    Args:
        message: What went wrong, naming the offending value.
        hint: What the user can do about it (appended to the message).
        **context: Structured details (resource name, value, ...) kept on ``.context``.
    """

    #: process exit code used by the CLI for this family of errors
    exit_code: int = 1

    def __init__(self, message: str, *, hint: str | None = None, **context: Any) -> None:
        self.message = message
        self.hint = hint
        self.context = context
        super().__init__(f"{message} ({hint})" if hint else message)


class ConfigError(SmkitError, ValueError):
    """Bad input from the user: a spec, an argument, a file."""

    exit_code = 2


class UnknownBackendError(ConfigError):
    """A backend name that no entry point registered."""


class MissingExtraError(ConfigError, ImportError):
    """An optional dependency is missing; the message names the extra to install."""


class InvalidURIError(ConfigError):
    """A malformed ``s3://bucket/key`` URI."""


class UnsafeKeyError(ConfigError):
    """An object key that is absolute or contains ``..`` and would escape the store root."""


class SourceNotFoundError(ConfigError, FileNotFoundError):
    """A file or directory the user pointed at does not exist."""


class ColumnNotFoundError(ConfigError, KeyError):
    """A column (label, feature, split key) that is not in the data."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return Exception.__str__(self)


class SplitError(ConfigError):
    """Split fractions that are out of range or do not sum to one."""


class FormatError(ConfigError):
    """A file or payload that does not parse as the format it claims."""


class ValidationError(ConfigError):
    """A request or definition rejected before it is sent or run."""


class OrderError(ConfigError):
    """A lifecycle step taken before the step SageMaker requires first."""


class ResourceError(SmkitError):
    """Something about a named resource (job, model, endpoint, schedule, object...)."""


class ResourceNotFoundError(ResourceError, LookupError):
    """The named resource does not exist."""


class ResourceExistsError(ResourceError):
    """A resource with that name already exists."""


class ResourceInUseError(ResourceError):
    """The resource is used by another one and cannot be changed or deleted."""


class ResourceFailedError(ResourceError):
    """The resource ended in a Failed state; ``.context['reason']`` says why."""


class BackendError(SmkitError):
    """The backend could not carry out the request."""


class CatalogLockedError(BackendError):
    """The SQLite catalog stayed locked by another process past the timeout."""


class AwsError(BackendError):
    """An AWS API error translated from botocore's ``ClientError``."""


class ThrottlingError(AwsError):
    """AWS throttled the request (after smkit's own retries)."""


class ModelError(BackendError):
    """The model container raised while handling a request (HTTP 424 on SageMaker)."""


class RequirementsError(BackendError):
    """``pip install -r requirements.txt`` failed for a job's or an endpoint's code.

    ``.context['output']`` holds the end of pip's output.
    """


class SmkitTimeoutError(SmkitError, TimeoutError):
    """A wait, a job or an execution ran past its time limit."""
