"""Issue 21, items 1-3 and 9: artifact integrity, private channel copies, channel names,
a clean environment for user code and redacted job records. Each test is the attack."""

from __future__ import annotations

import json
import os
import pickle
import sys
import textwrap
from pathlib import Path

import pytest

from smkit.errors import ConfigError, ValidationError

pytestmark = pytest.mark.timeout(120)

SECRET = "wJalrXUtnFEMI-K7MDENG-bPxRfiCYEXAMPLEKEY"

# rewrites its input in place (df.to_csv(same_path)), reports what it can see
REWRITER = textwrap.dedent(
    """
    import json, os, sys
    train = os.environ["SM_CHANNEL_TRAIN"]
    for name in os.listdir(train):
        path = os.path.join(train, name)
        with open(path, "w") as fh:      # truncate + rewrite the same path
            fh.write("overwritten by the script\\n")
    out = os.environ["SM_OUTPUT_DATA_DIR"]
    json.dump(dict(os.environ), open(os.path.join(out, "env.json"), "w"))
    print("argv", sys.argv[1:])
    open(os.path.join(os.environ["SM_MODEL_DIR"], "m.txt"), "w").write("m")
    """
)


def _env_of(session, job):
    import tarfile

    with tarfile.open(session.store.path_for(job.output_data)) as tar:
        return json.load(tar.extractfile("env.json"))


@pytest.fixture
def rewriter(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "train.py").write_text(REWRITER)
    return src


def test_script_rewriting_its_input_changes_neither_store_nor_user_file(
    local_session, rewriter, tmp_path, monkeypatch
):
    from smkit.training import TrainingSpec

    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.setenv("SMKIT_TEST_API_TOKEN", SECRET)
    user_file = tmp_path / "mine.csv"
    user_file.write_text("1,2,3\n")
    local_session.store.put_file("s3://smkit/d/train/a.csv", user_file)
    stored = local_session.store.path_for("s3://smkit/d/train/a.csv")
    sha = local_session.store.head("s3://smkit/d/train/a.csv").sha256
    for inputs in ({"train": "s3://smkit/d/train/"}, {"train": str(user_file)}):
        job = local_session.train(
            TrainingSpec(
                entry_point="train.py",
                source_dir=str(rewriter),
                inputs=inputs,
                hyperparameters={"db_password": SECRET, "epochs": 2},
                environment={"MY_SETTING": "on"},
            )
        ).wait(timeout=90)
        assert job.status == "Completed"
        # the job's private copy was rewritten, not the store object nor the user's file
        assert stored.read_text() == "1,2,3\n" and user_file.read_text() == "1,2,3\n"
        assert local_session.store.head("s3://smkit/d/train/a.csv").sha256 == sha
        env = _env_of(local_session, job)
        # clean environment: what the job defines + SageMaker variables + what Python needs
        assert env["MY_SETTING"] == "on" and "SM_CHANNEL_TRAIN" in env and "PATH" in env
        assert "AWS_SECRET_ACCESS_KEY" not in env and "SMKIT_TEST_API_TOKEN" not in env
        assert SECRET not in json.dumps(
            {
                k: v
                for k, v in env.items()
                if k != "SM_HPS" and not k.startswith(("SM_HP", "SM_TRAINING_ENV", "SM_USER_ARGS"))
            }
        )
        # the supervisor's log line of the command has the hyperparameter value redacted
        log = job.logs() if callable(getattr(job, "logs", None)) else ""
        if not isinstance(log, str):
            log = "".join(log)
        running = [line for line in log.splitlines() if line.startswith("smkit: running")]
        assert running and "--db_password ***redacted***" in running[0]
        assert SECRET not in running[0]


def test_inherit_env_opts_into_the_host_environment(local_session, rewriter, monkeypatch):
    from smkit.training import TrainingSpec

    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    local_session.store.put_bytes("s3://smkit/d/t/a.csv", b"1\n")
    job = local_session.train(
        TrainingSpec(
            entry_point="train.py",
            source_dir=str(rewriter),
            inputs={"train": "s3://smkit/d/t/"},
            inherit_env=True,
        )
    ).wait(timeout=90)
    assert _env_of(local_session, job)["AWS_SECRET_ACCESS_KEY"] == SECRET


def test_clean_environment_unit():
    from smkit.backends.local.isolation import clean_environment, redact_argv

    host = {
        "PATH": "/bin",
        "LC_ALL": "C",
        "AWS_SESSION_TOKEN": "x",
        "GITHUB_TOKEN": "y",
        "SMKIT_ENDPOINT_TOKEN": "z",
        "SMKIT_BUCKET": "b",
    }
    assert clean_environment({"A": "1"}, host=host) == {
        "PATH": "/bin",
        "LC_ALL": "C",
        "SMKIT_BUCKET": "b",
        "A": "1",
    }
    assert clean_environment({"PATH": "/x"}, host=host, inherit=True)["GITHUB_TOKEN"] == "y"
    assert redact_argv(["py", "--api_key", "k", "--lr", "0.1", "--token=t"]) == [
        "py", "--api_key", "***redacted***", "--lr", "0.1", "--token=***redacted***",
    ]  # fmt: skip


