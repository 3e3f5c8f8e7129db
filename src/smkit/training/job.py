"""Handles of running and finished training and tuning jobs (any backend).

A handle holds the backend and the job's name; every property reads the backend's current
record (``DescribeTrainingJob`` / ``DescribeHyperParameterTuningJob`` shaped), so a handle
made in one process sees what a job started by another did.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from smkit.errors import ResourceFailedError, SmkitTimeoutError

if TYPE_CHECKING:
    from smkit.backends._protocol import TrainingBackend
    from smkit.serving import ModelSpec
    from smkit.training.spec import TrainingSpec
    from smkit.training.tuning import TuningSpec

__all__ = ["TERMINAL", "TrainingJob", "TuningJob"]

#: Job statuses that do not change any more.
TERMINAL = ("Completed", "Failed", "Stopped")


def _delays(backend: TrainingBackend) -> Any:
    attempt = 0
    while True:
        yield backend.job_poll_delay(attempt)
        attempt += 1


class _Progress:
    """Log lines to stdout and one progress line to stderr while a job runs."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.start = time.monotonic()
        self.tty = sys.stderr.isatty()
        self.last_status = ""
        self.last_print = 0.0

    def line(self, text: str) -> None:
        if self.tty:
            sys.stderr.write("\r\x1b[K")
        sys.stdout.write(text + "\n")
        sys.stdout.flush()

    def update(self, record: dict[str, Any], status: str) -> None:
        secondary = record.get("SecondaryStatus", status)
        elapsed = time.monotonic() - self.start
        text = f"[{self.name}] {status}/{secondary} {elapsed:5.1f}s"
        if self.tty:
            sys.stderr.write("\r\x1b[K" + text)
            sys.stderr.flush()
        elif secondary != self.last_status or elapsed - self.last_print > 30:
            sys.stderr.write(text + "\n")
            self.last_print = elapsed
        self.last_status = secondary

    def done(self) -> None:
        if self.tty:
            sys.stderr.write("\n")


