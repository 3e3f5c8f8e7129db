"""The monitor handle every backend returns from ``session.apply(plan)``.

`Monitor` declares the verbs (the same signatures and return types on the local and the
aws backend); `MonitorRun` is what ``run_now()`` returns, one `MonitoringExecution` per
monitor of the plan. Report locations are ``s3://`` URIs of the backend's store on both
backends (the local store maps them to files).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, runtime_checkable

import attrs

from smkit.errors import ConfigError

__all__ = [
    "COMPLETED",
    "TERMINAL",
    "Monitor",
    "MonitorRun",
    "MonitoringExecution",
    "window_time",
]

#: Execution statuses with results to read.
COMPLETED = frozenset({"Completed", "CompletedWithViolations"})
#: Execution statuses that no longer change (SageMaker's ``MonitoringExecutionStatus``).
TERMINAL = COMPLETED | {"Failed", "Stopped"}

_OFFSET = re.compile(r"^-?PT(\d+)H$")


def window_time(value: datetime | timedelta | str | None, *, now: datetime) -> datetime | None:
    """A monitoring window bound as a UTC `datetime` (``None`` stays ``None``).

    ``value`` is a `datetime` (naive means UTC), a `timedelta` back from ``now``, or
    an ISO 8601 offset such as ``"-PT3H"`` (SageMaker's form).

    Raises:
        ConfigError: an unreadable value.
    """
    if value is None:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, timedelta):
        return now - value
    if isinstance(value, str) and (m := _OFFSET.match(value)):
        return now - timedelta(hours=int(m.group(1)))
    raise ConfigError(f"window bound {value!r}: expected a datetime, timedelta or '-PT<n>H'")


@attrs.frozen
class MonitoringExecution:
    """One monitoring execution's outcome.

    Attributes:
        name: Execution name (local: catalog kind ``monitoring_execution``; aws: the
            processing job's name, or the one-time schedule's while none has started).
        schedule: Its schedule's name.
        monitor_type: ``DataQuality``, ``ModelQuality`` or ``ModelExplainability``.
        status: ``Completed``, ``CompletedWithViolations`` or ``Failed`` (aws also
            ``Pending``, ``InProgress``, ``Stopping`` and ``Stopped``).
        message: ``"no data"``, the failure reason, or ``None``.
        statistics: The statistics computed (data / model quality).
        violations: The violations file content.
        analysis: Clarify's analysis.json (explainability).
        uris: Where each report file is (``statistics``, ``violations``, ``analysis``,
            ``report_html``...).
        item_count: Records analysed.
        skipped: Corrupt capture lines skipped.
        metrics: CloudWatch-style metrics of the execution (``name → {statistic: value}``;
            empty on aws, where SageMaker sends them to CloudWatch).
        report_uri: The ``s3://`` folder of the execution's reports, once known.
        processing_job_arn: The processing job that ran it (aws), else ``None``.
    """

    name: str
    schedule: str
    monitor_type: str
    status: str
    message: str | None = None
    statistics: dict[str, Any] | None = None
    violations: dict[str, Any] = attrs.field(factory=lambda: {"violations": []})
    analysis: dict[str, Any] | None = None
    uris: dict[str, str] = attrs.field(factory=dict)
    item_count: int = 0
    skipped: int = 0
    metrics: dict[str, dict[str, float]] = attrs.field(factory=dict)
    report_uri: str | None = None
    processing_job_arn: str | None = None

    @property
    def done(self) -> bool:
        """Whether the status no longer changes."""
        return self.status in TERMINAL


@attrs.frozen
class MonitorRun:
    """The executions of one ``run_now()`` (one per monitor of the plan)."""

    executions: tuple[MonitoringExecution, ...]

    def _of(self, kind: str) -> MonitoringExecution | None:
        return next((e for e in self.executions if e.monitor_type == kind), None)

    @property
    def done(self) -> bool:
        """Whether every execution has ended."""
        return all(e.done for e in self.executions)

    @property
    def status(self) -> str:
        """``Failed`` if any failed (or was stopped), else ``InProgress`` while any runs,
        else ``CompletedWithViolations`` if any, else ``Completed``."""
        statuses = {e.status for e in self.executions}
        if statuses & {"Failed", "Stopped"}:
            return "Failed"
        if not self.done:
            return "InProgress"
        if "CompletedWithViolations" in statuses:
            return "CompletedWithViolations"
        return "Completed"

    @property
    def statuses(self) -> dict[str, str]:
        """``monitor type → execution status``."""
        return {e.monitor_type: e.status for e in self.executions}

    @property
    def statistics(self) -> dict[str, Any] | None:
        """Data-quality statistics of this run."""
        e = self._of("DataQuality")
        return e.statistics if e else None

    @property
    def violations(self) -> list[dict[str, Any]]:
        """Every violation of every monitor."""
        return [v for e in self.executions for v in e.violations.get("violations", [])]

    @property
    def analysis(self) -> dict[str, Any] | None:
        """Clarify's analysis.json of this run."""
        e = self._of("ModelExplainability")
        return e.analysis if e else None

    @property
    def reports(self) -> dict[str, str]:
        """``monitor type → report.html URI`` (local backend)."""
        return {
            e.monitor_type: e.uris["report_html"]
            for e in self.executions
            if "report_html" in e.uris
        }

    @property
    def report_uris(self) -> dict[str, str]:
        """``monitor type → s3:// folder of the execution's reports`` (both backends)."""
        return {e.monitor_type: e.report_uri for e in self.executions if e.report_uri}


@runtime_checkable
class Monitor(Protocol):
    """The monitors applied to one endpoint, as every backend offers them.

    Attributes:
        endpoint_name: The monitored endpoint.
        schedules: ``monitor type → schedule name``.
    """

    endpoint_name: str
    schedules: dict[str, str]

    def describe(self) -> dict[str, dict[str, Any]]:
        """``schedule name → DescribeMonitoringSchedule``-shaped record."""
        ...

    def executions(self) -> list[MonitoringExecution]:
        """Executions of this monitor's schedules (and of its ``run_now()`` calls), newest
        first."""
        ...

    def run_now(
        self,
        start: datetime | timedelta | str | None = None,
        end: datetime | timedelta | str | None = None,
        *,
        hours: int | None = None,
        wait: bool = True,
    ) -> MonitorRun:
        """Run every monitor now over the captures in ``[start, end)``.

        Args:
            start: Window start (default: the backend's, e.g. one hour back).
            end: Window end (default: now).
            hours: Shorthand for ``start`` ``hours`` back from now.
            wait: Wait for the executions to end (``False``: return them in progress
                where the backend runs them elsewhere).
        """
        ...

    def latest_violations(self) -> list[dict[str, Any]]:
        """Violations of the latest completed execution of each schedule.

        Raises:
            OrderError: no execution has completed yet.
        """
        ...

    def stop(self) -> None:
        """Stop the schedules (they stay, ``Stopped``)."""
        ...

    def delete(self) -> None:
        """Delete the schedules (their executions' records stay)."""
        ...
