"""Submission of a local training job, in the caller's process.

`submit` validates the spec's code and channels, records a DescribeTrainingJob-shaped
``training_job`` in the catalog, prepares ``<root>/jobs/<job>/`` and starts the supervisor
(`smkit.backends.local.jobs.supervisor`) as its own process.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from smkit import uri as s3uri
from smkit.backends.local import process
from smkit.backends.local.jobs._common import KIND, REGION, job_name
from smkit.errors import SourceNotFoundError
from smkit.ids import now_iso
from smkit.training.contract import JobPaths
from smkit.training.record import build_record, copy_dependencies, resolve_dependencies
from smkit.training.record import resolve_code as _resolve_code
from smkit.training.spec import check_channel_name

__all__ = ["submit"]


def _channel_exists(store: Any, uri: str) -> bool:
    if uri.startswith("s3://"):
        if store.head(uri) is not None:
            return True
        prefix = uri if uri.endswith("/") else uri + "/"
        return bool(store.list(prefix))
    return Path(uri).exists()


def submit(
    backend: Any,
    spec: Any,
    *,
    name: str | None = None,
    tuning_job_arn: str | None = None,
    extra_env: dict[str, str] | None = None,
) -> str:
    """Prepare a job directory, record the job and start its supervisor; returns the name.

    Raises:
        SourceNotFoundError: the entry point, source dir or a channel's data is missing.
        ResourceExistsError: a job with that name exists.
    """
    code_dir, entry = _resolve_code(spec)
    dependencies = resolve_dependencies(getattr(spec, "dependencies", ()))
    for cname in spec.inputs:
        check_channel_name(cname)  # before anything is written: a name becomes a directory
    for cname, channel in spec.inputs.items():
        if not _channel_exists(backend.store, channel.uri):
            raise SourceNotFoundError(
                f"channel {cname!r} points at nothing: {channel.uri!r}",
                hint="stage the data first (session.stage) or fix the URI",
                channel=cname,
                uri=channel.uri,
            )
    name = name or job_name(spec.job_name_prefix())
    bucket = backend.default_bucket()
    output_path = spec.output_path or f"s3://{bucket}/"
    s3uri.parse(output_path)
    framework = spec.effective_framework
    image = spec.image_uri or f"local/{framework}:{spec.effective_version or 'latest'}"
    sagemaker_hps = {
        "sagemaker_program": json.dumps(entry),
        "sagemaker_submit_directory": json.dumps(str(code_dir)),
        "sagemaker_container_log_level": "20",
        "sagemaker_job_name": json.dumps(name),
        "sagemaker_region": json.dumps(REGION),
    }
    record = build_record(
        spec,
        name,
        output_path=output_path,
        role="arn:aws:iam::000000000000:role/smkit-local",
        image=image,
        tuning_job_arn=tuning_job_arn,
        extra_hyperparameters=sagemaker_hps if spec.algorithm != "xgboost" else None,
    )
    jobdir = backend.root / "jobs" / name
    paths = JobPaths(jobdir)
    now = now_iso()
    record.update(
        TrainingJobStatus="InProgress",
        SecondaryStatus="Starting",
        CreationTime=now,
        LastModifiedTime=now,
        SecondaryStatusTransitions=[
            {"Status": "Starting", "StartTime": now, "StatusMessage": "Preparing the job"}
        ],
        # smkit's own fields
        JobDir=str(jobdir),
        LogPath=str(paths.log),
        EntryPoint=entry,
        SourceDir=str(code_dir),
        # absolute, so job.model() works from any working directory
        UserEntryPoint=(
            str(Path(spec.entry_point).expanduser().resolve())
            if spec.entry_point and not spec.source_dir
            else spec.entry_point
        ),
        UserSourceDir=str(Path(spec.source_dir).expanduser().resolve())
        if spec.source_dir
        else None,
        Algorithm=spec.algorithm,
        Framework=framework,
        FrameworkVersion=spec.effective_version,
        ImageUri=spec.image_uri,
        ExtraEnvironment=dict(extra_env or {}),
        InheritEnvironment=bool(getattr(spec, "inherit_env", False)),
        DebugRules=[{"name": r.name, "parameters": r.parameters} for r in spec.rules],
        Dependencies=[str(p) for p in dependencies],
        InstallRequirements=bool(getattr(spec, "install_requirements", True)),
    )
    backend.catalog.create(KIND, name, record, status="InProgress")
    try:
        if jobdir.exists():
            shutil.rmtree(jobdir)
        paths.create()
        if code_dir.is_file():
            shutil.copy2(code_dir, paths.code / code_dir.name)
        else:
            shutil.copytree(
                code_dir, paths.code, dirs_exist_ok=True, ignore=_code_ignorer(backend.root)
            )
        copy_dependencies(dependencies, paths.code)
        pid, started = _start_supervisor(backend.root, name, jobdir)
    except BaseException as exc:
        backend.catalog.update(
            KIND,
            name,
            status="Failed",
            TrainingJobStatus="Failed",
            SecondaryStatus="Failed",
            FailureReason=f"ClientError: could not start the job: {exc}",
        )
        raise
    backend.catalog.update(KIND, name, SupervisorPid=pid, SupervisorStartTime=started)
    return name


def _code_ignorer(root: Path) -> Callable[[str, list[str]], list[str]]:
    """Skip caches, VCS folders and the local root itself when copying the source dir."""
    skip = {"__pycache__", ".git", ".smkit", ".venv"}
    root = Path(root).resolve()

    def ignore(directory: str, names: list[str]) -> list[str]:
        base = Path(directory).resolve()
        return [n for n in names if n in skip or base / n == root]

    return ignore


def _start_supervisor(root: Path, name: str, jobdir: Path) -> tuple[int, float]:
    proc, started = process.spawn(
        [str(root), name], module="smkit.backends.local.jobs", log_path=jobdir / "supervisor.log"
    )
    return proc.pid, started
