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
from smkit.backends.local.jobs.packaging import _pack_merged, _private_copy
from smkit.errors import RequirementsError, SourceNotFoundError
from smkit.ids import now_iso
from smkit.training.contract import JobPaths, training_env
from smkit.training.spec import check_channel_name

__all__ = ["run_supervisor"]

#: What the PyTorch training container (``sagemaker_pytorch_container.training``) sets
#: before it runs the entry point, on one host or many.
PYTORCH_MASTER_PORT = "7777"


def _framework_env(framework: str | None, master: str, interface: str) -> dict[str, str]:
    if framework != "pytorch":
        return {}
    return {
        "MASTER_ADDR": master,
        "MASTER_PORT": PYTORCH_MASTER_PORT,
        "NCCL_SOCKET_IFNAME": interface,
        "NCCL_IB_DISABLE": "1",
        "NCCL_DEBUG": "WARN",
    }


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
        from smkit.backends.local.hosts import host_names

        # one /opt/ml per host: algo-1's is the job directory itself, the others' below it
        count = int((self.data.get("ResourceConfig") or {}).get("InstanceCount") or 1)
        self.hosts = host_names(count)
        self.host_paths = [self.paths] + [
            JobPaths(self.paths.base / "hosts" / host) for host in self.hosts[1:]
        ]
        self.procs: list[subprocess.Popen[bytes]] = []
        self.failed_host: int | None = None
        self.host_tails: list[list[str]] = [[] for _ in self.hosts]
        self._log_lock = threading.Lock()
        self.transitions: list[dict[str, Any]] = list(self.data["SecondaryStatusTransitions"])
        self.runtime_exceeded = False
        self.log_tail: list[str] = []
        self.log_fh: Any = None
        self.layer: Path | None = None
        self.warnings: list[str] = []

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
        with self._log_lock:  # one reader thread per host
            if self.log_fh is not None:
                self.log_fh.write(line + "\n")
                self.log_fh.flush()
            self.log_tail.append(line)
            del self.log_tail[:-50]

    def stop_requested(self) -> bool:
        return self.catalog.describe(KIND, self.name).status == "Stopping"

    # phases
    def prepare_hosts(self) -> None:
        """Every host after the first gets its own ``/opt/ml``, with its own copy of the code."""
        for hp in self.host_paths[1:]:
            if hp.base.exists():
                shutil.rmtree(hp.base)
            hp.create()
            shutil.copytree(self.paths.code, hp.code, dirs_exist_ok=True, symlinks=True)

    def download(self) -> None:
        """Each channel's objects into each host's ``input/data/<channel>``.

        ``FullyReplicated`` gives every host every object. ``ShardedByS3Key`` gives each
        host about 1/N of the objects: SageMaker documents the split, not its rule; here the
        objects sorted by key go round-robin to the hosts (object ``k`` to host ``k mod N``).
        """
        self.secondary("Downloading", "Downloading input data")
        count = len(self.hosts)
        for channel in self.data["InputDataConfig"]:
            cname = check_channel_name(channel["ChannelName"])
            s3_source = channel["DataSource"]["S3DataSource"]
            source = s3_source["S3Uri"]
            sharded = s3_source.get("S3DataDistributionType") == "ShardedByS3Key"
            if not sharded and not source.startswith("s3://") and Path(source).is_dir():
                for hp in self.host_paths:  # the whole tree, empty folders included
                    shutil.copytree(source, hp.channel(cname), dirs_exist_ok=True, symlinks=False)
                continue
            files = self._channel_files(cname, source)
            for index, hp in enumerate(self.host_paths):
                target = hp.channel(cname)
                target.mkdir(parents=True, exist_ok=True)
                for k, (rel, src) in enumerate(files):
                    if sharded and k % count != index:
                        continue
                    dest = target / rel
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    _private_copy(src, dest)

    def _channel_files(self, cname: str, source: str) -> list[tuple[str, Path]]:
        """``(relative path, file)`` of every object a channel holds, sorted by key."""
        files: list[tuple[str, Path]] = []
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
                files.append((rel, self.store.path_for(obj.uri)))
        else:
            src = Path(source)
            if src.is_dir():
                for folder, _, names in os.walk(src, followlinks=True):
                    for fname in names:
                        path = Path(folder) / fname
                        if path.is_file():
                            files.append((path.relative_to(src).as_posix(), path))
            elif src.is_file():
                files.append((src.name, src))
            else:
                raise SourceNotFoundError(f"channel {cname!r}: {source!r} is gone")
        return sorted(files)

    def write_config(self, index: int = 0) -> tuple[dict[str, str], list[str]]:
        """The ``input/config`` files of host ``index`` and its script's environment."""
        d = self.data
        paths = self.host_paths[index]
        host = self.hosts[index]
        hps: dict[str, str] = dict(d["HyperParameters"])
        (paths.config / "hyperparameters.json").write_text(json.dumps(hps))
        instance_type = d["ResourceConfig"]["InstanceType"]
        resource = {
            "current_host": host,
            "current_group_name": "homogeneousCluster",
            "hosts": list(self.hosts),
            "instance_groups": [
                {
                    "instance_group_name": "homogeneousCluster",
                    "instance_type": instance_type,
                    "hosts": list(self.hosts),
                }
            ],
            "network_interface_name": "eth0",
            "current_instance_type": instance_type,
        }
        (paths.config / "resourceconfig.json").write_text(json.dumps(resource))
        input_config = {
            c["ChannelName"]: {
                **({"ContentType": c["ContentType"]} if c.get("ContentType") else {}),
                "TrainingInputMode": c.get("InputMode", "File"),
                "S3DistributionType": c["DataSource"]["S3DataSource"]["S3DataDistributionType"],
                "RecordWrapperType": c.get("RecordWrapperType", "None"),
            }
            for c in d["InputDataConfig"]
        }
        (paths.config / "inputdataconfig.json").write_text(json.dumps(input_config))
        (paths.config / "debughookconfig.json").write_text(
            json.dumps(
                {
                    "LocalPath": str(paths.tensors),
                    "S3OutputPath": d.get("DebugHookConfig", {}).get("S3OutputPath", ""),
                }
            )
        )
        env, argv = training_env(
            paths,
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

    def run_script(self, host_envs: list[dict[str, str]], argv: list[str]) -> int:
        """Run the entry point once per host and wait for all; the job's exit code.

        Each host is its own process group, in its own namespaces where the machine allows
        (`smkit.backends.local.hosts`). The first host that fails ends the others (SageMaker
        stops the whole cluster when one instance's algorithm fails); its exit code is the
        job's.
        """
        from smkit.backends.local.hosts import hosts_file_text, namespace_support, wrap_command
        from smkit.backends.local.isolation import redact_argv
        from smkit.backends.local.process import process_start_time
        from smkit.training.profiler import SystemSampler

        entry = self.data["EntryPoint"]
        cmd = ["/bin/sh", entry, *argv] if entry.endswith(".sh") else [sys.executable, entry, *argv]
        reader = MetricReader(self.data["AlgorithmSpecification"].get("MetricDefinitions", []))
        self.reader = reader
        no_namespaces = namespace_support()
        hosts_file = self.paths.base / "hosts.txt"
        if no_namespaces is None:
            hosts_file.write_text(hosts_file_text(self.hosts), encoding="utf-8")
        elif len(self.hosts) > 1:
            warning = (
                f"the hosts {', '.join(self.hosts)} run as plain processes ({no_namespaces}): "
                "their names resolve only if this machine resolves them, so a script that "
                "connects to another host by name may fail"
            )
            self.log(f"smkit: WARNING: {warning}")
            self.warnings.append(warning)
        start = time.time()
        self.catalog.update(KIND, self.name, TrainingStartTime=now_iso())
        self.secondary("Training", "Training image download completed. Training in progress.")
        code = str(self.paths.code)
        self.log(f"smkit: running {' '.join(redact_argv(cmd))} in {code}")
        if len(self.hosts) > 1:
            self.log(f"smkit: {len(self.hosts)} hosts: {', '.join(self.hosts)}")
        pids: list[list[Any]] = []
        for index, host in enumerate(self.hosts):
            full = cmd if no_namespaces is not None else wrap_command(cmd, host, hosts_file)
            try:
                proc = subprocess.Popen(
                    full,
                    cwd=str(self.host_paths[index].code),
                    env=self._script_env(host_envs[index], index),
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            except BaseException:
                self.terminate()  # the hosts already started must not run on alone
                raise
            self.procs.append(proc)
            pids.append([proc.pid, process_start_time(proc.pid)])
        self.catalog.update(
            KIND,
            self.name,
            ScriptPid=pids[0][0],
            ScriptStartTime=pids[0][1],
            HostPids=pids[1:],
        )
        profiler = self.data.get("ProfilerConfig")
        sampler = None
        if profiler and not profiler.get("DisableProfiler"):
            interval = profiler.get("ProfilingIntervalInMilliseconds", 500) / 1000.0
            sampler = SystemSampler(self.procs[0].pid, interval).start()
        max_runtime = float(self.data["StoppingCondition"]["MaxRuntimeInSeconds"])
        watchdog = threading.Thread(
            target=self._watch, args=(start + max_runtime,), daemon=True, name="smkit-watchdog"
        )
        watchdog.start()
        with open(self.paths.metrics, "a", encoding="utf-8") as metrics_fh:
            readers = [
                threading.Thread(
                    target=self._read_host,
                    args=(index, metrics_fh if index == 0 else None),
                    daemon=True,
                    name=f"smkit-{self.hosts[index]}",
                )
                for index in range(1, len(self.hosts))
            ]
            for thread in readers:
                thread.start()
            self._read_host(0, metrics_fh)
            for thread in readers:
                thread.join()
        codes = [proc.wait() for proc in self.procs]
        self.samples = sampler.stop() if sampler is not None else None
        if self.failed_host is None:
            self.failed_host = next((i for i, rc in enumerate(codes) if rc != 0), None)
        return codes[self.failed_host] if self.failed_host is not None else 0

    def _script_env(self, host_env: dict[str, str], index: int) -> dict[str, str]:
        from smkit.backends.local.isolation import clean_environment

        # only what the job defines plus what Python needs (SageMaker gives a container
        # nothing of the caller's environment); InheritEnvironment opts into all of it
        env = clean_environment(
            {
                **host_env,
                **(self.data.get("Environment") or {}),
                **(self.data.get("ExtraEnvironment") or {}),
            },
            inherit=bool(self.data.get("InheritEnvironment")),
        )
        # the PyTorch container sets these in its own process after the job's environment
        # is in place, so they win over a job variable of the same name
        env.update(
            _framework_env(
                self.data.get("Framework"),
                host_env["SM_MASTER_HOSTNAME"],
                host_env["SM_NETWORK_INTERFACE_NAME"],
            )
        )
        env["PYTHONUNBUFFERED"] = "1"
        code = str(self.host_paths[index].code)
        layer = str(self.layer) if self.layer is not None else None
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [code, layer, env.get("PYTHONPATH")]))
        return env

    def _read_host(self, index: int, metrics_fh: Any) -> None:
        """Stream one host's output into the job log (``[algo-N] `` first when there are
        several hosts); the master's lines feed the metric regexes."""
        proc = self.procs[index]
        prefix = f"[{self.hosts[index]}] " if len(self.hosts) > 1 else ""
        tail = self.host_tails[index]
        assert proc.stdout is not None
        for raw in proc.stdout:
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            self.log(prefix + line)
            tail.append(line)
            del tail[:-50]
            if metrics_fh is None:
                continue
            for mname, value in self.reader.feed(line):
                metrics_fh.write(
                    json.dumps({"name": mname, "value": value, "time": time.time()}) + "\n"
                )
                metrics_fh.flush()

    def _watch(self, deadline: float) -> None:
        """Stop the scripts past the max runtime, when a stop was requested (also one that
        arrived before the pids were recorded, so no SIGTERM could reach them), or when one
        host failed while others still run."""
        next_check = 0.0
        while any(proc.poll() is None for proc in self.procs):
            now = time.time()
            if now >= deadline:
                self.runtime_exceeded = True
                self.terminate()
                return
            if len(self.procs) > 1 and self.failed_host is None:
                failed = next(
                    (i for i, p in enumerate(self.procs) if p.poll() not in (None, 0)), None
                )
                if failed is not None:
                    self.failed_host = failed
                    self.log(
                        f"smkit: {self.hosts[failed]} failed (exit code "
                        f"{self.procs[failed].returncode}): stopping the other hosts"
                    )
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
        """SIGTERM every host's process group, SIGKILL what is left after the grace."""
        running = [proc for proc in self.procs if proc.poll() is None]
        for proc in running:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for proc in running:
            try:
                proc.wait(max(0.0, deadline - time.monotonic()))
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
        # every host's model/ and output/data merged in host order (a later host's file wins),
        # as SageMaker local mode merges its containers' folders
        model_tar = self.paths.base / "model.tar.gz"
        _pack_merged([hp.model for hp in self.host_paths], model_tar)
        info, _ = self.store.put_file(s3uri.join(prefix, "model.tar.gz"), model_tar)
        fields["ModelArtifacts"] = {"S3ModelArtifacts": info.uri}
        fields["ModelArtifactSha256"] = info.sha256
        out_tar = self.paths.base / "output.tar.gz"
        _pack_merged([hp.output_data for hp in self.host_paths], out_tar)
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
            self.prepare_hosts()
            self.download()
            configs = [self.write_config(i) for i in range(len(self.hosts))]
            argv = configs[0][1]
            if not self.stop_requested():
                self.install_requirements()
            rc = (
                -signal.SIGTERM
                if self.stop_requested()
                else self.run_script([env for env, _ in configs], argv)
            )
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
            self.warnings.append(warning)
        if self.warnings:
            fields["SmkitWarnings"] = list(self.warnings)
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
        """The failed host's ``output/failure``, else its exit code and last log lines."""
        index = self.failed_host or 0
        failure = self.host_paths[index].failure
        if failure.is_file():
            text = failure.read_text(encoding="utf-8", errors="replace").strip()
            if text:
                return text[:1024]
        if rc < 0:
            try:
                signame = signal.Signals(-rc).name
            except ValueError:
                signame = str(-rc)
            return f"AlgorithmError: the training process was killed by signal {signame}"
        lines = self.host_tails[index] if self.procs else self.log_tail
        tail = "\n".join(line for line in lines[-10:] if not line.startswith("smkit: "))
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
