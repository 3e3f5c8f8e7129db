"""S3 URIs: parsing, formatting, joining.

The same ``s3://bucket/key`` strings work on every backend; the local backend maps them
below its root. Bucket names follow S3's rules (3-63 characters of lower-case letters,
digits, dots and hyphens, starting and ending with a letter or digit). Keys are any
non-empty text without NUL; a key is *safe* when it is relative and has no ``.``/``..``
segment, which is what the local store requires.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from smkit.errors import InvalidURIError, UnsafeKeyError

__all__ = ["S3URI", "check_key", "join", "parse", "to_uri"]

_BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]$")


class S3URI(NamedTuple):
    """A parsed ``s3://bucket/key`` URI. ``key`` may be empty (the bucket itself)."""

    bucket: str
    key: str

    def __str__(self) -> str:
        return to_uri(self.bucket, self.key)

    def join(self, *parts: str) -> S3URI:
        """Return this URI with ``parts`` appended as key segments."""
        return parse(join(str(self), *parts))

    @property
    def name(self) -> str:
        """The last segment of the key (a file name), or '' for a prefix ending in '/'."""
        return self.key.rsplit("/", 1)[-1]


def parse(uri: str) -> S3URI:
    """Parse ``s3://bucket/key``.

    Args:
        uri: The URI text.

    Returns:
        The bucket and key (the key without a leading slash; may be empty).

    Raises:
        InvalidURIError: not a string, wrong scheme, bad bucket name, NUL in the key.
    """
    if not isinstance(uri, str):
        raise InvalidURIError(f"S3 URI must be a string, got {type(uri).__name__}: {uri!r}")
    if not uri.startswith("s3://"):
        raise InvalidURIError(
            f"not an S3 URI: {uri!r}", hint="write it as s3://bucket/key", uri=uri
        )
    rest = uri[5:]
    bucket, _, key = rest.partition("/")
    if not _BUCKET_RE.match(bucket) or ".." in bucket:
        raise InvalidURIError(
            f"invalid bucket name {bucket!r} in {uri!r}",
            hint="3-63 lower-case letters, digits, '.' or '-', starting and ending alphanumeric",
            uri=uri,
        )
    if "\x00" in key:
        raise InvalidURIError(f"NUL character in key of {uri!r}", uri=uri)
    return S3URI(bucket, key)


def to_uri(bucket: str, key: str = "") -> str:
    """Format a bucket and key as ``s3://bucket/key`` (validating the bucket)."""
    text = f"s3://{bucket}/{key}" if key else f"s3://{bucket}"
    parse(text)
    return text


def join(base: str, *parts: str) -> str:
    """Join key segments onto an S3 URI, with exactly one '/' between them.

    Examples:
        >>> join("s3://b/prefix/", "a", "/b.csv")
        's3://b/prefix/a/b.csv'
    """
    head = base.rstrip("/")
    segs = [p.strip("/") for p in parts if p and p.strip("/")]
    if not segs:
        return base
    if head.endswith("s3:/"):  # base was "s3://" alone
        raise InvalidURIError(f"cannot join onto {base!r}")
    return "/".join([head, *segs])


def check_key(key: str) -> str:
    """Return ``key`` if it is safe to map below a directory, else raise.

    A safe key is non-empty, relative (no leading '/'), has no backslash, NUL, or
    '.'/'..' segment.

    Raises:
        UnsafeKeyError: the key could escape the root it is mapped under.
    """
    if not key:
        raise UnsafeKeyError("empty object key", key=key)
    bad = (
        key.startswith("/")
        or "\\" in key
        or "\x00" in key
        or any(seg in (".", "..") for seg in key.split("/"))
    )
    if bad:
        raise UnsafeKeyError(
            f"object key {key!r} could escape the store root",
            hint="use a relative key without '.', '..', '\\' or a leading '/'",
            key=key,
        )
    return key
