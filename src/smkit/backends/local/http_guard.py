"""Bounded HTTP for the local endpoint servers and the gateway (hostile clients on loopback).

uvicorn's httptools protocol, as shipped, accepts a request head of any size (httptools
concatenates each header value chunk by chunk, so an 80 MB header costs tens of seconds of
the event loop, before any token check), keeps a connection that never sends a byte or
never finishes its head or body open forever, and counts idle connections against
``limit_concurrency``. `GuardedHttpToolsProtocol` keeps httptools' speed and adds:

- **head size and count**: at most `Limits.max_head_bytes` bytes (request line and
  headers) and `Limits.max_headers` header lines; more answers ``431`` and closes,
  having read no more than the limit plus one socket read;
- **head timeout**: a new connection, or a keep-alive one whose next request started, must
  deliver a whole head within `Limits.head_timeout` seconds (slowloris, idle
  connections), else it is closed (``408`` when a request had started);
- **body timeout**: a body must arrive whole within `Limits.body_timeout` seconds of
  its head, else ``408`` and close;
- **connection cap**: past `Limits.max_connections` open connections a new one is
  answered ``503`` (JSON, ``Connection: close``, ``Retry-After``) at its first request and
  closed; requests in flight past `Limits.max_inflight` are answered ``503`` too;
- `raise_fd_limit` lifts the soft descriptor limit to the hard one, so idle
  connections cannot starve the process of descriptors below the cap.

Alternatives measured (`smkit.testing.attacks.burst`, 50 keep-alive clients x 100
requests to the endpoint app with an echo handler, 2 cores, two rounds): this protocol
7,400 and 12,500 requests/s, stock httptools 11,200 and 8,300, uvicorn's h11 protocol (which
bounds the head too, ``h11_max_incomplete_event_size``) 3,500 and 5,700, about half.
``limit_concurrency`` alone answers 503 to legitimate clients as soon as idle attackers
hold that many connections.
"""

from __future__ import annotations

import json
import resource
from typing import Any, ClassVar

import attrs

__all__ = ["Limits", "fit_to_descriptors", "guarded_protocol", "raise_fd_limit", "uvicorn_options"]


@attrs.frozen
class Limits:
    """Bounds on what one client may make the server hold.

    Args:
        max_head_bytes: Request line plus headers, bytes.
        max_headers: Header lines per request.
        head_timeout: Seconds for a request head to arrive whole (from the connection or
            from the request's first byte).
        body_timeout: Seconds for a body to arrive whole after its head.
        keep_alive: Seconds an idle keep-alive connection stays open between requests.
        max_connections: Open connections; past it new ones are answered 503.
        max_inflight: Requests being answered at once; past it 503.
    """

    max_head_bytes: int = 64 * 1024
    max_headers: int = 100
    head_timeout: float = 10.0
    body_timeout: float = 60.0
    keep_alive: float = 75.0
    max_connections: int = 4096
    max_inflight: int = 8192  # a keep-alive connection briefly holds two tasks

    @classmethod
    def from_env(cls, environ: Any = None) -> Limits:
        """Defaults overridden by ``SMKIT_HTTP_<FIELD>`` variables (``SMKIT_HTTP_HEAD_TIMEOUT``)."""
        import os

        env = os.environ if environ is None else environ
        kw: dict[str, Any] = {}
        for field in attrs.fields(cls):
            raw = env.get(f"SMKIT_HTTP_{field.name.upper()}")
            if raw:
                value = float(raw) if field.type in (float, "float") else int(raw)
                if not value > 0:
                    raise ValueError(f"SMKIT_HTTP_{field.name.upper()}={raw!r} must be > 0")
                kw[field.name] = value
        return cls(**kw)


