import json
import subprocess
import sys

import pytest

from smkit.cli import main


def test_usecases_list(capsys):
    assert main(["usecases", "list"]) == 0
    assert "staging-demo" in capsys.readouterr().out


def test_run_staging_demo_quick(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["run", "staging-demo", "--quick", "--out", str(out)]) == 0
    report = json.loads((out / "report.json").read_text())
    assert report["status"] == "Succeeded"
    assert report["metrics"]["rows"]["train"] > report["metrics"]["rows"]["validation"] > 0
    assert report["artifacts"]["file_train"].startswith("s3://smkit/staging-demo/")
    assert (out / "report.html").read_text().startswith("<!doctype html>")
    assert "report.json" in capsys.readouterr().out


def test_run_plan_lists_validated_requests(tmp_path):
    out = tmp_path / "plan"
    assert (
        main(
            [
                "run",
                "staging-demo",
                "--quick",
                "--backend",
                "aws",
                "--plan",
                "--region",
                "us-east-1",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    plan = json.loads((out / "plan.json").read_text())
    assert {p["operation"] for p in plan} >= {"PutObject"}


def test_errors_are_one_line_with_exit_codes(tmp_path, capsys):
    assert main(["run", "no-such-usecase"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: unknown use case 'no-such-usecase'") and err.count("\n") == 1
    assert main(["run", "staging-demo", "--set", "nonsense=1"]) == 2
    assert main(["run", "staging-demo", "--set", "validation_days=abc"]) == 2
    assert main(["run", "staging-demo", "--plan"]) == 2  # --plan needs aws


@pytest.mark.parametrize("cmd", [[], ["usecases"], ["run"], ["doctor"]])
def test_help_has_examples(cmd):
    out = subprocess.run(
        [sys.executable, "-m", "smkit.cli", *cmd, "--help"], capture_output=True, text=True
    )
    assert out.returncode == 0
    assert "example" in out.stdout


def test_doctor_json(capsys):
    assert main(["doctor", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["extras"]["test"] is True
    assert "secret" not in json.dumps(data).lower()


def test_doctor_with_aws_configured_never_prints_secrets(capsys, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAABCDEFGHIJKLMNOP")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    assert main(["doctor", "--json"]) == 0
    text = capsys.readouterr().out
    data = json.loads(text)
    assert data["aws"] == {"region": "eu-west-1", "credentials": True, "credential_source": "env"}
    assert main(["doctor"]) == 0
    text += capsys.readouterr().out
    assert "AKIAABCDEFGHIJKLMNOP" not in text and "EXAMPLEKEY" not in text
    assert "credentials: found (env)" in text


def test_doctor_without_aws_configuration(capsys, monkeypatch):
    for var in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "AWS_PROFILE",
    ):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    assert main(["doctor"]) == 0
    out = capsys.readouterr().out
    assert "aws region: not set; credentials: not found" in out
