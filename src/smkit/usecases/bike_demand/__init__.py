"""``bike-demand``: Kaggle "Bike Sharing Demand" with AutoGluon, end to end.

The flow:

1. **Stage** ``train.csv`` (the shipped Kaggle file, or ``--set train=PATH``) as CSV with a
   header, keeping ``datetime``, into a ``train`` and a ``validation`` channel: days 10-19 of
   every month are held out and days 1-9 train (``validation_scheme=kaggle``), as Kaggle's
   test (days 20-end) follows its train file (days 1-19); ``validation_scheme=last_days``
   holds out the last ``validation_days`` days instead. ``casual`` and ``registered`` travel
   as targets only.
2. **Train** a script-mode job (``scripts/train.py``, framework ``autogluon``, whose image
   has LightGBM and XGBoost): calendar, hour x day-type, per-day weather and neighbouring-hour
   weather features; LightGBM and XGBoost per target on ``log1p`` (``casual`` and
   ``registered`` separately, their sum is the count), averaged (``trainer=gbm``, default;
   ``autogluon`` and ``lightgbm`` remain). The job scores the validation channel, reports
   the old days-17-19 split and a plain-LightGBM reference from the same run, then refits on
   all rows for the submission. ``--quick`` trains on the last months only. The script
   prints ``validation_rmsle=``, read as the job's metric.
3. **Report** the leaderboard, the validation RMSLE (``metrics.validation_rmsle``), a
   permutation feature-importance plot and validation predicted-vs-actual plots, from the
   job's ``output.tar.gz``.
4. **Submit**: the trained ``model.tar.gz`` scores ``test.csv`` (or ``--set test=PATH``)
   through its own inference hooks into ``submission.csv`` (``datetime,count``).
5. **Serve** (``--set serve=true``): deploy ``job.model()`` behind an endpoint, send a few
   test rows through a predictor, check them against the submission, delete the endpoint
   (kept with ``--set keep_endpoint=true``).

``scripts/`` is a SageMaker script-mode source dir: ``train.py`` (AutoGluon by default, LightGBM
with ``--trainer lightgbm``), ``inference.py`` (inference-toolkit hooks), ``features.py``
(datetime feature engineering and the time-based validation split, pure pandas) and
``submission.py`` (Kaggle's ``datetime,count`` file). The scripts never import smkit, so the
same dir runs in a SageMaker container.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import sys
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any, ClassVar

import attrs

from smkit.errors import ConfigError
from smkit.report import Report
from smkit.usecases._base import UseCaseConfig

__all__ = ["SCRIPTS_DIR", "BikeDemand", "BikeDemandConfig"]

#: The training job's source dir (train.py, inference.py, features.py, submission.py).
SCRIPTS_DIR = Path(__file__).resolve().parent / "scripts"

_NUM = r"([-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)"
_METRICS = {
    "validation_rmsle": rf"validation_rmsle={_NUM}",
    "validation_rmse": rf"validation_rmse={_NUM}",
    "last_days_rmsle": rf"last_days_rmsle={_NUM}",
    "reference_rmsle": rf"reference_rmsle={_NUM}",
    "train_seconds": rf"train_seconds={_NUM}",
}
_TRAINERS = ("gbm", "autogluon", "lightgbm")
_SCHEMES = ("kaggle", "last_days")
_TARGET_MODES = ("auto", "split", "count", "blend")
_LEADERBOARD_COLUMNS = (
    "target",
    "model",
    "score_val",
    "eval_metric",
    "fit_time",
    "pred_time_val",
    "num_boost_round",
    "stack_level",
)


def _positive(inst: Any, attr: attrs.Attribute, value: float) -> None:
    if not isinstance(value, int | float) or value <= 0:
        raise ConfigError(f"bike-demand: {attr.name} must be > 0, got {value!r}")


def _choice(options: tuple[str, ...]) -> Any:
    def check(inst: Any, attr: attrs.Attribute, value: str | None) -> None:
        if value is not None and value not in options:
            raise ConfigError(
                f"bike-demand: {attr.name}={value!r}; choose one of {', '.join(options)}"
            )

    return check


@attrs.define
class BikeDemandConfig(UseCaseConfig):
    """Settings of ``bike-demand``.

    Attributes:
        train: Training CSV with Kaggle's columns (``datetime``, the weather/calendar columns,
            ``count``; ``casual`` and ``registered`` when known). Default: the shipped file.
        test: CSV to predict into ``submission.csv`` (test.csv's columns). Default: the
            shipped Kaggle ``test.csv``.
        trainer: ``gbm`` (default: LightGBM + XGBoost per target, averaged), ``autogluon``
            or ``lightgbm``.
        time_limit: AutoGluon seconds, shared by the targets (the job takes ~1-1.5x this
            plus ~30 s; the default run stays within 10 minutes on 2 cores).
        presets: AutoGluon presets.
        ag_models: AutoGluon model types (comma list such as ``GBM,XGB``), or ``default``
            for AutoGluon's own set.
        target_mode: ``auto``, ``split`` (casual + registered), ``count`` or ``blend``.
        validation_scheme: ``kaggle`` (default): the validation channel is days 10-19 of
            every month and training sees days 1-9, as Kaggle's test (days 20-end) follows
            its train file (days 1-19); ``last_days``: the last ``validation_days`` days.
        validation_days: Last days of every month held out by the ``last_days`` scheme; with
            ``kaggle``, the old split the job also reports (``last_days_rmsle``).
        quick_months: With ``quick``, train on the last this many months only.
        prefix: ``s3://`` prefix for the staged data (default: the session's bucket).
        instance_type: Training instance type (AWS).
        max_wait: Seconds to wait for the training job at most.
        serve: Deploy the trained model and predict test rows through the endpoint.
        serve_rows: Test rows sent to the endpoint.
        endpoint_name: Endpoint name (default: ``bike-demand-<timestamp>``).
        endpoint_instance_type: Endpoint instance type (AWS).
        keep_endpoint: Leave the endpoint running (it deletes itself after an hour idle).
    """

    train: str | None = None
    test: str | None = None
    trainer: str | None = attrs.field(default=None, validator=_choice(_TRAINERS))
    time_limit: float = attrs.field(default=240.0, validator=_positive)
    presets: str = "medium_quality"
    ag_models: str = "GBM,XGB"
    target_mode: str = attrs.field(default="auto", validator=_choice(_TARGET_MODES))
    validation_scheme: str = attrs.field(default="kaggle", validator=_choice(_SCHEMES))
    validation_days: int = attrs.field(default=3, validator=_positive)
    quick_months: int = attrs.field(default=6, validator=_positive)
    prefix: str | None = None
    instance_type: str = "ml.m5.2xlarge"
    max_wait: float = attrs.field(default=1200.0, validator=_positive)
    serve: bool = False
    serve_rows: int = attrs.field(default=24, validator=_positive)
    endpoint_name: str | None = None
    endpoint_instance_type: str = "ml.m5.large"
    keep_endpoint: bool = False

    @property
    def effective_trainer(self) -> str:
        """The trainer this run uses."""
        return self.trainer or "gbm"

    @property
    def staged_validation_days(self) -> int:
        """Days per month the staging holds out (10: days 10-19 with the kaggle scheme)."""
        return 10 if self.validation_scheme == "kaggle" else self.validation_days

    def hyperparameters(self) -> dict[str, Any]:
        """The training job's hyperparameters (``train.py``'s arguments)."""
        hps: dict[str, Any] = {
            "trainer": self.effective_trainer,
            "target_mode": self.target_mode,
            "importance_repeats": 1 if self.quick else 2,
        }
        if self.effective_trainer == "autogluon":
            hps.update(time_limit=self.time_limit, presets=self.presets, ag_models=self.ag_models)
        elif self.effective_trainer == "gbm":
            # the old split (last validation_days days) is reported next to the channel's
            hps.update(validation_days=self.validation_days, compare=True, refit_all=True)
            if self.quick:
                hps.update(max_rounds=1500, num_cpus=1)
        elif self.quick:
            # one thread: LightGBM's threads spin against each other on a busy small box
            hps.update(learning_rate=0.1, max_rounds=800, num_cpus=1)
        return hps


class BikeDemand:
    """Stage, train (gradient boosting or AutoGluon), report, write a Kaggle submission, serve."""

    name: ClassVar[str] = "bike-demand"
    description: ClassVar[str] = (
        "Kaggle Bike Sharing Demand: gradient-boosting training job, RMSLE, submission.csv"
    )
    Config: ClassVar[type] = BikeDemandConfig

    def run(self, session: Any, config: BikeDemandConfig, out_dir: Path) -> Report:
        """Run the flow (see the module docstring); returns the report."""
        from smkit.datasets import dataset_path
        from smkit.staging import read_table

        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        plan = session.plan_mode
        trainer = config.effective_trainer
        report = Report(name=self.name, title="Bike sharing demand: gradient boosting")
        report.details["config"] = attrs.asdict(config)
        report.details["trainer"] = trainer
        prefix = (config.prefix or f"s3://{session.default_bucket()}/bike-demand/").rstrip("/")
        if not prefix.startswith("s3://"):
            raise ConfigError(f"bike-demand: prefix {config.prefix!r} must be an s3:// URI")
        report.add_mermaid("Flow", _FLOW)

        # 1. data and staging
        with report.timer("read"):
            train_src = config.train or str(dataset_path("bike_sharing", "train.csv.gz"))
            test_src = config.test or str(dataset_path("bike_sharing", "test.csv.gz"))
            train_df = _check_columns(read_table(train_src), train_src, label=True)
            test_df = _check_columns(read_table(test_src), test_src, label=False)
            if config.quick:
                train_df = _last_months(train_df, config.quick_months)
        report.details["data"] = {"train": str(train_src), "test": str(test_src)}
        staged = self._stage(session, config, train_df, prefix, report)

        # 2. the training job
        from smkit.training import Channel, TrainingSpec

        spec = TrainingSpec(
            entry_point="train.py",
            source_dir=str(SCRIPTS_DIR),
            framework="autogluon",
            hyperparameters=config.hyperparameters(),
            inputs={
                k: Channel(v, content_type="text/csv")
                for k, v in staged.channels.items()
                if k in ("train", "validation")
            },
            instance_type=config.instance_type,
            metric_definitions=_METRICS,
            base_job_name="bike-demand",
            max_runtime=int(max(600, config.time_limit * 3 + 600)),
        )
        with report.timer("train"):
            job = session.train(spec)
            if not plan:
                job.wait(timeout=config.max_wait)
        report.artifacts["training_job"] = job.name
        report.details["hyperparameters"] = dict(spec.hyperparameters)

        if plan:
            model = _planned_model(session, job, spec)
        else:
            report.artifacts["model_data"] = job.model_data
            if job.output_data:
                report.artifacts["training_output_data"] = job.output_data
            with report.timer("read_training_outputs"):
                outputs = _unpack(session, job.output_data, out_dir / "training")
            report.artifacts["training_outputs"] = str(out_dir / "training")
            self._report_training(report, job, outputs, trainer)
            with report.timer("submission"):
                submission = self._submission(session, job, test_df, out_dir, report)
            model = job.model(entry_point="inference.py")

        # 3. optional endpoint
        if config.serve:
            self._serve(session, config, model, test_df, submission if not plan else None, report)
        if plan:
            report.add_text(
                "Plan",
                "Nothing ran: the staged channels, the training job"
                + (", the endpoint and its deletion" if config.serve else "")
                + " are planned; no metrics, leaderboard or submission without results.",
            )
        return report

    # -- the pieces ----------------------------------------------------------------------
    @staticmethod
    def _stage(
        session: Any, config: BikeDemandConfig, train_df: Any, prefix: str, report: Report
    ) -> Any:
        from smkit.staging import StagingSpec, TimeSplit

        spec = StagingSpec(
            source=train_df,
            label="count",
            datetime_column=None,
            keep_datetime=True,
            split=TimeSplit(column="datetime", validation_days=config.staged_validation_days),
            header=True,
            destination=f"{prefix}/data/",
            name="bike-demand",
        )
        with report.timer("stage"):
            staged = session.stage(spec)
        if "validation" not in staged.channels:
            raise ConfigError(
                f"bike-demand: validation_days={config.staged_validation_days} held out no rows",
                hint="use data with more than validation_days days per month",
            )
        report.metrics["rows"] = dict(staged.rows)
        report.artifacts.update({f"channel_{k}": v for k, v in staged.channels.items()})
        report.add_table(
            "Staged channels",
            [
                {"channel": k, "rows": staged.rows[k], "uri": staged.files[k]}
                for k in staged.channels
            ],
        )
        return staged

    @staticmethod
    def _report_training(report: Report, job: Any, outputs: dict[str, Any], trainer: str) -> None:
        import pandas as pd

        metrics = outputs.get("metrics.json", {})
        job_metrics = job.metrics
        rmsle = job_metrics.get("validation_rmsle", metrics.get("validation_rmsle"))
        if rmsle is None:
            raise ConfigError(
                f"training job {job.name!r} reported no validation_rmsle",
                hint=f"see its logs: smkit jobs logs {job.name}",
            )
        report.metrics["validation_rmsle"] = round(float(rmsle), 5)
        if "validation_rmse" in metrics:
            report.metrics["validation_rmse"] = round(float(metrics["validation_rmse"]), 3)
        if "train_seconds" in metrics:
            report.metrics["train_seconds"] = round(float(metrics["train_seconds"]), 1)
        splits = {
            "validation_rmsle": metrics.get("validation_split", "the staged validation channel"),
            "validation_rmse": metrics.get("validation_split", "the staged validation channel"),
        }
        for key, split_key in (
            ("last_days_rmsle", "last_days_split"),
            ("reference_rmsle", None),
        ):
            value = job_metrics.get(key, metrics.get(key))
            if value is not None:
                report.metrics[key] = round(float(value), 5)
                splits[key] = (
                    metrics.get(split_key, "the last days of every month")
                    if split_key
                    else f"{splits['validation_rmsle']}; {metrics.get('reference_model', '')}"
                )
        report.metrics["trainer"] = trainer
        report.metrics["targets"] = metrics.get("targets")
        report.details["job_metrics"] = job_metrics
        report.details["metric_splits"] = splits
        report.details["validation_split"] = (
            f"{splits['validation_rmsle']}: never used for fitting, model selection or early "
            "stopping of the scored model"
            + (
                "; the saved model is then refit on all rows"
                if metrics.get("rows_final_fit")
                else ""
            )
        )
        if metrics.get("validation_scheme") == "kaggle":
            report.add_text("Validation split", _KAGGLE_SPLIT_NOTE)
        board = outputs.get("leaderboard.csv")
        if board is not None:
            cols = [c for c in _LEADERBOARD_COLUMNS if c in board.columns]
            rows = board[cols].to_dict(orient="records")
            report.add_table(
                "Leaderboard (score_val: -RMSE of log1p(target) on the tuning days)",
                [{k: _round(v) for k, v in r.items()} for r in rows],
            )
            report.metrics["leaderboard_models"] = len(rows)
        importance = outputs.get("feature_importance.csv")
        if importance is not None:
            report.add_figure(
                "Permutation feature importance (validation RMSLE increase)",
                _importance_figure(importance),
                filename="feature_importance.png",
            )
            report.details["top_features"] = importance["feature"].head(5).tolist()
        preds = outputs.get("validation_predictions.csv")
        if preds is not None:
            preds = preds.assign(datetime=pd.to_datetime(preds["datetime"]))
            report.add_figure(
                "Validation: predicted vs actual",
                _validation_figure(preds, float(rmsle)),
                filename="validation_predictions.png",
            )

    @staticmethod
    def _submission(
        session: Any, job: Any, test_df: Any, out_dir: Path, report: Report
    ) -> dict[str, float]:
        """Score ``test_df`` with the model artifact's own hooks; write submission.csv."""
        model_dir = out_dir / "model"
        _extract(session.store.get_bytes(job.model_data), model_dir)
        with _scripts_on_path(model_dir / "code"):
            inference = _load_module("bike_demand_inference", model_dir / "code" / "inference.py")
            submission = _load_module("bike_demand_submission", SCRIPTS_DIR / "submission.py")
            model = inference.model_fn(str(model_dir))
            counts = inference.predict_fn(test_df, model)
        path = submission.write_submission(out_dir / "submission.csv", test_df["datetime"], counts)
        report.artifacts["submission"] = str(path)
        report.artifacts["model_dir"] = str(model_dir)
        report.metrics["submission_rows"] = len(counts)
        report.metrics["submission_mean_count"] = round(float(sum(counts) / len(counts)), 2)
        frame = submission.make_submission(test_df["datetime"], counts)
        return dict(zip(frame["datetime"], frame["count"].astype(float), strict=True))

    @staticmethod
    def _serve(
        session: Any,
        config: BikeDemandConfig,
        model: Any,
        test_df: Any,
        submission: dict[str, float] | None,
        report: Report,
    ) -> None:
        from smkit.serving import EndpointSpec

        name = config.endpoint_name or time.strftime("bike-demand-%Y%m%d-%H%M%S")
        spec = EndpointSpec(
            name=name,
            instance_type=config.endpoint_instance_type,
            startup_timeout=300.0,
            idle_timeout=3600.0 if config.keep_endpoint else None,
        )
        endpoint = None
        try:
            with report.timer("deploy"):
                endpoint = session.deploy(model, spec)
            report.artifacts["endpoint"] = name
            if submission is None:
                return
            rows = test_df.head(config.serve_rows)
            predictor = endpoint.predictor(serializer="csv", deserializer="json")
            with report.timer("predict_endpoint"):
                answer = predictor.predict(rows.to_csv(index=False))
            counts = [float(c) for c in answer["predictions"]]
            expected = [submission[str(d)] for d in _kaggle_datetimes(rows["datetime"])]
            report.metrics["endpoint_rows"] = len(counts)
            report.metrics["endpoint_parity_max_abs_diff"] = round(
                max(abs(a - b) for a, b in zip(counts, expected, strict=True)), 4
            )
            report.add_table(
                "Endpoint predictions (first test rows)",
                [
                    {"datetime": str(d), "endpoint": round(c, 2), "submission": round(e, 2)}
                    for d, c, e in zip(rows["datetime"].head(8), counts, expected, strict=False)
                ],
            )
        finally:
            if endpoint is not None and not config.keep_endpoint:
                with report.timer("delete_endpoint"):
                    endpoint.delete()
                report.details["endpoint_deleted"] = True


