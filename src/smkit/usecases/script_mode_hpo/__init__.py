"""``script-mode-hpo``: script mode, hyperparameter tuning, Debugger, Profiler, a custom image.

The flow, end to end:

1. generate a synthetic tabular regression set (`make_regression_frame`: a smooth
   non-linear target of a few features plus noise) and stage it with ``session.stage`` into
   ``train`` / ``validation`` / ``test`` channels (CSV with a header, target first);
2. tune ``scripts/train.py`` (a plain SageMaker PyTorch script: argparse hyperparameters,
   ``SM_*`` environment, prints ``val_loss=...`` per epoch) with ``session.tune`` over the
   learning rate (log scale), the batch size (log scale) and the number of epochs, minimising
   the last ``val_loss`` the objective regex reads from each trial's log; four Debugger rules
   (``loss_not_decreasing``, ``overfit``, ``vanishing_gradient``, ``exploding_tensor``) on every
   trial; at most ``min(max_parallel_jobs, CPU count)`` trials at once locally;
3. train the best trial's hyperparameters once more with the same rules and the Profiler
   (SageMaker's tuning API takes neither Debugger rules nor a profiler in a
   ``TrainingJobDefinition``, so the profiled run is a training job of its own, on both
   backends; the local backend also evaluates the rules on every trial);
4. write a custom-container build context extending SageMaker's PyTorch training image for the
   same code (`smkit.training.images`) and run that code once through the local training
   contract (``images.check``) before anyone builds it;
5. write ``tuning.csv`` (every trial, its hyperparameters and objective), ``rules.json``
   (rule statuses per job), ``profiler.json`` + ``profiler.png`` (per-step time, CPU,
   memory), ``image/Dockerfile`` (+ ``image/code/``) and the report: objective per trial,
   best trial, rules table, profiler plots.

The code shipped to the jobs is ``scripts/`` plus ``smkit_hook.py``, a copy of
`smkit.training.hook` (standard library only), so the script records Debugger data in a
container where smkit is not installed; without it the script still trains (recording off).
"""

from __future__ import annotations

import csv
import json
import math
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import attrs

from smkit.backends import Capability
from smkit.errors import ConfigError
from smkit.report import Report
from smkit.usecases._base import UseCaseConfig

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "OBJECTIVE_REGEX",
    "RULE_PARAMETERS",
    "SCRIPTS_DIR",
    "ScriptModeHpo",
    "ScriptModeHpoConfig",
    "make_regression_frame",
    "prepare_code",
]

#: Directory of the training script.
SCRIPTS_DIR = Path(__file__).resolve().parent / "scripts"

#: The objective: the number after ``val_loss=`` in a trial's log (the last one counts).
OBJECTIVE_REGEX = r"val_loss=([-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)"

_METRICS = {
    "train:loss": r"train_loss=([-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)",
    "test:loss": r"test_loss=([-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)",
}

#: Debugger rules and their parameters. The script records one train and one eval ``loss``
#: per epoch, so the windows are counted in epochs: ``loss_not_decreasing`` compares the mean
#: training loss of consecutive 2-epoch windows; ``overfit`` fires when the validation loss
#: exceeds the training loss by more than 30% for 2 epochs in a row.
RULE_PARAMETERS: dict[str, dict[str, Any]] = {
    "loss_not_decreasing": {"num_steps": 2, "diff_percent": 0.0, "mode": "train"},
    "overfit": {"num_steps": 1, "ratio_threshold": 0.3, "patience": 2},
    "vanishing_gradient": {"threshold": 1e-7},
    "exploding_tensor": {"only_nan": False},
}

_QUICK = {"rows": 600, "max_jobs": 4, "epochs_min": 2, "epochs_max": 6}
_FULL = {"rows": 4000, "max_jobs": 12, "epochs_min": 5, "epochs_max": 30}


def _positive_or_none(inst: Any, attr: attrs.Attribute, value: Any) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise ConfigError(f"script-mode-hpo setting {attr.name}={value!r} must be an integer >= 1")


