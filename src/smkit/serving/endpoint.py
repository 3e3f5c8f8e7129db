"""The `Endpoint` handle returned by ``session.deploy``.

The handle holds only the backend and the endpoint's name; every property reads the
backend's current record, so a handle made in one process (or rebuilt from a name with
``session.backend.endpoint(name)``) sees what the endpoint's server did since.
"""

from __future__ import annotations

import time
from typing import Any

from smkit.errors import ResourceFailedError, SmkitTimeoutError
from smkit.serving.predictor import Predictor, infer_content_type
from smkit.serving.spec import DEFAULT_VARIANT, DataCaptureSpec

__all__ = ["Endpoint"]


class Endpoint:
    """A deployed real-time endpoint.

    Args:
        backend: The backend that deployed it (local or aws).
        name: The endpoint's name.
        auth_token: Bearer token of a local endpoint deployed with one (sent with every
            request this handle makes; never shown in ``repr``).
    """

    def __init__(self, backend: Any, name: str, auth_token: str | None = None) -> None:
        self.backend = backend
        self.name = name
        self._auth_token = auth_token
        self._predictors: dict[tuple[str, str], Predictor] = {}

    def __repr__(self) -> str:
        return f"Endpoint({self.name!r}, backend={self.backend.name!r})"

    def describe(self) -> dict[str, Any]:
        """The DescribeEndpoint-shaped record (locally with ``Url``, ``Pid``, ``Port``...)."""
        return dict(self.backend.describe_endpoint(self.name))

    @property
    def status(self) -> str:
        """``Creating``, ``InService``, ``Deleting``, ``Failed`` or ``Deleted``."""
        return str(self.describe().get("EndpointStatus", "Unknown"))

    @property
    def url(self) -> str | None:
        """Base URL of the endpoint (local: ``http://127.0.0.1:<port>``; aws: the
        SageMaker Runtime URL of its invocations)."""
        return self.describe().get("Url")

    @property
    def variant(self) -> str:
        """The production variant's name."""
        d = self.describe()
        variants = d.get("ProductionVariants") or [{}]
        return str(d.get("VariantName") or variants[0].get("VariantName") or DEFAULT_VARIANT)

    @property
    def data_capture(self) -> DataCaptureSpec | None:
        """The endpoint's data capture, or ``None`` when it captures nothing."""
        return DataCaptureSpec.from_request(self.describe().get("DataCaptureConfig") or {})

    @property
    def capture_prefix(self) -> str | None:
        """``{destination}/{endpoint}/{variant}/`` where capture files go (``None`` if off)."""
        d = self.describe()
        cfg = d.get("DataCaptureConfig") or {}
        if not cfg.get("EnableCapture"):
            return None
        dest = str(cfg["DestinationS3Uri"]).rstrip("/")
        return f"{dest}/{self.name}/{self.variant}/"

    def wait(self, timeout: float | None = 300, poll: float = 0.2) -> Endpoint:
        """Block until the endpoint is ``InService``.

        Raises:
            ResourceFailedError: it ended ``Failed`` (the reason attached).
            SmkitTimeoutError: still not in service after ``timeout`` seconds.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            d = self.describe()
            status = d.get("EndpointStatus")
            if status == "InService":
                return self
            if status in ("Failed", "Deleted"):
                reason = d.get("FailureReason") or "no reason recorded"
                raise ResourceFailedError(
                    f"endpoint {self.name!r} is {status}: {reason}",
                    hint="see the log with `smkit endpoints list --json` (LogPath)",
                    name=self.name,
                    reason=reason,
                )
            if deadline is not None and time.monotonic() > deadline:
                raise SmkitTimeoutError(
                    f"endpoint {self.name!r} still {status} after {timeout:g}s", name=self.name
                )
            time.sleep(poll)

    def predictor(self, serializer: Any = "csv", deserializer: Any = None, **options: Any):
        """A `Predictor` for this endpoint (see `Predictor` for options)."""
        if self._auth_token:
            options.setdefault("auth_token", self._auth_token)
        return self.backend.predictor(
            self.name, serializer=serializer, deserializer=deserializer, **options
        )

    def predict(
        self,
        data: Any,
        *,
        content_type: str | None = None,
        accept: str | None = None,
        custom_attributes: str | None = None,
        inference_id: str | None = None,
    ) -> Any:
        """Send ``data`` and return the deserialized answer.

        Args:
            data: Rows (list of lists, array, DataFrame), one row, or raw ``str``/``bytes``.
            content_type: ``text/csv`` (default; JSON for dicts and JSON text),
                ``application/json`` or ``application/x-npy``.
            accept: Response type; defaults to the content type's.
            custom_attributes: ``X-Amzn-SageMaker-Custom-Attributes``.
            inference_id: ``X-Amzn-SageMaker-Inference-Id`` (kept in the capture).

        Raises:
            ModelError: the model rejected the input or raised.
        """
        ct = content_type or infer_content_type(data)
        key = (ct, accept or ct)
        pred = self._predictors.get(key)
        if pred is None:
            pred = self._predictors[key] = self.predictor(serializer=ct, deserializer=accept or ct)
        return pred.predict(data, custom_attributes=custom_attributes, inference_id=inference_id)

    def flush_capture(self, timeout: float = 30.0) -> None:
        """Block until every accepted, sampled request so far is written to the store."""
        if self._auth_token:
            self.backend.flush_endpoint_capture(
                self.name, timeout=timeout, auth_token=self._auth_token
            )
        else:
            self.backend.flush_endpoint_capture(self.name, timeout=timeout)

    def delete(self, force: bool = False) -> None:
        """Delete the endpoint, its endpoint config and its model.

        Raises:
            ResourceInUseError: a monitoring schedule uses it (pass ``force=True``).
        """
        self.backend.delete_endpoint(self.name, force=force)
