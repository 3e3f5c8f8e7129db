"""Training hosts on one machine: ``algo-1`` ... ``algo-N`` with names that resolve.

SageMaker runs a training job with ``InstanceCount=N`` on N instances named ``algo-1`` ...
``algo-N``: each instance's hostname is its own name, every name resolves on every
instance, and the training toolkit tells the script the list (``SM_HOSTS``) and its own
name (``SM_CURRENT_HOST``). A ``torch.distributed`` script connects to
``SM_MASTER_HOSTNAME`` (``algo-1``) and each rank binds to the address its own hostname
resolves to. SageMaker local mode plays this with one Docker container per host.

The local backend plays it with one process per host, each in its own mount and UTS
namespace (``unshare``, a user namespace too when not run as root), where

- ``/etc/hosts`` is a bind-mounted copy of the machine's own with one loopback address
  per host (``127.10.0.1 algo-1``, ``127.10.0.2 algo-2``, ...), so the C resolver (gloo's,
  NCCL's, ``getaddrinfo``) finds them, not only Python;
- the hostname is the host's name (``socket.gethostname() == SM_CURRENT_HOST``).

The processes share the machine's network namespace: they reach each other on loopback
and the outside world as the machine does (a SageMaker job without network isolation
does too). Two distributed jobs running at once share its port space, so two PyTorch
jobs that both take the PyTorch container's ``MASTER_PORT=7777`` collide; run them one
after the other.

Where namespaces are not available (a kernel or container that forbids unprivileged
user namespaces, a machine without ``unshare``) or ``SMKIT_HOST_NAMESPACES=0`` turns
them off, each host runs as a plain process: the ``SM_*`` contract is the same, but the
host names only resolve if the machine already resolves them, and the job's log says so.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

__all__ = [
    "HOSTS_FILE",
    "host_address",
    "host_names",
    "hosts_file_text",
    "namespace_support",
    "wrap_command",
]

#: The machine's resolver file, copied and extended for the hosts.
HOSTS_FILE = Path("/etc/hosts")
#: Turn host namespaces off (``0``): hosts run as plain processes.
ENV_SWITCH = "SMKIT_HOST_NAMESPACES"


def host_names(count: int) -> list[str]:
    """SageMaker's host names for ``count`` instances: ``algo-1`` ... ``algo-<count>``."""
    if count < 1:
        raise ValueError(f"a job has at least one host, got {count}")
    return [f"algo-{i}" for i in range(1, count + 1)]


def host_address(index: int) -> str:
    """The loopback address of the ``index``-th host (0-based): ``127.10.0.<index + 1>``.

    Every ``127.0.0.0/8`` address is on the loopback interface on Linux, so each host binds
    and is reached at its own address without any network set-up.
    """
    if not 0 <= index < 254 * 256:
        raise ValueError(f"host index {index} out of range")
    return f"127.10.{index // 254}.{1 + index % 254}"


def hosts_file_text(hosts: list[str], base: str | None = None) -> str:
    """The ``/etc/hosts`` a host sees: the machine's own lines, then one line per host."""
    if base is None:
        try:
            base = HOSTS_FILE.read_text(encoding="utf-8", errors="replace")
        except OSError:
            base = "127.0.0.1\tlocalhost\n"
    if base and not base.endswith("\n"):
        base += "\n"
    lines = [f"{host_address(i)}\t{name}" for i, name in enumerate(hosts)]
    return base + "# smkit: this training job's hosts\n" + "\n".join(lines) + "\n"


def _unshare_prefix() -> list[str]:
    # root may create mount / UTS namespaces itself; anyone else needs a user namespace
    # (and is root inside it, as a SageMaker training container's process is)
    flags = ["--mount", "--uts"]
    if os.geteuid() != 0:
        flags = ["--user", "--map-root-user", *flags]
    return ["unshare", *flags]


# the shell that runs inside the new namespaces: bind the hosts file, name the host, exec
_ENTER = 'mount --bind "$1" /etc/hosts && hostname "$2" && shift 2 && exec "$@"'


def wrap_command(cmd: list[str], host: str, hosts_file: Path) -> list[str]:
    """``cmd`` run as ``host``: its own hostname and ``hosts_file`` as ``/etc/hosts``.

    The process ``exec``s into ``cmd``: its pid is the script's, so signals and the
    profiler reach the script itself.
    """
    return [*_unshare_prefix(), "/bin/sh", "-c", _ENTER, "smkit-host", str(hosts_file), host, *cmd]


@functools.cache
def namespace_support() -> str | None:
    """``None`` when hosts can run in their own namespaces here, else why not.

    Probes once per process: ``unshare`` into the namespaces, bind a hosts file, set the
    hostname and resolve a host name through the C resolver (``getent``).
    """
    if os.environ.get(ENV_SWITCH, "").strip() == "0":
        return f"{ENV_SWITCH}=0"
    if not os.path.exists("/etc/hosts"):
        return "this machine has no /etc/hosts"
    for tool in ("unshare", "mount", "hostname", "getent"):
        if shutil.which(tool) is None:
            return f"{tool!r} is not installed"
    with tempfile.TemporaryDirectory(prefix="smkit-hosts-") as tmp:
        probe = Path(tmp) / "hosts"
        probe.write_text(hosts_file_text(["algo-1"]), encoding="utf-8")
        cmd = wrap_command(["getent", "hosts", "algo-1"], "algo-1", probe)
        try:
            out = subprocess.run(cmd, capture_output=True, text=True, timeout=20)
        except (OSError, subprocess.SubprocessError) as exc:
            return f"unshare failed: {exc}"
        if out.returncode != 0 or host_address(0) not in out.stdout:
            detail = (out.stderr or out.stdout).strip().splitlines()
            return "unshare failed: " + (detail[-1] if detail else f"exit code {out.returncode}")
    return None
