"""Hostile HTTP clients for the reliability tests and benchmark (loopback only, bounded).

Each attack takes a ``(host, port)`` on 127.0.0.1, runs for a bounded time and size, and
stops by itself; `legit_latencies` measures what a well-behaved client sees meanwhile.

Run ``python -m smkit.testing.attacks serve [--plain]`` for a minimal guarded (``--plain``:
stock uvicorn httptools) server (an
`EndpointApp` echoing its body) that prints its
port on the first line.
"""

from __future__ import annotations

import contextlib
import socket
import statistics
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

__all__ = [
    "burst",
    "huge_header",
    "idle_connections",
    "legit_latencies",
    "partial_body",
    "read_response",
]


def _check_loopback(host: str) -> None:
    if not (host.startswith("127.") or host in ("::1", "localhost")):
        raise ValueError(f"attacks run on loopback only, not {host!r}")


@contextlib.contextmanager
def idle_connections(
    host: str, port: int, count: int, *, partial: bool = False, timeout: float = 60.0
) -> Iterator[list[socket.socket]]:
    """Hold ``count`` connections open (``partial``: each sent half a request head)."""
    _check_loopback(host)
    socks: list[socket.socket] = []
    try:
        for i in range(count):
            s = socket.create_connection((host, port), timeout=timeout)
            if partial:
                s.sendall(f"GET /ping HTTP/1.1\r\nHost: x\r\nX-Slow-{i}: ".encode())
            socks.append(s)
        yield socks
    finally:
        for s in socks:
            with contextlib.suppress(OSError):
                s.close()


def read_response(sock: socket.socket, timeout: float = 10.0) -> bytes:
    """What the server sent before closing or going quiet for ``timeout`` seconds."""
    sock.settimeout(timeout)
    out = b""
    with contextlib.suppress(OSError):
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            out += chunk
            if b"\r\n\r\n" in out:
                head, _, body = out.partition(b"\r\n\r\n")
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:") and len(body) >= int(
                        line.split(b":", 1)[1]
                    ):
                        return out
    return out


def huge_header(
    host: str, port: int, size: int, *, path: str = "/invocations", chunk: int = 64 * 1024
) -> dict[str, Any]:
    """Send one request whose single header value is ``size`` bytes; returns what happened:
    ``sent`` (bytes the server accepted before closing), ``status`` (of its answer, or
    ``None``) and ``seconds``."""
    _check_loopback(host)
    t0 = time.monotonic()
    sent = 0
    status = None
    with socket.create_connection((host, port), timeout=30) as s:
        try:
            s.sendall(f"POST {path} HTTP/1.1\r\nHost: x\r\nX-Big: ".encode())
            block = b"a" * chunk
            while sent < size:
                n = min(chunk, size - sent)
                s.sendall(block[:n])
                sent += n
            s.sendall(b"\r\nContent-Length: 1\r\n\r\nx")
        except OSError:
            pass
        answer = read_response(s, timeout=30)
        if answer.startswith(b"HTTP/"):
            status = int(answer.split(b" ", 2)[1])
    return {"sent": sent, "status": status, "seconds": time.monotonic() - t0}


def partial_body(host: str, port: int, *, declared: int = 1000, sent: int = 10) -> int | None:
    """Declare a body of ``declared`` bytes, send ``sent`` and wait; the status answered."""
    _check_loopback(host)
    with socket.create_connection((host, port), timeout=30) as s:
        s.sendall(
            f"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: text/csv\r\n"
            f"Content-Length: {declared}\r\n\r\n".encode()
            + b"1" * sent
        )
        answer = read_response(s, timeout=30)
    return int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/") else None


