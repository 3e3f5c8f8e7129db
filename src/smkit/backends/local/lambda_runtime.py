"""A local stand-in for the AWS Lambda runtime: context object, timeout, error shapes.

`invoke` runs a handler ``(event, context)`` in a worker thread, the way Lambda runs
it: the event is a JSON copy, the context's ``get_remaining_time_in_millis()`` counts down
from the function's timeout (wall clock), and when the timeout passes the invocation is
stopped. Stopping is done by raising `LambdaTimeout` inside the worker thread
(``PyThreadState_SetAsyncExc``), which interrupts Python code at its next bytecode; code
blocked inside a C call stops when the call returns, and its result is discarded either way.

Errors come back shaped like Lambda's ``FunctionError`` payloads
(``{"errorMessage", "errorType", "requestId", "stackTrace"}``), so Step Functions semantics
(the error name is ``errorType``, the cause is the JSON payload) follow.
"""

from __future__ import annotations

import ctypes
import json
import os
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from contextlib import contextmanager
from typing import Any

__all__ = ["LambdaContext", "LambdaFunctionError", "LambdaTimeout", "invoke"]

_ENV_LOCK = threading.RLock()


class LambdaTimeout(Exception):  # noqa: N818 - the name Lambda uses
    """Raised inside a handler's thread when its time is up; and by `invoke`."""


class LambdaFunctionError(Exception):
    """The handler raised: ``payload`` is Lambda's error payload, ``error_type`` its type."""

    def __init__(self, payload: dict[str, Any]) -> None:
        self.payload = payload
        self.error_type = str(payload.get("errorType", "Exception"))
        super().__init__(f"{self.error_type}: {payload.get('errorMessage', '')}")


class LambdaContext:
    """The ``context`` argument of a handler (attributes as on AWS Lambda).

    Args:
        function_name: The function's name.
        timeout: Seconds the invocation may run.
        memory_limit_in_mb: Configured memory.
        region: Region used in the ARN.
        account: Account used in the ARN.
        clock: Monotonic clock (seconds); ``time.monotonic`` by default.
    """

    def __init__(
        self,
        function_name: str,
        *,
        timeout: float,
        memory_limit_in_mb: int = 128,
        region: str = "us-east-1",
        account: str = "123456789012",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:{region}:{account}:function:{function_name}"
        self.memory_limit_in_mb = int(memory_limit_in_mb)
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = time.strftime("%Y/%m/%d/[$LATEST]") + uuid.uuid4().hex
        self.identity = None
        self.client_context = None
        self.timeout = float(timeout)
        self._clock = clock
        self._deadline = clock() + self.timeout

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds left before the invocation is stopped (never negative)."""
        return max(0, int((self._deadline - self._clock()) * 1000))

    def __repr__(self) -> str:
        return f"LambdaContext(function_name={self.function_name!r}, timeout={self.timeout:g})"


def _async_raise(thread: threading.Thread, exc_type: type[BaseException]) -> None:
    ident = thread.ident
    if ident is None:
        return
    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(ident), ctypes.py_object(exc_type))


@contextmanager
def _environment(env: dict[str, str]) -> Any:
    if not env:
        yield
        return
    with _ENV_LOCK:
        saved = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        try:
            yield
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


def _error_payload(exc: BaseException, request_id: str) -> dict[str, Any]:
    return {
        "errorMessage": str(exc),
        "errorType": type(exc).__name__,
        "requestId": request_id,
        "stackTrace": traceback.format_exception(exc)[1:],
    }


def invoke(
    handler: Callable[[Any, Any], Any],
    event: Any,
    *,
    function_name: str,
    timeout: float = 3.0,
    memory: int = 128,
    environment: dict[str, str] | None = None,
    region: str = "us-east-1",
    account: str = "123456789012",
) -> Any:
    """Run ``handler(event, context)`` as Lambda would and return its (JSON) result.

    Raises:
        LambdaTimeout: the handler ran past ``timeout`` seconds.
        LambdaFunctionError: the handler raised, or returned something not JSON-serialisable
            (``Runtime.MarshalError``).
    """
    context = LambdaContext(
        function_name, timeout=timeout, memory_limit_in_mb=memory, region=region, account=account
    )
    payload = json.loads(json.dumps(event))
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["result"] = handler(payload, context)
        except LambdaTimeout:
            box["timeout"] = True
        except BaseException as exc:
            box["error"] = exc

    with _environment(dict(environment or {})):
        thread = threading.Thread(target=target, name=f"lambda-{function_name}", daemon=True)
        thread.start()
        thread.join(timeout)
        if thread.is_alive():
            _async_raise(thread, LambdaTimeout)
            thread.join(0.5)
            raise LambdaTimeout(
                f"Task timed out after {timeout:.2f} seconds (function {function_name!r})"
            )
    if "error" in box:
        raise LambdaFunctionError(_error_payload(box["error"], context.aws_request_id))
    if box.get("timeout"):
        raise LambdaTimeout(f"Task timed out after {timeout:.2f} seconds")
    result = box.get("result")
    if isinstance(result, bytes | bytearray):
        # the Python runtime sends bytes as the response payload itself (no JSON encoding);
        # the caller sees it parsed when it is JSON text, as a string otherwise
        text = bytes(result).decode("utf-8", errors="replace")
        try:
            return json.loads(text)
        except ValueError:
            return text
    try:
        return json.loads(json.dumps(result))
    except (TypeError, ValueError) as exc:
        raise LambdaFunctionError(
            {
                "errorMessage": f"Unable to marshal response: {exc}",
                "errorType": "Runtime.MarshalError",
                "requestId": context.aws_request_id,
            }
        ) from None
