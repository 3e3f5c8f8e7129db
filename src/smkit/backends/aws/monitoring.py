"""AWS backend verbs for monitoring: the ``backend.monitoring`` component of `AwsBackend`
(whose monitoring methods delegate to it).

``apply_monitor(plan)`` sends, per monitor of the plan (request shapes from
`smkit.sagemaker_api`):

1. ``CreateProcessingJob``: the baseline job, with the Model Monitor analyzer image (data and
   model quality) or the Clarify image (explainability) of the region, looked up lazily with
   ``sagemaker.core.image_uris``; Clarify reads its dataset from
   ``/opt/ml/processing/input/data`` and its analysis config from
   ``/opt/ml/processing/input/config``;
2. ``CreateDataQualityJobDefinition`` / ``CreateModelQualityJobDefinition`` /
   ``CreateModelExplainabilityJobDefinition``, pointing at the baseline job's outputs (the
   explainability definition gets its own analysis config: ``methods``, ``predictor`` and
   the feature-only ``headers``). Data-quality ``monitoring_config`` overrides are merged
   into the baseline's ``constraints.json`` once the baseline job has completed (a real run
   waits for it);
3. ``CreateMonitoringSchedule`` with the plan's cron expression.

Every request is validated by botocore before it is sent (or, in plan mode, recorded).
The baseline job runs asynchronously on SageMaker; the job definition references the files
it will write (``statistics.json`` / ``constraints.json`` / ``analysis.json``).
"""

from __future__ import annotations

import json
import math
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from smkit import sagemaker_api as api
from smkit import uri as s3uri
from smkit.backends.aws.component import AwsComponent
from smkit.errors import (
    ConfigError,
    MissingExtraError,
    OrderError,
    ResourceFailedError,
    ResourceInUseError,
    ResourceNotFoundError,
    SmkitTimeoutError,
)
from smkit.monitoring.handle import (
    COMPLETED,
    TERMINAL,
    Monitor,
    MonitoringExecution,
    MonitorRun,
)

if TYPE_CHECKING:
    from smkit.backends.aws import AwsBackend

__all__ = ["AwsMonitor", "AwsMonitoring", "analysis_offset", "image_uri"]

_IMAGES: dict[tuple[str, str], str] = {}


def image_uri(framework: str, region: str) -> str:
    """The ``model-monitor`` or ``clarify`` image of ``region`` (looked up once, lazily)."""
    key = (framework, region)
    if key not in _IMAGES:
        try:
            from sagemaker.core import image_uris
        except ImportError as exc:  # pragma: no cover - the aws extra ships it
            raise MissingExtraError(
                "image look-up needs the 'sagemaker' package", hint="pip install 'smkit[aws]'"
            ) from exc
        _IMAGES[key] = image_uris.retrieve(framework, region)
    return _IMAGES[key]


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%d-%H%M%S")


def _name(*parts: str, limit: int = 63) -> str:
    text = "-".join(p for p in parts if p)
    text = "".join(c if c.isalnum() or c == "-" else "-" for c in text)
    return text[:limit].strip("-")


def _secured(plan: Any, output_key: str, resources_key: str, request: dict[str, Any]) -> dict:
    """``request`` with the plan's KMS keys and ``NetworkConfig`` (see
    `with_security`)."""
    if plan is None:
        return request
    if getattr(plan, "output_kms_key", None):
        request[output_key]["KmsKeyId"] = plan.output_kms_key
    if getattr(plan, "volume_kms_key", None):
        request[resources_key]["ClusterConfig"]["VolumeKmsKeyId"] = plan.volume_kms_key
    network = plan.network_config() if hasattr(plan, "network_config") else None
    if network:
        request["NetworkConfig"] = network
    return request


