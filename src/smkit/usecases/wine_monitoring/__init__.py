"""``wine-monitoring``: the flagship: train, serve, monitor, detect drift, retrain.

The whole SageMaker monitoring story on sklearn's wine data (178 wines, 13 chemical
measurements, 3 cultivars; shipped with scikit-learn, nothing is downloaded):

1. **stage**: the binary target "is cultivar ``target_class``" (default 0) first, then the
   13 features, header-less (built-in XGBoost's CSV layout), split stratified into train
   (50%), validation (20%) and test (30%);
2. **train**: a built-in XGBoost training job (``binary:logistic``);
3. **deploy** an endpoint that captures 100% of its requests;
4. **baselines** (``session.apply(MonitorPlan(...))``):
   data quality from the training split with the model's answer in the first column (the
   layout of a captured record: output first, then the inputs, header-less, so the columns
   are ``_c0`` = prediction, ``_c1``... = the features in order); model quality from the
   validation split's predictions and labels; Clarify SHAP explainability of the training
   split against the training mean;
5. **traffic**: monitoring *windows*, each sending every test wine once, one request each,
   with an inference id: first the normal phase, then the drifted phase, where each
   feature in ``drift_features`` reads ``drift_sigmas`` training standard deviations high
   (default +3σ on ``alcohol`` and ``proline``: a mis-calibrated sensor); the ground truth
   of each request is uploaded in Model Monitor's format, matched on the inference id;
6. **executions**: ``monitor.run_now(start, end)`` per window runs data quality, model
   quality and explainability over that window's captures and returns a `MonitorRun`
   on every backend (on SageMaker it waits for the one-time executions, whose windows are
   whole hours);
7. **retraining policy** (`RetrainingPolicy`): the first window whose
   data-quality execution reports ``baseline_drift_check`` or whose model-quality
   execution reports a metric past its threshold (``CompletedWithViolations``) starts a
   new training job on fresh data: the training split plus the drifted traffic labelled
   with its ground truth (read back from the capture files). The deployed and the retrained
   model are then compared on the validation split as it is and with the same drift;
8. **report** (``report.html``): XGBoost feature importance, per-feature distributions
   (baseline vs each window), violations, SHAP values, the metrics per window, before/after
   retraining; then **teardown**: monitors stopped, endpoints deleted.

Monitoring files are copied under ``--out`` in SageMaker's key layout (see
`OUT_LAYOUT`) and listed in ``report.json`` (``details.monitoring_files``).
"""

from __future__ import annotations

import json
import math
import tarfile
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

import attrs

from smkit.errors import ConfigError
from smkit.report import Report
from smkit.usecases._base import UseCaseConfig
from smkit.usecases.wine_monitoring.policy import RetrainingDecision, RetrainingPolicy

__all__ = [
    "OUT_LAYOUT",
    "RetrainingDecision",
    "RetrainingPolicy",
    "WineMonitoring",
    "WineMonitoringConfig",
    "drift_threshold_for",
    "relax_model_quality",
]

#: Where the monitoring files go under ``--out`` (each subtree is SageMaker's S3 layout).
OUT_LAYOUT = {
    "monitoring/baselines/": "{endpoint}/{schedule}/baseline/ (statistics.json, "
    "constraints.json, analysis.json ...)",
    "monitoring/executions/<window>/": "{endpoint}/{schedule}/yyyy/mm/dd/hh/ "
    "(statistics.json, constraints.json, constraint_violations.json, analysis.json ...)",
    "data-capture/": "{endpoint}/AllTraffic/yyyy/mm/dd/hh/*.jsonl",
    "ground-truth/": "yyyy/mm/dd/hh/*.jsonl",
}

_QUICK = {"num_round": 30, "shap_samples": 64, "windows_per_phase": 1}
_FULL = {"num_round": 80, "shap_samples": 256, "windows_per_phase": 2}


def _positive_or_none(inst: Any, attr: attrs.Attribute, value: Any) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise ConfigError(f"wine-monitoring setting {attr.name}={value!r} must be an integer >= 1")


