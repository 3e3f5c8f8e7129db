"""AWS backend verbs for monitoring (a mixin of `AwsBackend`).

``apply_monitor(plan)`` sends, per monitor of the plan:

1. ``CreateProcessingJob``: the baseline job, with the Model Monitor analyzer image (data and
   model quality) or the Clarify image (explainability) of the region, looked up lazily with
   ``sagemaker.core.image_uris``;
2. ``CreateDataQualityJobDefinition`` / ``CreateModelQualityJobDefinition`` /
   ``CreateModelExplainabilityJobDefinition``, pointing at the baseline job's outputs;
3. ``CreateMonitoringSchedule`` with the plan's cron expression.

Every request is validated by botocore before it is sent (or, in plan mode, recorded).
The baseline job runs asynchronously on SageMaker; the job definition references the files
it will write (``statistics.json`` / ``constraints.json`` / ``analysis.json``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from smkit import uri as s3uri
from smkit.errors import MissingExtraError, OrderError, ResourceNotFoundError

__all__ = ["AwsMonitor", "AwsMonitoring", "image_uri"]

_INSTANCE = "ml.m5.xlarge"
_PROC_OUT = "/opt/ml/processing/output"
_PROC_IN = "/opt/ml/processing/input"
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


def _resources(instance_type: str = _INSTANCE) -> dict[str, Any]:
    return {
        "ClusterConfig": {"InstanceCount": 1, "InstanceType": instance_type, "VolumeSizeInGB": 20}
    }


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


def _s3_input(name: str, uri: str) -> dict[str, Any]:
    return {
        "InputName": name,
        "S3Input": {
            "S3Uri": uri,
            "LocalPath": f"{_PROC_IN}/{name}",
            "S3DataType": "S3Prefix",
            "S3InputMode": "File",
            "S3DataDistributionType": "FullyReplicated",
        },
    }


class AwsMonitor:
    """Monitoring schedules created on SageMaker for one endpoint.

    Attributes:
        endpoint_name: The monitored endpoint.
        schedules: ``monitor type → schedule name``.
        baseline_jobs: ``monitor type → baseline processing job name``.
        outputs: ``monitor type → s3:// prefix of the reports``.
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

    def executions(self) -> list[dict[str, Any]]:
        """Execution summaries of every schedule, newest first (ListMonitoringExecutions)."""
        out: list[dict[str, Any]] = []
        for n in self.schedules.values():
            resp = self.backend.call(
                "sagemaker",
                "ListMonitoringExecutions",
                {"MonitoringScheduleName": n, "SortBy": "ScheduledTime", "SortOrder": "Descending"},
            )
            out.extend(resp.get("MonitoringExecutionSummaries", []))
        return out

    def run_now(self, *, hours: int = 1) -> dict[str, str]:
        """Start a one-time (``NOW``) execution of each monitor over the last ``hours``.

        Returns:
            ``monitor type → one-time schedule name``.
        """
        started: dict[str, str] = {}
        for kind, name in self.schedules.items():
            once = _name(name[:40], "now", _stamp())
            definition = self.backend._definition_names.get(name, name)
            self.backend.call(
                "sagemaker",
                "CreateMonitoringSchedule",
                {
                    "MonitoringScheduleName": once,
                    "MonitoringScheduleConfig": {
                        "ScheduleConfig": {
                            "ScheduleExpression": "NOW",
                            "DataAnalysisStartTime": f"-PT{hours}H",
                            "DataAnalysisEndTime": "-PT0H",
                        },
                        "MonitoringJobDefinitionName": definition,
                        "MonitoringType": kind,
                    },
                },
            )
            started[kind] = once
        return started

    def latest_violations(self) -> list[dict[str, Any]]:
        """Violations of the latest completed execution of each schedule.

        Raises:
            OrderError: no execution has completed yet.
        """
        out: list[dict[str, Any]] = []
        found = False
        for summary in self.executions():
            arn = summary.get("ProcessingJobArn")
            if not arn or summary.get("MonitoringExecutionStatus") not in (
                "Completed",
                "CompletedWithViolations",
            ):
                continue
            job = self.backend.call(
                "sagemaker", "DescribeProcessingJob", {"ProcessingJobName": arn.rsplit("/", 1)[-1]}
            )
            for o in job.get("ProcessingOutputConfig", {}).get("Outputs", []):
                uri = s3uri.join(o["S3Output"]["S3Uri"], "constraint_violations.json")
                try:
                    out.extend(json.loads(self.backend.store.get_bytes(uri)).get("violations", []))
                    found = True
                except ResourceNotFoundError:
                    continue
        if not found:
            raise OrderError(
                f"no completed execution for endpoint {self.endpoint_name!r} yet",
                hint="wait for the schedule, or call run_now()",
                missing="execution",
            )
        return out

    def delete(self) -> None:
        """DeleteMonitoringSchedule for each schedule."""
        for n in self.schedules.values():
            self.backend.call(
                "sagemaker", "DeleteMonitoringSchedule", {"MonitoringScheduleName": n}
            )


