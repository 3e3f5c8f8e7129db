"""The local object store: ``s3://bucket/key`` mapped to files below ``<root>/s3/``.

Writes go to a temporary file in the destination directory, are flushed and fsynced, then
renamed over the target, so a reader never sees half an object and a crash leaves no partial
file under the object's name. Temporary files carry a prefix that listings skip.

One limitation of mapping keys to paths: S3 allows both ``a`` and ``a/b`` as keys, a file
system does not. Writing one when the other exists raises `ConfigError`.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import uuid
from datetime import UTC, datetime
from pathlib import Path

from smkit import uri as s3uri
from smkit.backends._protocol import ObjectInfo, iter_chunks, sha256_file
from smkit.errors import ConfigError, ResourceNotFoundError, SourceNotFoundError

__all__ = ["LocalStore"]

TMP_PREFIX = ".smkit-tmp-"
_PROGRESS_MIN_BYTES = 8 << 20


class LocalStore:
    """An S3-shaped object store on the local file system.

    Args:
        root: Directory holding one sub-directory per bucket.
    """

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).resolve()

    # -- mapping -------------------------------------------------------------------------
    def path_for(self, uri: str) -> Path:
        """The file that holds the object at ``uri`` (which need not exist).

        Raises:
            InvalidURIError: malformed URI.
            UnsafeKeyError: the key would escape the root.
        """
        bucket, key = s3uri.parse(uri)
        s3uri.check_key(key)
        if any(len(seg.encode("utf-8", "surrogatepass")) > 255 for seg in key.split("/")):
            raise ConfigError(
                f"object key {key[:80]!r}...: the local store maps each '/'-separated segment "
                "to a file name, and file names hold at most 255 bytes",
                hint="use shorter segments (S3 itself allows them)",
                uri=uri[:300],
            )
        path = (self.root / bucket / key).resolve()
        if not path.is_relative_to(self.root / bucket):  # symlinks planted under the root
            s3uri.check_key("..")  # raises UnsafeKeyError
        return path

    def _info(self, bucket: str, key: str, path: Path, *, digest: bool = True) -> ObjectInfo:
        st = path.stat()
        return ObjectInfo(
            uri=s3uri.to_uri(bucket, key),
            size=st.st_size,
            sha256=sha256_file(path) if digest else None,
            last_modified=datetime.fromtimestamp(st.st_mtime, UTC),
        )

    def _atomic_target(self, uri: str) -> Path:
        path = self.path_for(uri)
        key = s3uri.parse(uri)[1]
        if "//" in key or key.endswith("/"):
            raise ConfigError(
                f"cannot write {uri!r}: an empty key segment ('a//b' or a trailing '/') would be "
                "stored under another key in the local store",
                uri=uri,
            )
        if path.name.startswith(TMP_PREFIX):
            raise ConfigError(
                f"cannot write {uri!r}: key segments starting {TMP_PREFIX!r} are reserved for "
                "the local store's temporary files (they would never be listed)",
                uri=uri,
            )
        for parent in path.parents:
            if parent == self.root:
                break
            if parent.is_file():
                raise ConfigError(
                    f"cannot write {uri!r}: a prefix of its key is an object "
                    f"({parent.relative_to(self.root)}); the local store cannot hold both",
                    uri=uri,
                )
        if path.is_dir():
            raise ConfigError(f"cannot write {uri!r}: other objects use it as a prefix", uri=uri)
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    @staticmethod
    def _tmp_for(path: Path) -> Path:
        return path.with_name(f"{TMP_PREFIX}{uuid.uuid4().hex}-{path.name}"[:255])

    # -- writing -------------------------------------------------------------------------
    def put_bytes(self, uri: str, data: bytes, *, content_type: str | None = None) -> ObjectInfo:
        """Atomically write ``data`` as the object at ``uri``."""
        path = self._atomic_target(uri)
        tmp = self._tmp_for(path)
        try:
            with open(tmp, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
        return ObjectInfo(
            uri=uri,
            size=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
            last_modified=datetime.fromtimestamp(path.stat().st_mtime, UTC),
        )

    def put_file(
        self,
        uri: str,
        path: str | Path,
        *,
        content_type: str | None = None,
        progress: bool = False,
    ) -> tuple[ObjectInfo, bool]:
        """Copy a local file to ``uri``, skipping the copy when the content is unchanged.

        Returns:
            The object's info and ``True`` when bytes were written.
        """
        src = Path(path)
        if not src.is_file():
            raise SourceNotFoundError(f"no such file: {str(src)!r}", path=str(src))
        digest = sha256_file(src)
        existing = self.head(uri)
        if existing is not None and existing.sha256 == digest:
            return existing, False
        target = self._atomic_target(uri)
        tmp = self._tmp_for(target)
        size = src.stat().st_size
        try:
            with open(src, "rb") as fin, open(tmp, "wb") as fout:
                bar = _progress_bar(uri, size) if progress and size >= _PROGRESS_MIN_BYTES else None
                for chunk in iter_chunks(fin, 4 << 20):
                    fout.write(chunk)
                    if bar is not None:
                        bar.update(len(chunk))
                if bar is not None:
                    bar.close()
                fout.flush()
                os.fsync(fout.fileno())
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)
        st = target.stat()
        return (
            ObjectInfo(
                uri=uri,
                size=st.st_size,
                sha256=digest,
                last_modified=datetime.fromtimestamp(st.st_mtime, UTC),
            ),
            True,
        )

    # -- reading -------------------------------------------------------------------------
    def get_bytes(self, uri: str) -> bytes:
        """The object's bytes."""
        path = self.path_for(uri)
        if not path.is_file():
            raise ResourceNotFoundError(f"no object at {uri!r}", uri=uri)
        return path.read_bytes()

    def get_file(self, uri: str, path: str | Path) -> Path:
        """Copy the object to ``path`` (atomically) and return ``path``."""
        src = self.path_for(uri)
        if not src.is_file():
            raise ResourceNotFoundError(f"no object at {uri!r}", uri=uri)
        dest = Path(path)
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = self._tmp_for(dest)
        try:
            shutil.copyfile(src, tmp)
            os.replace(tmp, dest)
        finally:
            tmp.unlink(missing_ok=True)
        return dest

    def head(self, uri: str) -> ObjectInfo | None:
        """Describe the object at ``uri`` or return ``None``."""
        path = self.path_for(uri)
        if not path.is_file():
            return None
        bucket, key = s3uri.parse(uri)
        return self._info(bucket, key, path)

    def list(self, prefix: str) -> list[ObjectInfo]:
        """Objects whose key starts with the key of ``prefix`` (S3 string-prefix semantics)."""
        bucket, key_prefix = s3uri.parse(prefix)
        bucket_dir = self.root / bucket
        if not bucket_dir.is_dir():
            return []
        # walk from the deepest directory the prefix names fully
        start_rel = key_prefix.rsplit("/", 1)[0] if "/" in key_prefix else ""
        if start_rel:
            s3uri.check_key(start_rel)
        start = bucket_dir / start_rel if start_rel else bucket_dir
        if not start.is_dir():
            return []
        out: list[ObjectInfo] = []
        for dirpath, dirnames, filenames in os.walk(start):
            dirnames.sort()
            for fname in filenames:
                if fname.startswith(TMP_PREFIX):
                    _sweep_orphan(Path(dirpath, fname))
                    continue
                full = Path(dirpath, fname)
                key = full.relative_to(bucket_dir).as_posix()
                if key.startswith(key_prefix):
                    out.append(self._info(bucket, key, full, digest=False))
        out.sort(key=lambda o: o.uri)
        return out

    def delete(self, uri: str) -> None:
        """Remove the object; empty parent directories are pruned."""
        path = self.path_for(uri)
        path.unlink(missing_ok=True)
        bucket, _ = s3uri.parse(uri)
        stop = self.root / bucket
        parent = path.parent
        while parent != stop and parent.is_relative_to(stop):
            try:
                parent.rmdir()
            except OSError:
                break
            parent = parent.parent


#: A temporary file older than this was left by a writer that died (writes take seconds).
ORPHAN_SECONDS = 3600.0


def _sweep_orphan(path: Path) -> None:
    """Remove a temporary file a killed writer left behind (seen while listing)."""
    import time

    try:
        if time.time() - path.stat().st_mtime > ORPHAN_SECONDS:
            path.unlink()
    except OSError:
        pass


def _progress_bar(label: str, total: int):  # type: ignore[no-untyped-def]
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, desc=label, leave=False)