class TrainingJob:
    """A training job on a backend.

    Attributes:
        backend: The backend that runs it.
        name: The job name.
        spec: The spec it was started from (``None`` for a handle made from a name).
    """

    def __init__(
        self, backend: TrainingBackend, name: str, spec: TrainingSpec | None = None
    ) -> None:
        self.backend = backend
        self.name = name
        self.spec = spec

    def __repr__(self) -> str:
        return f"TrainingJob(name={self.name!r}, backend={self.backend.name!r})"

    def describe(self) -> dict[str, Any]:
        """The DescribeTrainingJob-shaped record."""
        return dict(self.backend.describe_training_job(self.name))

    @property
    def status(self) -> str:
        """``InProgress``, ``Completed``, ``Failed``, ``Stopping`` or ``Stopped``."""
        return str(self.describe()["TrainingJobStatus"])

    @property
    def failure_reason(self) -> str | None:
        """Why the job failed (``None`` unless it did)."""
        return self.describe().get("FailureReason")

    def wait(self, timeout: float | None = None, *, logs: bool = False) -> TrainingJob:
        """Block until the job ends.

        Args:
            timeout: Seconds to wait at most (``None``: no limit).
            logs: Stream the job's log lines to stdout with a progress line on stderr.

        Returns:
            ``self``.

        Raises:
            ResourceFailedError: the job ended ``Failed`` (``.context['reason']``).
            SmkitTimeoutError: still running after ``timeout`` seconds.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        progress = _Progress(self.name) if logs else None
        follower = None
        if progress is not None:
            follower = self.backend.follow_training_job(self.name, progress.line)
        try:
            for delay in _delays(self.backend):
                record = self.describe()
                status = record["TrainingJobStatus"]
                if follower is not None:
                    follower()
                if progress is not None:
                    progress.update(record, status)
                if status in TERMINAL:
                    break
                if deadline is not None and time.monotonic() >= deadline:
                    raise SmkitTimeoutError(
                        f"training job {self.name!r} still {status} after {timeout:g}s",
                        hint="wait longer, or stop it with job.stop()",
                        name=self.name,
                    )
                time.sleep(
                    delay if deadline is None else max(0.0, min(delay, deadline - time.monotonic()))
                )
        finally:
            if progress is not None:
                progress.done()
        if status == "Failed":
            reason = record.get("FailureReason", "unknown reason")
            raise ResourceFailedError(
                f"training job {self.name!r} failed: {reason}",
                hint=f"see its logs: smkit jobs logs {self.name}",
                name=self.name,
                reason=reason,
            )
        return self

    def stop(self) -> None:
        """Ask the job to stop (it ends ``Stopped``)."""
        self.backend.stop_training_job(self.name)

    @property
    def model_data(self) -> str:
        """``s3://`` URI of the job's ``model.tar.gz``."""
        record = self.describe()
        uri = record.get("ModelArtifacts", {}).get("S3ModelArtifacts")
        if not uri:
            from smkit.errors import OrderError

            raise OrderError(
                f"training job {self.name!r} has no model artifact yet "
                f"(status {record['TrainingJobStatus']})",
                hint="call job.wait() first",
            )
        return str(uri)

    @property
    def output_data(self) -> str | None:
        """``s3://`` URI of ``output.tar.gz`` (``output/data`` of the job), if any."""
        record = self.describe()
        uri = record.get("OutputArtifacts", {}).get("S3OutputArtifacts")
        if uri:
            return str(uri)
        model = record.get("ModelArtifacts", {}).get("S3ModelArtifacts")
        return str(model).replace("model.tar.gz", "output.tar.gz") if model else None

    @property
    def metrics(self) -> dict[str, float]:
        """Final value of each metric (the last value its regex captured)."""
        return {
            m["MetricName"]: float(m["Value"])
            for m in self.describe().get("FinalMetricDataList", [])
        }

    @property
    def hyperparameters(self) -> dict[str, Any]:
        """The job's hyperparameters (decoded; the SDK's ``sagemaker_*`` keys left out)."""
        from smkit.training.contract import decode_hyperparameters

        hps = decode_hyperparameters(self.describe().get("HyperParameters", {}))
        return {k: v for k, v in hps.items() if not k.startswith("sagemaker_")}

    @property
    def rule_statuses(self) -> dict[str, str]:
        """Debugger rule -> ``InProgress``/``NoIssuesFound``/``IssuesFound``/``Error``."""
        record = self.describe()
        statuses = {
            s["RuleConfigurationName"]: s["RuleEvaluationStatus"]
            for s in record.get("DebugRuleEvaluationStatuses", [])
        }
        for cfg in record.get("DebugRuleConfigurations", []):
            statuses.setdefault(cfg["RuleConfigurationName"], "InProgress")
        return statuses

    @property
    def profile(self) -> dict[str, Any] | None:
        """The profiler's ``system_metrics.json`` content (local backend), else ``None``."""
        report = self.describe().get("ProfilerReport")
        if not report:
            return None
        path = Path(report) / "system_metrics.json"
        if not path.is_file():
            return None
        import json

        return dict(json.loads(path.read_text()))

    def logs(self) -> str:
        """The job's log text (stdout and stderr of the script, and smkit's own lines)."""
        return str(self.backend.training_job_logs(self.name))

    def model(self, **overrides: Any) -> ModelSpec:
        """A ``ModelSpec`` of the trained model, ready for ``session.deploy``.

        Framework, version, entry point and source dir come from the training spec (or the
        job's record); ``sha256`` is the artifact's checksum recorded at training time;
        ``vpc_config`` and ``enable_network_isolation`` carry over from training.

        Args:
            **overrides: ``ModelSpec`` fields to set instead (``entry_point=``, ``env=``...).
        """
        from smkit.serving import ModelSpec

        record = self.describe()
        spec = self.spec
        framework = (
            spec.effective_framework if spec is not None else record.get("Framework")
        ) or "custom"
        fields: dict[str, Any] = {
            "model_data": self.model_data,
            "framework": framework,
            "framework_version": (
                spec.effective_version if spec is not None else record.get("FrameworkVersion")
            ),
            # the record's paths were made absolute at submission (local backend): they hold
            # from any working directory, where a relative spec.source_dir does not
            "entry_point": record.get("UserEntryPoint")
            or (spec.entry_point if spec is not None else None),
            "source_dir": record.get("UserSourceDir")
            or (spec.source_dir if spec is not None else None),
            "image_uri": spec.image_uri if spec is not None else record.get("ImageUri"),
            "sha256": record.get("ModelArtifactSha256"),
        }
        # the network settings the model was trained under carry over to serving it
        vpc = spec.vpc_config if spec is not None else record.get("VpcConfig")
        if vpc:
            fields["vpc_config"] = vpc
        isolated = (
            spec.enable_network_isolation
            if spec is not None
            else record.get("EnableNetworkIsolation")
        )
        if isolated:
            fields["enable_network_isolation"] = True
        if fields["entry_point"] and fields["source_dir"] is None:
            fields["entry_point"] = str(Path(fields["entry_point"]).expanduser().resolve())
        fields.update(overrides)
        return ModelSpec(**fields)