def _positive(inst: Any, attr: attrs.Attribute, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise ConfigError(f"script-mode-hpo setting {attr.name}={value!r} must be > 0")


@attrs.define
class ScriptModeHpoConfig(UseCaseConfig):
    """Settings of ``script-mode-hpo``.

    Settings left at ``None`` take the quick or the full run's value (quick: 600 rows,
    4 trials, 2-6 epochs; full: 4,000 rows, 12 trials, 5-30 epochs).

    Attributes:
        rows: Rows of the synthetic data set (60% train, 20% validation, 20% test).
        features: Feature columns (at least 4; the target uses the first four).
        noise: Standard deviation of the target's noise.
        max_jobs: Trials of the tuning job.
        max_parallel_jobs: Trials at once (the local backend also caps it at the CPU count).
        strategy: ``Bayesian`` or ``Random``.
        lr_min: Lower bound of the learning rate (log scale).
        lr_max: Upper bound of the learning rate (log scale).
        batch_min: Smallest batch size (log scale).
        batch_max: Largest batch size (log scale).
        epochs_min: Fewest epochs.
        epochs_max: Most epochs.
        hidden: Width of the MLP's two hidden layers (a static hyperparameter).
        profiler_interval_ms: Sampling interval of the profiled run (100, 200, 500, 1000...).
        check_image: Run the custom image's code through the local contract.
        seed: Seed of the data, the search and the training.
        prefix: ``s3://`` prefix of the staged data (default
            ``s3://<default bucket>/script-mode-hpo/``).
        framework_version: PyTorch version of the training image.
        instance_type: Training instance type on AWS.
        timeout: Seconds to wait for the tuning job (and again for each other job).
    """

    rows: int | None = attrs.field(default=None, validator=_positive_or_none)
    features: int = 8
    noise: float = 0.3
    max_jobs: int | None = attrs.field(default=None, validator=_positive_or_none)
    max_parallel_jobs: int = attrs.field(default=2, validator=_positive_or_none)
    strategy: str = "Bayesian"
    lr_min: float = attrs.field(default=1e-4, validator=_positive)
    lr_max: float = attrs.field(default=0.3, validator=_positive)
    batch_min: int = attrs.field(default=16, validator=_positive_or_none)
    batch_max: int = attrs.field(default=256, validator=_positive_or_none)
    epochs_min: int | None = attrs.field(default=None, validator=_positive_or_none)
    epochs_max: int | None = attrs.field(default=None, validator=_positive_or_none)
    hidden: int = attrs.field(default=64, validator=_positive_or_none)
    profiler_interval_ms: int = 200
    check_image: bool = True
    seed: int = 0
    prefix: str | None = None
    framework_version: str = "2.1"
    instance_type: str = "ml.m5.xlarge"
    timeout: float = attrs.field(default=1800.0, validator=_positive)

    def __attrs_post_init__(self) -> None:
        if self.features < 4:
            raise ConfigError(f"script-mode-hpo features={self.features!r} must be >= 4")
        if self.noise < 0:
            raise ConfigError(f"script-mode-hpo noise={self.noise!r} must be >= 0")
        if self.strategy not in ("Bayesian", "Random"):
            raise ConfigError(
                f"script-mode-hpo strategy={self.strategy!r}: use Bayesian or Random "
                "(Grid takes categorical ranges only)"
            )
        if self.lr_min >= self.lr_max:
            raise ConfigError(f"lr_min {self.lr_min!r} must be < lr_max {self.lr_max!r}")
        if self.batch_min > self.batch_max:
            raise ConfigError(f"batch_min {self.batch_min!r} must be <= batch_max")
        if self.size("epochs_min") > self.size("epochs_max"):
            raise ConfigError(
                f"epochs_min {self.size('epochs_min')} must be <= epochs_max "
                f"{self.size('epochs_max')}"
            )
        if self.prefix is not None and not self.prefix.startswith("s3://"):
            raise ConfigError(f"prefix {self.prefix!r} must be an s3:// URI")

    def size(self, key: str) -> int:
        """The effective value of ``rows``, ``max_jobs``, ``epochs_min`` or ``epochs_max``."""
        value = getattr(self, key)
        if value is not None:
            return int(value)
        return (_QUICK if self.quick else _FULL)[key]


def make_regression_frame(
    rows: int, *, features: int = 8, noise: float = 0.3, seed: int = 0
) -> pd.DataFrame:
    """A synthetic regression table: ``y`` first, then ``x0 .. x{features-1}``.

    ``y = sin(2·x0) + x1·x2 + 0.5·x3² + 0.3·x4 + noise·ε`` with standard normal features and
    ε (features beyond the fifth are pure distractors), so a linear model leaves most of the
    variance and a small MLP can take it down to the noise.

    Returns:
        A pandas DataFrame.
    """
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    x = rng.standard_normal((rows, features))
    y = np.sin(2 * x[:, 0]) + x[:, 1] * x[:, 2] + 0.5 * x[:, 3] ** 2
    if features > 4:
        y = y + 0.3 * x[:, 4]
    y = y + noise * rng.standard_normal(rows)
    frame = pd.DataFrame(x.round(5), columns=[f"x{i}" for i in range(features)])
    frame.insert(0, "y", y.round(5))
    return frame


def prepare_code(directory: str | Path) -> Path:
    """Copy ``scripts/`` and the Debugger hook (as ``smkit_hook.py``) into ``directory``.

    The result is the code the jobs run and the custom image copies: self-contained, so the
    script records Debugger data where smkit is not installed.
    """
    from smkit.training import hook

    out = Path(directory)
    if out.exists():
        shutil.rmtree(out)
    shutil.copytree(SCRIPTS_DIR, out, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy2(Path(hook.__file__), out / "smkit_hook.py")
    return out


def _number(text: Any) -> Any:
    try:
        value = float(text)
    except (TypeError, ValueError):
        return text
    return int(value) if value.is_integer() and "." not in str(text) else value


def _midpoints(ranges: dict[str, Any]) -> dict[str, Any]:
    """The centre of each range (geometric for log scales): the plan's stand-in for the best."""
    from smkit.training import ContinuousParameter

    out: dict[str, Any] = {}
    for name, rng in ranges.items():
        lo, hi = rng.min_value, rng.max_value
        mid = math.sqrt(lo * hi) if rng.scaling == "Logarithmic" else (lo + hi) / 2
        value = float(f"{mid:.4g}") if isinstance(rng, ContinuousParameter) else round(mid)
        out[name] = min(max(value, lo), hi)
    return out


class ScriptModeHpo:
    """Tune a PyTorch script with Debugger rules, profile the best trial, build its image."""

    name: ClassVar[str] = "script-mode-hpo"
    description: ClassVar[str] = (
        "Tune a PyTorch script-mode job (Debugger rules, Profiler) and write its custom image"
    )
    Config: ClassVar[type] = ScriptModeHpoConfig

    def run(self, session: Any, config: ScriptModeHpoConfig, out_dir: Path) -> Report:
        """Run the flow (see the module docstring); returns the report."""
        from smkit.staging import RandomSplit, StagingSpec
        from smkit.training import (
            ContinuousParameter,
            DebuggerRule,
            IntegerParameter,
            ProfilerSpec,
            TrainingJob,
            TrainingSpec,
            TuningSpec,
        )

        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        plan = session.plan_mode
        local = session.supports(Capability.LOCAL_FILES)
        report = Report(
            name=self.name, title="Script-mode tuning with Debugger rules and the Profiler"
        )
        report.details["config"] = attrs.asdict(config)
        prefix = (config.prefix or f"s3://{session.default_bucket()}/script-mode-hpo/").rstrip("/")

        # 1. data
        with report.timer("generate"):
            frame = make_regression_frame(
                config.size("rows"), features=config.features, noise=config.noise, seed=config.seed
            )
        with report.timer("stage"):
            staged = session.stage(
                StagingSpec(
                    source=frame,
                    label="y",
                    split=RandomSplit(validation=0.2, test=0.2, seed=config.seed),
                    header=True,
                    label_first=True,
                    destination=f"{prefix}/data/",
                    name="regression",
                )
            )
        report.metrics["rows"] = dict(staged.rows)
        report.artifacts.update({f"channel_{k}": v for k, v in staged.channels.items()})
        code_dir = prepare_code(out_dir / "code")
        report.artifacts["code"] = str(code_dir)

        # 2. tuning
        training = TrainingSpec(
            entry_point="train.py",
            source_dir=str(code_dir),
            framework="pytorch",
            framework_version=config.framework_version,
            hyperparameters={
                "hidden": config.hidden,
                "grad-every": 5,
                "num-threads": 1,
                "seed": config.seed,
            },
            inputs={
                "train": staged.channels["train"],
                "validation": staged.channels["validation"],
            },
            instance_type=config.instance_type,
            metric_definitions=_METRICS,
            rules=[DebuggerRule(name, params) for name, params in RULE_PARAMETERS.items()],
            profiler=ProfilerSpec(interval_ms=config.profiler_interval_ms),
            base_job_name="script-mode-hpo",
            max_runtime=int(config.timeout),
        )
        parallel = config.max_parallel_jobs
        if local:
            parallel = max(1, min(parallel, os.cpu_count() or 1))
        tuning_spec = TuningSpec(
            training=training,
            ranges={
                "lr": ContinuousParameter(config.lr_min, config.lr_max, "Logarithmic"),
                "batch-size": IntegerParameter(config.batch_min, config.batch_max, "Logarithmic"),
                "epochs": IntegerParameter(config.size("epochs_min"), config.size("epochs_max")),
            },
            objective_metric="validation:loss",
            objective_regex=OBJECTIVE_REGEX,
            objective_type="Minimize",
            strategy=config.strategy,
            max_jobs=config.size("max_jobs"),
            max_parallel_jobs=parallel,
            seed=config.seed,
            base_job_name="smhpo",
        )
        report.details["max_parallel_jobs"] = parallel
        with report.timer("tune"):
            tuning = session.tune(tuning_spec)
            if not plan:
                tuning.wait(timeout=config.timeout)
        report.artifacts["tuning_job"] = tuning.name

        rules_doc: list[dict[str, Any]] = []
        best_hps: dict[str, Any]
        if plan:
            best_hps = _midpoints(tuning_spec.ranges)
            report.details["profiled_hyperparameters"] = "range midpoints (plan mode)"
        else:
            rows = self._write_tuning(tuning, out_dir, report)
            for row in rows:
                job = TrainingJob(session.backend, row["job"])
                rules_doc.append(_rules_of(job, role="trial", trial=row["trial"]))
            best = tuning.best_job
            best_hps = {k: v for k, v in best.hyperparameters.items() if k in tuning_spec.ranges}
            report.metrics["best_objective"] = tuning.best_objective
            report.metrics["best_hyperparameters"] = best_hps
            report.artifacts["best_trial"] = best.name

        # 3. the profiled run of the best hyperparameters (with the test channel)
        profiled_spec = training.evolve(
            hyperparameters={**training.hyperparameters, **best_hps},
            inputs={**training.inputs, "test": staged.channels["test"]},
            base_job_name="script-mode-hpo-best",
        )
        with report.timer("profiled_run"):
            job = session.train(profiled_spec)
            if not plan:
                job.wait(timeout=config.timeout)
        report.artifacts["profiled_job"] = job.name
        if not plan:
            rules_doc.append(_rules_of(job, role="profiled", trial=None))
            metrics = job.metrics
            if "test:loss" in metrics:
                report.metrics["test_loss"] = round(metrics["test:loss"], 5)
                report.metrics["test_r2"] = round(1.0 - metrics["test:loss"], 4)
            self._write_profile(job, out_dir, report)
            path = out_dir / "rules.json"
            path.write_text(json.dumps(rules_doc, indent=1) + "\n")
            report.artifacts["rules"] = str(path)
            _rules_section(rules_doc, report)

        # 4. the custom image, checked through the local contract
        self._write_image(session, config, code_dir, staged, frame, out_dir, report)
        if plan:
            report.add_text(
                "Plan",
                "Plan mode: the tuning job and the profiled training job are recorded, not "
                "run. The profiled job uses each range's midpoint in place of the best "
                f"trial's values: {best_hps}.",
            )
        return report

    # -- outputs -----------------------------------------------------------------------------
    def _write_tuning(self, tuning: Any, out_dir: Path, report: Report) -> list[dict[str, Any]]:
        record = tuning.describe()
        rows = []
        for row in tuning.table():
            row = {k: _number(v) if k not in ("job", "status") else v for k, v in row.items()}
            rows.append(row)
        names = ["trial", "job", "status", "objective", "lr", "batch-size", "epochs"]
        names += sorted({k for r in rows for k in r} - set(names))
        path = out_dir / "tuning.csv"
        with open(path, "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=names)
            writer.writeheader()
            for r in rows:
                writer.writerow({k: r.get(k, "") for k in names})
        report.artifacts["tuning_csv"] = str(path)
        counters = record.get("TrainingJobStatusCounters", {})
        report.metrics["trials"] = len(rows)
        report.metrics["trials_completed"] = counters.get("Completed", 0)
        report.metrics["objective_failed"] = record.get("ObjectiveStatusCounters", {}).get(
            "Failed", 0
        )
        report.metrics["tuning_status"] = record.get("HyperParameterTuningJobStatus")
        if any(r.get("objective") is not None for r in rows):
            plot = tuning.plot(out_dir / "tuning_objective.png")
            report.add_figure("Objective per trial (validation MSE)", plot, filename=plot.name)
        report.add_table(
            "Trials",
            [
                {
                    "trial": r["trial"],
                    "status": r["status"],
                    "val_loss": None if r.get("objective") is None else round(r["objective"], 5),
                    "lr": r.get("lr"),
                    "batch-size": r.get("batch-size"),
                    "epochs": r.get("epochs"),
                    "job": r["job"],
                }
                for r in rows
            ],
        )
        return rows

    def _write_profile(self, job: Any, out_dir: Path, report: Report) -> None:
        from smkit.training.profiler import plot_profile

        doc = job.profile
        path = out_dir / "profiler.json"
        if doc is None:  # AWS: the ProfilerReport rule's output is in S3
            record = job.describe()
            doc = {
                "job": job.name,
                "ProfilerConfig": record.get("ProfilerConfig"),
                "ProfilingStatus": record.get("ProfilingStatus"),
            }
            path.write_text(json.dumps(doc, indent=1) + "\n")
            report.artifacts["profiler"] = str(path)
            return
        doc = {"job": job.name, **doc}
        path.write_text(json.dumps(doc, indent=1) + "\n")
        report.artifacts["profiler"] = str(path)
        steps = doc.get("steps", {})
        summary = doc.get("summary", {})
        report.metrics["profiler"] = {
            "samples": summary.get("samples"),
            "steps": steps.get("count"),
            "step_mean_ms": round(1000 * steps["mean_s"], 3) if "mean_s" in steps else None,
            "step_p95_ms": round(1000 * steps["p95_s"], 3) if "p95_s" in steps else None,
            "cpu_percent_mean": summary.get("cpu_percent_mean"),
            "rss_mb_max": summary.get("rss_mb_max"),
        }
        if doc.get("samples"):
            plot = plot_profile(doc, out_dir / "profiler.png")
            report.artifacts["profiler_plot"] = str(plot)
            report.add_figure(
                "Profiler: CPU, memory and per-step time (best trial)",
                plot,
                filename=plot.name,
            )

    def _write_image(
        self,
        session: Any,
        config: ScriptModeHpoConfig,
        code_dir: Path,
        staged: Any,
        frame: Any,
        out_dir: Path,
        report: Report,
    ) -> None:
        from smkit.training import images

        region = getattr(session.backend, "region", None) or "us-east-1"
        with report.timer("image"):
            base = images.base_image(
                "pytorch",
                config.framework_version,
                region=region,
                instance_type=config.instance_type,
            )
            dockerfile = images.write_build_context(
                out_dir / "image", source_dir=code_dir, entry_point="train.py", base=base
            )
        report.artifacts["dockerfile"] = str(dockerfile)
        report.details["base_image"] = base
        report.add_code("Dockerfile", dockerfile.read_text())
        if not config.check_image:
            report.metrics["image_check"] = "skipped"
            return
        with report.timer("image_check"):
            status, job_name = _check_image(session, out_dir, staged, frame, config)
        report.metrics["image_check"] = status
        report.artifacts["image_check_job"] = job_name


def _check_image(
    session: Any, out_dir: Path, staged: Any, frame: Any, config: ScriptModeHpoConfig
) -> tuple[str, str]:
    """Run ``image/code`` through the local contract (a local session when on AWS)."""
    from smkit.training import images

    hps = {"epochs": 1, "batch-size": 64, "lr": 0.01, "hidden": 8, "num-threads": 1}
    code = out_dir / "image" / "code"
    if session.supports(Capability.LOCAL_FILES):
        inputs = {k: staged.channels[k] for k in ("train", "validation")}
        job = images.check(
            session,
            source_dir=code,
            entry_point="train.py",
            hyperparameters=hps,
            inputs=inputs,
            timeout=config.timeout,
        )
        return job.status, job.name
    # on AWS the data lives in S3: check against local copies on a local session of its own
    import smkit

    data = out_dir / "image-check" / "data"
    data.mkdir(parents=True, exist_ok=True)
    inputs = {}
    for channel, part in (("train", frame.iloc[:200]), ("validation", frame.iloc[200:300])):
        (data / channel).mkdir(exist_ok=True)
        part.to_csv(data / channel / f"{channel}.csv", index=False)
        inputs[channel] = str(data / channel)
    with smkit.Session("local", root=str(out_dir / "image-check" / "smkit")) as local:
        job = images.check(
            local,
            source_dir=code,
            entry_point="train.py",
            hyperparameters=hps,
            inputs=inputs,
            timeout=config.timeout,
        )
        return job.status, job.name


def _rules_of(job: Any, *, role: str, trial: int | None) -> dict[str, Any]:
    record = job.describe()
    statuses = {
        s["RuleConfigurationName"]: {
            "status": s["RuleEvaluationStatus"],
            "details": s.get("StatusDetails", ""),
        }
        for s in record.get("DebugRuleEvaluationStatuses", [])
    }
    return {
        "job": job.name,
        "role": role,
        "trial": trial,
        "training_status": record.get("TrainingJobStatus"),
        "rules": statuses,
    }


def _rules_section(rules_doc: list[dict[str, Any]], report: Report) -> None:
    names: list[str] = []
    for entry in rules_doc:
        names += [n for n in entry["rules"] if n not in names]
    rows = []
    issues = 0
    for entry in rules_doc:
        row: dict[str, Any] = {
            "job": entry["job"],
            "run": "best (profiled)" if entry["role"] == "profiled" else f"trial {entry['trial']}",
        }
        for n in names:
            status = entry["rules"].get(n, {}).get("status", "-")
            issues += status == "IssuesFound"
            row[n] = status
        rows.append(row)
    report.metrics["rule_issues"] = issues
    report.metrics["rule_evaluations"] = sum(len(e["rules"]) for e in rules_doc)
    report.add_table("Debugger rules", rows)