def analysis_offset(value: Any, *, now: datetime | None = None, end: bool = False) -> str:
    """A monitoring window bound as SageMaker's ISO 8601 offset (``-PT<n>H``).

    ``value`` is an offset string (``"-PT3H"``, passed through), a `timedelta` back
    from now, or a `datetime` (naive means UTC). SageMaker counts the window in whole
    hours, so a start is rounded back and an end forward: the window covers the asked one.

    Raises:
        ConfigError: a bound in the future or an unreadable value.
    """
    if isinstance(value, str):
        if not value.startswith("-PT") and value != "PT0H":
            raise ConfigError(f"window bound {value!r}: expected an offset such as '-PT1H'")
        return value
    now = now or datetime.now(UTC)
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        back = now - moment
    elif isinstance(value, timedelta):
        back = value
    else:
        raise ConfigError(f"window bound {value!r}: expected a datetime, timedelta or '-PT<n>H'")
    hours = back.total_seconds() / 3600
    slack = 1 / 3600  # a second: a bound computed "now" by the caller is not in the future
    if hours < -slack:
        raise ConfigError(f"window bound {value!r} is in the future")
    whole = math.floor(hours + slack) if end else math.ceil(hours - slack)
    return f"-PT{max(whole, 0)}H"


def _moment(summary: dict[str, Any]) -> float:
    """An execution summary's ``ScheduledTime`` (else ``CreationTime``) as epoch seconds."""
    value = summary.get("ScheduledTime") or summary.get("CreationTime")
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
        except ValueError:
            return 0.0
    return 0.0


