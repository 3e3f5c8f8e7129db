"""A local SageMaker Runtime: the InvokeEndpoint API in front of the local endpoints.

Run as ``python -m smkit.backends.local.gateway --root ROOT [--daemon]`` (or let
``backend.gateway()`` / ``smkit endpoints gateway`` start it on demand). It records itself
in the catalog (kind ``gateway``, name ``local``) with its ``Pid``, ``Port`` and ``Url``, so
code written for SageMaker runs unchanged against local endpoints:

    boto3.client("sagemaker-runtime", endpoint_url=url).invoke_endpoint(
        EndpointName="wine", ContentType="text/csv", Body=b"...")

Route: ``POST /endpoints/{EndpointName}/invocations``. Request headers passed on:
``Content-Type``, ``Accept``, ``X-Amzn-SageMaker-Custom-Attributes``,
``X-Amzn-SageMaker-Inference-Id``. Response headers: ``Content-Type``,
``x-Amzn-Invoked-Production-Variant``, ``X-Amzn-SageMaker-Custom-Attributes`` (when the
model set it), ``x-amzn-RequestId``. Errors use SageMaker Runtime's shapes (rest-json, the
code in ``x-amzn-ErrorType`` and the body):

- unknown or not-in-service endpoint: 400 ``ValidationError``
  ("Endpoint NAME of account 000000000000 not found.");
- body over 6 MB: 413 ``ValidationError``;
- the container answered an error (500 for a model error): 424 ``ModelError`` with
  ``OriginalStatusCode``, ``OriginalMessage`` and ``LogStreamArn``;
- the container is unreachable: 503 ``ServiceUnavailable``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import uuid
from typing import Any

__all__ = ["GatewayApp", "main"]

MAX_BODY = 6 * 1024 * 1024
#: Requests forwarded at once (and upstream connections kept). More wait in a FIFO queue in
#: front of the HTTP client: httpx's pool rescans every waiting request on each release, so
#: a thousand waiters inside it cost minutes (a cold burst of 1,000 timed out every client).
UPSTREAM_CONCURRENCY = 64
#: Seconds a request may wait for a forwarding slot before a 503 (it is not forwarded later).
QUEUE_TIMEOUT = 30.0
_PASS_IN = {
    b"content-type": "Content-Type",
    b"accept": "Accept",
    b"x-amzn-sagemaker-custom-attributes": "X-Amzn-SageMaker-Custom-Attributes",
    b"x-amzn-sagemaker-inference-id": "X-Amzn-SageMaker-Inference-Id",
    b"authorization": "Authorization",
}


def _error(status: int, code: str, message: str, **extra: Any) -> tuple[int, bytes, list]:
    body = {"__type": code, "code": code, "message": message, "Message": message, **extra}
    headers = [(b"content-type", b"application/json"), (b"x-amzn-errortype", code.encode())]
    return status, json.dumps(body).encode(), headers


class GatewayApp:
    """ASGI app routing SageMaker Runtime calls to local endpoints.

    Args:
        backend: A `LocalBackend` (endpoint lookups).
        on_startup: Called once the server is ready.
        cache_ttl: Seconds an endpoint's URL is cached.
        auth_sha256: Hex SHA-256 of the bearer token every route but ``/ping`` requires.
    """

    def __init__(
        self,
        backend: Any,
        on_startup: Any = None,
        cache_ttl: float = 2.0,
        auth_sha256: str | None = None,
    ) -> None:
        self.backend = backend
        self.auth_sha256 = auth_sha256
        self.on_startup = on_startup
        self.cache_ttl = cache_ttl
        self._urls: dict[str, tuple[float, str, str]] = {}
        self._client: Any = None
        self._slots: Any = None
        self.abandoned = 0  # requests whose caller left while they waited: never forwarded
        self.throttled = 0  # requests answered 503 after QUEUE_TIMEOUT in the queue

    def _lookup(self, name: str, fresh: bool = False) -> tuple[str, str] | None:
        hit = self._urls.get(name)
        if hit and not fresh and time.monotonic() - hit[0] < self.cache_ttl:
            return hit[1], hit[2]
        from smkit.errors import ResourceNotFoundError

        try:
            data = self.backend.describe_endpoint(name)
        except ResourceNotFoundError:
            return None
        if data.get("EndpointStatus") != "InService" or not data.get("Url"):
            self._urls.pop(name, None)
            return None
        entry = (time.monotonic(), str(data["Url"]), str(data.get("VariantName") or "AllTraffic"))
        self._urls[name] = entry
        return entry[1], entry[2]

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                msg = await receive()
                if msg["type"] == "lifespan.startup":
                    import asyncio

                    from smkit.backends.local.upstream import UpstreamPool

                    self._slots = asyncio.Semaphore(UPSTREAM_CONCURRENCY)
                    self._client = UpstreamPool(timeout=65.0, max_idle=UPSTREAM_CONCURRENCY)
                    if self.on_startup:
                        self.on_startup()
                    await send({"type": "lifespan.startup.complete"})
                elif msg["type"] == "lifespan.shutdown":
                    if self._client is not None:
                        await self._client.aclose()
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        request_id = str(uuid.uuid4())
        path, method = scope["path"], scope["method"]
        parts = path.strip("/").split("/")
        if path == "/ping":
            await _send(send, 200, b"", [], request_id)
            return
        if self.auth_sha256:
            from smkit.backends.local.endpoint_server import authorized

            if not authorized(scope, self.auth_sha256):
                await _send(
                    send,
                    *_error(401, "UnrecognizedClientException", "missing or wrong bearer token"),
                    request_id,
                )
                return
        if len(parts) != 3 or parts[0] != "endpoints" or parts[2] != "invocations":
            await _send(
                send, *_error(404, "UnknownOperationException", f"no route {path}"), request_id
            )
            return
        if method != "POST":
            await _send(send, *_error(405, "MethodNotAllowed", f"{method} {path}"), request_id)
            return
        from urllib.parse import unquote

        name = unquote(parts[1])
        chunks: list[bytes] = []
        size, more = 0, True
        while more:
            msg = await receive()
            if msg["type"] == "http.disconnect":
                return
            chunks.append(msg.get("body", b""))
            size += len(chunks[-1])
            more = msg.get("more_body", False)
            if size > MAX_BODY:
                await _send(
                    send,
                    *_error(
                        413,
                        "ValidationError",
                        f"Request payload of {size}+ bytes exceeds the {MAX_BODY} byte limit.",
                    ),
                    request_id,
                )
                return
        body = b"".join(chunks)
        headers = {_PASS_IN[k]: v.decode("latin-1") for k, v in scope["headers"] if k in _PASS_IN}
        found = self._lookup(name)
        if found is None:
            await _send(
                send,
                *_error(
                    400, "ValidationError", f"Endpoint {name} of account 000000000000 not found."
                ),
                request_id,
            )
            return
        from smkit.backends.local.upstream import UpstreamError

        slot = await self._acquire(receive)
        if slot == "gone":
            return
        if slot == "busy":
            await _send(
                send,
                *_error(
                    503,
                    "ServiceUnavailable",
                    f"the gateway is at its {UPSTREAM_CONCURRENCY} forwarded requests and this "
                    f"one waited {QUEUE_TIMEOUT:g}s; retry",
                ),
                request_id,
            )
            return
        resp = None
        try:
            for attempt in range(2):
                url, variant = found
                try:
                    resp = await self._client.post(
                        url + "/invocations", content=body, headers=headers
                    )
                    break
                except UpstreamError:
                    found = self._lookup(name, fresh=True)
                    if found is None or attempt == 1:
                        break
        finally:
            self._slots.release()
        if resp is None:
            if found is None:
                status = self.backend.describe_endpoint(name).get("EndpointStatus")
                await _send(
                    send,
                    *_error(400, "ValidationError", f"Endpoint {name} is {status}, not InService."),
                    request_id,
                )
            else:
                await _send(
                    send,
                    *_error(503, "ServiceUnavailable", f"Endpoint {name} did not answer."),
                    request_id,
                )
            return
        if resp.status_code >= 300:
            from smkit.backends.local.runtime_errors import model_error_body

            doc = model_error_body(name, resp.status_code, resp.content)
            hdrs = [(b"content-type", b"application/json"), (b"x-amzn-errortype", b"ModelError")]
            await _send(send, 424, json.dumps(doc).encode(), hdrs, request_id)
            return
        out_headers = [
            (
                b"content-type",
                resp.headers.get("content-type", "application/octet-stream").encode(),
            ),
            (b"x-amzn-invoked-production-variant", variant.encode()),
        ]
        custom = resp.headers.get("x-amzn-sagemaker-custom-attributes")
        if custom is not None:
            out_headers.append((b"x-amzn-sagemaker-custom-attributes", custom.encode("latin-1")))
        await _send(send, 200, resp.content, out_headers, request_id)

    async def _acquire(self, receive: Any) -> str:
        """A forwarding slot: ``"ok"``, ``"gone"`` (the caller disconnected while waiting:
        the request is dropped, not forwarded late) or ``"busy"`` (waited too long)."""
        import asyncio

        slots = self._slots
        if not slots.locked():
            await slots.acquire()
            return "ok"
        gone = asyncio.ensure_future(receive())  # the body is read: next is a disconnect
        get = asyncio.ensure_future(slots.acquire())
        try:
            await asyncio.wait({gone, get}, timeout=QUEUE_TIMEOUT, return_when="FIRST_COMPLETED")
        finally:
            if not gone.done():
                gone.cancel()
            if not get.done():
                get.cancel()
        if get.done() and not get.cancelled():
            if gone.done() and not gone.cancelled():
                slots.release()
                self.abandoned += 1
                return "gone"
            return "ok"
        if gone.done() and not gone.cancelled():
            self.abandoned += 1
            return "gone"
        self.throttled += 1
        return "busy"


async def _send(send: Any, status: int, body: bytes, headers: list, request_id: str) -> None:
    hdrs = [
        *headers,
        (b"x-amzn-requestid", request_id.encode()),
        (b"content-length", str(len(body)).encode()),
    ]
    await send({"type": "http.response.start", "status": status, "headers": hdrs})
    await send({"type": "http.response.body", "body": body})


def serve(root: str, host: str = "127.0.0.1") -> int:
    """Serve the gateway for the local root ``root`` on ``host``; returns an exit code."""
    import psutil
    import uvicorn

    from smkit.backends.local import LocalBackend
    from smkit.backends.local.endpoint_server import _free_socket, client_url
    from smkit.backends.local.serving import GATEWAY_NAME, GATEWAY_TOKEN_ENV
    from smkit.errors import ResourceNotFoundError

    backend = LocalBackend(root)
    catalog = backend.catalog
    sock = _free_socket(host)
    port = sock.getsockname()[1]
    url = client_url(host, port)
    digest = os.environ.pop(GATEWAY_TOKEN_ENV, None) or None

    def started() -> None:
        try:
            rec = catalog.describe("gateway", GATEWAY_NAME)
            if rec.status != "Deleted":
                catalog.delete("gateway", GATEWAY_NAME, reason="replaced by a new gateway")
        except ResourceNotFoundError:
            pass
        data = {
            "Url": url,
            "Port": port,
            "Pid": os.getpid(),
            "ProcessStartTime": psutil.Process().create_time(),
            "Host": host,
            "AuthTokenSha256": digest,
        }
        catalog.create("gateway", GATEWAY_NAME, data, status="InService")
        print(f"gateway in service at {url} (pid {os.getpid()})", flush=True)

    from smkit.backends.local.http_guard import raise_fd_limit, uvicorn_options

    raise_fd_limit()
    app = GatewayApp(backend, on_startup=started, auth_sha256=digest)
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            lifespan="on",
            log_level="warning",
            access_log=False,
            **uvicorn_options(),  # bounded heads, head/body timeouts, a connection cap (503)
        )
    )
    try:
        server.run(sockets=[sock])
    finally:
        try:
            rec = catalog.describe("gateway", GATEWAY_NAME)
            if rec.status == "InService" and rec.data.get("Pid") == os.getpid():
                catalog.delete("gateway", GATEWAY_NAME, reason="gateway stopped")
        except ResourceNotFoundError:
            pass
    return 0


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(prog="python -m smkit.backends.local.gateway")
    parser.add_argument("--root", required=True, help="the local backend's root")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind")
    parser.add_argument("--daemon", action="store_true", help="fork and return at once")
    args = parser.parse_args(argv)
    if args.daemon and os.fork() > 0:
        os._exit(0)
    return serve(args.root, args.host)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
