"""The SageMaker inference toolkit's request contract, as its ``Transformer`` applies it.

This module holds what ``sagemaker-inference`` (and the PyTorch container built on it) does
around the user's hooks, so that a script served by smkit sees exactly what it sees on
SageMaker (``tests/serving/test_toolkit_differential.py`` checks it against the real
toolkit):

- ``text/csv`` and ``application/json`` bodies reach ``input_fn`` / ``transform_fn`` as
  ``str`` (decoded UTF-8), every other type as ``bytes``;
- ``Accept`` missing or ``*/*``: ``SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT``, else
  ``application/json``;
- a hook whose signature takes one more argument than the toolkit passes gets the request
  ``context`` as its last argument;
- the default ``output_fn`` encodes the prediction itself (JSON ``[0.0, 2.0]``, CSV by
  ``numpy.savetxt``, ``.npy``), answering in the first type of ``Accept`` it supports;
- a ``(body, content_type)`` tuple sets the answer's type, anything else answers in the
  accept type; a Flask/werkzeug ``Response`` (the legacy ``worker.Response``) is sent as is;
- any exception while serving answers 500 (an exception with an ``int`` ``status_code``,
  like the toolkit's ``BaseInferenceToolkitError``, answers that status) with the message
  and the traceback as the body.
"""

from __future__ import annotations

import inspect
import io
import json
import os
import traceback
import weakref
from collections.abc import Callable
from typing import Any

__all__ = [
    "ANY",
    "UTF8_TYPES",
    "ServingContext",
    "UnsupportedFormatError",
    "call_hook",
    "decode",
    "default_accept",
    "default_output_fn",
    "encode",
    "error_answer",
    "normalize_result",
]

JSON, CSV, NPY, NPZ, ANY = (
    "application/json",
    "text/csv",
    "application/x-npy",
    "application/x-npz",
    "*/*",
)
UTF8_TYPES = (JSON, CSV)
ENCODABLE = (NPY, CSV, JSON)


class UnsupportedFormatError(Exception):
    """A content type (or accept type) the default handlers cannot decode (or encode)."""

    def __init__(self, content_type: str | None) -> None:
        super().__init__(
            f"Content type {content_type} is not supported by this framework.\n\n"
            "Please implement input_fn to deserialize the request data or an output_fn to "
            "serialize the response."
        )


def default_accept() -> str:
    """The answer's type when ``Accept`` is missing or ``*/*`` (read per request)."""
    return os.environ.get("SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT") or JSON


class _RequestProcessor:
    def __init__(self, headers: dict[str, str]) -> None:
        self._headers = headers

    def get_request_properties(self) -> dict[str, str]:
        return self._headers

    def get_request_property(self, key: str) -> str | None:
        return self._headers.get(key)


class ServingContext:
    """What a hook's trailing ``context`` argument receives (the model server's context).

    Attributes:
        system_properties: ``model_dir`` and ``gpu_id`` (as the model server sets them).
        request_processor: One entry per request in the batch (always one here), whose
            ``get_request_properties()`` gives the request headers.
        custom_attributes: The request's ``X-Amzn-SageMaker-Custom-Attributes``.
        inference_id: The request's ``X-Amzn-SageMaker-Inference-Id``.
    """

    def __init__(self, model_dir: str) -> None:
        self.system_properties: dict[str, Any] = {"model_dir": model_dir, "gpu_id": None}
        self.manifest: dict[str, Any] = {}
        self.request_processor = [_RequestProcessor({})]
        self.custom_attributes: str | None = None
        self.inference_id: str | None = None
        self._response: dict[str, Any] = {}

    def set_request(self, headers: dict[str, str]) -> None:
        """Start a new request with these headers."""
        self.request_processor = [_RequestProcessor(dict(headers))]
        low = {k.lower(): v for k, v in headers.items()}
        self.custom_attributes = low.get("x-amzn-sagemaker-custom-attributes")
        self.inference_id = low.get("x-amzn-sagemaker-inference-id")
        self._response = {}

    def get_request_header(self, idx: int, key: str) -> str | None:
        """One header of request ``idx``."""
        props = self.request_processor[idx].get_request_properties()
        low = {k.lower(): v for k, v in props.items()}
        return low.get(key.lower())

    def set_response_content_type(self, idx: int, value: str) -> None:
        """Set the answer's ``Content-Type`` (as a hook may on the model server)."""
        self._response["content_type"] = value

    def set_response_status(self, code: int = 200, phrase: str = "") -> None:
        """Set the answer's status (as a hook may on the model server)."""
        self._response["status"] = int(code)

    def set_response_header(self, idx: int, key: str, value: str) -> None:
        """Add a header to the answer."""
        self._response.setdefault("headers", {})[key] = value


def _arity(func: Callable[..., Any]) -> int:
    """How many parameters ``func`` takes, cached per function (hooks are called on every
    request; ``inspect.signature`` cost about 6% of a small request's time)."""
    key = getattr(func, "__func__", func)
    try:
        return _ARITY[key]
    except (KeyError, TypeError):
        pass
    n = len(inspect.signature(func).parameters)
    try:
        _ARITY[key] = n
    except TypeError:  # an unhashable callable: not cached
        pass
    return n


_ARITY: weakref.WeakKeyDictionary[Any, int] = weakref.WeakKeyDictionary()


