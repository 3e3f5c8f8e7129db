"""Model Monitor schedules: job definitions, schedules, executions (a mixin of
`smkit.emulator.sagemaker.SageMakerEmulator`).

An execution is a processing job with the analyzer image
(`smkit.emulator.processing.analyze`): the endpoint's capture objects of the analysis
window are read from the emulated S3, checked against the baseline's constraints (and its
statistics), and ``statistics.json`` / ``constraints.json`` / ``constraint_violations.json``
are written to ``<output S3Uri>/<endpoint>/<schedule>/yyyy/mm/dd/hh/``. Status
``Completed``, ``CompletedWithViolations``, or ``Failed`` (no captured data in the window).

Model-quality executions (``MonitoringType: ModelQuality``) merge the window's captured
predictions with the job definition's ``GroundTruthS3Input`` on the inference id (else the
event id), compute the metrics of its ``ProblemType`` and check them against the baseline's
constraints (`smkit.monitoring.engines.model_quality`): ``statistics.json``,
``constraints.json``, ``constraint_violations.json``. Explainability executions
(``ModelExplainability``) explain the window's captured rows with SHAP, calling the endpoint
(the job definition's ``ConfigUri`` analysis config), and compare the attributions with the
baseline's ``analysis.json`` by nDCG (`smkit.monitoring.engines.clarify`):
``analysis.json``, ``constraint_violations.json``. Clarify's own requests to the endpoint
are left out of every execution's capture data.

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
from typing import TYPE_CHECKING, Any

from smkit.emulator.operations import operation
from smkit.emulator.protocol import EmulatorError

__all__ = ["MonitoringOps", "parse_offset"]

SERVICE = "sagemaker"
_OFFSET = re.compile(r"^-P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?)?$")
_KEY_HOUR = re.compile(r"/(\d{4})/(\d{2})/(\d{2})/(\d{2})/[^/]+$")
#: SageMaker's nDCG threshold of an explainability execution (feature attribution drift).
_NDCG_THRESHOLD = 0.9
#: The image an execution of each ``MonitoringType`` runs (in its processing job's view).
_IMAGES = {
    "DataQuality": "156813124566.dkr.ecr.us-east-1.amazonaws.com/sagemaker-model-monitor-analyzer",
    "ModelQuality": "156813124566.dkr.ecr.us-east-1.amazonaws.com/sagemaker-model-monitor-analyzer",
    "ModelExplainability": (
        "205585389593.dkr.ecr.us-east-1.amazonaws.com/sagemaker-clarify-processing:1.0"
    ),
}
#: ``MonitoringType`` -> the ARN kind of its job definitions.
_ARN_KIND = {
    "DataQuality": "data-quality-job-definition",
    "ModelQuality": "model-quality-job-definition",
    "ModelExplainability": "model-explainability-job-definition",
}


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
    processing: dict[str, dict[str, Any]]
    backend: Any

    if TYPE_CHECKING:  # provided by the host class (SageMakerEmulator)

        def arn(self, kind: str, name: str) -> str: ...

        def _copy_capture(self, ep: Any, *, flush: bool) -> int: ...

    def _monitoring_state(self) -> tuple[dict[str, Any], dict[str, Any]]:
        if not hasattr(self, "_dq_definitions"):
            self._dq_definitions: dict[str, dict[str, Any]] = {}
            self._schedules: dict[str, dict[str, Any]] = {}
        return self._dq_definitions, self._schedules

    def _definitions(self, kind: str) -> dict[str, dict[str, Any]]:
        """The job definitions of one ``MonitoringType``."""
        defs, _ = self._monitoring_state()
        if kind == "DataQuality":
            return defs
        if not hasattr(self, "_other_definitions"):
            self._other_definitions: dict[str, dict[str, dict[str, Any]]] = {}
        return self._other_definitions.setdefault(kind, {})

    def _create_definition(self, kind: str, params: dict[str, Any]) -> dict[str, Any]:
        defs = self._definitions(kind)
        name = params["JobDefinitionName"]
        arn = self.arn(_ARN_KIND[kind], name)
        with self.lock:
            if name in defs:
                raise EmulatorError("ResourceInUse", f"Job definition {arn} already exists")
            defs[name] = {**params, "JobDefinitionArn": arn, "CreationTime": _now()}
        return {"JobDefinitionArn": arn}

    def _describe_definition(self, kind: str, params: dict[str, Any]) -> dict[str, Any]:
        found = self._definitions(kind).get(params["JobDefinitionName"])
        if found is None:
            raise EmulatorError(
                "ResourceNotFound", f"Job definition {params['JobDefinitionName']} not found"
            )
        return found

    def _delete_definition(self, kind: str, params: dict[str, Any]) -> dict[str, Any]:
        defs = self._definitions(kind)
        with self.lock:
            if defs.pop(params["JobDefinitionName"], None) is None:
                raise EmulatorError(
                    "ResourceNotFound", f"Job definition {params['JobDefinitionName']} not found"
                )
        return {}

    def _list_definitions(self, kind: str, params: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            items = [
                {
                    "MonitoringJobDefinitionName": d["JobDefinitionName"],
                    "MonitoringJobDefinitionArn": d["JobDefinitionArn"],
                    "CreationTime": d["CreationTime"],
                    "EndpointName": d[f"{kind}JobInput"]["EndpointInput"]["EndpointName"],
                }
                for d in self._definitions(kind).values()
                if params.get("EndpointName")
                in (None, d[f"{kind}JobInput"]["EndpointInput"]["EndpointName"])
                and params.get("NameContains", "") in d["JobDefinitionName"]
            ]
        items.sort(
            key=lambda d: d[
                "CreationTime"
                if params.get("SortBy") == "CreationTime"
                else "MonitoringJobDefinitionName"
            ],
            reverse=params.get("SortOrder", "Descending") == "Descending",
        )
        return {"JobDefinitionSummaries": items}

    # -- job definitions -------------------------------------------------------------------------
    @operation(SERVICE, "CreateDataQualityJobDefinition")
    def create_dq_definition(self, params: dict[str, Any]) -> dict[str, Any]:
        """Records a data-quality job definition (baseline, endpoint input, output)."""
        return self._create_definition("DataQuality", params)

    @operation(SERVICE, "DescribeDataQualityJobDefinition")
    def describe_dq_definition(self, params: dict[str, Any]) -> dict[str, Any]:
        """The job definition as created."""
        return self._describe_definition("DataQuality", params)

    @operation(SERVICE, "ListDataQualityJobDefinitions")
    def list_dq_definitions(self, params: dict[str, Any]) -> dict[str, Any]:
        """Job definition summaries (EndpointName, NameContains, sorting)."""
        return self._list_definitions("DataQuality", params)

    @operation(SERVICE, "DeleteDataQualityJobDefinition")
    def delete_dq_definition(self, params: dict[str, Any]) -> dict[str, Any]:
        """Forgets the job definition."""
        return self._delete_definition("DataQuality", params)

    @operation(SERVICE, "CreateModelQualityJobDefinition")
    def create_mq_definition(self, params: dict[str, Any]) -> dict[str, Any]:
        """Records a model-quality job definition (baseline constraints, problem type,
        endpoint input with its inference / probability attributes, ground truth, output)."""
        return self._create_definition("ModelQuality", params)

    @operation(SERVICE, "DescribeModelQualityJobDefinition")
    def describe_mq_definition(self, params: dict[str, Any]) -> dict[str, Any]:
        """The job definition as created."""
        return self._describe_definition("ModelQuality", params)

    @operation(SERVICE, "ListModelQualityJobDefinitions")
    def list_mq_definitions(self, params: dict[str, Any]) -> dict[str, Any]:
        """Job definition summaries (EndpointName, NameContains, sorting)."""
        return self._list_definitions("ModelQuality", params)

    @operation(SERVICE, "DeleteModelQualityJobDefinition")
    def delete_mq_definition(self, params: dict[str, Any]) -> dict[str, Any]:
        """Forgets the job definition."""
        return self._delete_definition("ModelQuality", params)

    @operation(SERVICE, "CreateModelExplainabilityJobDefinition")
    def create_me_definition(self, params: dict[str, Any]) -> dict[str, Any]:
        """Records an explainability job definition (baseline ``analysis.json``, the
        ``ConfigUri`` analysis config, endpoint input, output)."""
        return self._create_definition("ModelExplainability", params)

    @operation(SERVICE, "DescribeModelExplainabilityJobDefinition")
    def describe_me_definition(self, params: dict[str, Any]) -> dict[str, Any]:
        """The job definition as created."""
        return self._describe_definition("ModelExplainability", params)

    @operation(SERVICE, "ListModelExplainabilityJobDefinitions")
    def list_me_definitions(self, params: dict[str, Any]) -> dict[str, Any]:
        """Job definition summaries (EndpointName, NameContains, sorting)."""
        return self._list_definitions("ModelExplainability", params)

    @operation(SERVICE, "DeleteModelExplainabilityJobDefinition")
    def delete_me_definition(self, params: dict[str, Any]) -> dict[str, Any]:
        """Forgets the job definition."""
        return self._delete_definition("ModelExplainability", params)

    # -- schedules -------------------------------------------------------------------------------
    def _job_of(self, config: dict[str, Any]) -> dict[str, Any]:
        """The schedule's job, as ``{kind, endpoint, constraints, statistics, output, env}``
        (and the model-quality / explainability settings)."""
        kind = config.get("MonitoringType") or "DataQuality"
        if kind not in _ARN_KIND:
            raise EmulatorError(
                "ValidationException",
                f"MonitoringType {kind!r}: the emulator runs "
                f"{', '.join(_ARN_KIND)} monitoring schedules",
            )
        extra: dict[str, Any] = {}
        if config.get("MonitoringJobDefinition"):
            if kind != "DataQuality":
                raise EmulatorError(
                    "ValidationException",
                    f"a {kind} schedule names its job definition (MonitoringJobDefinitionName)",
                )
            job = config["MonitoringJobDefinition"]
            baseline = job.get("BaselineConfig") or {}
            endpoint_input = job["MonitoringInputs"][0]["EndpointInput"]
            outputs = job["MonitoringOutputConfig"]["MonitoringOutputs"]
            env = job.get("Environment") or {}
        else:
            name = config.get("MonitoringJobDefinitionName")
            job = self._definitions(kind).get(name or "")
            if job is None:
                raise EmulatorError("ResourceNotFound", f"{kind} job definition {name} not found")
            baseline = job.get(f"{kind}BaselineConfig") or {}
            job_input = job[f"{kind}JobInput"]
            endpoint_input = job_input["EndpointInput"]
            outputs = job[f"{kind}JobOutputConfig"]["MonitoringOutputs"]
            app = job.get(f"{kind}AppSpecification") or {}
            env = app.get("Environment") or {}
            if kind == "ModelQuality":
                extra = {
                    "problem_type": app.get("ProblemType", "BinaryClassification"),
                    "ground_truth": job_input["GroundTruthS3Input"]["S3Uri"],
                    "probability_threshold": float(
                        endpoint_input.get("ProbabilityThresholdAttribute", 0.5)
                    ),
                }
            elif kind == "ModelExplainability":
                extra = {"config_uri": app["ConfigUri"]}
        return {
            "kind": kind,
            "endpoint": endpoint_input["EndpointName"],
            "constraints": (baseline.get("ConstraintsResource") or {}).get("S3Uri"),
            "statistics": (baseline.get("StatisticsResource") or {}).get("S3Uri"),
            "output": outputs[0]["S3Output"]["S3Uri"],
            "env": dict(env),
            **extra,
        }

    @operation(SERVICE, "CreateMonitoringSchedule")
    def create_monitoring_schedule(self, params: dict[str, Any]) -> dict[str, Any]:
        """Data-quality, model-quality and explainability schedules: hourly cron
        executions, or one at once for ``ScheduleExpression: NOW`` (on-demand monitoring)."""
        _, schedules = self._monitoring_state()
        name = params["MonitoringScheduleName"]
        arn = self.arn("monitoring-schedule", name)
        config = params["MonitoringScheduleConfig"]
        job = self._job_of(config)
        if job["endpoint"] not in self.endpoints:
            raise EmulatorError(
                "ValidationException",
                f'Could not find endpoint "{self.arn("endpoint", job["endpoint"])}".',
            )
        with self.lock:
            if name in schedules:
                raise EmulatorError("ResourceInUse", f"Monitoring schedule {arn} already exists")
            now = _now()
            schedules[name] = {
                "MonitoringScheduleArn": arn,
                "MonitoringScheduleName": name,
                "MonitoringScheduleStatus": "Scheduled",
                "MonitoringType": job["kind"],
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
                expression = (
                    sched["MonitoringScheduleConfig"]
                    .get("ScheduleConfig", {})
                    .get("ScheduleExpression", "")
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

        _, schedules = self._monitoring_state()
        sched = schedules[name]
        job = self._job_of(sched["MonitoringScheduleConfig"])
        endpoint = job["endpoint"]
        proc_name = f"model-monitoring-{scheduled:%Y%m%d%H%M}-{name[:20]}-{time.time_ns() % 10**6}"
        folder = s3uri.join(
            job["output"],
            endpoint,
            name,
            f"{start:%Y}",
            f"{start:%m}",
            f"{start:%d}",
            f"{start:%H}",
        )
        summary = {
            "MonitoringScheduleName": name,
            "ScheduledTime": scheduled.isoformat(),
            "CreationTime": _now(),
            "LastModifiedTime": _now(),
            "MonitoringExecutionStatus": "InProgress",
            "ProcessingJobArn": self.arn("processing-job", proc_name),
            "EndpointName": endpoint,
            "MonitoringType": job["kind"],
        }
        processing = {
            "ProcessingJobName": proc_name,
            "ProcessingJobArn": summary["ProcessingJobArn"],
            "ProcessingJobStatus": "InProgress",
            "MonitoringScheduleArn": sched["MonitoringScheduleArn"],
            "AppSpecification": {"ImageUri": _IMAGES[job["kind"]]},
            "Environment": dict(job["env"]),
            "ProcessingOutputConfig": {
                "Outputs": [
                    {
                        "OutputName": "monitoring_output",
                        "S3Output": {
                            "S3Uri": folder,
                            "LocalPath": "/opt/ml/processing/output",
                            "S3UploadMode": "Continuous",
                        },
                    }
                ]
            },
            "ProcessingResources": {
                "ClusterConfig": {
                    "InstanceCount": 1,
                    "InstanceType": "ml.m5.xlarge",
                    "VolumeSizeInGB": 30,
                }
            },
            "RoleArn": f"arn:aws:iam::{summary['ProcessingJobArn'].split(':')[4]}:role/monitoring",
            "CreationTime": _now(),
            "ProcessingStartTime": _now(),
            "LastModifiedTime": _now(),
        }
        with self.lock:
            sched["executions"].append(summary)
            self.processing[proc_name] = processing
        base = self.root / "monitoring" / proc_name
        try:
            self._window_capture(endpoint, start, end, base / "input" / "endpoint")
            output = base / "output"
            output.mkdir(parents=True, exist_ok=True)
            if job["kind"] == "ModelQuality":
                self._model_quality_execution(job, base, output)
            elif job["kind"] == "ModelExplainability":
                self._explainability_execution(job, base, output)
            else:
                self._data_quality_execution(job, base)
            violations = 0
            for f in sorted(p for p in output.rglob("*") if p.is_file()):
                if f.name == "constraint_violations.json":
                    violations = len(json.loads(f.read_text()).get("violations", []))
                rel = f.relative_to(output).as_posix()
                bucket, key = s3uri.parse(s3uri.join(folder, rel))
                self.bridge.client("s3").put_object(Bucket=bucket, Key=key, Body=f.read_bytes())
            status = "CompletedWithViolations" if violations else "Completed"
            reason = None
        except Exception as exc:
            status, reason = "Failed", str(exc)[:1024]
        with self.lock:
            summary["MonitoringExecutionStatus"] = status
            summary["LastModifiedTime"] = _now()
            processing["ProcessingJobStatus"] = "Failed" if status == "Failed" else "Completed"
            processing["ProcessingEndTime"] = processing["LastModifiedTime"] = _now()
            processing["ExitMessage"] = reason or f"{status}: Job completed successfully."
            if reason:
                summary["FailureReason"] = reason
                processing["FailureReason"] = reason
        return summary

    def _window_capture(self, endpoint: str, start: datetime, end: datetime, source: Any) -> int:
        """Copy the endpoint's capture objects of the window's hours to ``source`` (without
        Clarify's own requests); raises when there are none."""
        from smkit import uri as s3uri
        from smkit.backends.local.monitoring import CLARIFY_INFERENCE_PREFIX

        ep = self.endpoints.get(endpoint)
        capture = (ep.config.get("DataCaptureConfig") or {}) if ep is not None else {}
        if ep is not None and capture.get("EnableCapture"):
            try:
                self._copy_capture(ep, flush=True)
            except Exception:
                pass
        if not capture.get("DestinationS3Uri"):
            raise RuntimeError(f"endpoint {endpoint} has no data capture")
        prefix = capture["DestinationS3Uri"].rstrip("/") + f"/{endpoint}/"
        source.mkdir(parents=True, exist_ok=True)
        found = 0
        marker = f'"inferenceId":"{CLARIFY_INFERENCE_PREFIX}'
        for key in self.bridge.keys(prefix):
            m = _KEY_HOUR.search("/" + key)
            if not m:
                continue
            hour = datetime(*(int(g) for g in m.groups()), tzinfo=UTC)
            if not (start.replace(minute=0, second=0, microsecond=0) <= hour < end):
                continue
            bucket = s3uri.parse(prefix)[0]
            data = self.bridge.get_bytes(s3uri.to_uri(bucket, key))
            lines = [
                line
                for line in data.splitlines(keepends=True)
                if marker not in line.replace(b" ", b"").decode("utf-8", "replace")
            ]
            if not any(line.strip() for line in lines):
                continue
            (source / f"{found:05d}.jsonl").write_bytes(b"".join(lines))
            found += 1
        if not found:
            raise RuntimeError("Job inputs had no data")
        return found

    def _data_quality_execution(self, job: dict[str, Any], base: Any) -> None:
        from smkit.emulator.processing import CONTAINER_ROOT, analyze

        env = {
            **job["env"],
            "dataset_format": json.dumps({"sagemakerCaptureJson": {}}),
            "dataset_source": f"{CONTAINER_ROOT}/input/endpoint",
            "output_path": f"{CONTAINER_ROOT}/output",
        }
        for key, uri in (
            ("baseline_constraints", job["constraints"]),
            ("baseline_statistics", job["statistics"]),
        ):
            if uri:
                dest = base / "baseline" / f"{key}.json"
                dest.parent.mkdir(parents=True, exist_ok=True)
                dest.write_bytes(self.bridge.get_bytes(uri))
                env[key] = f"{CONTAINER_ROOT}/baseline/{key}.json"
        analyze(env, base)

    def _capture_lines(self, base: Any) -> list[str]:
        lines: list[str] = []
        for f in sorted((base / "input" / "endpoint").glob("*.jsonl")):
            lines.extend(f.read_text(encoding="utf-8", errors="replace").splitlines())
        return lines

    def _model_quality_execution(self, job: dict[str, Any], base: Any, output: Any) -> None:
        """Captured predictions merged with the ground truth, checked against the baseline
        constraints (the local backend's model-quality execution)."""
        from smkit import uri as s3uri
        from smkit.monitoring.engines.model_quality import (
            check_model_quality,
            execution_columns,
            merge_ground_truth,
            model_quality_statistics,
        )

        truth: list[str] = []
        bucket, _ = s3uri.parse(job["ground_truth"])
        for key in self.bridge.keys(job["ground_truth"].rstrip("/") + "/"):
            if key.endswith("/"):
                continue
            data = self.bridge.get_bytes(s3uri.to_uri(bucket, key))
            truth.extend(data.decode("utf-8", errors="replace").splitlines())
        if not truth:
            raise RuntimeError(f"Ground truth had no data under {job['ground_truth']}")
        preds, labels, counts = merge_ground_truth(self._capture_lines(base), truth)
        if not preds:
            raise RuntimeError(
                "No captured inference matched the ground truth "
                f"({counts['captured']} captured, {counts['ground_truth']} ground truth records)"
            )
        labels, preds, probs = execution_columns(
            job["problem_type"], preds, labels, job["probability_threshold"]
        )
        stats = model_quality_statistics(job["problem_type"], labels, preds, probs)
        if not job["constraints"]:
            raise RuntimeError("the model-quality job definition has no baseline constraints")
        constraints = json.loads(self.bridge.get_bytes(job["constraints"]))
        violations = check_model_quality(stats, constraints)
        (output / "statistics.json").write_text(json.dumps(stats, indent=2))
        (output / "constraints.json").write_text(json.dumps(constraints, indent=2))
        (output / "constraint_violations.json").write_text(json.dumps(violations, indent=2))

    def _explainability_execution(self, job: dict[str, Any], base: Any, output: Any) -> None:
        """The window's captured rows explained with SHAP over the endpoint, and the
        attributions compared with the baseline's (the local backend's explainability
        execution)."""
        import numpy as np

        from smkit.backends.local.monitoring import MAX_EXPLAIN_ROWS
        from smkit.emulator.processing import endpoint_predict
        from smkit.monitoring.clarify import ExplainabilityAnalysisConfig
        from smkit.monitoring.engines.capture import ReadStats, iter_capture_rows
        from smkit.monitoring.engines.clarify import (
            analysis_document,
            attribution_drift,
            explain,
            local_values_csv,
        )

        config = json.loads(self.bridge.get_bytes(job["config_uri"]))
        analysis_cfg = ExplainabilityAnalysisConfig.from_dict(config)
        names = list(config.get("headers") or [])
        read = ReadStats()
        rows = []
        for row in iter_capture_rows(self._capture_lines(base), read, include_output=False):
            try:
                values = [float(v) for v in row]
            except ValueError:
                read.skip("non-numeric row")
                continue
            if names and len(values) != len(names):
                read.skip("column count")
                continue
            rows.append(values)
        if not rows:
            raise RuntimeError("Job inputs had no rows to explain")
        names = names or [f"_c{i}" for i in range(len(rows[0]))]
        x = np.asarray(rows)
        if len(x) > MAX_EXPLAIN_ROWS:
            x = x[np.random.default_rng(0).choice(len(x), MAX_EXPLAIN_ROWS, replace=False)]
        endpoint = analysis_cfg.model.endpoint_name or job["endpoint"]
        result = explain(
            x,
            analysis_cfg.shap,
            feature_names=names,
            predict_fn=endpoint_predict(self.backend, endpoint),
            label_headers=list(analysis_cfg.model.label_headers or []) or None,
        )
        doc = analysis_document(result)
        if not job["constraints"]:
            raise RuntimeError("the explainability job definition has no baseline analysis")
        baseline = json.loads(self.bridge.get_bytes(job["constraints"]))
        violations = attribution_drift(baseline, doc, _NDCG_THRESHOLD)
        (output / "analysis.json").write_text(json.dumps(doc, indent=2))
        (output / "constraint_violations.json").write_text(json.dumps(violations, indent=2))
        if analysis_cfg.shap.save_local_shap_values:
            (output / "explanations_shap").mkdir(exist_ok=True)
            (output / "explanations_shap" / "out.csv").write_text(local_values_csv(result, names))
