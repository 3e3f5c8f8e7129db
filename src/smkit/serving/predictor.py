"""The `Predictor`: serialize, batch, invoke with retries, deserialize.

A predictor talks to one endpoint through a *transport*: a callable
``invoke(body, content_type=, accept=, custom_attributes=, inference_id=) -> InvokeResult``.
The local backend's transport posts to the endpoint's ``/invocations``; the aws backend's
calls ``InvokeEndpoint``. Status handling is the same for both:

- ``2xx``: the body is deserialized and returned;
- ``5xx`` or a dropped connection: retried with exponential backoff and jitter, then
  `BackendError`;
- any other error: `ModelError` (as SageMaker surfaces a container's
  error to InvokeEndpoint callers), or `ValidationError` when the
  error's code says the request itself was rejected (e.g. an unknown endpoint).
"""

from __future__ import annotations

import io
import json
import random
import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import attrs

from smkit.errors import BackendError, ConfigError, FormatError, ModelError, ValidationError

__all__ = [
    "CSVDeserializer",
    "CSVSerializer",
    "InvokeResult",
    "JSONDeserializer",
    "JSONSerializer",
    "NumpyDeserializer",
    "NumpySerializer",
    "Predictor",
    "TransientError",
    "deserializer_for",
    "serializer_for",
]

#: Largest request body SageMaker's containers accept.
MAX_PAYLOAD_BYTES = 5 * 1024 * 1024


class TransientError(BackendError):
    """A transport failure worth retrying (connection refused or reset, timeout)."""


@attrs.frozen
class InvokeResult:
    """One endpoint response."""

    status: int
    body: bytes
    content_type: str = "application/octet-stream"
    headers: dict[str, str] = attrs.field(factory=dict)

    @property
    def custom_attributes(self) -> str | None:
        """``X-Amzn-SageMaker-Custom-Attributes`` if the model set it."""
        for k, v in self.headers.items():
            if k.lower() == "x-amzn-sagemaker-custom-attributes":
                return v
        return None


class Transport(Protocol):
    """How a predictor reaches its endpoint."""

    def __call__(
        self,
        body: bytes,
        *,
        content_type: str,
        accept: str,
        custom_attributes: str | None = None,
        inference_id: str | None = None,
    ) -> InvokeResult: ...


# -- serializers -------------------------------------------------------------------------
def _rows(data: Any) -> list[list[Any]] | None:
    """Rows of a 2-D input (list of lists, 2-D array, DataFrame); ``None`` for other shapes."""
    if hasattr(data, "to_numpy") and hasattr(data, "columns"):
        return data.to_numpy().tolist()
    if hasattr(data, "ndim") and hasattr(data, "tolist"):
        if data.ndim == 2:
            return data.tolist()
        return None
    if isinstance(data, list | tuple) and data and all(isinstance(r, list | tuple) for r in data):
        return [list(r) for r in data]
    return None


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return repr(value)
    text = str(value)
    if any(c in text for c in ',"\n\r'):
        return '"' + text.replace('"', '""') + '"'
    return text


class CSVSerializer:
    """Rows as CSV without a header (``text/csv``), one line per row.

    Accepts ``str``/``bytes`` (sent as-is), a flat list or 1-D array (one row), a list of
    rows, a 2-D array or a DataFrame.
    """

    content_type = "text/csv"

    def serialize(self, data: Any) -> bytes:
        """Encode ``data``."""
        if isinstance(data, bytes):
            return data
        if isinstance(data, str):
            return data.encode("utf-8")
        rows = _rows(data)
        if rows is None:
            flat = data.tolist() if hasattr(data, "tolist") else list(data)
            rows = [flat]
        return ("\n".join(",".join(_fmt(v) for v in row) for row in rows) + "\n").encode("utf-8")


class JSONSerializer:
    """JSON text (``application/json``); arrays and DataFrames become lists of rows."""

    content_type = "application/json"

    def serialize(self, data: Any) -> bytes:
        """Encode ``data``."""
        if isinstance(data, bytes):
            return data
        if isinstance(data, str):
            return data.encode("utf-8")
        rows = _rows(data)
        if rows is not None:
            return json.dumps(rows).encode("utf-8")
        if hasattr(data, "tolist"):
            data = data.tolist()
        return json.dumps(data, default=_json_default).encode("utf-8")


def _json_default(value: Any) -> Any:
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"cannot JSON-encode {type(value).__name__}")


class NumpySerializer:
    """A NumPy array in ``.npy`` format (``application/x-npy``)."""

    content_type = "application/x-npy"

    def serialize(self, data: Any) -> bytes:
        """Encode ``data``."""
        if isinstance(data, bytes):
            return data
        import numpy as np

        buf = io.BytesIO()
        np.save(buf, np.asarray(data), allow_pickle=False)
        return buf.getvalue()


def _cell(text: str) -> Any:
    try:
        return float(text)
    except ValueError:
        return text


