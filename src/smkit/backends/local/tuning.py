"""Local hyperparameter tuning: optuna chooses, local training jobs run, the catalog records.

`submit` records a DescribeHyperParameterTuningJob-shaped ``tuning_job``, saves the spec
beside it (``<root>/tuning/<name>/spec.pkl``) and starts a supervisor process
(``python -m smkit.backends.local.tuning ROOT NAME``) that

- asks optuna for hyperparameters (``Random``: ``RandomSampler``; ``Bayesian``: ``TPESampler``;
  ``Grid``: every combination of the categorical values, enqueued in order), seeded;
- runs up to ``min(max_parallel_jobs, CPU count)`` local training jobs at once, named
  ``<tuning>-<NNN>-<8 hex>`` like SageMaker's;
- reads each running job's objective values from its log as they appear and, with
  ``early_stopping="Auto"``, stops a trial whose value is worse than the median of earlier
  trials at the same step (optuna's ``MedianPruner``; the job ends ``Stopped`` and its last
  value still counts, as on SageMaker);
- takes each job's objective as the last value its regex captured, keeps the best job, the
  status counters and one summary per trial in the record.
"""

from __future__ import annotations

import json
import math
import os
import pickle
import signal
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from smkit.backends.local import jobs, process
from smkit.errors import ValidationError
from smkit.ids import check_name, now_iso, sagemaker_arn
from smkit.training.tuning import tuning_config

__all__ = ["KIND", "reconcile", "run_supervisor", "stop", "submit", "tuning_config"]

KIND = "tuning_job"


def submit(backend: Any, spec: Any, *, name: str | None = None) -> str:
    """Record a tuning job and start its supervisor; returns its name."""
    from smkit import uri as s3uri

    training = spec.training_spec
    jobs._resolve_code(training)  # fail early on a missing entry point
    for cname, channel in training.inputs.items():
        if not jobs._channel_exists(backend.store, channel.uri):
            from smkit.errors import SourceNotFoundError

            raise SourceNotFoundError(
                f"channel {cname!r} points at nothing: {channel.uri!r}", channel=cname
            )
    prefix = spec.base_job_name or training.job_name_prefix()[:12]
    name = name or f"{prefix[:12]}-{time.strftime('%y%m%d-%H%M')}-{uuid.uuid4().hex[:4]}"
    if len(name) > 32:
        raise ValidationError(f"tuning job name {name!r} is longer than 32 characters")
    check_name(name)
    bucket = backend.default_bucket()
    output_path = training.output_path or f"s3://{bucket}/"
    s3uri.parse(output_path)
    definition = jobs.build_record(
        training,
        "definition",
        output_path=output_path,
        role="arn:aws:iam::000000000000:role/smkit-local",
        image=training.image_uri or f"local/{training.effective_framework}",
    )
    now = now_iso()
    workdir = backend.work_dir("tuning", name)
    record = {
        "HyperParameterTuningJobName": name,
        "HyperParameterTuningJobArn": sagemaker_arn("hyper-parameter-tuning-job", name),
        "HyperParameterTuningJobConfig": tuning_config(spec),
        "TrainingJobDefinition": {
            "StaticHyperParameters": definition["HyperParameters"],
            "AlgorithmSpecification": definition["AlgorithmSpecification"],
            "RoleArn": definition["RoleArn"],
            "InputDataConfig": definition["InputDataConfig"],
            "OutputDataConfig": definition["OutputDataConfig"],
            "ResourceConfig": definition["ResourceConfig"],
            "StoppingCondition": definition["StoppingCondition"],
        },
        "HyperParameterTuningJobStatus": "InProgress",
        "CreationTime": now,
        "LastModifiedTime": now,
        "TrainingJobStatusCounters": _counters([]),
        "ObjectiveStatusCounters": {"Succeeded": 0, "Pending": 0, "Failed": 0},
        "TrainingJobSummaries": [],
        "WorkDir": str(workdir),
        "MaxParallelLocal": min(spec.max_parallel_jobs, os.cpu_count() or 1),
    }
    backend.catalog.create(KIND, name, record, status="InProgress")
    with open(workdir / "spec.pkl", "wb") as fh:
        pickle.dump(spec, fh)
    proc, started = process.spawn(
        [str(backend.root), name],
        module="smkit.backends.local.tuning",
        log_path=workdir / "supervisor.log",
    )
    backend.catalog.update(KIND, name, SupervisorPid=proc.pid, SupervisorStartTime=started)
    return name


