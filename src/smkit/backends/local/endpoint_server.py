"""The local endpoint server: one process per endpoint, outliving the process that made it.

Run as ``python -m smkit.backends.local.endpoint_server --root ROOT --name NAME [--daemon]``.
It reads the endpoint, its endpoint config and its model from the catalog, verifies the
artifact's SHA-256 (when recorded), extracts ``model.tar.gz`` safely (``filter="data"``),
loads the handler, binds a free port on 127.0.0.1 and records ``InService`` with its
``Pid``, ``Port`` and ``Url``. A start-up failure records ``Failed`` with the reason.

HTTP stack: a plain ASGI application on uvicorn with httptools and uvloop. On this
project's 2-core benchmark (``benchmarks/serving.py``) it matches a minimal Starlette app
serving the same model and is about 3x the stdlib ``ThreadingHTTPServer``; the stack is
maintained and standard, and two routes need no router.

Routes (SageMaker's container contract, FORMATS.md §5):

- ``GET /ping``: 200, empty body;
- ``POST /invocations``: body ≤ 5 MB; ``Content-Type``, ``Accept``,
  ``X-Amzn-SageMaker-Custom-Attributes`` and ``X-Amzn-SageMaker-Inference-Id`` honoured;
  413 when the body is too large, 400 when it is empty; otherwise the answer is the
  inference toolkit's (`smkit.backends.local.toolkit`): an exception in the model or a
  hook answers 500 with its message and traceback, as the container does (the Runtime API,
  here the gateway and the predictor's transport, reports it as 424 ``ModelError`` with
  ``OriginalStatusCode``);
- ``POST /_smkit/flush``: returns once every captured request so far is in the store
  (with several workers, every worker's).

Model-server variables, read as the inference toolkit reads them (`model_server_settings`):

- ``SAGEMAKER_MODEL_SERVER_WORKERS=N``: N worker processes behind the one port
  (`smkit.backends.local.workers`); unset, one per CPU, as the toolkit's model server
  starts (on this project's 2-core benchmark two workers answer about 1.7x what one does);
  ``1`` serves from this one process;
- ``SAGEMAKER_MODEL_SERVER_TIMEOUT`` (default 60 s, the toolkit's
  ``DEFAULT_MODEL_SERVER_TIMEOUT``, written to MMS's ``default_response_timeout``): a
  prediction running longer answers 500 ``WorkerTimeout`` and other requests go on. What
  the model server does was read in MMS's frontend ``WorkerThread`` (public code): it polls
  the backend's reply for ``responseTimeout`` seconds, then throws "Backend worker did not
  respond in given time", answers the pending request ``sendError(req, "Worker died.",
  status)`` with ``status`` = 500 ``INTERNAL_SERVER_ERROR`` (507 only when the worker was
  OOM-killed), and restarts the worker with a back-off. smkit answers the same status
  (the gateway turns it into 424 ``ModelError``) but cannot stop the prediction's thread,
  which finishes in the background. With the variable unset, small requests are predicted
  inline in the event loop (not interruptible) and only large ones get the 60 s bound.

Shutdown (SIGTERM, SIGINT or the idle timeout) stops accepting connections, finishes
in-flight requests, then drains the capture queue. After an idle timeout the server
deletes its endpoint, endpoint config and model records, saying why.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import sys
import tarfile
import time
import traceback
from pathlib import Path
from typing import Any

__all__ = ["EndpointApp", "main", "prepare_model"]

MAX_BODY = 5 * 1024 * 1024
INLINE_BODY = 64 * 1024  # larger requests run in a worker thread
_JSON = [(b"content-type", b"application/json")]
_EMPTY = [(b"content-length", b"0")]


def _error(status: int, code: str, message: str) -> tuple[int, bytes]:
    return status, json.dumps({"code": code, "message": message}).encode()


class EndpointApp:
    """The ASGI application serving one model.

    Args:
        handler: A callable ``(body, content_type, accept) -> (body, content_type, headers)``.
        variant: Production variant name (sent back as ``X-Amzn-Invoked-Production-Variant``).
        capture: A `CaptureWriter` or ``None``.
        idle_timeout: Seconds without invocations before `idle_expired` is set and
            ``on_idle`` is called.
        on_startup: Called (in the event loop) once the server is ready.
        on_idle: Called when the idle timeout expires.
        auth_sha256: Hex SHA-256 of the bearer token every route but ``/ping`` requires
            (``None``: no token).
        timeout: Seconds a prediction may take (``SAGEMAKER_MODEL_SERVER_TIMEOUT``): a
            prediction running longer answers 500 ``WorkerTimeout`` while other requests go
            on (`predict_timeout`).
        timeout_all: Run every prediction in a worker thread under ``timeout`` (the
            variable is set); otherwise small requests are predicted inline in the event
            loop (not interruptible) and only large ones get the timeout.
        peers: Unix socket paths of the sibling worker processes, whose capture queues
            ``/_smkit/flush`` drains too (several workers).
        worker_pid: Sent back as ``X-Smkit-Worker-Pid`` (several workers; ``None``: no header).
        on_request: Called at each invocation (several workers: the shared idle clock).
    """

    def __init__(
        self,
        handler: Any,
        *,
        variant: str = "AllTraffic",
        capture: Any = None,
        idle_timeout: float | None = None,
        on_startup: Any = None,
        on_idle: Any = None,
        auth_sha256: str | None = None,
        timeout: float | None = None,
        timeout_all: bool = False,
        peers: list[str] | None = None,
        worker_pid: int | None = None,
        on_request: Any = None,
    ) -> None:
        self.handler = handler
        self.timeout = timeout
        self.timeout_all = timeout_all and timeout is not None
        self.peers = list(peers or [])
        self.on_request = on_request
        self.worker_header = (
            None if worker_pid is None else (b"x-smkit-worker-pid", str(worker_pid).encode())
        )
        self.auth_sha256 = auth_sha256
        self.unauthorized = 0
        self.variant_header = (b"x-amzn-invoked-production-variant", variant.encode())
        self.capture = capture
        self.idle_timeout = idle_timeout
        self.on_startup = on_startup
        self.on_idle = on_idle
        self.last_request = time.monotonic()
        self.idle_expired = False
        self.requests = 0
        self._watch: asyncio.Task[None] | None = None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        kind = scope["type"]
        if kind == "http":
            path, method = scope["path"], scope["method"]
            if self.auth_sha256 and path != "/ping" and not authorized(scope, self.auth_sha256):
                self.unauthorized += 1
                await _respond(send, *UNAUTHORIZED, [*_JSON, _CHALLENGE])
                return
            if path == "/invocations" and method == "POST":
                await self._invocations(scope, receive, send)
            elif path == "/ping" and method in ("GET", "HEAD"):
                # an explicit length: HTTP/1.0 clients otherwise wait for the close
                await send({"type": "http.response.start", "status": 200, "headers": _EMPTY})
                await send({"type": "http.response.body", "body": b""})
            elif path == "/_smkit/flush" and method == "POST":
                ok = True
                stats: dict[str, Any] = {}
                if self.capture is not None:
                    loop = asyncio.get_running_loop()
                    ok = await loop.run_in_executor(None, self.capture.flush, 60.0)
                    stats = self.capture.stats()
                from_peer = _header(scope, b"x-smkit-local") is not None
                if self.peers and not from_peer:
                    # several workers: each holds its own queue; drain the siblings' too
                    auth = _header(scope, b"authorization")
                    answers = await asyncio.gather(
                        *(_flush_peer(path, auth) for path in self.peers)
                    )
                    every = [stats, *(a[1].get("stats") or {} for a in answers)]
                    ok = ok and all(code == 200 for code, _ in answers)
                    stats = {"Workers": every, **sum_capture_stats(every)}
                if ok:
                    status, body = 200, json.dumps({"flushed": True, "stats": stats}).encode()
                elif stats.get("Held"):
                    status, body = _error(
                        503,
                        "CaptureWriteFailed",
                        f"{stats['Held']} captured records could not be written yet (held in "
                        f"memory for retry): {stats.get('LastError')}",
                    )
                else:
                    why = stats.get("LastError")
                    status, body = _error(
                        503,
                        "FlushTimeout",
                        "capture writer did not finish in 60 s" + (f": {why}" if why else ""),
                    )
                if status != 200 and from_peer:  # the asking sibling adds these counts up
                    body = json.dumps({**json.loads(body), "stats": stats}).encode()
                await _respond(send, status, body, _JSON)
            elif path in ("/invocations", "/ping", "/_smkit/flush"):
                await _respond(send, *_error(405, "MethodNotAllowed", f"{method} {path}"), _JSON)
            else:
                await _respond(send, *_error(404, "NotFound", f"no route {path}"), _JSON)
        elif kind == "lifespan":
            await self._lifespan(receive, send)

    async def _lifespan(self, receive: Any, send: Any) -> None:
        while True:
            msg = await receive()
            if msg["type"] == "lifespan.startup":
                try:
                    if self.idle_timeout:
                        self._watch = asyncio.create_task(self._idle_watch())
                    if self.on_startup is not None:
                        self.on_startup()
                except Exception as exc:
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif msg["type"] == "lifespan.shutdown":
                if self._watch is not None:
                    self._watch.cancel()
                if self.capture is not None:
                    # uvicorn re-raises SIGTERM once it has stopped, so drain here, after
                    # in-flight requests finished and before the process can end
                    loop = asyncio.get_running_loop()
                    await loop.run_in_executor(None, self.capture.close)
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _idle_watch(self) -> None:
        assert self.idle_timeout is not None
        step = min(1.0, self.idle_timeout / 4)
        while True:
            await asyncio.sleep(step)
            if time.monotonic() - self.last_request >= self.idle_timeout:
                self.idle_expired = True
                if self.on_idle is not None:
                    self.on_idle()
                return

    async def _invocations(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        self.last_request = time.monotonic()
        if self.on_request is not None:
            self.on_request()
        ctype = accept = attrs_in = inference_id = None
        length = None
        for k, v in scope["headers"]:
            if k == b"content-type":
                ctype = v.decode("latin-1")
            elif k == b"accept":
                accept = v.decode("latin-1")
            elif k == b"content-length":
                length = int(v) if v.isdigit() else None
            elif k == b"x-amzn-sagemaker-custom-attributes":
                attrs_in = v.decode("latin-1")
            elif k == b"x-amzn-sagemaker-inference-id":
                inference_id = v.decode("latin-1")
        if length is not None and length > MAX_BODY:
            await _respond(send, *_too_large(length), _JSON, close=True)
            return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            msg = await receive()
            if msg["type"] == "http.disconnect":
                return
            part = msg.get("body", b"")
            size += len(part)
            if size > MAX_BODY:
                await _respond(send, *_too_large(size), _JSON, close=True)
                return
            chunks.append(part)
            more = msg.get("more_body", False)
        body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        if not body:
            await _respond(send, *_error(400, "ClientError", "empty request body"), _JSON)
            return
        if not ctype:
            ctype = "application/octet-stream"
        from smkit.backends.local.handlers import RequestError, current_request

        token = current_request.set({"custom_attributes": attrs_in, "inference_id": inference_id})
        respond = getattr(self.handler, "respond", None)
        req_headers = {
            k.decode("latin-1"): v.decode("latin-1")
            for k, v in scope["headers"]
            if k != b"authorization"
        }
        inline = size <= INLINE_BODY and not self.timeout_all
        try:
            if respond is not None:  # a Handler: the toolkit's own status and error body
                if inline:
                    status, out, out_type, extra = respond(body, ctype, accept, req_headers)
                else:
                    status, out, out_type, extra = await self._threaded(
                        respond, body, ctype, accept, req_headers
                    )
            else:
                status = 200
                if inline:
                    out, out_type, extra = self.handler(body, ctype, accept)
                else:
                    out, out_type, extra = await self._threaded(self.handler, body, ctype, accept)
        except PredictTimeoutError as exc:
            await _respond(send, *_error(500, "WorkerTimeout", str(exc)), _JSON)
            return
        except RequestError as exc:
            await _respond(send, *_error(exc.status, exc.code, exc.message), _JSON)
            return
        except Exception as exc:
            # the model or a hook raised: the container answers 500 (the Runtime API, i.e.
            # the gateway, turns that into 424 ModelError with OriginalStatusCode 500)
            from smkit.backends.local.isolation import public_error

            msg = public_error(exc)  # no native stack traces or this machine's paths
            await _respond(send, *_error(500, "ModelError", msg), _JSON)
            return
        finally:
            current_request.reset(token)
        if status >= 300:
            await _respond(send, status, out, [(b"content-type", out_type.encode("latin-1"))])
            return
        headers = [(b"content-type", out_type.encode("latin-1")), self.variant_header]
        for k, v in extra.items():
            headers.append((k.lower().encode("latin-1"), v.encode("latin-1")))
        if self.worker_header is not None:
            headers.append(self.worker_header)
        cap = self.capture
        if cap is not None and cap.sampled():  # queued before the caller sees the answer
            cap.submit((time.time(), body, ctype, out, out_type, inference_id))
        await _respond(send, 200, out, headers)
        self.requests += 1

    async def _threaded(self, fn: Any, *args: Any) -> Any:
        """``fn(*args)`` in a worker thread (with this request's context), bounded by
        `timeout`: past it the request answers `PredictTimeoutError` and the event loop goes on
        serving (the thread cannot be interrupted and finishes in the background)."""
        import contextvars

        loop = asyncio.get_running_loop()
        fut = loop.run_in_executor(None, contextvars.copy_context().run, fn, *args)
        if self.timeout is None:
            return await fut
        try:
            return await asyncio.wait_for(fut, self.timeout)
        except TimeoutError:
            raise PredictTimeoutError(
                f"Worker died. Backend worker did not respond in given time ({self.timeout:g} s, "
                "SAGEMAKER_MODEL_SERVER_TIMEOUT)"
            ) from None


def sum_capture_stats(workers: list[dict[str, Any]]) -> dict[str, Any]:
    """The endpoint's capture counts from its workers' `CaptureWriter.stats`: the counts
    summed, ``LastError`` the first worker's that has one."""
    total: dict[str, Any] = {}
    for key in ("Submitted", "Written", "Held", "Dropped", "WriteErrors"):
        total[key] = sum(int(w.get(key) or 0) for w in workers)
    total["LastError"] = next((w["LastError"] for w in workers if w.get("LastError")), None)
    return total


class PredictTimeoutError(Exception):
    """A prediction ran past ``SAGEMAKER_MODEL_SERVER_TIMEOUT``."""


def _header(scope: dict[str, Any], name: bytes) -> bytes | None:
    for k, v in scope["headers"]:
        if k == name:
            return bytes(v)
    return None


async def _flush_peer(path: str, auth: bytes | None) -> tuple[int, dict[str, Any]]:
    """``POST /_smkit/flush`` to a sibling worker over its Unix socket."""
    try:
        reader, writer = await asyncio.open_unix_connection(path)
    except OSError as exc:
        return 503, {"stats": {"LastError": f"worker at {path} unreachable: {exc}"}}
    head = b"POST /_smkit/flush HTTP/1.1\r\nhost: worker\r\nx-smkit-local: 1\r\n"
    if auth:
        head += b"authorization: " + auth + b"\r\n"
    writer.write(head + b"content-length: 0\r\nconnection: close\r\n\r\n")
    try:
        await writer.drain()
        data = await reader.read()
    finally:
        writer.close()
    status_line, _, rest = data.partition(b"\r\n")
    _, _, payload = rest.partition(b"\r\n\r\n")
    try:
        code = int(status_line.split()[1])
        answer = json.loads(payload or b"{}")
    except (IndexError, ValueError):
        return 503, {"stats": {"LastError": f"worker at {path} answered {data[:200]!r}"}}
    if code != 200 and not isinstance(answer.get("stats"), dict):
        answer = {"stats": {"LastError": answer.get("message")}}
    return code, answer


_CHALLENGE = (b"www-authenticate", b"Bearer")
UNAUTHORIZED = _error(401, "Unauthorized", "missing or wrong 'Authorization: Bearer' token")


def authorized(scope: dict[str, Any], expected_sha256: str) -> bool:
    """Whether the request carries ``Authorization: Bearer <token>`` with the token whose
    SHA-256 is ``expected_sha256`` (compared in constant time)."""
    import hashlib
    import hmac

    for k, v in scope["headers"]:
        if k == b"authorization":
            scheme, _, token = v.partition(b" ")
            if scheme.lower() != b"bearer" or not token:
                return False
            digest = hashlib.sha256(token.strip()).hexdigest()
            return hmac.compare_digest(digest, expected_sha256)
    return False


def client_url(host: str, port: int) -> str:
    """The URL clients on this machine use for a server bound to ``host``."""
    if host in ("0.0.0.0", ""):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def _too_large(size: int) -> tuple[int, bytes]:
    return _error(
        413, "PayloadTooLarge", f"request body of {size} bytes is over the {MAX_BODY} byte limit"
    )


async def _respond(
    send: Any, status: int, body: bytes, headers: list[tuple[bytes, bytes]], close: bool = False
) -> None:
    hdrs = [*headers, (b"content-length", str(len(body)).encode())]
    if close:
        hdrs.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": hdrs})
    await send({"type": "http.response.body", "body": body})


# -- start-up ----------------------------------------------------------------------------
def _sha256(path: Path) -> str:
    from smkit.backends._protocol import sha256_file

    return sha256_file(path)


def prepare_model(backend: Any, model: dict[str, Any], dest: Path) -> Path:
    """Resolve, verify and extract a model record's artifact into ``dest``.

    Raises:
        SourceNotFoundError: the artifact does not exist.
        ValidationError: the SHA-256 does not match, or the tarball is unsafe.
    """
    import shutil

    from smkit.errors import SourceNotFoundError, ValidationError

    url = str(model["PrimaryContainer"]["ModelDataUrl"])
    path = backend.store.path_for(url) if url.startswith("s3://") else Path(url)
    expected = model.get("ModelDataSha256")
    if path.is_dir():
        # a directory has no SHA-256: serving it would skip the integrity check
        if expected or url.startswith("s3://") or url.endswith((".tar.gz", ".tgz", ".tar")):
            raise ValidationError(
                f"model artifact {url!r} is a directory, not a model.tar.gz"
                + (f" with the recorded SHA-256 {expected}" if expected else ""),
                hint="the artifact was replaced; retrain, or point ModelSpec.model_data at "
                "a local model directory without a sha256",
                uri=url,
            )
        return path
    if not path.is_file():
        raise SourceNotFoundError(f"model artifact {url!r} does not exist", uri=url)
    if expected:
        actual = _sha256(path)
        if actual != expected:
            raise ValidationError(
                f"model artifact {url!r} has SHA-256 {actual}, expected {expected}",
                hint="the artifact changed since it was recorded; retrain or fix ModelSpec.sha256",
            )
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    try:
        with tarfile.open(path, "r:*") as tar:
            _check_extracted_size(tar, url, dest)
            tar.extractall(dest, filter="data")
    except tarfile.TarError as exc:
        shutil.rmtree(dest, ignore_errors=True)
        raise ValidationError(f"cannot extract model artifact {url!r}: {exc}") from exc
    except BaseException:
        shutil.rmtree(dest, ignore_errors=True)  # nothing half-extracted stays behind
        raise
    return dest


#: Most bytes a model.tar.gz may extract to (``SMKIT_MAX_MODEL_BYTES``; default 20 GiB).
MAX_MODEL_BYTES = 20 << 30


def _check_extracted_size(tar: tarfile.TarFile, url: str, dest: Path) -> None:
    """Refuse a decompression bomb before writing: the members' sizes (from their headers,
    read without extracting) must fit the cap and the free space of ``dest``."""
    import shutil

    from smkit.errors import ValidationError

    cap = int(os.environ.get("SMKIT_MAX_MODEL_BYTES") or MAX_MODEL_BYTES)
    total = 0
    for member in tar:  # streams the archive: headers only, nothing is written
        total += max(member.size, 0)
        if total > cap:
            raise ValidationError(
                f"model artifact {url!r} extracts to more than {cap} bytes",
                hint="set SMKIT_MAX_MODEL_BYTES to allow larger models",
                uri=url,
            )
    free = shutil.disk_usage(dest).free
    if total > free:
        raise ValidationError(
            f"model artifact {url!r} extracts to {total} bytes; {free} are free at {dest}",
            uri=url,
        )


def _free_socket(host: str = "127.0.0.1") -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, 0))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def _stage_dependencies(paths: list[str], dest: Path) -> None:
    """A model's ``dependencies=`` importable next to its script (the SDK repacks them
    into ``code/``, which the toolkit puts on ``sys.path``)."""
    if not paths:
        return
    import shutil

    from smkit.training.record import copy_dependencies

    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    copy_dependencies([Path(p) for p in paths], dest)
    sys.path.insert(0, str(dest))
    os.environ["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(dest), os.environ.get("PYTHONPATH")])
    )


