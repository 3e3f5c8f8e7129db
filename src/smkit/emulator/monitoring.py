"""Model Monitor data-quality schedules: job definitions, schedules, executions (a mixin of
`smkit.emulator.sagemaker.SageMakerEmulator`).

An execution is a processing job with the analyzer image
(`smkit.emulator.processing.analyze`): the endpoint's capture objects of the analysis
window are read from the emulated S3, checked against the baseline's constraints (and its
statistics), and ``statistics.json`` / ``constraints.json`` / ``constraint_violations.json``
are written to ``<output S3Uri>/<endpoint>/<schedule>/yyyy/mm/dd/hh/``. Status
``Completed``, ``CompletedWithViolations``, or ``Failed`` (no captured data in the window).

Schedules run on their cron (hourly expressions: at each hour, over the hour before); a
one-time schedule (``ScheduleExpression: NOW`` with ``DataAnalysisStartTime`` /
``DataAnalysisEndTime`` offsets such as ``-PT1H``) runs its execution at once, which is how
monitoring runs on demand.
"""

from __future__ import annotations

import json
import re
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from smkit.emulator.operations import operation
from smkit.emulator.protocol import EmulatorError

__all__ = ["MonitoringOps", "parse_offset"]

SERVICE = "sagemaker"
_OFFSET = re.compile(r"^-P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?)?$")
_KEY_HOUR = re.compile(r"/(\d{4})/(\d{2})/(\d{2})/(\d{2})/[^/]+$")


def _now() -> str:
    return datetime.now(UTC).isoformat()


def parse_offset(text: str) -> timedelta:
    """``-PT1H`` / ``-P1DT2H`` / ``-PT30M`` (a negative ISO 8601 duration) as a timedelta.

    Examples:
        >>> parse_offset("-PT2H")
        datetime.timedelta(days=-1, seconds=79200)
    """
    m = _OFFSET.match(text.strip())
    if not m or not any(m.groups()):
        raise EmulatorError(
            "ValidationException", f"{text!r} is not an offset like -PT1H (ISO 8601 duration)"
        )
    days, hours, minutes = (int(g or 0) for g in m.groups())
    return -timedelta(days=days, hours=hours, minutes=minutes)


