"""SageMaker processing jobs with the Model Monitor analyzer image, run by smkit's
data-quality engine (`smkit.backends.local.monitor`).

The job follows the analyzer container's contract (the one ``DefaultModelMonitor
.suggest_baseline`` and monitoring executions use): ``ProcessingInputs`` are copied from the
emulated S3 to their ``LocalPath`` (mapped below the job's directory instead of
``/opt/ml/processing``); the environment names the dataset (``dataset_source``,
``dataset_format``: ``{"csv": {"header": ...}}``, ``{"json": {"lines": true}}`` or
``{"sagemakerCaptureJson": ...}``) and ``output_path``. Without ``baseline_constraints`` the
job suggests a baseline (``statistics.json`` + ``constraints.json``); with it, it also checks
the data (``constraint_violations.json``, against ``baseline_statistics`` for drift). The
output folder is copied to each ``ProcessingOutputs``' ``S3Uri``.

With ``analysis_type=MODEL_QUALITY`` (``ModelQualityMonitor.suggest_baseline``) the
analyzer reads the CSV's ``ground_truth_attribute``, ``inference_attribute`` and
``probability_attribute`` columns and writes the model-quality ``statistics.json`` and
``constraints.json`` (`smkit.monitoring.engines.model_quality`).

The Clarify image (``sagemaker-clarify-processing``) reads the dataset from
``/opt/ml/processing/input/data`` and ``analysis_config.json`` from
``/opt/ml/processing/input/config``, explains the model with SHAP
(`smkit.monitoring.engines.clarify`) calling the config's ``predictor.endpoint_name`` (a
local endpoint of the emulator) and writes ``analysis.json`` (and
``explanations_shap/out.csv``) to ``/opt/ml/processing/output`` (the ``analysis_result``
output). Other images answer ``Failed`` with the reason.
"""

from __future__ import annotations

import json
import shutil
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

__all__ = [
    "CLARIFY_REPOSITORY",
    "MODEL_MONITOR_REPOSITORY",
    "analyze_model_quality",
    "explain_dataset",
    "run_processing_job",
]

MODEL_MONITOR_REPOSITORY = "sagemaker-model-monitor-analyzer"
CLARIFY_REPOSITORY = "sagemaker-clarify-processing"
CONTAINER_ROOT = "/opt/ml/processing"


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _local(path: str, base: Path) -> Path:
    """A container path below ``/opt/ml/processing`` mapped below ``base``."""
    if not path.startswith(CONTAINER_ROOT):
        raise RuntimeError(f"path {path!r} is not below {CONTAINER_ROOT}")
    return base / path[len(CONTAINER_ROOT) :].strip("/")


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())


def analyze(env: dict[str, str], base: Path) -> None:
    """Run the analyzer on the job's mapped folders (raises on a bad configuration)."""
    from smkit.backends.local.monitor import (
        check_constraints,
        compute_statistics,
        file_statistics,
        suggest_constraints,
    )

    source = _local(env.get("dataset_source", f"{CONTAINER_ROOT}/input"), base)
    output = _local(env.get("output_path", f"{CONTAINER_ROOT}/output"), base)
    output.mkdir(parents=True, exist_ok=True)
    fmt = json.loads(env.get("dataset_format") or '{"csv": {"header": true}}')
    files = _files(source)
    if not files:
        raise RuntimeError(f"no data files under dataset_source {env.get('dataset_source')}")
    if "sagemakerCaptureJson" in fmt:

        def lines() -> Any:
            for f in files:
                with open(f, encoding="utf-8", errors="replace") as fh:
                    yield from fh

        stats = compute_statistics(lines(), fmt="capture")
    elif "json" in fmt:
        joined = output.parent / ".smkit-dataset.jsonl"
        with open(joined, "wb") as out:
            for f in files:
                out.write(f.read_bytes().rstrip(b"\n") + b"\n")
        stats = compute_statistics(joined, fmt="jsonl")
    else:
        header = bool((fmt.get("csv") or {}).get("header", False))
        joined = output.parent / ".smkit-dataset.csv"
        with open(joined, "wb") as out:
            for i, f in enumerate(files):
                data = f.read_bytes()
                if header and i > 0:
                    data = data.split(b"\n", 1)[1] if b"\n" in data else b""
                out.write(data.rstrip(b"\n") + b"\n")
        stats = compute_statistics(joined, fmt="csv", header=header)
    (output / "statistics.json").write_text(json.dumps(file_statistics(stats), indent=2))
    baseline = env.get("baseline_constraints")
    if not baseline:
        (output / "constraints.json").write_text(json.dumps(suggest_constraints(stats), indent=2))
        return
    constraints = json.loads(_local(baseline, base).read_text())
    base_stats = None
    if env.get("baseline_statistics"):
        base_stats = json.loads(_local(env["baseline_statistics"], base).read_text())
    names = [f["name"] for f in stats.get("features", [])]
    known = [f["name"] for f in constraints.get("features", [])]
    if (
        names != known
        and len(names) == len(known)
        and all(n == f"_c{i}" for i, n in enumerate(names))
    ):
        # header-less capture columns (_c0, _c1...) against a named baseline: by position
        for feature, name in zip(stats["features"], known):
            feature["name"] = name
    violations = check_constraints(stats, constraints, base_stats)
    (output / "constraint_violations.json").write_text(json.dumps(violations, indent=2))