@attrs.define
class WineMonitoringConfig(UseCaseConfig):
    """Settings of ``wine-monitoring``.

    Sizes left at ``None`` take the quick or the full run's value (quick: 30 boosting rounds,
    64 SHAP coalitions, one window per phase; full: 80 rounds, 256 coalitions, two windows
    per phase).

    Attributes:
        target_class: The cultivar (0, 1 or 2) that is the positive class.
        drift_features: Features shifted in the drifted phase.
        drift_sigmas: Shift, in training standard deviations, added to each drift feature.
        drift_threshold: Data-quality ``comparison_threshold`` (KS distance); ``None``
            (default) computes it with `drift_threshold_for`: the two-sample KS
            critical value for the baseline and window sizes at α = 0.05 shared by all
            captured columns (Bonferroni), the distance sampling noise alone exceeds in
            one window out of twenty. With the default sizes (88 training rows, 54
            requests per window, 14 columns) it is 0.31.
        ndcg_threshold: Explainability drift threshold (nDCG below it is a violation).
        quality_tolerance: Slack given to the suggested model-quality constraints (score
            metrics may fall, error rates rise, by this much before a violation); the
            suggested thresholds are the validation values themselves.
        num_round: XGBoost boosting rounds.
        shap_samples: Clarify SHAP coalitions per explained row.
        windows_per_phase: Monitoring windows (executions) per phase; each sends every
            test wine once.
        retrain: Apply the retraining policy (train again when it triggers).
        seed: Seed of the split, the traffic order, XGBoost and SHAP.
        prefix: ``s3://`` prefix of everything written (default
            ``s3://<default bucket>/wine-monitoring``).
        endpoint_name: Endpoint name (default ``wine-monitoring-<timestamp>``).
        instance_type: Training instance type on AWS.
        endpoint_instance_type: Endpoint instance type on AWS.
        keep_endpoint: Leave the endpoint (and its stopped monitors) at the end.
    """

    target_class: int = attrs.field(default=0)
    drift_features: tuple[str, ...] = attrs.field(default=("alcohol", "proline"), converter=tuple)
    drift_sigmas: float = 3.0
    drift_threshold: float | None = None
    ndcg_threshold: float = 0.9
    quality_tolerance: float = 0.05
    num_round: int | None = attrs.field(default=None, validator=_positive_or_none)
    shap_samples: int | None = attrs.field(default=None, validator=_positive_or_none)
    windows_per_phase: int | None = attrs.field(default=None, validator=_positive_or_none)
    retrain: bool = True
    seed: int = 0
    prefix: str | None = None
    endpoint_name: str | None = None
    instance_type: str = "ml.m5.xlarge"
    endpoint_instance_type: str = "ml.m5.large"
    keep_endpoint: bool = False

    @target_class.validator
    def _check_class(self, attr: attrs.Attribute, value: Any) -> None:
        if value not in (0, 1, 2):
            raise ConfigError(f"target_class={value!r}: the wine data has cultivars 0, 1 and 2")

    def __attrs_post_init__(self) -> None:
        if not self.drift_features:
            raise ConfigError("drift_features must name at least one feature")
        if self.drift_threshold is not None and not 0 < self.drift_threshold < 1:
            raise ConfigError(f"drift_threshold={self.drift_threshold!r} must be in (0, 1)")
        if not 0 < self.ndcg_threshold <= 1:
            raise ConfigError(f"ndcg_threshold={self.ndcg_threshold!r} must be in (0, 1]")
        if not 0 <= self.quality_tolerance < 1:
            raise ConfigError(f"quality_tolerance={self.quality_tolerance!r} must be in [0, 1)")

    def size(self, key: str) -> int:
        """The effective value of a size setting in this mode."""
        value = getattr(self, key)
        return int(value) if value is not None else (_QUICK if self.quick else _FULL)[key]


def _second_boundary() -> datetime:
    """Sleep to the next whole second (UTC) and return it: capture times have 1 s resolution,
    so monitoring windows start and end on whole seconds."""
    now = datetime.now(UTC)
    nxt = now.replace(microsecond=0) + timedelta(seconds=1)
    time.sleep(max(0.0, (nxt - now).total_seconds()) + 0.01)
    return nxt


def drift_threshold_for(n_baseline: int, n_window: int, columns: int, alpha: float = 0.05) -> float:
    """The KS distance that sampling noise alone exceeds with probability ``alpha`` in any
    of ``columns`` columns (two-sample KS critical value at ``alpha / columns``).

    Examples:
        >>> round(drift_threshold_for(88, 54, 14), 2)
        0.31
    """
    a = alpha / max(1, columns)
    return math.sqrt(-math.log(a / 2.0) / 2.0) * math.sqrt(
        (n_baseline + n_window) / (n_baseline * n_window)
    )


def relax_model_quality(constraints: dict[str, Any], tolerance: float) -> dict[str, Any]:
    """Model-quality constraints with ``tolerance`` of slack on every threshold.

    ``LessThan*`` thresholds (score metrics) are lowered, ``GreaterThan*`` ones (error
    rates) raised, each by ``tolerance`` (clipped to [0, 1] for metrics that live there).
    """
    out = json.loads(json.dumps(constraints))
    for key, section in out.items():
        if not key.endswith("_constraints") or not isinstance(section, dict):
            continue
        for rule in section.values():
            t = float(rule["threshold"])
            if rule["comparison_operator"].startswith("LessThan"):
                rule["threshold"] = max(0.0, t - tolerance)
            else:
                rule["threshold"] = min(1.0, t + tolerance) if t <= 1 else t + tolerance
    return out


