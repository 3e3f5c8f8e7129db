"""Local training jobs: the container contract, artifacts, records and failure modes."""

from __future__ import annotations

import json
import os
import signal
import tarfile
import textwrap
import time

import pytest

from smkit.errors import ResourceFailedError, SourceNotFoundError
from smkit.training import Channel, TrainingSpec

pytestmark = pytest.mark.timeout(120)

# An unmodified SageMaker-style script: argparse + SM_MODEL_DIR / SM_CHANNEL_TRAIN, label-first
# CSV without a header, model_fn in the same file.
SAGEMAKER_SCRIPT = textwrap.dedent(
    """
    import argparse
    import json
    import os
    import pickle

    import numpy as np
    from sklearn.linear_model import LogisticRegression


    def model_fn(model_dir):
        with open(os.path.join(model_dir, "model.pkl"), "rb") as fh:
            return pickle.load(fh)


    if __name__ == "__main__":
        parser = argparse.ArgumentParser()
        parser.add_argument("--c_value", type=float, default=1.0)
        parser.add_argument("--max_iter", type=int, default=100)
        parser.add_argument("--solver", type=str, default="lbfgs")
        parser.add_argument("--model-dir", type=str, default=os.environ["SM_MODEL_DIR"])
        parser.add_argument("--train", type=str, default=os.environ["SM_CHANNEL_TRAIN"])
        parser.add_argument("--output-data-dir", default=os.environ["SM_OUTPUT_DATA_DIR"])
        args = parser.parse_args()
        files = [os.path.join(args.train, f) for f in os.listdir(args.train)]
        data = np.concatenate([np.loadtxt(f, delimiter=",", ndmin=2) for f in files])
        y, X = data[:, 0], data[:, 1:]
        clf = LogisticRegression(C=args.c_value, max_iter=args.max_iter, solver=args.solver)
        clf.fit(X, y)
        acc = clf.score(X, y)
        print(f"train_accuracy={acc:.4f}")
        with open(os.path.join(args.model_dir, "model.pkl"), "wb") as fh:
            pickle.dump(clf, fh)
        with open(os.path.join(args.output_data_dir, "env.json"), "w") as fh:
            env = {k: v for k, v in os.environ.items() if k.startswith(("SM_", "TRAINING_"))}
            json.dump(env, fh)
        cfg = os.environ["SM_INPUT_CONFIG_DIR"]
        with open(os.path.join(args.output_data_dir, "hps.json"), "w") as fh:
            fh.write(open(os.path.join(cfg, "hyperparameters.json")).read())
    """
)


def _csv(path, rows=60):
    import numpy as np

    rng = np.random.default_rng(0)
    X = rng.normal(size=(rows, 3))
    y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(int)
    lines = [",".join([str(label), *(f"{v:.5f}" for v in row)]) for label, row in zip(y, X)]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def project(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "train.py").write_text(SAGEMAKER_SCRIPT)
    data = tmp_path / "data"
    data.mkdir()
    _csv(data / "train.csv")
    return tmp_path


def _script(tmp_path, body, name="job.py"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(body))
    return str(path)


