"""A small closed-loop HTTP/1.1 load generator (keep-alive, asyncio).

Used by the serving load test and ``benchmarks/serving.py``. Each of ``concurrency``
clients holds one keep-alive connection and sends the next request as soon as the previous
answer is read, until ``requests`` have been sent in total or ``duration`` seconds passed.
It is lean on purpose (pre-encoded requests, no header parsing beyond the status line and
``Content-Length``) so that on a small machine most CPU goes to the server under test.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections import Counter
from typing import Any
from urllib.parse import urlsplit

import attrs

__all__ = ["LoadResult", "run_load"]


@attrs.frozen
class LoadResult:
    """What a load run measured."""

    requests: int
    elapsed: float
    statuses: dict[int, int]
    latencies: tuple[float, ...] = attrs.field(repr=False)
    errors: int = 0

    @property
    def throughput(self) -> float:
        """Requests per second."""
        return self.requests / self.elapsed if self.elapsed else 0.0

    def percentile(self, q: float) -> float:
        """Latency percentile ``q`` (0-100) in milliseconds."""
        if not self.latencies:
            return float("nan")
        data = sorted(self.latencies)
        idx = min(len(data) - 1, max(0, round(q / 100 * (len(data) - 1))))
        return data[idx] * 1000

    @property
    def p50(self) -> float:
        """Median latency (ms)."""
        return statistics.median(self.latencies) * 1000 if self.latencies else float("nan")

    @property
    def p99(self) -> float:
        """99th percentile latency (ms)."""
        return self.percentile(99)


async def _one_client(
    host: str,
    port: int,
    request: bytes,
    budget: list[int],
    deadline: float | None,
    lat: list[float],
    statuses: Counter,
    errors: list[int],
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while True:
            if deadline is not None and time.perf_counter() >= deadline:
                return
            if budget[0] <= 0:
                return
            budget[0] -= 1
            t0 = time.perf_counter()
            writer.write(request)
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, ConnectionError):
                errors[0] += 1
                reader, writer = await asyncio.open_connection(host, port)
                continue
            status = int(head[9:12])
            low = head.lower()
            i = low.find(b"content-length:")
            n = int(low[i + 15 : low.find(b"\r\n", i)]) if i >= 0 else 0
            if n:
                await reader.readexactly(n)
            lat.append(time.perf_counter() - t0)
            statuses[status] += 1
            if b"connection: close" in low:
                writer.close()
                reader, writer = await asyncio.open_connection(host, port)
    finally:
        writer.close()


async def _run(
    url: str,
    body: bytes,
    headers: dict[str, str],
    concurrency: int,
    requests: int | None,
    duration: float | None,
) -> LoadResult:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    path = parts.path or "/"
    head = [f"POST {path} HTTP/1.1", f"Host: {host}:{port}", f"Content-Length: {len(body)}"]
    head += [f"{k}: {v}" for k, v in headers.items()]
    request = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body
    budget = [requests if requests is not None else 1 << 62]
    lat: list[float] = []
    statuses: Counter = Counter()
    errors = [0]
    t0 = time.perf_counter()
    deadline = t0 + duration if duration else None
    await asyncio.gather(
        *(
            _one_client(host, port, request, budget, deadline, lat, statuses, errors)
            for _ in range(concurrency)
        )
    )
    elapsed = time.perf_counter() - t0
    return LoadResult(len(lat), elapsed, dict(statuses), tuple(lat), errors[0])


def run_load(
    url: str,
    body: bytes,
    *,
    content_type: str = "text/csv",
    headers: dict[str, Any] | None = None,
    concurrency: int = 8,
    requests: int | None = None,
    duration: float | None = None,
) -> LoadResult:
    """POST ``body`` to ``url`` from ``concurrency`` keep-alive clients.

    Args:
        url: Full URL, e.g. ``http://127.0.0.1:8080/invocations``.
        body: The request body (the same for every request).
        content_type: ``Content-Type`` header.
        headers: Extra headers.
        concurrency: Concurrent connections.
        requests: Total requests to send (across all clients).
        duration: Or: seconds to keep sending.
    """
    if requests is None and duration is None:
        raise ValueError("give requests= or duration=")
    hdrs = {"Content-Type": content_type, **{k: str(v) for k, v in (headers or {}).items()}}
    try:
        import uvloop

        runner: Any = uvloop.run
    except ImportError:  # pragma: no cover
        runner = asyncio.run
    return runner(_run(url, body, hdrs, concurrency, requests, duration))
