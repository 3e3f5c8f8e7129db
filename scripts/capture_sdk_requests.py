"""Capture the requests the SageMaker Python SDK v2 sends, as JSON test fixtures.

The fixtures are the oracle of ``tests/test_sdk_request_parity.py``: smkit's aws backend,
planning the same work, must send the same SageMaker requests field by field (each intended
difference is listed and justified in that test).

Run it in a scratch environment, never in smkit's own (the SDK pins many packages)::

    python -m venv /tmp/sdkenv && /tmp/sdkenv/bin/pip install 'sagemaker<3'
    /tmp/sdkenv/bin/python scripts/capture_sdk_requests.py tests/fixtures/sdk_requests

Nothing is sent: a botocore ``before-parameter-build`` hook records each call's parameters
and a ``before-call`` hook answers every request with a canned response (so the SDK goes on
to its next call), with fake credentials and no network. Each scenario uses ``wait=False``
so the SDK never polls. Names, the role, the bucket and the region are fixed, so the files
only change when the SDK's requests do (the SDK's own timestamped names are replaced by
``<timestamp>``).
"""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

REGION = "us-east-1"
ACCOUNT = "123456789012"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/SageMakerRole"
BUCKET = "smkit-parity"

#: Canned answers the SDK needs to continue (anything else gets ``{}``).
_ARN = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}"
_RESPONSES: dict[str, dict[str, Any]] = {
    "GetCallerIdentity": {"Account": ACCOUNT, "Arn": ROLE, "UserId": "AIDTEST"},
    "CreateTrainingJob": {"TrainingJobArn": f"{_ARN}:training-job/x"},
    "CreateHyperParameterTuningJob": {
        "HyperParameterTuningJobArn": f"{_ARN}:hyper-parameter-tuning-job/x"
    },
    "CreateModel": {"ModelArn": f"{_ARN}:model/x"},
    "CreateEndpointConfig": {"EndpointConfigArn": f"{_ARN}:endpoint-config/x"},
    "CreateEndpoint": {"EndpointArn": f"{_ARN}:endpoint/x"},
    "CreateProcessingJob": {"ProcessingJobArn": f"{_ARN}:processing-job/x"},
    "CreateMonitoringSchedule": {"MonitoringScheduleArn": f"{_ARN}:monitoring-schedule/x"},
    "PutObject": {"ETag": '"0"'},
    "ListObjectsV2": {"KeyCount": 0, "Contents": []},
}