class CSVDeserializer:
    """CSV text to values: one value per line gives a flat list, else a list of rows."""

    accept = "text/csv"

    def deserialize(self, body: bytes, content_type: str) -> Any:
        """Decode a response body."""
        import csv

        try:
            lines = [r for r in csv.reader(io.StringIO(body.decode("utf-8"))) if r]
        except (UnicodeDecodeError, csv.Error) as exc:
            raise FormatError(f"the endpoint's answer is not CSV text: {exc}") from None
        rows = [[_cell(c) for c in r] for r in lines]
        if rows and all(len(r) == 1 for r in rows):
            return [r[0] for r in rows]
        return rows


class JSONDeserializer:
    """JSON text to Python objects."""

    accept = "application/json"

    def deserialize(self, body: bytes, content_type: str) -> Any:
        """Decode a response body."""
        try:
            return json.loads(body.decode("utf-8"))
        except (ValueError, RecursionError) as exc:
            raise FormatError(f"the endpoint's answer is not JSON: {exc}") from None


class NumpyDeserializer:
    """``.npy`` bytes to a NumPy array."""

    accept = "application/x-npy"

    def deserialize(self, body: bytes, content_type: str) -> Any:
        """Decode a response body."""
        from smkit.serving.npy import load_npy

        try:
            return load_npy(body)
        except Exception as exc:  # numpy raises many kinds for a bad header or body
            raise FormatError(f"the endpoint's answer is not a .npy array: {exc}") from None


_SERIALIZERS: dict[str, Callable[[], Any]] = {
    "csv": CSVSerializer,
    "text/csv": CSVSerializer,
    "json": JSONSerializer,
    "application/json": JSONSerializer,
    "npy": NumpySerializer,
    "application/x-npy": NumpySerializer,
}
_DESERIALIZERS: dict[str, Callable[[], Any]] = {
    "csv": CSVDeserializer,
    "text/csv": CSVDeserializer,
    "json": JSONDeserializer,
    "application/json": JSONDeserializer,
    "npy": NumpyDeserializer,
    "application/x-npy": NumpyDeserializer,
}


def serializer_for(name: Any) -> Any:
    """A serializer from a short name (``csv``, ``json``, ``npy``), a content type, or as-is."""
    if not isinstance(name, str):
        return name
    key = name.split(";")[0].strip().lower()
    if key not in _SERIALIZERS:
        raise ConfigError(f"unknown serializer {name!r}", hint="use 'csv', 'json' or 'npy'")
    return _SERIALIZERS[key]()


def deserializer_for(name: Any) -> Any:
    """A deserializer from a short name, an accept type, or as-is."""
    if not isinstance(name, str):
        return name
    key = name.split(";")[0].strip().lower()
    if key not in _DESERIALIZERS:
        raise ConfigError(f"unknown deserializer {name!r}", hint="use 'csv', 'json' or 'npy'")
    return _DESERIALIZERS[key]()


def _merge(parts: list[Any]) -> Any:
    if len(parts) == 1:
        return parts[0]
    if all(isinstance(p, list) for p in parts):
        return [x for p in parts for x in p]
    if all(isinstance(p, dict) and isinstance(p.get("predictions"), list) for p in parts):
        merged = dict(parts[0])
        merged["predictions"] = [x for p in parts for x in p["predictions"]]
        return merged
    if all(hasattr(p, "ndim") for p in parts):
        import numpy as np

        return np.concatenate(parts)
    return parts


def _error_message(result: InvokeResult) -> tuple[str, str]:
    code, message = "", result.body[:2000].decode("utf-8", "replace")
    try:
        doc = json.loads(result.body)
    except ValueError:
        return code, message
    if isinstance(doc, dict):
        code = str(doc.get("code") or doc.get("__type") or doc.get("ErrorCode") or "")
        message = str(doc.get("message") or doc.get("Message") or message)
    return code, message