class WineMonitoring:
    """Monitor an XGBoost wine classifier end to end and retrain it when it drifts."""

    name: ClassVar[str] = "wine-monitoring"
    description: ClassVar[str] = (
        "XGBoost on the wine data behind a captured endpoint: data-quality, model-quality "
        "and SHAP monitors, a drifted traffic phase, retraining on violations"
    )
    Config: ClassVar[type] = WineMonitoringConfig

    def run(self, session: Any, config: WineMonitoringConfig, out_dir: Path) -> Report:
        """Run the flow (see the module docstring); returns the report."""
        from smkit.staging import StagingSpec, StratifiedSplit, prepare, split_indices
        from smkit.usecases.wine_monitoring.data import LABEL, apply_drift, load_wine_frame

        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        plan = session.plan_mode
        report = Report(
            name=self.name,
            title="Wine classifier monitoring: drift, explainability, model quality, retraining",
        )
        prefix = (config.prefix or f"s3://{session.default_bucket()}/wine-monitoring").rstrip("/")
        if not prefix.startswith("s3://"):
            raise ConfigError(f"prefix {config.prefix!r} must be an s3:// URI")
        endpoint_name = config.endpoint_name or time.strftime("wine-monitoring-%Y%m%d-%H%M%S")
        frame, features = load_wine_frame(config.target_class)
        unknown = [f for f in config.drift_features if f not in features]
        if unknown:
            raise ConfigError(
                f"drift_features {unknown} are not wine features; choose from {features}"
            )
        report.details["config"] = attrs.asdict(config)
        report.details["target"] = (
            f"1 if the wine is cultivar class_{config.target_class}, else 0 (binary:logistic)"
        )
        # capture columns: the model's answer first, then the inputs in order
        columns = {"_c0": "prediction", **{f"_c{i + 1}": f for i, f in enumerate(features)}}
        report.details["capture_columns"] = columns

        # 1. stage
        table = frame.drop(columns=["cultivar"])
        spec = StagingSpec(
            source=table,
            label=LABEL,
            split=StratifiedSplit(validation=0.2, test=0.3, seed=config.seed),
            label_first=True,
            header=False,
            destination=f"{prefix}/data/",
            name="wine",
        )
        with report.timer("stage"):
            staged = session.stage(spec)
        parts = split_indices(prepare(spec), spec.split, label=LABEL)
        train, val, test = (
            table.iloc[parts[k]].reset_index(drop=True) for k in ("train", "validation", "test")
        )
        report.metrics["rows"] = dict(staged.rows)
        report.artifacts.update({f"channel_{k}": v for k, v in staged.channels.items()})
        sigma = train[features].std()
        shifts = {f: round(config.drift_sigmas * float(sigma[f]), 6) for f in config.drift_features}
        report.details["drift"] = {
            "features": list(config.drift_features),
            "sigmas": config.drift_sigmas,
            "added": shifts,
            "capture_columns": [c for c, n in columns.items() if n in config.drift_features],
        }

        # 2. train
        job, model = self._train(
            session, config, report, "train", staged.channels["train"],
            staged.channels["validation"],
        )  # fmt: skip
        if not plan:
            report.metrics.update(
                {f"job_{k.replace(':', '_')}": round(v, 4) for k, v in job.metrics.items()}
            )
            importance = _feature_importance(session, job.model_data, features)
            report.details["feature_importance_gain"] = importance
            if importance:
                from smkit.usecases.wine_monitoring.plots import importance_figure

                report.add_figure(
                    "XGBoost feature importance (gain)",
                    importance_figure(importance, "XGBoost feature importance (gain)"),
                    filename="feature_importance.png",
                )

        # 3-8. deploy, monitor, traffic, retrain: always torn down
        state = _State()
        try:
            self._serve_and_monitor(
                session, config, report, state, out_dir, endpoint_name, prefix, job,
                model if plan else job.model(), staged, features, columns, train, val, test,
                shifts, apply_drift,
            )  # fmt: skip
        finally:
            with report.timer("teardown"):
                _teardown(session, config, report, state)
        return report

    # -- the steps ------------------------------------------------------------------------
    @staticmethod
    def _train(
        session: Any,
        config: WineMonitoringConfig,
        report: Report,
        phase: str,
        train_uri: str,
        validation_uri: str,
        *,
        wait: bool = True,
    ) -> tuple[Any, Any]:
        from smkit.serving import ModelSpec
        from smkit.training import Channel, TrainingSpec

        spec = TrainingSpec(
            algorithm="xgboost",
            hyperparameters={
                "objective": "binary:logistic",
                "num_round": config.size("num_round"),
                "max_depth": 3,
                "eta": 0.2,
                "subsample": 0.9,
                "eval_metric": "error,auc,logloss",
                "seed": config.seed,
            },
            inputs={
                "train": Channel(train_uri, content_type="text/csv"),
                "validation": Channel(validation_uri, content_type="text/csv"),
            },
            instance_type=config.instance_type,
            base_job_name="wine-monitoring" if phase == "train" else "wine-retrain",
            profiler=None,
        )
        with report.timer(phase):
            job = session.train(spec)
            if wait and not session.plan_mode:
                job.wait()
        report.artifacts[f"{phase}_job"] = job.name
        if session.plan_mode:
            model = ModelSpec(
                model_data=f"s3://{session.default_bucket()}/{job.name}/output/model.tar.gz",
                framework="xgboost",
                framework_version=spec.effective_version,
            )
            return job, model
        return job, None

    def _serve_and_monitor(
        self,
        session: Any,
        config: WineMonitoringConfig,
        report: Report,
        state: _State,
        out_dir: Path,
        endpoint_name: str,
        prefix: str,
        job: Any,
        model: Any,
        staged: Any,
        features: list[str],
        columns: dict[str, str],
        train: Any,
        val: Any,
        test: Any,
        shifts: dict[str, float],
        apply_drift: Any,
    ) -> None:
        import numpy as np

        from smkit.monitoring import DataConfig, ModelConfig, MonitorPlan, SHAPConfig
        from smkit.serving import DataCaptureSpec, EndpointSpec
        from smkit.usecases.wine_monitoring.data import LABEL

        plan = session.plan_mode
        capture_dest = f"{prefix}/data-capture"
        with report.timer("deploy"):
            state.endpoint = session.deploy(
                model,
                EndpointSpec(
                    name=endpoint_name,
                    instance_type=config.endpoint_instance_type,
                    data_capture=DataCaptureSpec(sampling_percentage=100, destination=capture_dest),
                ),
            )
        endpoint = state.endpoint
        report.artifacts["endpoint"] = endpoint_name
        report.artifacts["data_capture"] = f"{capture_dest}/{endpoint_name}/"
        predictor = session.predictor(endpoint_name, serializer="csv", deserializer="csv")

        def predict(rows: Any) -> Any:
            return np.asarray(predictor.predict(np.asarray(rows).tolist()), float).reshape(-1)

        # 4. baselines: the datasets (from the endpoint's own answers), then the plan
        dq_uri = f"{prefix}/baselines/data-quality/train_with_predictions.csv"
        mq_uri = f"{prefix}/baselines/model-quality/validation_predictions.csv"
        gt_prefix = f"{prefix}/ground-truth"
        x_train = train[features].to_numpy(float)
        with report.timer("baselines"):
            if not plan:
                p_train = predict(x_train)
                dq = np.column_stack([p_train, x_train])
                session.store.put_bytes(dq_uri, _csv(dq.tolist()).encode())
                p_val = predict(val[features].to_numpy(float))
                mq_rows = [["label", "prediction", "probability"]] + [
                    [int(y), int(p >= 0.5), float(p)]
                    for y, p in zip(val[LABEL].tolist(), p_val.tolist())
                ]
                session.store.put_bytes(mq_uri, _csv(mq_rows).encode())
            threshold = config.drift_threshold or round(
                drift_threshold_for(len(train), len(test), len(columns)), 4
            )
            report.details["drift_threshold"] = threshold
            shap = SHAPConfig(
                baseline=[x_train.mean(axis=0).round(6).tolist()],
                num_samples=config.size("shap_samples"),
                agg_method="mean_abs",
                save_local_shap_values=True,
                seed=config.seed,
            )
            monitor_plan = (
                MonitorPlan(endpoint_name if plan else endpoint)
                .with_output(f"{prefix}/monitoring")
                .data_quality(
                    baseline=dq_uri,
                    header=False,
                    monitoring_config={
                        "distribution_constraints": {"comparison_threshold": threshold}
                    },
                )
                .model_quality(
                    mq_uri,
                    problem_type="BinaryClassification",
                    ground_truth=gt_prefix,
                    ground_truth_attribute="label",
                    inference_attribute="prediction",
                    probability_attribute="probability",
                )
                .explainability(
                    shap,
                    model=ModelConfig(endpoint_name=endpoint_name),
                    data=DataConfig(
                        s3_data_input_path=staged.files["train"],
                        s3_output_path=f"{prefix}/clarify",
                        label=LABEL,
                        headers=(LABEL, *features),
                    ),
                    threshold=config.ndcg_threshold,
                )
                .schedule("hourly")
            )
            state.monitor = session.apply(monitor_plan)
            if not plan and config.quality_tolerance > 0:
                _relax_model_quality(session, state.monitor, config.quality_tolerance)
        monitor = state.monitor
        report.artifacts["schedules"] = ", ".join(monitor.schedules.values())
        report.add_mermaid("The flow", _FLOW)

        # 5-7. windows of traffic, executions, the retraining policy
        policy = RetrainingPolicy()
        rng = np.random.default_rng(config.seed)
        drifted = apply_drift(test, shifts)
        n_windows = config.size("windows_per_phase")
        windows = [("normal", test)] * n_windows + [("drifted", drifted)] * n_windows
        labels: dict[str, int] = {}
        results: list[dict[str, Any]] = []
        retrain_job = None
        start = _second_boundary() if not plan else None
        with report.timer("traffic_and_monitoring"):
            for w, (phase, rows) in enumerate(windows, 1):
                window = f"{w:02d}-{phase}"
                order = rng.permutation(len(rows))
                ids = [f"{window}-{i:03d}" for i in range(len(rows))]
                x = rows[features].to_numpy(float)[order]
                y = rows[LABEL].to_numpy(int)[order]
                body = [predictor.serializer.serialize([row]) for row in x.tolist()]
                for inference_id, payload in zip(ids, body):
                    predictor.invoke(payload, inference_id=inference_id)
                window_labels = dict(zip(ids, y.tolist()))
                labels.update(window_labels)
                from smkit.usecases.wine_monitoring.data import (
                    ground_truth_key,
                    ground_truth_lines,
                )

                session.store.put_bytes(
                    ground_truth_key(gt_prefix, datetime.now(UTC)),
                    ground_truth_lines(window_labels).encode(),
                )
                if plan:
                    monitor.run_now()
                    results.append({"window": window, "phase": phase, "requests": len(ids)})
                    continue
                endpoint.flush_capture()
                end = _second_boundary()
                run = monitor.run_now(start=start, end=end)
                start = end
                decision = policy.decide(run.executions)
                results.append(
                    _window_result(window, phase, len(ids), run, decision, columns, start)
                )
                _copy_execution_files(session, run, prefix, out_dir, window, report)
                if decision.retrain and retrain_job is None and config.retrain:
                    retrain_job = self._start_retraining(
                        session, config, report, prefix, endpoint, staged, train, features,
                        labels, window,
                    )  # fmt: skip
            if plan and config.retrain:
                # the policy needs results; plan the job it would start on drift
                fresh = _concat(train, drifted)
                retrain_job = self._stage_and_train(
                    session, config, report, prefix, fresh, staged, "plan"
                )
        report.details["windows"] = results
        if plan:
            report.add_text(
                "Plan",
                f"{len(windows)} monitoring windows of {len(test)} requests each "
                "(InvokeEndpoint with an inference id), ground truth uploads, one on-demand "
                "execution per monitor and window (CreateMonitoringSchedule with "
                "ScheduleExpression NOW), and the retraining job the policy starts when the "
                "drifted window ends CompletedWithViolations. Nothing ran, so no results.",
            )
            return
        self._report_monitoring(report, session, monitor, results, columns, config)
        if retrain_job is not None:
            self._compare_models(
                session, report, job, retrain_job, val, features, shifts, apply_drift
            )
        with report.timer("copy_files"):
            _copy_tree(session, report.artifacts["data_capture"], out_dir / "data-capture"
                       / endpoint_name, report, "capture")  # fmt: skip
            _copy_tree(session, gt_prefix + "/", out_dir / "ground-truth", report, "ground_truth")
            for schedule in monitor.schedules.values():
                base = f"{prefix}/monitoring/{endpoint_name}/{schedule}/baseline/"
                _copy_tree(
                    session, base,
                    out_dir / "monitoring" / "baselines" / endpoint_name / schedule / "baseline",
                    report, "baseline",
                )  # fmt: skip

    def _start_retraining(
        self,
        session: Any,
        config: WineMonitoringConfig,
        report: Report,
        prefix: str,
        endpoint: Any,
        staged: Any,
        train: Any,
        features: list[str],
        labels: dict[str, int],
        window: str,
    ) -> Any:
        """The fresh data: training split + drifted traffic labelled from the capture."""
        from smkit.usecases.wine_monitoring.data import labelled_capture

        lines: list[str] = []
        for obj in session.store.list(endpoint.capture_prefix):
            lines += session.store.get_bytes(obj.uri).decode().splitlines()
        drifted_ids = {k: v for k, v in labels.items() if "-drifted-" in k}
        labelled = labelled_capture(lines, drifted_ids, features)
        report.details["retraining"] = {
            "triggered_by_window": window,
            "labelled_traffic_rows": len(labelled),
            "training_rows": len(train),
        }
        fresh = _concat(train, labelled)
        return self._stage_and_train(session, config, report, prefix, fresh, staged, window)

    def _stage_and_train(
        self,
        session: Any,
        config: WineMonitoringConfig,
        report: Report,
        prefix: str,
        fresh: Any,
        staged: Any,
        tag: str,
    ) -> Any:
        from smkit.staging import StagingSpec
        from smkit.usecases.wine_monitoring.data import LABEL

        with report.timer("retrain_stage"):
            again = session.stage(
                StagingSpec(
                    source=fresh,
                    label=LABEL,
                    label_first=True,
                    header=False,
                    destination=f"{prefix}/retrain/data/",
                    name="wine-retrain",
                )
            )
        report.artifacts["retrain_channel_train"] = again.channels["train"]
        report.metrics["retrain_rows"] = int(again.rows["train"])
        # the job runs while monitoring goes on; it is waited for at the comparison
        job, _ = self._train(
            session, config, report, "retrain", again.channels["train"],
            staged.channels["validation"], wait=False,
        )  # fmt: skip
        return job

    def _compare_models(
        self,
        session: Any,
        report: Report,
        deployed: Any,
        retrained: Any,
        val: Any,
        features: list[str],
        shifts: dict[str, float],
        apply_drift: Any,
    ) -> None:
        """Both models' artifacts scored on the validation split, as it is and drifted."""
        import xgboost as xgb

        from smkit.usecases.wine_monitoring.data import LABEL
        from smkit.usecases.wine_monitoring.plots import before_after_figure

        with report.timer("retrain"):
            retrained.wait()
        report.metrics.update(
            {
                f"retrain_job_{k.replace(':', '_')}": round(v, 4)
                for k, v in retrained.metrics.items()
            }
        )
        report.artifacts["retrained_model_data"] = retrained.model_data
        with report.timer("evaluate_retrained"):
            models = {
                "before": _load_booster(session, deployed.model_data),
                "after": _load_booster(session, retrained.model_data),
            }
            sets = {"validation": val, "validation, drifted": apply_drift(val, shifts)}
            rows = []
            for label, data in sets.items():
                matrix = xgb.DMatrix(data[features].to_numpy(float))
                y = data[LABEL].to_numpy(int)
                row: dict[str, Any] = {"evaluation set": label, "rows": len(y)}
                for when, booster in models.items():
                    p = booster.predict(matrix)
                    row[f"accuracy {when}"] = round(float(((p >= 0.5) == y).mean()), 4)
                    row[f"auc {when}"] = _auc(y, p)
                rows.append(row)
        report.details["before_after"] = rows
        for r in rows:
            key = r["evaluation set"].replace(", ", "_")
            report.metrics[f"accuracy_before_{key}"] = r["accuracy before"]
            report.metrics[f"accuracy_after_{key}"] = r["accuracy after"]
        report.add_table("Retraining: deployed vs retrained model", rows)
        report.add_figure(
            "Accuracy before and after retraining",
            before_after_figure(rows, "accuracy"),
            filename="before_after.png",
        )

    @staticmethod
    def _report_monitoring(
        report: Report,
        session: Any,
        monitor: Any,
        results: list[dict[str, Any]],
        columns: dict[str, str],
        config: WineMonitoringConfig,
    ) -> None:
        from smkit.usecases.wine_monitoring.plots import (
            distribution_figure,
            series_figure,
            shap_figure,
        )

        schedules = monitor.describe()
        baseline_cfg = {
            s["MonitoringType"]: _baseline_config(monitor, s) for s in schedules.values()
        }
        dq_base = json.loads(
            session.store.get_bytes(baseline_cfg["DataQuality"]["StatisticsResource"]["S3Uri"])
        )
        clarify_base = json.loads(
            session.store.get_bytes(
                baseline_cfg["ModelExplainability"]["ConstraintsResource"]["S3Uri"]
            )
        )
        summary = []
        violations = []
        for r in results:
            summary.append(
                {
                    "window": r["window"],
                    "requests": r["requests"],
                    **{f"{k} status": v for k, v in r["status"].items()},
                    "drifted features": ", ".join(r["drifted_features"]) or "-",
                    "accuracy": r["accuracy"],
                    "SHAP nDCG": r["ndcg"],
                    "retrain": "yes" if r["retrain"] else "no",
                }
            )
            for v in r["violations"]:
                violations.append({"window": r["window"], **v})
        drifted_cols = sorted({c for r in results for c in r["drifted_columns"]})
        stats = {"baseline (training)": dq_base}
        for r in results:
            stats.setdefault(r["phase"], r["statistics"])
        report.add_drift_table(
            "Drift per feature: baseline vs the latest window",
            _drift_rows(results, columns, dq_base, report.details.get("drift_threshold")),
        )
        report.add_table("Monitoring windows", summary)
        report.add_table("Violations", violations)
        shown = dict(columns)  # every feature (and the prediction), drifted ones marked
        report.add_figure(
            "Per-feature distributions: baseline vs current",
            distribution_figure(stats, shown, drifted_cols),
            filename="distributions.png",
        )
        shap = {"baseline (training)": clarify_base["explanations"]["kernel_shap"]["label0"][
            "global_shap_values"]}  # fmt: skip
        for r in results:
            if r["shap"]:
                shap.setdefault(r["phase"], r["shap"])
        report.add_figure(
            "Global SHAP values (Clarify)",
            shap_figure(shap, "Global SHAP values: baseline vs monitoring windows"),
            filename="shap.png",
        )
        names = [r["window"] for r in results]
        series: dict[str, list[float | None]] = {}
        for c in ["_c0", *[c for c in drifted_cols if c != "_c0"]]:
            series[f"drift distance {columns[c]}"] = [r["drift"].get(c) for r in results]
        series["accuracy (model quality)"] = [r["accuracy"] for r in results]
        series["SHAP nDCG"] = [r["ndcg"] for r in results]
        report.add_figure(
            "Metrics per monitoring window",
            series_figure(names, series, "metrics per monitoring window"),
            filename="metrics.png",
        )
        normal = [r for r in results if r["phase"] == "normal"]
        drifted = [r for r in results if r["phase"] == "drifted"]
        report.metrics["normal_violations"] = sum(len(r["violations"]) for r in normal)
        report.metrics["normal_drifted_features"] = sorted(
            {f for r in normal for f in r["drifted_features"]}
        )
        report.metrics["drifted_features"] = sorted(
            {f for r in drifted for f in r["drifted_features"]}
        )
        report.metrics["drifted_violations"] = sum(len(r["violations"]) for r in drifted)
        report.metrics["accuracy_normal"] = normal[-1]["accuracy"] if normal else None
        report.metrics["accuracy_drifted"] = drifted[-1]["accuracy"] if drifted else None
        report.metrics["ndcg_normal"] = normal[-1]["ndcg"] if normal else None
        report.metrics["ndcg_drifted"] = drifted[-1]["ndcg"] if drifted else None
        report.metrics["retraining_triggered"] = any(r["retrain"] for r in results)
        report.details["monitoring_files_layout"] = OUT_LAYOUT
        del config


