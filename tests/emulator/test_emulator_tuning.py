"""Hyperparameter tuning jobs on the emulator: trials run, are listed and leave artifacts."""

from __future__ import annotations

import time
import uuid

import boto3
import pytest
from emulator_helpers import (
    SKLEARN_IMAGE,
    TRAIN_PY,
    check_request,
    check_response,
    csv_rows,
    tarball,
)

pytestmark = pytest.mark.timeout(300)


def test_tuning_runs_trials_lists_them_and_publishes_artifacts(emulator_env) -> None:
    s3, sm = boto3.client("s3"), boto3.client("sagemaker")
    tag = uuid.uuid4().hex[:8]
    bucket = f"tune-{tag}"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="data/train/train.csv", Body=csv_rows())
    s3.put_object(Bucket=bucket, Key="code/src.tar.gz", Body=tarball({"train.py": TRAIN_PY}))
    name = f"tune-{tag}"
    req = check_request(
        sm,
        "CreateHyperParameterTuningJob",
        {
            "HyperParameterTuningJobName": name,
            "HyperParameterTuningJobConfig": {
                "Strategy": "Random",
                "HyperParameterTuningJobObjective": {
                    "Type": "Maximize", "MetricName": "train:accuracy",
                },
                "ResourceLimits": {"MaxNumberOfTrainingJobs": 2, "MaxParallelTrainingJobs": 1},
                "ParameterRanges": {
                    "ContinuousParameterRanges": [
                        {"Name": "reg", "MinValue": "0.1", "MaxValue": "1.0",
                         "ScalingType": "Linear"}
                    ]
                },
                "RandomSeed": 3,
            },
            "TrainingJobDefinition": {
                "StaticHyperParameters": {
                    "sagemaker_program": '"train.py"',
                    "sagemaker_submit_directory": f'"s3://{bucket}/code/src.tar.gz"',
                },
                "AlgorithmSpecification": {
                    "TrainingImage": SKLEARN_IMAGE,
                    "TrainingInputMode": "File",
                    "MetricDefinitions": [
                        {"Name": "train:accuracy", "Regex": "train-accuracy=([0-9.]+)"}
                    ],
                },
                "RoleArn": "arn:aws:iam::123456789012:role/r",
                "InputDataConfig": [
                    {
                        "ChannelName": "train",
                        "DataSource": {
                            "S3DataSource": {
                                "S3DataType": "S3Prefix",
                                "S3Uri": f"s3://{bucket}/data/train",
                            }
                        },
                    }
                ],
                "OutputDataConfig": {"S3OutputPath": f"s3://{bucket}/tuning"},
                "ResourceConfig": {
                    "InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 5,
                },
                "StoppingCondition": {"MaxRuntimeInSeconds": 300},
            },
        },
    )
    sm.create_hyper_parameter_tuning_job(**req)
    deadline = time.monotonic() + 240  # boto3 has no tuning waiter: poll as the SDK does
    while sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)[
        "HyperParameterTuningJobStatus"
    ] in ("InProgress", "Stopping"):
        assert time.monotonic() < deadline
        time.sleep(1)
    desc = check_response(
        sm,
        "DescribeHyperParameterTuningJob",
        sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=name),
    )
    assert desc["HyperParameterTuningJobStatus"] == "Completed", desc.get("FailureReason")
    assert desc["TrainingJobStatusCounters"]["Completed"] == 2
    trials = check_response(
        sm,
        "ListTrainingJobsForHyperParameterTuningJob",
        sm.list_training_jobs_for_hyper_parameter_tuning_job(HyperParameterTuningJobName=name),
    )["TrainingJobSummaries"]
    assert len(trials) == 2
    values = [t["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] for t in trials]
    assert all(0.0 <= v <= 1.0 for v in values)
    regs = sorted(float(t["TunedHyperParameters"]["reg"]) for t in trials)
    assert all(0.1 <= r <= 1.0 for r in regs) and regs[0] != regs[1]
    best = desc["BestTrainingJob"]
    assert best["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] == max(values)
    trial = check_response(
        sm, "DescribeTrainingJob", sm.describe_training_job(TrainingJobName=best["TrainingJobName"])
    )
    assert trial["TrainingJobStatus"] == "Completed"
    assert trial["TuningJobArn"] == desc["HyperParameterTuningJobArn"]
    key = trial["ModelArtifacts"]["S3ModelArtifacts"].split(f"s3://{bucket}/", 1)[1]
    assert key == f"tuning/{best['TrainingJobName']}/output/model.tar.gz"
    s3.head_object(Bucket=bucket, Key=key)
