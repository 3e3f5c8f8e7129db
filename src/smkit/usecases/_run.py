"""The context of one ``smkit run``: progress lines, and a cleanup stack for interrupts.

`RunContext` hands the use case a `TrackedSession`: a
`smkit.session.Session` on the same backend whose verbs (``train``, ``tune``,
``deploy``, ``run_workflow``) announce what they start on the progress line and push it on
the context's cleanup stack. `RunContext.signals` turns SIGINT, SIGHUP and SIGTERM
into `Interrupted`; `RunContext.cleanup` then stops, newest first, whatever
the run started that still runs (training and tuning jobs stopped, endpoints deleted,
executions stopped) and says what it stopped.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import attrs

from smkit import progress
from smkit.backends._protocol import Capability
from smkit.session import Session

if TYPE_CHECKING:
    from smkit.serving.endpoint import Endpoint
    from smkit.training.job import TrainingJob, TuningJob
    from smkit.workflow.execution import Execution

__all__ = ["Interrupted", "RunContext", "Started", "TrackedSession"]

#: Signals that stop a run cleanly.
SIGNALS = tuple(
    s for s in (signal.SIGINT, getattr(signal, "SIGHUP", None), signal.SIGTERM) if s is not None
)


class Interrupted(KeyboardInterrupt):
    """A signal stopped the run; ``exit_code`` is ``128 + signum`` (130 for SIGINT)."""

    def __init__(self, signum: int) -> None:
        self.signum = signum
        self.exit_code = 128 + int(signum)
        super().__init__(signal.Signals(signum).name)


@attrs.define
class Started:
    """One resource the run started.

    Attributes:
        kind: ``training job``, ``tuning job``, ``endpoint`` or ``workflow execution``.
        name: Its name (or, while the call that starts it has not returned, a pattern).
        running: Whether it still runs (errors count as "no").
        stop: Stops or deletes it.
        status: Its current status, if the backend says (``Stopped``, ``Deleted``...).
    """

    kind: str
    name: str
    running: Callable[[], bool]
    stop: Callable[[], None]
    status: Callable[[], str] | None = None

    @property
    def label(self) -> str:
        """``training job NAME``."""
        return f"{self.kind} {self.name}"


def _safe(check: Callable[[], bool]) -> Callable[[], bool]:
    def run() -> bool:
        try:
            return bool(check())
        except Exception:
            return False

    return run


class RunContext:
    """What one run started, and how to stop it.

    Args:
        session: The session the run uses (its backend is shared, not copied).
        stop_timeout: Seconds to wait for each stopped job to end.
    """

    def __init__(self, session: Session, *, stop_timeout: float = 30.0) -> None:
        self.base = session
        self.session = TrackedSession(session.backend, context=self)
        self.stack: list[Started] = []
        self.stop_timeout = stop_timeout
        self.interrupted: Interrupted | None = None
        self._lock = threading.Lock()

    # -- the stack -------------------------------------------------------------------------
    def push(self, item: Started) -> Started:
        """Put ``item`` on the cleanup stack (and on the progress line)."""
        with self._lock:
            self.stack.append(item)
        progress.running(item.label)
        return item

    def pop(self, item: Started) -> None:
        """``item`` ended on its own; forget it."""
        with self._lock:
            if item in self.stack:
                self.stack.remove(item)
        progress.finished(item.label)

    def forget(self, item: Started) -> None:
        """Drop ``item`` from the stack without a progress line (it ended as the run
        unwound)."""
        with self._lock:
            if item in self.stack:
                self.stack.remove(item)

    def cleanup(self) -> tuple[list[str], list[str], list[str]]:
        """Stop what still runs, newest first.

        Returns:
            ``(stopped, failed, ended)``: one line per resource stopped here, per failure,
            and per resource found already stopped or deleted (e.g. by the use case's own
            teardown while the interrupt unwound it).
        """
        stopped: list[str] = []
        failed: list[str] = []
        ended: list[str] = []
        while self.stack:
            with self._lock:
                item = self.stack.pop()
            if not item.running():
                state = ""
                if item.status is not None:
                    try:
                        state = item.status()
                    except Exception:  # gone: nothing to say
                        state = ""
                if state in ("Stopped", "Stopping", "Deleted", "Deleting", "ABORTED"):
                    ended.append(f"{item.label} ({state})")
                continue
            try:
                item.stop()
            except Exception as exc:  # keep going: stop what can be stopped
                failed.append(f"{item.label}: {exc}")
            else:
                stopped.append(item.label)
        return stopped, failed, ended

    # -- signals ---------------------------------------------------------------------------
    @contextmanager
    def signals(self) -> Iterator[None]:
        """SIGINT, SIGHUP and SIGTERM raise `Interrupted` in the main thread; later
        signals (while the run unwinds and cleans up) are noted and ignored. A signal that
        was already ignored (``nohup`` ignores SIGHUP) stays ignored."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return

        def handler(signum: int, frame: Any) -> None:
            if self.interrupted is not None:
                progress_message(
                    f"{signal.Signals(signum).name} again: still stopping what the run started"
                )
                return
            self.interrupted = Interrupted(signum)
            progress_message(
                f"{signal.Signals(signum).name}: stopping the jobs, endpoints and executions "
                "this run started"
            )
            raise self.interrupted

        # a signal ignored on purpose (``nohup``, a background job's SIGINT) stays ignored
        previous = {s: signal.getsignal(s) for s in SIGNALS}
        previous = {s: h for s, h in previous.items() if h is not signal.SIG_IGN}
        for s in previous:
            signal.signal(s, handler)
        try:
            yield
        finally:
            for s, h in previous.items():
                signal.signal(s, h)