_FLOW = """flowchart TB
  subgraph build [1. train and deploy]
    direction LR
    A[wine data] --> B[stage train /<br/>validation / test]
    B --> C[XGBoost<br/>training job] --> D[endpoint,<br/>100% capture]
  end
  subgraph watch [2. monitor]
    direction LR
    E[baselines: data quality,<br/>model quality, SHAP] --> F[normal traffic]
    F --> G[executions:<br/>no violations]
    G --> H[drifted traffic] --> I[executions: drift +<br/>quality violations]
  end
  subgraph act [3. act]
    direction LR
    J[retraining policy] --> K[training job<br/>on fresh data]
    K --> L[before / after<br/>comparison] --> M[teardown]
  end
  build --> watch --> act
"""


@attrs.define
class _State:
    """What the run started (for the teardown)."""

    endpoint: Any = None
    monitor: Any = None


def _teardown(session: Any, config: WineMonitoringConfig, report: Report, state: _State) -> None:
    from smkit.backends._protocol import Capability

    plan = session.plan_mode
    # schedules run by the caller (local) stay, Stopped, beside their executions' records;
    # schedules that run on their own (SageMaker) are deleted
    by_caller = session.supports(Capability.CALLER_SCHEDULER) and not plan
    if state.monitor is not None:
        if by_caller:
            state.monitor.stop()
        if config.keep_endpoint:
            return
        if not by_caller:
            state.monitor.delete()
        report.details["monitors_stopped"] = True
    if state.endpoint is not None and not config.keep_endpoint:
        state.endpoint.delete(force=True)
        report.details["endpoint_deleted"] = True


