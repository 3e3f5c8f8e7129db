"""Progress lines on stderr while ``smkit run`` works: stage, elapsed seconds, what runs.

Library code announces what it does through the module functions (`stage`,
`stage_done`, `running`, `finished`); they do nothing unless a
`Progress` is active (``with progress.activate(Progress()):``), so using smkit as a
library prints nothing.

On a terminal the current line is redrawn once a second with the elapsed time; elsewhere
(a log file, CI) one line is written per change, plus a "still running" line every
``heartbeat`` seconds, and never a carriage return.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO

__all__ = ["Progress", "activate", "current", "finished", "running", "stage", "stage_done"]

_ACTIVE: Progress | None = None


class Progress:
    """Writes progress lines to ``stream`` (default stderr).

    Args:
        stream: Where the lines go.
        tty: Redraw one line in place (default: whether ``stream`` is a terminal).
        heartbeat: Seconds between "still running" lines when not a terminal.
        prefix: Put before every line (e.g. the use-case name).
    """

    def __init__(
        self,
        stream: IO[str] | None = None,
        *,
        tty: bool | None = None,
        heartbeat: float = 30.0,
        prefix: str = "",
    ) -> None:
        self.stream = stream if stream is not None else sys.stderr
        if tty is None:
            try:
                tty = bool(self.stream.isatty())
            except (AttributeError, ValueError):
                tty = False
        self.tty = tty
        self.heartbeat = heartbeat
        self.prefix = prefix
        self.start = time.monotonic()
        self.stages: list[str] = []
        self.resources: list[str] = []
        self._lock = threading.RLock()
        self._last_line = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._open_line = False

    # -- what is going on -------------------------------------------------------------
    @property
    def elapsed(self) -> float:
        """Seconds since the progress started."""
        return time.monotonic() - self.start

    def text(self, note: str = "") -> str:
        """The current progress line."""
        where = " > ".join(self.stages) or "starting"
        what = f": {self.resources[-1]}" if self.resources else ""
        head = f"{self.prefix} " if self.prefix else ""
        return f"{head}[{self.elapsed:6.1f}s] {where}{what}{note}"

    def stage(self, name: str) -> None:
        """A stage starts (nested stages stack up: ``train > wait``)."""
        with self._lock:
            self.stages.append(name)
            self._changed()

    def stage_done(self, name: str) -> None:
        """The stage ``name`` (and any stage opened inside it) ends."""
        with self._lock:
            if name in self.stages:
                del self.stages[self.stages.index(name) :]
            self.resources = []

    def running(self, what: str) -> None:
        """Something runs now (``training job bike-demand-...``)."""
        with self._lock:
            if what in self.resources:
                self.resources.remove(what)
            self.resources.append(what)
            self._changed()

    def finished(self, what: str) -> None:
        """``what`` does not run any more."""
        with self._lock:
            if what in self.resources:
                self.resources.remove(what)

    def message(self, text: str) -> None:
        """A line of its own (interrupts, cleanup)."""
        with self._lock:
            self._write(text, persist=True)

    # -- output ----------------------------------------------------------------------------
    def _changed(self) -> None:
        if self.tty and self._open_line:  # keep the finished step's line, start a new one
            try:
                self.stream.write("\n")
            except (OSError, ValueError):
                pass
            self._open_line = False
        self._write(self.text(), persist=not self.tty)

    def _write(self, line: str, *, persist: bool) -> None:
        try:
            if self.tty:
                self.stream.write("\r\x1b[K" + line + ("\n" if persist else ""))
                self._open_line = not persist
            else:
                self.stream.write(line + "\n")
            self.stream.flush()
        except (OSError, ValueError):  # the terminal went away (SIGHUP): keep running
            pass
        self._last_line = time.monotonic()

    def _tick(self) -> None:
        while not self._stop.wait(1.0 if self.tty else min(self.heartbeat, 5.0)):
            with self._lock:
                if self.tty:
                    self._write(self.text(), persist=False)
                elif time.monotonic() - self._last_line >= self.heartbeat and self.stages:
                    self._write(self.text(" (still running)"), persist=True)

    def __enter__(self) -> Progress:
        self._thread = threading.Thread(target=self._tick, name="smkit-progress", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2.0)
        with self._lock:
            if self.tty and self._open_line:
                try:
                    self.stream.write("\r\x1b[K")
                    self.stream.flush()
                except (OSError, ValueError):
                    pass


@contextmanager
def activate(progress: Progress) -> Iterator[Progress]:
    """Make ``progress`` the one the module functions report to, for the block."""
    global _ACTIVE
    previous = _ACTIVE
    _ACTIVE = progress
    try:
        with progress:
            yield progress
    finally:
        _ACTIVE = previous


def current() -> Progress | None:
    """The active progress, if any."""
    return _ACTIVE


def stage(name: str) -> None:
    """Announce that the stage ``name`` starts (no-op without an active progress)."""
    if _ACTIVE is not None:
        _ACTIVE.stage(name)


def stage_done(name: str) -> None:
    """Announce that the stage ``name`` ended."""
    if _ACTIVE is not None:
        _ACTIVE.stage_done(name)


def running(what: str) -> None:
    """Announce what runs now (a job, endpoint or execution, by kind and name)."""
    if _ACTIVE is not None:
        _ACTIVE.running(what)


def finished(what: str) -> None:
    """Announce that ``what`` stopped running."""
    if _ACTIVE is not None:
        _ACTIVE.finished(what)