def _install_code_requirements(
    root: Path, model_dir: Path, source_dir: str | None, workdir: Path
) -> None:
    """``pip install -r code/requirements.txt`` before the model loads, as the toolkit does.

    The inference toolkit installs ``/opt/ml/model/code/requirements.txt`` when the model
    server starts; a local ``source_dir`` plays ``code/`` when the tarball has none. The
    packages go to a cached layer first on ``sys.path`` (smkit's environment is not
    changed). ``SMKIT_NO_REQUIREMENTS=1`` in the model's environment skips it.
    """
    from smkit.backends.local.requirements import (
        NO_REQUIREMENTS_ENV,
        REQUIREMENTS_FILE,
        install_layer,
    )

    if os.environ.get(NO_REQUIREMENTS_ENV, "") not in ("", "0"):
        return
    code = model_dir / "code"
    if not code.is_dir() and source_dir:
        code = Path(source_dir)
    requirements = code / REQUIREMENTS_FILE
    if not requirements.is_file():
        return
    layer = install_layer(
        requirements, root, log=lambda line: print(line, flush=True), workdir=workdir
    )
    if layer is not None:
        sys.path.insert(0, str(layer))
        os.environ["PYTHONPATH"] = os.pathsep.join(
            filter(None, [str(layer), os.environ.get("PYTHONPATH")])
        )


