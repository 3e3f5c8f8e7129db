"""Several model-server workers behind one endpoint (``SAGEMAKER_MODEL_SERVER_WORKERS``).

The inference toolkit hands ``SAGEMAKER_MODEL_SERVER_WORKERS`` to its model server as
``default_workers_per_model``: N backend processes, each with the model loaded, behind one
port. Here the endpoint server process (the one whose ``Pid`` the catalog records) binds
the listening socket once, then forks N worker processes that each load the model, open
their own capture writer (capture object names carry a random UUID, so two writers never
overwrite each other) and run uvicorn on the shared socket; the kernel hands each new
connection to one of them. The parent only supervises:

- it records ``InService`` once every worker has started, and fails the endpoint when a
  worker dies during start-up;
- a worker that dies later is restarted (as the model server does); more than
  ``max_restarts`` deaths in a minute fail the endpoint;
- SIGTERM/SIGINT (a delete) are passed to the workers, which finish their in-flight
  requests and drain their capture queues; the parent exits after them. Workers run in the
  parent's process group and get SIGTERM if the parent dies (``PR_SET_PDEATHSIG``), so
  killing the group or the parent leaves none behind;
- the idle timeout is measured over all workers (a shared array of last-request times).

Each worker also listens on a private Unix socket: ``POST /_smkit/flush``, answered by
whichever worker took the connection, drains its siblings' capture queues through those
sockets, so a flush still means every answered request so far is in the store.
"""

from __future__ import annotations

import mmap
import os
import select
import signal
import socket
import struct
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["WorkerPool"]


def _die_with_parent(parent: int) -> None:
    """SIGTERM this process when its parent ends (Linux), or exit now if it already did."""
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, int(signal.SIGTERM), 0, 0, 0)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent:
        os._exit(0)


