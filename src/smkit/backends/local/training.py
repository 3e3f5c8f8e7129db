"""Local backend verbs for training: the ``backend.training`` component of
`smkit.backends.local.LocalBackend` (whose training methods delegate to it).

Jobs run as subprocesses under the SageMaker training-container contract
(`smkit.backends.local.jobs`); tuning jobs drive optuna over them
(`smkit.backends.local.tuning`). Records are DescribeTrainingJob /
DescribeHyperParameterTuningJob shaped; reading one reconciles it with its process, so a job
killed from outside shows ``Failed``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from smkit.ids import check_name

if TYPE_CHECKING:
    from smkit.backends.local import LocalBackend
    from smkit.training.job import TrainingJob, TuningJob
    from smkit.training.spec import TrainingSpec
    from smkit.training.tuning import TuningSpec

__all__ = ["LocalTraining"]


class LocalTraining:
    """Training verbs of the local backend, a component sharing the backend as its context.

    Args:
        backend: The backend whose ``root``, ``store`` and ``catalog`` it uses, and which the
            handles it returns call back.
    """

    def __init__(self, backend: LocalBackend) -> None:
        self.backend = backend

    @property
    def catalog(self) -> Any:
        """The backend's catalog."""
        return self.backend.catalog

    def job_poll_delay(self, attempt: int) -> float:
        """Fast polls first (local jobs start in milliseconds), then every 0.25 s."""
        return 0.1 if attempt < 20 else 0.25

    # -- training --------------------------------------------------------------------------
    def train(
        self, spec: TrainingSpec, *, name: str | None = None, wait: bool = False
    ) -> TrainingJob:
        """Start a training job (a subprocess) and return its handle.

        Args:
            spec: What to train.
            name: Job name (default: ``<prefix>-<timestamp>``).
            wait: Block until it ends (raising if it fails).

        Raises:
            SourceNotFoundError: entry point, source dir or channel data missing.
        """
        from smkit.backends.local import jobs
        from smkit.training.job import TrainingJob
        from smkit.training.spec import TrainingSpec

        if not isinstance(spec, TrainingSpec):
            from smkit.errors import ConfigError

            raise ConfigError(f"train() takes a TrainingSpec, got {type(spec).__name__}")
        if name is not None:
            check_name(name)
        job = TrainingJob(self.backend, jobs.submit(self.backend, spec, name=name), spec)
        return job.wait() if wait else job

    def training_job(self, name: str) -> TrainingJob:
        """A handle on an existing training job."""
        from smkit.backends.local import jobs
        from smkit.training.job import TrainingJob

        jobs.require_job(self.catalog, name)
        return TrainingJob(self.backend, name)

    def describe_training_job(self, name: str) -> dict[str, Any]:
        """The job's DescribeTrainingJob-shaped record (reconciled with its process)."""
        from smkit.backends.local import jobs

        jobs.require_job(self.catalog, name)
        return jobs.describe(self.catalog, name)

    def list_training_jobs(self, status: str | None = None) -> list[dict[str, Any]]:
        """Every training job's record, newest first (each reconciled)."""
        from smkit.backends.local import jobs

        out = []
        for res in self.catalog.list(jobs.KIND):
            data = (
                jobs.describe(self.catalog, res.name)
                if res.status in jobs.ACTIVE
                else {
                    **res.data,
                    "TrainingJobStatus": res.status,
                }
            )
            if status is None or data["TrainingJobStatus"] == status:
                out.append(data)
        return out

    def training_job_logs(self, name: str) -> str:
        """The job's log text so far."""
        from smkit.backends.local import jobs

        jobs.require_job(self.catalog, name)
        return jobs.logs(self.catalog, name)

    def follow_training_job(self, name: str, emit: Callable[[str], None]) -> Callable[[], None]:
        """A callable that emits the log lines written since its last call."""
        from smkit.backends.local import jobs

        return jobs.follow(self.catalog, name, emit)

    def stop_training_job(self, name: str) -> None:
        """Stop a running job (SIGTERM to the script; it ends ``Stopped``)."""
        from smkit.backends.local import jobs

        jobs.require_job(self.catalog, name)
        jobs.stop(self.catalog, name)

    # -- tuning ----------------------------------------------------------------------------
    def tune(self, spec: TuningSpec, *, name: str | None = None, wait: bool = False) -> TuningJob:
        """Start a hyperparameter tuning job and return its handle."""
        from smkit.backends.local import tuning
        from smkit.training.job import TuningJob
        from smkit.training.tuning import TuningSpec

        if not isinstance(spec, TuningSpec):
            from smkit.errors import ConfigError

            raise ConfigError(f"tune() takes a TuningSpec, got {type(spec).__name__}")
        job = TuningJob(self.backend, tuning.submit(self.backend, spec, name=name), spec)
        return job.wait() if wait else job

    def tuning_job(self, name: str) -> TuningJob:
        """A handle on an existing tuning job."""
        from smkit.training.job import TuningJob

        self.catalog.describe("tuning_job", name)
        return TuningJob(self.backend, name)

    def describe_tuning_job(self, name: str) -> dict[str, Any]:
        """The DescribeHyperParameterTuningJob-shaped record (reconciled)."""
        from smkit.backends.local import tuning

        res = tuning.reconcile(self.catalog, name)
        return {**res.data, "HyperParameterTuningJobStatus": res.status}

    def list_tuning_jobs(self, status: str | None = None) -> list[dict[str, Any]]:
        """Every tuning job's record, newest first."""
        out = []
        for res in self.catalog.list("tuning_job"):
            data = self.describe_tuning_job(res.name)
            if status is None or data["HyperParameterTuningJobStatus"] == status:
                out.append(data)
        return out

    def tuning_job_trials(self, name: str) -> list[dict[str, Any]]:
        """The training jobs of a tuning job (ListTrainingJobsForHyperParameterTuningJob)."""
        return list(self.describe_tuning_job(name).get("TrainingJobSummaries", []))

    def stop_tuning_job(self, name: str) -> None:
        """Stop a tuning job and its running training jobs."""
        from smkit.backends.local import tuning

        tuning.stop(self.catalog, name)