_KAGGLE_SPLIT_NOTE = (
    "validation_rmsle comes from days 10-19 of every month, predicted by a model fitted on "
    "days 1-9 only. Kaggle's test is days 20 to the end of every month after a train file of "
    "days 1-19: both ask for about ten unseen days per month, 1-11 days away from the nearest "
    "known day, in every month of both years, so the error grows with the distance the same "
    "way. The old split (days 17-19, last_days_rmsle) asks only 1-3 days ahead of days 1-16 "
    "and was far too optimistic (0.286 reported, 0.411 on the real test). "
    "reference_rmsle is a plain LightGBM on log1p(count) with the old features on "
    "the same days 10-19, fitted in the same run."
)

_FLOW = """flowchart LR
  A[train.csv] --> B[stage: train days 1-9 +<br/>validation days 10-19 of each month]
  B --> C[training job<br/>train.py, LightGBM + XGBoost]
  C --> D[model.tar.gz]
  C --> E[leaderboard, importance,<br/>validation predictions]
  D --> F[submission.csv<br/>for test.csv]
  D -.-> G[endpoint<br/>--set serve=true]
"""

_REQUIRED = (
    "datetime",
    "season",
    "holiday",
    "workingday",
    "weather",
    "temp",
    "atemp",
    "humidity",
    "windspeed",
)


