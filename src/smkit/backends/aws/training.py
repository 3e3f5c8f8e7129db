"""AWS backend verbs for training: the ``backend.training`` component of `AwsBackend`
(whose training methods delegate to it).

``train`` sends ``CreateTrainingJob`` and ``tune`` ``CreateHyperParameterTuningJob``, built
from the same specs the local backend runs:

- script mode: the source directory is packed as ``sourcedir.tar.gz`` and uploaded to
  ``s3://<bucket>/<job>/source/``, and the SDK's ``sagemaker_program`` /
  ``sagemaker_submit_directory`` / ``sagemaker_region`` hyperparameters point at it;
  the other hyperparameters are JSON-encoded as the SDK does;
- built-in XGBoost: SageMaker's XGBoost algorithm image, hyperparameters as plain strings;
- built-in AutoGluon: the AutoGluon training image running smkit's shipped trainer script;
- image URIs come from ``sagemaker.core.image_uris`` (imported when first needed);
- SageMaker Debugger is **opt-in** on AWS (``AwsBackend(debugger=True)``, CLI
  ``--debugger``; default off, since Debugger is closed to new customers): only then do
  Debugger rules become ``DebugRuleConfigurations`` (with the region's rule image), a
  ``DebugHookConfig`` and, with the profiler, ``ProfilerConfig`` +
  ``ProfilerRuleConfigurations`` (the ``ProfilerReport`` rule). Otherwise every job is sent
  with ``ProfilerConfig={"DisableProfiler": True}`` and no rules (the local backend still
  evaluates them).

Local paths given as channels are uploaded first to ``s3://<bucket>/<job>/input/<channel>/``.
Every request is validated by botocore (and only recorded in plan mode). Waiting polls
``Describe*`` with exponential backoff (1 s doubling to 30 s).
"""

from __future__ import annotations

import io
import json
import logging
import tarfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from smkit import sagemaker_api as api
from smkit import uri as s3uri
from smkit.backends.aws.component import AwsComponent
from smkit.errors import ConfigError, ResourceNotFoundError, SourceNotFoundError
from smkit.training.images import image_uri_for

if TYPE_CHECKING:
    from smkit.training.job import TrainingJob, TuningJob
    from smkit.training.spec import TrainingSpec
    from smkit.training.tuning import TuningSpec

__all__ = ["AwsTraining", "image_uri_for"]

_log = logging.getLogger(__name__)


def _debugger_image(region: str) -> str:
    from smkit._compat import require

    image_uris = require("sagemaker.core.image_uris", "aws", feature="image URIs")
    return str(image_uris.retrieve("debugger", region=region))


def dependency_members(dependencies: Any) -> list[tuple[Path, str]]:
    """``(file, name in the code tarball)`` of a spec's ``dependencies=``: each directory or
    file under its own name next to the entry point, as the SageMaker SDK packs them."""
    from smkit.training.record import resolve_dependencies

    members: list[tuple[Path, str]] = []
    for dep in resolve_dependencies(tuple(dependencies or ())):
        if dep.is_file():
            members.append((dep, dep.name))
            continue
        for p in sorted(dep.rglob("*")):
            if p.is_file() and "__pycache__" not in p.parts and ".git" not in p.parts:
                members.append((p, f"{dep.name}/{p.relative_to(dep).as_posix()}"))
    return members


def _tar_dir(code: Path, dependencies: Any = ()) -> bytes:
    """``sourcedir.tar.gz`` of a directory (or of one file), caches and VCS folders left out,
    with ``dependencies`` added under their own names."""
    if code.is_file():
        members = [(code, code.name)]
    else:
        members = [
            (p, p.relative_to(code).as_posix())
            for p in sorted(code.rglob("*"))
            if "__pycache__" not in p.parts and ".git" not in p.parts
        ]
    extra = dependency_members(dependencies)
    taken = {name for _, name in members}
    for _, name in extra:
        if name in taken or name.split("/", 1)[0] in taken:
            from smkit.errors import ConfigError

            raise ConfigError(
                f"dependency {name.split('/', 1)[0]!r} clashes with a file of the source code",
                hint="rename the dependency or remove the file from source_dir",
            )
    members += extra
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for path, arcname in members:
            tar.add(path, arcname=arcname, recursive=False)
    return buf.getvalue()