def _histogram(statistics: dict[str, Any] | None, column: str) -> Any:
    """``(edges, fractions)`` of ``column``'s KLL buckets in a statistics.json, or ``None``."""
    from smkit.usecases.wine_monitoring.plots import _buckets

    for feature in (statistics or {}).get("features", []):
        if feature.get("name") == column:
            edges, fractions = _buckets(feature)
            return (edges, fractions) if fractions else None
    return None


def _drift_rows(
    results: list[dict[str, Any]],
    columns: dict[str, str],
    baseline: dict[str, Any],
    threshold: float | None,
) -> list[dict[str, Any]]:
    """One row per captured column: the KS distance of the latest window (and the first
    normal one) against the baseline, the threshold, and both distributions."""
    if not results:
        return []
    latest = results[-1]
    normal = next((r for r in results if r["phase"] == "normal"), None)
    rows = []
    for column, name in columns.items():
        distance = latest["drift"].get(column)
        row: dict[str, Any] = {
            "feature": name,
            "test": "KS distance",
            "statistic": distance,
            "threshold": threshold,
            "drifted": column in latest["drifted_columns"],
        }
        if normal is not None and normal is not latest:
            row[f"normal window ({normal['window']})"] = normal["drift"].get(column)
        row["baseline"] = _histogram(baseline, column)
        row["current"] = _histogram(latest.get("statistics"), column)
        rows.append(row)
    return rows