def _check_columns(df: Any, source: str, *, label: bool) -> Any:
    need = [*_REQUIRED, "count"] if label else list(_REQUIRED)
    missing = [c for c in need if c not in df.columns]
    if missing:
        raise ConfigError(
            f"bike-demand: {source!r} lacks column(s) {missing}; it needs {need}",
            hint="use Kaggle's Bike Sharing Demand columns",
        )
    if len(df) == 0:
        raise ConfigError(f"bike-demand: {source!r} has no rows")
    return df


def _last_months(df: Any, months: int) -> Any:
    import pandas as pd

    period = pd.to_datetime(df["datetime"]).dt.to_period("M")
    keep = sorted(period.unique())[-months:]
    return df[period.isin(keep).to_numpy()].reset_index(drop=True)


def _kaggle_datetimes(values: Any) -> list[str]:
    import pandas as pd

    return list(pd.to_datetime(values).dt.strftime("%Y-%m-%d %H:%M:%S"))


def _round(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 4)
    return value


def _planned_model(session: Any, job: Any, spec: Any) -> Any:
    """The ModelSpec ``job.model()`` would give (plan mode has no job record to read)."""
    from smkit.serving import ModelSpec

    return ModelSpec(
        model_data=f"s3://{session.default_bucket()}/{job.name}/output/model.tar.gz",
        framework="autogluon",
        framework_version=spec.effective_version,
        entry_point="inference.py",
        source_dir=str(SCRIPTS_DIR),
    )