def _joined_csv(files: list[Path], dest: Path, header: bool) -> Path:
    with open(dest, "wb") as out:
        for i, f in enumerate(files):
            data = f.read_bytes()
            if header and i > 0:
                data = data.split(b"\n", 1)[1] if b"\n" in data else b""
            out.write(data.rstrip(b"\n") + b"\n")
    return dest


def analyze_model_quality(env: dict[str, str], base: Path) -> None:
    """The model-quality baseline (``analysis_type=MODEL_QUALITY``): statistics and
    suggested constraints of the dataset's label / prediction / probability columns."""
    from types import SimpleNamespace

    from smkit.monitoring.engines.model_quality import (
        baseline_columns,
        model_quality_statistics,
        suggest_model_quality_constraints,
    )

    source = _local(env.get("dataset_source", f"{CONTAINER_ROOT}/input"), base)
    output = _local(env.get("output_path", f"{CONTAINER_ROOT}/output"), base)
    output.mkdir(parents=True, exist_ok=True)
    files = _files(source)
    if not files:
        raise RuntimeError(f"no data files under dataset_source {env.get('dataset_source')}")
    if not env.get("problem_type") or not env.get("ground_truth_attribute"):
        raise RuntimeError("a MODEL_QUALITY job needs problem_type and ground_truth_attribute")
    fmt = json.loads(env.get("dataset_format") or '{"csv": {"header": true}}')
    if "csv" not in fmt or not (fmt.get("csv") or {}).get("header", True):
        raise RuntimeError("the emulator's MODEL_QUALITY baseline reads a CSV with a header")
    joined = _joined_csv(files, output.parent / ".smkit-mq-dataset.csv", header=True)
    cfg = SimpleNamespace(
        ground_truth_attribute=env["ground_truth_attribute"],
        inference_attribute=env.get("inference_attribute") or None,
        probability_attribute=env.get("probability_attribute") or None,
        probability_threshold=float(env.get("probability_threshold_attribute") or 0.5),
    )
    labels, preds, probs = baseline_columns(str(joined), cfg)
    stats = model_quality_statistics(env["problem_type"], labels, preds, probs)
    (output / "statistics.json").write_text(json.dumps(stats, indent=2))
    constraints = suggest_model_quality_constraints(stats)
    (output / "constraints.json").write_text(json.dumps(constraints, indent=2))


def endpoint_predict(backend: Any, endpoint: str | None) -> Any:
    """Clarify's ``predict_fn`` over the emulator's local endpoint ``endpoint``."""
    from smkit.backends.local.monitoring import endpoint_predict_fn

    if not endpoint:
        raise RuntimeError("analysis_config.json has no predictor.endpoint_name")
    return endpoint_predict_fn(backend.predictor(endpoint, serializer="csv", deserializer="csv"))


