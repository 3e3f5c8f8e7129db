"""``requirements.txt`` in a code directory, installed as SageMaker's toolkits do, cached.

SageMaker's training toolkit runs ``pip install -r requirements.txt`` from the code directory
before the entry point, and the inference toolkit does the same for ``code/requirements.txt``
of a model before the model server starts. Inside the container that installs into the
image's own environment: packages the image already has are "already satisfied", the rest
(or other versions) are added.

Locally the environment is smkit's own, which a job must not change. So the install is split
in two, with the same outcome for the script:

1. ``pip install --dry-run --report`` resolves the file against the running environment (as
   the container's pip would against the image) and lists only what is missing or pinned to
   another version;
2. exactly those distributions are installed with ``--no-deps --target`` into a **layer**:
   ``<root>/envs/<key>/``, prepended to the script's ``PYTHONPATH`` so it shadows the base.

The key hashes the file's bytes, the local files it names (wheels, archives), the
interpreter and the platform, so an unchanged file is installed once and reused by every
later job and endpoint (a requirement on a local *directory* is re-resolved each time, since
its contents are not hashed). Layers are built in a temporary directory and renamed into
place under a file lock: concurrent jobs with the same file build it once, and a half-built
layer is never used. pip's output goes to the job's log line by line (the progress), and a
failure raises `smkit.errors.RequirementsError` with pip's own error line.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from smkit.errors import RequirementsError

__all__ = ["NO_REQUIREMENTS_ENV", "REQUIREMENTS_FILE", "install_layer", "layer_key"]

#: The file the toolkits look for at the top of the code directory.
REQUIREMENTS_FILE = "requirements.txt"
#: Set to ``1`` to skip installs everywhere (what ``--no-requirements`` sets on a spec).
NO_REQUIREMENTS_ENV = "SMKIT_NO_REQUIREMENTS"
#: Seconds pip may take for one phase before the install is given up.
PIP_TIMEOUT = 1800.0
_READY = ".smkit-layer-ready"


def _local_refs(requirements: Path) -> tuple[list[Path], bool]:
    """Local files the requirement lines name, and whether any names a directory."""
    files: list[Path] = []
    has_dir = False
    for raw in requirements.read_text(encoding="utf-8", errors="replace").splitlines():
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith(("-e ", "--editable")):
            has_dir = True
            continue
        if line.startswith("-"):
            continue
        target = line[7:] if line.startswith("file://") else line
        if target.startswith((".", "/", "~")):
            path = (requirements.parent / Path(target).expanduser()).resolve()
            if path.is_dir():
                has_dir = True
            elif path.is_file():
                files.append(path)
    return files, has_dir


def layer_key(requirements: Path) -> str | None:
    """The cache key of a requirements file, or ``None`` when it cannot be cached.

    Args:
        requirements: Path to the ``requirements.txt``.

    Returns:
        24 hex digits, or ``None`` when a line names a local directory.
    """
    files, has_dir = _local_refs(requirements)
    if has_dir:
        return None
    digest = hashlib.sha256()
    digest.update(requirements.read_bytes())
    for path in files:
        digest.update(path.name.encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    tag = f"{sys.implementation.cache_tag}-{platform.machine()}-{sys.platform}-{sys.prefix}"
    digest.update(tag.encode())
    return digest.hexdigest()[:24]


def _pip(
    args: list[str], *, cwd: Path, log: Callable[[str], None], timeout: float
) -> tuple[int, list[str]]:
    """Run pip with this interpreter, each output line to ``log``; (rc, last lines)."""
    cmd = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input", *args]
    env = dict(os.environ)
    env.setdefault("PIP_NO_WARN_SCRIPT_LOCATION", "1")
    tail: list[str] = []
    proc = subprocess.Popen(
        cmd,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
    )
    assert proc.stdout is not None
    import threading

    timer = threading.Timer(timeout, proc.kill)
    timer.start()
    try:
        for line in proc.stdout:
            line = line.rstrip()
            # pip's index-location notices are configuration noise, not progress
            if not line or line.startswith("WARNING: Location "):
                continue
            log(f"pip: {line}")
            tail.append(line)
            del tail[:-40]
        rc = proc.wait()
    finally:
        timer.cancel()
    return rc, tail


def _failure(requirements: Path, tail: list[str], phase: str) -> RequirementsError:
    errors = [line for line in tail if line.startswith("ERROR:")]
    first = errors[0] if errors else (tail[-1] if tail else "pip gave no output")
    return RequirementsError(
        f"installing {requirements} failed while {phase}: {first}",
        hint=(
            "check the package names, versions and index settings (PIP_INDEX_URL, pip.conf),"
            " or skip the install with --no-requirements"
        ),
        path=str(requirements),
        output="\n".join(tail),
    )


def install_layer(
    requirements: Path,
    root: Path,
    *,
    log: Callable[[str], None] = lambda line: None,
    timeout: float = PIP_TIMEOUT,
    workdir: Path | None = None,
) -> Path | None:
    """Install what ``requirements`` adds to this environment; the layer's directory.

    Args:
        requirements: The ``requirements.txt`` (relative lines resolve next to it).
        root: The local backend root; layers live in ``<root>/envs/``.
        log: Called with each progress line (pip's output, prefixed ``pip:``).
        timeout: Seconds each pip phase may take.
        workdir: Where a layer that cannot be cached (a line names a local directory) is
            built: the job's or endpoint's own directory, removed with it. Defaults to a
            fresh directory under ``<root>/envs/``.

    Returns:
        The directory to put first on ``PYTHONPATH``, or ``None`` when everything the file
        asks for is already satisfied by this environment.

    Raises:
        RequirementsError: pip could not resolve or install the file.
    """
    requirements = Path(requirements).resolve()
    key = layer_key(requirements)
    envs = Path(root) / "envs"
    envs.mkdir(parents=True, exist_ok=True)
    final = envs / key if key is not None else None
    if final is not None and (final / _READY).is_file():
        log(f"smkit: requirements.txt already installed (layer {final.name})")
        return _result(final)

    import fcntl

    lock_path = envs / f"{key or 'uncached'}.lock"
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if final is not None and (final / _READY).is_file():
            log(f"smkit: requirements.txt already installed (layer {final.name})")
            return _result(final)
        log(f"smkit: installing {requirements.name} (pip install -r, as the toolkit does)")
        build = Path(tempfile.mkdtemp(prefix=".smkit-tmp-layer-", dir=envs))
        try:
            report = build / "report.json"
            rc, tail = _pip(
                ["install", "--dry-run", "--report", str(report), "-r", str(requirements)],
                cwd=requirements.parent,
                log=log,
                timeout=timeout,
            )
            if rc != 0:
                raise _failure(requirements, tail, "resolving")
            items = json.loads(report.read_text()).get("install", [])
            urls = [item["download_info"]["url"] for item in items]
            site = build / "site"
            site.mkdir()
            if urls:
                names = ", ".join(
                    f"{i['metadata']['name']}=={i['metadata']['version']}" for i in items
                )
                log(f"smkit: adding {names}")
                rc, tail = _pip(
                    ["install", "--no-deps", "--target", str(site), *urls],
                    cwd=requirements.parent,
                    log=log,
                    timeout=timeout,
                )
                if rc != 0:
                    raise _failure(requirements, tail, "installing")
            else:
                log("smkit: every requirement is already satisfied")
            report.unlink()
            (build / _READY).write_text(json.dumps({"requirements": str(requirements)}))
            if final is not None:
                target = final
            elif workdir is not None:
                target = Path(workdir) / "requirements-layer"
            else:
                target = envs / f"uncached-{build.name[-8:]}"
            if target.exists():
                shutil.rmtree(target)
            build.rename(target)
            return _result(target)
        finally:
            if build.exists():
                shutil.rmtree(build, ignore_errors=True)


def _result(layer: Path) -> Path | None:
    site = layer / "site"
    return site if site.is_dir() and any(site.iterdir()) else None
