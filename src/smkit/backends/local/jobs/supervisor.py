"""The supervisor: the process that runs one training job to its end.

Started by `smkit.backends.local.jobs.submit.submit` as ``python -m
smkit.backends.local.jobs ROOT NAME``; see `smkit.backends.local.jobs` for its phases.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from smkit import uri as s3uri
from smkit.backends.local.jobs._common import KIND, STOP_GRACE_SECONDS, arn
from smkit.backends.local.jobs.metrics import MetricReader
from smkit.backends.local.jobs.packaging import _pack, _private_copy
from smkit.errors import RequirementsError, SourceNotFoundError
from smkit.ids import now_iso
from smkit.training.contract import DEFAULT_HOST, JobPaths, training_env
from smkit.training.spec import check_channel_name

__all__ = ["run_supervisor"]


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
        self.layer: Path | None = None

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

    def install_requirements(self) -> None:
        """``pip install -r requirements.txt`` of the code directory, as the toolkit does
        before a Python entry point; the layer goes first on the script's ``PYTHONPATH``."""
        from smkit.backends.local.requirements import REQUIREMENTS_FILE, install_layer

        requirements = self.paths.code / REQUIREMENTS_FILE
        entry = self.data.get("EntryPoint") or ""
        if (
            not requirements.is_file()
            or not entry.endswith(".py")
            or not self.data.get("InstallRequirements", True)
            or self.data.get("Algorithm") == "xgboost"
        ):
            return
        self.layer = install_layer(requirements, self.root, log=self.log, workdir=self.paths.base)

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
        layer = str(self.layer) if self.layer is not None else None
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [code, layer, env.get("PYTHONPATH")]))
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
            if not self.stop_requested():
                self.install_requirements()
            rc = -signal.SIGTERM if self.stop_requested() else self.run_script(env, argv)
        except RequirementsError as exc:
            # the training toolkit's own error name for a failed pip install -r
            error = f"AlgorithmError: InstallRequirementsError: {exc}"
            self.log(f"smkit: {error}")
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


def run_supervisor(root: str | Path, name: str) -> int:
    """Run one job to its end (the supervisor process's body)."""
    sup = _Supervisor(Path(root), name)

    def _on_term(signum: int, frame: Any) -> None:
        sup.terminate()

    signal.signal(signal.SIGTERM, _on_term)
    sup.run()
    return 0