def legit_latencies(
    url: str,
    count: int,
    *,
    path: str = "/ping",
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    pause: float = 0.0,
) -> tuple[list[float], list[int]]:
    """Sequential requests of one keep-alive client: (latencies in seconds, statuses)."""
    import httpx

    lat, codes = [], []
    with httpx.Client(base_url=url, timeout=10.0, trust_env=False) as client:
        for _ in range(count):
            t0 = time.perf_counter()
            try:
                if body is None:
                    r = client.get(path, headers=headers)
                else:
                    r = client.post(path, content=body, headers=headers)
                codes.append(r.status_code)
            except httpx.HTTPError:
                codes.append(0)
            lat.append(time.perf_counter() - t0)
            if pause:
                time.sleep(pause)
    return lat, codes


def burst(
    host: str,
    port: int,
    path: str,
    body: bytes,
    *,
    clients: int,
    per_client: int = 1,
    timeout: float = 30.0,
    content_type: str = "text/csv",
) -> dict[str, Any]:
    """``clients`` concurrent keep-alive connections each sending ``per_client`` POSTs (asyncio,
    raw sockets: cheap on the client side); returns counts per status (0: no answer within
    ``timeout``), ``seconds`` (wall time of the whole burst) and per-request ``latencies``."""
    import asyncio

    _check_loopback(host)
    request = (
        f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    statuses: dict[int, int] = {}
    latencies: list[float] = []

    async def one_client() -> None:
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
        except (OSError, TimeoutError):
            statuses[0] = statuses.get(0, 0) + per_client
            return
        done = 0
        try:
            for _ in range(per_client):
                t0 = time.perf_counter()
                writer.write(request)
                head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout)
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                await asyncio.wait_for(reader.readexactly(length), timeout)
                code = int(head.split(b" ", 2)[1])
                statuses[code] = statuses.get(code, 0) + 1
                latencies.append(time.perf_counter() - t0)
                done += 1
                if b"connection: close" in head.lower():
                    break
        except (OSError, TimeoutError, asyncio.IncompleteReadError):
            pass
        finally:
            statuses[0] = (
                statuses.get(0, 0) + per_client - done
                if done < per_client
                else (statuses.get(0, 0))
            )
            writer.close()

    async def main() -> float:
        t0 = time.perf_counter()
        await asyncio.gather(*(one_client() for _ in range(clients)))
        return time.perf_counter() - t0

    seconds = asyncio.run(main())
    statuses = {k: v for k, v in statuses.items() if v}
    return {"statuses": statuses, "seconds": seconds, "latencies": latencies}


def median_ms(latencies: list[float]) -> float:
    """Median of latencies in seconds, in milliseconds."""
    return statistics.median(latencies) * 1000 if latencies else float("inf")


def in_thread(fn: Any, *args: Any, **kwargs: Any) -> tuple[threading.Thread, dict[str, Any]]:
    """Run ``fn`` in a daemon thread; its result lands in the returned dict's ``result``."""
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["result"] = fn(*args, **kwargs)
        except BaseException as exc:  # reported to the caller
            box["error"] = exc

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t, box


def _serve(plain: bool = False) -> None:  # pragma: no cover - run as a subprocess
    import uvicorn

    from smkit.backends.local.endpoint_server import EndpointApp, _free_socket
    from smkit.backends.local.http_guard import raise_fd_limit, uvicorn_options

    def echo(body: bytes, ctype: str, accept: str | None) -> tuple[bytes, str, dict]:
        return body, ctype, {}

    raise_fd_limit()
    sock = _free_socket("127.0.0.1")
    print(sock.getsockname()[1], flush=True)
    app = EndpointApp(echo)
    # plain: the stack before issue 21 (stock httptools protocol), the benchmark's reference
    options = {"http": "httptools", "loop": "uvloop"} if plain else uvicorn_options()
    config = uvicorn.Config(app, lifespan="on", log_level="error", **options)
    uvicorn.Server(config).run(sockets=[sock])


if __name__ == "__main__":  # pragma: no cover
    if sys.argv[1:2] == ["serve"]:
        _serve(plain="--plain" in sys.argv[2:])
