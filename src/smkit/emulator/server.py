"""The emulator's HTTP server: one ASGI app on 127.0.0.1 in front of moto and the local engines.

Routing, per request:

1. ``GET /_smkit/health``: the emulator's own liveness answer.
2. The service of the SigV4 credential scope (``Credential=AKID/date/region/SERVICE/...``):
   ``sagemaker`` is signed by both the control plane and the runtime, so

   - ``POST /endpoints/<name>/invocations`` goes to the SageMaker Runtime (smkit's local
     gateway app, `smkit.backends.local.gateway.GatewayApp`, in this process);
   - a JSON 1.1 call with ``X-Amz-Target: SageMaker.<Op>`` goes to
     `smkit.emulator.sagemaker.SageMakerEmulator` (in a worker thread); an operation
     it does not implement answers 400 ``UnknownOperationException`` naming it.

3. ``lambda`` (REST JSON) goes to `smkit.emulator.lambdas.LambdaEmulator` and
   ``states`` (JSON 1.0, ``X-Amz-Target: AWSStepFunctions.<Op>``) to
   `smkit.emulator.stepfunctions.StepFunctionsEmulator`.
4. Everything else (S3, IAM, STS, CloudWatch Logs, unsigned requests) is forwarded byte for
   byte to a moto server on another loopback port, and moto's answer comes back unchanged.

Run as ``python -m smkit.emulator.server --root DIR [--port P]``; ``smkit emulator start``
does that as a daemon (`smkit.emulator.daemon`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import sys
import time
from pathlib import Path
from typing import Any

from smkit.emulator.protocol import EmulatorError, credential_scope, json_error

__all__ = ["EmulatorApp", "main", "serve"]

STATE_FILE = "emulator.json"
_INVOKE = re.compile(r"^/endpoints/([^/]+)/invocations$")
_HOP = {b"connection", b"keep-alive", b"transfer-encoding", b"content-length", b"upgrade"}


async def _read_body(receive: Any) -> bytes | None:
    chunks: list[bytes] = []
    while True:
        msg = await receive()
        if msg["type"] == "http.disconnect":
            return None
        chunks.append(msg.get("body", b""))
        if not msg.get("more_body", False):
            return b"".join(chunks)


async def _send(send: Any, status: int, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    hdrs = [*headers, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": hdrs})
    await send({"type": "http.response.body", "body": body})


class _SubLifespan:
    """Drives an inner ASGI app's lifespan (the runtime gateway's) from ours."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.task: asyncio.Task[Any] | None = None

    async def startup(self) -> None:
        self.task = asyncio.ensure_future(
            self.app({"type": "lifespan"}, self.inbox.get, self.outbox.put)
        )
        await self.inbox.put({"type": "lifespan.startup"})
        await self.outbox.get()

    async def shutdown(self) -> None:
        if self.task is None:
            return
        await self.inbox.put({"type": "lifespan.shutdown"})
        await asyncio.wait_for(self.outbox.get(), 10)
        await self.task


