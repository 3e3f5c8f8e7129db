"""Local backend verbs for monitoring: the ``backend.monitoring`` component of
`smkit.backends.local.LocalBackend` (whose monitoring methods delegate to it).

``apply_monitor(plan)`` checks the endpoint's data capture (catalog record ``endpoint``),
runs each monitor's baseline job (recorded as a ``processing_job``), writes the baseline
files under ``{output}/{endpoint}/{schedule}/baseline/`` and records one
``monitoring_schedule`` per monitor type. Executions (``run_now()``, ``run_due()``) read the
capture JSONL in their window (by ``inferenceTime``), write
``statistics.json`` / ``constraints.json`` / ``constraint_violations.json`` (or Clarify's
``analysis.json``), ``metrics.json`` / ``metrics.csv`` and ``report.html`` under
``{output}/{endpoint}/{schedule}/yyyy/mm/dd/hh/``, and are recorded as
``monitoring_execution`` with status ``Completed``, ``CompletedWithViolations`` or ``Failed``.

A window without captured records completes with the message ``"no data"`` and no
violations. Data-quality captures are header-less (``_c0``, output first); when the baseline
has named columns and the current data has exactly as many ``_cN`` columns, they are matched
by position (*inferred*: SageMaker's own baselines are usually header-less for this reason).
"""

from __future__ import annotations

import json
import re
import tempfile
import threading
import traceback
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from uuid import uuid4

import attrs

from smkit import uri as s3uri
from smkit.errors import (
    ConfigError,
    FormatError,
    OrderError,
    ResourceNotFoundError,
    SourceNotFoundError,
)
from smkit.monitoring.handle import Monitor, MonitoringExecution, MonitorRun, window_time

if TYPE_CHECKING:
    from smkit.backends.local import LocalBackend

__all__ = [
    "CLARIFY_INFERENCE_PREFIX",
    "MAX_EXPLAIN_ROWS",
    "LocalMonitor",
    "LocalMonitoring",
    "MonitorRun",
    "MonitoringExecution",
    "endpoint_predict_fn",
]

#: Rows explained per Clarify baseline or execution (a seeded sample above this).
MAX_EXPLAIN_ROWS = 500
#: Inference-id prefix of the requests local Clarify sends to the monitored endpoint; capture
#: records carrying it are left out of every monitor's data (SageMaker's Clarify calls a shadow
#: endpoint instead, so its requests never reach the capture).
CLARIFY_INFERENCE_PREFIX = "smkit-clarify-"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_HOUR_RE = re.compile(r"/(\d{4})/(\d{2})/(\d{2})/(\d{2})/[^/]+$")
_ARN = "arn:aws:sagemaker:local:000000000000"


def _iso(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _parse_time(text: Any) -> datetime | None:
    if not isinstance(text, str):
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)
    except ValueError:
        return None


