"""A SageMaker Python SDK v2 script, unmodified: an SKLearn script-mode estimator trained,
deployed, called and deleted. Run it with AWS_ENDPOINT_URL pointing at the emulator.

Usage: python sklearn_script_mode.py WORKDIR  (prints one JSON line with what it saw)
"""

import json
import sys
from pathlib import Path

import boto3
import sagemaker
from sagemaker.deserializers import CSVDeserializer
from sagemaker.serializers import CSVSerializer
from sagemaker.sklearn import SKLearn

TRAIN = '''
import argparse
import glob
import os

import joblib
import numpy as np
from sklearn.linear_model import LogisticRegression


def model_fn(model_dir):
    return joblib.load(os.path.join(model_dir, "model.joblib"))


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--reg", type=float, default=1.0)
    args, _ = p.parse_known_args()
    path = glob.glob(os.path.join(os.environ["SM_CHANNEL_TRAIN"], "*.csv"))[0]
    data = np.loadtxt(path, delimiter=",")
    model = LogisticRegression(C=args.reg).fit(data[:, 1:], data[:, 0])
    print(f"train-accuracy={model.score(data[:, 1:], data[:, 0])}")
    joblib.dump(model, os.path.join(os.environ["SM_MODEL_DIR"], "model.joblib"))
'''


def main(workdir: str) -> None:
    work = Path(workdir)
    (work / "src").mkdir(parents=True, exist_ok=True)
    (work / "src" / "train.py").write_text(TRAIN)
    (work / "data").mkdir(exist_ok=True)
    rows = [f"{i % 2},{i % 2 + 0.1 * (i % 3)},{1 - i % 2}" for i in range(40)]
    (work / "data" / "train.csv").write_text("\n".join(rows) + "\n")

    session = sagemaker.Session(boto3.Session(region_name="us-east-1"))
    role = "arn:aws:iam::123456789012:role/SageMakerRole"
    bucket = session.default_bucket()
    train = session.upload_data(str(work / "data"), bucket=bucket, key_prefix="sdk-sklearn/train")
    estimator = SKLearn(
        entry_point="train.py",
        source_dir=str(work / "src"),
        role=role,
        instance_type="ml.m5.large",
        instance_count=1,
        framework_version="1.2-1",
        py_version="py3",
        hyperparameters={"reg": 0.5},
        sagemaker_session=session,
    )
    estimator.fit({"train": train})  # waits, streaming the job's CloudWatch logs
    job = estimator.latest_training_job.describe()
    predictor = estimator.deploy(
        initial_instance_count=1,
        instance_type="ml.m5.large",
        serializer=CSVSerializer(),
        deserializer=CSVDeserializer(),
    )
    answer = predictor.predict([[1.1, 0.0], [0.0, 1.1]])
    predictor.delete_model()  # before the endpoint: it reads the endpoint's config
    predictor.delete_endpoint()
    print(json.dumps({
        "status": job["TrainingJobStatus"],
        "model": job["ModelArtifacts"]["S3ModelArtifacts"],
        "answer": answer,
    }))


if __name__ == "__main__":
    main(sys.argv[1])
