"""What the emulator tests share: tiny data, a script tarball, requests and shape checks."""

from __future__ import annotations

import io
import tarfile
from typing import Any

SKLEARN_IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"
XGBOOST_IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
ROLE = "arn:aws:iam::123456789012:role/EmulatorTestRole"
WAIT = {"Delay": 1, "MaxAttempts": 180}

TRAIN_PY = """
import argparse, glob, os
import joblib
import numpy as np
from sklearn.linear_model import LogisticRegression

p = argparse.ArgumentParser()
p.add_argument("--reg", type=float, default=1.0)
args = p.parse_args()
data = np.loadtxt(glob.glob(os.path.join(os.environ["SM_CHANNEL_TRAIN"], "*.csv"))[0],
                  delimiter=",")
model = LogisticRegression(C=args.reg).fit(data[:, 1:], data[:, 0])
print(f"train-accuracy={model.score(data[:, 1:], data[:, 0])}")
joblib.dump(model, os.path.join(os.environ["SM_MODEL_DIR"], "model.joblib"))
"""

FAILING_PY = """
import sys
print("about to fail")
sys.exit(3)
"""


def csv_rows(n: int = 40) -> bytes:
    """Label-first CSV: class 1 has a large first feature, class 0 a large second one."""
    rows = []
    for i in range(n):
        label = i % 2
        rows.append(f"{label},{label + 0.1 * (i % 3)},{1 - label + 0.05 * (i % 4)}")
    return ("\n".join(rows) + "\n").encode()


def tarball(files: dict[str, str]) -> bytes:
    """A ``sourcedir.tar.gz`` as the SageMaker SDK uploads it."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def script_job(name: str, bucket: str, code_key: str, program: str = "train.py") -> dict[str, Any]:
    """A CreateTrainingJob request for a script-mode sklearn job, as the SDK sends it."""
    return {
        "TrainingJobName": name,
        "AlgorithmSpecification": {
            "TrainingImage": SKLEARN_IMAGE,
            "TrainingInputMode": "File",
            "MetricDefinitions": [
                {"Name": "train:accuracy", "Regex": "train-accuracy=([0-9.]+)"}
            ],
        },
        "RoleArn": ROLE,
        "HyperParameters": {
            "reg": "0.5",
            "sagemaker_program": f'"{program}"',
            "sagemaker_submit_directory": f'"s3://{bucket}/{code_key}"',
            "sagemaker_region": '"us-east-1"',
        },
        "InputDataConfig": [
            {
                "ChannelName": "train",
                "ContentType": "text/csv",
                "DataSource": {
                    "S3DataSource": {
                        "S3DataType": "S3Prefix",
                        "S3Uri": f"s3://{bucket}/data/train",
                        "S3DataDistributionType": "FullyReplicated",
                    }
                },
            }
        ],
        "OutputDataConfig": {"S3OutputPath": f"s3://{bucket}/output"},
        "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 5},
        "StoppingCondition": {"MaxRuntimeInSeconds": 300},
    }


def check_request(client: Any, operation: str, params: dict[str, Any]) -> dict[str, Any]:
    """Validate ``params`` against the operation's input shape (botocore.validate)."""
    from botocore.validate import ParamValidator

    op = client.meta.service_model.operation_model(operation)
    report = ParamValidator().validate(params, op.input_shape)
    assert not report.has_errors(), report.generate_report()
    return params


def check_response(client: Any, operation: str, response: dict[str, Any]) -> dict[str, Any]:
    """Validate a parsed response against the operation's output shape: every required
    member present, every member of its modelled type."""
    from botocore.validate import ParamValidator

    op = client.meta.service_model.operation_model(operation)
    body = {k: v for k, v in response.items() if k != "ResponseMetadata"}
    if op.output_shape is None:
        assert body == {}
        return response
    report = ParamValidator().validate(body, op.output_shape)
    assert not report.has_errors(), report.generate_report()
    return response
