"""Local endpoint exposure (host, bearer token) and a dead endpoint marked Failed fast."""

from __future__ import annotations

import hashlib
import logging
import os
import signal
import sys
import time
from pathlib import Path

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).parent / "serving"))
from serving_helpers import wine_sklearn

from smkit.errors import ConfigError, ModelError, ValidationError
from smkit.serving import DataCaptureSpec, EndpointSpec, ModelSpec
from smkit.session import Session

pytestmark = pytest.mark.timeout(180)
TOKEN = "s3cr3t-token-0123456789abcdef"
ROW = "13.2,1.78,2.14,11.2,100.0,2.65,2.76,0.26,1.28,4.38,1.05,3.4,1050.0\n"


@pytest.fixture(scope="module")
def artifact(tmp_path_factory):
    return wine_sklearn(tmp_path_factory.mktemp("art"))


@pytest.fixture()
def session(tmp_path):
    s = Session("local", root=tmp_path / "root")
    yield s
    for rec in s.backend.list_endpoints():
        try:
            s.backend.delete_endpoint(rec["EndpointName"], force=True)
        except Exception:
            pass
    s.backend.stop_gateway()
    s.close()


def test_spec_defaults_to_loopback_and_validates():
    spec = EndpointSpec(name="a")
    assert spec.host == "127.0.0.1" and spec.is_loopback and spec.auth_token is None
    assert EndpointSpec(name="a", host="::1").is_loopback
    assert not EndpointSpec(name="a", host="0.0.0.0").is_loopback
    with pytest.raises(ConfigError, match="host"):
        EndpointSpec(name="a", host="bad host!")
    with pytest.raises(ConfigError, match="auth_token"):
        EndpointSpec(name="a", auth_token="short")
    assert TOKEN not in repr(EndpointSpec(name="a", auth_token=TOKEN))


def test_default_endpoint_binds_loopback_only(session, artifact):
    import psutil

    ep = session.deploy(
        ModelSpec(model_data=str(artifact), framework="sklearn"), EndpointSpec(name="lo")
    )
    d = ep.describe()
    assert d["Url"].startswith("http://127.0.0.1:") and d["Host"] == "127.0.0.1"
    assert d["AuthTokenSha256"] is None
    conns = [c for c in psutil.Process(d["Pid"]).net_connections("tcp") if c.status == "LISTEN"]
    assert conns and all(c.laddr.ip == "127.0.0.1" for c in conns)


def test_exposed_endpoint_warns_and_requires_the_token(session, artifact, caplog):
    import psutil

    with caplog.at_level(logging.WARNING, logger="smkit.serving"):
        ep = session.deploy(
            ModelSpec(model_data=str(artifact), framework="sklearn"),
            EndpointSpec(
                name="open",
                host="0.0.0.0",
                auth_token=TOKEN,
                data_capture=DataCaptureSpec(sampling_percentage=100),
            ),
        )
    assert "binds 0.0.0.0" in caplog.text and TOKEN not in caplog.text
    d = ep.describe()
    listening = [c for c in psutil.Process(d["Pid"]).net_connections("tcp") if c.status == "LISTEN"]
    assert listening[0].laddr.ip == "0.0.0.0"
    # only the hash is stored, never the token
    assert d["AuthTokenSha256"] == hashlib.sha256(TOKEN.encode()).hexdigest()
    catalog_file = Path(session.backend.root)
    blob = b"".join(p.read_bytes() for p in catalog_file.rglob("*") if p.is_file())
    assert TOKEN.encode() not in blob
    url = d["Url"] + "/invocations"
    hdr = {"Content-Type": "text/csv"}
    assert httpx.post(url, content=ROW, headers=hdr, trust_env=False).status_code == 401
    bad = {**hdr, "Authorization": "Bearer wrong-token-0123456789"}
    assert httpx.post(url, content=ROW, headers=bad, trust_env=False).status_code == 401
    assert httpx.post(d["Url"] + "/_smkit/flush", trust_env=False).status_code == 401
    assert httpx.get(d["Url"] + "/ping", trust_env=False).status_code == 200  # health check
    good = {**hdr, "Authorization": f"Bearer {TOKEN}"}
    assert httpx.post(url, content=ROW, headers=good, trust_env=False).status_code == 200
    # the handle returned by deploy sends the token; flush works through it too
    assert ep.predict(
        [[13.2, 1.78, 2.14, 11.2, 100.0, 2.65, 2.76, 0.26, 1.28, 4.38, 1.05, 3.4, 1050.0]]
    )
    ep.flush_capture()
    # a handle without the token is refused
    with pytest.raises((ModelError, ValidationError)):
        session.backend.predictor("open").predict([[1.0] * 13])
    assert session.backend.predictor("open", auth_token=TOKEN).predict([[1.0] * 13])
    assert session.backend.endpoint("open", auth_token=TOKEN).predict([[1.0] * 13])


