"""Contract test suites every backend's store and catalog must pass.

Subclass them in a test module and provide a ``store`` or ``catalog`` fixture (and
``bucket``, the bucket name to use)::

    class TestMyStore(StoreContract):
        @pytest.fixture
        def store(self): ...
"""

from __future__ import annotations

import pytest

from smkit.errors import (
    InvalidURIError,
    ResourceExistsError,
    ResourceNotFoundError,
    UnsafeKeyError,
)

__all__ = ["CatalogContract", "StoreContract"]


class StoreContract:
    """Behaviour of an :class:`~smkit.backends._protocol.ObjectStore`."""

    bucket = "smkit-test"

    def uri(self, key: str) -> str:
        return f"s3://{self.bucket}/{key}"

    def test_put_get_roundtrip(self, store) -> None:
        info = store.put_bytes(self.uri("a/b.txt"), b"hello")
        assert info.size == 5
        assert store.get_bytes(self.uri("a/b.txt")) == b"hello"

    def test_overwrite_replaces(self, store) -> None:
        store.put_bytes(self.uri("x"), b"one")
        store.put_bytes(self.uri("x"), b"two!")
        assert store.get_bytes(self.uri("x")) == b"two!"
        assert store.head(self.uri("x")).size == 4

    def test_head_missing_is_none(self, store) -> None:
        assert store.head(self.uri("nope/never")) is None

    def test_get_missing_raises(self, store) -> None:
        with pytest.raises(ResourceNotFoundError):
            store.get_bytes(self.uri("nope/never"))

    def test_list_by_string_prefix(self, store) -> None:
        for key in ("p/a.csv", "p/b.csv", "p/sub/c.csv", "pq/d.csv", "other/e.csv"):
            store.put_bytes(self.uri(key), key.encode())
        keys = [o.uri for o in store.list(self.uri("p/"))]
        assert keys == [self.uri("p/a.csv"), self.uri("p/b.csv"), self.uri("p/sub/c.csv")]
        keys = [o.uri for o in store.list(self.uri("p"))]
        assert self.uri("pq/d.csv") in keys and self.uri("other/e.csv") not in keys
        assert store.list(self.uri("zzz/")) == []

    def test_put_file_skips_unchanged(self, store, tmp_path) -> None:
        src = tmp_path / "data.csv"
        src.write_bytes(b"a,b\n1,2\n")
        info, sent = store.put_file(self.uri("f/data.csv"), src)
        assert sent and info.sha256 is not None
        info2, sent2 = store.put_file(self.uri("f/data.csv"), src)
        assert not sent2 and info2.sha256 == info.sha256
        src.write_bytes(b"a,b\n1,3\n")
        _, sent3 = store.put_file(self.uri("f/data.csv"), src)
        assert sent3
        assert store.get_bytes(self.uri("f/data.csv")) == b"a,b\n1,3\n"

    def test_get_file(self, store, tmp_path) -> None:
        store.put_bytes(self.uri("g/model.bin"), b"\x00\x01\x02")
        dest = store.get_file(self.uri("g/model.bin"), tmp_path / "out" / "model.bin")
        assert dest.read_bytes() == b"\x00\x01\x02"

    def test_delete(self, store) -> None:
        store.put_bytes(self.uri("d/x"), b"1")
        store.delete(self.uri("d/x"))
        assert store.head(self.uri("d/x")) is None
        store.delete(self.uri("d/x"))  # deleting twice is fine, as on S3

    @pytest.mark.parametrize("key", ["../escape", "a/../../b", "/abs", "a/./b", "a\\b"])
    def test_unsafe_keys_rejected(self, store, key) -> None:
        with pytest.raises(UnsafeKeyError):
            store.put_bytes(self.uri(key), b"x")

    def test_bad_uri_rejected(self, store) -> None:
        with pytest.raises(InvalidURIError):
            store.put_bytes("http://example/x", b"x")


class CatalogContract:
    """Behaviour of a :class:`~smkit.backends._protocol.Catalog` for the ``model`` kind."""

    def model_request(self) -> dict:
        return {
            "ExecutionRoleArn": "arn:aws:iam::123456789012:role/SmkitTestRole",
            "PrimaryContainer": {
                "Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/xgb:1",
                "ModelDataUrl": "s3://smkit-test/model.tar.gz",
            },
        }

    def test_create_describe_list_delete(self, catalog) -> None:
        created = catalog.create("model", "m-one", self.model_request(), status="Created")
        assert created.name == "m-one"
        got = catalog.describe("model", "m-one")
        assert got.name == "m-one" and got.status
        assert got.data["PrimaryContainer"]["ModelDataUrl"] == "s3://smkit-test/model.tar.gz"
        assert "m-one" in [r.name for r in catalog.list("model")]
        catalog.delete("model", "m-one")
        assert "m-one" not in [r.name for r in catalog.list("model")]

    def test_duplicate_name_refused(self, catalog) -> None:
        catalog.create("model", "m-dup", self.model_request(), status="Created")
        with pytest.raises(ResourceExistsError):
            catalog.create("model", "m-dup", self.model_request(), status="Created")

    def test_describe_missing(self, catalog) -> None:
        with pytest.raises(ResourceNotFoundError):
            catalog.describe("model", "never-created")

    def test_list_newest_first(self, catalog) -> None:
        import time

        catalog.create("model", "m-old", self.model_request(), status="Created")
        time.sleep(1.1)  # SageMaker's CreationTime has second resolution on some services
        catalog.create("model", "m-new", self.model_request(), status="Created")
        names = [r.name for r in catalog.list("model")]
        assert names.index("m-new") < names.index("m-old")