def _csv(rows: list[list[Any]]) -> str:
    return "".join(",".join(repr(v) if isinstance(v, float) else str(v) for v in r) + "\n"
                   for r in rows)  # fmt: skip


def _concat(a: Any, b: Any) -> Any:
    import pandas as pd

    if len(b) == 0:
        return a.copy()
    return pd.concat([a, b[a.columns]], ignore_index=True)


def _auc(y: Any, p: Any) -> float | None:
    from sklearn.metrics import roc_auc_score

    return round(float(roc_auc_score(y, p)), 4) if len(set(y.tolist())) == 2 else None


def _baseline_config(monitor: Any, record: dict[str, Any]) -> dict[str, Any]:
    """The ``BaselineConfig`` of a schedule (a DescribeMonitoringSchedule record): inline
    (the local backend), else that of its named job definition (SageMaker's
    ``Describe<MonitoringType>JobDefinition``)."""
    config = record["MonitoringScheduleConfig"]
    inline = config.get("MonitoringJobDefinition")
    if inline:
        return dict(inline["BaselineConfig"])
    kind = record["MonitoringType"]
    definition = monitor.backend.call(
        "sagemaker",
        f"Describe{kind}JobDefinition",
        {"JobDefinitionName": config["MonitoringJobDefinitionName"]},
    )
    return dict(definition[f"{kind}BaselineConfig"])


