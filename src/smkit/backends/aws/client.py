"""boto3 clients, request validation and plan mode.

Every AWS request smkit sends goes through `Requester.call`, which

1. validates the parameters against the service model with botocore's own
   ``ParamValidator`` (so a bad request fails here, before anything is sent);
2. records it as a `PlannedRequest` (service, operation, parameters);
3. in plan mode returns ``{}`` without sending; otherwise sends it and translates any
   ``ClientError`` into a smkit error (`smkit.backends.aws.errors`).
"""

from __future__ import annotations

import os
import re
import threading
from typing import Any

import attrs

from smkit._compat import require
from smkit.errors import ConfigError, ValidationError

__all__ = ["PlannedRequest", "Requester", "snake_case", "validate_request"]

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def snake_case(operation: str) -> str:
    """``CreateTrainingJob`` -> ``create_training_job`` (boto3's method name)."""
    return _CAMEL.sub("_", operation).lower()


@attrs.frozen
class PlannedRequest:
    """One AWS request: what would be (or was) sent."""

    service: str
    operation: str
    params: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form; bytes bodies are summarised as ``<N bytes>``."""
        return {
            "service": self.service,
            "operation": self.operation,
            "params": _summarise(self.params),
        }


def _summarise(value: Any) -> Any:
    if isinstance(value, bytes | bytearray):
        return f"<{len(value)} bytes>"
    if isinstance(value, dict):
        return {k: _summarise(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_summarise(v) for v in value]
    if hasattr(value, "read"):
        return "<stream>"
    return value


_models_lock = threading.Lock()
_models: dict[str, Any] = {}


def _service_model(service: str) -> Any:
    with _models_lock:
        if service not in _models:
            botocore_session = require("botocore.session", "aws", feature="the aws backend")
            _models[service] = botocore_session.get_session().get_service_model(service)
        return _models[service]


def validate_request(service: str, operation: str, params: dict[str, Any]) -> None:
    """Validate ``params`` for ``service.operation`` with botocore's ParamValidator.

    Raises:
        ValidationError: unknown operation or parameters botocore would reject.
    """
    validate = require("botocore.validate", "aws", feature="the aws backend")
    model = _service_model(service)
    try:
        op = model.operation_model(operation)
    except Exception as exc:  # botocore.exceptions.OperationNotFoundError
        raise ValidationError(f"{service} has no operation {operation!r}") from exc
    report = validate.ParamValidator().validate(params, op.input_shape)
    if report.has_errors():
        raise ValidationError(
            f"invalid {service}.{operation} request: {report.generate_report()}",
            service=service,
            operation=operation,
        )


class Requester:
    """Creates boto3 clients and sends (or plans) validated requests.

    Args:
        region: AWS region; defaults to ``AWS_REGION`` / ``AWS_DEFAULT_REGION`` / the profile's.
        profile: Named AWS profile.
        endpoint_url: Send every request here (moto server, LocalStack).
        plan: Record requests without sending them.
        max_attempts: Total attempts per request, first included (botocore standard retry mode,
            exponential backoff with jitter).
    """

    def __init__(
        self,
        *,
        region: str | None = None,
        profile: str | None = None,
        endpoint_url: str | None = None,
        plan: bool = False,
        max_attempts: int = 5,
    ) -> None:
        self.profile = profile
        self.endpoint_url = endpoint_url or os.environ.get("SMKIT_AWS_ENDPOINT_URL") or None
        self.plan = plan
        self.max_attempts = max_attempts
        self._region = (
            region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
        )
        self._boto_session: Any = None
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()
        self.requests: list[PlannedRequest] = []

    @property
    def boto_session(self) -> Any:
        """The underlying ``boto3.Session`` (created on first use)."""
        if self._boto_session is None:
            boto3 = require("boto3", "aws", feature="the aws backend")
            self._boto_session = boto3.Session(profile_name=self.profile, region_name=self._region)
        return self._boto_session

    @property
    def region(self) -> str:
        """The region requests go to."""
        if self._region:
            return self._region
        if self.plan:
            return "us-east-1"
        region = self.boto_session.region_name
        if not region:
            raise ConfigError(
                "no AWS region configured",
                hint="pass region=..., set AWS_REGION, or configure a profile with a region",
            )
        self._region = region
        return region

    def client(self, service: str) -> Any:
        """A cached boto3 client for ``service``."""
        with self._lock:
            if service not in self._clients:
                config = require("botocore.config", "aws").Config(
                    retries={"mode": "standard", "total_max_attempts": self.max_attempts},
                    user_agent_extra="smkit",
                )
                self._clients[service] = self.boto_session.client(
                    service, region_name=self.region, endpoint_url=self.endpoint_url, config=config
                )
            return self._clients[service]

    def call(
        self,
        service: str,
        operation: str,
        params: dict[str, Any] | None = None,
        *,
        resource: Any = None,
    ) -> dict[str, Any]:
        """Validate, record and (unless planning) send one request.

        Returns:
            The response dict (``{}`` in plan mode).
        """
        params = dict(params or {})
        validate_request(service, operation, params)
        with self._lock:
            self.requests.append(PlannedRequest(service, operation, params))
        if self.plan:
            return {}
        from smkit.backends.aws.errors import translate

        method = getattr(self.client(service), snake_case(operation))
        try:
            return method(**params)
        except Exception as exc:
            if type(exc).__module__.startswith(("botocore", "boto3")):
                raise translate(
                    exc, service=service, operation=operation, resource=resource
                ) from exc
            raise
