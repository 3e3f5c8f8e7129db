"""The SageMaker control plane (JSON 1.1, ``X-Amz-Target: SageMaker.<Op>``), run for real.

Training jobs run with smkit's local training engine (`smkit.backends.local.jobs`): the
emulator copies the channels and the ``sagemaker_submit_directory`` tarball from the emulated
S3 (moto) into the engine's store, picks the framework from the image URI
(`smkit.training.images.framework_of_image`), submits the job under the same name,
streams its log lines to CloudWatch Logs (``/aws/sagemaker/TrainingJobs``), and when the
engine is done copies ``model.tar.gz`` and ``output.tar.gz`` to
``S3OutputPath/<job>/output/`` in the emulated S3. Only then does the job report its final
status, so a waiter that sees ``Completed`` finds the artifact.

Endpoints run with smkit's local serving engine (an endpoint server process per endpoint):
the model artifact (and any ``SAGEMAKER_SUBMIT_DIRECTORY`` tarball) is copied from moto,
the endpoint is deployed under the same name, and its data capture, written by the engine in
SageMaker's layout, is copied to the emulated S3 after each burst of invocations.

Models and endpoint configurations are records of this process (they do not outlive it).
"""

from __future__ import annotations

import itertools
import shutil
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from smkit.emulator.monitoring import MonitoringOps
from smkit.emulator.operations import operation
from smkit.emulator.protocol import (
    ACCOUNT,
    EmulatorError,
    shape_output,
    validate_request,
)

__all__ = ["SageMakerEmulator"]

SERVICE = "sagemaker"
TRAINING_LOG_GROUP = "/aws/sagemaker/TrainingJobs"
ENDPOINT_LOG_GROUP = "/aws/sagemaker/Endpoints"
_FINAL = ("Completed", "Failed", "Stopped")
#: Hyperparameters the SageMaker SDK adds for the training toolkit (not the user's).
_SDK_HPS = ("sagemaker_program", "sagemaker_submit_directory", "sagemaker_region",
            "sagemaker_container_log_level", "sagemaker_job_name",
            "sagemaker_enable_cloudwatch_metrics")


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _unquote(value: str) -> str:
    """A hyperparameter as the SDK JSON-encodes it (``"\\"train.py\\""``) -> ``train.py``."""
    import json

    try:
        decoded = json.loads(value)
    except (TypeError, ValueError):
        return value
    return decoded if isinstance(decoded, str) else value


def _not_found(what: str, arn: str) -> EmulatorError:
    return EmulatorError("ValidationException", f'Could not find {what} "{arn}".')


class _Job:
    def __init__(self, request: dict[str, Any], arn: str) -> None:
        self.request = request
        self.name: str = request["TrainingJobName"]
        self.arn = arn
        now = _now()
        self.created = now
        self.modified = now
        self.status = "InProgress"
        self.secondary = "Starting"
        self.first = {"Status": "Starting", "StartTime": now,
                      "StatusMessage": "Preparing the instances for training"}
        self.local_transitions: list[dict[str, Any]] = []
        self.fields: dict[str, Any] = {}
        self.failure: str | None = None
        self.stop_requested = False
        self.submitted = False


class _Endpoint:
    def __init__(self, request: dict[str, Any], arn: str, config: dict[str, Any]) -> None:
        self.name: str = request["EndpointName"]
        self.arn = arn
        self.config_name: str = request["EndpointConfigName"]
        self.config = config
        now = _now()
        self.created = now
        self.modified = now
        self.status = "Creating"
        self.failure: str | None = None
        self.deployed = False
        self.pipeline: list[str] = []  # local endpoints of a serial inference pipeline
        self.dirty = False
        self.pushed: dict[str, int] = {}


def _with_config(ep: _Endpoint, config: dict[str, Any]) -> _Endpoint:
    """A view of ``ep`` with another configuration (to drain the old capture)."""
    view = _Endpoint.__new__(_Endpoint)
    view.__dict__.update(ep.__dict__)
    view.config = config
    return view