def _counters(summaries: list[dict[str, Any]]) -> dict[str, int]:
    out = {
        "Completed": 0,
        "InProgress": 0,
        "RetryableError": 0,
        "NonRetryableError": 0,
        "Stopped": 0,
    }
    for s in summaries:
        status = s["TrainingJobStatus"]
        if status == "Failed":
            out["NonRetryableError"] += 1
        elif status == "Stopping":
            out["InProgress"] += 1
        else:
            out[status] = out.get(status, 0) + 1
    return out


def reconcile(catalog: Any, name: str) -> Any:
    """Mark a tuning job whose supervisor is gone as ``Failed``."""
    process.reap()
    res = catalog.describe(KIND, name)
    if res.status not in jobs.ACTIVE:
        return res
    data = res.data
    pid = data.get("SupervisorPid")
    if pid is None or process.alive(pid, data.get("SupervisorStartTime")):
        return res
    reason = f"InternalServerError: the tuning supervisor (pid {pid}) ended without a result"
    for summary in data.get("TrainingJobSummaries", []):
        if summary["TrainingJobStatus"] in jobs.ACTIVE:
            jobs.stop(catalog, summary["TrainingJobName"])
    try:
        return catalog.update(
            KIND,
            name,
            status="Failed",
            message=reason,
            HyperParameterTuningJobStatus="Failed",
            FailureReason=reason,
            HyperParameterTuningEndTime=now_iso(),
        )
    except ValidationError:
        return catalog.describe(KIND, name)


def stop(catalog: Any, name: str) -> None:
    """Ask the tuning job to stop; its supervisor stops the running trials."""
    res = reconcile(catalog, name)
    if res.status != "InProgress":
        return
    try:
        catalog.update(KIND, name, status="Stopping", HyperParameterTuningJobStatus="Stopping")
    except ValidationError:
        return


# -- the supervisor -----------------------------------------------------------------------
def _suggest(trial: Any, ranges: dict[str, Any]) -> dict[str, Any]:
    from smkit.training.tuning import CategoricalParameter, ContinuousParameter

    out: dict[str, Any] = {}
    for name, rng in sorted(ranges.items()):
        if isinstance(rng, CategoricalParameter):
            out[name] = trial.suggest_categorical(name, list(rng.values))
        elif isinstance(rng, ContinuousParameter):
            if rng.scaling == "Logarithmic":
                out[name] = trial.suggest_float(name, rng.min_value, rng.max_value, log=True)
            elif rng.scaling == "ReverseLogarithmic":
                gap = trial.suggest_float(
                    f"{name}__one_minus", 1 - rng.max_value, 1 - rng.min_value, log=True
                )
                out[name] = min(rng.max_value, max(rng.min_value, 1 - gap))
            else:
                out[name] = trial.suggest_float(name, rng.min_value, rng.max_value)
        else:
            out[name] = trial.suggest_int(
                name, rng.min_value, rng.max_value, log=rng.scaling == "Logarithmic"
            )
    return out