def test_unmodified_sagemaker_script_gives_model_tar(local_session, project):
    local_session.store.put_file("s3://smkit/d/train/train.csv", project / "data" / "train.csv")
    spec = TrainingSpec(
        entry_point="train.py",
        source_dir=str(project / "src"),
        framework="sklearn",
        hyperparameters={"c_value": 0.5, "max_iter": 200, "solver": "lbfgs"},
        inputs={"train": Channel("s3://smkit/d/train/", content_type="text/csv")},
        metric_definitions={"train:accuracy": r"train_accuracy=([0-9.]+)"},
    )
    job = local_session.train(spec).wait(timeout=90)
    assert job.status == "Completed"
    assert job.metrics["train:accuracy"] > 0.8
    path = local_session.store.path_for(job.model_data)
    assert job.model_data.endswith(f"{job.name}/output/model.tar.gz")
    with tarfile.open(path) as tar:
        assert tar.getnames() == ["model.pkl"]
    record = job.describe()
    assert record["ModelArtifactSha256"] == local_session.store.head(job.model_data).sha256
    assert record["BillableTimeInSeconds"] >= 1
    assert [t["Status"] for t in record["SecondaryStatusTransitions"]] == [
        "Starting",
        "Downloading",
        "Training",
        "Uploading",
        "Completed",
    ]
    # the contract: hyperparameters JSON-encoded, SM_* variables, output.tar.gz
    with tarfile.open(local_session.store.path_for(job.output_data)) as tar:
        env = json.load(tar.extractfile("env.json"))
        hps = json.load(tar.extractfile("hps.json"))
    assert hps["solver"] == '"lbfgs"' and hps["c_value"] == "0.5" and hps["max_iter"] == "200"
    assert json.loads(env["SM_CHANNELS"]) == ["train"]
    assert json.loads(env["SM_HPS"]) == {"c_value": 0.5, "max_iter": 200, "solver": "lbfgs"}
    assert env["SM_HP_SOLVER"] == "lbfgs" and env["SM_HP_C_VALUE"] == "0.5"
    assert json.loads(env["SM_USER_ARGS"]) == [
        "--c_value", "0.5", "--max_iter", "200", "--solver", "lbfgs",
    ]  # fmt: skip
    assert env["TRAINING_JOB_NAME"] == job.name
    for key in (
        "SM_MODEL_DIR", "SM_OUTPUT_DATA_DIR", "SM_OUTPUT_DIR", "SM_OUTPUT_INTERMEDIATE_DIR",
        "SM_INPUT_DIR", "SM_INPUT_CONFIG_DIR", "SM_NUM_GPUS", "SM_NUM_CPUS", "SM_HOSTS",
        "SM_CURRENT_HOST", "SM_CURRENT_INSTANCE_TYPE", "SM_NETWORK_INTERFACE_NAME",
        "SM_RESOURCE_CONFIG", "SM_INPUT_DATA_CONFIG", "SM_FRAMEWORK_PARAMS",
        "SM_USER_ENTRY_POINT", "SM_MODULE_DIR", "SM_MODULE_NAME", "SM_LOG_LEVEL",
        "SM_TRAINING_ENV", "SM_CHANNEL_TRAIN", "TRAINING_JOB_ARN",
    ):  # fmt: skip
        assert key in env, key
    assert json.loads(env["SM_INPUT_DATA_CONFIG"])["train"]["ContentType"] == "text/csv"
    assert json.loads(env["SM_RESOURCE_CONFIG"])["current_host"] == "algo-1"
    assert "train_accuracy=" in job.logs()
    # the model_fn in the same script loads the artifact
    import importlib.util

    out = project / "unpacked"
    with tarfile.open(path) as tar:
        tar.extractall(out, filter="data")
    mod_spec = importlib.util.spec_from_file_location("train_mod", project / "src" / "train.py")
    module = importlib.util.module_from_spec(mod_spec)
    mod_spec.loader.exec_module(module)
    assert module.model_fn(str(out)).predict([[2.0, 1.0, 0.0]])[0] == 1
    # a ModelSpec for serving, when serving is there
    try:
        model = job.model()
    except ImportError:  # pragma: no cover - serving not present
        return
    assert model.framework == "sklearn" and model.sha256 == record["ModelArtifactSha256"]
    assert model.entry_point == "train.py" and model.source_dir == str(project / "src")


def test_failing_script_reports_failure_file_or_stderr(local_session, tmp_path):
    failing = _script(
        tmp_path,
        """
        import os
        with open(os.path.join(os.environ["SM_OUTPUT_DIR"], "failure"), "w") as fh:
            fh.write("custom failure: bad input " + "x" * 2000)
        raise SystemExit(3)
        """,
    )
    job = local_session.train(TrainingSpec(entry_point=failing, profiler=None))
    with pytest.raises(ResourceFailedError, match="custom failure: bad input"):
        job.wait(timeout=60)
    record = job.describe()
    assert record["TrainingJobStatus"] == "Failed"
    assert len(record["FailureReason"]) == 1024

    raising = _script(tmp_path, "raise ValueError('the data is wrong')\n", "raise.py")
    job = local_session.train(TrainingSpec(entry_point=raising, profiler=None))
    with pytest.raises(ResourceFailedError) as err:
        job.wait(timeout=60)
    reason = err.value.context["reason"]
    assert "ExitCode 1" in reason and "ValueError: the data is wrong" in reason