@pytest.mark.parametrize(
    "name", ["../../../x", "..", ".", "a/b", "", "x" * 65, "tr ain", "a\x00b", "/abs"]
)
def test_bad_channel_names_are_refused(name):
    from smkit.training import TrainingSpec

    with pytest.raises(ConfigError, match="channel name"):
        TrainingSpec(entry_point="t.py", inputs={name: "s3://b/k"})


def test_channel_name_traversal_writes_nothing(tmp_path, monkeypatch):
    """`smkit train --channel ../../../x=train.csv`: exit 2, nothing outside (or inside) the
    root is created."""
    from smkit.cli import main

    monkeypatch.chdir(tmp_path)
    (tmp_path / "t.py").write_text("print(1)\n")
    (tmp_path / "train.csv").write_text("1\n")
    root = tmp_path / "deep" / "er" / "root"
    before = list(tmp_path.rglob("*"))
    rc = main(
        ["train", "--entry-point", "t.py", "--channel", "../../../x=train.csv",
         "--root", str(root), "--no-wait"]
    )  # fmt: skip
    assert rc == 2
    created = sorted(set(tmp_path.rglob("*")) - set(before))
    assert all(p == root or root in p.parents or p in root.parents for p in created), created
    assert not any(p.name == "x" for p in created) and not (tmp_path / "x").exists()
    assert not (root / "jobs").exists() or not any((root / "jobs").iterdir())


def test_supervisor_refuses_a_bad_channel_name_in_a_record(local_session, rewriter):
    """A record edited behind smkit's back still cannot make the supervisor write outside."""
    from smkit.backends.local.jobs import _Supervisor
    from smkit.training.contract import JobPaths

    jobdir = local_session.backend.root / "jobs" / "evil"
    JobPaths(jobdir).create()
    local_session.catalog.create(
        "training_job",
        "evil",
        {
            "JobDir": str(jobdir),
            "SecondaryStatusTransitions": [],
            "InputDataConfig": [
                {
                    "ChannelName": "../../../../escaped",
                    "DataSource": {"S3DataSource": {"S3Uri": str(rewriter / "train.py")}},
                }
            ],
        },
        status="InProgress",
    )
    sup = _Supervisor(local_session.backend.root, "evil")
    with pytest.raises(ConfigError, match="channel name"):
        sup.download()
    assert not (jobdir.parents[3] / "escaped").exists()


# -- 1: the integrity check cannot be bypassed with a directory -----------------------------
def _backend_with_model(session, url, sha):
    return {"PrimaryContainer": {"ModelDataUrl": url}, "ModelDataSha256": sha}


def test_directory_in_place_of_a_verified_artifact_is_refused(local_session, tmp_path):
    from smkit.backends.local.endpoint_server import prepare_model

    url = "s3://smkit/job/output/model.tar.gz"
    path = local_session.store.path_for(url)
    path.mkdir(parents=True)  # the attacker's directory named model.tar.gz
    (path / "model.pkl").write_bytes(pickle.dumps({"evil": True}))
    model = _backend_with_model(local_session, url, "0" * 64)
    with pytest.raises(ValidationError, match="is a directory"):
        prepare_model(local_session.backend, model, tmp_path / "dest")
    # a store URI is an object, never a directory, even without a recorded SHA-256
    with pytest.raises(ValidationError, match="is a directory"):
        prepare_model(local_session.backend, _backend_with_model(None, url, None), tmp_path / "d")
    # a local model directory the user names (no SHA-256) is still served as is
    mine = tmp_path / "mymodel"
    mine.mkdir()
    assert (
        prepare_model(
            local_session.backend, _backend_with_model(None, str(mine), None), tmp_path / "d2"
        )
        == mine
    )


@pytest.mark.slow
def test_deploy_of_a_replaced_artifact_fails_not_in_service(local_session, tmp_path):
    sys.path.insert(0, str(Path(__file__).parent / "serving"))
    from serving_helpers import wine_sklearn

    from smkit.backends.local.store import sha256_file
    from smkit.errors import ResourceFailedError
    from smkit.serving import EndpointSpec, ModelSpec

    art = wine_sklearn(tmp_path)
    url = "s3://smkit/j/output/model.tar.gz"
    local_session.store.put_file(url, art)
    sha = sha256_file(art)
    stored = local_session.store.path_for(url)
    os.unlink(stored)
    stored.mkdir()
    (stored / "model.joblib").write_bytes(b"not really a model")
    with pytest.raises((ResourceFailedError, ValidationError), match="directory"):
        local_session.deploy(
            ModelSpec(model_data=url, framework="sklearn", sha256=sha), EndpointSpec(name="x")
        )


def test_job_model_from_another_working_directory(local_session, rewriter, tmp_path, monkeypatch):
    """--source-dir given relative; job.model() called after a chdir still finds the code."""
    from smkit.training import TrainingSpec

    local_session.store.put_bytes("s3://smkit/d/rel/a.csv", b"1\n")
    monkeypatch.chdir(rewriter.parent)
    job = local_session.train(
        TrainingSpec(
            entry_point="train.py", source_dir="src", inputs={"train": "s3://smkit/d/rel/"}
        )
    ).wait(timeout=90)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    from smkit.training.job import TrainingJob

    again = TrainingJob(local_session.backend, job.name)  # as `smkit` would rebuild it
    spec = again.model()
    assert Path(spec.source_dir).is_absolute()
    assert (Path(spec.source_dir) / spec.entry_point).is_file()
