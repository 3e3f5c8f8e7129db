"""Issue 21, items 4, 5 and 10: hostile HTTP against the guarded local servers.

Every attack is bounded (8 MB, a few hundred connections, seconds), runs on 127.0.0.1 and
stops by itself. The server under test is ``python -m smkit.testing.attacks serve``: the
endpoint's ASGI app on the same guarded uvicorn protocol the endpoint server and the gateway
use (``smkit.backends.local.http_guard``)."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from smkit.testing.attacks import (
    huge_header,
    idle_connections,
    in_thread,
    legit_latencies,
    median_ms,
    partial_body,
    read_response,
)

pytestmark = pytest.mark.timeout(120)
SRC = str(Path(__file__).resolve().parents[1] / "src")


@contextlib.contextmanager
def guarded_server(fd_limit=None, **limits):
    env = {**os.environ, "PYTHONPATH": SRC}
    env.update({f"SMKIT_HTTP_{k.upper()}": str(v) for k, v in limits.items()})

    def lower_fd_limit():
        import resource

        resource.setrlimit(resource.RLIMIT_NOFILE, (fd_limit, fd_limit))

    proc = subprocess.Popen(
        [sys.executable, "-m", "smkit.testing.attacks", "serve"],
        stdout=subprocess.PIPE,
        env=env,
        preexec_fn=lower_fd_limit if fd_limit else None,
    )
    try:
        port = int(proc.stdout.readline())
        url = f"http://127.0.0.1:{port}"
        for _ in range(100):  # until it answers
            with contextlib.suppress(OSError):
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            time.sleep(0.05)
        yield "127.0.0.1", port, url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="module")
def server():
    with guarded_server(head_timeout=1.5, body_timeout=1.5) as s:
        yield s


def _status(raw: bytes) -> int | None:
    return int(raw.split(b" ", 2)[1]) if raw.startswith(b"HTTP/") else None


def test_huge_header_and_idle_crowd_leave_a_legit_client_fast(server):
    """8 MB header + 200 idle + 50 half-sent heads: the legit median stays under 50 ms."""
    host, port, url = server
    with idle_connections(host, port, 200), idle_connections(host, port, 50, partial=True):
        thread, box = in_thread(huge_header, host, port, 8 * 1024 * 1024)
        lat, codes = legit_latencies(url, 100, pause=0.005)
        thread.join(30)
    assert set(codes) == {200}, codes
    assert median_ms(lat) < 50, median_ms(lat)
    attack = box["result"]
    # refused after the head limit: a 431, or the socket closed long before 8 MB went in
    assert attack["status"] == 431 or attack["sent"] < 8 * 1024 * 1024, attack
    assert attack["seconds"] < 10


def test_oversized_head_and_too_many_headers_answer_431(server):
    host, port, _ = server
    assert huge_header(host, port, 70 * 1024, chunk=70 * 1024)["status"] == 431
    many = "".join(f"X-H{i}: v\r\n" for i in range(150))
    with socket.create_connection((host, port), timeout=10) as s:
        s.sendall(f"GET /ping HTTP/1.1\r\nHost: x\r\n{many}\r\n".encode())
        raw = read_response(s)
    assert _status(raw) == 431 and b"RequestHeaderFieldsTooLarge" in raw


def test_idle_and_partial_connections_are_closed_by_the_head_timeout(server):
    host, port, _ = server
    t0 = time.monotonic()
    with (
        idle_connections(host, port, 20) as idle,
        idle_connections(host, port, 20, partial=True) as partial,
    ):
        idle_answers = [read_response(s, timeout=10) for s in idle]
        partial_answers = [read_response(s, timeout=10) for s in partial]
    took = time.monotonic() - t0
    assert all(a == b"" for a in idle_answers)  # closed, nothing said (nothing was asked)
    assert all(_status(a) == 408 for a in partial_answers)
    assert took < 8, took


def test_partial_body_is_answered_408(server):
    host, port, _ = server
    t0 = time.monotonic()
    assert partial_body(host, port, declared=1000, sent=10) == 408
    assert time.monotonic() - t0 < 8


def test_legit_large_bodies_and_pipelining_still_work(server):
    host, port, url = server
    body = b"1,2,3\n" * (700 * 1024 // 6)  # 700 KB, over the head limit, in a few reads
    _lat, codes = legit_latencies(url, 3, path="/invocations", body=body,
                                 headers={"Content-Type": "text/csv"})  # fmt: skip
    assert codes == [200, 200, 200]
    req = b"GET /ping HTTP/1.1\r\nHost: x\r\n\r\n"
    with socket.create_connection((host, port), timeout=10) as s:
        s.sendall(req * 5)
        s.settimeout(5)
        got = b""
        while got.count(b"HTTP/1.1 200") < 5:
            chunk = s.recv(65536)
            if not chunk:
                break
            got += chunk
    assert got.count(b"HTTP/1.1 200") == 5


def test_ping_under_http_1_0_has_a_content_length(server):
    host, port, _ = server
    with socket.create_connection((host, port), timeout=10) as s:
        s.sendall(b"GET /ping HTTP/1.0\r\n\r\n")
        raw = read_response(s, timeout=5)
    head = raw.partition(b"\r\n\r\n")[0].lower()
    assert _status(raw) == 200 and b"content-length: 0" in head


def test_connection_cap_answers_a_clear_503():
    with guarded_server(max_connections=30) as (host, port, url), idle_connections(host, port, 40):
        time.sleep(0.2)
        _lat, codes = legit_latencies(url, 1)
        with socket.create_connection((host, port), timeout=10) as s:
            s.sendall(b"GET /ping HTTP/1.1\r\nHost: x\r\n\r\n")
            raw = read_response(s)
    assert codes == [503]
    assert _status(raw) == 503
    head, _, body = raw.partition(b"\r\n\r\n")
    assert b"retry-after: 1" in head.lower() and b"connection: close" in head.lower()
    assert json.loads(body)["code"] == "ServiceUnavailable"


def test_limits_from_env_refuse_nonsense():
    from smkit.backends.local.http_guard import Limits

    assert Limits.from_env({"SMKIT_HTTP_HEAD_TIMEOUT": "2.5"}).head_timeout == 2.5
    assert Limits.from_env({"SMKIT_HTTP_MAX_CONNECTIONS": "7"}).max_connections == 7
    for bad in ("nan", "0", "-1"):
        with pytest.raises(ValueError):
            Limits.from_env({"SMKIT_HTTP_BODY_TIMEOUT": bad})


def test_connection_cap_stays_below_the_descriptor_limit():
    """1,050 idle connections under a 1,024 descriptor limit starved everyone: the cap now
    sits below the limit, so the excess gets a 503 instead of a failed accept."""
    from smkit.backends.local.http_guard import Limits, fit_to_descriptors

    assert fit_to_descriptors(Limits(), 1024).max_connections == 896
    assert fit_to_descriptors(Limits(max_connections=100), 1024).max_connections == 100
    assert fit_to_descriptors(Limits(), 65536).max_connections == 4096


def test_idle_crowd_over_the_descriptor_limit_gets_503_not_starvation():
    with guarded_server(fd_limit=1024, head_timeout=30) as (host, port, url):
        with idle_connections(host, port, 1050):
            time.sleep(0.5)
            t0 = time.monotonic()
            _, codes = legit_latencies(url, 1)
            took = time.monotonic() - t0
        # once the crowd is gone the server serves again
        _, after = legit_latencies(url, 3)
    assert codes == [503] and took < 5, (codes, took)
    assert after == [200, 200, 200]