class AwsMonitor(Monitor):
    """Monitoring schedules created on SageMaker for one endpoint.

    Attributes:
        endpoint_name: The monitored endpoint.
        schedules: ``monitor type → schedule name``.
        baseline_jobs: ``monitor type → baseline processing job name``.
        outputs: ``monitor type → s3:// prefix of the reports``.
        once: ``one-time schedule name → monitor type`` of the ``run_now()`` calls.
    """

    def __init__(
        self,
        backend: Any,
        endpoint_name: str,
        schedules: dict[str, str],
        baseline_jobs: dict[str, str],
        outputs: dict[str, str],
    ) -> None:
        self.backend = backend
        self.endpoint_name = endpoint_name
        self.schedules = schedules
        self.baseline_jobs = baseline_jobs
        self.outputs = outputs
        self.once: dict[str, str] = {}

    def __repr__(self) -> str:
        return f"AwsMonitor(endpoint={self.endpoint_name!r}, schedules={self.schedules})"

    def describe(self) -> dict[str, dict[str, Any]]:
        """``schedule name → DescribeMonitoringSchedule`` response."""
        return {
            n: self.backend.call(
                "sagemaker", "DescribeMonitoringSchedule", {"MonitoringScheduleName": n}
            )
            for n in self.schedules.values()
        }

    def _summaries(self, schedule: str) -> list[dict[str, Any]]:
        resp = self.backend.call(
            "sagemaker",
            "ListMonitoringExecutions",
            {
                "MonitoringScheduleName": schedule,
                "SortBy": "ScheduledTime",
                "SortOrder": "Descending",
            },
        )
        return list(resp.get("MonitoringExecutionSummaries", []))

    def _kinds(self) -> dict[str, str]:
        """``schedule name → monitor type``, the one-time schedules included."""
        return {**{n: k for k, n in self.schedules.items()}, **self.once}

    @staticmethod
    def _brief(summary: dict[str, Any], kind: str) -> MonitoringExecution:
        """An execution from its summary alone (no report read)."""
        arn = summary.get("ProcessingJobArn")
        schedule = str(summary.get("MonitoringScheduleName", ""))
        return MonitoringExecution(
            name=arn.rsplit("/", 1)[-1] if arn else schedule,
            schedule=schedule,
            monitor_type=str(summary.get("MonitoringType") or kind),
            status=str(summary.get("MonitoringExecutionStatus", "Pending")),
            message=summary.get("FailureReason"),
            processing_job_arn=arn,
        )

    def executions(self) -> list[MonitoringExecution]:
        """Executions of every schedule and of this handle's ``run_now()`` calls, newest
        first (ListMonitoringExecutions; reports are not read: see `run_now`)."""
        found: list[tuple[float, MonitoringExecution]] = []
        for name, kind in self._kinds().items():
            for summary in self._summaries(name):
                found.append((_moment(summary), self._brief(summary, kind)))
        found.sort(key=lambda pair: -pair[0])
        return [e for _, e in found]

    def _report_folder(self, arn: str) -> str | None:
        job = self.backend.call(
            "sagemaker", "DescribeProcessingJob", {"ProcessingJobName": arn.rsplit("/", 1)[-1]}
        )
        for o in job.get("ProcessingOutputConfig", {}).get("Outputs", []):
            uri = (o.get("S3Output") or {}).get("S3Uri")
            if uri:
                return str(uri)
        return None

    def _read(self, uri: str) -> Any:
        try:
            return json.loads(self.backend.store.get_bytes(uri))
        except ResourceNotFoundError:
            return None

    def _finished(self, summary: dict[str, Any], kind: str) -> MonitoringExecution:
        """An ended execution with its reports read from its processing job's output."""
        brief = self._brief(summary, kind)
        if brief.status not in COMPLETED or not brief.processing_job_arn:
            return brief
        folder = self._report_folder(brief.processing_job_arn)
        if folder is None:
            return brief
        found: dict[str, Any] = {}
        uris: dict[str, str] = {}
        for key, filename in (
            ("statistics", "statistics.json"),
            ("violations", "constraint_violations.json"),
            ("analysis", "analysis.json"),
        ):
            uri = s3uri.join(folder, filename)
            data = self._read(uri)
            if data is not None:
                found[key], uris[key] = data, uri
        statistics = found.get("statistics")
        items = (statistics or {}).get("dataset", {}).get("item_count", 0)
        return attrs.evolve(
            brief,
            statistics=statistics,
            violations=found.get("violations") or {"violations": []},
            analysis=found.get("analysis"),
            uris=uris,
            item_count=int(items or 0),
            report_uri=folder,
            metrics=self._ndcg_metrics(found.get("analysis"), brief.monitor_type),
        )

    def _ndcg_metrics(self, analysis: Any, kind: str) -> dict[str, Any]:
        """``feature_attribution_ndcg_<label>`` of an explainability execution's
        ``analysis.json`` against its baseline job's (as the local backend reports it)."""
        if kind != "ModelExplainability" or not analysis:
            return {}
        if not hasattr(self, "_clarify_baseline"):
            job = self.baseline_jobs.get(kind)
            folder = self._report_folder(job) if job else None
            self._clarify_baseline = (
                self._read(s3uri.join(folder, "analysis.json")) if folder else None
            )
        if not self._clarify_baseline:
            return {}
        from smkit.monitoring.engines.clarify import ndcg

        base = self._clarify_baseline.get("explanations", {}).get("kernel_shap", {})
        current = analysis.get("explanations", {}).get("kernel_shap", {})
        return {
            f"feature_attribution_ndcg_{label}": {
                "Average": ndcg(base[label]["global_shap_values"], values["global_shap_values"])
            }
            for label, values in current.items()
            if label in base
        }

    def run_now(
        self,
        start: Any = None,
        end: Any = None,
        *,
        hours: int | None = None,
        wait: bool = True,
        timeout: float = 3600.0,
    ) -> MonitorRun:
        """Start an on-demand, one-time (``NOW``) execution of each monitor over a window.

        Args:
            start: Window start: a `datetime`, a `timedelta` back from now, or
                an offset such as ``"-PT3H"`` (default: one hour back, or ``hours``).
            end: Window end, the same kinds (default: now).
            hours: Shorthand for ``start=timedelta(hours=hours)``, ``end=now``.
            wait: Poll ListMonitoringExecutions (with the backend's poll delay) until every
                execution has ended and read its reports; ``False`` (and plan mode) returns
                right away with the executions ``Pending``.
            timeout: Seconds to wait at most.

        Returns:
            One `MonitoringExecution` per monitor; its ``schedule`` is the one-time
            schedule (unique per call, also within one second).

        Raises:
            ConfigError: an empty window or both ``hours`` and ``start``.
            SmkitTimeoutError: an execution still runs after ``timeout`` seconds.
        """
        if hours is not None and start is not None:
            raise ConfigError("pass either hours= or start=, not both")
        now = datetime.now(UTC)
        first = analysis_offset(
            start if start is not None else timedelta(hours=hours or 1), now=now
        )
        last = analysis_offset(end if end is not None else timedelta(0), now=now, end=True)
        if int(first[3:-1]) <= int(last[3:-1]):
            raise ConfigError(
                f"empty monitoring window {first} .. {last} (SageMaker counts whole hours)",
                hint="widen the window to at least one hour",
            )
        from smkit.ids import unique_name

        started: list[MonitoringExecution] = []
        for kind, name in self.schedules.items():
            once = unique_name(_name(name[:32], "now"))
            while once in self.once:  # two calls within one millisecond
                time.sleep(0.001)
                once = unique_name(_name(name[:32], "now"))
            self.once[once] = kind
            definition = self.backend.monitoring._definition_names.get(name, name)
            self.backend.call(
                "sagemaker",
                "CreateMonitoringSchedule",
                api.create_monitoring_schedule(
                    once,
                    definition=definition,
                    monitoring_type=kind,
                    expression="NOW",
                    start=first,
                    end=last,
                ),
                resource=once,
            )
            started.append(MonitoringExecution(once, once, kind, "Pending"))
        run = MonitorRun(tuple(started))
        if not wait or self.backend.plan_mode:
            return run
        return self.wait(run, timeout=timeout)

    def wait(self, run: MonitorRun, *, timeout: float = 3600.0) -> MonitorRun:
        """``run`` once each of its executions has ended, with their reports read.

        Raises:
            SmkitTimeoutError: an execution still runs after ``timeout`` seconds.
        """
        deadline = time.monotonic() + timeout
        current = {e.schedule: e for e in run.executions}
        attempt = 0
        while True:
            for schedule, execution in list(current.items()):
                if execution.done:
                    continue
                summaries = self._summaries(schedule)
                if not summaries:
                    continue
                latest = max(summaries, key=_moment)
                status = latest.get("MonitoringExecutionStatus")
                if status in TERMINAL:
                    current[schedule] = self._finished(latest, execution.monitor_type)
                else:
                    current[schedule] = self._brief(latest, execution.monitor_type)
            if all(e.done for e in current.values()):
                return MonitorRun(tuple(current[e.schedule] for e in run.executions))
            if time.monotonic() > deadline:
                waiting = sorted(s for s, e in current.items() if not e.done)
                raise SmkitTimeoutError(
                    f"monitoring executions of {waiting} still running after {timeout:g}s",
                    hint="pass a larger timeout=, or run_now(wait=False) and wait() later",
                )
            time.sleep(self.backend.job_poll_delay(attempt))
            attempt += 1

    def latest_violations(self) -> list[dict[str, Any]]:
        """Violations of the latest completed execution of each monitor type.

        Raises:
            OrderError: no execution has completed yet.
        """
        out: list[dict[str, Any]] = []
        seen: set[str] = set()
        for execution in self.executions():  # newest first
            if execution.monitor_type in seen or execution.status not in COMPLETED:
                continue
            if not execution.processing_job_arn:
                continue
            seen.add(execution.monitor_type)
            folder = self._report_folder(execution.processing_job_arn)
            data = self._read(s3uri.join(folder, "constraint_violations.json")) if folder else None
            out.extend((data or {}).get("violations", []))
        if not seen:
            raise OrderError(
                f"no completed execution for endpoint {self.endpoint_name!r} yet",
                hint="wait for the schedule, or call run_now()",
                missing="execution",
            )
        return out

    def stop(self) -> None:
        """StopMonitoringSchedule for each schedule."""
        for n in self.schedules.values():
            self.backend.call("sagemaker", "StopMonitoringSchedule", {"MonitoringScheduleName": n})

    def delete(self) -> None:
        """DeleteMonitoringSchedule for each schedule, then for the one-time schedules of
        ``run_now()`` (one already gone, or still running its execution, is left)."""
        for n in self.schedules.values():
            self.backend.call(
                "sagemaker", "DeleteMonitoringSchedule", {"MonitoringScheduleName": n}
            )
        for n in list(self.once):
            try:
                self.backend.call(
                    "sagemaker", "DeleteMonitoringSchedule", {"MonitoringScheduleName": n}
                )
            except (ResourceNotFoundError, ResourceInUseError):
                continue
            del self.once[n]