def explain_dataset(base: Path, backend: Any) -> None:
    """The Clarify job: SHAP values of the dataset's rows, from the endpoint's answers."""
    from types import SimpleNamespace

    from smkit.backends.local.monitoring import _feature_rows
    from smkit.monitoring.clarify import ExplainabilityAnalysisConfig
    from smkit.monitoring.engines.clarify import analysis_document, explain, local_values_csv

    config_files = [p for p in _files(base / "input" / "config") if p.suffix == ".json"]
    if not config_files:
        raise RuntimeError(
            f"no analysis_config.json under {CONTAINER_ROOT}/input/config"
        )
    config = json.loads(config_files[0].read_text())
    data_files = _files(base / "input" / "data")
    if not data_files:
        raise RuntimeError(f"no dataset under {CONTAINER_ROOT}/input/data")
    if config.get("dataset_type", "text/csv") != "text/csv":
        raise RuntimeError("the emulator's Clarify jobs read text/csv datasets")
    headers = config.get("headers")
    path = data_files[0]
    if len(data_files) > 1:
        path = _joined_csv(data_files, base / ".smkit-clarify-dataset.csv", header=False)
    data_cfg = SimpleNamespace(headers=headers)
    rows, names = _feature_rows(path, data_cfg, config.get("label"), None)
    analysis_cfg = ExplainabilityAnalysisConfig.from_dict(config)
    result = explain(
        rows,
        analysis_cfg.shap,
        feature_names=names,
        predict_fn=endpoint_predict(backend, analysis_cfg.model.endpoint_name),
        label_headers=list(analysis_cfg.model.label_headers or []) or None,
    )
    output = base / "output"
    output.mkdir(parents=True, exist_ok=True)
    (output / "analysis.json").write_text(json.dumps(analysis_document(result), indent=2))
    if analysis_cfg.shap.save_local_shap_values:
        shap_dir = output / "explanations_shap"
        shap_dir.mkdir(parents=True, exist_ok=True)
        (shap_dir / "out.csv").write_text(local_values_csv(result, names))


def run_processing_job(
    job: dict[str, Any],
    bridge: Any,
    workdir: Path,
    lock: threading.RLock,
    backend: Any = None,
) -> None:
    """Run one processing job to its end, updating ``job`` (the DescribeProcessingJob view);
    ``backend`` (the local backend) serves the endpoint a Clarify job calls."""
    from smkit import uri as s3uri

    req = job["request"]
    base = workdir
    shutil.rmtree(base, ignore_errors=True)
    base.mkdir(parents=True)
    try:
        image = req["AppSpecification"]["ImageUri"]
        repo = image.rsplit("/", 1)[-1].split(":", 1)[0].split("@", 1)[0]
        if repo not in (MODEL_MONITOR_REPOSITORY, CLARIFY_REPOSITORY):
            raise RuntimeError(
                f"image {image!r}: the emulator runs processing jobs with the Model Monitor "
                f"analyzer image ({MODEL_MONITOR_REPOSITORY}) or the Clarify image "
                f"({CLARIFY_REPOSITORY})"
            )
        with lock:
            job["ProcessingStartTime"] = _now()
        for item in req.get("ProcessingInputs") or []:
            s3 = item.get("S3Input")
            if not s3:
                continue
            target = _local(s3["LocalPath"], base)
            target.mkdir(parents=True, exist_ok=True)
            bucket, prefix = s3uri.parse(s3["S3Uri"])
            keys = bridge.keys(s3["S3Uri"])
            if not keys:
                raise RuntimeError(f"ClientError: no objects under {s3['S3Uri']}")
            for key in keys:
                if key.endswith("/"):
                    continue
                rel = key[len(prefix) :].lstrip("/") or key.rsplit("/", 1)[-1]
                dest = target / rel
                dest.parent.mkdir(parents=True, exist_ok=True)
                dest.write_bytes(bridge.get_bytes(s3uri.to_uri(bucket, key)))
        env = {k: str(v) for k, v in (req.get("Environment") or {}).items()}
        if repo == CLARIFY_REPOSITORY:
            if backend is None:
                raise RuntimeError("Clarify jobs need the emulator's endpoints")
            explain_dataset(base, backend)
        elif env.get("analysis_type", "").upper() == "MODEL_QUALITY":
            analyze_model_quality(env, base)
        else:
            analyze(env, base)
        for out in (req.get("ProcessingOutputConfig") or {}).get("Outputs") or []:
            s3 = out.get("S3Output")
            if not s3:
                continue
            folder = _local(s3["LocalPath"], base)
            for f in _files(folder):
                rel = f.relative_to(folder).as_posix()
                bridge.client("s3").put_object(
                    Bucket=s3uri.parse(s3["S3Uri"])[0],
                    Key=s3uri.parse(s3uri.join(s3["S3Uri"], rel))[1],
                    Body=f.read_bytes(),
                )
        status, reason = "Completed", None
    except Exception as exc:
        status, reason = "Failed", str(exc)[:1024]
    with lock:
        job["ProcessingJobStatus"] = status
        job["ProcessingEndTime"] = _now()
        job["LastModifiedTime"] = _now()
        if reason:
            job["FailureReason"] = reason
            job["ExitMessage"] = reason
        else:
            job["ExitMessage"] = "Completed: Job completed successfully with no violations."