def test_gateway_binds_loopback_and_can_require_a_token(session, artifact):
    session.deploy(ModelSpec(model_data=str(artifact), framework="sklearn"), EndpointSpec(name="g"))
    url = session.backend.gateway(auth_token=TOKEN)
    assert url.startswith("http://127.0.0.1:")
    rec = session.backend.catalog.describe("gateway", "local").data
    assert rec["AuthTokenSha256"] == hashlib.sha256(TOKEN.encode()).hexdigest()
    assert TOKEN not in str(rec)
    inv = url + "/endpoints/g/invocations"
    assert (
        httpx.post(
            inv, content=ROW, headers={"Content-Type": "text/csv"}, trust_env=False
        ).status_code
        == 401
    )
    ok = httpx.post(
        inv,
        content=ROW,
        headers={"Content-Type": "text/csv", "Authorization": f"Bearer {TOKEN}"},
        trust_env=False,
    )
    assert ok.status_code == 200, ok.text


def test_cli_deploy_host_and_token_from_env(artifact, tmp_path, monkeypatch, capsys):
    from smkit.cli import main

    root = str(tmp_path / "cli-root")
    monkeypatch.setenv("MY_TOKEN", TOKEN)
    try:
        rc = main(
            [
                "deploy",
                "--model-data",
                str(artifact),
                "--framework",
                "sklearn",
                "--name",
                "cli-open",
                "--host",
                "0.0.0.0",
                "--auth-token-env",
                "MY_TOKEN",
                "--root",
                root,
            ]
        )
        assert rc == 0
        url = capsys.readouterr().out.strip()
        assert url.startswith("http://127.0.0.1:")
        body = {"Content-Type": "text/csv"}
        assert (
            httpx.post(url + "/invocations", content=ROW, headers=body, trust_env=False).status_code
            == 401
        )
        monkeypatch.setenv("SMKIT_ENDPOINT_TOKEN", TOKEN)
        assert main(["endpoints", "invoke", "cli-open", "--body", ROW.strip(), "--root", root]) == 0
        monkeypatch.delenv("MY_TOKEN")
        assert (
            main(
                [
                    "deploy",
                    "--model-data",
                    str(artifact),
                    "--framework",
                    "sklearn",
                    "--name",
                    "x",
                    "--auth-token-env",
                    "MY_TOKEN",
                    "--root",
                    root,
                ]
            )
            != 0
        )
    finally:
        main(["endpoints", "delete", "cli-open", "--root", root])


def test_killed_endpoint_is_failed_within_seconds(session, artifact):
    ep = session.deploy(
        ModelSpec(model_data=str(artifact), framework="sklearn"), EndpointSpec(name="dies")
    )
    pid = ep.describe()["Pid"]
    os.kill(pid, signal.SIGKILL)
    t0 = time.monotonic()
    while time.monotonic() - t0 < 5:
        listed = {r["EndpointName"]: r for r in session.backend.list_endpoints()}
        if listed["dies"]["EndpointStatus"] == "Failed":
            break
        time.sleep(0.05)
    elapsed = time.monotonic() - t0
    assert listed["dies"]["EndpointStatus"] == "Failed", listed["dies"]
    assert elapsed < 5
    assert f"process {pid} is gone" in listed["dies"]["FailureReason"]
    assert ep.describe()["EndpointStatus"] == "Failed"


@pytest.mark.parametrize("workers", ["1", "2"])
def test_capture_write_failures_are_reported_on_the_endpoint(session, artifact, workers):
    from smkit.errors import SmkitTimeoutError

    ep = session.deploy(
        ModelSpec(
            model_data=str(artifact),
            framework="sklearn",
            env={"SAGEMAKER_MODEL_SERVER_WORKERS": workers},
        ),
        EndpointSpec(name=f"cap-{workers}", data_capture=DataCaptureSpec(sampling_percentage=100)),
    )
    # a file where the capture directory must go: every capture write fails, like a full disk
    blocker = session.backend.store.path_for(ep.capture_prefix.rstrip("/"))
    blocker.parent.mkdir(parents=True, exist_ok=True)
    blocker.write_text("in the way")
    row = [[13.2, 1.78, 2.14, 11.2, 100.0, 2.65, 2.76, 0.26, 1.28, 4.38, 1.05, 3.4, 1050.0]]
    for _ in range(5):
        ep.predict(row)
    with pytest.raises(SmkitTimeoutError, match="could not be written yet"):
        ep.flush_capture()
    stats = ep.describe()["CaptureStats"]
    assert stats["Held"] == 5 and stats["Dropped"] == 0 and stats["WriteErrors"] >= 5
    blocker.unlink()
    ep.flush_capture()
    stats = ep.describe()["CaptureStats"]
    assert stats["Written"] == 5 and stats["Held"] == 0
    store = session.backend.store
    lines = [
        line
        for info in store.list(ep.capture_prefix)
        for line in store.get_bytes(info.uri).splitlines()
    ]
    assert len(lines) == 5
