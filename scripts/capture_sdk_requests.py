"""Capture the requests the SageMaker Python SDK v2 sends, as JSON test fixtures.

Run it in a scratch environment with the SDK (smkit is not needed there)::

    python -m venv /tmp/sdkenv && /tmp/sdkenv/bin/pip install 'sagemaker<3'
    /tmp/sdkenv/bin/python scripts/capture_sdk_requests.py tests/fixtures/sdk_requests

Nothing is sent: a botocore ``before-call`` hook on every client answers each request with a
canned response (S3 uploads, STS, SageMaker Create*/Describe*), after recording SageMaker's
(``provide-client-params`` records the parameters as the SDK passed them, before botocore
serialises anything). Credentials are stubbed, the region is us-east-1, names are fixed so
the fixtures are stable. Each scenario writes ``<scenario>.json``: the SDK version and the
list of ``{"operation", "params"}`` SageMaker requests, in order. The inputs each scenario
uses are written beside them (``inputs/``) so the tests can rebuild the same work with smkit.
"""

from __future__ import annotations

import io
import json
import os
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Any

REGION = "us-east-1"
ACCOUNT = "123456789012"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/SmkitSdkCapture"
BUCKET = "sdk-capture-bucket"


def _fake_model_tar() -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        body = b"weights"
        info = tarfile.TarInfo("model.pth")
        info.size = len(body)
        tar.addfile(info, io.BytesIO(body))
    return buf.getvalue()


MODEL_TAR = _fake_model_tar()