def _extract(body: bytes, dest: Path) -> None:
    """Unpack a ``.tar.gz`` into ``dest``, refusing members that leave it."""
    dest.mkdir(parents=True, exist_ok=True)
    root = dest.resolve()
    with tarfile.open(fileobj=io.BytesIO(body), mode="r:gz") as tar:
        for member in tar.getmembers():
            target = (dest / member.name).resolve()
            if not target.is_relative_to(root) or member.issym() or member.islnk():
                raise ConfigError(f"refusing archive member {member.name!r}")
        tar.extractall(dest, filter="data")


def _unpack(session: Any, uri: str | None, dest: Path) -> dict[str, Any]:
    """Unpack the job's ``output.tar.gz`` into ``dest``; read the tables the report needs."""
    import pandas as pd

    found: dict[str, Any] = {}
    if not uri:
        return found
    _extract(session.store.get_bytes(uri), dest)
    for path in sorted(dest.rglob("*")):
        if path.suffix == ".csv":
            found[path.name] = pd.read_csv(path)
        elif path.suffix == ".json":
            found[path.name] = json.loads(path.read_text())
    return found


@contextlib.contextmanager
def _scripts_on_path(code_dir: Path) -> Iterator[None]:
    """Make ``features`` (next to inference.py) importable, without leaking it: another
    use case's ``features`` module may already sit in ``sys.modules``."""
    saved = sys.modules.pop("features", None)
    sys.path.insert(0, str(code_dir))
    try:
        yield
    finally:
        sys.path.remove(str(code_dir))
        sys.modules.pop("features", None)
        if saved is not None:
            sys.modules["features"] = saved