def test_bad_inputs_fail_before_starting(local_session, tmp_path):
    with pytest.raises(SourceNotFoundError, match="entry point"):
        local_session.train(TrainingSpec(entry_point="nope.py", source_dir=str(tmp_path)))
    ok = _script(tmp_path, "print('hi')\n")
    with pytest.raises(SourceNotFoundError, match="points at nothing"):
        local_session.train(TrainingSpec(entry_point=ok, inputs={"train": "s3://smkit/missing/"}))
    assert local_session.backend.list_training_jobs() == []


def test_metric_regex_that_never_matches_warns(local_session, tmp_path):
    script = _script(tmp_path, "print('loss: 0.5')\n")
    job = local_session.train(
        TrainingSpec(entry_point=script, metric_definitions={"acc": r"accuracy=([0-9.]+)"})
    ).wait(timeout=60)
    assert job.metrics == {}
    assert "acc" in job.describe()["SmkitWarnings"][0]
    assert "never matched" in job.logs()


def test_max_runtime_stops_the_job(local_session, tmp_path, monkeypatch):
    script = _script(tmp_path, "import time\nprint('start', flush=True)\ntime.sleep(60)\n")
    job = local_session.train(TrainingSpec(entry_point=script, max_runtime=1, profiler=None))
    job.wait(timeout=60)
    record = job.describe()
    assert record["TrainingJobStatus"] == "Stopped"
    assert record["SecondaryStatus"] == "MaxRuntimeExceeded"
    assert record["ModelArtifacts"]["S3ModelArtifacts"]


def _wait_for(predicate, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def test_killed_script_ends_failed(local_session, tmp_path):
    script = _script(tmp_path, "import time\nprint('up', flush=True)\ntime.sleep(60)\n")
    job = local_session.train(TrainingSpec(entry_point=script, profiler=None))
    assert _wait_for(lambda: job.describe().get("ScriptPid"))
    os.kill(job.describe()["ScriptPid"], signal.SIGKILL)
    with pytest.raises(ResourceFailedError, match="SIGKILL"):
        job.wait(timeout=60)


def test_killed_supervisor_never_stays_in_progress(local_session, tmp_path, capsys):
    from smkit.cli import main

    script = _script(tmp_path, "import time\nprint('up', flush=True)\ntime.sleep(60)\n")
    job = local_session.train(TrainingSpec(entry_point=script, profiler=None))
    assert _wait_for(lambda: job.describe().get("ScriptPid"))
    record = job.describe()
    os.kill(record["SupervisorPid"], signal.SIGKILL)
    root = str(local_session.backend.root)
    assert _wait_for(lambda: job.status == "Failed")
    assert "supervisor" in job.describe()["FailureReason"]
    # the orphaned script is killed too
    import psutil

    assert _wait_for(
        lambda: (
            not psutil.pid_exists(record["ScriptPid"])
            or psutil.Process(record["ScriptPid"]).status() == psutil.STATUS_ZOMBIE
        )
    )
    assert main(["jobs", "list", "--root", root]) == 0
    out = capsys.readouterr().out
    assert job.name in out and "Failed" in out and "InProgress" not in out


def test_stop_a_running_job(local_session, tmp_path):
    script = _script(tmp_path, "import time\nprint('up', flush=True)\ntime.sleep(60)\n")
    job = local_session.train(TrainingSpec(entry_point=script, profiler=None))
    assert _wait_for(lambda: job.describe().get("ScriptPid"))
    job.stop()
    job.wait(timeout=30)
    assert job.status == "Stopped"


def test_hyperparameter_encoding_and_args():
    from smkit.training.contract import cmd_args, decode_hyperparameters, encode_hyperparameters

    enc = encode_hyperparameters({"a": 5, "b": "abc", "c": [1, 2], "d": True}, script_mode=True)
    assert enc == {"a": "5", "b": '"abc"', "c": "[1, 2]", "d": "true"}
    assert decode_hyperparameters({**enc, "raw": "not json"})["raw"] == "not json"
    assert cmd_args({"b": "x", "a": 1, "lr": 0.1}) == ["-a", "1", "-b", "x", "--lr", "0.1"]
    assert encode_hyperparameters({"d": True, "n": 3}, script_mode=False) == {"d": "true", "n": "3"}