class SageMakerEmulator(MonitoringOps):
    """SageMaker's control plane over the local engines.

    Args:
        backend: The `smkit.backends.local.LocalBackend` that runs the work.
        moto_url: The moto server holding the emulated S3 and CloudWatch Logs.
        root: The emulator's state directory (code and model copies go below it).
    """

    def __init__(self, backend: Any, moto_url: str, root: Path) -> None:
        from smkit.emulator.aws import MotoBridge

        self.backend = backend
        self.bridge = MotoBridge(moto_url, backend.store)
        self.root = Path(root)
        self.lock = threading.RLock()
        self.jobs: dict[str, _Job] = {}
        self.models: dict[str, dict[str, Any]] = {}
        self.configs: dict[str, dict[str, Any]] = {}
        self.endpoints: dict[str, _Endpoint] = {}
        self.processing: dict[str, dict[str, Any]] = {}
        self.tunings: dict[str, dict[str, Any]] = {}
        self.region = "us-east-1"
        self._stop = threading.Event()
        self._sync: threading.Thread | None = None
        self._handlers: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {}
        for attr in dir(self):
            fn = getattr(self, attr)
            op = getattr(fn, "aws_operation", None)
            if op:
                self._handlers[op] = fn

    # -- plumbing --------------------------------------------------------------------------
    def start(self) -> None:
        """Start the capture-copying thread."""
        self._sync = threading.Thread(target=self._sync_loop, daemon=True, name="capture-sync")
        self._sync.start()

    def shutdown(self) -> None:
        """Stop the background thread, the endpoints' servers and the running jobs."""
        from smkit.errors import SmkitError

        self._stop.set()
        for ep in list(self.endpoints.values()):
            for name in ep.pipeline or ([ep.name] if ep.deployed else []):
                try:
                    if not ep.pipeline:
                        self._copy_capture(ep, flush=True)
                    self.backend.delete_endpoint(name, force=True)
                except (SmkitError, OSError):
                    pass
        for job in list(self.jobs.values()):
            if job.submitted and job.status not in _FINAL:
                try:
                    self.backend.stop_training_job(job.name)
                except SmkitError:
                    pass

    def arn(self, kind: str, name: str) -> str:
        """A SageMaker ARN (the name lower-cased, as SageMaker writes it)."""
        return f"arn:aws:sagemaker:{self.region}:{ACCOUNT}:{kind}/{name.lower()}"

    def dispatch(self, op: str, params: dict[str, Any], region: str = "us-east-1") -> Any:
        """Run one operation: validate the request, call its handler, shape the answer."""
        handler = self._handlers.get(op)
        if handler is None:
            raise EmulatorError(
                "UnknownOperationException",
                f"The operation SageMaker.{op} is not supported by the smkit emulator "
                "(see its reference page for the supported operations).",
            )
        self.region = region
        validate_request(SERVICE, op, params)
        return shape_output(SERVICE, op, handler(params))

    def note_invocation(self, name: str) -> None:
        """An InvokeEndpoint passed through: its capture is copied at the next sync."""
        ep = self.endpoints.get(name)
        if ep is not None:
            ep.dirty = True

    @staticmethod
    def _page(items: list[Any], params: dict[str, Any]) -> tuple[list[Any], str | None]:
        start = int(params.get("NextToken") or 0)
        size = int(params.get("MaxResults") or 100)
        page = items[start : start + size]
        return page, (str(start + size) if start + size < len(items) else None)

    @classmethod
    def _listing(
        cls, items: list[dict[str, Any]], params: dict[str, Any], by: str, key: str
    ) -> dict[str, Any]:
        """A List* answer: ``items`` sorted (SortBy/SortOrder), paged, under ``key``."""
        page, token = cls._page(cls._sorted(items, params, by), params)
        return {key: page, **({"NextToken": token} if token else {})}

    @staticmethod
    def _sorted(items: list[dict[str, Any]], params: dict[str, Any], by: str) -> list[Any]:
        key = {"Name": by, "CreationTime": "CreationTime", "Status": "Status"}.get(
            params.get("SortBy", "CreationTime"), "CreationTime"
        )
        return sorted(
            items,
            key=lambda d: str(d.get(key, "")),
            reverse=params.get("SortOrder", "Descending") == "Descending",
        )

    # -- training jobs -----------------------------------------------------------------------
    @operation(SERVICE, "CreateTrainingJob")
    def create_training_job(self, params: dict[str, Any]) -> dict[str, Any]:
        """Runs the job with smkit's local training engine (script mode from the image URI,
        built-in XGBoost); channels from the emulated S3, artifacts and logs back to it."""
        name = params["TrainingJobName"]
        arn = self.arn("training-job", name)
        with self.lock:
            if name in self.jobs:
                raise EmulatorError(
                    "ResourceInUse",
                    "Training job names must be unique within an AWS account and region, and "
                    f"a training job with this name already exists ({arn})",
                )
            job = _Job(params, arn)
            self.jobs[name] = job
        threading.Thread(target=self._run_job, args=(job,), daemon=True,
                         name=f"job-{name}").start()
        return {"TrainingJobArn": arn}

    @operation(SERVICE, "DescribeTrainingJob")
    def describe_training_job(self, params: dict[str, Any]) -> dict[str, Any]:
        """Status, secondary status transitions, artifacts and metrics of a job."""
        job = self.jobs.get(params["TrainingJobName"])
        if job is None:
            trial = self._trial_view(params["TrainingJobName"])
            if trial is not None:
                return trial
            raise EmulatorError("ValidationException", "Requested resource not found.")
        return self._job_view(job)

    @operation(SERVICE, "ListTrainingJobs")
    def list_training_jobs(self, params: dict[str, Any]) -> dict[str, Any]:
        """Job summaries with SageMaker's filters, sorting and paging."""
        out = []
        for job in list(self.jobs.values()):
            view = self._job_view(job)
            if params.get("StatusEquals") and view["TrainingJobStatus"] != params["StatusEquals"]:
                continue
            if params.get("NameContains") and params["NameContains"] not in job.name:
                continue
            view["Status"] = view["TrainingJobStatus"]
            out.append(view)
        items, token = self._page(self._sorted(out, params, "TrainingJobName"), params)
        return {"TrainingJobSummaries": items, **({"NextToken": token} if token else {})}

    @operation(SERVICE, "StopTrainingJob")
    def stop_training_job(self, params: dict[str, Any]) -> dict[str, Any]:
        """Stops the job (SIGTERM to the script); it ends `Stopped`."""
        job = self.jobs.get(params["TrainingJobName"])
        if job is None:
            raise EmulatorError("ValidationException", "Requested resource not found.")
        if job.status in _FINAL:
            raise EmulatorError("ValidationException", f"The job status is {job.status}")
        with self.lock:
            job.stop_requested = True
            job.status = "Stopping"
            submitted = job.submitted
        if submitted:
            self.backend.stop_training_job(job.name)
        return {}

    def _job_view(self, job: _Job) -> dict[str, Any]:
        with self.lock:
            req = job.request
            output = req["OutputDataConfig"]["S3OutputPath"].rstrip("/")
            transitions = [dict(job.first), *[dict(t) for t in job.local_transitions]]
            for prev, nxt in itertools.pairwise(transitions):
                prev.setdefault("EndTime", nxt["StartTime"])
            view = {
                **req,
                "TrainingJobArn": job.arn,
                "TrainingJobStatus": job.status,
                "SecondaryStatus": job.secondary,
                "SecondaryStatusTransitions": transitions,
                "ModelArtifacts": {
                    "S3ModelArtifacts": f"{output}/{job.name}/output/model.tar.gz"
                },
                "CreationTime": job.created,
                "LastModifiedTime": job.modified,
                **job.fields,
            }
            view.setdefault("StoppingCondition", {"MaxRuntimeInSeconds": 86400})
            if job.failure:
                view["FailureReason"] = job.failure
            return view

    def _training_spec(self, job: _Job) -> Any:
        from smkit.training.images import framework_of_image
        from smkit.training.spec import Channel, TrainingSpec

        req = job.request
        algo = req["AlgorithmSpecification"]
        image = algo.get("TrainingImage")
        if not image:
            raise EmulatorError(
                "ValidationException",
                "AlgorithmSpecification.TrainingImage is required (algorithm resources are "
                "not emulated)",
            )
        framework, version = framework_of_image(image)
        hps = dict(req.get("HyperParameters") or {})
        env = dict(req.get("Environment") or {})
        program = _unquote(hps.get("sagemaker_program", "")) or env.get("SAGEMAKER_PROGRAM")
        submit = _unquote(hps.get("sagemaker_submit_directory", "")) or env.get(
            "SAGEMAKER_SUBMIT_DIRECTORY", ""
        )
        inputs = {}
        for ch in req.get("InputDataConfig") or []:
            source = ch["DataSource"].get("S3DataSource")
            if not source:
                raise RuntimeError(f"channel {ch['ChannelName']}: only S3DataSource is emulated")
            uri = source["S3Uri"]
            if not self.bridge.pull(uri):
                raise RuntimeError(
                    f"Data download failed: no objects under {uri} (channel "
                    f"{ch['ChannelName']})"
                )
            inputs[ch["ChannelName"]] = Channel(
                uri,
                content_type=ch.get("ContentType"),
                distribution=source.get("S3DataDistributionType", "FullyReplicated"),
            )
        from smkit.training.spec import RULES, DebuggerRule, ProfilerSpec

        rules = []
        for rule in req.get("DebugRuleConfigurations") or []:
            params = dict(rule.get("RuleParameters") or {})
            invoke = params.pop("rule_to_invoke", rule.get("RuleConfigurationName"))
            if invoke in RULES.values():
                rules.append(DebuggerRule(invoke, params))
        profiler = None
        pcfg = req.get("ProfilerConfig") or {}
        if pcfg and not pcfg.get("DisableProfiler"):
            interval = int(pcfg.get("ProfilingIntervalInMilliseconds") or 500)
            profiler = ProfilerSpec(interval_ms=interval if interval in (
                100, 200, 500, 1000, 5000, 60000) else 500)
        resource = req["ResourceConfig"]
        common: dict[str, Any] = {
            "inputs": inputs,
            "image_uri": image,
            "instance_type": resource.get("InstanceType") or "ml.m5.xlarge",
            "instance_count": int(resource.get("InstanceCount", 1)),
            "volume_size_gb": int(resource.get("VolumeSizeInGB", 30)),
            "max_runtime": int(req.get("StoppingCondition", {}).get("MaxRuntimeInSeconds", 86400)),
            "output_path": req["OutputDataConfig"]["S3OutputPath"],
            "environment": {k: v for k, v in env.items() if not k.startswith("SAGEMAKER_")},
            "profiler": profiler,
            "rules": rules,
        }
        metrics = algo.get("MetricDefinitions") or []
        if program:
            code = self.root / "code" / job.name
            shutil.rmtree(code, ignore_errors=True)
            if submit.startswith("s3://"):
                self.bridge.pull_tar(submit, code)
            else:
                raise RuntimeError(
                    f"sagemaker_submit_directory {submit!r}: the emulator runs code from an "
                    "s3:// tar.gz (as the SageMaker SDK uploads it)"
                )
            if not (code / program).is_file():
                raise RuntimeError(f"entry point {program!r} is not in {submit}")
            user = {k: v for k, v in hps.items() if k not in _SDK_HPS}
            from smkit.training.contract import decode_hyperparameters

            return TrainingSpec(
                entry_point=program,
                source_dir=str(code),
                framework=framework,
                framework_version=version,
                hyperparameters=decode_hyperparameters(user),
                metric_definitions=metrics,
                **common,
            )
        if framework == "xgboost":
            return TrainingSpec(algorithm="xgboost", hyperparameters=hps,
                                metric_definitions=metrics, **common)
        raise RuntimeError(
            f"image {image!r}: the emulator runs SageMaker's framework images in script mode "
            "(sagemaker_program / sagemaker_submit_directory) and built-in XGBoost"
        )

    def _run_job(self, job: _Job) -> None:
        from smkit.backends.local.jobs import ACTIVE

        stream = f"{job.name}/algo-1-{int(time.time())}"
        try:
            self.bridge.log_stream(TRAINING_LOG_GROUP, stream)
            spec = self._training_spec(job)
            if job.stop_requested:
                self._finish(job, "Stopped", None)
                return
            self.backend.train(spec, name=job.name)
            with self.lock:
                job.submitted = True
            if job.stop_requested:  # asked while it was being submitted
                self.backend.stop_training_job(job.name)
            buffer: list[str] = []
            pump = self.backend.follow_training_job(job.name, buffer.append)
            while True:
                rec = self.backend.describe_training_job(job.name)
                pump()
                self.bridge.put_logs(TRAINING_LOG_GROUP, stream, buffer)
                buffer.clear()
                done = rec["TrainingJobStatus"] not in ACTIVE
                self._mirror(job, rec, final=done)
                if done:
                    break
                time.sleep(0.5)
            artifacts = rec.get("ModelArtifacts", {}).get("S3ModelArtifacts")
            if artifacts:
                self.bridge.push(artifacts)
            out = (rec.get("OutputArtifacts") or {}).get("S3OutputArtifacts")
            if out and self.backend.store.head(out) is not None:
                self.bridge.push(out)
            for cfg in ("ProfilerConfig", "DebugHookConfig"):
                prefix = (rec.get(cfg) or {}).get("S3OutputPath")
                if prefix:  # the profiler's and the Debugger hook's files
                    for obj in self.backend.store.list(prefix.rstrip("/") + "/"):
                        self.bridge.push(obj.uri)
            self._mirror(job, rec, final=True, publish=True)
        except Exception as exc:
            reason = str(exc.message) if isinstance(exc, EmulatorError) else str(exc)
            self._finish(job, "Failed", f"ClientError: {reason}"[:1024])

    def _mirror(self, job: _Job, rec: dict[str, Any], *, final: bool, publish: bool = False
                ) -> None:
        """Copy the engine's record into the job's view; the final status only once the
        artifacts are in the emulated S3 (``publish``)."""
        transitions = list(rec.get("SecondaryStatusTransitions") or [])[1:]
        fields = {
            k: rec[k]
            for k in ("TrainingStartTime", "TrainingEndTime", "FinalMetricDataList",
                      "TrainingTimeInSeconds", "BillableTimeInSeconds",
                      "DebugRuleEvaluationStatuses", "ProfilingStatus")
            if rec.get(k) is not None
        }
        with self.lock:
            if final and not publish:
                # keep showing Uploading while the artifacts are copied to the emulated S3
                if transitions and transitions[-1]["Status"] in (*_FINAL, "MaxRuntimeExceeded"):
                    transitions = transitions[:-1]
                job.local_transitions = transitions
                job.secondary = transitions[-1]["Status"] if transitions else job.secondary
                job.fields.update({k: v for k, v in fields.items() if k != "TrainingEndTime"})
            else:
                job.local_transitions = transitions
                if transitions:
                    job.secondary = transitions[-1]["Status"]
                job.fields.update(fields)
                if publish:
                    job.status = rec["TrainingJobStatus"]
                    job.secondary = rec.get("SecondaryStatus", job.status)
                    if rec.get("FailureReason"):
                        job.failure = rec["FailureReason"]
                elif job.status != "Stopping":
                    job.status = "InProgress"
            job.modified = _now()

    def _finish(self, job: _Job, status: str, reason: str | None) -> None:
        now = _now()
        with self.lock:
            job.local_transitions.append(
                {"Status": status, "StartTime": now,
                 "StatusMessage": reason or f"Training job {status.lower()}"}
            )
            job.status = status
            job.secondary = status
            job.failure = reason
            job.fields.setdefault("TrainingEndTime", now)
            job.modified = now

    # -- tuning jobs -------------------------------------------------------------------------
    @operation(SERVICE, "CreateHyperParameterTuningJob")
    def create_tuning_job(self, params: dict[str, Any]) -> dict[str, Any]:
        """Runs the search with smkit's local tuning engine (Random, Grid, Bayesian via
        optuna); each trial is a training job, its artifacts copied to the emulated S3."""
        name = params["HyperParameterTuningJobName"]
        arn = self.arn("hyper-parameter-tuning-job", name)
        if "TrainingJobDefinition" not in params:
            raise EmulatorError(
                "ValidationException", "the emulator runs tuning jobs with a TrainingJobDefinition"
            )
        with self.lock:
            if name in self.tunings:
                raise EmulatorError("ResourceInUse", f"Tuning job {arn} already exists")
            now = _now()
            state = {
                **params,
                "HyperParameterTuningJobArn": arn,
                "HyperParameterTuningJobStatus": "InProgress",
                "CreationTime": now,
                "LastModifiedTime": now,
                "TrainingJobStatusCounters": {},
                "ObjectiveStatusCounters": {},
                "TrainingJobSummaries": [],
                "published": set(),
            }
            self.tunings[name] = state
        threading.Thread(target=self._run_tuning, args=(state,), daemon=True,
                         name=f"tuning-{name}").start()
        return {"HyperParameterTuningJobArn": arn}

    @operation(SERVICE, "DescribeHyperParameterTuningJob")
    def describe_tuning_job(self, params: dict[str, Any]) -> dict[str, Any]:
        """Status, counters, the best training job."""
        state = self.tunings.get(params["HyperParameterTuningJobName"])
        if state is None:
            raise EmulatorError("ResourceNotFound", "Amazon SageMaker can't find a tuning job "
                                f"named {params['HyperParameterTuningJobName']}.")
        with self.lock:
            view = {k: v for k, v in state.items() if k != "published"}
            view.setdefault("ObjectiveStatusCounters", {})
            for key in ("Succeeded", "Pending", "Failed"):
                view["ObjectiveStatusCounters"].setdefault(key, 0)
            return view

    @operation(SERVICE, "ListTrainingJobsForHyperParameterTuningJob")
    def list_tuning_trials(self, params: dict[str, Any]) -> dict[str, Any]:
        """The tuning job's training jobs with their objective values (StatusEquals, paging)."""
        state = self.tunings.get(params["HyperParameterTuningJobName"])
        if state is None:
            raise EmulatorError("ResourceNotFound", "Amazon SageMaker can't find a tuning job "
                                f"named {params['HyperParameterTuningJobName']}.")
        with self.lock:
            items = [dict(s) for s in state["TrainingJobSummaries"]]
        if params.get("StatusEquals"):
            items = [s for s in items if s["TrainingJobStatus"] == params["StatusEquals"]]
        if params.get("SortBy") == "FinalObjectiveMetricValue":
            items.sort(
                key=lambda s: s.get("FinalHyperParameterTuningJobObjectiveMetric", {}).get(
                    "Value", float("inf")),
                reverse=params.get("SortOrder", "Descending") == "Descending",
            )
        page, token = self._page(items, params)
        return {"TrainingJobSummaries": page, **({"NextToken": token} if token else {})}

    @operation(SERVICE, "StopHyperParameterTuningJob")
    def stop_tuning_job(self, params: dict[str, Any]) -> dict[str, Any]:
        """Stops the search and its running training jobs."""
        state = self.tunings.get(params["HyperParameterTuningJobName"])
        if state is None:
            raise EmulatorError("ResourceNotFound", "Amazon SageMaker can't find a tuning job "
                                f"named {params['HyperParameterTuningJobName']}.")
        with self.lock:
            state["stop"] = True
        try:
            self.backend.stop_tuning_job(params["HyperParameterTuningJobName"])
        except Exception:
            pass
        return {}

    def _tuning_spec(self, state: dict[str, Any]) -> Any:
        from smkit.training.tuning import (
            CategoricalParameter,
            ContinuousParameter,
            IntegerParameter,
            TuningSpec,
        )

        name = state["HyperParameterTuningJobName"]
        definition = state["TrainingJobDefinition"]
        config = state["HyperParameterTuningJobConfig"]
        request = {
            "TrainingJobName": name,
            "AlgorithmSpecification": definition["AlgorithmSpecification"],
            "HyperParameters": dict(definition.get("StaticHyperParameters") or {}),
            "InputDataConfig": definition.get("InputDataConfig") or [],
            "OutputDataConfig": definition["OutputDataConfig"],
            "ResourceConfig": definition["ResourceConfig"],
            "StoppingCondition": definition.get("StoppingCondition") or {},
            "Environment": definition.get("Environment") or {},
        }
        training = self._training_spec(_Job(request, self.arn("training-job", name)))
        ranges: dict[str, Any] = {}
        pr = config.get("ParameterRanges") or {}
        for r in pr.get("ContinuousParameterRanges") or []:
            ranges[r["Name"]] = ContinuousParameter(
                float(r["MinValue"]), float(r["MaxValue"]), r.get("ScalingType", "Auto")
            )
        for r in pr.get("IntegerParameterRanges") or []:
            ranges[r["Name"]] = IntegerParameter(
                int(r["MinValue"]), int(r["MaxValue"]), r.get("ScalingType", "Auto")
            )
        for r in pr.get("CategoricalParameterRanges") or []:
            ranges[r["Name"]] = CategoricalParameter(r["Values"])
        objective = config["HyperParameterTuningJobObjective"]
        limits = config.get("ResourceLimits") or {}
        return TuningSpec(
            training=training,
            ranges=ranges,
            objective_metric=objective["MetricName"],
            objective_type=objective.get("Type", "Minimize"),
            strategy=config.get("Strategy", "Bayesian"),
            max_jobs=limits.get("MaxNumberOfTrainingJobs"),
            max_parallel_jobs=int(limits.get("MaxParallelTrainingJobs", 1)),
            early_stopping=config.get("TrainingJobEarlyStoppingType", "Off"),
            seed=config.get("RandomSeed", 0),
        )

    def _run_tuning(self, state: dict[str, Any]) -> None:
        name = state["HyperParameterTuningJobName"]
        try:
            spec = self._tuning_spec(state)
            self.backend.tune(spec, name=name)
            while True:
                rec = self.backend.describe_tuning_job(name)
                done = rec["HyperParameterTuningJobStatus"] not in ("InProgress", "Stopping")
                self._publish_trials(state, rec)
                self._mirror_tuning(state, rec, final=done)
                if done:
                    return
                time.sleep(0.5)
        except Exception as exc:
            reason = str(exc.message) if isinstance(exc, EmulatorError) else str(exc)
            with self.lock:
                state.update(
                    HyperParameterTuningJobStatus="Failed",
                    FailureReason=f"ClientError: {reason}"[:1024],
                    HyperParameterTuningEndTime=_now(),
                    LastModifiedTime=_now(),
                )

    def _publish_trials(self, state: dict[str, Any], rec: dict[str, Any]) -> None:
        """Copy each finished trial's artifacts to the emulated S3 (once)."""
        for summary in rec.get("TrainingJobSummaries") or []:
            trial = summary["TrainingJobName"]
            if summary["TrainingJobStatus"] in ("InProgress", "Stopping") or (
                trial in state["published"]
            ):
                continue
            data = self.backend.describe_training_job(trial)
            for uri in (
                (data.get("ModelArtifacts") or {}).get("S3ModelArtifacts"),
                (data.get("OutputArtifacts") or {}).get("S3OutputArtifacts"),
            ):
                if uri and self.backend.store.head(uri) is not None:
                    self.bridge.push(uri)
            state["published"].add(trial)

    def _mirror_tuning(self, state: dict[str, Any], rec: dict[str, Any], *, final: bool) -> None:
        arn = state["HyperParameterTuningJobArn"]

        def fix(summary: dict[str, Any]) -> dict[str, Any]:
            out = dict(summary)
            out["TrainingJobArn"] = self.arn("training-job", out["TrainingJobName"])
            out["TuningJobName"] = state["HyperParameterTuningJobName"]
            out.setdefault("CreationTime", out.get("TrainingStartTime") or state["CreationTime"])
            out.setdefault("TunedHyperParameters", {})
            return out

        with self.lock:
            state["TrainingJobSummaries"] = [fix(s) for s in rec.get("TrainingJobSummaries") or []]
            state["TrainingJobStatusCounters"] = rec.get("TrainingJobStatusCounters") or {}
            state["ObjectiveStatusCounters"] = rec.get("ObjectiveStatusCounters") or {}
            if rec.get("BestTrainingJob"):
                state["BestTrainingJob"] = fix(rec["BestTrainingJob"])
            state["LastModifiedTime"] = _now()
            if final:
                state["HyperParameterTuningJobStatus"] = rec["HyperParameterTuningJobStatus"]
                state["HyperParameterTuningEndTime"] = rec.get("HyperParameterTuningEndTime")
                if rec.get("FailureReason"):
                    state["FailureReason"] = rec["FailureReason"]
            state["HyperParameterTuningJobArn"] = arn

    def _trial_view(self, name: str) -> dict[str, Any] | None:
        """DescribeTrainingJob of a tuning job's trial (run by the local tuning engine)."""
        from smkit.errors import SmkitError

        for state in list(self.tunings.values()):
            if any(s["TrainingJobName"] == name for s in state["TrainingJobSummaries"]):
                try:
                    data = dict(self.backend.describe_training_job(name))
                except SmkitError:
                    return None
                data["TrainingJobArn"] = self.arn("training-job", name)
                data["TuningJobArn"] = state["HyperParameterTuningJobArn"]
                data["AlgorithmSpecification"] = state["TrainingJobDefinition"][
                    "AlgorithmSpecification"
                ]
                data["RoleArn"] = state["TrainingJobDefinition"]["RoleArn"]
                if data["TrainingJobStatus"] not in ("InProgress", "Stopping") and (
                    name not in state["published"]
                ):
                    data["TrainingJobStatus"] = "InProgress"  # artifacts still being copied
                    data["SecondaryStatus"] = "Uploading"
                return data
        return None

    # -- processing jobs -----------------------------------------------------------------------
    @operation(SERVICE, "CreateProcessingJob")
    def create_processing_job(self, params: dict[str, Any]) -> dict[str, Any]:
        """Runs the Model Monitor analyzer image with smkit's data-quality engine (baseline
        statistics and constraints, or a check with violations) or, with
        ``analysis_type=MODEL_QUALITY``, its model-quality engine, and the Clarify image
        with its SHAP engine over the endpoint (``analysis.json``); inputs from and outputs
        to the emulated S3."""
        from smkit.emulator.processing import run_processing_job

        name = params["ProcessingJobName"]
        arn = self.arn("processing-job", name)
        with self.lock:
            if name in self.processing:
                raise EmulatorError(
                    "ResourceInUse", f"Processing job {arn} already exists"
                )
            now = _now()
            job = {
                "request": params,
                **params,
                "ProcessingJobArn": arn,
                "ProcessingJobStatus": "InProgress",
                "CreationTime": now,
                "LastModifiedTime": now,
            }
            self.processing[name] = job
        threading.Thread(
            target=run_processing_job,
            args=(job, self.bridge, self.root / "processing" / name, self.lock, self.backend),
            daemon=True,
            name=f"processing-{name}",
        ).start()
        return {"ProcessingJobArn": arn}

    @operation(SERVICE, "DescribeProcessingJob")
    def describe_processing_job(self, params: dict[str, Any]) -> dict[str, Any]:
        """Status (InProgress, Completed, Failed), times and the exit message."""
        job = self.processing.get(params["ProcessingJobName"])
        if job is None:
            raise EmulatorError("ValidationException", "Requested resource not found.")
        with self.lock:
            return dict(job)

    @operation(SERVICE, "ListProcessingJobs")
    def list_processing_jobs(self, params: dict[str, Any]) -> dict[str, Any]:
        """Processing job summaries (NameContains, StatusEquals, sorting, paging)."""
        items = []
        with self.lock:
            for job in self.processing.values():
                if params.get("NameContains", "") not in job["ProcessingJobName"]:
                    continue
                if params.get("StatusEquals") and (
                    job["ProcessingJobStatus"] != params["StatusEquals"]
                ):
                    continue
                items.append(dict(job))
        return self._listing(items, params, "ProcessingJobName", "ProcessingJobSummaries")

    # -- models --------------------------------------------------------------------------------
    @operation(SERVICE, "CreateModel")
    def create_model(self, params: dict[str, Any]) -> dict[str, Any]:
        """Records the model (its container's image, ModelDataUrl and environment)."""
        name = params["ModelName"]
        arn = self.arn("model", name)
        if not params.get("PrimaryContainer") and not params.get("Containers"):
            raise EmulatorError("ValidationException", "PrimaryContainer or Containers is required")
        with self.lock:
            if name in self.models:
                raise EmulatorError(
                    "ValidationException", f'Cannot create already existing model "{arn}".'
                )
            self.models[name] = {**params, "ModelArn": arn, "CreationTime": _now()}
        return {"ModelArn": arn}

    @operation(SERVICE, "DescribeModel")
    def describe_model(self, params: dict[str, Any]) -> dict[str, Any]:
        """The model as created."""
        model = self.models.get(params["ModelName"])
        if model is None:
            raise _not_found("model", self.arn("model", params["ModelName"]))
        return model

    @operation(SERVICE, "ListModels")
    def list_models(self, params: dict[str, Any]) -> dict[str, Any]:
        """Model summaries (NameContains, sorting, paging)."""
        items = [m for m in self.models.values()
                 if params.get("NameContains", "") in m["ModelName"]]
        return self._listing(items, params, "ModelName", "Models")

    @operation(SERVICE, "DeleteModel")
    def delete_model(self, params: dict[str, Any]) -> dict[str, Any]:
        """Forgets the model."""
        with self.lock:
            if self.models.pop(params["ModelName"], None) is None:
                raise _not_found("model", self.arn("model", params["ModelName"]))
        return {}

    # -- endpoint configs ------------------------------------------------------------------
    @operation(SERVICE, "CreateEndpointConfig")
    def create_endpoint_config(self, params: dict[str, Any]) -> dict[str, Any]:
        """Records the configuration (its variants' models must exist)."""
        name = params["EndpointConfigName"]
        arn = self.arn("endpoint-config", name)
        for variant in params["ProductionVariants"]:
            model = variant.get("ModelName")
            if model not in self.models:
                raise _not_found("model", self.arn("model", str(model)))
        with self.lock:
            if name in self.configs:
                raise EmulatorError(
                    "ValidationException",
                    f'Cannot create already existing endpoint configuration "{arn}".',
                )
            self.configs[name] = {**params, "EndpointConfigArn": arn, "CreationTime": _now()}
        return {"EndpointConfigArn": arn}

    @operation(SERVICE, "DescribeEndpointConfig")
    def describe_endpoint_config(self, params: dict[str, Any]) -> dict[str, Any]:
        """The configuration as created."""
        config = self.configs.get(params["EndpointConfigName"])
        if config is None:
            raise _not_found(
                "endpoint configuration",
                self.arn("endpoint-config", params["EndpointConfigName"]),
            )
        return config

    @operation(SERVICE, "ListEndpointConfigs")
    def list_endpoint_configs(self, params: dict[str, Any]) -> dict[str, Any]:
        """Endpoint configuration summaries (NameContains, sorting, paging)."""
        items = [c for c in self.configs.values()
                 if params.get("NameContains", "") in c["EndpointConfigName"]]
        return self._listing(items, params, "EndpointConfigName", "EndpointConfigs")

    @operation(SERVICE, "DeleteEndpointConfig")
    def delete_endpoint_config(self, params: dict[str, Any]) -> dict[str, Any]:
        """Forgets the configuration."""
        with self.lock:
            if self.configs.pop(params["EndpointConfigName"], None) is None:
                raise _not_found(
                    "endpoint configuration",
                    self.arn("endpoint-config", params["EndpointConfigName"]),
                )
        return {}

    # -- endpoints -----------------------------------------------------------------------------
    @operation(SERVICE, "CreateEndpoint")
    def create_endpoint(self, params: dict[str, Any]) -> dict[str, Any]:
        """Starts a local endpoint server with the model from the emulated S3 (data capture
        copied to the emulated S3 in SageMaker's layout); Creating -> InService."""
        name = params["EndpointName"]
        arn = self.arn("endpoint", name)
        config = self.configs.get(params["EndpointConfigName"])
        if config is None:
            raise _not_found(
                "endpoint configuration",
                self.arn("endpoint-config", params["EndpointConfigName"]),
            )
        with self.lock:
            if name in self.endpoints:
                raise EmulatorError(
                    "ValidationException", f'Cannot create already existing endpoint "{arn}".'
                )
            ep = _Endpoint(params, arn, config)
            self.endpoints[name] = ep
        threading.Thread(target=self._run_endpoint, args=(ep,), daemon=True,
                         name=f"endpoint-{name}").start()
        return {"EndpointArn": arn}

    @operation(SERVICE, "DescribeEndpoint")
    def describe_endpoint(self, params: dict[str, Any]) -> dict[str, Any]:
        """Status (Creating, InService, Failed, Deleting), variants and data capture."""
        ep = self.endpoints.get(params["EndpointName"])
        if ep is None:
            raise _not_found("endpoint", self.arn("endpoint", params["EndpointName"]))
        return self._endpoint_view(ep)

    @operation(SERVICE, "ListEndpoints")
    def list_endpoints(self, params: dict[str, Any]) -> dict[str, Any]:
        """Endpoint summaries (NameContains, StatusEquals, sorting, paging)."""
        items = []
        for ep in list(self.endpoints.values()):
            if params.get("NameContains", "") not in ep.name:
                continue
            if params.get("StatusEquals") and ep.status != params["StatusEquals"]:
                continue
            items.append(self._endpoint_view(ep))
        return self._listing(items, params, "EndpointName", "Endpoints")

    @operation(SERVICE, "DeleteEndpoint")
    def delete_endpoint(self, params: dict[str, Any]) -> dict[str, Any]:
        """Stops the endpoint server (its last capture copied to the emulated S3)."""
        ep = self.endpoints.get(params["EndpointName"])
        if ep is None:
            raise _not_found("endpoint", self.arn("endpoint", params["EndpointName"]))
        with self.lock:
            if ep.status == "Deleting":
                return {}
            ep.status = "Deleting"
            ep.modified = _now()
        threading.Thread(target=self._delete_endpoint, args=(ep,), daemon=True,
                         name=f"delete-{ep.name}").start()
        return {}

    @operation(SERVICE, "UpdateEndpoint")
    def update_endpoint(self, params: dict[str, Any]) -> dict[str, Any]:
        """Redeploys the endpoint with another configuration: Updating -> InService (its
        server is restarted with the new model; capture so far is copied first)."""
        ep = self.endpoints.get(params["EndpointName"])
        if ep is None:
            raise _not_found("endpoint", self.arn("endpoint", params["EndpointName"]))
        config = self.configs.get(params["EndpointConfigName"])
        if config is None:
            raise _not_found(
                "endpoint configuration",
                self.arn("endpoint-config", params["EndpointConfigName"]),
            )
        with self.lock:
            if ep.pipeline:
                raise EmulatorError(
                    "ValidationException",
                    "the emulator does not update serial inference pipeline endpoints "
                    "(delete and create it again)",
                )
            if ep.status != "InService":
                raise EmulatorError(
                    "ValidationException",
                    f'Cannot update in-progress endpoint "{ep.arn}".'
                    if ep.status in ("Creating", "Updating")
                    else f"Endpoint {ep.arn} is {ep.status}",
                )
            ep.status = "Updating"
            ep.modified = _now()
        threading.Thread(
            target=self._update_endpoint, args=(ep, params["EndpointConfigName"], config),
            daemon=True, name=f"update-{ep.name}",
        ).start()
        return {"EndpointArn": ep.arn}

    def _update_endpoint(self, ep: _Endpoint, config_name: str, config: dict[str, Any]) -> None:
        old_config = ep.config
        try:
            ep.config = config
            mspec, espec = self._model_spec(ep)
            self._copy_capture(_with_config(ep, old_config), flush=True)
            self.backend.delete_endpoint(ep.name, force=True)
            ep.pushed.clear()
            self.backend.deploy(mspec, espec, wait=True)
            with self.lock:
                ep.config_name = config_name
                ep.status = "InService"
                ep.modified = _now()
        except Exception as exc:
            reason = getattr(exc, "message", None) or str(exc)
            with self.lock:
                ep.status = "Failed"
                ep.failure = f"update failed: {reason}"[:1024]
                ep.modified = _now()

    def _endpoint_view(self, ep: _Endpoint) -> dict[str, Any]:
        config = ep.config
        capture = config.get("DataCaptureConfig") or {}
        view: dict[str, Any] = {
            "EndpointName": ep.name,
            "EndpointArn": ep.arn,
            "EndpointConfigName": ep.config_name,
            "EndpointStatus": ep.status,
            "CreationTime": ep.created,
            "LastModifiedTime": ep.modified,
            "ProductionVariants": [
                {
                    "VariantName": v["VariantName"],
                    "CurrentWeight": float(v.get("InitialVariantWeight", 1.0)),
                    "DesiredWeight": float(v.get("InitialVariantWeight", 1.0)),
                    "CurrentInstanceCount": int(v.get("InitialInstanceCount", 1)),
                    "DesiredInstanceCount": int(v.get("InitialInstanceCount", 1)),
                }
                for v in config["ProductionVariants"]
            ],
        }
        if capture.get("EnableCapture"):
            view["DataCaptureConfig"] = {
                "EnableCapture": True,
                "CaptureStatus": "Started",
                "CurrentSamplingPercentage": capture.get("InitialSamplingPercentage", 100),
                "DestinationS3Uri": capture.get("DestinationS3Uri"),
                "KmsKeyId": capture.get("KmsKeyId", ""),
            }
        if ep.failure:
            view["FailureReason"] = ep.failure
        return view

    def _variant_model(self, ep: _Endpoint) -> tuple[dict[str, Any], dict[str, Any]]:
        variants = ep.config["ProductionVariants"]
        if len(variants) != 1:
            raise RuntimeError("the emulator serves endpoint configurations with one variant")
        variant = variants[0]
        model = self.models.get(variant["ModelName"])
        if model is None:
            raise RuntimeError(f"model {variant['ModelName']!r} was deleted")
        return variant, model

    def _container_model(self, container: dict[str, Any], work: Path, name: str) -> Any:
        """The `smkit.serving.ModelSpec` of one container (its artifact and code
        copied from the emulated S3)."""
        from smkit.serving.spec import ModelSpec
        from smkit.training.images import framework_of_image

        image = container.get("Image", "")
        framework, version = framework_of_image(image)
        env = dict(container.get("Environment") or {})
        model_data = container.get("ModelDataUrl")
        if not model_data:
            raise RuntimeError("the model's container has no ModelDataUrl")
        if model_data.startswith("s3://") and not self.bridge.pull(model_data):
            raise RuntimeError(f"model data {model_data} is not in S3")
        program = env.pop("SAGEMAKER_PROGRAM", None)
        submit = env.pop("SAGEMAKER_SUBMIT_DIRECTORY", None)
        source_dir = None
        shutil.rmtree(work, ignore_errors=True)
        if program and submit:
            if submit.startswith("s3://"):
                source_dir = str(self.bridge.pull_tar(submit, work / "code"))
            elif submit.startswith("/opt/ml/model"):
                # the SDK's repacked model.tar.gz carries the code: code/ inside the artifact
                import tarfile

                tar_path = self.backend.store.path_for(model_data)
                with tarfile.open(tar_path, "r:*") as tar:
                    tar.extractall(work / "model", filter="data")
                source_dir = str(work / "model" / submit[len("/opt/ml/model") :].strip("/"))
        if framework == "custom" and not (program and source_dir):
            raise RuntimeError(
                f"image {image!r}: the emulator serves SageMaker's framework images "
                "(sklearn, PyTorch, XGBoost, AutoGluon) or an inference script "
                "(SAGEMAKER_PROGRAM + SAGEMAKER_SUBMIT_DIRECTORY)"
            )
        return ModelSpec(
            model_data=model_data,
            framework=framework,
            framework_version=version,
            entry_point=program if source_dir else None,
            source_dir=source_dir,
            image_uri=image,
            env={k: str(v) for k, v in env.items()},
            name=f"{name[:40]}-{uuid.uuid4().hex[:8]}",
        )

    def _model_spec(self, ep: _Endpoint) -> tuple[Any, Any]:
        from smkit.serving.spec import DataCaptureSpec, EndpointSpec

        variant, model = self._variant_model(ep)
        container = model.get("PrimaryContainer") or model["Containers"][0]
        mspec = self._container_model(container, self.root / "endpoint-code" / ep.name, ep.name)
        capture = DataCaptureSpec.from_request(ep.config.get("DataCaptureConfig") or {})
        espec = EndpointSpec(
            name=ep.name,
            variant=variant["VariantName"],
            instance_type=variant.get("InstanceType") or "ml.m5.large",
            instance_count=int(variant.get("InitialInstanceCount", 1)),
            data_capture=capture,
            startup_timeout=180.0,
        )
        return mspec, espec

    def _pipeline_specs(self, ep: _Endpoint) -> list[tuple[Any, Any]] | None:
        """A serial inference pipeline (``Containers`` of more than one): one local endpoint
        per container, ``None`` for a single-container model."""
        from smkit.serving.spec import EndpointSpec

        variant, model = self._variant_model(ep)
        containers = model.get("Containers") or []
        if model.get("PrimaryContainer") or len(containers) < 2:
            return None
        out = []
        for i, container in enumerate(containers):
            local = f"{ep.name[:50]}-pipe{i}"
            mspec = self._container_model(
                container, self.root / "endpoint-code" / ep.name / str(i), local
            )
            out.append((mspec, EndpointSpec(
                name=local,
                variant=variant["VariantName"],
                instance_type=variant.get("InstanceType") or "ml.m5.large",
                startup_timeout=180.0,
            )))
        return out

    def pipeline_of(self, name: str) -> list[str] | None:
        """The local endpoints of a serial-pipeline endpoint, in order (``None`` otherwise)."""
        ep = self.endpoints.get(name)
        return list(ep.pipeline) if ep is not None and ep.pipeline else None

    def _run_endpoint(self, ep: _Endpoint) -> None:
        try:
            pipeline = self._pipeline_specs(ep)
            specs = pipeline or [self._model_spec(ep)]
            with self.lock:
                if ep.status == "Deleting":
                    return
            for mspec, espec in specs:
                self.backend.deploy(mspec, espec, wait=True)
                if pipeline:
                    ep.pipeline.append(espec.name)
            with self.lock:
                ep.deployed = True
                if ep.status == "Creating":
                    ep.status = "InService"
                    ep.modified = _now()
        except Exception as exc:
            reason = getattr(exc, "message", None) or str(exc)
            with self.lock:
                if ep.status != "Deleting":
                    ep.status = "Failed"
                    ep.failure = str(reason)[:1024]
                    ep.modified = _now()

    def _delete_endpoint(self, ep: _Endpoint) -> None:
        from smkit.errors import SmkitError

        deadline = time.monotonic() + 200
        while not ep.deployed and ep.failure is None and time.monotonic() < deadline:
            try:  # a deploy in flight: wait for it, then stop it
                rec = self.backend.describe_endpoint(ep.name)
                if rec["EndpointStatus"] not in ("Creating",):
                    break
            except SmkitError:
                pass
            time.sleep(0.2)
        for local in list(ep.pipeline):
            try:
                self.backend.delete_endpoint(local, force=True)
            except SmkitError:
                pass
        try:
            if not ep.pipeline and (
                self.backend.describe_endpoint(ep.name)["EndpointStatus"] != "Deleted"
            ):
                self._copy_capture(ep, flush=True)
                self.backend.delete_endpoint(ep.name, force=True)
        except SmkitError:
            pass
        try:
            self._copy_capture(ep, flush=False)
        except Exception:
            pass
        with self.lock:
            if self.endpoints.get(ep.name) is ep:
                del self.endpoints[ep.name]

    # -- data capture -----------------------------------------------------------------------
    def _copy_capture(self, ep: _Endpoint, *, flush: bool) -> int:
        capture = ep.config.get("DataCaptureConfig") or {}
        if not capture.get("EnableCapture") or not ep.deployed:
            return 0
        if flush:
            self.backend.flush_endpoint_capture(ep.name, timeout=10.0)
        prefix = capture["DestinationS3Uri"].rstrip("/") + f"/{ep.name}/"
        copied = 0
        for obj in self.backend.store.list(prefix):
            if ep.pushed.get(obj.uri) == obj.size:
                continue
            self.bridge.push(obj.uri)
            ep.pushed[obj.uri] = obj.size
            copied += 1
        return copied

    def _sync_loop(self) -> None:
        while not self._stop.wait(0.5):
            for ep in list(self.endpoints.values()):
                if not ep.dirty or ep.status != "InService":
                    continue
                ep.dirty = False
                try:
                    self._copy_capture(ep, flush=True)
                except Exception:
                    ep.dirty = True  # retried at the next tick