def raise_fd_limit(want: int = 65536) -> int:
    """Raise the soft ``RLIMIT_NOFILE`` towards ``want`` (at most the hard limit); returns it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = want if hard == resource.RLIM_INFINITY else min(want, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass
    return int(soft)


def _raw_response(status: int, reason: str, code: str, message: str, extra: bytes = b"") -> bytes:
    body = json.dumps({"code": code, "message": message}).encode()
    return (
        f"HTTP/1.1 {status} {reason}\r\n".encode()
        + b"content-type: application/json\r\n"
        + f"content-length: {len(body)}\r\n".encode()
        + extra
        + b"connection: close\r\n\r\n"
        + body
    )


def guarded_protocol(limits: Limits | None = None) -> type:
    """A uvicorn ``http`` protocol class (httptools) enforcing ``limits``."""
    import httptools
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    lim = limits or Limits.from_env()
    too_large = _raw_response(
        431,
        "Request Header Fields Too Large",
        "RequestHeaderFieldsTooLarge",
        f"request head over {lim.max_head_bytes} bytes or {lim.max_headers} header lines",
    )
    timeout = _raw_response(408, "Request Timeout", "RequestTimeout", "request not received")
    busy_msg = json.dumps(
        {"code": "ServiceUnavailable", "message": "server at its connection or request limit"}
    ).encode()

    async def busy(scope: dict[str, Any], receive: Any, send: Any) -> None:
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(busy_msg)).encode()),
            (b"retry-after", b"1"),
            (b"connection", b"close"),
        ]
        await send({"type": "http.response.start", "status": 503, "headers": headers})
        await send({"type": "http.response.body", "body": busy_msg})

    class GuardedHttpToolsProtocol(HttpToolsProtocol):  # type: ignore[misc]
        """httptools with bounded heads, head/body timeouts and a connection cap."""

        limits = lim
        rejected: ClassVar[dict[str, int]] = {"head": 0, "timeout": 0, "busy": 0}

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.limit_concurrency = None  # our own cap below: idle connections don't count
            self._in_head = True
            self._head_bytes = 0
            self._head_lines = 0
            self._tail = b""
            self._timer: Any = None
            self._over_cap = False
            self._dead = False

        # -- timers
        def _arm(self, seconds: float) -> None:
            self._disarm()
            self._timer = self.loop.call_later(seconds, self._expired)

        def _disarm(self) -> None:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None

        def _expired(self) -> None:
            self._timer = None
            if self.transport is None or self.transport.is_closing():
                return
            type(self).rejected["timeout"] += 1
            cycle = self.cycle
            started = self._head_bytes > 0 or (cycle is not None and not cycle.response_complete)
            if started and (cycle is None or not cycle.response_started):
                self.transport.write(timeout)
            self.transport.close()

        # -- asyncio.Protocol
        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            self._over_cap = len(self.connections) > lim.max_connections
            # over the cap: a request sent at once gets its 503; a silent one is dropped fast,
            # so refused connections hold their descriptors only briefly
            self._arm(min(0.1, lim.head_timeout) if self._over_cap else lim.head_timeout)

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def data_received(self, data: bytes) -> None:
            if self._dead:
                return
            if self._in_head:
                if self._timer is None:
                    self._arm(lim.head_timeout)
                window = self._tail + data
                end = window.find(b"\r\n\r\n")
                head = window[len(self._tail) :] if end < 0 else window[len(self._tail) : end]
                self._head_bytes += len(head)
                self._head_lines += head.count(b"\n")
                self._tail = window[-3:]
                if self._head_bytes > lim.max_head_bytes or self._head_lines > lim.max_headers:
                    type(self).rejected["head"] += 1
                    self._disarm()
                    self._dead = True
                    self.transport.write(too_large)
                    self.transport.close()
                    self.parser = httptools.HttpRequestParser(self)  # drop what it buffered
                    return
            super().data_received(data)

        # -- parser callbacks
        def on_message_begin(self) -> None:
            self._in_head = True
            super().on_message_begin()

        def on_headers_complete(self) -> None:
            self._in_head = False
            self._head_bytes = self._head_lines = 0
            self._tail = b""
            self._arm(lim.body_timeout)
            if self._over_cap or len(self.tasks) >= lim.max_inflight:
                type(self).rejected["busy"] += 1
                app, self.app = self.app, busy
                try:
                    super().on_headers_complete()
                finally:
                    self.app = app
                return
            super().on_headers_complete()

        def on_message_complete(self) -> None:
            self._disarm()
            self._in_head = True
            super().on_message_complete()

    return GuardedHttpToolsProtocol


def fit_to_descriptors(limits: Limits, soft_limit: int | None = None) -> Limits:
    """``limits`` with the connection cap below the descriptor limit (128 kept for the
    process's own files), so connections past it get a 503 rather than failing ``accept``."""
    if soft_limit is None:
        soft_limit = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if soft_limit == resource.RLIM_INFINITY or soft_limit <= 0:
        return limits
    cap = max(16, soft_limit - 128)
    return attrs.evolve(limits, max_connections=min(limits.max_connections, cap))


def uvicorn_options(limits: Limits | None = None) -> dict[str, Any]:
    """``uvicorn.Config`` keyword arguments for a bounded server (httptools + uvloop)."""
    lim = fit_to_descriptors(limits or Limits.from_env())
    return {
        "http": guarded_protocol(lim),
        "loop": "uvloop",
        "timeout_keep_alive": lim.keep_alive,
        "backlog": 4096,
    }
