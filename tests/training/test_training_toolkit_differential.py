"""Differential test: the job environment against the real ``sagemaker-training`` toolkit.

For the same job directory (``hyperparameters.json``, ``resourceconfig.json``,
``inputdataconfig.json`` as smkit writes them), ``sagemaker_training.environment`` is
imported with ``SAGEMAKER_BASE_DIR`` pointing at it (what smkit exports), and every
variable of its ``Environment().to_env_vars()`` must equal smkit's, ``SM_TRAINING_ENV``
key by key, and the script's arguments must equal ``to_cmd_args()``.
"""

from __future__ import annotations

import importlib
import json
import os

import pytest

from smkit.training.contract import JobPaths, encode_hyperparameters, training_env

pytest.importorskip("sagemaker_training")

CASES = {
    "plain": ({"epochs": 3, "lr": 0.1, "optimizer": "adam"}, {}),
    "null-and-nested": ({"dropout": None, "layers": [64, 32], "cfg": {"a": 1}, "b": True}, {}),
    "sdk-reserved": (
        {
            "epochs": 1,
            "sagemaker_program": "train.py",
            "sagemaker_submit_directory": "s3://bucket/code/sourcedir.tar.gz",
            "sagemaker_container_log_level": 20,
            "sagemaker_region": "us-east-1",
            "_tuning_objective_metric": "validation:rmse",
        },
        {},
    ),
    "distributed-flag": ({"epochs": 1, "sagemaker_pytorch_ddp_enabled": True}, {}),
    "two-hosts": ({"epochs": 1, "sagemaker_torch_distributed_enabled": True}, {"hosts": 2}),
}


def _write_job(base, hps: dict, hosts: int) -> tuple[JobPaths, dict, dict, dict]:
    paths = JobPaths(base).create()
    encoded = encode_hyperparameters(hps, script_mode=True)
    names = [f"algo-{i + 1}" for i in range(hosts)]
    resource = {
        "current_host": names[0],
        "current_group_name": "homogeneousCluster",
        "hosts": names,
        "instance_groups": [
            {
                "instance_group_name": "homogeneousCluster",
                "instance_type": "ml.m5.large",
                "hosts": names,
            }
        ],
        "network_interface_name": "eth0",
        "current_instance_type": "ml.m5.large",
    }
    channels = {
        "train": {
            "ContentType": "text/csv",
            "TrainingInputMode": "File",
            "S3DistributionType": "FullyReplicated",
            "RecordWrapperType": "None",
        },
        "validation": {
            "TrainingInputMode": "File",
            "S3DistributionType": "FullyReplicated",
            "RecordWrapperType": "None",
        },
    }
    (paths.config / "hyperparameters.json").write_text(json.dumps(encoded))
    (paths.config / "resourceconfig.json").write_text(json.dumps(resource))
    (paths.config / "inputdataconfig.json").write_text(json.dumps(channels))
    return paths, encoded, resource, channels