class AwsMonitoring:
    """Monitoring verbs of the aws backend."""

    # provided by AwsBackend (declared so the mixin's reads are typed)
    _definition_names: dict[str, str]
    plan_mode: bool
    store: Any
    bucket: str
    region: str
    role: str
    call: Callable[..., dict[str, Any]]

    def _check_capture(self, plan: Any) -> None:
        if getattr(self, "plan_mode", False):
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
        if not hasattr(self, "_definition_names"):
            self._definition_names = {}
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
                {
                    "MonitoringScheduleName": name,
                    "MonitoringScheduleConfig": {
                        "ScheduleConfig": {"ScheduleExpression": plan.schedule_expression},
                        "MonitoringJobDefinitionName": definition,
                        "MonitoringType": kind,
                    },
                },
            )
            self._definition_names[name] = definition
            schedules[kind], jobs[kind], outputs[kind] = name, job, reports
        return AwsMonitor(self, plan.endpoint_name, schedules, jobs, outputs)

    def _processing_job(
        self,
        job: str,
        image: str,
        inputs: list[dict[str, Any]],
        base: str,
        role: str,
        env: dict[str, str],
        plan: Any = None,
    ) -> None:
        self.call(
            "sagemaker",
            "CreateProcessingJob",
            _secured(
                plan,
                "ProcessingOutputConfig",
                "ProcessingResources",
                {
                    "ProcessingJobName": job,
                    "RoleArn": role,
                    "AppSpecification": {"ImageUri": image},
                    "ProcessingInputs": inputs,
                    "ProcessingOutputConfig": {
                        "Outputs": [
                            {
                                "OutputName": "monitoring_output",
                                "S3Output": {
                                    "S3Uri": base,
                                    "LocalPath": _PROC_OUT,
                                    "S3UploadMode": "EndOfJob",
                                },
                            }
                        ]
                    },
                    "ProcessingResources": _resources(),
                    "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
                    "Environment": env,
                },
            ),
        )

    @staticmethod
    def _outputs(reports: str) -> dict[str, Any]:
        return {
            "MonitoringOutputs": [
                {"S3Output": {"S3Uri": reports, "LocalPath": _PROC_OUT, "S3UploadMode": "EndOfJob"}}
            ]
        }

    def _endpoint_input(self, plan: Any, **extra: Any) -> dict[str, Any]:
        return {
            "EndpointName": plan.endpoint_name,
            "LocalPath": f"{_PROC_IN}/endpoint",
            "S3InputMode": "File",
            "S3DataDistributionType": "FullyReplicated",
            **extra,
        }

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
            [_s3_input("baseline_dataset_input", data)],
            base,
            role,
            {
                "dataset_format": json.dumps(
                    {"csv": {"header": header, "output_columns_position": "START"}}
                ),
                "dataset_source": f"{_PROC_IN}/baseline_dataset_input",
                "output_path": _PROC_OUT,
                "publish_cloudwatch_metrics": "Disabled",
            },
            plan,
        )
        self.call(
            "sagemaker",
            "CreateDataQualityJobDefinition",
            _secured(
                plan,
                "DataQualityJobOutputConfig",
                "JobResources",
                {
                    "JobDefinitionName": definition,
                    "DataQualityBaselineConfig": {
                        "BaseliningJobName": job,
                        "ConstraintsResource": {"S3Uri": s3uri.join(base, "constraints.json")},
                        "StatisticsResource": {"S3Uri": s3uri.join(base, "statistics.json")},
                    },
                    "DataQualityAppSpecification": {"ImageUri": image},
                    "DataQualityJobInput": {"EndpointInput": self._endpoint_input(plan)},
                    "DataQualityJobOutputConfig": self._outputs(reports),
                    "JobResources": _resources(),
                    "RoleArn": role,
                    "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
                },
            ),
        )

    def _mq(
        self, plan: Any, job: str, definition: str, base: str, reports: str, region: str, role: str
    ) -> None:
        cfg = plan.model_quality_config
        image = image_uri("model-monitor", region)
        data = self._stage_input(cfg.baseline, s3uri.join(base, "input"))
        env = {
            "analysis_type": "MODEL_QUALITY",
            "dataset_format": json.dumps({"csv": {"header": True}}),
            "dataset_source": f"{_PROC_IN}/baseline_dataset_input",
            "output_path": _PROC_OUT,
            "problem_type": cfg.problem_type,
            "ground_truth_attribute": cfg.ground_truth_attribute,
        }
        if cfg.inference_attribute:
            env["inference_attribute"] = cfg.inference_attribute
        if cfg.probability_attribute:
            env["probability_attribute"] = cfg.probability_attribute
            env["probability_threshold_attribute"] = str(cfg.probability_threshold)
        self._processing_job(
            job, image, [_s3_input("baseline_dataset_input", data)], base, role, env, plan
        )
        extra: dict[str, Any] = {}
        if cfg.inference_attribute:
            extra["InferenceAttribute"] = cfg.inference_attribute
        if cfg.probability_attribute:
            extra["ProbabilityAttribute"] = cfg.probability_attribute
            extra["ProbabilityThresholdAttribute"] = float(cfg.probability_threshold)
        self.call(
            "sagemaker",
            "CreateModelQualityJobDefinition",
            _secured(
                plan,
                "ModelQualityJobOutputConfig",
                "JobResources",
                {
                    "JobDefinitionName": definition,
                    "ModelQualityBaselineConfig": {
                        "BaseliningJobName": job,
                        "ConstraintsResource": {"S3Uri": s3uri.join(base, "constraints.json")},
                    },
                    "ModelQualityAppSpecification": {
                        "ImageUri": image,
                        "ProblemType": cfg.problem_type,
                    },
                    "ModelQualityJobInput": {
                        "EndpointInput": self._endpoint_input(plan, **extra),
                        "GroundTruthS3Input": {"S3Uri": cfg.ground_truth},
                    },
                    "ModelQualityJobOutputConfig": self._outputs(reports),
                    "JobResources": _resources(),
                    "RoleArn": role,
                    "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
                },
            ),
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
            [_s3_input("dataset", data), _s3_input("analysis_config", config_uri)],
            base,
            role,
            {},
            plan,
        )
        self.call(
            "sagemaker",
            "CreateModelExplainabilityJobDefinition",
            _secured(
                plan,
                "ModelExplainabilityJobOutputConfig",
                "JobResources",
                {
                    "JobDefinitionName": definition,
                    "ModelExplainabilityBaselineConfig": {
                        "BaseliningJobName": job,
                        "ConstraintsResource": {"S3Uri": s3uri.join(base, "analysis.json")},
                    },
                    "ModelExplainabilityAppSpecification": {
                        "ImageUri": image,
                        "ConfigUri": config_uri,
                    },
                    "ModelExplainabilityJobInput": {"EndpointInput": self._endpoint_input(plan)},
                    "ModelExplainabilityJobOutputConfig": self._outputs(reports),
                    "JobResources": _resources(),
                    "RoleArn": role,
                    "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
                },
            ),
        )
