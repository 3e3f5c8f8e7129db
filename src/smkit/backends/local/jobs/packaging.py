"""Files in and out of a job directory: private copies of the inputs, tarballs of the
outputs."""

from __future__ import annotations

import shutil
import sys
import tarfile
from pathlib import Path

__all__: list[str] = []


def _private_copy(src: Path, dest: Path) -> None:
    """Copy ``src`` to ``dest`` so that writing ``dest`` can never change ``src``.

    Never a hard link (a script rewriting its input in place would rewrite the stored object
    or the user's file). A copy-on-write clone (``FICLONE``, btrfs / XFS) is tried first, as
    cheap as a link but private; otherwise a plain copy (``copy_file_range`` / ``sendfile``).
    """
    if dest.exists() or dest.is_symlink():
        dest.unlink()
    if _reflink(src, dest):
        return
    shutil.copyfile(src, dest)


_FICLONE = 0x40049409  # _IOW(0x94, 9, int): Linux's copy-on-write clone ioctl


def _reflink(src: Path, dest: Path) -> bool:
    if not sys.platform.startswith("linux"):
        return False
    import fcntl

    try:
        with open(src, "rb") as fin, open(dest, "wb") as fout:
            try:
                fcntl.ioctl(fout.fileno(), _FICLONE, fin.fileno())
                return True
            except OSError:
                pass
    except OSError:
        pass
    dest.unlink(missing_ok=True)
    return False


def _pack(directory: Path, target: Path) -> None:
    """``tar czf target -C directory .`` with entries relative to the directory."""
    _pack_merged([directory], target)


def _pack_merged(directories: list[Path], target: Path) -> None:
    """One tarball of several directories laid over each other, in order: where two hold
    the same relative path, the later one's entry is packed (one entry per path)."""
    entries: dict[str, Path] = {}
    for directory in directories:
        if not directory.is_dir():
            continue
        for path in directory.rglob("*"):
            entries[path.relative_to(directory).as_posix()] = path
    with tarfile.open(target, "w:gz") as tar:
        for arcname in sorted(entries, key=lambda name: name.split("/")):
            tar.add(entries[arcname], arcname=arcname, recursive=False)