def serve(root: str, name: str) -> int:
    """Load and serve endpoint ``name`` of the local root ``root``; returns an exit code."""

    from smkit.backends.local import LocalBackend
    from smkit.backends.local.process import process_start_time
    from smkit.backends.local.serving import endpoint_records, teardown_records

    backend = LocalBackend(root)
    catalog = backend.catalog
    catalog.update(
        "endpoint",
        name,
        Pid=os.getpid(),
        ProcessStartTime=process_start_time(os.getpid()),
        Port=None,
        Url=None,
    )
    try:
        endpoint, config, model = endpoint_records(catalog, name)
        for key, value in (model["PrimaryContainer"].get("Environment") or {}).items():
            os.environ.setdefault(key, value)
        workdir = backend.work_dir("endpoints", name)
        model_dir = prepare_model(backend, model, workdir / "model")
        _stage_dependencies(model.get("Dependencies") or [], workdir / "dependencies")
        if model.get("InstallRequirements", True):
            _install_code_requirements(backend.root, model_dir, model.get("SourceDir"), workdir)
        workers, timeout, timeout_set = model_server_settings()
        variant = config["ProductionVariants"][0]["VariantName"]
        cap_cfg = endpoint.get("DataCaptureConfig") or {}

        def make_capture(on_stats: Any) -> Any:
            if not cap_cfg.get("EnableCapture"):
                return None
            from smkit.backends.local.capture import CaptureWriter
            from smkit.serving.spec import DataCaptureSpec

            spec = DataCaptureSpec.from_request(config["DataCaptureConfig"])
            assert spec is not None
            return CaptureWriter(
                backend.store,
                f"{cap_cfg['DestinationS3Uri'].rstrip('/')}/{name}/{variant}",
                sampling_percentage=cap_cfg.get("CurrentSamplingPercentage", 100),
                capture_input=spec.capture_input,
                capture_output=spec.capture_output,
                csv_types=spec.csv_content_types,
                json_types=spec.json_content_types,
                on_stats=on_stats,
            )

        def make_handler() -> Any:
            from smkit.backends.local.handlers import Handler

            return Handler(
                model_dir,
                model.get("Framework", "custom"),
                entry_point=model.get("EntryPoint"),
                source_dir=model.get("SourceDir"),
            )

        handler = make_handler() if workers == 1 else None
        capture = (
            make_capture(lambda stats: catalog.update("endpoint", name, CaptureStats=stats))
            if workers == 1
            else None
        )
        host = endpoint.get("Host") or "127.0.0.1"
        sock = _free_socket(host)
    except Exception as exc:
        reason = f"{type(exc).__name__}: {exc}"[:1024]
        traceback.print_exc()
        catalog.update(
            "endpoint", name, status="Failed", message=reason, FailureReason=reason, Pid=None
        )
        return 1

    import uvicorn

    port = sock.getsockname()[1]
    url = client_url(host, port)
    idle = endpoint.get("IdleTimeout")
    server: Any = None

    def started() -> None:
        catalog.update("endpoint", name, status="InService", Port=port, Url=url)
        print(
            f"endpoint {name} in service at {url} (pid {os.getpid()}"
            + (f", {workers} workers" if workers > 1 else "")
            + ")",
            flush=True,
        )
        if host != "127.0.0.1" and not host.startswith("127.") and host not in ("::1", "localhost"):
            print(
                f"WARNING: endpoint {name} binds {host}, reachable from other machines"
                + ("" if endpoint.get("AuthTokenSha256") else " without an auth token"),
                flush=True,
            )

    from smkit.backends.local.http_guard import raise_fd_limit, uvicorn_options

    raise_fd_limit()  # idle connections must not exhaust descriptors below the cap
    config_kw: dict[str, Any] = {
        "lifespan": "on",
        "log_level": "warning",
        "access_log": False,
        **uvicorn_options(),  # bounded heads, head/body timeouts, a connection cap (503)
    }
    if workers > 1:
        from smkit.backends.local.workers import WorkerPool

        def make_app(i: int, pid: int, peers: list[str], on_request: Any, on_ready: Any) -> Any:
            # in the worker process: its own catalog connection, handler and capture writer
            wcatalog = LocalBackend(root).catalog
            return EndpointApp(
                make_handler(),
                variant=variant,
                capture=make_capture(
                    lambda stats: wcatalog.update(
                        "endpoint",
                        name,
                        derive=_capture_stats_of_workers,
                        **{f"CaptureStatsWorker{i}": stats},
                    )
                ),
                on_startup=on_ready,
                auth_sha256=endpoint.get("AuthTokenSha256"),
                timeout=timeout,
                timeout_all=timeout_set,
                peers=peers,
                worker_pid=pid,
                on_request=on_request,
            )

        pool = WorkerPool(
            workers,
            sock,
            workdir / "workers",
            make_app=make_app,
            config_kw=config_kw,
            idle_timeout=idle,
        )
        outcome = pool.run(on_ready=started)
        status = catalog.describe("endpoint", name).status
        if outcome == "idle":
            catalog.update(
                "endpoint",
                name,
                status="Deleting",
                message=f"idle timeout: no invocations for {idle:g}s",
            )
            teardown_records(
                catalog,
                name,
                reason=f"idle timeout: no invocations for {idle:g}s; deleted itself",
            )
        elif outcome.startswith("failed:"):
            reason = outcome[len("failed:") :][:1024]
            catalog.update(
                "endpoint", name, status="Failed", message=reason, FailureReason=reason, Pid=None
            )
            return 1
        elif status in ("InService", "Creating"):
            reason = "endpoint server stopped by a signal outside smkit"
            catalog.update("endpoint", name, status="Failed", message=reason, FailureReason=reason)
        return 0

    def on_idle() -> None:
        catalog.update(
            "endpoint",
            name,
            status="Deleting",
            message=f"idle timeout: no invocations for {idle:g}s",
        )
        server.should_exit = True

    app = EndpointApp(
        handler,
        variant=variant,
        capture=capture,
        idle_timeout=idle,
        on_startup=started,
        on_idle=on_idle,
        auth_sha256=endpoint.get("AuthTokenSha256"),
        timeout=timeout,
        timeout_all=timeout_set,
    )
    server = uvicorn.Server(uvicorn.Config(app, **config_kw))
    try:
        server.run(sockets=[sock])  # on SIGTERM/SIGINT uvicorn re-raises the signal at the end
    finally:
        if capture is not None:
            capture.close()  # no-op when the lifespan shutdown already drained it
            if capture.errors:
                print(f"capture errors: {capture.errors[-5:]}", file=sys.stderr)
            if capture.write_errors or capture.dropped:
                print(f"capture stats at shutdown: {capture.stats()}", file=sys.stderr)
        status = catalog.describe("endpoint", name).status
        if app.idle_expired:
            teardown_records(
                catalog,
                name,
                reason=f"idle timeout: no invocations for {idle:g}s; deleted itself",
            )
        elif status in ("InService", "Creating"):
            reason = "endpoint server stopped by a signal outside smkit"
            catalog.update("endpoint", name, status="Failed", message=reason, FailureReason=reason)
    return 0


