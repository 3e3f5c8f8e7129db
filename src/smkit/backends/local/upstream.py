"""The gateway's HTTP/1.1 client to the local endpoint servers: keep-alive, small, O(1).

The gateway used ``httpx.AsyncClient``. Under a burst its connection pool (httpcore) rescans
every queued request and every connection on each release and probes the async library
with a failing import per request; 1,000 concurrent invocations then took minutes and every
caller timed out. The upstream is always an smkit endpoint server on this machine (HTTP/1.1,
``Content-Length`` on every answer), so a plain asyncio stream per connection and a stack
of idle connections per address are enough: taking and returning a connection is O(1).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any
from urllib.parse import urlsplit

__all__ = ["UpstreamError", "UpstreamPool", "UpstreamResponse"]

MAX_HEAD = 64 * 1024


class UpstreamError(OSError):
    """The endpoint server could not be reached or answered no valid HTTP."""


class UpstreamResponse:
    """What the endpoint answered (the attributes the gateway reads of an httpx response)."""

    def __init__(self, status: int, headers: dict[str, str], content: bytes) -> None:
        self.status_code = status
        self.headers = headers
        self.content = content

    @property
    def text(self) -> str:
        """The body decoded as UTF-8 (bad bytes replaced)."""
        return self.content.decode("utf-8", "replace")

    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.content)


class UpstreamPool:
    """Keep-alive connections to ``http://host:port`` servers.

    Args:
        timeout: Seconds for one request (connect, send, whole answer).
        max_idle: Idle connections kept per address.
    """

    def __init__(self, timeout: float = 65.0, max_idle: int = 64) -> None:
        self.timeout = timeout
        self.max_idle = max_idle
        self._idle: dict[tuple[str, int], list[tuple[Any, Any]]] = {}
        self.opened = 0

    async def post(
        self, url: str, *, content: bytes, headers: dict[str, str] | None = None
    ) -> UpstreamResponse:
        """``POST url`` with ``content``; retried once on a fresh connection when a reused
        keep-alive connection turns out closed.

        Raises:
            UpstreamError: connection refused or reset, timeout, or not HTTP.
        """
        parts = urlsplit(url)
        host = parts.hostname or "127.0.0.1"
        port = parts.port or 80
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        lines = [f"POST {path} HTTP/1.1", f"Host: {parts.netloc}"]
        for k, v in (headers or {}).items():
            if "\r" in v or "\n" in v or "\r" in k or "\n" in k:
                continue
            lines.append(f"{k}: {v}")
        lines.append(f"Content-Length: {len(content)}")
        request = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + content
        key = (host, port)
        for attempt in range(2):
            conn, reused = self._take(key)
            try:
                if conn is None:
                    conn = await asyncio.wait_for(
                        asyncio.open_connection(host, port, limit=MAX_HEAD), self.timeout
                    )
                    self.opened += 1
                resp, keep = await asyncio.wait_for(self._exchange(conn, request), self.timeout)
            except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError,
                    TimeoutError) as exc:  # fmt: skip
                if conn is not None:
                    _close(conn)
                if reused and attempt == 0 and not isinstance(exc, TimeoutError):
                    continue  # the server closed an idle keep-alive connection: retry fresh
                raise UpstreamError(f"{url}: {type(exc).__name__}: {exc}") from exc
            except BaseException:
                if conn is not None:
                    _close(conn)
                raise
            if keep:
                self._give(key, conn)
            else:
                _close(conn)
            return resp
        raise UpstreamError(f"{url}: no answer")  # pragma: no cover

    def _take(self, key: tuple[str, int]) -> tuple[Any, bool]:
        stack = self._idle.get(key)
        while stack:
            conn = stack.pop()
            if not conn[1].is_closing() and not conn[0].at_eof():
                return conn, True
            _close(conn)
        return None, False

    def _give(self, key: tuple[str, int], conn: Any) -> None:
        stack = self._idle.setdefault(key, [])
        if len(stack) < self.max_idle:
            stack.append(conn)
        else:
            _close(conn)

    @staticmethod
    async def _exchange(conn: Any, request: bytes) -> tuple[UpstreamResponse, bool]:
        reader, writer = conn
        writer.write(request)
        await writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
        status_line, *header_lines = head[:-4].decode("latin-1").split("\r\n")
        version, _, rest = status_line.partition(" ")
        if not version.startswith("HTTP/"):
            raise ValueError(f"not an HTTP answer: {status_line[:80]!r}")
        status = int(rest[:3])
        hdrs: dict[str, str] = {}
        for line in header_lines:
            name, _, value = line.partition(":")
            hdrs[name.strip().lower()] = value.strip()
        keep = hdrs.get("connection", "").lower() != "close" and version == "HTTP/1.1"
        if "content-length" in hdrs:
            body = await reader.readexactly(int(hdrs["content-length"]))
        elif hdrs.get("transfer-encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
                if size == 0:
                    await reader.readuntil(b"\r\n")
                    break
                chunks.append(await reader.readexactly(size))
                await reader.readexactly(2)
            body = b"".join(chunks)
        else:
            body = await reader.read()
            keep = False
        return UpstreamResponse(status, hdrs, body), keep

    async def aclose(self) -> None:
        """Close every idle connection."""
        for stack in self._idle.values():
            for conn in stack:
                _close(conn)
        self._idle.clear()


def _close(conn: Any) -> None:
    with contextlib.suppress(Exception):
        conn[1].close()
