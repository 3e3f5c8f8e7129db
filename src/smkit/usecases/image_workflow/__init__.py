"""``image-workflow``: an image classifier endpoint behind a Lambda + Step Functions workflow.

The seed project's flow, end to end:

1. generate a three-class shapes image set
   (`smkit.datasets.synthetic_images.make_shapes_dataset`; a share of the images is
   genuinely ambiguous, so confidences vary) and upload it to the store, one object per image
   in the class-per-folder layout;
2. train a small CNN (PyTorch, CPU) in script mode (``scripts/train.py``);
3. deploy it with the scripts' inference hooks (``scripts/inference.py``) on an endpoint that
   captures 100% of its requests;
4. build the state machine of three Lambdas with `smkit.workflow`:
   ``SerializeImageData`` (the image from S3, base64) → ``Classify`` (the endpoint's class
   probabilities) → ``FilterInferences`` (best class and its confidence) → the
   `confidence_filter` Choice, which fails the execution with
   ``ConfidenceBelowThreshold`` / "confidence below threshold" under the threshold;
5. run one execution per held-out test image with ``session.run_workflow`` and write
   ``executions.json`` (each execution's status, output, error and history);
6. report: the state machine drawn with one execution's path highlighted, the inference
   confidences over time read back from the endpoint's data-capture files, a table of the
   executions; then delete the endpoint.

The machine-learning parts live in ``scripts/`` (shipped to the training and inference
containers as they are): ``train.py``, ``inference.py`` and ``shapes_net.py``. The
``classify`` and ``filterInferences`` Lambda handlers are in `.lambdas`; the first step
is `smkit.workflow.handlers.serialize_image_data`.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, ClassVar

import attrs

from smkit.backends import Capability
from smkit.errors import ConfigError
from smkit.report import Report
from smkit.usecases._base import UseCaseConfig

__all__ = ["ImageWorkflow", "ImageWorkflowConfig", "SCRIPTS_DIR"]

#: Directory of the training and inference scripts.
SCRIPTS_DIR = Path(__file__).resolve().parent / "scripts"

_QUICK = {"n_train": 600, "n_val": 90, "n_test": 60, "epochs": 10, "executions": 8}
_FULL = {"n_train": 1800, "n_val": 150, "n_test": 150, "epochs": 20, "executions": 30}
_METRICS = {
    "validation:accuracy": r"val_accuracy=([0-9.]+)",
    "validation:loss": r"val_loss=([0-9.]+)",
    "test:accuracy": r"test_accuracy=([0-9.]+)",
    "test:loss": r"test_loss=([0-9.]+)",
}


def _positive_or_none(inst: Any, attr: attrs.Attribute, value: Any) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise ConfigError(f"image-workflow setting {attr.name}={value!r} must be an integer >= 1")


@attrs.define
class ImageWorkflowConfig(UseCaseConfig):
    """Settings of ``image-workflow``.

    Sizes left at ``None`` take the quick or the full run's value (quick: 600 training,
    90 validation and 60 test images, 10 epochs, 8 executions; full: 1800 / 150 / 150 images,
    20 epochs, 30 executions).

    Attributes:
        threshold: Lowest acceptable confidence; an execution whose best class probability is
            below it fails with "confidence below threshold". Default: 0.9 (the seed's
            filter) in the full run, 0.5 in the quick run, whose model (10 epochs on 600
            images) is far less confident (its test confidences lie around 0.4-0.7).
        n_train: Training images.
        n_val: Validation images.
        n_test: Held-out test images (the workflow's inputs come from this split).
        executions: Workflow executions to run (one test image each, at most ``n_test``).
        epochs: Training epochs.
        image_size: Side length of the images in pixels.
        ambiguous_fraction: Share of deliberately hard images, in [0, 1].
        seed: Seed of the image set and the training.
        prefix: ``s3://`` prefix for the images and the capture files (default
            ``s3://<default bucket>/image-workflow/``).
        endpoint_name: Endpoint name (default ``image-workflow-<timestamp>``).
        workflow_name: State machine name.
        instance_type: Training instance type on AWS.
        endpoint_instance_type: Endpoint instance type on AWS.
        keep_endpoint: Leave the endpoint running at the end.
    """

    threshold: float | None = attrs.field(default=None)
    n_train: int | None = attrs.field(default=None, validator=_positive_or_none)
    n_val: int | None = attrs.field(default=None, validator=_positive_or_none)
    n_test: int | None = attrs.field(default=None, validator=_positive_or_none)
    executions: int | None = attrs.field(default=None, validator=_positive_or_none)
    epochs: int | None = attrs.field(default=None, validator=_positive_or_none)
    image_size: int = 32
    ambiguous_fraction: float = 0.2
    seed: int = 0
    prefix: str | None = None
    endpoint_name: str | None = None
    workflow_name: str = "image-workflow"
    instance_type: str = "ml.m5.xlarge"
    endpoint_instance_type: str = "ml.m5.large"
    keep_endpoint: bool = False

    @threshold.validator
    def _check_threshold(self, attr: attrs.Attribute, value: Any) -> None:
        if value is None:
            return
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
            raise ConfigError(f"image-workflow threshold={value!r} must be a number in [0, 1]")

    @property
    def effective_threshold(self) -> float:
        """``threshold``, or this mode's default (0.9 full, 0.5 quick)."""
        if self.threshold is not None:
            return float(self.threshold)
        return 0.5 if self.quick else 0.9

    def size(self, key: str) -> int:
        """The effective value of a size setting (``n_train``, ``epochs``...) in this mode."""
        value = getattr(self, key)
        if value is not None:
            return int(value)
        return (_QUICK if self.quick else _FULL)[key]


class _ImageSerializer:
    """Sends already-encoded image bytes as they are (``image/png``)."""

    content_type = "image/png"

    def serialize(self, data: bytes) -> bytes:
        return data


class ImageWorkflow:
    """Train, deploy and classify images through a three-Lambda state machine."""

    name: ClassVar[str] = "image-workflow"
    description: ClassVar[str] = (
        "Image classifier endpoint behind a Lambda + Step Functions workflow with a "
        "confidence filter"
    )
    Config: ClassVar[type] = ImageWorkflowConfig

    # -- the pieces ------------------------------------------------------------------------
    @staticmethod
    def workflow(config: ImageWorkflowConfig, endpoint_name: str, classes: tuple[str, ...]) -> Any:
        """The seed's state machine: serialize → classify → filter → confidence check."""
        from smkit.workflow import (
            LambdaSpec,
            Retry,
            Succeed,
            Task,
            Workflow,
            confidence_filter,
            serialize_image_data_spec,
        )

        lambdas = "smkit.usecases.image_workflow.lambdas"
        classify = LambdaSpec(
            f"{lambdas}:classify",
            name="classify",
            timeout=60,
            memory=256,
            environment={"ENDPOINT_NAME": endpoint_name},
            standalone=True,
            description="Classify a base64 image with the SageMaker endpoint",
        )
        filter_ = LambdaSpec(
            f"{lambdas}:filter_inferences",
            name="filterInferences",
            timeout=10,
            environment={
                "THRESHOLD": repr(config.effective_threshold),
                "CLASSES": ",".join(classes),
            },
            standalone=True,
            description="Best class and its confidence",
        )
        retry = [
            Retry(
                [
                    "Lambda.ServiceException",
                    "Lambda.AWSLambdaException",
                    "Lambda.SdkClientException",
                ],
                interval_seconds=1,
                max_attempts=2,
                backoff_rate=2.0,
            )
        ]

        def task(name: str, spec: Any) -> Any:
            return Task.lambda_(name, spec, integration=True, output_path="$.Payload", retry=retry)

        chain = (
            task("SerializeImageData", serialize_image_data_spec())
            >> task("Classify", classify)
            >> task("FilterInferences", filter_)
            >> confidence_filter(config.effective_threshold)
            >> Succeed("ConfidenceCheckPassed")
        )
        return Workflow(
            config.workflow_name,
            chain,
            comment="Serialize an image, classify it, filter on confidence",
        )

    @staticmethod
    def local_handlers(session: Any, endpoint_name: str, workflow: Any) -> dict[str, Any]:
        """The local backend's stand-ins for what AWS Lambda gets from the zip: the same
        handlers, reading this session's store and calling this session's endpoint."""
        from smkit.usecases.image_workflow.lambdas import make_classify

        specs = workflow.lambda_specs()
        root = str(session.backend.root)
        serialize = attrs.evolve(
            specs["serializeImageData"],
            environment={**specs["serializeImageData"].environment, "SMKIT_HOME": root},
        )
        predictor = session.predictor(
            endpoint_name, serializer=_ImageSerializer(), deserializer="json"
        )

        def predict(endpoint: str, data: bytes, content_type: str) -> Any:
            return predictor.predict(data)

        return {"serializeImageData": serialize, "classify": make_classify(predict)}

    # -- the run ---------------------------------------------------------------------------
    def run(self, session: Any, config: ImageWorkflowConfig, out_dir: Path) -> Report:
        """Run the flow (see the module docstring); returns the report."""
        from smkit.datasets.synthetic_images import make_shapes_dataset
        from smkit.serving import DataCaptureSpec, EndpointSpec, ModelSpec
        from smkit.training import TrainingSpec

        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        plan = session.plan_mode
        report = Report(
            name=self.name, title="Image classification behind a Step Functions workflow"
        )
        prefix = (config.prefix or f"s3://{session.default_bucket()}/image-workflow/").rstrip("/")
        if not prefix.startswith("s3://"):
            raise ConfigError(f"prefix {config.prefix!r} must be an s3:// URI")
        endpoint_name = config.endpoint_name or time.strftime("image-workflow-%Y%m%d-%H%M%S")
        n_exec = min(config.size("executions"), config.size("n_test"))
        report.details["config"] = attrs.asdict(config)
        report.details["threshold"] = config.effective_threshold

        # 1. the image set, uploaded object by object
        with report.timer("generate"):
            images = make_shapes_dataset(
                out_dir / "images",
                n_train=config.size("n_train"),
                n_val=config.size("n_val"),
                n_test=config.size("n_test"),
                size=config.image_size,
                ambiguous_fraction=config.ambiguous_fraction,
                seed=config.seed,
            )
        with report.timer("upload"):
            uploaded = 0
            for items in images.files.values():
                for rel, _ in items:
                    _, wrote = session.store.put_file(
                        f"{prefix}/data/{rel}", images.root / rel, content_type="image/png"
                    )
                    uploaded += int(wrote)
        counts = images.counts()
        report.metrics["images"] = {s: sum(c.values()) for s, c in counts.items()}
        report.metrics["images_uploaded"] = uploaded
        report.artifacts["images"] = f"{prefix}/data/"
        report.artifacts["images_local"] = str(images.root)

        # 2. training
        spec = TrainingSpec(
            entry_point="train.py",
            source_dir=str(SCRIPTS_DIR),
            framework="pytorch",
            hyperparameters={
                "epochs": config.size("epochs"),
                "image-size": config.image_size,
                "seed": config.seed,
                "num-threads": 2,
            },
            inputs={
                "train": f"{prefix}/data/train/",
                "validation": f"{prefix}/data/val/",
                "test": f"{prefix}/data/test/",
            },
            instance_type=config.instance_type,
            metric_definitions=_METRICS,
            base_job_name="image-workflow",
        )
        with report.timer("train"):
            job = session.train(spec)
            if not plan:
                job.wait()
        report.artifacts["training_job"] = job.name
        if plan:
            bucket = session.default_bucket()
            model = ModelSpec(
                model_data=f"s3://{bucket}/{job.name}/output/model.tar.gz",
                framework="pytorch",
                framework_version=spec.effective_version,
                entry_point="inference.py",
                source_dir=str(SCRIPTS_DIR),
            )
        else:
            report.metrics.update({k.replace(":", "_"): v for k, v in job.metrics.items()})
            report.artifacts["model_data"] = job.model_data
            model = job.model(entry_point="inference.py", source_dir=str(SCRIPTS_DIR))

        # 3. endpoint with 100% data capture; 4-5. the workflow and its executions
        capture_dest = f"{prefix}/data-capture"
        endpoint_spec = EndpointSpec(
            name=endpoint_name,
            instance_type=config.endpoint_instance_type,
            data_capture=DataCaptureSpec(sampling_percentage=100, destination=capture_dest),
            startup_timeout=180.0,
        )
        endpoint = None
        try:
            with report.timer("deploy"):
                endpoint = session.deploy(model, endpoint_spec)
            report.artifacts["endpoint"] = endpoint_name
            report.artifacts["data_capture"] = f"{capture_dest}/{endpoint_name}/"
            workflow = self.workflow(config, endpoint_name, images.classes)
            (out_dir / "state_machine.asl.json").write_text(
                json.dumps(workflow.to_asl(), indent=2) + "\n"
            )
            report.artifacts["state_machine"] = str(out_dir / "state_machine.asl.json")
            with report.timer("executions"):
                records = self._run_executions(
                    session, workflow, endpoint_name, images, prefix, n_exec
                )
            if not plan:
                with report.timer("read_capture"):
                    endpoint.flush_capture()
                    captured = read_capture(session.store, endpoint.capture_prefix or "")
        finally:
            if endpoint is not None and not config.keep_endpoint and not plan:
                with report.timer("delete_endpoint"):
                    endpoint.delete()
                report.details["endpoint_deleted"] = True

        path = out_dir / "executions.json"
        path.write_text(json.dumps(records, indent=2, default=str) + "\n")
        report.artifacts["executions"] = str(path)
        self._report_executions(report, workflow, records, plan)
        if not plan:
            report.metrics["captured_requests"] = len(captured)
            (out_dir / "capture_confidences.json").write_text(json.dumps(captured, indent=2) + "\n")
            report.artifacts["capture_confidences"] = str(out_dir / "capture_confidences.json")
            if captured:
                report.add_figure(
                    "Inference confidence over time (data capture)",
                    confidence_plot(captured, config.effective_threshold),
                    filename="capture_confidence.png",
                )
        return report

    @staticmethod
    def _run_executions(
        session: Any, workflow: Any, endpoint_name: str, images: Any, prefix: str, n: int
    ) -> list[dict[str, Any]]:
        from smkit import uri as s3uri

        bucket, key_prefix = s3uri.parse(prefix + "/")
        plan = session.plan_mode
        local = session.supports(Capability.IN_PROCESS_HANDLERS)
        handlers = ImageWorkflow.local_handlers(session, endpoint_name, workflow) if local else None
        records: list[dict[str, Any]] = []
        state_machine_arn = None
        for rel, label in images.files["test"][:n]:
            event = {"s3_bucket": bucket, "s3_key": f"{key_prefix}data/{rel}"}
            started = time.perf_counter()
            if plan and state_machine_arn is not None:
                # the functions and the state machine are planned once; then only executions
                arn = session.backend.start_execution(state_machine_arn, event)
                record = {"executionArn": arn, "status": "PLANNED", "input": event}
            else:
                opts = {"handlers": handlers} if handlers else {}
                execution = session.run_workflow(workflow, event, **opts)
                state_machine_arn = execution.state_machine_arn
                record = {
                    "executionArn": execution.arn,
                    "name": execution.name,
                    "status": "PLANNED" if plan else execution.status,
                    "input": event,
                    "output": execution.output,
                    "error": execution.error,
                    "cause": execution.cause,
                    "path": execution.path,
                    "history": execution.history(),
                }
            record.update(
                image=f"s3://{bucket}/{event['s3_key']}",
                true_label=label,
                ambiguous=rel in images.ambiguous,
                seconds=round(time.perf_counter() - started, 3),
            )
            records.append(record)
        return records

    @staticmethod
    def _report_executions(
        report: Report, workflow: Any, records: list[dict[str, Any]], plan: bool
    ) -> None:
        from smkit.workflow import CONFIDENCE_ERROR

        statuses = [r["status"] for r in records]
        report.metrics["executions"] = len(records)
        if plan:
            report.add_mermaid("State machine", workflow.diagram())
            report.add_text(
                "Plan",
                f"{len(records)} executions planned (StartExecution); nothing ran, so no "
                "outputs, confidences or captures.",
            )
            report.add_table(
                "Planned executions",
                [{"image": r["image"], "true label": r["true_label"]} for r in records],
            )
            return
        report.metrics["succeeded"] = statuses.count("SUCCEEDED")
        report.metrics["failed"] = statuses.count("FAILED")
        report.metrics["below_threshold"] = sum(r.get("error") == CONFIDENCE_ERROR for r in records)
        rows = []
        for r in records:
            body = (r.get("output") or {}).get("body") or _last_body(r.get("history") or [])
            conf = body.get("confidence")
            rows.append(
                {
                    "execution": r.get("name", "")[:13],
                    "image": r["image"].rsplit("/", 1)[-1],
                    "true label": r["true_label"],
                    "ambiguous": r["ambiguous"],
                    "predicted": body.get("label"),
                    "confidence": round(conf, 4) if isinstance(conf, float) else conf,
                    "status": r["status"],
                    "error": r.get("error") or "",
                    "path": " → ".join(r.get("path") or []),
                }
            )
        labelled = [row for row in rows if row["predicted"] is not None]
        if labelled:
            right = sum(row["predicted"] == row["true label"] for row in labelled)
            report.metrics["workflow_accuracy"] = round(right / len(labelled), 4)
            passed = [row for row in labelled if row["status"] == "SUCCEEDED"]
            if passed:
                ok = sum(row["predicted"] == row["true label"] for row in passed)
                report.metrics["accuracy_of_passed"] = round(ok / len(passed), 4)
        # draw a failed execution's path if there is one (the interesting case), else a pass
        failed_runs = [r for r in records if r["status"] == "FAILED"]
        shown = (failed_runs or records or [None])[0]
        if shown is not None:
            failed = shown["path"][-1] if shown["status"] != "SUCCEEDED" and shown["path"] else None
            report.add_mermaid(
                f"State machine, path of execution {shown.get('name', '')[:13]} "
                f"({shown['status']})",
                workflow.diagram(shown["path"], failed=failed),
            )
            report.details["diagram_execution"] = shown.get("executionArn")
        report.add_table("Executions", rows)


def _last_body(events: list[dict[str, Any]]) -> dict[str, Any]:
    """The body of the last state output in a history (what a failed execution reached)."""
    for event in reversed(events):
        details = event.get("stateExitedEventDetails") or {}
        if "output" in details:
            try:
                doc = json.loads(details["output"])
            except (TypeError, ValueError):
                continue
            if isinstance(doc, dict) and isinstance(doc.get("body"), dict):
                return dict(doc["body"])
    return {}


def read_capture(store: Any, prefix: str) -> list[dict[str, Any]]:
    """Inference time and class probabilities of each captured request under ``prefix``.

    Reads SageMaker's capture JSONL (``captureData.endpointOutput``, JSON or base64) and
    returns ``[{"time": iso, "event_id": ..., "probabilities": [...], "confidence": max}]``
    sorted by time; lines whose output is not a probability answer are skipped.
    """
    from smkit.monitoring.engines.capture import iter_capture_records, payload_text
    from smkit.usecases.image_workflow.lambdas import probabilities_of

    rows: list[dict[str, Any]] = []
    if not prefix:
        return rows
    for info in store.list(prefix):
        if not info.uri.endswith(".jsonl"):
            continue
        lines = store.get_bytes(info.uri).decode("utf-8").splitlines()
        for record in iter_capture_records(lines):
            try:
                probs = probabilities_of(payload_text(record.output or {}))
            except (ValueError, KeyError, TypeError):
                continue
            meta = record.metadata
            rows.append(
                {
                    "time": meta.get("inferenceTime"),
                    "event_id": meta.get("eventId"),
                    "probabilities": probs,
                    "confidence": max(probs) if probs else None,
                }
            )
    rows.sort(key=lambda r: (str(r["time"]), str(r["event_id"])))
    return rows


def confidence_plot(captured: list[dict[str, Any]], threshold: float) -> Any:
    """Matplotlib figure: each captured inference's confidence in order of inference time,
    with the threshold (the seed's "DataCapture visualisation")."""
    import matplotlib

    matplotlib.use("Agg")
    from datetime import datetime

    import matplotlib.pyplot as plt

    times = []
    for row in captured:
        try:
            times.append(datetime.fromisoformat(str(row["time"]).replace("Z", "+00:00")))
        except ValueError:
            times.append(None)
    conf = [row["confidence"] for row in captured]
    use_time = all(t is not None for t in times) and len(set(times)) > 1
    xs: list[Any] = times if use_time else list(range(1, len(conf) + 1))
    below = [c < threshold for c in conf]
    fig, ax = plt.subplots(figsize=(7, 3.2), constrained_layout=True)
    ax.plot(xs, conf, color="#bbbbbb", lw=1, zorder=1)
    ax.scatter(
        [x for x, b in zip(xs, below) if not b],
        [c for c, b in zip(conf, below) if not b],
        color="#2ca02c",
        label="passes",
        zorder=2,
    )
    ax.scatter(
        [x for x, b in zip(xs, below) if b],
        [c for c, b in zip(conf, below) if b],
        color="#d62728",
        marker="x",
        label="below threshold",
        zorder=2,
    )
    ax.axhline(threshold, color="#ff9900", ls="--", label=f"threshold {threshold:g}")
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("confidence (max probability)")
    ax.set_xlabel("inference time (UTC)" if use_time else "captured request (in time order)")
    if use_time:
        fig.autofmt_xdate()
    ax.set_title("Endpoint inferences from data capture")
    ax.legend(loc="lower left", fontsize=8)
    return fig