def _jsonable(data: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for key, value in data.items():
        if key == "ResponseMetadata":
            continue
        out[key] = value
    return out


class AwsTraining(AwsComponent):
    """Training verbs of the aws backend, a component sharing the backend as its context.

    Args:
        backend: The backend whose requester, store, bucket, region, role, plan mode and
            ``debugger`` setting it uses, and which the job handles it returns call back.
    """

    @property
    def debugger(self) -> bool:
        """Whether SageMaker Debugger rules and the profiler are sent (the backend's setting)."""
        return bool(self.backend.debugger)

    def job_poll_delay(self, attempt: int) -> float:
        """1 s doubling to 30 s (Describe* calls are throttled)."""
        return float(min(30.0, 2.0**attempt))

    # -- request building ------------------------------------------------------------------
    def _upload_local_channel(self, name: str, channel: str, path: Path) -> str:
        prefix = f"s3://{self.bucket}/{name}/input/{channel}/"
        files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
        for f in files:
            rel = f.name if path.is_file() else f.relative_to(path).as_posix()
            self.store.put_file(s3uri.join(prefix, rel), f)
        return prefix

    def training_request(self, spec: TrainingSpec, name: str) -> dict[str, Any]:
        """The ``CreateTrainingJob`` parameters for ``spec`` (uploading code and local data)."""
        from smkit.training.record import build_record
        from smkit.training.record import resolve_code as _resolve_code

        output_path = spec.output_path or f"s3://{self.bucket}/"
        extra: dict[str, str] | None = None
        if spec.algorithm != "xgboost":
            code_dir, entry = _resolve_code(spec)
            source_uri = f"s3://{self.bucket}/{name}/source/sourcedir.tar.gz"
            self.store.put_bytes(source_uri, _tar_dir(code_dir, spec.dependencies))
            extra = {
                "sagemaker_program": json.dumps(entry),
                "sagemaker_submit_directory": json.dumps(source_uri),
                "sagemaker_container_log_level": "20",
                "sagemaker_job_name": json.dumps(name),
                "sagemaker_region": json.dumps(self.region),
            }
        inputs = {}
        for cname, ch in spec.inputs.items():
            if ch.uri.startswith("s3://"):
                inputs[cname] = ch
            else:
                local = Path(ch.uri).expanduser()
                if not local.exists():
                    raise SourceNotFoundError(f"channel {cname!r}: no such path {ch.uri!r}")
                import attrs

                inputs[cname] = attrs.evolve(ch, uri=self._upload_local_channel(name, cname, local))
        spec = spec.evolve(inputs=inputs)
        record = build_record(
            spec,
            name,
            output_path=output_path,
            role=self.role,
            image=image_uri_for(spec, self.region),
            extra_hyperparameters=extra,
        )
        debugger = self.debugger
        if spec.rules and not debugger:
            _log.warning(
                "training job %s: Debugger rules %s not sent (SageMaker Debugger is opt-in on "
                "AWS: AwsBackend(debugger=True) or --debugger)",
                name,
                [r.aws_name for r in spec.rules],
            )
        wants_image = debugger and (spec.rules or "ProfilerConfig" in record)
        return api.create_training_job(
            spec,
            record,
            debugger=debugger,
            rule_image=_debugger_image(self.region) if wants_image else None,
        )

    # -- training --------------------------------------------------------------------------
    def train(
        self, spec: TrainingSpec, *, name: str | None = None, wait: bool = False
    ) -> TrainingJob:
        """Send ``CreateTrainingJob`` and return the job's handle."""
        from smkit.ids import check_name
        from smkit.ids import unique_name as job_name
        from smkit.training.job import TrainingJob

        name = check_name(name) if name else job_name(spec.job_name_prefix())
        params = self.training_request(spec, name)
        self.call("sagemaker", "CreateTrainingJob", params, resource=name)
        job = TrainingJob(self.backend, name, spec)
        return job.wait() if wait and not self.plan_mode else job

    def training_job(self, name: str) -> TrainingJob:
        """A handle on an existing training job."""
        from smkit.training.job import TrainingJob

        return TrainingJob(self.backend, name)

    def describe_training_job(self, name: str) -> dict[str, Any]:
        """``DescribeTrainingJob``."""
        if self.plan_mode:
            raise ResourceNotFoundError(f"plan mode cannot describe training job {name!r}")
        return _jsonable(
            self.call("sagemaker", "DescribeTrainingJob", {"TrainingJobName": name}, resource=name)
        )

    def list_training_jobs(self, status: str | None = None) -> list[dict[str, Any]]:
        """``ListTrainingJobs`` (every page), newest first."""
        out: list[dict[str, Any]] = []
        token = None
        while True:
            params: dict[str, Any] = {"MaxResults": 100, "SortOrder": "Descending"}
            if status:
                params["StatusEquals"] = status
            if token:
                params["NextToken"] = token
            resp = self.call("sagemaker", "ListTrainingJobs", params)
            out.extend(resp.get("TrainingJobSummaries", []))
            token = resp.get("NextToken")
            if not token:
                return out

    def training_job_logs(self, name: str) -> str:
        """The job's CloudWatch log events (``/aws/sagemaker/TrainingJobs``)."""
        lines: list[str] = []
        token = None
        try:
            while True:
                params: dict[str, Any] = {
                    "logGroupName": "/aws/sagemaker/TrainingJobs",
                    "logStreamNamePrefix": f"{name}/",
                }
                if token:
                    params["nextToken"] = token
                resp = self.call("logs", "FilterLogEvents", params, resource=name)
                lines.extend(e.get("message", "") for e in resp.get("events", []))
                token = resp.get("nextToken")
                if not token:
                    break
        except ResourceNotFoundError:
            return ""
        return "\n".join(lines)

    def follow_training_job(self, name: str, emit: Callable[[str], None]) -> Callable[[], None]:
        """A pump that emits the CloudWatch log lines that appeared since its last call."""
        seen = 0

        def pump() -> None:
            nonlocal seen
            text = self.training_job_logs(name)
            lines = text.splitlines()
            for line in lines[seen:]:
                emit(line)
            seen = max(seen, len(lines))

        return pump

    def stop_training_job(self, name: str) -> None:
        """``StopTrainingJob``."""
        self.call("sagemaker", "StopTrainingJob", {"TrainingJobName": name}, resource=name)

    # -- tuning ----------------------------------------------------------------------------
    def tuning_request(self, spec: TuningSpec, name: str) -> dict[str, Any]:
        """The ``CreateHyperParameterTuningJob`` parameters for ``spec``."""
        from smkit.training.tuning import tuning_config

        training = self.training_request(spec.training_spec, name)
        return api.create_tuning_job(spec, name, training, tuning_config(spec))

    def tune(self, spec: TuningSpec, *, name: str | None = None, wait: bool = False) -> TuningJob:
        """Send ``CreateHyperParameterTuningJob`` and return the tuning job's handle."""
        from smkit.ids import check_name
        from smkit.training.job import TuningJob

        if name is None:
            prefix = (spec.base_job_name or spec.training.job_name_prefix())[:12].strip("-")
            name = f"{prefix}-{datetime.now(UTC).strftime('%y%m%d-%H%M%S')}"
        if len(name) > 32:
            raise ConfigError(f"tuning job name {name!r} is longer than 32 characters")
        check_name(name)
        params = self.tuning_request(spec, name)
        self.call("sagemaker", "CreateHyperParameterTuningJob", params, resource=name)
        job = TuningJob(self.backend, name, spec)
        return job.wait() if wait and not self.plan_mode else job

    def tuning_job(self, name: str) -> TuningJob:
        """A handle on an existing tuning job."""
        from smkit.training.job import TuningJob

        return TuningJob(self.backend, name)

    def describe_tuning_job(self, name: str) -> dict[str, Any]:
        """``DescribeHyperParameterTuningJob``."""
        if self.plan_mode:
            raise ResourceNotFoundError(f"plan mode cannot describe tuning job {name!r}")
        return _jsonable(
            self.call(
                "sagemaker",
                "DescribeHyperParameterTuningJob",
                {"HyperParameterTuningJobName": name},
                resource=name,
            )
        )

    def list_tuning_jobs(self, status: str | None = None) -> list[dict[str, Any]]:
        """``ListHyperParameterTuningJobs`` (first 100)."""
        params: dict[str, Any] = {"MaxResults": 100, "SortOrder": "Descending"}
        if status:
            params["StatusEquals"] = status
        resp = self.call("sagemaker", "ListHyperParameterTuningJobs", params)
        return list(resp.get("HyperParameterTuningJobSummaries", []))

    def tuning_job_trials(self, name: str) -> list[dict[str, Any]]:
        """``ListTrainingJobsForHyperParameterTuningJob`` (every page)."""
        out: list[dict[str, Any]] = []
        token = None
        while True:
            params: dict[str, Any] = {"HyperParameterTuningJobName": name, "MaxResults": 100}
            if token:
                params["NextToken"] = token
            resp = self.call(
                "sagemaker", "ListTrainingJobsForHyperParameterTuningJob", params, resource=name
            )
            out.extend(resp.get("TrainingJobSummaries", []))
            token = resp.get("NextToken")
            if not token:
                return out

    def stop_tuning_job(self, name: str) -> None:
        """``StopHyperParameterTuningJob``."""
        self.call(
            "sagemaker",
            "StopHyperParameterTuningJob",
            {"HyperParameterTuningJobName": name},
            resource=name,
        )
