"""The emulator as a pytest fixture: boto3 code under test talks to it, offline.

In a ``conftest.py``::

    pytest_plugins = ["smkit.testing.emulator"]

    def test_training(emulator_env):
        sm = boto3.client("sagemaker")      # unmodified code: AWS_ENDPOINT_URL points at it
        ...

    def test_other(emulator):
        sm = emulator.client("sagemaker")   # or an explicit client on the emulator

The fixture ``emulator`` (session scope) starts ``smkit emulator`` as a daemon on a free
127.0.0.1 port in a temporary root and stops it after the session; ``emulator_env`` (per
test) also exports fake credentials, ``AWS_DEFAULT_REGION=us-east-1`` and
``AWS_ENDPOINT_URL`` for that test only. `running_emulator` is the same as a context
manager.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from smkit.testing.moto import FAKE_CREDENTIALS

__all__ = ["Emulator", "emulator", "emulator_env", "running_emulator"]


class Emulator:
    """A running emulator.

    Attributes:
        url: ``http://127.0.0.1:<port>``.
        root: Its state directory.
        pid: The daemon's process id.
    """

    def __init__(self, url: str, root: Path, pid: int) -> None:
        self.url = url
        self.root = root
        self.pid = pid

    def client(self, service: str, **kwargs: Any) -> Any:
        """A boto3 client of ``service`` on the emulator (us-east-1, fake credentials)."""
        import boto3

        kwargs.setdefault("region_name", "us-east-1")
        kwargs.setdefault("aws_access_key_id", FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"])
        kwargs.setdefault("aws_secret_access_key", FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"])
        return boto3.session.Session().client(service, endpoint_url=self.url, **kwargs)

    def environment(self, base: dict[str, str] | None = None) -> dict[str, str]:
        """Environment for a separate process (an SDK script) that should use the emulator.

        Fake credentials, ``AWS_DEFAULT_REGION``, ``AWS_ENDPOINT_URL`` and, first on
        ``PYTHONPATH``, `smkit.testing.aws_redirect`'s ``sitecustomize`` (clients created
        with an explicit ``*.amazonaws.com`` endpoint, as the SageMaker SDK v2 makes its STS
        client, go to the emulator too).

        Args:
            base: The environment to extend (default: this process's).
        """
        env = dict(os.environ if base is None else base)
        env.update(FAKE_CREDENTIALS)
        env["AWS_ENDPOINT_URL"] = self.url
        env["SAGEMAKER_SUPPRESS_V2_WARNING"] = "1"
        shim = str(Path(__file__).resolve().parent / "aws_redirect")
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [shim, env.get("PYTHONPATH")]))
        return env

    def log(self) -> str:
        """The daemon's log so far (handy in a failing test's message)."""
        path = self.root / "emulator.log"
        return path.read_text(errors="replace") if path.is_file() else ""


@contextmanager
def running_emulator(
    root: str | Path | None = None, *, set_env: bool = True, timeout: float = 90.0
) -> Iterator[Emulator]:
    """Run an emulator for the ``with`` block.

    Args:
        root: State directory (default: a new temporary directory, removed afterwards).
        set_env: Export fake credentials, ``AWS_DEFAULT_REGION`` and ``AWS_ENDPOINT_URL``
            while it runs.
        timeout: Seconds to wait for it to start.
    """
    from smkit.emulator import daemon

    tmp = None
    if root is None:
        tmp = tempfile.TemporaryDirectory(prefix="smkit-emulator-")
        root = tmp.name
    info = daemon.start(root, 0, timeout=timeout)
    keys = [*FAKE_CREDENTIALS, "AWS_ENDPOINT_URL"]
    saved = {k: os.environ.get(k) for k in keys}
    if set_env:
        os.environ.update(FAKE_CREDENTIALS)
        os.environ["AWS_ENDPOINT_URL"] = info["url"]
    try:
        yield Emulator(info["url"], Path(info["root"]), int(info["pid"]))
    finally:
        daemon.stop(root)
        if set_env:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
        if tmp is not None:
            tmp.cleanup()


@pytest.fixture(scope="session")
def emulator() -> Iterator[Emulator]:
    """One emulator for the test session (the environment is left alone)."""
    with running_emulator(set_env=False) as emu:
        yield emu


@pytest.fixture
def emulator_env(emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> Emulator:
    """The session's emulator, with fake credentials, a region and ``AWS_ENDPOINT_URL``
    exported for this test: boto3 clients made without ``endpoint_url`` go to it."""
    for key, value in FAKE_CREDENTIALS.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("AWS_ENDPOINT_URL", emulator.url)
    return emulator