#: The inference toolkit's ``DEFAULT_MODEL_SERVER_TIMEOUT`` (``sagemaker_inference.environment``).
DEFAULT_MODEL_SERVER_TIMEOUT = 60.0


def _capture_stats_of_workers(data: dict[str, Any]) -> dict[str, Any]:
    """``CaptureStats`` of a several-worker endpoint: the sum of every worker's report
    (``CaptureStatsWorker<i>``), recomputed in the same transaction as each report."""
    workers = [v for k, v in sorted(data.items()) if k.startswith("CaptureStatsWorker")]
    return {"CaptureStats": sum_capture_stats(workers)}


def default_workers() -> int:
    """Worker processes when ``SAGEMAKER_MODEL_SERVER_WORKERS`` is unset: one per CPU, as
    the model server starts (the CPUs this process may run on, where the OS says)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


def model_server_settings(env: Any = None) -> tuple[int, float, bool]:
    """``(workers, timeout_s, timeout_set)`` from the model's environment, as the toolkit reads it.

    The inference toolkit (``sagemaker_inference.environment`` / ``model_server``) writes
    ``SAGEMAKER_MODEL_SERVER_WORKERS`` into MMS's ``default_workers_per_model`` (unset: MMS
    starts one worker per CPU; the scikit-learn container's server does too) and
    ``SAGEMAKER_MODEL_SERVER_TIMEOUT`` (default ``"60"``) into ``default_response_timeout``.
    Here too: unset, one worker per CPU this process may run on (`default_workers`);
    ``SAGEMAKER_MODEL_SERVER_WORKERS=1`` keeps one process.

    Raises:
        ValueError: a variable is not a positive integer.
    """
    env = os.environ if env is None else env
    raw_workers = (env.get("SAGEMAKER_MODEL_SERVER_WORKERS") or "").strip()
    raw_timeout = (env.get("SAGEMAKER_MODEL_SERVER_TIMEOUT") or "").strip()
    workers = default_workers()
    if raw_workers:
        if not raw_workers.isdigit() or int(raw_workers) < 1:
            raise ValueError(
                f"SAGEMAKER_MODEL_SERVER_WORKERS={raw_workers!r} must be a positive integer"
            )
        workers = int(raw_workers)
    timeout = DEFAULT_MODEL_SERVER_TIMEOUT
    if raw_timeout:
        if not raw_timeout.isdigit() or int(raw_timeout) < 1:
            raise ValueError(
                f"SAGEMAKER_MODEL_SERVER_TIMEOUT={raw_timeout!r} must be a positive integer"
            )
        timeout = float(raw_timeout)
    return workers, timeout, bool(raw_timeout)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(prog="python -m smkit.backends.local.endpoint_server")
    parser.add_argument("--root", required=True, help="the local backend's root")
    parser.add_argument("--name", required=True, help="the endpoint's name")
    parser.add_argument(
        "--daemon", action="store_true", help="fork and return at once (the child serves)"
    )
    args = parser.parse_args(argv)
    if args.daemon:
        if os.fork() > 0:
            os._exit(0)  # the parent returns at once; the child is re-parented and serves
        # its own session and process group: a delete that must kill reaches every worker
        os.setsid()
    return serve(args.root, args.name)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
