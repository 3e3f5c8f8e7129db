"""The interfaces every backend implements.

A backend is a small object with an :class:`ObjectStore` (``s3://`` URIs), a :class:`Catalog`
(named resources with statuses) and a handful of coarse verbs. The verbs take *specs*
(immutable attrs objects built by the user) and return handles. Capabilities added by later
modules (training, serving, monitoring, workflows) add verbs here; a backend that does not
implement a verb raises :class:`NotImplementedError` naming it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import attrs

__all__ = ["Backend", "Catalog", "ObjectInfo", "ObjectStore", "Resource", "Transition"]


@attrs.frozen
class ObjectInfo:
    """What a store knows about one object.

    Attributes:
        uri: ``s3://bucket/key`` of the object.
        size: Size in bytes.
        sha256: Hex SHA-256 of the content, or ``None`` when the store does not know it.
        last_modified: When the object was last written (UTC).
    """

    uri: str
    size: int
    sha256: str | None = None
    last_modified: datetime | None = None


@runtime_checkable
class ObjectStore(Protocol):
    """Objects addressed by ``s3://bucket/key`` URIs, with S3's semantics.

    Writes are atomic: a reader sees the old object or the new one, never a part.
    """

    def put_bytes(self, uri: str, data: bytes, *, content_type: str | None = None) -> ObjectInfo:
        """Write ``data`` to ``uri`` (replacing any object there)."""
        ...

    def put_file(
        self, uri: str, path: str | Path, *, content_type: str | None = None, progress: bool = False
    ) -> tuple[ObjectInfo, bool]:
        """Upload a local file; returns the object and whether bytes were sent.

        An object whose SHA-256 already matches the file's is not uploaded again.
        """
        ...

    def get_bytes(self, uri: str) -> bytes:
        """Read an object's bytes; :class:`~smkit.errors.ResourceNotFoundError` if absent."""
        ...

    def get_file(self, uri: str, path: str | Path) -> Path:
        """Download an object to ``path`` (atomically) and return the path."""
        ...

    def head(self, uri: str) -> ObjectInfo | None:
        """Describe an object, or ``None`` when there is none."""
        ...

    def list(self, prefix: str) -> list[ObjectInfo]:
        """Objects whose key starts with the prefix's key (string prefix, as S3), sorted by key."""
        ...

    def delete(self, uri: str) -> None:
        """Delete an object (no error when it is absent, as S3)."""
        ...


@attrs.frozen
class Transition:
    """One status change of a resource."""

    status: str
    at: datetime
    message: str | None = None


@attrs.frozen
class Resource:
    """A catalog record: a named resource of some kind, its status and its fields.

    Attributes:
        kind: Resource kind, e.g. ``"training_job"``, ``"endpoint"``.
        name: Unique name within the kind.
        status: Current status (``InProgress``, ``InService``, ``Completed``...).
        data: The resource's fields, shaped like the matching AWS Describe* response.
        created_at: Creation time (UTC).
        updated_at: Time of the last change (UTC).
        transitions: Status history, oldest first.
    """

    kind: str
    name: str
    status: str
    data: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    transitions: tuple[Transition, ...] = ()


@runtime_checkable
class Catalog(Protocol):
    """Named resources with statuses, shared by every process using the same backend."""

    def create(self, kind: str, name: str, data: dict[str, Any], *, status: str) -> Resource:
        """Record a new resource; :class:`~smkit.errors.ResourceExistsError` if taken."""
        ...

    def describe(self, kind: str, name: str) -> Resource:
        """One resource; :class:`~smkit.errors.ResourceNotFoundError` if there is none."""
        ...

    def list(self, kind: str, *, status: str | None = None) -> list[Resource]:
        """Resources of a kind (optionally with a status), newest first."""
        ...

    def update(
        self,
        kind: str,
        name: str,
        *,
        status: str | None = None,
        message: str | None = None,
        **fields: Any,
    ) -> Resource:
        """Change a resource's status and/or merge fields into its data."""
        ...

    def delete(self, kind: str, name: str, *, reason: str | None = None) -> None:
        """Delete a resource (its history is kept where the backend can keep it)."""
        ...


@runtime_checkable
class Backend(Protocol):
    """What a backend offers. ``name`` is its registry name (``local``, ``aws``)."""

    name: str
    store: ObjectStore
    catalog: Catalog

    def describe(self, kind: str, name: str) -> Resource:
        """Describe a resource (same as ``catalog.describe``)."""
        ...

    def close(self) -> None:
        """Release what the backend holds (connections, clients)."""
        ...


def iter_chunks(fh: Any, size: int = 1 << 20) -> Iterator[bytes]:
    """Yield ``size``-byte chunks of a binary file object until EOF."""
    while chunk := fh.read(size):
        yield chunk


def sha256_file(path: str | Path) -> str:
    """Hex SHA-256 of a file's content, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter_chunks(fh):
            h.update(chunk)
    return h.hexdigest()