class WorkerPool:
    """Fork ``count`` uvicorn workers serving ``sock`` and supervise them.

    Args:
        count: Number of worker processes (≥ 2).
        sock: The bound, listening socket every worker serves.
        rundir: Where the pool keeps its files (kept short: the Unix sockets go to a
            temporary folder).
        make_app: Called in each worker as ``make_app(index, pid, peers, on_request,
            on_ready)``; returns the ASGI app (an `EndpointApp`). ``peers`` are the other
            workers' Unix socket paths, ``on_request`` marks activity for the idle clock,
            ``on_ready`` must be called once the worker serves.
        config_kw: Keyword arguments for ``uvicorn.Config``.
        idle_timeout: Seconds without invocations on any worker before the pool stops.
        max_restarts: Worker deaths tolerated per minute once in service.
    """

    def __init__(
        self,
        count: int,
        sock: socket.socket,
        rundir: Path,
        *,
        make_app: Callable[..., Any],
        config_kw: dict[str, Any],
        idle_timeout: float | None = None,
        max_restarts: int = 5,
    ) -> None:
        if count < 2:
            raise ValueError("a worker pool needs at least 2 workers")
        self.count = count
        self.sock = sock
        self.rundir = Path(rundir)
        self.make_app = make_app
        self.config_kw = config_kw
        self.idle_timeout = idle_timeout
        self.max_restarts = max_restarts
        self.pids: dict[int, int] = {}  # pid -> worker index
        self._stop = False
        self._parent = os.getpid()
        self._clock = mmap.mmap(-1, 8 * count)
        self._sockdir = tempfile.mkdtemp(prefix="smkit-w")
        self.paths = [os.path.join(self._sockdir, f"{i}.sock") for i in range(count)]
        self._private: list[socket.socket] = []
        for path in self.paths:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.bind(path)
            s.listen(128)
            s.set_inheritable(True)
            self._private.append(s)
        self._ready_r, self._ready_w = os.pipe()

    # -- the worker side ---------------------------------------------------------------
    def _spawn(self, index: int) -> int:
        pid = os.fork()
        if pid:
            self.pids[pid] = index
            return pid
        code = 1
        try:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            _die_with_parent(self._parent)
            os.close(self._ready_r)
            code = self._serve(index)
        except BaseException:
            traceback.print_exc()
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)

    def _serve(self, index: int) -> int:
        import uvicorn

        clock, offset = self._clock, 8 * index

        def on_request() -> None:
            struct.pack_into("d", clock, offset, time.monotonic())

        def on_ready() -> None:
            os.write(self._ready_w, bytes([index % 256]))

        peers = [p for j, p in enumerate(self.paths) if j != index]
        app = self.make_app(index, os.getpid(), peers, on_request, on_ready)
        server = uvicorn.Server(uvicorn.Config(app, **self.config_kw))
        try:
            server.run(sockets=[self.sock, self._private[index]])
        finally:
            capture = getattr(app, "capture", None)
            if capture is not None:
                capture.close()  # no-op when the lifespan shutdown drained it
                if capture.errors:
                    print(f"worker {index} capture errors: {capture.errors[-5:]}", file=sys.stderr)
        return 0

    # -- the supervisor side -----------------------------------------------------------
    def _on_signal(self, signum: int, frame: Any) -> None:
        self._stop = True

    def run(self, on_ready: Callable[[], None] | None = None) -> str:
        """Start the workers and supervise them until a signal, the idle timeout or a failure.

        Returns:
            ``"stopped"`` (a signal), ``"idle"`` (the idle timeout) or ``"failed:REASON"``.
        """
        old = {s: signal.signal(s, self._on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
        outcome = "stopped"
        try:
            for i in range(self.count):
                self._spawn(i)
            outcome = self._supervise(on_ready)
        finally:
            self._shutdown()
            for s, handler in old.items():
                signal.signal(s, handler)
            import shutil

            for s in self._private:
                s.close()
            shutil.rmtree(self._sockdir, ignore_errors=True)
        return outcome

    def _supervise(self, on_ready: Callable[[], None] | None) -> str:
        ready: set[int] = set()
        in_service = False
        since = time.monotonic()
        deaths: list[float] = []
        while not self._stop:
            try:
                readable, _, _ = select.select([self._ready_r], [], [], 0.2)
            except InterruptedError:  # pragma: no cover - PEP 475 retries
                continue
            if readable:
                ready.update(os.read(self._ready_r, 256))
                if not in_service and len(ready) >= min(self.count, 256):
                    in_service = True
                    since = time.monotonic()
                    if on_ready is not None:
                        on_ready()
            while True:
                try:
                    pid, status = os.waitpid(-1, os.WNOHANG)
                except ChildProcessError:
                    pid = 0
                if not pid:
                    break
                index = self.pids.pop(pid, None)
                if index is None or self._stop:
                    continue
                how = _exit_text(status)
                if not in_service:
                    return f"failed:worker {index} (pid {pid}) {how} during start-up; see the log"
                now = time.monotonic()
                deaths = [t for t in deaths if now - t < 60] + [now]
                if len(deaths) > self.max_restarts:
                    return f"failed:workers died {len(deaths)} times in a minute (last: {how})"
                print(f"worker {index} (pid {pid}) {how}; restarting it", flush=True)
                self._spawn(index)
            if in_service and self.idle_timeout:
                last = max([since, *struct.unpack(f"{self.count}d", self._clock)])
                if time.monotonic() - last >= self.idle_timeout:
                    return "idle"
        return "stopped"

    def _shutdown(self, grace: float = 30.0) -> None:
        for pid in list(self.pids):
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + grace
        while self.pids and time.monotonic() < deadline:
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid:
                self.pids.pop(pid, None)
            else:
                time.sleep(0.05)
        for pid in list(self.pids):
            try:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass
        self.pids.clear()


def _exit_text(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"was killed by signal {os.WTERMSIG(status)}"
    return f"exited with code {os.waitstatus_to_exitcode(status)}"