class Predictor:
    """Sends data to an endpoint and returns its predictions.

    Args:
        endpoint_name: The endpoint's name (for messages).
        transport: The callable that sends one request (see the module docstring).
        serializer: ``"csv"`` (default), ``"json"``, ``"npy"``, or an object with
            ``content_type`` and ``serialize(data) -> bytes``.
        deserializer: Same choices, or an object with ``accept`` and
            ``deserialize(body, content_type)``; defaults to the serializer's format.
        max_rows: Rows per request; larger 2-D inputs are split into batches whose results
            are concatenated in order.
        max_payload_bytes: Batches are also split so each body stays below this size.
        retries: Extra attempts after a 5xx answer or a dropped connection.
        backoff: First retry delay in seconds (doubled each attempt, with jitter).

    Examples:
        >>> p = smkit.Session().predictor("wine", serializer="csv")  # doctest: +SKIP
        >>> row = [7.4, 0.7, 0.0, 1.9, 0.076, 11, 34, 0.9978, 3.51, 0.56, 9.4]
        >>> p.predict([row])  # doctest: +SKIP
        [5.03]
    """

    def __init__(
        self,
        endpoint_name: str,
        transport: Transport,
        *,
        serializer: Any = "csv",
        deserializer: Any = None,
        max_rows: int = 1000,
        max_payload_bytes: int = MAX_PAYLOAD_BYTES,
        retries: int = 3,
        backoff: float = 0.1,
    ) -> None:
        if max_rows < 1:
            raise ConfigError(f"max_rows must be >= 1, got {max_rows!r}")
        if retries < 0:
            raise ConfigError(f"retries must be >= 0, got {retries!r}")
        self.endpoint_name = endpoint_name
        self.transport = transport
        self.serializer = serializer_for(serializer)
        default_de = getattr(self.serializer, "content_type", "csv")
        self.deserializer = deserializer_for(deserializer if deserializer else default_de)
        self.max_rows = max_rows
        self.max_payload_bytes = max_payload_bytes
        self.retries = retries
        self.backoff = backoff
        self.last_result: InvokeResult | None = None

    def __repr__(self) -> str:
        return (
            f"Predictor({self.endpoint_name!r}, content_type={self.content_type!r}, "
            f"accept={self.accept!r})"
        )

    @property
    def content_type(self) -> str:
        """The request content type."""
        return str(self.serializer.content_type)

    @property
    def accept(self) -> str:
        """The response type asked for."""
        return str(self.deserializer.accept)

    def _batches(self, data: Any) -> list[bytes]:
        if isinstance(data, bytes | str):
            return [self.serializer.serialize(data)]
        rows = _rows(data)
        if rows is None or isinstance(self.serializer, NumpySerializer):
            return [self.serializer.serialize(data)]
        bodies: list[bytes] = []
        step = self.max_rows
        i = 0
        while i < len(rows):
            chunk = rows[i : i + step]
            body = self.serializer.serialize(chunk)
            if len(body) > self.max_payload_bytes and len(chunk) > 1:
                step = max(1, len(chunk) // 2)
                continue
            bodies.append(body)
            i += len(chunk)
        return bodies or [self.serializer.serialize(rows)]

    def predict(
        self,
        data: Any,
        *,
        custom_attributes: str | None = None,
        inference_id: str | None = None,
    ) -> Any:
        """Serialize ``data`` (in batches if large), invoke, and deserialize the answer.

        Args:
            data: What the serializer accepts (rows, arrays, DataFrames, text, bytes).
            custom_attributes: Sent as ``X-Amzn-SageMaker-Custom-Attributes``.
            inference_id: Sent as ``X-Amzn-SageMaker-Inference-Id`` (kept in the capture).

        Raises:
            ModelError: the model or its handler rejected the request.
            ValidationError: the endpoint does not exist or the request was refused.
            BackendError: the endpoint kept failing (5xx or no connection) after retries.
        """
        parts = [
            self.deserializer.deserialize(r.body, r.content_type)
            for r in (
                self.invoke(body, custom_attributes=custom_attributes, inference_id=inference_id)
                for body in self._batches(data)
            )
        ]
        return _merge(parts)

    def invoke(
        self,
        body: bytes,
        *,
        custom_attributes: str | None = None,
        inference_id: str | None = None,
    ) -> InvokeResult:
        """Send one already-serialized body (with retries); returns the raw result."""
        attempt = 0
        while True:
            try:
                result = self.transport(
                    body,
                    content_type=self.content_type,
                    accept=self.accept,
                    custom_attributes=custom_attributes,
                    inference_id=inference_id,
                )
            except TransientError as exc:
                if attempt >= self.retries:
                    raise BackendError(
                        f"endpoint {self.endpoint_name!r} unreachable after "
                        f"{attempt + 1} attempts: {exc}",
                        hint="check `smkit endpoints list`; the endpoint may have stopped",
                        endpoint=self.endpoint_name,
                    ) from exc
            else:
                self.last_result = result
                if result.status < 300:
                    return result
                code, message = _error_message(result)
                if result.status < 500:
                    if code in ("ValidationError", "ValidationException"):
                        raise ValidationError(
                            f"endpoint {self.endpoint_name!r} refused the request: {message}",
                            endpoint=self.endpoint_name,
                            status=result.status,
                        )
                    raise ModelError(
                        f"endpoint {self.endpoint_name!r} model error "
                        f"(HTTP {result.status}): {message}",
                        endpoint=self.endpoint_name,
                        status=result.status,
                        code=code,
                    )
                if attempt >= self.retries:
                    raise BackendError(
                        f"endpoint {self.endpoint_name!r} answered HTTP {result.status} "
                        f"after {attempt + 1} attempts: {message}",
                        endpoint=self.endpoint_name,
                        status=result.status,
                    )
            delay = self.backoff * (2**attempt)
            time.sleep(delay * (0.5 + random.random()))
            attempt += 1


def infer_content_type(data: Any) -> str:
    """A content type for ``data``: JSON for dicts and JSON-looking text, else CSV."""
    if isinstance(data, dict):
        return "application/json"
    if isinstance(data, bytes | str):
        head = (data[:1] if isinstance(data, str) else data[:1].decode("latin-1")).strip()
        return "application/json" if head in ("{", "[") else "text/csv"
    return "text/csv"


def flat(values: Sequence[Any]) -> list[Any]:
    """Flatten one level of nesting (helper for single-output models)."""
    return [v[0] if isinstance(v, list | tuple) and len(v) == 1 else v for v in values]