class LocalMonitor(Monitor):
    """The monitors applied to one endpoint on the local backend.

    Args:
        backend: The local backend.
        endpoint_name: The monitored endpoint.
        schedules: ``monitor type → schedule name``.
        plan: The plan it came from (keeps in-process callables such as ``predict_fn``).
    """

    def __init__(
        self, backend: Any, endpoint_name: str, schedules: dict[str, str], plan: Any = None
    ) -> None:
        self.backend = backend
        self.endpoint_name = endpoint_name
        self.schedules = dict(schedules)
        self.plan = plan
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    def __repr__(self) -> str:
        return f"LocalMonitor(endpoint={self.endpoint_name!r}, schedules={self.schedules})"

    def describe(self) -> dict[str, dict[str, Any]]:
        """``schedule name → DescribeMonitoringSchedule``-shaped record."""
        return {
            n: self.backend.catalog.describe("monitoring_schedule", n).data
            for n in self.schedules.values()
        }

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
            start: Window start: a `datetime`, a `timedelta` back from now or an offset
                such as ``"-PT3H"`` (default: the end of the previous execution's window,
                or the beginning).
            end: Window end, the same kinds (default: now).
            hours: Shorthand for ``start=timedelta(hours=hours)``.
            wait: Accepted for the `Monitor` signature: local executions always end
                before the call returns.

        Raises:
            ConfigError: both ``hours`` and ``start``, or an unreadable bound.
        """
        if hours is not None and start is not None:
            raise ConfigError("pass either hours= or start=, not both")
        now = datetime.now(UTC)
        if hours is not None:
            start = timedelta(hours=hours)
        first = window_time(start, now=now)
        last = window_time(end, now=now)
        return MonitorRun(
            tuple(
                self.backend.run_execution(name, start=first, end=last, plan=self.plan)
                for name in self.schedules.values()
            )
        )

    def executions(self) -> list[MonitoringExecution]:
        """All executions of this monitor's schedules, newest first."""
        out = []
        for rec in self.backend.catalog.list("monitoring_execution"):
            if rec.data.get("MonitoringScheduleName") in self.schedules.values():
                out.append(_execution_from_record(rec))
        return out

    def latest_violations(self) -> list[dict[str, Any]]:
        """Violations of the latest execution of each schedule.

        Raises:
            OrderError: no execution has run yet (step 4 comes before step 5).
        """
        runs = self.executions()
        if not runs:
            raise OrderError(
                f"no execution has run for endpoint {self.endpoint_name!r} yet, so there are no "
                "violations (executions come before violations)",
                hint="call monitor.run_now() or `smkit monitor run-due`",
                missing="execution",
            )
        seen: set[str] = set()
        out: list[dict[str, Any]] = []
        for e in runs:
            if e.schedule in seen:
                continue
            seen.add(e.schedule)
            uri = e.uris.get("violations")
            if uri and self.backend.store.head(uri):
                out.extend(json.loads(self.backend.store.get_bytes(uri))["violations"])
        return out

    def metrics(self) -> list[dict[str, Any]]:
        """CloudWatch-style metric records of every execution, oldest first."""
        records: list[dict[str, Any]] = []
        for name in self.schedules.values():
            records.extend(self.backend.monitoring._metric_history(name))
        return sorted(records, key=lambda r: r["Timestamp"])

    def run_due(self, now: datetime | None = None) -> list[MonitoringExecution]:
        """Run the schedules of this monitor that are due at ``now``."""
        return self.backend.run_due(now=now, names=list(self.schedules.values()), plan=self.plan)

    def start(self, interval: float = 60.0) -> None:
        """Start an in-process scheduler thread that runs due executions every ``interval`` s."""
        if self._thread and self._thread.is_alive():
            return
        self._stop.clear()

        def loop() -> None:
            while not self._stop.wait(interval):
                try:
                    self.run_due()
                except Exception:  # pragma: no cover - logged, the loop keeps going
                    traceback.print_exc()

        self._thread = threading.Thread(
            target=loop, name=f"smkit-monitor-{self.endpoint_name}", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop the in-process scheduler and mark the schedules ``Stopped``."""
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=10)
        for name in self.schedules.values():
            rec = self.backend.catalog.describe("monitoring_schedule", name)
            if rec.status == "Scheduled":
                self.backend.catalog.update(
                    "monitoring_schedule",
                    name,
                    status="Stopped",
                    MonitoringScheduleStatus="Stopped",
                )

    def delete(self) -> None:
        """Stop and delete the schedules (their executions' records stay)."""
        self._stop.set()
        for name in self.schedules.values():
            try:
                self.backend.catalog.delete("monitoring_schedule", name, reason="deleted by user")
            except ResourceNotFoundError:
                pass


def _execution_from_record(rec: Any) -> MonitoringExecution:
    d = rec.data
    return MonitoringExecution(
        name=rec.name,
        schedule=d.get("MonitoringScheduleName", ""),
        monitor_type=d.get("MonitoringType", ""),
        status=rec.status,
        message=d.get("FailureReason") or d.get("Message"),
        uris=dict(d.get("ReportUris", {})),
        item_count=int(d.get("ItemCount", 0)),
        skipped=int(d.get("SkippedLines", 0)),
        report_uri=d.get("ReportUri"),
    )


class LocalMonitoring:
    """Monitoring verbs of the local backend, a component sharing the backend as its context.

    Args:
        backend: The backend whose ``store`` and ``catalog`` it uses, whose ``predictor``
            Clarify calls when a plan has no in-process model, and which the `LocalMonitor`
            handles it returns call back.
    """

    def __init__(self, backend: LocalBackend) -> None:
        self.backend = backend

    @property
    def store(self) -> Any:
        """The backend's object store."""
        return self.backend.store

    @property
    def catalog(self) -> Any:
        """The backend's catalog."""
        return self.backend.catalog

    # -- helpers ---------------------------------------------------------------------------
    def _json_put(self, uri: str, data: Any) -> str:
        from smkit.monitoring.files import dumps_jackson

        self.store.put_bytes(uri, (dumps_jackson(data) + "\n").encode("utf-8"))
        return uri

    def _json_get(self, uri: str) -> Any:
        return json.loads(self.store.get_bytes(uri))

    def _dataset_path(self, location: str, tmp: Path) -> Path:
        """A local file holding the dataset at ``location`` (file, s3 object or s3 prefix)."""
        if not location.startswith("s3://"):
            path = Path(location)
            if path.is_dir():
                parts = sorted(
                    p for p in path.rglob("*") if p.is_file() and not p.name.startswith(".")
                )
                return _concat(parts, tmp)
            if not path.is_file():
                raise SourceNotFoundError(f"no such baseline dataset: {location!r}", path=location)
            return path
        store = self.store
        if store.head(location) is not None:
            return Path(store.path_for(location))
        objects = store.list(location.rstrip("/") + "/")
        if not objects:
            raise SourceNotFoundError(
                f"no baseline dataset at {location!r}",
                hint="stage or upload it first",
                uri=location,
            )
        return _concat([Path(store.path_for(o.uri)) for o in objects], tmp)

    def _endpoint_info(self, plan: Any) -> dict[str, Any]:
        name = plan.endpoint_name
        try:
            rec = self.catalog.describe("endpoint", name)
            data, status = rec.data, rec.status
        except ResourceNotFoundError:
            handle = plan.endpoint
            if isinstance(handle, str) or not hasattr(handle, "describe"):
                raise ResourceNotFoundError(
                    f"no endpoint named {name!r}: deploy it (with data capture) before monitoring",
                    hint="session.deploy(model, EndpointSpec(name=..., "
                    "data_capture=DataCaptureSpec()))",
                    name=name,
                ) from None
            data = handle.describe()
            status = data.get("EndpointStatus", "InService")
        if status == "Deleted":
            raise ResourceNotFoundError(f"endpoint {name!r} was deleted", name=name)
        capture = data.get("DataCaptureConfig") or {}
        if not capture.get("EnableCapture"):
            raise OrderError(
                f"endpoint {name!r} has no data capture, so there is nothing to monitor "
                "(step 1 of the monitoring order)",
                hint="redeploy it with "
                "EndpointSpec(data_capture=DataCaptureSpec(sampling_percentage=100))",
                missing="data capture",
                endpoint=name,
            )
        variant = data.get("VariantName")
        if not variant:
            variants = data.get("ProductionVariants") or [{}]
            variant = variants[0].get("VariantName") or "AllTraffic"
        dest = capture.get("DestinationS3Uri")
        if not dest:
            raise FormatError(f"endpoint {name!r}: DataCaptureConfig has no DestinationS3Uri")
        return {"capture_prefix": s3uri.join(dest, name, variant) + "/", "variant": variant}

    # -- apply ---------------------------------------------------------------------------
    def apply_monitor(self, plan: Any) -> LocalMonitor:
        """Carry out a `MonitorPlan` on the local backend.

        Raises:
            OrderError: a step is missing (capture, baseline, schedule).
            ResourceNotFoundError: the endpoint does not exist.
        """
        plan.check_complete()
        info = self._endpoint_info(plan)
        output = plan.output or "s3://smkit/monitoring"
        schedules: dict[str, str] = {}
        for monitor_type in plan.monitors:
            name = plan.schedule_name(monitor_type)
            base = s3uri.join(output, plan.endpoint_name, name, "baseline")
            job = self._baseline_job(plan, monitor_type, base)
            now = datetime.now(UTC)
            data = {
                "MonitoringScheduleName": name,
                "MonitoringScheduleArn": f"{_ARN}:monitoring-schedule/{name}",
                "MonitoringScheduleStatus": "Scheduled",
                "MonitoringType": monitor_type,
                "EndpointName": plan.endpoint_name,
                "CreationTime": _iso(now),
                "LastModifiedTime": _iso(now),
                "MonitoringScheduleConfig": {
                    "ScheduleConfig": {"ScheduleExpression": plan.schedule_expression},
                    "MonitoringJobDefinition": {
                        "BaselineConfig": job["baseline_config"],
                        "MonitoringInputs": [
                            {"EndpointInput": {"EndpointName": plan.endpoint_name}}
                        ],
                        "MonitoringOutputConfig": {
                            "MonitoringOutputs": [
                                {
                                    "S3Output": {
                                        "S3Uri": s3uri.join(output, plan.endpoint_name, name)
                                    }
                                }
                            ]
                        },
                    },
                },
                "CapturePrefix": info["capture_prefix"],
                "OutputS3Uri": s3uri.join(output, plan.endpoint_name, name),
                "BaselineJobName": job["name"],
                "MonitorConfig": job["monitor_config"],
                "LastRunTime": None,
                "WindowEnd": None,
            }
            catalog = self.catalog
            try:
                existing = catalog.describe("monitoring_schedule", name)
            except ResourceNotFoundError:
                existing = None
            if existing is not None and existing.status != "Deleted":
                catalog.update("monitoring_schedule", name, **data)
                if existing.status != "Scheduled":
                    catalog.update("monitoring_schedule", name, status="Scheduled")
            else:
                catalog.create("monitoring_schedule", name, data, status="Pending")
                catalog.update("monitoring_schedule", name, status="Scheduled")
            schedules[monitor_type] = name
        return LocalMonitor(self.backend, plan.endpoint_name, schedules, plan)

    def monitor(self, endpoint_name: str) -> LocalMonitor:
        """Reopen the monitors of an endpoint from the catalog."""
        schedules = {
            r.data["MonitoringType"]: r.name
            for r in self.catalog.list("monitoring_schedule")
            if r.data.get("EndpointName") == endpoint_name
        }
        if not schedules:
            raise ResourceNotFoundError(f"no monitoring schedule on endpoint {endpoint_name!r}")
        return LocalMonitor(self.backend, endpoint_name, schedules)

    def _baseline_job(self, plan: Any, monitor_type: str, base: str) -> dict[str, Any]:
        stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S%f")[:-3]
        job_name = f"baseline-{plan.schedule_name(monitor_type)}"[:46] + f"-{stamp}"
        catalog = self.catalog
        catalog.create(
            "processing_job",
            job_name,
            {
                "ProcessingJobName": job_name,
                "ProcessingJobArn": f"{_ARN}:processing-job/{job_name}",
                "ProcessingJobStatus": "InProgress",
                "Environment": {"analysis_type": monitor_type},
                "ProcessingOutputConfig": {
                    "Outputs": [{"OutputName": "monitoring_output", "S3Output": {"S3Uri": base}}]
                },
            },
            status="InProgress",
        )
        try:
            with tempfile.TemporaryDirectory() as tmp:
                out = _BASELINES.get(monitor_type)(self, plan, base, Path(tmp))
        except Exception as exc:
            catalog.update(
                "processing_job",
                job_name,
                status="Failed",
                ProcessingJobStatus="Failed",
                FailureReason=str(exc)[:1024],
            )
            raise
        catalog.update(
            "processing_job", job_name, status="Completed", ProcessingJobStatus="Completed"
        )
        out["name"] = job_name
        return out

    def _dq_baseline(self, plan: Any, base: str, tmp: Path) -> dict[str, Any]:
        cfg = plan.data_quality_config
        from smkit.monitoring.engines.data_quality import (
            _merge,
            compute_statistics,
            file_statistics,
            suggest_constraints,
        )

        path = self._dataset_path(cfg.baseline, tmp)
        header = _sniff_header(path) if cfg.header is None else cfg.header
        stats = compute_statistics(path, header=header)
        constraints = suggest_constraints(stats)
        _merge(constraints["monitoring_config"], cfg.monitoring_config)
        s_uri = self._json_put(s3uri.join(base, "statistics.json"), file_statistics(stats))
        c_uri = self._json_put(s3uri.join(base, "constraints.json"), constraints)
        return {
            "baseline_config": {
                "ConstraintsResource": {"S3Uri": c_uri},
                "StatisticsResource": {"S3Uri": s_uri},
            },
            "monitor_config": {"header": header},
        }

    def _mq_baseline(self, plan: Any, base: str, tmp: Path) -> dict[str, Any]:
        cfg = plan.model_quality_config
        from smkit.monitoring.engines.model_quality import (
            baseline_columns,
            model_quality_statistics,
            suggest_model_quality_constraints,
        )

        path = self._dataset_path(cfg.baseline, tmp)
        labels, preds, probs = baseline_columns(str(path), cfg)
        stats = model_quality_statistics(cfg.problem_type, labels, preds, probs)
        constraints = suggest_model_quality_constraints(stats)
        s_uri = self._json_put(s3uri.join(base, "statistics.json"), stats)
        c_uri = self._json_put(s3uri.join(base, "constraints.json"), constraints)
        return {
            "baseline_config": {
                "ConstraintsResource": {"S3Uri": c_uri},
                "StatisticsResource": {"S3Uri": s_uri},
            },
            "monitor_config": attrs.asdict(cfg),
        }

    def _clarify_baseline(self, plan: Any, base: str, tmp: Path) -> dict[str, Any]:
        from smkit.monitoring.engines.clarify import analysis_document, local_values_csv

        ecfg = plan.explainability_config
        dq = plan.data_quality_config
        analysis_cfg = ecfg.analysis_config(plan.endpoint_name, dq.baseline if dq else None)
        data_cfg = analysis_cfg.data
        label = data_cfg.label
        header: bool | None = None
        path = self._dataset_path(data_cfg.s3_data_input_path, tmp)
        if label is None and ecfg.data is None and dq is not None:
            has_header = _sniff_header(path) if dq.header is None else dq.header
            label = None if has_header else 0
            header = has_header
        rows, names = _feature_rows(path, data_cfg, label, header)
        result = self._explain(rows, names, analysis_cfg, plan)
        doc = analysis_document(result)
        a_uri = self._json_put(s3uri.join(base, "analysis.json"), doc)
        self._json_put(s3uri.join(base, "analysis_config.json"), analysis_cfg.to_dict())
        if analysis_cfg.shap.save_local_shap_values:
            self.store.put_bytes(
                s3uri.join(base, "explanations_shap", "out.csv"),
                local_values_csv(result, names).encode(),
            )
        return {
            "baseline_config": {"ConstraintsResource": {"S3Uri": a_uri}},
            "monitor_config": {
                "analysis_config": analysis_cfg.to_dict(),
                "feature_names": names,
                "threshold": ecfg.threshold,
            },
        }

    def _predictor_fn(self, analysis_cfg: Any, plan: Any) -> tuple[Any, Any]:
        """(predict_fn, model) for Clarify: in-process callables first, then the endpoint."""
        model_cfg = (
            plan.explainability_config.model if plan and plan.explainability_config else None
        )
        if model_cfg is not None and (
            model_cfg.predict_fn is not None or model_cfg.model is not None
        ):
            return model_cfg.predict_fn, model_cfg.model
        endpoint = analysis_cfg.model.endpoint_name
        predictor = self.backend.predictor(endpoint, serializer="csv", deserializer="csv")
        return endpoint_predict_fn(predictor), None

    def _explain(self, rows: Any, names: list[str], analysis_cfg: Any, plan: Any) -> dict[str, Any]:
        from smkit.monitoring.engines.clarify import explain

        predict_fn, model = self._predictor_fn(analysis_cfg, plan)
        headers = analysis_cfg.model.label_headers
        return explain(
            rows,
            analysis_cfg.shap,
            feature_names=names,
            predict_fn=predict_fn,
            model=model,
            label_headers=list(headers) if headers else None,
        )

    # -- executions ------------------------------------------------------------------------
    def _capture_lines(
        self, prefix: str, start: datetime, end: datetime, counts: dict[str, int]
    ) -> Iterator[Any]:
        """Capture records in the window (parsed once, by the capture reader); a corrupt
        line is passed on as text, for the analyzer to count and skip."""
        from smkit.monitoring.engines.capture import CORRUPT, parse_capture_line

        store = self.store
        for obj in store.list(prefix):
            m = _HOUR_RE.search(obj.uri)
            if m:
                hour = datetime(*map(int, m.groups()), tzinfo=UTC)  # type: ignore[misc]
                if hour.timestamp() + 3600 <= start.timestamp() or hour >= end:
                    continue
            text = store.get_bytes(obj.uri).decode("utf-8", errors="replace")
            for line in text.splitlines():
                if not line.strip():
                    continue
                try:
                    record = parse_capture_line(line)
                except CORRUPT:
                    counts["corrupt"] = counts.get("corrupt", 0) + 1
                    yield line  # counted and skipped again by the reader
                    continue
                if str(record.inference_id or "").startswith(CLARIFY_INFERENCE_PREFIX):
                    continue
                when = _parse_time(record.inference_time)
                if when is not None and not (start <= when < end):
                    continue
                yield record

    def run_execution(
        self,
        schedule: str,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        plan: Any = None,
        scheduled: datetime | None = None,
    ) -> MonitoringExecution:
        catalog = self.catalog
        rec = catalog.describe("monitoring_schedule", schedule)
        if rec.status == "Deleted":
            raise ResourceNotFoundError(f"monitoring schedule {schedule!r} was deleted")
        sdata = rec.data
        now = datetime.now(UTC)
        end = end or now
        start = start or _parse_time(sdata.get("WindowEnd")) or _EPOCH
        when = scheduled or now
        stamp = when.strftime("%Y%m%d%H%M%S") + f"-{now.strftime('%f')}"
        name = f"{schedule}"[:40] + f"-{stamp}"
        folder = s3uri.join(sdata["OutputS3Uri"], when.strftime("%Y/%m/%d/%H"))
        exec_data = {
            "MonitoringScheduleName": schedule,
            "MonitoringType": sdata["MonitoringType"],
            "EndpointName": sdata["EndpointName"],
            "ScheduledTime": _iso(when),
            "CreationTime": _iso(now),
            "ProcessingJobArn": f"{_ARN}:processing-job/{name}",
            "WindowStart": _iso(start),
            "WindowEnd": _iso(end),
        }
        catalog.create("monitoring_execution", name, exec_data, status="InProgress")
        try:
            result = self._execute(sdata, folder, start, end, plan, name, schedule)
        except Exception as exc:
            reason = f"{type(exc).__name__}: {exc}"[:1024]
            catalog.update(
                "monitoring_execution",
                name,
                status="Failed",
                FailureReason=reason,
                MonitoringExecutionStatus="Failed",
            )
            self._after_run(schedule, name, "Failed", when, end, reason)
            return MonitoringExecution(
                name, schedule, sdata["MonitoringType"], "Failed", reason, report_uri=folder
            )
        status = "CompletedWithViolations" if result.violations["violations"] else "Completed"
        result = attrs.evolve(result, name=name, status=status, report_uri=folder)
        catalog.update(
            "monitoring_execution",
            name,
            status=status,
            MonitoringExecutionStatus=status,
            ReportUris=result.uris,
            ReportUri=folder,
            ItemCount=result.item_count,
            SkippedLines=result.skipped,
            Message=result.message,
            MetricsSummary=result.metrics,
        )
        self._after_run(schedule, name, status, when, end, result.message)
        return result

    def _after_run(
        self, schedule: str, name: str, status: str, now: datetime, end: datetime, msg: Any
    ) -> None:
        self.catalog.update(
            "monitoring_schedule",
            schedule,
            LastRunTime=_iso(now),
            WindowEnd=_iso(end),
            LastMonitoringExecutionSummary={
                "MonitoringScheduleName": schedule,
                "MonitoringExecutionStatus": status,
                "ScheduledTime": _iso(now),
                "ExecutionName": name,
                **({"FailureReason": msg} if status == "Failed" and msg else {}),
            },
        )

    def _execute(
        self,
        sdata: dict[str, Any],
        folder: str,
        start: datetime,
        end: datetime,
        plan: Any,
        name: str,
        schedule: str,
    ) -> MonitoringExecution:
        run = _EXECUTIONS.get(sdata["MonitoringType"])  # unknown type: a clear ConfigError
        counts: dict[str, int] = {}
        lines = self._capture_lines(sdata["CapturePrefix"], start, end, counts)  # streamed
        return run(self, sdata, folder, lines, name, schedule, start, end, plan)

    def _no_data(
        self, sdata: dict[str, Any], folder: str, name: str, schedule: str, skipped: int
    ) -> MonitoringExecution:
        empty = {"violations": []}
        uris = {
            "violations": self._json_put(s3uri.join(folder, "constraint_violations.json"), empty)
        }
        return MonitoringExecution(
            name,
            schedule,
            sdata["MonitoringType"],
            "Completed",
            "no data",
            None,
            empty,
            uris=uris,
            skipped=skipped,
        )

    def _write_report(
        self, folder: str, sdata: dict[str, Any], status: str, violations: dict[str, Any], **kw: Any
    ) -> dict[str, str]:
        from smkit.monitoring.report import execution_report

        with tempfile.TemporaryDirectory() as tmp:
            execution_report(
                tmp,
                title=f"{sdata['MonitoringScheduleName']} ({sdata['MonitoringType']})",
                monitor_type=sdata["MonitoringType"],
                status=status,
                violations=violations,
                history=self._metric_history(sdata["MonitoringScheduleName"]),
                **kw,
            )
            out: dict[str, str] = {}
            for path in sorted(Path(tmp).iterdir()):
                uri = s3uri.join(folder, path.name)
                self.store.put_bytes(uri, path.read_bytes())
                if path.name == "report.html":
                    out["report_html"] = uri
        return out

    def _metric_history(self, schedule: str) -> list[dict[str, Any]]:
        from smkit.monitoring.report import metric_records

        out: list[dict[str, Any]] = []
        for rec in self.catalog.list("monitoring_execution"):
            d = rec.data
            if d.get("MonitoringScheduleName") != schedule or not d.get("MetricsSummary"):
                continue
            out.extend(
                metric_records(
                    d["MetricsSummary"],
                    endpoint=d["EndpointName"],
                    schedule=schedule,
                    timestamp=d.get("ScheduledTime", ""),
                )
            )
        return out

    def _run_dq(
        self,
        sdata: dict[str, Any],
        folder: str,
        lines: Iterable[Any],
        name: str,
        schedule: str,
        start: datetime,
        end: datetime,
        plan: Any,
    ) -> MonitoringExecution:
        from smkit.monitoring.engines.data_quality import (
            ReadStats,
            check_constraints,
            compute_statistics,
            drift_distances,
            feature_metrics,
            file_statistics,
            rename_by_position,
        )
        from smkit.monitoring.files import read_constraints, read_statistics
        from smkit.monitoring.report import metric_records, metrics_csv

        read = ReadStats()
        stats = compute_statistics(lines, fmt="capture", read_stats=read)
        if stats["dataset"]["item_count"] == 0:
            return self._no_data(sdata, folder, name, schedule, read.skipped)
        baseline_cfg = sdata["MonitoringScheduleConfig"]["MonitoringJobDefinition"][
            "BaselineConfig"
        ]
        base_stats = read_statistics(self._json_get(baseline_cfg["StatisticsResource"]["S3Uri"]))
        constraints = read_constraints(self._json_get(baseline_cfg["ConstraintsResource"]["S3Uri"]))
        rename_by_position(stats, base_stats)
        violations = check_constraints(stats, constraints, base_stats)
        drift = drift_distances(base_stats, stats)
        emit = str(constraints.get("monitoring_config", {}).get("emit_metrics", "Enabled"))
        metrics = feature_metrics(stats, drift) if emit.lower() != "disabled" else {}
        records = metric_records(
            metrics,
            endpoint=sdata["EndpointName"],
            schedule=schedule,
            timestamp=_iso(datetime.now(UTC)),
        )
        uris = {
            "statistics": self._json_put(
                s3uri.join(folder, "statistics.json"), file_statistics(stats)
            ),
            "constraints": self._json_put(s3uri.join(folder, "constraints.json"), constraints),
            "violations": self._json_put(
                s3uri.join(folder, "constraint_violations.json"), violations
            ),
            "metrics": self._json_put(s3uri.join(folder, "metrics.json"), {"metrics": records}),
        }
        self.store.put_bytes(s3uri.join(folder, "metrics.csv"), metrics_csv(records).encode())
        uris["metrics_csv"] = s3uri.join(folder, "metrics.csv")
        status = "CompletedWithViolations" if violations["violations"] else "Completed"
        uris.update(
            self._write_report(
                folder,
                sdata,
                status,
                violations,
                statistics=stats,
                baseline_statistics=base_stats,
                details={
                    "skipped_lines": read.skipped,
                    "item_count": stats["dataset"]["item_count"],
                },
            )
        )
        return MonitoringExecution(
            name,
            schedule,
            "DataQuality",
            status,
            None,
            stats,
            violations,
            None,
            uris,
            stats["dataset"]["item_count"],
            read.skipped,
            metrics=metrics,
        )

    def _run_mq(
        self,
        sdata: dict[str, Any],
        folder: str,
        lines: Iterable[Any],
        name: str,
        schedule: str,
        start: datetime,
        end: datetime,
        plan: Any,
    ) -> MonitoringExecution:
        from smkit.monitoring.engines.model_quality import (
            check_model_quality,
            execution_columns,
            merge_ground_truth,
            model_quality_statistics,
        )

        cfg = sdata["MonitorConfig"]
        store = self.store
        truth: list[str] = []
        for obj in store.list(cfg["ground_truth"].rstrip("/") + "/"):
            truth.extend(store.get_bytes(obj.uri).decode("utf-8", errors="replace").splitlines())
        preds, labels, counts = merge_ground_truth(lines, truth)
        if not preds:
            return self._no_data(sdata, folder, name, schedule, counts["skipped"])
        labels, preds, probs = execution_columns(
            cfg["problem_type"], preds, labels, cfg["probability_threshold"]
        )
        stats = model_quality_statistics(cfg["problem_type"], labels, preds, probs)
        baseline_cfg = sdata["MonitoringScheduleConfig"]["MonitoringJobDefinition"][
            "BaselineConfig"
        ]
        constraints = self._json_get(baseline_cfg["ConstraintsResource"]["S3Uri"])
        violations = check_model_quality(stats, constraints)
        section = next(k for k in stats if k.endswith("_metrics"))
        metrics = {
            k: {"Average": v["value"]}
            for k, v in stats[section].items()
            if isinstance(v, dict) and "value" in v
        }
        uris = {
            "statistics": self._json_put(s3uri.join(folder, "statistics.json"), stats),
            "constraints": self._json_put(s3uri.join(folder, "constraints.json"), constraints),
            "violations": self._json_put(
                s3uri.join(folder, "constraint_violations.json"), violations
            ),
        }
        status = "CompletedWithViolations" if violations["violations"] else "Completed"
        uris.update(self._write_report(folder, sdata, status, violations, details=counts))
        return MonitoringExecution(
            name,
            schedule,
            "ModelQuality",
            status,
            None,
            stats,
            violations,
            None,
            uris,
            counts["matched"],
            counts["skipped"],
            metrics=metrics,
        )

    def _run_clarify(
        self,
        sdata: dict[str, Any],
        folder: str,
        lines: Iterable[Any],
        name: str,
        schedule: str,
        start: datetime,
        end: datetime,
        plan: Any,
    ) -> MonitoringExecution:
        import numpy as np

        from smkit.monitoring.clarify import ExplainabilityAnalysisConfig
        from smkit.monitoring.engines.capture import ReadStats, iter_capture_rows
        from smkit.monitoring.engines.clarify import (
            analysis_document,
            attribution_drift,
            local_values_csv,
        )

        cfg = sdata["MonitorConfig"]
        names = list(cfg["feature_names"])
        read = ReadStats()
        rows = []
        for row in iter_capture_rows(lines, read, include_output=False):
            try:
                values = [float(v) for v in row]
            except ValueError:
                read.skip("non-numeric row")
                continue
            if len(values) != len(names):
                read.skip("column count")
                continue
            rows.append(values)
        if not rows:
            return self._no_data(sdata, folder, name, schedule, read.skipped)
        x = np.asarray(rows)
        if len(x) > MAX_EXPLAIN_ROWS:
            x = x[np.random.default_rng(0).choice(len(x), MAX_EXPLAIN_ROWS, replace=False)]
        analysis_cfg = ExplainabilityAnalysisConfig.from_dict(cfg["analysis_config"])
        result = self._explain(x, names, analysis_cfg, plan)
        doc = analysis_document(result)
        baseline_cfg = sdata["MonitoringScheduleConfig"]["MonitoringJobDefinition"][
            "BaselineConfig"
        ]
        baseline = self._json_get(baseline_cfg["ConstraintsResource"]["S3Uri"])
        violations = attribution_drift(baseline, doc, cfg.get("threshold", 0.9))
        uris = {
            "analysis": self._json_put(s3uri.join(folder, "analysis.json"), doc),
            "violations": self._json_put(
                s3uri.join(folder, "constraint_violations.json"), violations
            ),
        }
        if analysis_cfg.shap.save_local_shap_values:
            uri = s3uri.join(folder, "explanations_shap", "out.csv")
            self.store.put_bytes(uri, local_values_csv(result, names).encode())
            uris["local_shap_values"] = uri
        from smkit.monitoring.engines.clarify import ndcg

        base_labels = baseline.get("explanations", {}).get("kernel_shap", {})
        metrics = {
            f"feature_attribution_ndcg_{label}": {
                "Average": ndcg(base_labels[label]["global_shap_values"], result["global"][label])
            }
            for label in result["labels"]
            if label in base_labels
        }
        status = "CompletedWithViolations" if violations["violations"] else "Completed"
        uris.update(self._write_report(folder, sdata, status, violations, analysis=doc))
        return MonitoringExecution(
            name,
            schedule,
            "ModelExplainability",
            status,
            None,
            None,
            violations,
            doc,
            uris,
            len(x),
            read.skipped,
            metrics=metrics,
        )

    # -- due runs --------------------------------------------------------------------------
    def run_due(
        self, now: datetime | None = None, *, names: list[str] | None = None, plan: Any = None
    ) -> list[MonitoringExecution]:
        """Run every ``Scheduled`` schedule whose cron time has come since its last run.

        Args:
            now: The time to consider (default: now, UTC).
            names: Only these schedules.
            plan: The plan whose in-process callables to use (else the endpoint is called).
        """
        from smkit.monitoring.schedule import CronSchedule

        now = now or datetime.now(UTC)
        out = []
        for rec in self.catalog.list("monitoring_schedule", status="Scheduled"):
            if names is not None and rec.name not in names:
                continue
            expr = rec.data["MonitoringScheduleConfig"]["ScheduleConfig"]["ScheduleExpression"]
            cron = CronSchedule(expr)
            last = (
                _parse_time(rec.data.get("LastRunTime"))
                or _parse_time(rec.data.get("CreationTime"))
                or now
            )
            due = cron.next_after(last)
            if due is None or due > now:
                continue
            for _ in range(10_000):  # missed slots run once, as the latest of them
                nxt = cron.next_after(due)
                if nxt is None or nxt > now:
                    break
                due = nxt
            out.append(self.run_execution(rec.name, end=now, plan=plan, scheduled=due))
        return out


def endpoint_predict_fn(predictor: Any) -> Any:
    """Clarify's ``predict_fn`` over an endpoint `smkit.serving.Predictor` (CSV in and out).

    Each request carries an inference id starting with ``CLARIFY_INFERENCE_PREFIX``, so
    the executions that read the endpoint's capture skip Clarify's own requests.
    """
    import numpy as np

    def predict(rows: Any) -> Any:
        out = np.asarray(
            predictor.predict(
                np.asarray(rows).tolist(), inference_id=f"{CLARIFY_INFERENCE_PREFIX}{uuid4()}"
            ),
            dtype=np.float64,
        )
        return (
            out.reshape(len(rows), -1)[:, 0]
            if out.size == len(rows)
            else out.reshape(len(rows), -1)
        )

    return predict


def _registries() -> tuple[Any, Any]:
    from smkit.monitoring.engines.registry import MonitorRegistry

    baselines: Any = MonitorRegistry("local baseline job")
    baselines.register("data_quality", LocalMonitoring._dq_baseline)
    baselines.register("model_quality", LocalMonitoring._mq_baseline)
    baselines.register("model_explainability", LocalMonitoring._clarify_baseline)
    executions: Any = MonitorRegistry("local monitoring execution")
    executions.register("data_quality", LocalMonitoring._run_dq)
    executions.register("model_quality", LocalMonitoring._run_mq)
    executions.register("model_explainability", LocalMonitoring._run_clarify)
    return baselines, executions


#: Baseline jobs and executions by monitor kind; any other type is a clear ConfigError.
_BASELINES, _EXECUTIONS = _registries()


def _concat(parts: list[Path], tmp: Path) -> Path:
    if len(parts) == 1:
        return parts[0]
    if not parts:
        raise SourceNotFoundError("the baseline dataset location holds no files")
    target = tmp / "baseline-concat"
    with open(target, "wb") as out:
        for i, part in enumerate(parts):
            data = part.read_bytes()
            if i and data and _first_line_is_header(part):
                data = data.split(b"\n", 1)[1] if b"\n" in data else b""
            out.write(data)
            if data and not data.endswith(b"\n"):
                out.write(b"\n")
    return target


def _first_line_is_header(path: Path) -> bool:
    return _sniff_header(path)


def _is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def _sniff_header(path: Path) -> bool:
    """Whether a CSV's first row is a header: none of its fields is a number while the
    second row has at least one."""
    import csv

    with open(path, newline="", encoding="utf-8", errors="replace") as fh:
        reader = csv.reader(fh)
        first = next(reader, None)
        second = next(reader, None)
    if not first:
        return False
    if any(_is_number(f) for f in first if f != ""):
        return False
    return second is None or any(_is_number(f) for f in second if f != "")


def _feature_rows(path: Path, data_cfg: Any, label: Any, header: Any) -> tuple[Any, list[str]]:
    import pandas as pd

    has_header = (
        header if header is not None else (False if data_cfg.headers else _sniff_header(path))
    )
    df = pd.read_csv(path, header=0 if has_header else None)
    if data_cfg.headers and not has_header:
        if len(data_cfg.headers) != df.shape[1]:
            raise FormatError(
                f"DataConfig.headers has {len(data_cfg.headers)} names but {path.name} has "
                f"{df.shape[1]} columns"
            )
        df.columns = list(data_cfg.headers)
    elif not has_header:
        df.columns = [f"_c{i}" for i in range(df.shape[1])]
    if label is not None:
        col = df.columns[label] if isinstance(label, int) else label
        if col not in df.columns:
            raise FormatError(f"label {label!r} is not a column of {path.name}")
        df = df.drop(columns=[col])
    if len(df) > MAX_EXPLAIN_ROWS:
        df = df.sample(MAX_EXPLAIN_ROWS, random_state=0)
    names = [str(c) for c in df.columns]
    if not has_header and not data_cfg.headers:
        names = [f"_c{i}" for i in range(len(names))]
    return df.to_numpy(dtype=float), names
