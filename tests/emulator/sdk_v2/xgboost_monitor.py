"""A SageMaker Python SDK v2 script, unmodified: built-in XGBoost trained and deployed with
DataCaptureConfig, called, DefaultModelMonitor.suggest_baseline run, everything deleted.
Run it with AWS_ENDPOINT_URL pointing at the emulator.

Usage: python xgboost_monitor.py WORKDIR  (prints one JSON line with what it saw)
"""

import json
import sys
import time
from pathlib import Path

import boto3
import sagemaker
from sagemaker import image_uris
from sagemaker.estimator import Estimator
from sagemaker.inputs import TrainingInput
from sagemaker.model_monitor import DataCaptureConfig, DefaultModelMonitor
from sagemaker.model_monitor.dataset_format import DatasetFormat
from sagemaker.serializers import CSVSerializer


def main(workdir: str) -> None:
    work = Path(workdir)
    (work / "data").mkdir(parents=True, exist_ok=True)
    rows = [f"{i % 2},{i % 2 + 0.1 * (i % 3)},{1 - i % 2}" for i in range(60)]
    (work / "data" / "train.csv").write_text("\n".join(rows) + "\n")
    (work / "baseline").mkdir(exist_ok=True)
    (work / "baseline" / "baseline.csv").write_text(
        "\n".join(r.split(",", 1)[1] for r in rows) + "\n"
    )

    session = sagemaker.Session(boto3.Session(region_name="us-east-1"))
    role = "arn:aws:iam::123456789012:role/SageMakerRole"
    bucket = session.default_bucket()
    train = session.upload_data(str(work / "data"), bucket=bucket, key_prefix="sdk-xgb/train")
    baseline = session.upload_data(
        str(work / "baseline"), bucket=bucket, key_prefix="sdk-xgb/baseline-data"
    )
    estimator = Estimator(
        image_uri=image_uris.retrieve("xgboost", "us-east-1", "1.7-1"),
        role=role,
        instance_count=1,
        instance_type="ml.m5.large",
        output_path=f"s3://{bucket}/sdk-xgb/output",
        hyperparameters={"objective": "binary:logistic", "num_round": 5, "max_depth": 2},
        sagemaker_session=session,
    )
    estimator.fit({"train": TrainingInput(train, content_type="text/csv")}, logs=False)
    predictor = estimator.deploy(
        initial_instance_count=1,
        instance_type="ml.m5.large",
        serializer=CSVSerializer(),
        data_capture_config=DataCaptureConfig(
            enable_capture=True,
            sampling_percentage=100,
            destination_s3_uri=f"s3://{bucket}/sdk-xgb/capture",
        ),
    )
    answer = predictor.predict("1.1,0.0").decode()
    monitor = DefaultModelMonitor(
        role=role, instance_count=1, instance_type="ml.m5.xlarge", sagemaker_session=session
    )
    monitor.suggest_baseline(
        baseline_dataset=baseline,
        dataset_format=DatasetFormat.csv(header=False),
        output_s3_uri=f"s3://{bucket}/sdk-xgb/baseline",
        wait=True,
        logs=False,
    )
    statistics = monitor.baseline_statistics().body_dict
    constraints = monitor.suggested_constraints().body_dict
    s3 = boto3.client("s3", region_name="us-east-1")
    capture: list = []
    deadline = time.time() + 60
    while not capture and time.time() < deadline:
        listing = s3.list_objects_v2(Bucket=bucket, Prefix="sdk-xgb/capture/")
        capture = [o["Key"] for o in listing.get("Contents", [])]
        time.sleep(1)
    predictor.delete_model()  # before the endpoint: it reads the endpoint's config
    predictor.delete_endpoint()
    print(json.dumps({
        "answer": answer,
        "items": statistics["dataset"]["item_count"],
        "constraint_features": [f["name"] for f in constraints["features"]],
        "capture": capture,
    }))


if __name__ == "__main__":
    main(sys.argv[1])