class MonitoringOps:
    """The monitoring operations (state lives on the emulator instance)."""

    lock: Any
    bridge: Any
    root: Any
    endpoints: dict[str, Any]

    def _monitoring_state(self) -> tuple[dict[str, Any], dict[str, Any]]:
        if not hasattr(self, "_dq_definitions"):
            self._dq_definitions: dict[str, dict[str, Any]] = {}
            self._schedules: dict[str, dict[str, Any]] = {}
        return self._dq_definitions, self._schedules

    # -- job definitions -------------------------------------------------------------------------
    @operation(SERVICE, "CreateDataQualityJobDefinition")
    def create_dq_definition(self, params: dict[str, Any]) -> dict[str, Any]:
        """Records a data-quality job definition (baseline, endpoint input, output)."""
        defs, _ = self._monitoring_state()
        name = params["JobDefinitionName"]
        arn = self.arn("data-quality-job-definition", name)  # type: ignore[attr-defined]
        with self.lock:
            if name in defs:
                raise EmulatorError("ResourceInUse", f"Job definition {arn} already exists")
            defs[name] = {**params, "JobDefinitionArn": arn, "CreationTime": _now()}
        return {"JobDefinitionArn": arn}

    @operation(SERVICE, "DescribeDataQualityJobDefinition")
    def describe_dq_definition(self, params: dict[str, Any]) -> dict[str, Any]:
        """The job definition as created."""
        defs, _ = self._monitoring_state()
        found = defs.get(params["JobDefinitionName"])
        if found is None:
            raise EmulatorError(
                "ResourceNotFound", f"Job definition {params['JobDefinitionName']} not found"
            )
        return found

    @operation(SERVICE, "DeleteDataQualityJobDefinition")
    def delete_dq_definition(self, params: dict[str, Any]) -> dict[str, Any]:
        """Forgets the job definition."""
        defs, _ = self._monitoring_state()
        with self.lock:
            if defs.pop(params["JobDefinitionName"], None) is None:
                raise EmulatorError(
                    "ResourceNotFound", f"Job definition {params['JobDefinitionName']} not found"
                )
        return {}

    # -- schedules -------------------------------------------------------------------------------
    def _job_of(self, config: dict[str, Any]) -> dict[str, Any]:
        """The schedule's job, as ``{endpoint, constraints, statistics, output, env}``."""
        defs, _ = self._monitoring_state()
        if config.get("MonitoringJobDefinition"):
            job = config["MonitoringJobDefinition"]
            baseline = job.get("BaselineConfig") or {}
            endpoint_input = job["MonitoringInputs"][0]["EndpointInput"]
            outputs = job["MonitoringOutputConfig"]["MonitoringOutputs"]
            env = job.get("Environment") or {}
        else:
            name = config.get("MonitoringJobDefinitionName")
            job = defs.get(name or "")
            if job is None:
                raise EmulatorError("ResourceNotFound", f"Job definition {name} not found")
            baseline = job.get("DataQualityBaselineConfig") or {}
            endpoint_input = job["DataQualityJobInput"]["EndpointInput"]
            outputs = job["DataQualityJobOutputConfig"]["MonitoringOutputs"]
            env = (job.get("DataQualityAppSpecification") or {}).get("Environment") or {}
        return {
            "endpoint": endpoint_input["EndpointName"],
            "constraints": (baseline.get("ConstraintsResource") or {}).get("S3Uri"),
            "statistics": (baseline.get("StatisticsResource") or {}).get("S3Uri"),
            "output": outputs[0]["S3Output"]["S3Uri"],
            "env": dict(env),
        }

    @operation(SERVICE, "CreateMonitoringSchedule")
    def create_monitoring_schedule(self, params: dict[str, Any]) -> dict[str, Any]:
        """Data-quality schedules: hourly cron executions, or one at once for
        ``ScheduleExpression: NOW`` (on-demand monitoring)."""
        _, schedules = self._monitoring_state()
        name = params["MonitoringScheduleName"]
        arn = self.arn("monitoring-schedule", name)  # type: ignore[attr-defined]
        config = params["MonitoringScheduleConfig"]
        if config.get("MonitoringType", "DataQuality") != "DataQuality":
            raise EmulatorError(
                "ValidationException", "the emulator runs DataQuality monitoring schedules"
            )
        job = self._job_of(config)
        if job["endpoint"] not in self.endpoints:
            raise EmulatorError(
                "ValidationException",
                f"Could not find endpoint \"{self.arn('endpoint', job['endpoint'])}\".",  # type: ignore[attr-defined]
            )
        with self.lock:
            if name in schedules:
                raise EmulatorError("ResourceInUse", f"Monitoring schedule {arn} already exists")
            now = _now()
            schedules[name] = {
                "MonitoringScheduleArn": arn,
                "MonitoringScheduleName": name,
                "MonitoringScheduleStatus": "Scheduled",
                "MonitoringType": "DataQuality",
                "CreationTime": now,
                "LastModifiedTime": now,
                "MonitoringScheduleConfig": config,
                "EndpointName": job["endpoint"],
                "executions": [],
                "last_hour": datetime.now(UTC).replace(minute=0, second=0, microsecond=0),
            }
        expression = (config.get("ScheduleConfig") or {}).get("ScheduleExpression", "")
        if expression.strip().upper() == "NOW":
            sc = config["ScheduleConfig"]
            now_dt = datetime.now(UTC)
            start = now_dt + parse_offset(sc.get("DataAnalysisStartTime") or "-PT1H")
            end = now_dt + parse_offset(sc.get("DataAnalysisEndTime") or "-PT0H")
            threading.Thread(
                target=self._execute_schedule, args=(name, start, end, now_dt), daemon=True
            ).start()
        else:
            self._ensure_scheduler()
        return {"MonitoringScheduleArn": arn}

    def _schedule_view(self, sched: dict[str, Any]) -> dict[str, Any]:
        view = {k: v for k, v in sched.items() if k not in ("executions", "last_hour")}
        if sched["executions"]:
            view["LastMonitoringExecutionSummary"] = dict(sched["executions"][-1])
        return view

    @operation(SERVICE, "DescribeMonitoringSchedule")
    def describe_monitoring_schedule(self, params: dict[str, Any]) -> dict[str, Any]:
        """Status, configuration and the last execution's summary."""
        _, schedules = self._monitoring_state()
        sched = schedules.get(params["MonitoringScheduleName"])
        if sched is None:
            raise EmulatorError(
                "ResourceNotFound",
                f"Monitoring schedule {params['MonitoringScheduleName']} not found",
            )
        with self.lock:
            return self._schedule_view(sched)

    @operation(SERVICE, "ListMonitoringSchedules")
    def list_monitoring_schedules(self, params: dict[str, Any]) -> dict[str, Any]:
        """Schedule summaries (EndpointName, NameContains)."""
        _, schedules = self._monitoring_state()
        with self.lock:
            items = [
                self._schedule_view(s)
                for s in schedules.values()
                if params.get("EndpointName") in (None, s["EndpointName"])
                and params.get("NameContains", "") in s["MonitoringScheduleName"]
            ]
        return {"MonitoringScheduleSummaries": items}

    @operation(SERVICE, "ListMonitoringExecutions")
    def list_monitoring_executions(self, params: dict[str, Any]) -> dict[str, Any]:
        """Execution summaries (MonitoringScheduleName, EndpointName, StatusEquals), newest
        first."""
        _, schedules = self._monitoring_state()
        with self.lock:
            items = [
                dict(e)
                for s in schedules.values()
                if params.get("MonitoringScheduleName") in (None, s["MonitoringScheduleName"])
                and params.get("EndpointName") in (None, s["EndpointName"])
                for e in s["executions"]
            ]
        if params.get("StatusEquals"):
            items = [e for e in items if e["MonitoringExecutionStatus"] == params["StatusEquals"]]
        items.sort(key=lambda e: e["ScheduledTime"], reverse=True)
        return {"MonitoringExecutionSummaries": items}

    @operation(SERVICE, "StopMonitoringSchedule")
    def stop_monitoring_schedule(self, params: dict[str, Any]) -> dict[str, Any]:
        """No more executions until StartMonitoringSchedule."""
        return self._set_schedule_status(params["MonitoringScheduleName"], "Stopped")

    @operation(SERVICE, "StartMonitoringSchedule")
    def start_monitoring_schedule(self, params: dict[str, Any]) -> dict[str, Any]:
        """Executions resume on the schedule's cron."""
        return self._set_schedule_status(params["MonitoringScheduleName"], "Scheduled")

    @operation(SERVICE, "DeleteMonitoringSchedule")
    def delete_monitoring_schedule(self, params: dict[str, Any]) -> dict[str, Any]:
        """Forgets the schedule and its executions."""
        _, schedules = self._monitoring_state()
        with self.lock:
            if schedules.pop(params["MonitoringScheduleName"], None) is None:
                raise EmulatorError(
                    "ResourceNotFound",
                    f"Monitoring schedule {params['MonitoringScheduleName']} not found",
                )
        return {}

    def _set_schedule_status(self, name: str, status: str) -> dict[str, Any]:
        _, schedules = self._monitoring_state()
        with self.lock:
            sched = schedules.get(name)
            if sched is None:
                raise EmulatorError("ResourceNotFound", f"Monitoring schedule {name} not found")
            sched["MonitoringScheduleStatus"] = status
            sched["LastModifiedTime"] = _now()
        return {}

    # -- executions ----------------------------------------------------------------------------
    def _ensure_scheduler(self) -> None:
        with self.lock:
            if getattr(self, "_scheduler", None) is not None:
                return
            self._scheduler = threading.Thread(
                target=self._scheduler_loop, daemon=True, name="monitoring-scheduler"
            )
            self._scheduler.start()

    def _scheduler_loop(self) -> None:
        _, schedules = self._monitoring_state()
        stop = getattr(self, "_stop", None)
        while not (stop is not None and stop.wait(15.0)):
            hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
            for name, sched in list(schedules.items()):
                expression = sched["MonitoringScheduleConfig"].get("ScheduleConfig", {}).get(
                    "ScheduleExpression", ""
                )
                if sched["MonitoringScheduleStatus"] != "Scheduled" or expression.upper() == "NOW":
                    continue
                if hour > sched["last_hour"]:
                    sched["last_hour"] = hour
                    self._execute_schedule(name, hour - timedelta(hours=1), hour, hour)

    def _execute_schedule(
        self, name: str, start: datetime, end: datetime, scheduled: datetime
    ) -> dict[str, Any]:
        """Run one execution over captures in ``[start, end)``; returns its summary."""
        from smkit import uri as s3uri
        from smkit.emulator.processing import CONTAINER_ROOT, analyze

        _, schedules = self._monitoring_state()
        sched = schedules[name]
        job = self._job_of(sched["MonitoringScheduleConfig"])
        endpoint = job["endpoint"]
        proc_name = f"model-monitoring-{scheduled:%Y%m%d%H%M}-{name[:20]}-{time.time_ns() % 10**6}"
        summary = {
            "MonitoringScheduleName": name,
            "ScheduledTime": scheduled.isoformat(),
            "CreationTime": _now(),
            "LastModifiedTime": _now(),
            "MonitoringExecutionStatus": "InProgress",
            "ProcessingJobArn": self.arn("processing-job", proc_name),  # type: ignore[attr-defined]
            "EndpointName": endpoint,
            "MonitoringType": "DataQuality",
        }
        with self.lock:
            sched["executions"].append(summary)
        base = self.root / "monitoring" / proc_name
        try:
            ep = self.endpoints.get(endpoint)
            capture = (ep.config.get("DataCaptureConfig") or {}) if ep is not None else {}
            if ep is not None and capture.get("EnableCapture"):
                try:
                    self._copy_capture(ep, flush=True)  # type: ignore[attr-defined]
                except Exception:
                    pass
            if not capture.get("DestinationS3Uri"):
                raise RuntimeError(f"endpoint {endpoint} has no data capture")
            prefix = capture["DestinationS3Uri"].rstrip("/") + f"/{endpoint}/"
            source = base / "input" / "endpoint"
            source.mkdir(parents=True, exist_ok=True)
            found = 0
            for key in self.bridge.keys(prefix):
                m = _KEY_HOUR.search("/" + key)
                if not m:
                    continue
                hour = datetime(*(int(g) for g in m.groups()), tzinfo=UTC)
                if not (start.replace(minute=0, second=0, microsecond=0) <= hour < end):
                    continue
                bucket = s3uri.parse(prefix)[0]
                (source / f"{found:05d}.jsonl").write_bytes(
                    self.bridge.get_bytes(s3uri.to_uri(bucket, key))
                )
                found += 1
            if not found:
                raise RuntimeError("Job inputs had no data")
            env = {
                **job["env"],
                "dataset_format": json.dumps({"sagemakerCaptureJson": {}}),
                "dataset_source": f"{CONTAINER_ROOT}/input/endpoint",
                "output_path": f"{CONTAINER_ROOT}/output",
            }
            for key, uri in (("baseline_constraints", job["constraints"]),
                             ("baseline_statistics", job["statistics"])):
                if uri:
                    dest = base / "baseline" / f"{key}.json"
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    dest.write_bytes(self.bridge.get_bytes(uri))
                    env[key] = f"{CONTAINER_ROOT}/baseline/{key}.json"
            analyze(env, base)
            folder = s3uri.join(
                job["output"], endpoint, name, f"{start:%Y}", f"{start:%m}", f"{start:%d}",
                f"{start:%H}",
            )
            violations = 0
            for f in sorted((base / "output").iterdir()):
                if f.name == "constraint_violations.json":
                    violations = len(json.loads(f.read_text()).get("violations", []))
                bucket, key = s3uri.parse(s3uri.join(folder, f.name))
                self.bridge.client("s3").put_object(Bucket=bucket, Key=key, Body=f.read_bytes())
            status = "CompletedWithViolations" if violations else "Completed"
            reason = None
        except Exception as exc:
            status, reason = "Failed", str(exc)[:1024]
        with self.lock:
            summary["MonitoringExecutionStatus"] = status
            summary["LastModifiedTime"] = _now()
            if reason:
                summary["FailureReason"] = reason
        return summary