def _relax_model_quality(session: Any, monitor: Any, tolerance: float) -> None:
    """Give the suggested model-quality constraints ``tolerance`` of slack (in place, as one
    edits a baseline job's ``constraints.json`` on S3 before the schedule uses it)."""
    from smkit.monitoring.files import dumps_jackson

    for record in monitor.describe().values():
        if record.get("MonitoringType") != "ModelQuality":
            continue
        baseline = _baseline_config(monitor, record)
        job = baseline.get("BaseliningJobName")
        wait = getattr(getattr(monitor, "backend", None), "_wait_processing_job", None)
        if job and wait is not None:  # SageMaker: the baseline job writes the file first
            wait(job)
        uri = baseline["ConstraintsResource"]["S3Uri"]
        relaxed = relax_model_quality(json.loads(session.store.get_bytes(uri)), tolerance)
        session.store.put_bytes(uri, (dumps_jackson(relaxed) + "\n").encode())


def _window_result(
    window: str,
    phase: str,
    requests: int,
    run: Any,
    decision: RetrainingDecision,
    columns: dict[str, str],
    window_end: datetime,
) -> dict[str, Any]:
    by_type = {e.monitor_type: e for e in run.executions}
    dq = by_type.get("DataQuality")
    mq = by_type.get("ModelQuality")
    clar = by_type.get("ModelExplainability")
    drifted_cols = [
        v["feature_name"]
        for v in (dq.violations["violations"] if dq else [])
        if v["constraint_check_type"] == "baseline_drift_check"
    ]
    accuracy = None
    if mq and mq.statistics:
        accuracy = round(mq.statistics["binary_classification_metrics"]["accuracy"]["value"], 4)
    ndcg = None
    if clar and clar.metrics:
        ndcg = round(next(iter(clar.metrics.values()))["Average"], 4)
    violations = []
    for e in run.executions:
        for v in e.violations.get("violations", []):
            target = v.get("feature_name") or v.get("metric_name") or v.get("label", "")
            violations.append(
                {
                    "monitor": e.monitor_type,
                    "feature / metric": columns.get(target, target),
                    "column": target,
                    "check": v["constraint_check_type"],
                    "description": v.get("description", ""),
                }
            )
    drift = {}
    if dq:
        for name, stats in dq.metrics.items():
            if name.startswith("feature_baseline_drift_"):
                drift[name[len("feature_baseline_drift_") :]] = round(stats["Average"], 4)
    return {
        "window": window,
        "phase": phase,
        "requests": requests,
        "status": {e.monitor_type: e.status for e in run.executions},
        "items": {e.monitor_type: e.item_count for e in run.executions},
        "drifted_columns": drifted_cols,
        "drifted_features": [columns.get(c, c) for c in drifted_cols],
        "drift": drift,
        "accuracy": accuracy,
        "ndcg": ndcg,
        "shap": (clar.analysis or {})
        .get("explanations", {})
        .get("kernel_shap", {})
        .get("label0", {})
        .get("global_shap_values")
        if clar
        else None,
        "violations": violations,
        "retrain": decision.retrain,
        "retrain_reasons": list(decision.reasons),
        "statistics": dq.statistics if dq else None,
        "executions": {e.monitor_type: e.name for e in run.executions},
        "window_end": window_end.isoformat(),
    }