class EmulatorApp:
    """The emulator's ASGI app.

    Args:
        root: The emulator's state directory (the local engines' root is ``root/local``).
        moto_url: Base URL of the moto server that answers the proxied services.
        on_startup: Called once the app is ready to serve.
    """

    def __init__(self, root: str | Path, moto_url: str, on_startup: Any = None) -> None:
        from smkit.backends.local import LocalBackend
        from smkit.backends.local.gateway import GatewayApp
        from smkit.emulator.lambdas import LambdaEmulator
        from smkit.emulator.sagemaker import SageMakerEmulator
        from smkit.emulator.stepfunctions import StepFunctionsEmulator

        self.root = Path(root).resolve()
        self.moto_url = moto_url.rstrip("/")
        self.on_startup = on_startup
        self.backend = LocalBackend(self.root / "local", catalog_timeout=30.0)
        self.sagemaker = SageMakerEmulator(self.backend, self.moto_url, self.root)
        self.lambdas = LambdaEmulator(self.root, self.sagemaker.bridge)
        self.stepfunctions = StepFunctionsEmulator(self.lambdas, self.backend)
        self.gateway = GatewayApp(self.backend)
        self._gateway_life = _SubLifespan(self.gateway)
        self._client: Any = None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        path = scope["path"]
        if path == "/_smkit/health":
            body = json.dumps({"status": "ok", "moto": self.moto_url, "pid": os.getpid()})
            await _send(send, 200, body.encode(), [(b"content-type", b"application/json")])
            return
        query = scope.get("query_string", b"").decode("latin-1")
        cred = credential_scope(headers, query)
        service = cred[1] if cred else None
        region = cred[0] if cred else "us-east-1"
        if service == "sagemaker":
            m = _INVOKE.match(path)
            if m and scope["method"] == "POST":
                from urllib.parse import unquote

                name = unquote(m.group(1))
                pipeline = self.sagemaker.pipeline_of(name)
                if pipeline:
                    await self._invoke_pipeline(scope, receive, send, name, pipeline)
                    return
                self.sagemaker.note_invocation(name)
                await self.gateway(scope, receive, send)
                return
            target = headers.get("x-amz-target", "")
            body = await _read_body(receive)
            if body is None:
                return
            await self._control_plane(send, target, body, region)
            return
        if service == "states":
            body = await _read_body(receive)
            if body is None:
                return
            await self._json_rpc(
                send, "AWSStepFunctions", self.stepfunctions.dispatch,
                headers.get("x-amz-target", ""), body, region, "1.0",
            )
            return
        if service == "lambda":
            from starlette.concurrency import run_in_threadpool

            body = await _read_body(receive)
            if body is None:
                return
            status, out_headers, out = await run_in_threadpool(
                self.lambdas.handle, scope["method"], path, headers, body, region
            )
            hdrs = [(k.lower().encode(), v.encode("latin-1")) for k, v in out_headers.items()]
            await _send(send, status, out, hdrs)
            return
        await self._proxy(scope, receive, send)

    async def _invoke_pipeline(
        self, scope: dict[str, Any], receive: Any, send: Any, name: str, pipeline: list[str]
    ) -> None:
        """InvokeEndpoint on a serial inference pipeline: each container's answer is the next
        one's request (its Content-Type too); the last one gets the caller's Accept."""
        from starlette.concurrency import run_in_threadpool

        from smkit.backends.local.runtime_errors import model_error_body

        body = await _read_body(receive)
        if body is None:
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        ctype = headers.get("content-type", "application/octet-stream")
        accept = headers.get("accept")

        def urls() -> list[tuple[str, str]]:
            out = []
            for local in pipeline:
                data = self.backend.describe_endpoint(local)
                out.append((str(data.get("Url") or ""), str(data.get("VariantName") or "")))
            return out

        json_ct = [(b"content-type", b"application/json")]
        try:
            targets = await run_in_threadpool(urls)
        except Exception:
            targets = []
        if not targets or any(not u for u, _ in targets):
            msg = f"Endpoint {name} of account 000000000000 not found."
            err = json_error("ValidationError", msg, Message=msg)
            await _send(send, 400, err, [*json_ct, (b"x-amzn-errortype", b"ValidationError")])
            return
        variant = targets[0][1] or "AllTraffic"
        for i, (url, _) in enumerate(targets):
            out_headers = {"Content-Type": ctype}
            if accept and i == len(targets) - 1:
                out_headers["Accept"] = accept
            try:
                resp = await self._client.post(
                    url + "/invocations", content=body, headers=out_headers
                )
            except Exception as exc:
                await _send(
                    send, 503, json_error("ServiceUnavailable", f"container {i}: {exc}"), json_ct
                )
                return
            if resp.status_code >= 300:
                doc = model_error_body(name, resp.status_code, resp.content)
                await _send(
                    send, 424, json.dumps(doc).encode(),
                    [*json_ct, (b"x-amzn-errortype", b"ModelError")],
                )
                return
            body = resp.content
            ctype = resp.headers.get("content-type", "application/octet-stream")
        await _send(
            send, 200, body,
            [(b"content-type", ctype.encode()),
             (b"x-amzn-invoked-production-variant", variant.encode())],
        )

    async def _lifespan(self, receive: Any, send: Any) -> None:
        while True:
            msg = await receive()
            if msg["type"] == "lifespan.startup":
                import httpx

                self._client = httpx.AsyncClient(timeout=120.0, trust_env=False)
                await self._gateway_life.startup()
                self.sagemaker.start()
                if self.on_startup:
                    self.on_startup()
                await send({"type": "lifespan.startup.complete"})
            elif msg["type"] == "lifespan.shutdown":
                self.sagemaker.shutdown()
                await self._gateway_life.shutdown()
                if self._client is not None:
                    await self._client.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _control_plane(self, send: Any, target: str, body: bytes, region: str) -> None:
        await self._json_rpc(send, "SageMaker", self.sagemaker.dispatch, target, body, region)

    async def _json_rpc(
        self,
        send: Any,
        prefix: str,
        dispatch: Any,
        target: str,
        body: bytes,
        region: str,
        version: str = "1.1",
    ) -> None:
        """An AWS JSON protocol call (``X-Amz-Target: <prefix>.<Op>``) in a worker thread."""
        from starlette.concurrency import run_in_threadpool

        ctype = [(b"content-type", f"application/x-amz-json-{version}".encode())]
        given, _, op = target.partition(".")
        try:
            if given != prefix or not op:
                raise EmulatorError(
                    "UnknownOperationException",
                    f"X-Amz-Target {target!r} names no {prefix} operation",
                )
            try:
                params = json.loads(body or b"{}")
            except ValueError:
                raise EmulatorError("SerializationException", "the body is not JSON") from None
            if not isinstance(params, dict):
                raise EmulatorError("SerializationException", "the body is not a JSON object")
            result = await run_in_threadpool(dispatch, op, params, region)
        except EmulatorError as exc:
            err = [*ctype, (b"x-amzn-errortype", exc.code.encode())]
            await _send(send, exc.status, json_error(exc.code, exc.message, **exc.extra), err)
            return
        except Exception as exc:  # a bug: answer like a service fault, never hang
            code = "InternalFailure"
            err = [*ctype, (b"x-amzn-errortype", code.encode())]
            await _send(send, 500, json_error(code, f"{type(exc).__name__}: {exc}"), err)
            return
        await _send(send, 200, json.dumps(result).encode(), ctype)

    async def _proxy(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        body = await _read_body(receive)
        if body is None:
            return
        raw_path = scope.get("raw_path") or scope["path"].encode()
        url = self.moto_url + raw_path.decode("latin-1")
        qs = scope.get("query_string", b"")
        if qs:
            url += "?" + qs.decode("latin-1")
        headers = [
            (k, v) for k, v in scope["headers"] if k.lower() not in _HOP and k.lower() != b"expect"
        ]
        try:
            req = self._client.build_request(scope["method"], url, headers=headers, content=body)
            resp = await self._client.send(req, stream=True)
            try:
                content = b"".join([chunk async for chunk in resp.aiter_raw()])
            finally:
                await resp.aclose()
        except Exception as exc:
            await _send(
                send,
                503,
                json_error("ServiceUnavailable", f"moto did not answer: {exc}"),
                [(b"content-type", b"application/json")],
            )
            return
        if _is_unimplemented_page(
            scope["method"], resp.status_code, resp.headers.get("content-type", ""), content
        ):
            # moto's answer to an action it does not implement: answer as AWS does for an
            # unknown action instead of an HTML page
            status, body_out, hdrs = unknown_action(scope, body)
            await _send(send, status, body_out, hdrs)
            return
        out = [
            (k.encode("latin-1"), v.encode("latin-1"))
            for k, v in resp.headers.multi_items()
            if k.lower().encode() not in _HOP
        ]
        await _send(send, resp.status_code, content, out)


def _is_unimplemented_page(method: str, status: int, content_type: str, content: bytes) -> bool:
    """Whether moto answered that it does not implement the action.

    moto's services answer in XML or JSON. An action it does not know gets ``text/html``
    instead: an HTML error page with status 500 (a JSON-protocol action without a handler)
    or an empty 404 (a query-protocol ``Action`` it does not know, moto 5.2.6). An answer
    to ``HEAD`` is never one of these: moto labels bodiless answers ``text/html`` too, and
    S3 ``HeadBucket`` on a missing bucket (404) must pass through unchanged.
    """
    if method == "HEAD" or status not in (404, 500) or not content_type.startswith("text/html"):
        return False
    head = content.lstrip()[:64].lower()
    return not head or head.startswith((b"<!doctype html", b"<html"))


def unknown_action(
    scope: dict[str, Any], body: bytes
) -> tuple[int, bytes, list[tuple[bytes, bytes]]]:
    """AWS's answer to an action the service (here: moto) does not know, naming it.

    JSON protocols (``X-Amz-Target``) get ``UnknownOperationException``; query protocols
    (``Action=`` in the form body or the query string) and REST calls ``InvalidAction``.
    """
    from urllib.parse import parse_qs
    from xml.sax.saxutils import escape

    headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
    target = headers.get("x-amz-target")
    if target:
        op = target.rsplit(".", 1)[-1]
        message = f"The operation {op} is not supported by the smkit emulator (nor by moto)"
        return (
            400,
            json_error("UnknownOperationException", message),
            [
                (b"content-type", b"application/x-amz-json-1.1"),
                (b"x-amzn-errortype", b"UnknownOperationException"),
            ],
        )
    form = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    if not form.get("Action") and body:
        try:
            form = parse_qs(body.decode("utf-8"))
        except UnicodeDecodeError:
            form = {}
    op = (form.get("Action") or [f"{scope['method']} {scope['path']}"])[0]
    message = escape(
        f"The action {op} is not valid for this web service (not supported by the smkit "
        "emulator, nor by moto)."
    )
    xml = (
        "<ErrorResponse><Error><Type>Sender</Type><Code>InvalidAction</Code>"
        f"<Message>{message}</Message></Error><RequestId>smkit-emulator</RequestId>"
        "</ErrorResponse>"
    )
    return 400, xml.encode(), [(b"content-type", b"text/xml")]


def serve(root: str | Path, port: int = 0, host: str = "127.0.0.1") -> int:
    """Run the emulator (moto on a free loopback port, the app on ``port``) until SIGTERM."""
    import socket

    import uvicorn

    from smkit.serving.spec import is_loopback
    from smkit.testing.moto import FAKE_CREDENTIALS, MotoServer

    if not is_loopback(host):
        raise SystemExit("the emulator binds loopback addresses only")
    root = Path(root).resolve()
    root.mkdir(parents=True, exist_ok=True)
    for key, value in FAKE_CREDENTIALS.items():  # the emulator's own calls to moto
        os.environ.setdefault(key, value)
    import logging

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's per-request lines
    moto = MotoServer().start()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    real_port = sock.getsockname()[1]
    url = f"http://{host}:{real_port}"
    state = root / STATE_FILE

    def started() -> None:
        doc = {
            "pid": os.getpid(),
            "url": url,
            "port": real_port,
            "moto_url": moto.url,
            "root": str(root),
            "started": time.time(),
        }
        tmp = state.with_suffix(".tmp")
        tmp.write_text(json.dumps(doc))
        os.replace(tmp, state)
        print(f"smkit emulator serving at {url} (pid {os.getpid()}, moto {moto.url})", flush=True)

    app = EmulatorApp(root, moto.url, on_startup=started)
    server = uvicorn.Server(
        uvicorn.Config(app, lifespan="on", log_level="warning", access_log=False)
    )
    try:
        server.run(sockets=[sock])
    finally:
        moto.stop()
        try:
            if json.loads(state.read_text()).get("pid") == os.getpid():
                state.unlink()
        except (OSError, ValueError):
            pass
    return 0


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point (``python -m smkit.emulator.server``)."""
    parser = argparse.ArgumentParser(prog="python -m smkit.emulator.server")
    parser.add_argument("--root", required=True, help="the emulator's state directory")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: any free)")
    args = parser.parse_args(argv)
    return serve(args.root, args.port)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