def call_hook(func: Callable[..., Any], args: tuple[Any, ...], context: Any) -> Any:
    """Call ``func(*args)``, or ``func(*args, context)`` when its signature takes one more.

    Raises:
        TypeError: the hook takes neither (the toolkit's message).
    """
    n = _arity(func)
    if n == len(args):
        return func(*args)
    if n == len(args) + 1:
        return func(*args, context)
    raise TypeError(
        f"{getattr(func, '__name__', func)} takes {n} arguments but {len(args)} were given."
    )


# -- the default decoder / encoder (sagemaker_inference.decoder / .encoder) ---------------
def decode(obj: Any, content_type: str) -> Any:
    """Decode a request body like ``sagemaker_inference.decoder.decode``.

    JSON of any shape (``numpy.array(json.loads(...))``), CSV by ``numpy.genfromtxt``
    (a single row gives a 1-D array), ``.npy`` (no pickles), ``.npz`` sparse matrices.

    Raises:
        UnsupportedFormatError: another content type.
    """
    import numpy as np

    if content_type == JSON:
        return np.array(json.loads(obj))
    if content_type == CSV:
        return np.genfromtxt(io.StringIO(obj), delimiter=",")
    if content_type == NPY:
        from smkit.serving.npy import load_npy

        return load_npy(bytes(obj))
    if content_type == NPZ:
        import scipy.sparse

        return scipy.sparse.load_npz(io.BytesIO(bytes(obj)))
    raise UnsupportedFormatError(content_type)


def _to_list(value: Any) -> Any:
    if hasattr(value, "tolist"):
        return value.tolist()
    return json.JSONEncoder().default(value)


def encode(array_like: Any, content_type: str) -> str | bytes:
    """Encode like ``sagemaker_inference.encoder.encode`` (JSON and CSV as ``str``).

    Raises:
        UnsupportedFormatError: a type other than JSON, CSV or ``.npy``.
    """
    import numpy as np

    if content_type == JSON:
        return json.dumps(array_like, default=_to_list)
    if content_type == CSV:
        stream = io.StringIO()
        np.savetxt(stream, array_like, delimiter=",", fmt="%s")
        return stream.getvalue()
    if content_type == NPY:
        buf = io.BytesIO()
        np.save(buf, array_like)
        return buf.getvalue()
    raise UnsupportedFormatError(content_type)


def parse_accept(accept: str) -> list[str]:
    """``"a/b, c/d"`` -> ``["a/b", "c/d"]`` (the toolkit ignores q-values)."""
    return accept.replace(" ", "").split(",")


def default_output_fn(prediction: Any, accept: str) -> tuple[str | bytes, str]:
    """The toolkit's default ``output_fn``: the first supported type of ``accept``.

    Raises:
        UnsupportedFormatError: no type of ``accept`` is supported.
    """
    for ctype in parse_accept(accept):
        if ctype in ENCODABLE:
            return encode(prediction, ctype), ctype
    raise UnsupportedFormatError(accept)


# -- answers ------------------------------------------------------------------------------
def _is_response_object(out: Any) -> bool:
    return hasattr(out, "get_data") and hasattr(out, "status_code") and hasattr(out, "mimetype")


def _body_bytes(out: Any) -> bytes:
    if isinstance(out, bytes | bytearray | memoryview):
        return bytes(out)
    if isinstance(out, str):
        return out.encode("utf-8")
    # the model server sends other objects as JSON
    return json.dumps(out, indent=2, default=_to_list).encode("utf-8")


def normalize_result(out: Any, accept: str) -> tuple[int, bytes, str, dict[str, str]]:
    """The ``(status, body, content_type, headers)`` the container sends for a hook result.

    ``out`` is what ``transform_fn`` (or the default one) returned: a body, a
    ``(body, content_type)`` tuple (smkit also takes a third item, sent back as
    ``X-Amzn-SageMaker-Custom-Attributes``), or a Flask/werkzeug ``Response``.
    """
    headers: dict[str, str] = {}
    if _is_response_object(out):
        ctype = out.headers.get("Content-Type") or out.mimetype or accept
        for k, v in out.headers.items():
            if k.lower() not in ("content-type", "content-length"):
                headers[k] = v
        return int(out.status_code), bytes(out.get_data()), str(ctype), headers
    ctype = accept
    if isinstance(out, tuple):
        if len(out) > 2 and out[2]:
            headers["X-Amzn-SageMaker-Custom-Attributes"] = str(out[2])
        out, ctype = out[0], out[1]
        if _is_response_object(out):
            return normalize_result(out, accept)
    return 200, _body_bytes(out), str(ctype), headers


def error_answer(exc: BaseException) -> tuple[int, bytes]:
    """The toolkit's answer to an exception: status (500 unless the exception carries an
    ``int`` ``status_code``) and ``"<message>\\n<traceback>"``."""
    status = getattr(exc, "status_code", None)
    if not isinstance(status, int) or not 400 <= status < 600:
        status = getattr(exc, "status", None)
    if not isinstance(status, int) or not 400 <= status < 600:
        status = 500
    message = getattr(exc, "message", None) if hasattr(exc, "status_code") else None
    text = str(message) if message else str(exc)
    trace = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    return status, f"{text}\n{trace}".encode("utf-8", "replace")
