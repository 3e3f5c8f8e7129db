"""pytest fixtures: ``moto``, ``aws_backend``, ``aws_session``, ``local_session``.

Load them with ``pytest_plugins = ["smkit.testing.fixtures"]``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from smkit.testing.moto import MotoServer, moto_server

TEST_BUCKET = "smkit-test"
TEST_ROLE = "arn:aws:iam::123456789012:role/SmkitTestRole"
TEST_LAMBDA_ROLE = "arn:aws:iam::123456789012:role/SmkitTestLambdaRole"
TEST_STATES_ROLE = "arn:aws:iam::123456789012:role/SmkitTestStatesRole"


@pytest.fixture(scope="session")
def moto() -> Iterator[MotoServer]:
    """One moto server for the test session (reset between tests by ``aws_backend``)."""
    with moto_server() as server:
        yield server


@pytest.fixture
def aws_backend(moto: MotoServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """An `AwsBackend` on the moto server, with a bucket."""
    from smkit.backends.aws import AwsBackend
    from smkit.testing.moto import FAKE_CREDENTIALS

    for key, value in FAKE_CREDENTIALS.items():
        monkeypatch.setenv(key, value)
    moto.reset()
    backend = AwsBackend(
        region="us-east-1",
        endpoint_url=moto.url,
        role=TEST_ROLE,
        lambda_role=TEST_LAMBDA_ROLE,
        states_role=TEST_STATES_ROLE,
        bucket=TEST_BUCKET,
    )
    backend.store.ensure_bucket(TEST_BUCKET)
    yield backend
    backend.close()


@pytest.fixture
def aws_session(aws_backend: Any) -> Any:
    """A `smkit.Session` on `aws_backend`."""
    from smkit.session import Session

    return Session(aws_backend)


@pytest.fixture
def local_session(tmp_path: Any) -> Iterator[Any]:
    """A local `smkit.Session` rooted in a temporary directory."""
    from smkit.session import Session

    session = Session("local", root=tmp_path / "smkit-root")
    yield session
    session.close()