class Recorder:
    """botocore hooks: record SageMaker calls, answer everything without sending."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def record(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        if model.service_model.service_name == "sagemaker":
            # names the SDK stamps with the time (job definitions) become "<timestamp>"
            text = json.dumps(params, default=str)
            text = re.sub(r"\d{4}(-\d{2}){5}-\d{3}", "<timestamp>", text)
            self.calls.append({"operation": model.name, "params": json.loads(text)})

    def answer(self, model: Any, **_: Any) -> tuple[Any, dict[str, Any]]:
        from botocore.awsrequest import AWSResponse

        class _Raw:
            def stream(self, **_: Any) -> Any:
                yield b""

        http = AWSResponse("https://stub", 200, {}, _Raw())
        body = dict(_RESPONSES.get(model.name, {}))
        if model.name == "GetObject":  # baseline files the SDK reads back: empty documents
            import io

            from botocore.response import StreamingBody

            body["Body"] = StreamingBody(io.BytesIO(b"{}"), 2)
        body["ResponseMetadata"] = {"HTTPStatusCode": 200, "RequestId": "stub"}
        return http, body

    def install(self, boto_session: Any) -> None:
        events = boto_session._session.get_component("event_emitter")
        events.register("before-parameter-build", self.record)
        events.register("before-call", self.answer)

    def take(self) -> list[dict[str, Any]]:
        calls, self.calls = self.calls, []
        return calls


def _project(tmp: Path) -> Path:
    src = tmp / "code"
    src.mkdir()
    (src / "train.py").write_text("print('train')\n")
    (src / "inference.py").write_text("def model_fn(model_dir):\n    return None\n")
    return src


def scenarios(session: Any, rec: Recorder, src: Path) -> dict[str, list[dict[str, Any]]]:
    """Each request kind smkit sends, made by the SDK the way a user would."""
    from sagemaker import image_uris
    from sagemaker.estimator import Estimator
    from sagemaker.inputs import TrainingInput
    from sagemaker.model import Model
    from sagemaker.model_monitor import (
        CronExpressionGenerator,
        DataCaptureConfig,
        DefaultModelMonitor,
    )
    from sagemaker.model_monitor.dataset_format import DatasetFormat
    from sagemaker.pytorch import PyTorch
    from sagemaker.sklearn import SKLearn
    from sagemaker.tuner import ContinuousParameter, HyperparameterTuner, IntegerParameter

    out: dict[str, list[dict[str, Any]]] = {}
    train = TrainingInput(f"s3://{BUCKET}/data/train.csv", content_type="text/csv")
    validation = TrainingInput(f"s3://{BUCKET}/data/validation.csv", content_type="text/csv")
    common = {
        "role": ROLE,
        "instance_count": 1,
        "instance_type": "ml.m5.xlarge",
        "output_path": f"s3://{BUCKET}/models/",
        "sagemaker_session": session,
    }

    xgb_image = image_uris.retrieve("xgboost", REGION, "1.7-1")
    xgb = Estimator(
        image_uri=xgb_image,
        hyperparameters={"objective": "reg:squarederror", "num_round": 50, "max_depth": 5},
        **common,
    )
    xgb.fit({"train": train, "validation": validation}, job_name="parity-xgboost", wait=False)
    out["training_xgboost"] = rec.take()

    sk = SKLearn(
        entry_point="train.py",
        source_dir=str(src),
        framework_version="1.2-1",
        py_version="py3",
        hyperparameters={"max_depth": 3, "criterion": "gini"},
        code_location=f"s3://{BUCKET}/code",
        **common,
    )
    sk.fit({"train": train}, job_name="parity-sklearn", wait=False)
    out["training_sklearn"] = rec.take()

    pt = PyTorch(
        entry_point="train.py",
        source_dir=str(src),
        framework_version="2.1",
        py_version="py310",
        hyperparameters={"epochs": 2, "lr": 0.01},
        code_location=f"s3://{BUCKET}/code",
        **common,
    )
    pt.fit({"train": train}, job_name="parity-pytorch", wait=False)
    out["training_pytorch"] = rec.take()

    tuner = HyperparameterTuner(
        Estimator(image_uri=xgb_image, hyperparameters={"num_round": 50}, **common),
        objective_metric_name="validation:rmse",
        objective_type="Minimize",
        hyperparameter_ranges={
            "eta": ContinuousParameter(0.05, 0.5),
            "max_depth": IntegerParameter(3, 8),
        },
        max_jobs=4,
        max_parallel_jobs=2,
        strategy="Bayesian",
    )
    tuner.fit({"train": train, "validation": validation}, job_name="parity-tuning", wait=False)
    out["tuning_xgboost"] = rec.take()

    model = Model(
        image_uri=xgb_image,
        model_data=f"s3://{BUCKET}/models/parity-xgboost/output/model.tar.gz",
        role=ROLE,
        name="parity-model",
        sagemaker_session=session,
    )
    model.deploy(
        initial_instance_count=1,
        instance_type="ml.m5.large",
        endpoint_name="parity-endpoint",
        data_capture_config=DataCaptureConfig(
            enable_capture=True,
            sampling_percentage=100,
            destination_s3_uri=f"s3://{BUCKET}/capture",
        ),
        wait=False,
    )
    out["deploy_with_capture"] = rec.take()

    monitor = DefaultModelMonitor(
        role=ROLE,
        instance_count=1,
        instance_type="ml.m5.xlarge",
        volume_size_in_gb=20,
        max_runtime_in_seconds=3600,
        sagemaker_session=session,
    )
    monitor.suggest_baseline(
        baseline_dataset=f"s3://{BUCKET}/data/baseline.csv",
        dataset_format=DatasetFormat.csv(header=True),
        output_s3_uri=f"s3://{BUCKET}/baseline",
        job_name="parity-baseline",
        wait=False,
        logs=False,
    )
    out["data_quality_baseline"] = rec.take()

    monitor.create_monitoring_schedule(
        monitor_schedule_name="parity-schedule",
        endpoint_input="parity-endpoint",
        output_s3_uri=f"s3://{BUCKET}/reports",
        statistics=f"s3://{BUCKET}/baseline/statistics.json",
        constraints=f"s3://{BUCKET}/baseline/constraints.json",
        schedule_cron_expression=CronExpressionGenerator.hourly(),
    )
    out["data_quality_schedule"] = rec.take()
    return out


def main(argv: list[str]) -> int:
    """Write one ``<scenario>.json`` per scenario into ``argv[0]``."""
    if len(argv) != 1:
        print(__doc__)
        return 2
    os.environ.update(
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION=REGION,
        AWS_EC2_METADATA_DISABLED="true",
    )
    import boto3
    import sagemaker

    boto_session = boto3.Session(region_name=REGION)
    rec = Recorder()
    rec.install(boto_session)
    session = sagemaker.Session(boto_session=boto_session, default_bucket=BUCKET)
    dest = Path(argv[0])
    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        found = scenarios(session, rec, _project(Path(tmp)))
    for name, calls in found.items():
        doc = {"sdk": f"sagemaker {sagemaker.__version__}", "scenario": name, "calls": calls}
        (dest / f"{name}.json").write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n")
        print(f"{name}: {', '.join(c['operation'] for c in calls)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