class AwsMonitoring(AwsComponent):
    """Monitoring verbs of the aws backend, a component sharing the backend as its context.

    Args:
        backend: The backend whose requester, store, bucket, region, role and plan mode it
            uses, and which the `AwsMonitor` handles it returns call back.
    """

    def __init__(self, backend: AwsBackend) -> None:
        super().__init__(backend)
        #: ``schedule name → job definition name`` of the schedules created so far.
        self._definition_names: dict[str, str] = {}

    def _check_capture(self, plan: Any) -> None:
        if self.plan_mode:
            return
        resp = self.call("sagemaker", "DescribeEndpoint", {"EndpointName": plan.endpoint_name})
        if not (resp.get("DataCaptureConfig") or {}).get("EnableCapture"):
            raise OrderError(
                f"endpoint {plan.endpoint_name!r} has no data capture "
                "(step 1 of the monitoring order)",
                hint="update it with an endpoint config that has DataCaptureConfig",
                missing="data capture",
            )

    def _stage_input(self, location: str, dest: str) -> str:
        if location.startswith("s3://"):
            return location
        path = Path(location)
        uri = s3uri.join(dest, path.name)
        self.store.put_file(uri, path)
        return uri

    def apply_monitor(self, plan: Any) -> AwsMonitor:
        """Create the baseline jobs, job definitions and schedules of a ``MonitorPlan``.

        Raises:
            OrderError: a step is missing (capture, baseline, schedule).
        """
        plan.check_complete()
        self._check_capture(plan)
        output = plan.output or f"s3://{self.bucket}/monitoring"
        region = self.region
        role = self.role
        schedules, jobs, outputs = {}, {}, {}
        for kind in plan.monitors:
            name = plan.schedule_name(kind)
            stamp = _stamp()
            base = s3uri.join(output, plan.endpoint_name, name, "baseline", stamp)
            reports = s3uri.join(output, plan.endpoint_name, name)
            job = _name("baseline", name[:38], stamp)
            definition = _name(name[:46], stamp)
            if kind == "DataQuality":
                self._dq(plan, job, definition, base, reports, region, role)
            elif kind == "ModelQuality":
                self._mq(plan, job, definition, base, reports, region, role)
            else:
                self._clarify(plan, job, definition, base, reports, region, role)
            self.call(
                "sagemaker",
                "CreateMonitoringSchedule",
                api.create_monitoring_schedule(
                    name,
                    definition=definition,
                    monitoring_type=kind,
                    expression=str(plan.schedule_expression),
                ),
                resource=name,
            )
            self._definition_names[name] = definition
            schedules[kind], jobs[kind], outputs[kind] = name, job, reports
        return AwsMonitor(self.backend, plan.endpoint_name, schedules, jobs, outputs)

    def _processing_job(
        self,
        job: str,
        image: str,
        inputs: list[dict[str, Any]],
        base: str,
        role: str,
        env: dict[str, str],
        plan: Any = None,
        *,
        output_name: str = "monitoring_output",
    ) -> None:
        request = api.create_processing_job(
            job,
            image=image,
            role=role,
            inputs=inputs,
            output_uri=base,
            environment=env or None,
            output_name=output_name,
        )
        self.call(
            "sagemaker",
            "CreateProcessingJob",
            _secured(plan, "ProcessingOutputConfig", "ProcessingResources", request),
            resource=job,
        )

    def _wait_processing_job(
        self, job: str, *, timeout: float = 3600.0, poll: float = 15.0
    ) -> None:
        """Poll DescribeProcessingJob until ``Completed`` (one recorded request in plan mode).

        Raises:
            ResourceFailedError: the job ended ``Failed`` or ``Stopped``.
            SmkitTimeoutError: still running after ``timeout`` seconds.
        """
        deadline = time.monotonic() + timeout
        delay = 0.2
        while True:
            data = self.call(
                "sagemaker", "DescribeProcessingJob", {"ProcessingJobName": job}, resource=job
            )
            status = data.get("ProcessingJobStatus")
            if self.plan_mode or status == "Completed":
                return
            if status in ("Failed", "Stopped"):
                reason = data.get("FailureReason", status)
                raise ResourceFailedError(
                    f"baseline job {job!r} ended {status}: {reason}", name=job, reason=reason
                )
            if time.monotonic() > deadline:
                raise SmkitTimeoutError(f"baseline job {job!r} still {status} after {timeout:g}s")
            time.sleep(delay)
            delay = min(poll, delay * 2)

    def _override_constraints(self, job: str, constraints_uri: str, overrides: dict) -> None:
        """Merge ``overrides`` into the baseline's ``monitoring_config`` (in place): wait for
        the baseline job, read ``constraints.json``, write the merged file back."""
        self._wait_processing_job(job)
        try:
            current = json.loads(self.store.get_bytes(constraints_uri))
        except ResourceNotFoundError:
            if not self.plan_mode:
                raise
            current = {}  # plan mode reads nothing: the request is recorded all the same
        merged = api.merge_monitoring_config(current, overrides)
        self.store.put_bytes(
            constraints_uri, json.dumps(merged, indent=2).encode(), content_type="application/json"
        )

    def _dq(
        self, plan: Any, job: str, definition: str, base: str, reports: str, region: str, role: str
    ) -> None:
        cfg = plan.data_quality_config
        image = image_uri("model-monitor", region)
        data = self._stage_input(cfg.baseline, s3uri.join(base, "input"))
        header = bool(cfg.header) if cfg.header is not None else True
        self._processing_job(
            job,
            image,
            [api.processing_s3_input("baseline_dataset_input", data)],
            base,
            role,
            api.data_quality_baseline_env(header=header),
            plan,
        )
        constraints = s3uri.join(base, "constraints.json")
        if cfg.monitoring_config:
            self._override_constraints(job, constraints, dict(cfg.monitoring_config))
        request = api.data_quality_job_definition(
            definition,
            image=image,
            role=role,
            endpoint_name=plan.endpoint_name,
            baseline_job=job,
            statistics_uri=s3uri.join(base, "statistics.json"),
            constraints_uri=constraints,
            reports=reports,
        )
        self.call(
            "sagemaker",
            "CreateDataQualityJobDefinition",
            _secured(plan, "DataQualityJobOutputConfig", "JobResources", request),
            resource=definition,
        )

    def _mq(
        self, plan: Any, job: str, definition: str, base: str, reports: str, region: str, role: str
    ) -> None:
        cfg = plan.model_quality_config
        image = image_uri("model-monitor", region)
        data = self._stage_input(cfg.baseline, s3uri.join(base, "input"))
        self._processing_job(
            job,
            image,
            [api.processing_s3_input("baseline_dataset_input", data)],
            base,
            role,
            api.model_quality_baseline_env(cfg),
            plan,
        )
        request = api.model_quality_job_definition(
            definition,
            image=image,
            role=role,
            endpoint_name=plan.endpoint_name,
            cfg=cfg,
            baseline_job=job,
            constraints_uri=s3uri.join(base, "constraints.json"),
            reports=reports,
        )
        self.call(
            "sagemaker",
            "CreateModelQualityJobDefinition",
            _secured(plan, "ModelQualityJobOutputConfig", "JobResources", request),
            resource=definition,
        )

    def _clarify(
        self, plan: Any, job: str, definition: str, base: str, reports: str, region: str, role: str
    ) -> None:
        ecfg = plan.explainability_config
        dq = plan.data_quality_config
        analysis_cfg = ecfg.analysis_config(plan.endpoint_name, dq.baseline if dq else None)
        image = image_uri("clarify", region)
        data = self._stage_input(analysis_cfg.data.s3_data_input_path, s3uri.join(base, "input"))
        config = analysis_cfg.to_dict()
        config_uri = s3uri.join(base, "analysis_config.json")
        self.store.put_bytes(config_uri, json.dumps(config, indent=2).encode())
        self._processing_job(
            job,
            image,
            [
                api.processing_s3_input("dataset", data, api.CLARIFY_DATA_INPUT),
                api.processing_s3_input("analysis_config", config_uri, api.CLARIFY_CONFIG_INPUT),
            ],
            base,
            role,
            {},
            plan,
            output_name="analysis_result",
        )
        # the job definition's own config: no label (captured traffic has none)
        monitor_config_uri = s3uri.join(reports, definition, "analysis_config.json")
        self.store.put_bytes(
            monitor_config_uri,
            json.dumps(api.explainability_monitor_config(config), indent=2).encode(),
        )
        request = api.model_explainability_job_definition(
            definition,
            image=image,
            role=role,
            endpoint_name=plan.endpoint_name,
            baseline_job=job,
            analysis_uri=s3uri.join(base, "analysis.json"),
            config_uri=monitor_config_uri,
            reports=reports,
        )
        self.call(
            "sagemaker",
            "CreateModelExplainabilityJobDefinition",
            _secured(plan, "ModelExplainabilityJobOutputConfig", "JobResources", request),
            resource=definition,
        )
