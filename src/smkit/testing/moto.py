"""moto in server mode: a real HTTP endpoint on 127.0.0.1 that speaks the AWS APIs."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from smkit._compat import require

__all__ = ["FAKE_CREDENTIALS", "MotoServer", "free_port", "moto_server"]

FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class MotoServer:
    """A running moto server.

    Attributes:
        url: ``http://127.0.0.1:<port>``.
    """

    def __init__(self, port: int | None = None) -> None:
        server_mod = require("moto.server", "test", feature="the moto server")
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._server: Any = server_mod.ThreadedMotoServer(
            ip_address="127.0.0.1", port=self.port, verbose=False
        )

    def start(self) -> MotoServer:
        """Start serving in a background thread."""
        self._server.start()
        return self

    def reset(self) -> None:
        """Forget every resource (moto's reset API)."""
        import urllib.request

        urllib.request.urlopen(
            urllib.request.Request(f"{self.url}/moto-api/reset", method="POST"), timeout=10
        ).read()

    def stop(self) -> None:
        """Stop the server."""
        self._server.stop()


@contextmanager
def moto_server(*, set_env: bool = True) -> Iterator[MotoServer]:
    """Run a moto server for the ``with`` block; fake credentials are set in the environment.

    Args:
        set_env: Export fake credentials and a region while the server runs.
    """
    saved = {k: os.environ.get(k) for k in FAKE_CREDENTIALS}
    if set_env:
        os.environ.update(FAKE_CREDENTIALS)
    server = MotoServer().start()
    try:
        yield server
    finally:
        server.stop()
        if set_env:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
