"""Local training jobs: the SageMaker training-container contract in a subprocess.

`submit` prepares ``<root>/jobs/<job>/`` (shaped like ``/opt/ml``, see
`smkit.training.contract`), records a DescribeTrainingJob-shaped ``training_job`` in
the catalog and starts a *supervisor* process (``python -m smkit.backends.local.jobs ROOT
NAME``). The supervisor

1. copies each channel's objects into ``input/data/<channel>`` (``Downloading``);
2. runs the entry point with ``sys.executable`` in its own process group, with every
   ``SM_*`` variable and the hyperparameters as ``--key value`` (``Training``), streaming
   stdout+stderr line by line into ``logs.txt`` and reading metrics with the regexes;
3. stops it (SIGTERM, then SIGKILL after a grace period) when ``MaxRuntimeInSeconds`` passes
   or when a stop is requested (catalog status ``Stopping``);
4. samples CPU / memory (the profiler) while it runs;
5. packs ``model/`` into ``model.tar.gz`` and ``output/data`` into ``output.tar.gz`` at
   ``<output path>/<job>/output/`` (``Uploading``), evaluates the Debugger rules, and writes
   the final status: ``Completed`` (exit 0), ``Failed`` (reason: ``output/failure`` or the
   exit code and the last lines of the log) or ``Stopped``.

The record keeps the supervisor's pid and start time. Whoever reads a job that is still
``InProgress`` calls `reconcile`: a supervisor that is gone (killed from outside, a
reboot) turns the job ``Failed``, so no job stays ``InProgress`` forever.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tarfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from smkit import uri as s3uri
from smkit.backends.local import process
from smkit.errors import (
    ResourceNotFoundError,
    SourceNotFoundError,
    ValidationError,
)
from smkit.ids import (
    LOCAL_ACCOUNT,
    LOCAL_REGION,
    now_iso,
    sagemaker_arn,
    unique_name,
)
from smkit.training.contract import (
    DEFAULT_HOST,
    JobPaths,
    decode_hyperparameters,
    training_env,
)
from smkit.training.record import build_record
from smkit.training.record import resolve_code as _resolve_code
from smkit.training.spec import check_channel_name

__all__ = [
    "ACTIVE",
    "KIND",
    "MetricReader",
    "job_name",
    "reconcile",
    "run_supervisor",
    "stop",
    "submit",
]

KIND = "training_job"
ACTIVE = ("InProgress", "Stopping")
ACCOUNT = LOCAL_ACCOUNT
REGION = LOCAL_REGION
#: Seconds between SIGTERM and SIGKILL when a job is stopped (SageMaker waits 120 s).
STOP_GRACE_SECONDS = float(os.environ.get("SMKIT_STOP_GRACE_SECONDS", "5"))


job_name = unique_name
arn = sagemaker_arn


# -- metrics ------------------------------------------------------------------------------
class MetricReader:
    """Applies metric regexes to log lines; keeps every value and the last per metric."""

    def __init__(self, definitions: list[dict[str, str]]) -> None:
        self.definitions = [(d["Name"], re.compile(d["Regex"])) for d in definitions]
        self.last: dict[str, float] = {}
        self.count: dict[str, int] = {name: 0 for name, _ in self.definitions}

    def feed(self, line: str) -> list[tuple[str, float]]:
        """Values found on one line (group 1 of each matching regex)."""
        found = []
        for name, rx in self.definitions:
            m = rx.search(line)
            if m is None:
                continue
            try:
                value = float(m.group(1))
            except (TypeError, ValueError, IndexError):
                continue
            self.last[name] = value
            self.count[name] += 1
            found.append((name, value))
        return found

    def never_matched(self) -> list[str]:
        """Metric names whose regex matched no line."""
        return [name for name, n in self.count.items() if n == 0]


# -- submission (in the caller's process) -------------------------------------------------
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


# -- reconciliation -----------------------------------------------------------------------
_reap = process.reap
_alive = process.alive
_kill_group = process.kill_group


def reconcile(catalog: Any, name: str, *, grace: float = 30.0) -> Any:
    """Mark a job whose supervisor is gone as ``Failed``; returns the current resource."""
    _reap()
    res = catalog.describe(KIND, name)
    if res.status not in ACTIVE:
        return res
    data = res.data
    pid = data.get("SupervisorPid")
    if pid is None and (datetime.now(UTC) - res.created_at).total_seconds() < grace:
        return res
    if _alive(pid, data.get("SupervisorStartTime")):
        return res
    _kill_group(data.get("ScriptPid"), data.get("ScriptStartTime"))
    now = now_iso()
    reason = (
        "InternalServerError: the job's supervisor process "
        + (f"(pid {pid}) " if pid else "")
        + "ended without reporting a result (killed from outside?)"
    )
    transitions = list(data.get("SecondaryStatusTransitions", []))
    if transitions:
        transitions[-1].setdefault("EndTime", now)
    transitions.append({"Status": "Failed", "StartTime": now, "StatusMessage": reason})
    try:
        return catalog.update(
            KIND,
            name,
            status="Failed",
            message=reason,
            TrainingJobStatus="Failed",
            SecondaryStatus="Failed",
            FailureReason=reason,
            TrainingEndTime=data.get("TrainingEndTime") or now,
            LastModifiedTime=now,
            SecondaryStatusTransitions=transitions,
        )
    except ValidationError:  # it finished meanwhile
        return catalog.describe(KIND, name)


def stop(catalog: Any, name: str) -> None:
    """Ask a running job to stop: status ``Stopping`` and SIGTERM to the script."""
    res = reconcile(catalog, name)
    if res.status != "InProgress":
        return
    try:
        catalog.update(KIND, name, status="Stopping", TrainingJobStatus="Stopping")
    except ValidationError:
        return
    data = catalog.describe(KIND, name).data
    _kill_group(data.get("ScriptPid"), data.get("ScriptStartTime"), signal.SIGTERM)


# -- the supervisor (its own process) -----------------------------------------------------
class _Supervisor:
    def __init__(self, root: Path, name: str) -> None:
        from smkit.backends.local.catalog import LocalCatalog
        from smkit.backends.local.store import LocalStore

        self.root = root
        self.name = name
        self.catalog = LocalCatalog(root / "catalog.db", timeout=30.0)
        self.store = LocalStore(root / "s3")
        self.data = self.catalog.describe(KIND, name).data
        self.paths = JobPaths(self.data["JobDir"])
        self.transitions: list[dict[str, Any]] = list(self.data["SecondaryStatusTransitions"])
        self.proc: subprocess.Popen[bytes] | None = None
        self.runtime_exceeded = False
        self.log_tail: list[str] = []
        self.log_fh: Any = None

    # status helpers
    def secondary(self, status: str, message: str, **fields: Any) -> None:
        now = now_iso()
        if self.transitions:
            self.transitions[-1]["EndTime"] = now
        self.transitions.append({"Status": status, "StartTime": now, "StatusMessage": message})
        self.catalog.update(
            KIND,
            self.name,
            SecondaryStatus=status,
            SecondaryStatusTransitions=self.transitions,
            LastModifiedTime=now,
            **fields,
        )

    def log(self, line: str) -> None:
        if self.log_fh is not None:
            self.log_fh.write(line + "\n")
            self.log_fh.flush()
        self.log_tail.append(line)
        del self.log_tail[:-50]

    def stop_requested(self) -> bool:
        return self.catalog.describe(KIND, self.name).status == "Stopping"

    # phases
    def download(self) -> None:
        self.secondary("Downloading", "Downloading input data")
        for channel in self.data["InputDataConfig"]:
            cname = check_channel_name(channel["ChannelName"])
            source = channel["DataSource"]["S3DataSource"]["S3Uri"]
            target = self.paths.channel(cname)
            target.mkdir(parents=True, exist_ok=True)
            if source.startswith("s3://"):
                head = self.store.head(source)
                objects = [head] if head is not None else []
                prefix = source if source.endswith("/") else source + "/"
                if not objects:
                    objects = self.store.list(prefix)
                for obj in objects:
                    rel = (
                        obj.uri[len(prefix) :]
                        if obj.uri.startswith(prefix)
                        else obj.uri.rsplit("/", 1)[-1]
                    )
                    dest = target / rel
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    _private_copy(self.store.path_for(obj.uri), dest)
            else:
                src = Path(source)
                if src.is_dir():
                    shutil.copytree(src, target, dirs_exist_ok=True, symlinks=False)
                elif src.is_file():
                    _private_copy(src, target / src.name)
                else:
                    raise SourceNotFoundError(f"channel {cname!r}: {source!r} is gone")

    def write_config(self) -> tuple[dict[str, str], list[str]]:
        d = self.data
        hps: dict[str, str] = dict(d["HyperParameters"])
        (self.paths.config / "hyperparameters.json").write_text(json.dumps(hps))
        resource = {
            "current_host": DEFAULT_HOST,
            "current_group_name": "homogeneousCluster",
            "hosts": [DEFAULT_HOST],
            "instance_groups": [
                {
                    "instance_group_name": "homogeneousCluster",
                    "instance_type": d["ResourceConfig"]["InstanceType"],
                    "hosts": [DEFAULT_HOST],
                }
            ],
            "network_interface_name": "eth0",
            "current_instance_type": d["ResourceConfig"]["InstanceType"],
        }
        (self.paths.config / "resourceconfig.json").write_text(json.dumps(resource))
        input_config = {
            c["ChannelName"]: {
                **({"ContentType": c["ContentType"]} if c.get("ContentType") else {}),
                "TrainingInputMode": c.get("InputMode", "File"),
                "S3DistributionType": c["DataSource"]["S3DataSource"]["S3DataDistributionType"],
                "RecordWrapperType": c.get("RecordWrapperType", "None"),
            }
            for c in d["InputDataConfig"]
        }
        (self.paths.config / "inputdataconfig.json").write_text(json.dumps(input_config))
        (self.paths.config / "debughookconfig.json").write_text(
            json.dumps(
                {
                    "LocalPath": str(self.paths.tensors),
                    "S3OutputPath": d.get("DebugHookConfig", {}).get("S3OutputPath", ""),
                }
            )
        )
        env, argv = training_env(
            self.paths,
            job_name=self.name,
            job_arn=d["TrainingJobArn"],
            hyperparameters=hps,
            input_data_config=input_config,
            resource_config=resource,
            entry_point=d["EntryPoint"],
        )
        return env, argv

    def run_script(self, env_extra: dict[str, str], argv: list[str]) -> int:
        import psutil

        from smkit.backends.local.isolation import clean_environment, redact_argv
        from smkit.training.profiler import SystemSampler

        # only what the job defines plus what Python needs (SageMaker gives a container
        # nothing of the caller's environment); InheritEnvironment opts into all of it
        env = clean_environment(
            {
                **env_extra,
                **(self.data.get("Environment") or {}),
                **(self.data.get("ExtraEnvironment") or {}),
            },
            inherit=bool(self.data.get("InheritEnvironment")),
        )
        env["PYTHONUNBUFFERED"] = "1"
        code = str(self.paths.code)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [code, env.get("PYTHONPATH")]))
        entry = self.data["EntryPoint"]
        cmd = ["/bin/sh", entry, *argv] if entry.endswith(".sh") else [sys.executable, entry, *argv]
        reader = MetricReader(self.data["AlgorithmSpecification"].get("MetricDefinitions", []))
        self.reader = reader
        start = time.time()
        self.catalog.update(KIND, self.name, TrainingStartTime=now_iso())
        self.secondary("Training", "Training image download completed. Training in progress.")
        self.log(f"smkit: running {' '.join(redact_argv(cmd))} in {code}")
        self.proc = subprocess.Popen(
            cmd,
            cwd=code,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            script_started = psutil.Process(self.proc.pid).create_time()
        except psutil.Error:
            script_started = time.time()
        self.catalog.update(
            KIND, self.name, ScriptPid=self.proc.pid, ScriptStartTime=script_started
        )
        profiler = self.data.get("ProfilerConfig")
        sampler = None
        if profiler and not profiler.get("DisableProfiler"):
            interval = profiler.get("ProfilingIntervalInMilliseconds", 500) / 1000.0
            sampler = SystemSampler(self.proc.pid, interval).start()
        max_runtime = float(self.data["StoppingCondition"]["MaxRuntimeInSeconds"])
        watchdog = threading.Thread(
            target=self._watch, args=(start + max_runtime,), daemon=True, name="smkit-watchdog"
        )
        watchdog.start()
        with open(self.paths.metrics, "a", encoding="utf-8") as metrics_fh:
            assert self.proc.stdout is not None
            for raw in self.proc.stdout:
                line = raw.decode("utf-8", "replace").rstrip("\r\n")
                self.log(line)
                for mname, value in reader.feed(line):
                    metrics_fh.write(
                        json.dumps({"name": mname, "value": value, "time": time.time()}) + "\n"
                    )
                    metrics_fh.flush()
        rc = self.proc.wait()
        self.samples = sampler.stop() if sampler is not None else None
        return rc

    def _watch(self, deadline: float) -> None:
        """Stop the script past its max runtime, or when a stop was requested (also one that
        arrived before the script's pid was recorded, so no SIGTERM could reach it)."""
        proc = self.proc
        assert proc is not None
        next_check = 0.0
        while proc.poll() is None:
            now = time.time()
            if now >= deadline:
                self.runtime_exceeded = True
                self.terminate()
                return
            if now >= next_check:
                next_check = now + 1.0
                try:
                    if self.stop_requested():
                        self.terminate()
                        return
                except Exception:  # a busy catalog must not kill the watchdog
                    pass
            time.sleep(0.2)

    def terminate(self) -> None:
        proc = self.proc
        if proc is None or proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            proc.wait(STOP_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def upload(self) -> dict[str, Any]:
        self.secondary("Uploading", "Uploading generated training model")
        output = self.data["OutputDataConfig"]["S3OutputPath"]
        prefix = s3uri.join(output, self.name, "output")
        fields: dict[str, Any] = {}
        model_tar = self.paths.base / "model.tar.gz"
        _pack(self.paths.model, model_tar)
        info, _ = self.store.put_file(s3uri.join(prefix, "model.tar.gz"), model_tar)
        fields["ModelArtifacts"] = {"S3ModelArtifacts": info.uri}
        fields["ModelArtifactSha256"] = info.sha256
        out_tar = self.paths.base / "output.tar.gz"
        _pack(self.paths.output_data, out_tar)
        out_info, _ = self.store.put_file(s3uri.join(prefix, "output.tar.gz"), out_tar)
        fields["OutputArtifacts"] = {"S3OutputArtifacts": out_info.uri}
        return fields

    def evaluate_rules(self) -> list[dict[str, Any]]:
        from smkit.training.rules import evaluate_rule, load_records

        rules = self.data.get("DebugRules") or []
        if not rules:
            return []
        records = load_records(self.paths.tensors)
        out = []
        for rule in rules:
            result = evaluate_rule(rule["name"], rule.get("parameters", {}), records)
            aws_name = next(
                (
                    c["RuleConfigurationName"]
                    for c in self.data.get("DebugRuleConfigurations", [])
                    if c["RuleParameters"].get("rule_to_invoke") == _aws_rule(rule["name"])
                ),
                _aws_rule(rule["name"]),
            )
            out.append(
                {
                    "RuleConfigurationName": aws_name,
                    "RuleEvaluationJobArn": arn(
                        "processing-job", f"{self.name[:40]}-{aws_name[:20]}"
                    ),
                    "RuleEvaluationStatus": result.status,
                    "StatusDetails": result.details,
                    "LastModifiedTime": now_iso(),
                }
            )
            self.log(f"smkit: rule {aws_name}: {result.status} ({result.details})")
        return out

    def write_profile(self) -> dict[str, Any]:
        from smkit.training.profiler import plot_profile, write_profile
        from smkit.training.rules import summarise_steps

        cfg = self.data.get("ProfilerConfig")
        if not cfg or self.samples is None:
            return {}
        doc = write_profile(
            self.paths.profiler / "system_metrics.json",
            self.samples,
            summarise_steps(self.paths.tensors),
            interval_ms=int(cfg.get("ProfilingIntervalInMilliseconds", 500)),
        )
        fields: dict[str, Any] = {"ProfilerReport": str(self.paths.profiler)}
        try:
            plot_profile(doc, self.paths.profiler / "system_metrics.png")
        except Exception as exc:  # a plot must never fail the job
            self.log(f"smkit: profiler plot skipped: {exc}")
        for f in sorted(self.paths.profiler.iterdir()):
            self.store.put_file(s3uri.join(cfg["S3OutputPath"], f.name), f)
        return fields

    def run(self) -> None:
        self.samples: list[dict[str, Any]] | None = None
        self.reader = MetricReader([])
        self.log_fh = open(self.paths.log, "a", encoding="utf-8")  # noqa: SIM115
        rc: int | None = None
        error: str | None = None
        try:
            self.download()
            env, argv = self.write_config()
            rc = -signal.SIGTERM if self.stop_requested() else self.run_script(env, argv)
        except Exception as exc:
            error = f"ClientError: {type(exc).__name__}: {exc}"
            self.log(f"smkit: {error}")
        self.finish(rc, error)

    def finish(self, rc: int | None, error: str | None) -> None:
        end = now_iso()
        fields: dict[str, Any] = {}
        if rc is not None:
            try:
                fields.update(self.upload())
            except Exception as exc:
                error = error or f"ClientError: could not upload artifacts: {exc}"
        stopped = self.stop_requested()
        if error is not None:
            status, reason = "Failed", error
        elif self.runtime_exceeded:
            status, reason = "Stopped", "MaxRuntimeExceeded"
        elif stopped:
            status, reason = "Stopped", None
        elif rc == 0:
            status, reason = "Completed", None
        else:
            status, reason = "Failed", self.failure_reason(rc)
        try:
            fields["DebugRuleEvaluationStatuses"] = self.evaluate_rules()
        except Exception as exc:
            self.log(f"smkit: rule evaluation failed: {exc}")
        try:
            fields.update(self.write_profile())
        except Exception as exc:
            self.log(f"smkit: profiler output failed: {exc}")
        missing = self.reader.never_matched()
        if missing:
            warning = (
                "metric definitions never matched a log line: "
                + ", ".join(missing)
                + " (check their regexes against logs.txt)"
            )
            self.log(f"smkit: WARNING: {warning}")
            fields["SmkitWarnings"] = [warning]
        fields["FinalMetricDataList"] = [
            {"MetricName": k, "Value": v, "Timestamp": end} for k, v in self.reader.last.items()
        ]
        started = self.data.get("TrainingStartTime") or self.catalog.describe(
            KIND, self.name
        ).data.get("TrainingStartTime")
        seconds = 0
        if started:
            seconds = max(
                1,
                round(
                    (datetime.fromisoformat(end) - datetime.fromisoformat(started)).total_seconds()
                ),
            )
        secondary = "MaxRuntimeExceeded" if self.runtime_exceeded else status
        message = {
            "Completed": "Training job completed",
            "Failed": reason or "Training job failed",
            "Stopped": "Training job stopped"
            + (" after MaxRuntimeInSeconds" if self.runtime_exceeded else ""),
        }[status]
        now = now_iso()
        if self.transitions:
            self.transitions[-1]["EndTime"] = now
        self.transitions.append({"Status": secondary, "StartTime": now, "StatusMessage": message})
        fields.update(
            TrainingJobStatus=status,
            SecondaryStatus=secondary,
            TrainingEndTime=end,
            LastModifiedTime=now,
            TrainingTimeInSeconds=seconds,
            BillableTimeInSeconds=seconds,
            SecondaryStatusTransitions=self.transitions,
            ExitCode=rc,
        )
        if reason and status == "Failed":
            fields["FailureReason"] = reason
        if self.runtime_exceeded:
            fields["FailureReason"] = (
                "MaxRuntimeExceeded: Training job exceeded MaxRuntimeInSeconds"
            )
        self.log(f"smkit: job {self.name} {status}" + (f": {reason}" if reason else ""))
        if self.log_fh is not None:
            self.log_fh.close()
            self.log_fh = None
        self.catalog.update(KIND, self.name, status=status, message=reason, **fields)

    def failure_reason(self, rc: int) -> str:
        if self.paths.failure.is_file():
            text = self.paths.failure.read_text(encoding="utf-8", errors="replace").strip()
            if text:
                return text[:1024]
        if rc < 0:
            try:
                signame = signal.Signals(-rc).name
            except ValueError:
                signame = str(-rc)
            return f"AlgorithmError: the training process was killed by signal {signame}"
        tail = "\n".join(line for line in self.log_tail[-10:] if not line.startswith("smkit: "))
        return f'AlgorithmError: ExecuteUserScriptError: ExitCode {rc}, ErrorMessage "{tail}"'[
            :1024
        ]


def _aws_rule(name: str) -> str:
    from smkit.training.spec import RULES

    return RULES.get(name, name)


def _private_copy(src: Path, dest: Path) -> None:
    """Copy ``src`` to ``dest`` so that writing ``dest`` can never change ``src``.

    Never a hard link (a script rewriting its input in place would rewrite the stored object
    or the user's file). A copy-on-write clone (``FICLONE``, btrfs / XFS) is tried first, as
    cheap as a link but private; otherwise a plain copy (``copy_file_range`` / ``sendfile``).
    """
    if dest.exists() or dest.is_symlink():
        dest.unlink()
    if _reflink(src, dest):
        return
    shutil.copyfile(src, dest)


_FICLONE = 0x40049409  # _IOW(0x94, 9, int): Linux's copy-on-write clone ioctl


def _reflink(src: Path, dest: Path) -> bool:
    if not sys.platform.startswith("linux"):
        return False
    import fcntl

    try:
        with open(src, "rb") as fin, open(dest, "wb") as fout:
            try:
                fcntl.ioctl(fout.fileno(), _FICLONE, fin.fileno())
                return True
            except OSError:
                pass
    except OSError:
        pass
    dest.unlink(missing_ok=True)
    return False


def _pack(directory: Path, target: Path) -> None:
    """``tar czf target -C directory .`` with entries relative to the directory."""
    with tarfile.open(target, "w:gz") as tar:
        for path in sorted(directory.rglob("*")):
            tar.add(path, arcname=path.relative_to(directory).as_posix(), recursive=False)


def run_supervisor(root: str | Path, name: str) -> int:
    """Run one job to its end (the supervisor process's body)."""
    sup = _Supervisor(Path(root), name)

    def _on_term(signum: int, frame: Any) -> None:
        sup.terminate()

    signal.signal(signal.SIGTERM, _on_term)
    sup.run()
    return 0


# -- helpers for handles -------------------------------------------------------------------
def describe(catalog: Any, name: str) -> dict[str, Any]:
    """The job's record (reconciled), with ``TrainingJobStatus`` matching the catalog."""
    res = reconcile(catalog, name)
    data = dict(res.data)
    data["TrainingJobStatus"] = res.status
    return data


def logs(catalog: Any, name: str) -> str:
    """The job's log text so far."""
    data = catalog.describe(KIND, name).data
    path = Path(data.get("LogPath", ""))
    return path.read_text(encoding="utf-8", errors="replace") if path.is_file() else ""


def follow(
    catalog: Any, name: str, emit: Callable[[str], None], *, poll: float = 0.2
) -> Callable[[], None]:
    """A function that, each time it is called, emits the log lines written since last time."""
    state = {"pos": 0}

    def pump() -> None:
        data = catalog.describe(KIND, name).data
        path = Path(data.get("LogPath", ""))
        if not path.is_file():
            return
        with open(path, encoding="utf-8", errors="replace") as fh:
            fh.seek(state["pos"])
            chunk = fh.read()
            cut = chunk.rfind("\n") + 1
            state["pos"] += len(chunk[:cut].encode("utf-8"))
        for line in chunk[:cut].splitlines():
            emit(line)

    return pump


def hyperparameters_of(record: dict[str, Any]) -> dict[str, Any]:
    """The user's hyperparameters of a job record, decoded."""
    hps = decode_hyperparameters(record.get("HyperParameters", {}))
    return {k: v for k, v in hps.items() if not k.startswith("sagemaker_")}


def require_job(catalog: Any, name: str) -> Any:
    """The job's resource or `ResourceNotFoundError` naming ``smkit jobs list``."""
    try:
        return catalog.describe(KIND, name)
    except ResourceNotFoundError:
        raise ResourceNotFoundError(
            f"no training job named {name!r}",
            hint="`smkit jobs list` shows the jobs",
            name=name,
        ) from None


if __name__ == "__main__":  # the supervisor process
    sys.exit(run_supervisor(sys.argv[1], sys.argv[2]))
