"""``pneumonia-calibration``: chest X-ray pneumonia detection with a calibrator deployed on top.

The flow, end to end:

1. the images: a folder in Kaggle's "Chest X-Ray Images (Pneumonia)" layout
   (``train|val|test/NORMAL|PNEUMONIA/*.jpeg``, ``--set data=DIR``) or, by default, a small
   class-imbalanced synthetic set in the same layout
   (`smkit.datasets.synthetic_images.make_chest_xray_dataset`), uploaded to the store
   one object per image (channels ``train``, ``validation`` and the held-out ``test``);
2. training in script mode (``scripts/train.py``, PyTorch on CPU): a small CNN (or resnet18
   from scratch, ``--set arch=resnet18``) with class-balanced loss, then temperature, Platt,
   isotonic, histogram-binning and beta calibrators fitted on the validation outputs (at least
   300 images: a too small validation split is topped up from train), the one with the lowest
   cross-validated ECE among those within 0.01 of the best cross-validated log-loss kept, and
   the decision threshold on the calibrated probability for the target sensitivity chosen on
   validation. The test split is *not* given to the job;
3. the job's ``output.tar.gz`` is read back (validation predictions, calibrator selection);
4. classifier and calibrator deployed as one endpoint (``scripts/inference.py`` answers with
   the raw and the calibrated probability). On AWS it is a serial inference pipeline of two
   containers: the classifier (``inference.py``, calibrator off) then the calibrator
   (``scripts/calibrator_inference.py``);
5. every test image sent through the endpoint's predictor; from its answers: ECE (15
   equal-width bins of the PNEUMONIA probability), Brier score and log-loss before and after
   calibration, reliability diagrams, and sensitivity/specificity at the chosen threshold;
6. ``calibration.json`` and ``predictions.csv`` written; the endpoint deleted.

The machine-learning parts live in ``scripts/`` (shipped to the training and inference
containers as they are):

- ``scripts/train.py``: a SageMaker script-mode training script. Trains a small CNN (or a
  torchvision resnet18 from scratch, ``--arch resnet18``) on images in Kaggle's "Chest X-Ray
  Images (Pneumonia)" layout, fits temperature, Platt, isotonic, histogram and beta calibrators
  on the validation outputs, picks one by cross-validated ECE and log-loss, and writes the model,
  the calibrator and (with a ``test`` split) ``calibration.json``, ``predictions.csv`` and
  ``reliability.json``.
- ``scripts/calibration.py``: the calibration math (pure numpy): calibrators, ECE with 15
  equal-width bins, Brier score, log-loss, reliability-diagram data, decision threshold for a
  target sensitivity; also runnable on its own over prediction CSVs.
- ``scripts/inference.py``: classifier and calibrator as one endpoint (raw and calibrated
  probability). ``scripts/calibrator_inference.py``: the calibrator alone, the second
  container of a serial inference pipeline.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import tarfile
import time
from pathlib import Path
from typing import Any, ClassVar

import attrs

from smkit.backends import Capability
from smkit.errors import ConfigError, ModelError, SourceNotFoundError
from smkit.report import Report
from smkit.usecases._base import UseCaseConfig

__all__ = ["SCRIPTS_DIR", "PneumoniaCalibration", "PneumoniaCalibrationConfig", "load_math"]

#: Directory of the training and inference scripts.
SCRIPTS_DIR = Path(__file__).resolve().parent / "scripts"

CLASSES = ("NORMAL", "PNEUMONIA")
IMAGE_SUFFIXES = (".jpeg", ".jpg", ".png")
_SPLITS = {"train": ("train",), "validation": ("val", "validation"), "test": ("test",)}
_QUICK = {"n_train": 400, "n_val": 300, "n_test": 300, "epochs": 6, "width": 8}
_FULL = {"n_train": 1200, "n_val": 500, "n_test": 500, "epochs": 15, "width": 16}
_METRICS = {
    "validation:loss": r"val_loss=([0-9.]+)",
    "validation:auc": r"val_auc=([0-9.]+)",
}
_ARCHS = ("small", "resnet18")
_METHODS = ("temperature", "platt", "isotonic", "histogram", "beta")


def _positive_or_none(inst: Any, attr: attrs.Attribute, value: Any) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise ConfigError(
            f"pneumonia-calibration setting {attr.name}={value!r} must be an integer >= 1"
        )


def _positive(inst: Any, attr: attrs.Attribute, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(
            f"pneumonia-calibration setting {attr.name}={value!r} must be an integer >= 1"
        )


@attrs.define
class PneumoniaCalibrationConfig(UseCaseConfig):
    """Settings of ``pneumonia-calibration``.

    Sizes left at ``None`` take the quick or the full run's value (quick: 400 training, 300
    validation and 300 test synthetic images, 6 epochs, network width 8; full: 1200 / 500 /
    500 images, 15 epochs, width 16).

    Attributes:
        data: A folder in Kaggle's "Chest X-Ray Images (Pneumonia)" layout
            (``train/``, ``test/`` and optionally ``val/``, each with ``NORMAL/`` and
            ``PNEUMONIA/``). Default: generate the synthetic set into the output directory.
        sensitivity: Target sensitivity (recall of PNEUMONIA) the decision threshold is chosen
            for, on the validation outputs; in (0, 1].
        arch: ``small`` (a small CNN) or ``resnet18`` (torchvision resnet18 from scratch).
        epochs: Training epochs.
        width: Channel width of the small CNN.
        n_train: Synthetic training images.
        n_val: Synthetic validation images.
        n_test: Synthetic held-out test images.
        image_size: Side length the images are resized to (and the synthetic set's size).
        max_images: Cap per split given to the training script (0: all); handy on the real set.
        methods: Calibrators to choose from (comma-separated: temperature, platt, isotonic,
            histogram, beta).
        invoke_batch: Images per endpoint request (base64 in a JSON body).
        serial_pipeline: On AWS, deploy classifier and calibrator as a serial inference
            pipeline of two containers (else one container doing both, as locally).
        seed: Seed of the synthetic set and the training.
        prefix: ``s3://`` prefix for the images (default
            ``s3://<default bucket>/pneumonia-calibration/``).
        endpoint_name: Endpoint name (default ``pneumonia-calibration-<timestamp>``).
        instance_type: Training instance type on AWS.
        endpoint_instance_type: Endpoint instance type on AWS.
        keep_endpoint: Leave the endpoint running at the end.
    """

    data: str | None = None
    sensitivity: float = attrs.field(default=0.95)
    arch: str = attrs.field(default="small")
    epochs: int | None = attrs.field(default=None, validator=_positive_or_none)
    width: int | None = attrs.field(default=None, validator=_positive_or_none)
    n_train: int | None = attrs.field(default=None, validator=_positive_or_none)
    n_val: int | None = attrs.field(default=None, validator=_positive_or_none)
    n_test: int | None = attrs.field(default=None, validator=_positive_or_none)
    image_size: int = attrs.field(default=64)
    max_images: int = 0
    methods: str = attrs.field(default=",".join(_METHODS))
    invoke_batch: int = attrs.field(default=16, validator=_positive)
    serial_pipeline: bool = True
    seed: int = 0
    prefix: str | None = None
    endpoint_name: str | None = None
    instance_type: str = "ml.m5.xlarge"
    endpoint_instance_type: str = "ml.m5.large"
    keep_endpoint: bool = False

    @sensitivity.validator
    def _check_sensitivity(self, attr: attrs.Attribute, value: Any) -> None:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        if not ok or not 0 < value <= 1:
            raise ConfigError(
                f"pneumonia-calibration sensitivity={value!r} must be a number in (0, 1]"
            )

    @arch.validator
    def _check_arch(self, attr: attrs.Attribute, value: Any) -> None:
        if value not in _ARCHS:
            raise ConfigError(
                f"pneumonia-calibration arch={value!r} is unknown; use one of {', '.join(_ARCHS)}"
            )

    @image_size.validator
    def _check_size(self, attr: attrs.Attribute, value: Any) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or not 32 <= value <= 512:
            raise ConfigError(
                f"pneumonia-calibration image_size={value!r} must be an integer in [32, 512]"
            )

    @methods.validator
    def _check_methods(self, attr: attrs.Attribute, value: Any) -> None:
        names = [m.strip() for m in str(value).split(",") if m.strip()]
        bad = [m for m in names if m not in _METHODS]
        if not names or bad:
            raise ConfigError(
                f"pneumonia-calibration methods={value!r}: use a comma-separated subset of "
                f"{', '.join(_METHODS)}"
            )

    def size(self, key: str) -> int:
        """The effective value of a size setting (``n_train``, ``epochs``...) in this mode."""
        value = getattr(self, key)
        if value is not None:
            return int(value)
        return (_QUICK if self.quick else _FULL)[key]


def load_math() -> Any:
    """The scripts' calibration module (``scripts/calibration.py``, numpy only)."""
    import importlib.util
    import sys

    name = "_smkit_pneumonia_calibration_math"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, SCRIPTS_DIR / "calibration.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def find_splits(root: str | Path) -> dict[str, list[tuple[Path, int]]]:
    """The images of a Kaggle-layout folder: split -> ``[(path, label)]`` (1 = PNEUMONIA).

    Raises:
        SourceNotFoundError: the folder, its ``train`` or its ``test`` split is missing or
            has no images of one of the classes.
    """
    root = Path(root).expanduser()
    if not root.is_dir():
        raise SourceNotFoundError(
            f"data folder {str(root)!r} does not exist",
            hint="pass a folder in Kaggle's layout: train|val|test/NORMAL|PNEUMONIA/*.jpeg",
        )
    out: dict[str, list[tuple[Path, int]]] = {}
    for key, names in _SPLITS.items():
        d = next((root / n for n in names if (root / n).is_dir()), None)
        items: list[tuple[Path, int]] = []
        if d is not None:
            for label, cls in enumerate(CLASSES):
                if (d / cls).is_dir():
                    items += [
                        (p, label)
                        for p in sorted((d / cls).iterdir())
                        if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
                    ]
        out[key] = items
    for key in ("train", "test"):
        labels = {lab for _, lab in out[key]}
        if labels != {0, 1}:
            raise SourceNotFoundError(
                f"data folder {str(root)!r}: the {key!r} split needs images in both NORMAL/ "
                f"and PNEUMONIA/ (found {len(out[key])} images)",
                hint="use Kaggle's layout: train|val|test/NORMAL|PNEUMONIA/*.jpeg",
            )
    return out


class PneumoniaCalibration:
    """Train a pneumonia classifier, calibrate it, deploy both, and measure calibration."""

    name: ClassVar[str] = "pneumonia-calibration"
    description: ClassVar[str] = (
        "Chest X-ray pneumonia classifier with a calibrator deployed on top "
        "(ECE, Brier, log-loss before/after; threshold for a sensitivity)"
    )
    Config: ClassVar[type] = PneumoniaCalibrationConfig

    def run(self, session: Any, config: PneumoniaCalibrationConfig, out_dir: Path) -> Report:
        """Run the flow (see the module docstring); returns the report."""
        from smkit.training import TrainingSpec

        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        plan = session.plan_mode
        report = Report(name=self.name, title="Pneumonia detection with a deployed calibrator")
        default_prefix = f"s3://{session.default_bucket()}/pneumonia-calibration/"
        prefix = (config.prefix or default_prefix).rstrip("/")
        if not prefix.startswith("s3://"):
            raise ConfigError(f"prefix {config.prefix!r} must be an s3:// URI")
        endpoint_name = config.endpoint_name or time.strftime("pneumonia-calibration-%Y%m%d-%H%M%S")
        report.details["config"] = attrs.asdict(config)

        # 1. the images, uploaded object by object
        with report.timer("data"):
            if config.data:
                data_root = Path(config.data).expanduser().resolve()
                report.details["data"] = f"Kaggle-layout folder {data_root}"
            else:
                from smkit.datasets.synthetic_images import make_chest_xray_dataset

                data_root = out_dir / "images"
                make_chest_xray_dataset(
                    data_root,
                    n_train=config.size("n_train"),
                    n_val=config.size("n_val"),
                    n_test=config.size("n_test"),
                    size=config.image_size,
                    seed=config.seed,
                )
                report.details["data"] = "synthetic chest X-rays (make_chest_xray_dataset)"
            splits = find_splits(data_root)
        with report.timer("upload"):
            channels, uploaded = self._upload(session, splits, data_root, prefix)
        report.metrics["images"] = {
            k: {"NORMAL": sum(1 for _, y in v if y == 0), "PNEUMONIA": sum(y for _, y in v)}
            for k, v in splits.items()
        }
        report.metrics["images_uploaded"] = uploaded
        report.artifacts["images"] = f"{prefix}/data/"
        report.artifacts["images_local"] = str(data_root)

        # 2. training (+ calibrator fit on the validation outputs, inside the job)
        spec = TrainingSpec(
            entry_point="train.py",
            source_dir=str(SCRIPTS_DIR),
            framework="pytorch",
            hyperparameters={
                "arch": config.arch,
                "epochs": config.size("epochs"),
                "width": config.size("width"),
                "image-size": config.image_size,
                "sensitivity": config.sensitivity,
                "calibration-methods": config.methods,
                "max-images": config.max_images,
                "seed": config.seed,
                "num-threads": 2,
            },
            inputs={k: v for k, v in channels.items() if k != "test"},
            instance_type=config.instance_type,
            metric_definitions=_METRICS,
            base_job_name="pneumonia-calibration",
        )
        with report.timer("train"):
            job = session.train(spec)
            if not plan:
                job.wait()
        report.artifacts["training_job"] = job.name
        classifier, calibrator = self._models(session, job, spec, config, plan)
        training: dict[str, Any] = {}
        if not plan:
            report.metrics.update({k.replace(":", "_"): v for k, v in job.metrics.items()})
            report.artifacts["model_data"] = job.model_data
            with report.timer("read_training_outputs"):
                training = self._training_outputs(session, job, out_dir / "training")
            report.artifacts["training_outputs"] = str(out_dir / "training")
            if job.output_data:
                report.artifacts["training_output_data"] = job.output_data

        # 3. deploy classifier + calibrator; 4. the test split through the endpoint
        from smkit.serving import EndpointSpec

        endpoint_spec = EndpointSpec(
            name=endpoint_name,
            instance_type=config.endpoint_instance_type,
            startup_timeout=180.0,
        )
        pipeline = session.supports(Capability.INFERENCE_PIPELINES) and config.serial_pipeline
        deployable: Any = [classifier, calibrator] if pipeline else classifier
        report.details["deployment"] = (
            "serial inference pipeline: classifier container (inference.py, calibrator off) "
            "→ calibrator container (calibrator_inference.py)"
            if pipeline
            else "one container: classifier + calibrator (inference.py)"
        )
        endpoint = None
        answers: list[dict[str, Any]] = []
        parity: list[dict[str, Any]] = []
        try:
            with report.timer("deploy"):
                endpoint = session.deploy(deployable, endpoint_spec)
            report.artifacts["endpoint"] = endpoint_name
            if not plan:
                predictor = endpoint.predictor(serializer="json", deserializer="json")
                with report.timer("predict_test"):
                    answers = self._predict(predictor, splits["test"], config.invoke_batch)
                with report.timer("predict_validation_sample"):
                    parity = self._parity(predictor, training, splits, config.invoke_batch)
        finally:
            if endpoint is not None and not config.keep_endpoint:
                with report.timer("delete_endpoint"):
                    endpoint.delete()
                report.details["endpoint_deleted"] = True

        if plan:
            report.add_text(
                "Plan",
                "Nothing ran: the images' uploads, the training job, the "
                f"{'two-container serial pipeline' if pipeline else 'endpoint'} and its "
                "deletion are planned; no predictions, so no calibration figures.",
            )
            return report

        # 5. the figures, from the endpoint's answers on the test split
        self._evaluate(report, config, splits["test"], data_root, answers, training, out_dir)
        if parity:
            diff = max(abs(p["endpoint"] - p["training"]) for p in parity)
            report.metrics["serving_parity_max_abs_diff"] = round(diff, 8)
            report.details["serving_parity"] = (
                f"{len(parity)} validation images: the endpoint's calibrated probability vs the "
                "training job's validation_predictions.csv"
            )
        return report

    # -- the pieces ----------------------------------------------------------------------
    @staticmethod
    def _upload(
        session: Any, splits: dict[str, list[tuple[Path, int]]], root: Path, prefix: str
    ) -> tuple[dict[str, str], int]:
        """Upload every image below ``{prefix}/data/``; returns the channels and the count."""
        channels: dict[str, str] = {}
        uploaded = 0
        for key, items in splits.items():
            if not items:
                continue
            split_dir = items[0][0].parent.parent
            channels[key] = f"{prefix}/data/{split_dir.name}/"
            for path, _ in items:
                rel = path.relative_to(root).as_posix()
                ctype = "image/png" if path.suffix.lower() == ".png" else "image/jpeg"
                _, wrote = session.store.put_file(f"{prefix}/data/{rel}", path, content_type=ctype)
                uploaded += int(wrote)
        return channels, uploaded

    @staticmethod
    def _models(
        session: Any, job: Any, spec: Any, config: PneumoniaCalibrationConfig, plan: bool
    ) -> tuple[Any, Any]:
        """The classifier's model (with the calibrator, or without it for the pipeline's first
        container) and the calibrator-only model (second container)."""
        from smkit.serving import ModelSpec

        if plan:
            model_data = f"s3://{session.default_bucket()}/{job.name}/output/model.tar.gz"
            base = ModelSpec(
                model_data=model_data,
                framework="pytorch",
                framework_version=spec.effective_version,
                entry_point="inference.py",
                source_dir=str(SCRIPTS_DIR),
            )
        else:
            base = job.model(entry_point="inference.py", source_dir=str(SCRIPTS_DIR))
        if session.supports(Capability.INFERENCE_PIPELINES) and config.serial_pipeline:
            classifier = base.with_(env={"CALIBRATOR": "off"})
        else:
            classifier = base
        calibrator = base.with_(entry_point="calibrator_inference.py")
        return classifier, calibrator

    @staticmethod
    def _training_outputs(session: Any, job: Any, dest: Path) -> dict[str, Any]:
        """Unpack the job's ``output.tar.gz`` into ``dest``; read what the report needs."""
        dest.mkdir(parents=True, exist_ok=True)
        uri = job.output_data
        found: dict[str, Any] = {}
        if not uri:
            return found
        with tarfile.open(fileobj=io.BytesIO(session.store.get_bytes(uri)), mode="r:gz") as tar:
            for member in tar.getmembers():
                name = Path(member.name).name  # flat: never a path outside ``dest``
                if not member.isfile() or not name:
                    continue
                fh = tar.extractfile(member)
                if fh is None:
                    continue
                body = fh.read()
                (dest / name).write_bytes(body)
                if name.endswith(".json"):
                    found[name] = json.loads(body)
                elif name == "validation_predictions.csv":
                    found[name] = list(csv.DictReader(io.StringIO(body.decode())))
        return found

    @staticmethod
    def _invoke(predictor: Any, paths: list[Path], batch: int) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for i in range(0, len(paths), batch):
            chunk = paths[i : i + batch]
            images = [base64.b64encode(p.read_bytes()).decode("ascii") for p in chunk]
            body = {"image": images[0]} if len(images) == 1 else {"instances": images}
            answer = predictor.predict(json.dumps(body).encode("utf-8"))
            preds = answer.get("predictions", [answer])
            if len(preds) != len(chunk):
                raise ModelError(
                    f"endpoint answered {len(preds)} predictions for {len(chunk)} images"
                )
            out.extend(preds)
        return out

    def _predict(
        self, predictor: Any, items: list[tuple[Path, int]], batch: int
    ) -> list[dict[str, Any]]:
        """The endpoint's answers for the test images, in order."""
        return self._invoke(predictor, [p for p, _ in items], batch)

    def _parity(
        self,
        predictor: Any,
        training: dict[str, Any],
        splits: dict[str, list[tuple[Path, int]]],
        batch: int,
        n: int = 32,
    ) -> list[dict[str, Any]]:
        """Send up to ``n`` validation images; pair the endpoint's calibrated probability with
        the one the training job wrote for the same image."""
        rows = training.get("validation_predictions.csv") or []
        by_channel = {key: items[0][0].parent.parent for key, items in splits.items() if items}
        picked: list[tuple[Path, float]] = []
        for row in rows[:n]:
            channel, _, rest = row["path"].partition("/")
            base = by_channel.get(channel)
            if base is None or not (base / rest).is_file():
                continue
            picked.append((base / rest, float(row["calibrated_probability"])))
        if not picked:
            return []
        answers = self._invoke(predictor, [p for p, _ in picked], batch)
        return [
            {"path": str(p), "training": t, "endpoint": float(a["calibrated_probability"])}
            for (p, t), a in zip(picked, answers, strict=True)
        ]

    def _evaluate(
        self,
        report: Report,
        config: PneumoniaCalibrationConfig,
        items: list[tuple[Path, int]],
        root: Path,
        answers: list[dict[str, Any]],
        training: dict[str, Any],
        out_dir: Path,
    ) -> None:
        """Calibration figures on the test split from the endpoint's answers; the files."""
        import numpy as np

        cm = load_math()
        y = np.array([lab for _, lab in items], dtype=np.float64)
        raw = np.array([float(a["raw_probability"]) for a in answers])
        cal = np.array([float(a["calibrated_probability"]) for a in answers])
        methods = {a.get("calibration_method") for a in answers}
        method = next(iter(methods)) if len(methods) == 1 else ",".join(sorted(map(str, methods)))
        threshold = answers[0].get("threshold") if answers else None
        n_bins = 15
        fit = training.get("calibration.json") or {}
        result: dict[str, Any] = {
            "split": "test",
            "source": "the endpoint's answers (raw and calibrated probability of PNEUMONIA)",
            "n": int(y.size),
            "n_positive": int(y.sum()),
            "n_bins": n_bins,
            "method": method,
            "ece_before": cm.expected_calibration_error(y, raw, n_bins),
            "ece_after": cm.expected_calibration_error(y, cal, n_bins),
            "brier_before": cm.brier_score(y, raw),
            "brier_after": cm.brier_score(y, cal),
            "log_loss_before": cm.log_loss(y, raw),
            "log_loss_after": cm.log_loss(y, cal),
            "ece_top_label_before": cm.expected_calibration_error(y, raw, n_bins, "top_label"),
            "ece_top_label_after": cm.expected_calibration_error(y, cal, n_bins, "top_label"),
            "auc": cm.roc_auc(y, raw),
            "accuracy_at_0_5_raw": float(np.mean((raw >= 0.5) == (y == 1))),
            "ece_definition": (
                f"{n_bins} equal-width bins of the predicted probability of PNEUMONIA; "
                "ECE = sum_b n_b/n |fraction PNEUMONIA_b - mean probability_b|"
            ),
            "calibrator": fit.get("calibrator"),
            "selection": fit.get("selection"),
            "validation_source": fit.get("validation_source"),
        }
        if threshold is not None:
            thr = float(threshold)
            test_rates = cm.sensitivity_specificity(y, cal, thr)
            result["threshold"] = {
                "target_sensitivity": config.sensitivity,
                "calibrated_probability": thr,
                "chosen_on": "validation",
                "validation": (fit.get("threshold") or {}).get("validation"),
                "test": test_rates,
            }
        # same-run references: every candidate calibrator, refitted on the job's validation
        # outputs, applied to the endpoint's raw test probabilities
        val_rows = training.get("validation_predictions.csv") or []
        if val_rows and y.size:
            z_val = np.array([float(r["logit"]) for r in val_rows])
            y_val = np.array([float(r["label"]) for r in val_rows])
            eps = 1e-12
            clipped = np.clip(raw, eps, 1 - eps)
            z_test = np.log(clipped) - np.log1p(-clipped)
            result["test_ece_by_method"] = {
                m: cm.expected_calibration_error(
                    y, cm.fit_calibrator(m, z_val, y_val).predict(z_test), n_bins
                )
                for m in ("none", *cm.METHODS)
            }
        result["metric_splits"] = {
            "test_*": "the held-out test split, through the endpoint (never seen by the job)",
            "selection": "cross-validation on the validation outputs inside the job "
            f"({fit.get('validation_source') or 'validation split'})",
            "threshold.validation": "the validation outputs",
            "test_ece_by_method": "the test split; each calibrator refitted on the same "
            "validation outputs",
        }
        rel_before = cm.reliability_diagram(y, raw, n_bins)
        rel_after = cm.reliability_diagram(y, cal, n_bins)

        path = out_dir / "calibration.json"
        path.write_text(json.dumps(result, indent=2) + "\n")
        (out_dir / "reliability.json").write_text(
            json.dumps({"before": rel_before, "after": rel_after}, indent=2) + "\n"
        )
        pred_path = out_dir / "predictions.csv"
        with open(pred_path, "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(
                ["path", "label", "raw_probability", "calibrated_probability", "predicted_label"]
            )
            for (p, lab), a in zip(items, answers, strict=True):
                w.writerow(
                    [
                        p.relative_to(root).as_posix(),
                        lab,
                        f"{float(a['raw_probability']):.6f}",
                        f"{float(a['calibrated_probability']):.6f}",
                        a.get("predicted_label", ""),
                    ]
                )
        report.artifacts.update(
            calibration=str(path),
            predictions=str(pred_path),
            reliability=str(out_dir / "reliability.json"),
        )
        for key in (
            "ece_before",
            "ece_after",
            "brier_before",
            "brier_after",
            "log_loss_before",
            "log_loss_after",
            "auc",
        ):
            report.metrics[f"test_{key}"] = round(float(result[key]), 6)
        report.metrics["calibration_method"] = method
        report.metrics["test_images"] = int(y.size)
        if "test_ece_by_method" in result:
            report.metrics["test_ece_by_method"] = {
                m: round(float(v), 6) for m, v in result["test_ece_by_method"].items()
            }
        report.details["metric_splits"] = result["metric_splits"]
        if "threshold" in result:
            report.metrics["threshold"] = round(result["threshold"]["calibrated_probability"], 6)
            for k, v in result["threshold"]["test"].items():
                report.metrics[f"test_{k}_at_threshold"] = None if v is None else round(v, 4)

        report.add_table(
            "Calibration on the test split (from the endpoint's answers)",
            [
                {
                    "metric": name,
                    "before (raw)": round(result[f"{key}_before"], 4),
                    f"after ({method})": round(result[f"{key}_after"], 4),
                }
                for name, key in (
                    ("ECE (15 bins)", "ece"),
                    ("ECE, top label", "ece_top_label"),
                    ("Brier score", "brier"),
                    ("log-loss", "log_loss"),
                )
            ],
        )
        selection = (fit.get("selection") or {}) if fit else {}
        cv = selection.get("validation_log_loss_cv") or {}
        ins = selection.get("validation_log_loss_in_sample") or {}
        cv_ece = selection.get("validation_ece_cv") or {}
        by_method = result.get("test_ece_by_method") or {}
        if ins:
            report.add_table(
                f"Calibrator choice ({selection.get('criterion', 'validation log-loss')})",
                [
                    {
                        "method": m,
                        "cross-validated log-loss": None if cv.get(m) is None else round(cv[m], 4),
                        "in-sample log-loss": round(ins[m], 4),
                        "cross-validated ECE": (
                            None if cv_ece.get(m) is None else round(cv_ece[m], 4)
                        ),
                        "test ECE (same run)": (
                            None if by_method.get(m) is None else round(by_method[m], 4)
                        ),
                        "chosen": m == selection.get("method"),
                    }
                    for m in ins
                ],
            )
        if "threshold" in result:
            t = result["threshold"]
            val = t.get("validation") or {}
            report.add_table(
                f"Decision threshold for sensitivity {config.sensitivity:g}",
                [
                    {
                        "split": "validation (chosen here)",
                        "threshold": round(t["calibrated_probability"], 4),
                        "sensitivity": _r(val.get("sensitivity")),
                        "specificity": _r(val.get("specificity")),
                    },
                    {
                        "split": "test (endpoint answers)",
                        "threshold": round(t["calibrated_probability"], 4),
                        "sensitivity": _r(t["test"]["sensitivity"]),
                        "specificity": _r(t["test"]["specificity"]),
                    },
                ],
            )
        report.add_figure(
            "Reliability diagram on the test split (before / after calibration)",
            reliability_figure(rel_before, rel_after, method),
            filename="reliability.png",
        )
        report.add_figure(
            "Calibrated probability of PNEUMONIA by true class, with the decision threshold",
            probability_figure(y, cal, result.get("threshold", {}).get("calibrated_probability")),
            filename="probabilities.png",
        )


def _r(value: Any) -> Any:
    return None if value is None else round(float(value), 4)


def reliability_figure(before: dict[str, Any], after: dict[str, Any], method: str) -> Any:
    """Matplotlib figure: reliability curves before and after calibration over the
    per-bin counts (the data of ``calibration.reliability_diagram``)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax, hist) = plt.subplots(
        2,
        1,
        figsize=(5.2, 6.2),
        sharex=True,
        gridspec_kw={"height_ratios": [3, 1]},
        constrained_layout=True,
    )
    ax.plot([0, 1], [0, 1], "k--", lw=1, label="perfectly calibrated")
    width = 1.0 / before["n_bins"]
    for data, name, color, shift in (
        (before, "raw", "#d62728", -0.22),
        (after, method, "#1f77b4", 0.22),
    ):
        bins = [b for b in data["bins"] if b["count"]]
        ax.plot(
            [b["mean_predicted"] for b in bins],
            [b["observed"] for b in bins],
            "o-",
            color=color,
            label=f"{name} (ECE {data['ece']:.3f})",
        )
        hist.bar(
            [(b["lower"] + b["upper"]) / 2 + shift * width for b in data["bins"]],
            [b["count"] for b in data["bins"]],
            width=width * 0.42,
            color=color,
            alpha=0.8,
        )
    ax.set_ylabel("observed fraction of PNEUMONIA")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_title("Reliability diagram (15 equal-width bins, test split)")
    ax.legend(loc="upper left", fontsize=8)
    hist.set_xlabel("predicted probability of PNEUMONIA")
    hist.set_ylabel("images")
    return fig


def probability_figure(y: Any, p: Any, threshold: float | None) -> Any:
    """Matplotlib figure: histograms of the calibrated probability per true class."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    y, p = np.asarray(y), np.asarray(p)
    fig, ax = plt.subplots(figsize=(5.2, 3.0), constrained_layout=True)
    edges = np.linspace(0, 1, 31)
    for cls, name, color in ((0, "NORMAL", "#2ca02c"), (1, "PNEUMONIA", "#9467bd")):
        ax.hist(p[y == cls], bins=edges, histtype="step", lw=2, color=color, label=name)
    if threshold is not None:
        ax.axvline(threshold, color="#ff9900", ls="--", label=f"threshold {threshold:.3f}")
    ax.set_xlabel("calibrated probability of PNEUMONIA")
    ax.set_ylabel("test images")
    ax.legend(fontsize=8)
    return fig