def progress_message(text: str) -> None:
    """A line on the active progress, else on stderr (never fails)."""
    active = progress.current()
    if active is not None:
        active.message(text)
        return
    import sys

    try:
        sys.stderr.write(text + "\n")
        sys.stderr.flush()
    except (OSError, ValueError):
        pass


def _wait_stopped(check: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while check() and time.monotonic() < deadline:
        time.sleep(0.2)


class TrackedSession(Session):
    """A session whose verbs put what they start on a `RunContext`'s stack."""

    def __init__(self, backend: Any, *, context: RunContext) -> None:
        super().__init__(backend)
        self.context = context
        self._executions: dict[str, int] = {}

    def _local(self) -> bool:
        return self.supports(Capability.LOCAL_FILES) and not self.plan_mode

    def _pending(self, kind: str, lister: Callable[[], set[str]], stop: Callable[[str], None],
                 running: Callable[[str], bool], hint: str) -> Started | None:  # fmt: skip
        """While a starting call has not returned: stop what appeared meanwhile (local only,
        where listing is cheap and only this machine's resources are listed)."""
        if not self._local():
            return None
        try:
            before = lister()
        except Exception:
            return None

        def new() -> set[str]:
            try:
                return {n for n in lister() - before if running(n)}
            except Exception:
                return set()

        def stop_new() -> None:
            for n in sorted(new()):
                stop(n)

        return self.context.push(Started(kind, hint, lambda: bool(new()), stop_new))

    # -- training --------------------------------------------------------------------------
    def train(self, spec: Any, **options: Any) -> TrainingJob:
        """Start a training job (see `Session.train`) and track it."""
        if self.plan_mode:
            return super().train(spec, **options)
        backend = self._training()

        def running_jobs() -> set[str]:
            return {
                str(r.get("TrainingJobName"))
                for r in backend.list_training_jobs(status="InProgress")
            }

        def job_running(name: str) -> bool:
            return backend.describe_training_job(name)["TrainingJobStatus"] in (
                "InProgress",
                "Stopping",
            )

        def stop_job(name: str) -> None:
            backend.stop_training_job(name)
            _wait_stopped(lambda: _safe(lambda: job_running(name))(), self.context.stop_timeout)

        base = getattr(spec, "base_job_name", None) or "job"
        pending = self._pending(
            "training job", running_jobs, stop_job, job_running, f"{base}-* (starting)"
        )
        try:
            job = super().train(spec, **options)
        finally:
            if pending is not None:
                self.context.pop(pending)
        self.context.push(
            Started(
                "training job", job.name, _safe(lambda: job_running(job.name)),
                lambda: stop_job(job.name),
                lambda: str(backend.describe_training_job(job.name)["TrainingJobStatus"]),
            )
        )  # fmt: skip
        return job

    def tune(self, spec: Any, **options: Any) -> TuningJob:
        """Start a tuning job (see `Session.tune`) and track it."""
        tuning = super().tune(spec, **options)
        if self.plan_mode:
            return tuning

        def running() -> bool:
            return tuning.status in ("InProgress", "Stopping")

        def stop() -> None:
            tuning.stop()
            _wait_stopped(_safe(running), self.context.stop_timeout)

        self.context.push(
            Started("tuning job", tuning.name, _safe(running), stop, lambda: tuning.status)
        )
        return tuning

    # -- serving ---------------------------------------------------------------------------
    def deploy(self, model: Any, spec: Any, **options: Any) -> Endpoint:
        """Deploy (see `Session.deploy`) and track the endpoint."""
        if self.plan_mode:
            return super().deploy(model, spec, **options)
        backend = self._serving()

        local = self._local()

        def live(name: str) -> bool:
            status = backend.describe_endpoint(name).get("EndpointStatus")
            # a local delete runs in this process: "Deleting" means an interrupt cut it
            # short (the server may still run), so it is finished here; on AWS it goes on
            return status in (
                "Creating",
                "InService",
                "Updating",
                "SystemUpdating",
                "RollingBack",
                "Failed",
            ) or (local and status == "Deleting")

        def delete(name: str) -> None:
            backend.delete_endpoint(name, force=True)

        name = getattr(spec, "name", None)
        pending = None
        if name:
            pending = self.context.push(
                Started("endpoint", f"{name} (starting)", _safe(lambda: live(name)),
                        lambda: delete(name))
            )  # fmt: skip
        try:
            endpoint = super().deploy(model, spec, **options)
        finally:
            if pending is not None:
                self.context.pop(pending)
        self.context.push(
            Started("endpoint", endpoint.name, _safe(lambda: live(endpoint.name)),
                    lambda: delete(endpoint.name),
                    lambda: str(backend.describe_endpoint(endpoint.name).get("EndpointStatus")))
        )  # fmt: skip
        return endpoint

    # -- workflows ------------------------------------------------------------------------
    def run_workflow(self, workflow: Any, input: Any = None, **options: Any) -> Execution:
        """Run a workflow (see `Session.run_workflow`), tracking the execution while
        it runs.

        The backend reports the execution's ARN as soon as it has started (``on_start``):
        from then on an interrupt stops it (StopExecution on AWS, where it would run on;
        locally the interrupt itself ends it, ``ABORTED``).
        """
        if self.plan_mode:
            return super().run_workflow(workflow, input, **options)
        from smkit.backends._protocol import require

        backend = require(self.backend, Capability.WORKFLOWS)
        wf_name = str(getattr(workflow, "name", "workflow"))
        self._executions[wf_name] = count = self._executions.get(wf_name, 0) + 1
        label = f"workflow execution of {wf_name} #{count}"
        caller_on_start = options.pop("on_start", None)
        started: list[Started] = []

        def status(arn: str) -> str:
            return str(self.describe("execution", arn).get("status", ""))

        def stop(arn: str) -> None:
            backend.stop_execution(arn, error="smkit.Interrupted", cause="smkit run interrupted")
            _wait_stopped(_safe(lambda: status(arn) == "RUNNING"), self.context.stop_timeout)

        def on_start(arn: str) -> None:
            item = Started(
                "workflow execution",
                arn,
                _safe(lambda: status(arn) == "RUNNING"),
                lambda: stop(arn),
                lambda: status(arn),
            )
            started.append(self.context.push(item))
            if caller_on_start is not None:
                caller_on_start(arn)

        progress.running(label)
        try:
            execution = super().run_workflow(workflow, input, on_start=on_start, **options)
        except BaseException:
            # an execution that ended as the call unwound (a local one) is not stopped again;
            # one that still runs (on AWS) stays on the stack for the cleanup
            for item in started:
                if not item.running():
                    self.context.forget(item)
            raise
        else:
            for item in started:
                self.context.pop(item)
            return execution
        finally:
            progress.finished(label)


def describe_run(
    report: Any,
    usecase: Any,
    config: Any,
    settings: dict[str, str],
    session: Session,
) -> None:
    """Fill what the report's first screens need from the run: the settings (mode, ``--set``
    values, backend), each artifact's path on disk (local backend) and the use case's own
    headline (its ``summary`` module's ``summarize(report, config)``, if it has one)."""
    import importlib

    backend = session.backend
    where = getattr(backend, "root", None) or getattr(backend, "region", None)
    report.settings.setdefault("mode", "quick" if getattr(config, "quick", False) else "full")
    report.settings.setdefault(
        "--set", {k: v for k, v in settings.items()} if settings else "(none: defaults)"
    )
    report.settings.setdefault(
        "backend",
        f"{session.name}" + (f" ({where})" if where else "") + (" plan only" if session.plan_mode
                                                              else ""),
    )  # fmt: skip
    if session.supports(Capability.LOCAL_FILES):
        store = session.store
        path_for = getattr(store, "path_for", None)
        for key, value in report.artifacts.items():
            if isinstance(value, str) and value.startswith("s3://") and path_for is not None:
                try:
                    report.artifact_paths.setdefault(key, str(path_for(value)))
                except Exception:  # a prefix or an odd key: no path
                    continue
    module = type(usecase).__module__
    try:
        summary = importlib.import_module(module + ".summary")
    except ModuleNotFoundError as exc:
        if exc.name != module + ".summary":
            raise
        return
    summarize = getattr(summary, "summarize", None)
    if summarize is not None and not session.plan_mode:
        summarize(report, config)