def _load_module(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ConfigError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _importance_figure(importance: Any) -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    top = importance.head(15).iloc[::-1]
    fig, ax = plt.subplots(figsize=(6, 4.2))
    ax.barh(top["feature"], top["importance"], xerr=top.get("stddev"), color="#ff9900")
    ax.set_xlabel("validation RMSLE increase when shuffled")
    ax.set_title("Permutation feature importance")
    return fig


def _validation_figure(preds: Any, rmsle: float) -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(
        1, 2, figsize=(10, 3.8), gridspec_kw={"width_ratios": [1, 1.6]}
    )
    actual, predicted = preds["count"].to_numpy(), preds["prediction"].to_numpy()
    left.scatter(actual + 1, predicted + 1, s=4, alpha=0.35, color="#1f77b4")
    hi = float(max(actual.max(), predicted.max()) + 1)
    left.plot([1, hi], [1, hi], color="grey", lw=1)
    left.set_xscale("log")
    left.set_yscale("log")
    left.set_xlabel("actual count + 1")
    left.set_ylabel("predicted count + 1")
    left.set_title(f"validation rows (RMSLE {rmsle:.3f})")
    # the held-out days of the last month, hour by hour
    month = preds["datetime"].dt.to_period("M")
    last = preds[month == month.max()]
    right.plot(last["datetime"], last["count"], label="actual", color="black", lw=1)
    right.plot(last["datetime"], last["prediction"], label="predicted", color="#ff9900", lw=1)
    right.set_title(f"held-out days of {month.max()}")
    right.set_ylabel("rentals per hour")
    right.legend()
    right.tick_params(axis="x", labelrotation=30)
    fig.tight_layout()
    return fig
