"""The AWS wire protocols the emulator speaks: routing facts, errors, request and response shapes.

- `credential_scope` reads the service (and region) a request is signed for, from the
  SigV4 ``Authorization`` header (``Credential=AKID/date/region/SERVICE/aws4_request``) or a
  presigned URL's ``X-Amz-Credential``.
- JSON 1.1 (SageMaker's control plane): `json_error` answers ``{"__type": ..., "message":
  ...}`` as AWS does; `validate_request` checks a request against botocore's input shape
  (the answer a malformed call gets is a ``ValidationException``) and `shape_output`
  keeps exactly the members of botocore's output shape, timestamps as epoch seconds, so what
  the emulator answers is what boto3 parses.
"""

from __future__ import annotations

import base64
import json
import re
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qs

__all__ = [
    "ACCOUNT",
    "EmulatorError",
    "credential_scope",
    "json_error",
    "shape_output",
    "to_epoch",
    "validate_request",
]

#: The account id of every ARN the emulator makes (moto's default account).
ACCOUNT = "123456789012"

_SCOPE = re.compile(r"Credential=[^/,\s]*/\d{8}/([^/,\s]+)/([^/,\s]+)/aws4_request")


class EmulatorError(Exception):
    """An AWS error answer: HTTP ``status``, the error ``code`` and its ``message``."""

    def __init__(self, code: str, message: str, status: int = 400, **extra: Any) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.extra = extra


def credential_scope(headers: dict[str, str], query_string: str = "") -> tuple[str, str] | None:
    """``(region, service)`` of the request's SigV4 credential scope, or ``None`` (unsigned).

    Args:
        headers: Request headers, names lower-cased.
        query_string: The raw query string (a presigned URL carries ``X-Amz-Credential``).
    """
    m = _SCOPE.search(headers.get("authorization", ""))
    if m:
        return m.group(1), m.group(2)
    if "X-Amz-Credential" in query_string:
        cred = parse_qs(query_string).get("X-Amz-Credential", [""])[0]
        parts = cred.split("/")
        if len(parts) == 5 and parts[4] == "aws4_request":
            return parts[2], parts[3]
    return None


def json_error(code: str, message: str, **extra: Any) -> bytes:
    """The JSON 1.1 error body AWS sends (``__type`` and ``message``)."""
    return json.dumps({"__type": code, "message": message, **extra}).encode()


@lru_cache(maxsize=8)
def service_model(service: str) -> Any:
    """botocore's model of ``service`` (``sagemaker``, ``sagemaker-runtime``...)."""
    import botocore.session

    return botocore.session.get_session().get_service_model(service)


def operation_model(service: str, operation: str) -> Any:
    """botocore's operation model, or ``None`` when the service has no such operation."""
    from botocore.model import OperationNotFoundError

    try:
        return service_model(service).operation_model(operation)
    except OperationNotFoundError:
        return None


def validate_request(service: str, operation: str, params: dict[str, Any]) -> None:
    """Check ``params`` against the operation's input shape (botocore's validator).

    Raises:
        EmulatorError: ``ValidationException`` listing what is wrong, as AWS answers.
    """
    from botocore.validate import ParamValidator

    op = operation_model(service, operation)
    if op is None or op.input_shape is None:
        return
    report = ParamValidator().validate(params, op.input_shape)
    if report.has_errors():
        text = report.generate_report()
        lines = [ln for ln in text.splitlines() if ln.strip()]
        raise EmulatorError(
            "ValidationException",
            f"{len(lines)} validation error{'s' if len(lines) != 1 else ''} detected: "
            + "; ".join(ln.strip() for ln in lines),
        )


def to_epoch(value: Any) -> float | None:
    """Epoch seconds of an ISO string, a datetime or a number (``None`` for ``None``)."""
    if value is None:
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return round(value.timestamp(), 3)
    raise TypeError(f"not a timestamp: {value!r}")


def _shape_value(shape: Any, value: Any) -> Any:
    if value is None:
        return None
    kind = shape.type_name
    if kind == "structure":
        if not isinstance(value, dict):
            return None
        out = {}
        for name, member in shape.members.items():
            if name in value:
                shaped = _shape_value(member, value[name])
                if shaped is not None:
                    out[name] = shaped
        return out
    if kind == "list":
        if not isinstance(value, list | tuple):
            return None
        return [v for v in (_shape_value(shape.member, x) for x in value) if v is not None]
    if kind == "map":
        if not isinstance(value, dict):
            return None
        return {str(k): _shape_value(shape.value, v) for k, v in value.items() if v is not None}
    if kind == "timestamp":
        return to_epoch(value)
    if kind == "boolean":
        return bool(value)
    if kind in ("integer", "long"):
        return int(value)
    if kind in ("float", "double"):
        return float(value)
    if kind == "blob":
        raw = value if isinstance(value, bytes) else str(value).encode()
        return base64.b64encode(raw).decode()
    return str(value)


def shape_output(service: str, operation: str, data: dict[str, Any]) -> dict[str, Any]:
    """``data`` reduced to the members of the operation's output shape (JSON wire form)."""
    op = operation_model(service, operation)
    if op is None or op.output_shape is None:
        return {}
    return _shape_value(op.output_shape, data) or {}