class Recorder:
    """botocore hooks: record SageMaker requests, answer everything with canned responses."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        self.uploads: dict[str, bytes] = {}

    def params(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        if model.service_model.service_name == "sagemaker":
            self.calls.append(
                {"operation": model.name, "params": json.loads(json.dumps(params, default=str))}
            )

    def before_call(self, model: Any, params: dict[str, Any], **_: Any) -> Any:
        from botocore.awsrequest import AWSResponse
        from botocore.response import StreamingBody

        http = AWSResponse("https://stub", 200, {}, None)
        service, op = model.service_model.service_name, model.name
        body = params.get("body")
        if service == "sts":
            return http, {"Account": ACCOUNT, "Arn": ROLE, "UserId": "stub"}
        if service == "s3":
            if op == "PutObject":
                key = params.get("url_path", "")
                data = body.read() if hasattr(body, "read") else (body or b"")
                self.uploads[key] = data if isinstance(data, bytes) else str(data).encode()
                return http, {"ETag": '"stub"'}
            if op in ("HeadObject",):
                return http, {"ContentLength": len(MODEL_TAR), "ETag": '"stub"'}
            if op == "GetObject" and str(params.get("url_path", "")).endswith(".json"):
                data = b"{}"  # a statistics / constraints file the SDK reads back
                return http, {"Body": StreamingBody(io.BytesIO(data), len(data))}
            if op == "GetObject":
                return http, {
                    "Body": StreamingBody(io.BytesIO(MODEL_TAR), len(MODEL_TAR)),
                    "ContentLength": len(MODEL_TAR),
                    "ETag": '"stub"',
                }
            if op == "ListBuckets":
                return http, {"Buckets": [{"Name": BUCKET}]}
            if op == "ListObjectsV2":
                return http, {"Contents": [], "KeyCount": 0, "IsTruncated": False}
            return http, {}
        if service == "sagemaker":
            if op == "DescribeEndpoint":
                return http, {"EndpointStatus": "InService", "EndpointName": "stub"}
            if op.startswith("Describe"):
                return http, {}
            arn = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:stub/stub"
            return http, {
                key: arn
                for key in (
                    "Arn", "EndpointArn", "EndpointConfigArn", "ModelArn", "TrainingJobArn",
                    "ProcessingJobArn", "JobDefinitionArn", "MonitoringScheduleArn",
                    "HyperParameterTuningJobArn",
                )
            }  # fmt: skip
        return http, {}


def _session(recorder: Recorder) -> Any:
    import boto3
    import sagemaker

    boto_session = boto3.Session(region_name=REGION)
    boto_session.events.register("provide-client-params.*.*", recorder.params)
    boto_session.events.register("before-call.*.*", recorder.before_call)
    return sagemaker.Session(boto_session=boto_session, default_bucket=BUCKET)


def _code(root: Path) -> Path:
    src = root / "code"
    src.mkdir(parents=True, exist_ok=True)
    (src / "train.py").write_text("print('train')\n")
    (src / "inference.py").write_text("def model_fn(d):\n    return d\n")
    (src / "requirements.txt").write_text("numpy\n")
    return src


def scenario_xgboost(session: Any, root: Path) -> None:
    from sagemaker import image_uris
    from sagemaker.estimator import Estimator
    from sagemaker.inputs import TrainingInput

    est = Estimator(
        image_uri=image_uris.retrieve("xgboost", REGION, "1.7-1"),
        role=ROLE,
        instance_count=1,
        instance_type="ml.m5.xlarge",
        output_path=f"s3://{BUCKET}/out/",
        hyperparameters={"num_round": 50, "max_depth": 5, "objective": "reg:squarederror"},
        sagemaker_session=session,
        disable_profiler=True,
    )
    est.fit(
        {
            "train": TrainingInput(f"s3://{BUCKET}/data/train/", content_type="text/csv"),
            "validation": TrainingInput(f"s3://{BUCKET}/data/validation/", content_type="text/csv"),
        },
        wait=False,
        job_name="sdk-xgboost-1",
    )


def scenario_sklearn(session: Any, root: Path) -> None:
    from sagemaker.sklearn import SKLearn

    src = _code(root)
    est = SKLearn(
        entry_point="train.py",
        source_dir=str(src),
        framework_version="1.2-1",
        py_version="py3",
        role=ROLE,
        instance_count=1,
        instance_type="ml.m5.xlarge",
        output_path=f"s3://{BUCKET}/out/",
        hyperparameters={"alpha": 0.5, "solver": "lbfgs"},
        sagemaker_session=session,
        disable_profiler=True,
    )
    est.fit({"train": f"s3://{BUCKET}/data/train/"}, wait=False, job_name="sdk-sklearn-1")


def scenario_tuning(session: Any, root: Path) -> None:
    from sagemaker import image_uris
    from sagemaker.estimator import Estimator
    from sagemaker.inputs import TrainingInput
    from sagemaker.tuner import ContinuousParameter, HyperparameterTuner, IntegerParameter

    est = Estimator(
        image_uri=image_uris.retrieve("xgboost", REGION, "1.7-1"),
        role=ROLE,
        instance_count=1,
        instance_type="ml.m5.xlarge",
        output_path=f"s3://{BUCKET}/out/",
        hyperparameters={"num_round": 50, "objective": "reg:squarederror"},
        sagemaker_session=session,
        disable_profiler=True,
    )
    tuner = HyperparameterTuner(
        est,
        objective_metric_name="validation:rmse",
        objective_type="Minimize",
        hyperparameter_ranges={
            "max_depth": IntegerParameter(2, 8),
            "eta": ContinuousParameter(0.01, 0.3, scaling_type="Logarithmic"),
        },
        strategy="Bayesian",
        max_jobs=4,
        max_parallel_jobs=2,
    )
    tuner.fit(
        {
            "train": TrainingInput(f"s3://{BUCKET}/data/train/", content_type="text/csv"),
            "validation": TrainingInput(f"s3://{BUCKET}/data/validation/", content_type="text/csv"),
        },
        job_name="sdk-tune-1",
        wait=False,
    )


def scenario_data_quality_schedule(session: Any, root: Path) -> None:
    from sagemaker.model_monitor import DefaultModelMonitor

    monitor = DefaultModelMonitor(
        role=ROLE, instance_count=1, instance_type="ml.m5.xlarge", volume_size_in_gb=20,
        max_runtime_in_seconds=3600, sagemaker_session=session,
    )  # fmt: skip
    monitor.create_monitoring_schedule(
        endpoint_input="sdk-endpoint",
        output_s3_uri=f"s3://{BUCKET}/dq-reports",
        statistics=f"s3://{BUCKET}/baseline/statistics.json",
        constraints=f"s3://{BUCKET}/baseline/constraints.json",
        monitor_schedule_name="sdk-data-quality",
        schedule_cron_expression="cron(0 * ? * * *)",
    )


def scenario_deploy_capture(session: Any, root: Path) -> None:
    from sagemaker import image_uris
    from sagemaker.model import Model
    from sagemaker.model_monitor import DataCaptureConfig

    model = Model(
        image_uri=image_uris.retrieve("xgboost", REGION, "1.7-1"),
        model_data=f"s3://{BUCKET}/sdk-xgboost-1/output/model.tar.gz",
        role=ROLE,
        name="sdk-model",
        sagemaker_session=session,
    )
    model.deploy(
        initial_instance_count=1,
        instance_type="ml.m5.large",
        endpoint_name="sdk-endpoint",
        data_capture_config=DataCaptureConfig(
            enable_capture=True,
            sampling_percentage=100,
            destination_s3_uri=f"s3://{BUCKET}/capture",
        ),
        wait=False,
    )


def scenario_pytorch_repack(session: Any, root: Path) -> None:
    from sagemaker.pytorch import PyTorchModel

    src = _code(root)
    model = PyTorchModel(
        model_data=f"s3://{BUCKET}/trained/model.tar.gz",
        role=ROLE,
        entry_point="inference.py",
        source_dir=str(src),
        framework_version="2.1",
        py_version="py310",
        name="sdk-torch-model",
        sagemaker_session=session,
    )
    model.deploy(
        initial_instance_count=1,
        instance_type="ml.m5.large",
        endpoint_name="sdk-torch-endpoint",
        wait=False,
    )


def scenario_data_quality_baseline(session: Any, root: Path) -> None:
    from sagemaker.model_monitor import DefaultModelMonitor
    from sagemaker.model_monitor.dataset_format import DatasetFormat

    monitor = DefaultModelMonitor(
        role=ROLE, instance_count=1, instance_type="ml.m5.xlarge", volume_size_in_gb=20,
        max_runtime_in_seconds=3600, sagemaker_session=session,
    )  # fmt: skip
    monitor.suggest_baseline(
        baseline_dataset=f"s3://{BUCKET}/data/train.csv",
        dataset_format=DatasetFormat.csv(header=False),
        output_s3_uri=f"s3://{BUCKET}/baseline",
        job_name="sdk-dq-baseline",
        wait=False,
        logs=False,
    )


def scenario_model_quality_baseline(session: Any, root: Path) -> None:
    from sagemaker.model_monitor import ModelQualityMonitor
    from sagemaker.model_monitor.dataset_format import DatasetFormat

    monitor = ModelQualityMonitor(
        role=ROLE, instance_count=1, instance_type="ml.m5.xlarge", volume_size_in_gb=20,
        max_runtime_in_seconds=3600, sagemaker_session=session,
    )  # fmt: skip
    monitor.suggest_baseline(
        baseline_dataset=f"s3://{BUCKET}/data/validation_predictions.csv",
        dataset_format=DatasetFormat.csv(header=True),
        problem_type="BinaryClassification",
        probability_attribute="prob",
        ground_truth_attribute="label",
        probability_threshold_attribute="0.5",  # the SDK passes it through unconverted
        output_s3_uri=f"s3://{BUCKET}/mq-baseline",
        job_name="sdk-mq-baseline",
        wait=False,
        logs=False,
    )


def scenario_explainability(session: Any, root: Path) -> None:
    from sagemaker import clarify
    from sagemaker.model_monitor import ModelExplainabilityMonitor

    monitor = ModelExplainabilityMonitor(
        role=ROLE, instance_count=1, instance_type="ml.m5.xlarge", volume_size_in_gb=20,
        max_runtime_in_seconds=3600, sagemaker_session=session,
    )  # fmt: skip
    data_config = clarify.DataConfig(
        s3_data_input_path=f"s3://{BUCKET}/data/train_with_header.csv",
        s3_output_path=f"s3://{BUCKET}/clarify-baseline",
        label="y",
        headers=["y", "a", "b"],
        dataset_type="text/csv",
    )
    model_config = clarify.ModelConfig(
        endpoint_name="sdk-endpoint", content_type="text/csv", accept_type="text/csv"
    )  # the deployed endpoint (newer SDKs accept endpoint_name)
    shap = clarify.SHAPConfig(baseline=[[1, 2]], num_samples=10, agg_method="mean_abs")
    monitor.suggest_baseline(
        data_config=data_config,
        model_config=model_config,
        explainability_config=shap,
        job_name="sdk-clarify-baseline",
        wait=False,
        logs=False,
    )
    monitor.create_monitoring_schedule(
        endpoint_input="sdk-endpoint",
        output_s3_uri=f"s3://{BUCKET}/clarify-reports",
        monitor_schedule_name="sdk-explainability",
        schedule_cron_expression="cron(0 * ? * * *)",
    )


SCENARIOS = {
    name[len("scenario_") :]: fn
    for name, fn in dict(globals()).items()
    if name.startswith("scenario_")
}


def main(argv: list[str]) -> int:
    out = Path(argv[1] if len(argv) > 1 else "tests/fixtures/sdk_requests")
    out.mkdir(parents=True, exist_ok=True)
    os.environ.update(
        {
            "AWS_ACCESS_KEY_ID": "stub",
            "AWS_SECRET_ACCESS_KEY": "stub",
            "AWS_SESSION_TOKEN": "stub",
            "AWS_DEFAULT_REGION": REGION,
            "SAGEMAKER_SUPPRESS_V2_WARNING": "1",
        }
    )
    import sagemaker
    from sagemaker.telemetry import telemetry_logging

    telemetry_logging._requests_helper = lambda url, timeout: None  # nothing leaves
    failures = 0
    for name, fn in SCENARIOS.items():
        recorder = Recorder()
        with tempfile.TemporaryDirectory() as tmp:
            try:
                fn(_session(recorder), Path(tmp))
            except Exception as exc:  # one failing scenario does not hide the others
                failures += 1
                print(f"{name}: FAILED {type(exc).__name__}: {exc}", file=sys.stderr)
                continue
        uploads = {}
        for key, data in recorder.uploads.items():
            if key.endswith(".json"):
                uploads[key] = json.loads(data)
            elif key.endswith(".tar.gz"):
                with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
                    uploads[key] = sorted(tar.getnames())
        doc = {
            "sdk_version": sagemaker.__version__,
            "region": REGION,
            "requests": recorder.calls,
            "uploads": uploads,
        }
        (out / f"{name}.json").write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n")
        print(f"{name}: {[c['operation'] for c in recorder.calls]}")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
