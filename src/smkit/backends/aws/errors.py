"""Translate botocore errors into smkit errors (the only place that does).

The mapping keys on the AWS error code, which is stable across services:

============================================  ===============================
AWS error code(s)                              smkit error
============================================  ===============================
ResourceNotFound, NoSuchKey, NoSuchBucket,     `ResourceNotFoundError`
404, ValidationException "Could not find"
ResourceAlreadyExists, "Function already exist" `ResourceExistsError`
ResourceConflictException (an update is in     `ResourceInUseError`
progress), ResourceInUse, ResourceLimitExceeded
ValidationException, InvalidParameterValue     `ValidationError`
Throttling, ThrottlingException, SlowDown      `ThrottlingError`
ModelError                                     `ModelError`
anything else                                  `AwsError`
============================================  ===============================
"""

from __future__ import annotations

from typing import Any

from smkit.errors import (
    AwsError,
    ModelError,
    ResourceExistsError,
    ResourceInUseError,
    ResourceNotFoundError,
    SmkitError,
    ThrottlingError,
    ValidationError,
)

__all__ = ["translate"]

_NOT_FOUND = {
    "ResourceNotFound",
    "ResourceNotFoundException",
    "NoSuchKey",
    "NoSuchBucket",
    "NoSuchUpload",
    "404",
    "NotFound",
    "StateMachineDoesNotExist",
    "ExecutionDoesNotExist",
}
_EXISTS = {
    "ResourceAlreadyExists",
    "BucketAlreadyOwnedByYou",
    "StateMachineAlreadyExists",
    "ExecutionAlreadyExists",
}
#: Lambda answers ResourceConflictException both for a taken name ("Function already exist")
#: and for a function whose previous update has not finished ("An update is in progress").
_CONFLICT = "ResourceConflictException"
_IN_USE = {"ResourceInUse", "ResourceLimitExceeded"}
_THROTTLE = {
    "Throttling",
    "ThrottlingException",
    "SlowDown",
    "RequestLimitExceeded",
    "TooManyRequestsException",
}
_VALIDATION = {
    "ValidationException",
    "ValidationError",
    "InvalidParameterValue",
    "InvalidParameterValueException",
    "InvalidDefinition",
    "InvalidArn",
}


def translate(exc: Exception, *, service: str, operation: str, resource: Any = None) -> SmkitError:
    """Turn a botocore ``ClientError`` (or other botocore error) into a smkit error.

    Args:
        exc: The exception raised by a boto3 call.
        service: Service name, e.g. ``"sagemaker"``.
        operation: Operation name, e.g. ``"DescribeEndpoint"``.
        resource: The resource the call was about (for the message).
    """
    response = getattr(exc, "response", None) or {}
    err = response.get("Error", {}) if isinstance(response, dict) else {}
    code = str(err.get("Code") or type(exc).__name__)
    message = str(err.get("Message") or exc)
    what = f"{service}.{operation}" + (f" on {resource!r}" if resource else "")
    ctx = {"service": service, "operation": operation, "code": code, "resource": resource}
    text = f"{what} failed: {code}: {message}"
    lowered = message.lower()
    if code in _NOT_FOUND or (
        code in _VALIDATION and ("could not find" in lowered or "does not exist" in lowered)
    ):
        return ResourceNotFoundError(text, **ctx)
    if code in _EXISTS or (code in (*_VALIDATION, _CONFLICT) and "already exist" in lowered):
        return ResourceExistsError(text, hint="pick another name or delete it first", **ctx)
    if code == _CONFLICT:
        return ResourceInUseError(
            text,
            hint="an update of this resource is still in progress: wait until it finishes "
            "(State Active, LastUpdateStatus Successful) and retry",
            **ctx,
        )
    if code in _IN_USE:
        return ResourceInUseError(text, **ctx)
    if code in _THROTTLE:
        return ThrottlingError(text, hint="retry later or raise the service quota", **ctx)
    if code == "ModelError":
        return ModelError(text, **ctx)
    if code in _VALIDATION:
        return ValidationError(text, **ctx)
    if code in {
        "AccessDenied",
        "AccessDeniedException",
        "UnrecognizedClientException",
        "InvalidClientTokenId",
        "ExpiredToken",
    }:
        return AwsError(text, hint="check AWS credentials and the role's permissions", **ctx)
    return AwsError(text, **ctx)