class TuningJob:
    """A hyperparameter tuning job on a backend.

    Attributes:
        backend: The backend that runs it.
        name: The tuning job name.
        spec: The spec it was started from (``None`` for a handle made from a name).
    """

    def __init__(self, backend: TrainingBackend, name: str, spec: TuningSpec | None = None) -> None:
        self.backend = backend
        self.name = name
        self.spec = spec

    def __repr__(self) -> str:
        return f"TuningJob(name={self.name!r}, backend={self.backend.name!r})"

    def describe(self) -> dict[str, Any]:
        """The DescribeHyperParameterTuningJob-shaped record."""
        return dict(self.backend.describe_tuning_job(self.name))

    @property
    def status(self) -> str:
        """``InProgress``, ``Completed``, ``Failed``, ``Stopping`` or ``Stopped``."""
        return str(self.describe()["HyperParameterTuningJobStatus"])

    def wait(self, timeout: float | None = None) -> TuningJob:
        """Block until the tuning job ends.

        Raises:
            ResourceFailedError: it ended ``Failed``.
            SmkitTimeoutError: still running after ``timeout`` seconds.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        for delay in _delays(self.backend):
            record = self.describe()
            status = record["HyperParameterTuningJobStatus"]
            if status in TERMINAL:
                break
            if deadline is not None and time.monotonic() >= deadline:
                raise SmkitTimeoutError(
                    f"tuning job {self.name!r} still {status} after {timeout:g}s",
                    hint="wait longer, or stop it with tuning.stop()",
                    name=self.name,
                )
            time.sleep(delay)
        if status == "Failed":
            reason = record.get("FailureReason", "unknown reason")
            raise ResourceFailedError(
                f"tuning job {self.name!r} failed: {reason}", name=self.name, reason=reason
            )
        return self

    def stop(self) -> None:
        """Stop the tuning job and its running training jobs."""
        self.backend.stop_tuning_job(self.name)

    def trials(self) -> list[dict[str, Any]]:
        """One row per training job (ListTrainingJobsForHyperParameterTuningJob shape)."""
        return list(self.backend.tuning_job_trials(self.name))

    def table(self) -> list[dict[str, Any]]:
        """Flat rows: trial number, job name, status, objective, and each tuned value."""
        rows = []
        for i, t in enumerate(
            sorted(self.trials(), key=lambda t: str(t.get("CreationTime", ""))), 1
        ):
            obj = t.get("FinalHyperParameterTuningJobObjectiveMetric") or {}
            rows.append(
                {
                    "trial": i,
                    "job": t["TrainingJobName"],
                    "status": t["TrainingJobStatus"],
                    "objective": obj.get("Value"),
                    **{k: v for k, v in t.get("TunedHyperParameters", {}).items()},
                }
            )
        return rows

    @property
    def best_job(self) -> TrainingJob:
        """The training job with the best objective.

        Raises:
            ResourceNotFoundError: no trial reported the objective.
        """
        best = self.describe().get("BestTrainingJob")
        if not best:
            from smkit.errors import ResourceNotFoundError

            raise ResourceNotFoundError(
                f"tuning job {self.name!r} has no best training job (no trial reported the "
                "objective metric)",
                hint="check the objective's metric regex against a trial's logs",
            )
        training = self.spec.training_spec if self.spec is not None else None
        return TrainingJob(self.backend, best["TrainingJobName"], training)

    @property
    def best_objective(self) -> float | None:
        """The best objective value, or ``None``."""
        best = self.describe().get("BestTrainingJob") or {}
        metric = best.get("FinalHyperParameterTuningJobObjectiveMetric") or {}
        return metric.get("Value")

    def plot(self, path: str | Path) -> Path:
        """Save a PNG of the objective per trial (and the best so far)."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        rows = self.table()
        record = self.describe()
        config = record.get("HyperParameterTuningJobConfig", {})
        objective = config.get("HyperParameterTuningJobObjective", {})
        minimize = objective.get("Type", "Minimize") == "Minimize"
        xs = [r["trial"] for r in rows if r["objective"] is not None]
        ys = [float(r["objective"]) for r in rows if r["objective"] is not None]
        best: list[float] = []
        for y in ys:
            best.append(y if not best else (min if minimize else max)(best[-1], y))
        fig, ax = plt.subplots(figsize=(6, 3.5), constrained_layout=True)
        ax.scatter(xs, ys, label="trial objective")
        ax.step(xs, best, where="post", color="tab:orange", label="best so far")
        ax.set_xlabel("trial")
        ax.set_ylabel(objective.get("MetricName", "objective"))
        ax.set_title(self.name)
        ax.legend()
        out = Path(path)
        out.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(out, dpi=80)
        plt.close(fig)
        return out