@pytest.mark.parametrize("name", sorted(CASES))
def test_env_vars_equal_the_toolkit(name, tmp_path, monkeypatch):
    hps, opts = CASES[name]
    paths, encoded, resource, channels = _write_job(tmp_path / "job", hps, opts.get("hosts", 1))
    env, argv = training_env(
        paths,
        job_name="job-1",
        job_arn="arn:aws:sagemaker:us-east-1:000000000000:training-job/job-1",
        hyperparameters=encoded,
        input_data_config=channels,
        resource_config=resource,
        entry_point="train.py",
        num_cpus=os.cpu_count(),
        num_gpus=0,
    )
    for key in ("SAGEMAKER_BASE_DIR", "TRAINING_JOB_NAME", "SAGEMAKER_PROGRAM", "SAGEMAKER_REGION"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("SAGEMAKER_BASE_DIR", env["SAGEMAKER_BASE_DIR"])
    monkeypatch.setenv("TRAINING_JOB_NAME", "job-1")
    monkeypatch.setenv("SAGEMAKER_PROGRAM", "train.py")
    import sagemaker_training.environment as toolkit_env

    toolkit_env = importlib.reload(toolkit_env)  # paths are read from SAGEMAKER_BASE_DIR
    monkeypatch.setattr(toolkit_env, "num_gpus", lambda: 0)
    monkeypatch.setattr(toolkit_env, "num_cpus", lambda: os.cpu_count())
    ref = toolkit_env.Environment()
    want = ref.to_env_vars()
    assert want["SM_MODEL_DIR"] == str(paths.model)  # the toolkit saw our job, not /opt/ml
    for key, value in want.items():
        if key == "SM_TRAINING_ENV":
            continue
        assert env.get(key) == value, key
    got_te, want_te = json.loads(env["SM_TRAINING_ENV"]), json.loads(want["SM_TRAINING_ENV"])
    for key in want_te:
        assert got_te.get(key, "missing") == want_te[key], key
    assert argv == ref.to_cmd_args()


def test_null_hyperparameter_is_empty_text(tmp_path):
    paths, encoded, resource, channels = _write_job(tmp_path / "job", {"dropout": None}, 1)
    env, argv = training_env(
        paths,
        job_name="j",
        job_arn="a",
        hyperparameters=encoded,
        input_data_config=channels,
        resource_config=resource,
        entry_point="train.py",
        num_gpus=0,
    )
    assert env["SM_HP_DROPOUT"] == "" and argv == ["--dropout", ""]


def test_gpu_count_comes_from_the_machine(tmp_path, monkeypatch):
    paths, encoded, resource, channels = _write_job(tmp_path / "job", {}, 1)
    monkeypatch.setenv("SMKIT_NUM_GPUS", "4")
    env, _ = training_env(
        paths,
        job_name="j",
        job_arn="a",
        hyperparameters=encoded,
        input_data_config=channels,
        resource_config=resource,
        entry_point="train.py",
    )
    assert env["SM_NUM_GPUS"] == "4" and json.loads(env["SM_TRAINING_ENV"])["num_gpus"] == 4


ENV_SCRIPT = '''
"""A stand-in for public SageMaker examples that read the job through the toolkit."""
import json
import os

from sagemaker_training import environment

env = environment.Environment()
with open(os.path.join(env.model_dir, "seen.json"), "w") as fh:
    json.dump(
        {
            "hyperparameters": env.hyperparameters,
            "channels": env.channel_input_dirs,
            "current_host": env.current_host,
            "model_dir": env.model_dir,
        },
        fh,
    )
'''


def test_a_script_using_environment_reads_its_job(local_session, tmp_path):
    """Item 8: ``Environment()`` inside the job sees the job, not an empty ``/opt/ml``."""
    import tarfile

    from smkit.training import Channel, TrainingSpec

    src = tmp_path / "src"
    src.mkdir()
    (src / "train.py").write_text(ENV_SCRIPT)
    local_session.store.put_bytes("s3://smkit/d/train/train.csv", b"1,2\n")
    job = local_session.train(
        TrainingSpec(
            entry_point="train.py",
            source_dir=str(src),
            framework="sklearn",
            hyperparameters={"epochs": 2, "dropout": None},
            inputs={"train": Channel("s3://smkit/d/train/")},
            profiler=None,
        )
    ).wait(timeout=120)
    assert job.status == "Completed", job.describe().get("FailureReason")
    with tarfile.open(local_session.store.path_for(job.model_data)) as tar:
        seen = json.load(tar.extractfile("seen.json"))
    assert seen["hyperparameters"] == {"epochs": 2, "dropout": None}
    assert set(seen["channels"]) == {"train"} and os.path.isdir(seen["channels"]["train"])
    assert seen["current_host"] == "algo-1"
    assert not seen["model_dir"].startswith("/opt/ml")
