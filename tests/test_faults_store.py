"""Injected S3 faults are retried with backoff and never leave a partial object."""

from __future__ import annotations

import os

import pytest

from smkit.errors import AwsError, SmkitError

pytestmark = pytest.mark.aws


class Injector:
    """botocore ``before-send`` hook: fail the first ``n`` matching requests."""

    def __init__(self, kind: str, n: int, operation: str | None = None) -> None:
        self.kind, self.n, self.operation = kind, n, operation
        self.injected = 0
        self.seen = 0

    def __call__(self, request, **kwargs):
        from botocore.awsrequest import AWSResponse
        from botocore.exceptions import ConnectionClosedError

        self.seen += 1
        if self.injected >= self.n:
            return None
        self.injected += 1
        if self.kind == "reset":
            raise ConnectionClosedError(endpoint_url=request.url)
        status, code = {"throttle": (503, "SlowDown"), "500": (500, "InternalError")}[self.kind]
        body = (f"<Error><Code>{code}</Code><Message>injected</Message></Error>").encode()
        raw = type("Raw", (), {"stream": lambda self, *a, **k: iter([body])})()
        return AWSResponse(request.url, status, {"Content-Type": "application/xml"}, raw)


def _hook(backend, event: str, injector: Injector) -> None:
    client = backend.requester.client("s3")
    client.meta.events.register_first(event, injector)


@pytest.mark.parametrize("kind", ["throttle", "500", "reset"])
def test_put_survives_transient_faults(aws_backend, kind):
    inj = Injector(kind, 2)
    _hook(aws_backend, "before-send.s3.PutObject", inj)
    aws_backend.store.put_bytes("s3://smkit-test/f/obj.bin", b"x" * 1000)
    assert inj.injected == 2 and inj.seen == 3  # two failures, then the retry that succeeded
    assert aws_backend.store.get_bytes("s3://smkit-test/f/obj.bin") == b"x" * 1000


def test_exhausted_retries_raise_and_leave_nothing(aws_backend):
    inj = Injector("500", 100)
    _hook(aws_backend, "before-send.s3.PutObject", inj)
    with pytest.raises(AwsError):
        aws_backend.store.put_bytes("s3://smkit-test/f/never.bin", b"y" * 10)
    assert inj.seen == aws_backend.requester.max_attempts
    assert aws_backend.store.head("s3://smkit-test/f/never.bin") is None


def test_multipart_failure_aborts_upload(aws_backend, tmp_path):
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(17 << 20))
    inj = Injector("500", 100)
    _hook(aws_backend, "before-send.s3.UploadPart", inj)
    with pytest.raises(SmkitError):
        aws_backend.store.put_file("s3://smkit-test/f/big.bin", big)
    assert aws_backend.store.head("s3://smkit-test/f/big.bin") is None
    ops = [r.operation for r in aws_backend.plan()]
    assert ops.index("AbortMultipartUpload") > ops.index("UploadPart")
    uploads = aws_backend.requester.client("s3").list_multipart_uploads(Bucket="smkit-test")
    assert not uploads.get("Uploads")


@pytest.mark.parametrize("failing", ["write", "replace"])
def test_local_store_crash_mid_write_leaves_old_object(tmp_path, monkeypatch, failing):
    from smkit.backends.local import store as store_mod

    st = store_mod.LocalStore(tmp_path / "s3")
    st.put_bytes("s3://bkt/k", b"old")
    if failing == "replace":
        monkeypatch.setattr(
            store_mod.os, "replace", lambda *a: (_ for _ in ()).throw(OSError(28, "No space"))
        )
    else:
        monkeypatch.setattr(
            store_mod.os, "fsync", lambda fd: (_ for _ in ()).throw(OSError(28, "No space"))
        )
    with pytest.raises(OSError):
        st.put_bytes("s3://bkt/k", b"new and longer")
    monkeypatch.undo()
    assert st.get_bytes("s3://bkt/k") == b"old"
    assert [p.name for p in (tmp_path / "s3" / "bkt").iterdir()] == ["k"]  # no temp file left