def make_study(spec: Any) -> Any:
    """The optuna study for a tuning spec (sampler by strategy, pruner by early stopping)."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    seed = spec.seed
    if spec.strategy == "Random":
        sampler: Any = optuna.samplers.RandomSampler(seed=seed)
    elif spec.strategy == "Grid":
        # every grid point is enqueued in order (optuna's GridSampler stops the study by
        # itself, which ask-and-tell does not allow)
        sampler = optuna.samplers.RandomSampler(seed=seed)
    else:
        sampler = optuna.samplers.TPESampler(
            seed=seed, n_startup_trials=min(5, max(2, spec.total_jobs // 4)), multivariate=True
        )
    pruner: Any = (
        optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=2)
        if spec.early_stopping == "Auto"
        else optuna.pruners.NopPruner()
    )
    direction = "minimize" if spec.objective_type == "Minimize" else "maximize"
    study = optuna.create_study(direction=direction, sampler=sampler, pruner=pruner)
    if spec.strategy == "Grid":
        for point in spec.grid[: spec.total_jobs]:
            study.enqueue_trial(point)
    return study


def _series(jobdir: Path, metric: str) -> list[float]:
    path = jobdir / "metrics.jsonl"
    if not path.is_file():
        return []
    out = []
    for line in path.read_text().splitlines():
        try:
            rec = json.loads(line)
        except ValueError:
            continue
        if rec.get("name") == metric:
            out.append(float(rec["value"]))
    return out


class _Tuner:
    def __init__(self, root: Path, name: str) -> None:
        from smkit.backends.local.catalog import LocalCatalog
        from smkit.backends.local.store import LocalStore

        self.root = root
        self.name = name
        self.catalog = LocalCatalog(root / "catalog.db", timeout=30.0)
        self.store = LocalStore(root / "s3")
        self.data = self.catalog.describe(KIND, name).data
        with open(Path(self.data["WorkDir"]) / "spec.pkl", "rb") as fh:
            self.spec = pickle.load(fh)
        self.summaries: list[dict[str, Any]] = []
        self.best: dict[str, Any] | None = None

    # the bits of LocalBackend that jobs.submit uses
    def default_bucket(self) -> str:
        return "smkit"

    def work_dir(self, *parts: str) -> Path:
        path = self.root.joinpath(*parts)
        path.mkdir(parents=True, exist_ok=True)
        return path

    def stopping(self) -> bool:
        return self.catalog.describe(KIND, self.name).status == "Stopping"

    def run(self) -> None:
        import optuna

        spec = self.spec
        study = make_study(spec)
        # a tuning job's TrainingJobDefinition has no profiler on SageMaker either
        training = spec.training_spec.evolve(profiler=None)
        total = spec.total_jobs
        parallel = int(self.data["MaxParallelLocal"])
        metric = spec.objective_metric
        running: dict[str, dict[str, Any]] = {}
        launched = 0
        failure: str | None = None
        while (launched < total or running) and failure is None:
            stopping = self.stopping()
            while not stopping and len(running) < parallel and launched < total:
                trial = study.ask()
                hps = _suggest(trial, spec.ranges)
                spec.check(hps)
                launched += 1
                job = f"{self.name}-{launched:03d}-{uuid.uuid4().hex[:8]}"
                try:
                    jobs.submit(
                        self,
                        training.with_hyperparameters(**hps),
                        name=job,
                        tuning_job_arn=self.data["HyperParameterTuningJobArn"],
                    )
                except Exception as exc:  # a spec that cannot even start: stop tuning
                    failure = f"could not start training job {job}: {exc}"
                    study.tell(trial, state=optuna.trial.TrialState.FAIL)
                    break
                summary = {
                    "TrainingJobName": job,
                    "TrainingJobArn": sagemaker_arn("training-job", job),
                    "TuningJobName": self.name,
                    "CreationTime": now_iso(),
                    "TrainingJobStatus": "InProgress",
                    "TunedHyperParameters": {k: str(v) for k, v in hps.items()},
                    "ObjectiveStatus": "Pending",
                }
                self.summaries.append(summary)
                running[job] = {"trial": trial, "summary": summary, "steps": 0, "pruned": False}
            time.sleep(0.2)
            for job, state in list(running.items()):
                res = jobs.reconcile(self.catalog, job)
                jobdir = Path(res.data["JobDir"])
                values = _series(jobdir, metric)
                trial = state["trial"]
                for step in range(state["steps"], len(values)):
                    if math.isfinite(values[step]):
                        trial.report(values[step], step)
                state["steps"] = len(values)
                if stopping and res.status == "InProgress":
                    jobs.stop(self.catalog, job)
                elif (
                    res.status == "InProgress"
                    and not state["pruned"]
                    and spec.early_stopping == "Auto"
                    and values
                    and trial.should_prune()
                ):
                    state["pruned"] = True
                    jobs.stop(self.catalog, job)
                if res.status in ("Completed", "Failed", "Stopped"):
                    self._finish(study, state, res, values)
                    del running[job]
                else:
                    state["summary"]["TrainingJobStatus"] = res.status
            self._save()
        status = "Stopped" if self.stopping() else "Completed"
        if failure is not None:
            status = "Failed"
        self._save(final=status, failure=failure)

    def _finish(self, study: Any, state: dict[str, Any], res: Any, values: list[float]) -> None:
        import optuna

        summary = state["summary"]
        summary["TrainingJobStatus"] = res.status
        summary["TrainingStartTime"] = res.data.get("TrainingStartTime")
        summary["TrainingEndTime"] = res.data.get("TrainingEndTime")
        if res.status == "Failed":
            summary["FailureReason"] = res.data.get("FailureReason", "")[:1024]
        value = values[-1] if values and math.isfinite(values[-1]) else None
        trial = state["trial"]
        if value is None:
            summary["ObjectiveStatus"] = "Failed"
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
            return
        summary["ObjectiveStatus"] = "Succeeded"
        summary["FinalHyperParameterTuningJobObjectiveMetric"] = {
            "MetricName": self.spec.objective_metric,
            "Value": value,
        }
        if state["pruned"]:
            summary["EarlyStopped"] = True
            study.tell(trial, state=optuna.trial.TrialState.PRUNED)
        else:
            study.tell(trial, value)
        if self.best is None or self.spec.better(
            value, self.best["FinalHyperParameterTuningJobObjectiveMetric"]["Value"]
        ):
            self.best = dict(summary)

    def _save(self, final: str | None = None, failure: str | None = None) -> None:
        objective = {"Succeeded": 0, "Pending": 0, "Failed": 0}
        for s in self.summaries:
            objective[s["ObjectiveStatus"]] += 1
        fields: dict[str, Any] = {
            "TrainingJobSummaries": self.summaries,
            "TrainingJobStatusCounters": _counters(self.summaries),
            "ObjectiveStatusCounters": objective,
            "LastModifiedTime": now_iso(),
        }
        if self.best is not None:
            fields["BestTrainingJob"] = self.best
        if final is not None:
            fields["HyperParameterTuningJobStatus"] = final
            fields["HyperParameterTuningEndTime"] = now_iso()
            if failure:
                fields["FailureReason"] = failure
            current = self.catalog.describe(KIND, self.name).status
            if current == "Stopping" and final == "Completed":
                final = "Stopped"
                fields["HyperParameterTuningJobStatus"] = final
            self.catalog.update(KIND, self.name, status=final, message=failure, **fields)
        else:
            self.catalog.update(KIND, self.name, **fields)


def run_supervisor(root: str | Path, name: str) -> int:
    """Run one tuning job to its end (the supervisor process's body)."""
    tuner = _Tuner(Path(root), name)

    def _on_term(signum: int, frame: Any) -> None:
        tuner.catalog.update(
            KIND, name, status="Stopping", HyperParameterTuningJobStatus="Stopping"
        )

    signal.signal(signal.SIGTERM, _on_term)
    try:
        tuner.run()
    except Exception as exc:
        tuner._save(final="Failed", failure=f"{type(exc).__name__}: {exc}")
        raise
    return 0


if __name__ == "__main__":
    sys.exit(run_supervisor(sys.argv[1], sys.argv[2]))