def _copy_tree(session: Any, prefix: str, dest: Path, report: Report, kind: str) -> None:
    files = report.details.setdefault("monitoring_files", [])
    for obj in session.store.list(prefix):
        rel = obj.uri[len(prefix) :].lstrip("/")
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(session.store.get_bytes(obj.uri))
        files.append({"kind": kind, "uri": obj.uri, "path": str(target)})


def _copy_execution_files(
    session: Any, run: Any, prefix: str, out_dir: Path, window: str, report: Report
) -> None:
    root = f"{prefix}/monitoring/"
    for e in run.executions:
        uri = e.uris.get("violations")
        if not uri:
            continue
        folder = uri.rsplit("/", 1)[0] + "/"
        before = len(report.details.get("monitoring_files", []))
        _copy_tree(
            session, folder,
            out_dir / "monitoring" / "executions" / window / folder[len(root) :],
            report, f"execution:{e.monitor_type}",
        )  # fmt: skip
        for f in report.details["monitoring_files"][before:]:
            f["window"] = window


def _load_booster(session: Any, model_data: str) -> Any:
    """The XGBoost booster inside a training job's ``model.tar.gz``."""
    import warnings

    import xgboost as xgb

    with tempfile.TemporaryDirectory() as tmp:
        archive = Path(tmp, "model.tar.gz")
        archive.write_bytes(session.store.get_bytes(model_data))
        with tarfile.open(archive) as tar:
            tar.extractall(tmp, filter="data")
        booster = xgb.Booster()
        with warnings.catch_warnings():  # "xgboost-model" has no extension: format guessed
            warnings.simplefilter("ignore")
            booster.load_model(str(Path(tmp, "xgboost-model")))
    return booster


def _feature_importance(session: Any, model_data: str, features: list[str]) -> dict[str, float]:
    """Gain importance of each feature, read from the job's ``model.tar.gz``."""
    scores = _load_booster(session, model_data).get_score(importance_type="gain")
    out = {}
    for key, value in scores.items():
        index = int(key[1:]) if key.startswith("f") and key[1:].isdigit() else None
        out[features[index] if index is not None else key] = round(float(value), 4)
    return dict(sorted(out.items(), key=lambda kv: -kv[1]))
