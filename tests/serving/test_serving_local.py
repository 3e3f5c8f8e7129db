"""Local endpoints end to end: a real server process per endpoint."""

from __future__ import annotations

import io
import json
import os
import re
import signal
import subprocess
import sys
import tarfile
import time

import httpx
import numpy as np
import pytest
from serving_helpers import FIXTURES, WINE_CSV, WINE_ROW, custom_model, sha256, wine_sklearn
from serving_helpers import wine_xgboost as build_wine

from smkit.errors import (
    ModelError,
    ResourceExistsError,
    ResourceFailedError,
    ResourceInUseError,
    SourceNotFoundError,
    ValidationError,
)
from smkit.serving import DataCaptureSpec, EndpointSpec, ModelSpec
from smkit.session import Session

pytestmark = pytest.mark.timeout(180)


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("artifacts")
    return {"wine": build_wine(tmp), "sklearn": wine_sklearn(tmp), "custom": custom_model(tmp)}


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    s = Session("local", root=tmp_path_factory.mktemp("root"))
    yield s
    for rec in s.backend.list_endpoints():
        try:
            s.backend.delete_endpoint(rec["EndpointName"], force=True)
        except Exception:
            pass
    s.backend.stop_gateway()
    s.close()


@pytest.fixture(scope="module")
def wine(session, artifacts):
    ep = session.deploy(
        ModelSpec(
            model_data=str(artifacts["wine"]), framework="xgboost", sha256=sha256(artifacts["wine"])
        ),
        EndpointSpec(name="wine", data_capture=DataCaptureSpec(sampling_percentage=100)),
    )
    yield ep


def post(ep, body, content_type="text/csv", **headers):
    return httpx.post(
        ep.url + "/invocations",
        content=body,
        headers={"Content-Type": content_type, **headers},
        timeout=30,
        trust_env=False,
    )


def test_deploy_records_endpoint_config_and_model(session, wine):
    d = wine.describe()
    assert d["EndpointStatus"] == "InService"
    assert re.match(r"^http://127\.0\.0\.1:\d+$", d["Url"]) and d["Port"] == int(d["Url"][17:])
    assert d["Pid"] and d["Framework"] == "xgboost" and d["VariantName"] == "AllTraffic"
    assert d["EndpointArn"].endswith(":endpoint/wine")
    assert d["DataCaptureConfig"] == {
        "EnableCapture": True,
        "CaptureStatus": "Started",
        "CurrentSamplingPercentage": 100,
        "DestinationS3Uri": "s3://smkit/data-capture",
    }
    rec = session.catalog.describe("endpoint", "wine")
    assert [t.status for t in rec.transitions] == ["Creating", "InService"]
    cfg = session.catalog.describe("endpoint_config", "wine-config").data
    assert cfg["DataCaptureConfig"]["CaptureOptions"] == [
        {"CaptureMode": "Input"},
        {"CaptureMode": "Output"},
    ]
    assert session.catalog.describe("model", "wine-model").data["ModelDataSha256"]
    assert wine.capture_prefix == "s3://smkit/data-capture/wine/AllTraffic/"
    assert wine.data_capture == DataCaptureSpec(
        sampling_percentage=100, destination="s3://smkit/data-capture"
    )
    with pytest.raises(ResourceExistsError, match="already exists"):
        session.deploy(
            ModelSpec(model_data=str(wine.describe()["LogPath"]), framework="xgboost"),
            EndpointSpec(name="wine"),
        )


def test_serving_is_a_component_sharing_the_backend(session, wine):
    from smkit.backends.local.serving import LocalServing

    backend = session.backend
    assert isinstance(backend.serving, LocalServing)
    assert not isinstance(backend, LocalServing)  # composed, not a mixin
    assert backend.serving.backend is backend
    assert backend.serving.catalog is backend.catalog
    assert backend.serving.store is backend.store and backend.serving.root == backend.root
    assert wine.backend is backend  # the handle calls the backend's delegates back
    assert backend.serving.endpoint("wine").backend is backend
    assert backend.serving.describe_endpoint("wine") == backend.describe_endpoint("wine")
    assert backend._url("wine") == wine.url
    assert "wine" in [e["EndpointName"] for e in backend.serving.list_endpoints()]


def test_ping_and_content_types(wine):
    r = httpx.get(wine.url + "/ping", trust_env=False)
    assert r.status_code == 200 and r.content == b""
    csv = wine.predict([WINE_ROW])
    assert len(csv) == 1 and len(csv[0]) == 3 and abs(sum(csv[0]) - 1) < 1e-4
    js = wine.predict({"instances": [WINE_ROW, WINE_ROW]})
    assert np.allclose(js, [csv[0], csv[0]], atol=1e-6)  # the array itself, as the toolkit
    npy = wine.predict(np.array([WINE_ROW]), content_type="application/x-npy")
    assert npy.shape == (1, 3)
    r = post(wine, WINE_CSV, Accept="application/json")
    assert r.headers["content-type"] == "application/json" and len(r.json()[0]) == 3
    r = post(wine, WINE_CSV, Accept="*/*")  # the toolkit's default Accept
    assert r.headers["content-type"] == "application/json"
    assert r.headers["x-amzn-invoked-production-variant"] == "AllTraffic"
    r = post(wine, WINE_CSV, Accept="application/xml")  # the toolkit answers 500
    assert r.status_code == 500 and "application/xml is not supported" in r.text
    # the model sets no custom attributes, so none are echoed
    r = post(wine, WINE_CSV, **{"X-Amzn-SageMaker-Custom-Attributes": "a=1"})
    assert "x-amzn-sagemaker-custom-attributes" not in r.headers


@pytest.mark.parametrize(
    "body, ctype, status, code",
    [
        (b"", "text/csv", 400, "ClientError"),
        (b"1,2,3\n", "text/csv", 500, None),  # the container's answer to a model error
        (b"a,b,c,d,e,f,g,h,i,j,k,l,m\n", "text/csv", 400, "ClientError"),
        (WINE_CSV.encode(), "text/plain", 415, "UnsupportedMediaType"),
        (b"\xff\xfe,1\n", "text/csv", 500, "'utf-8' codec"),  # decoded before input_fn
        (b"{not json", "application/json", 400, "ClientError"),
        (b"1,2\n3\n", "text/csv", 400, "ClientError"),
    ],
)
def test_bad_input_answers_json_error_and_keeps_serving(wine, body, ctype, status, code):
    r = post(wine, body, ctype)
    assert r.status_code == status
    if status == 500:
        assert (code or "Feature shape mismatch") in r.text
    else:
        assert r.json()["code"] == code and r.json()["message"]
    assert post(wine, WINE_CSV).status_code == 200


def test_body_over_5mb_is_refused(wine):
    r = post(wine, b"1," * (3 * 1024 * 1024))
    assert r.status_code == 413 and r.json()["code"] == "PayloadTooLarge"
    assert post(wine, WINE_CSV).status_code == 200


def test_predictor_maps_model_errors_and_batches(session, wine):
    p = session.predictor("wine")
    with pytest.raises(ModelError, match="Feature shape mismatch"):
        p.predict([[1, 2, 3]])
    rows = np.tile(np.array(WINE_ROW), (2500, 1))
    big = session.predictor("wine", serializer="csv", max_rows=1000)
    out = big.predict(rows)
    assert len(out) == 2500
    js = session.predictor("wine", serializer="json", deserializer="json", max_rows=1000)
    assert len(js.predict(rows[:1500])) == 1500
    with pytest.raises(ValidationError, match="not found"):
        session.predictor("nope")


def test_capture_files_match_formats(session, wine):
    wine.predict([WINE_ROW], inference_id="req-42")
    post(wine, WINE_CSV, "text/csv; charset=utf-8")
    wine.flush_capture()
    records = []
    for obj in session.store.list(wine.capture_prefix):
        assert re.search(
            r"/wine/AllTraffic/\d{4}/\d{2}/\d{2}/\d{2}/\d{2}-\d{2}-\d{3}-[0-9a-f-]{36}\.jsonl$",
            obj.uri,
        )
        records += [json.loads(x) for x in session.store.get_bytes(obj.uri).splitlines()]
    fixture = json.loads((FIXTURES / "monitor-capture.jsonl").open().readline())
    assert all(set(r) == set(fixture) for r in records)
    tagged = [r for r in records if r["eventMetadata"].get("inferenceId") == "req-42"]
    assert len(tagged) == 1
    rec = tagged[0]["captureData"]
    assert rec["endpointInput"]["data"] == WINE_CSV  # as sent, trailing newline kept
    assert rec["endpointInput"]["encoding"] == "CSV" and rec["endpointInput"]["mode"] == "INPUT"
    assert rec["endpointOutput"]["mode"] == "OUTPUT"
    assert len(rec["endpointOutput"]["data"].split(",")) == 3
    charset = [
        r
        for r in records
        if r["captureData"]["endpointInput"]["observedContentType"] == "text/csv; charset=utf-8"
    ]
    assert charset and charset[0]["captureData"]["endpointInput"]["encoding"] == "CSV"
    # failed requests are not captured: every record has an output
    assert all("endpointOutput" in r["captureData"] for r in records)


def test_custom_inference_script_hooks(session, artifacts):
    tar, src = artifacts["custom"]
    ep = session.deploy(
        ModelSpec(model_data=str(tar), entry_point="inference.py", source_dir=str(src)),
        EndpointSpec(name="custom"),
    )
    try:
        assert ep.predict("1,1,1\n") == [6.5]
        assert ep.predict({"x": [1, 0, 0]}) == {"score": 1.5}
        r = post(ep, b"1,2,3", **{"X-Amzn-SageMaker-Custom-Attributes": "trace=abc"})
        assert r.headers["x-amzn-sagemaker-custom-attributes"] == "trace=abc"
        with pytest.raises(ModelError, match="negative input"):
            ep.predict("-1,0,0\n")
    finally:
        ep.delete()
    assert ep.status == "Deleted"


def test_sklearn_builtin_handler(session, artifacts):
    ep = session.deploy(
        ModelSpec(model_data=str(artifacts["sklearn"]), framework="sklearn"),
        EndpointSpec(name="skl"),
    )
    try:
        assert ep.predict([WINE_ROW]) == [0.0]
    finally:
        ep.delete()


def test_delete_refuses_while_a_schedule_uses_it(session, artifacts):
    ep = session.deploy(
        ModelSpec(model_data=str(artifacts["sklearn"]), framework="sklearn"),
        EndpointSpec(name="monitored"),
    )
    session.catalog.create(
        "monitoring_schedule", "wine-dq", {"EndpointName": "monitored"}, status="Scheduled"
    )
    with pytest.raises(ResourceInUseError, match="wine-dq"):
        ep.delete()
    assert ep.status == "InService"
    pid = ep.describe()["Pid"]
    ep.delete(force=True)
    for kind, name in (
        ("endpoint", "monitored"),
        ("endpoint_config", "monitored-config"),
        ("model", "monitored-model"),
    ):
        assert session.catalog.describe(kind, name).status == "Deleted"
    from smkit.backends.local.serving import pid_alive

    assert not pid_alive(pid)


def test_dead_server_is_marked_failed(session, artifacts):
    ep = session.deploy(
        ModelSpec(model_data=str(artifacts["sklearn"]), framework="sklearn"),
        EndpointSpec(name="doomed"),
    )
    pid = ep.describe()["Pid"]
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and ep.status != "Failed":
        time.sleep(0.05)
    d = ep.describe()
    assert d["EndpointStatus"] == "Failed"
    assert f"process {pid} is gone" in d["FailureReason"]
    listed = {r["EndpointName"]: r for r in session.backend.list_endpoints()}
    assert listed["doomed"]["EndpointStatus"] == "Failed"
    ep.delete()


def test_idle_timeout_deletes_itself(session, artifacts):
    ep = session.deploy(
        ModelSpec(model_data=str(artifacts["sklearn"]), framework="sklearn"),
        EndpointSpec(
            name="idle", idle_timeout=1.5, data_capture=DataCaptureSpec(sampling_percentage=100)
        ),
    )
    ep.predict([WINE_ROW])
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and ep.status != "Deleted":
        time.sleep(0.1)
    d = ep.describe()
    assert d["EndpointStatus"] == "Deleted"
    assert "idle timeout" in d["DeletionReason"]
    assert session.catalog.describe("model", "idle-model").status == "Deleted"
    statuses = [t.status for t in session.catalog.describe("endpoint", "idle").transitions]
    assert statuses == ["Creating", "InService", "Deleting", "Deleted"]
    # the one captured request was drained on shutdown
    objs = session.store.list("s3://smkit/data-capture/idle/")
    assert sum(len(session.store.get_bytes(o.uri).splitlines()) for o in objs) == 1


def test_checksum_mismatch_and_unsafe_tarball_fail(session, artifacts, tmp_path):
    with pytest.raises(ResourceFailedError, match="SHA-256"):
        session.deploy(
            ModelSpec(model_data=str(artifacts["wine"]), framework="xgboost", sha256="0" * 64),
            EndpointSpec(name="badsum"),
        )
    assert "SHA-256" in session.backend.describe_endpoint("badsum")["FailureReason"]
    evil = tmp_path / "evil.tar.gz"
    with tarfile.open(evil, "w:gz") as tar:
        info = tarfile.TarInfo("../escape.txt")
        info.size = 3
        tar.addfile(info, io.BytesIO(b"bad"))
    with pytest.raises(ResourceFailedError, match="outside the destination|extract"):
        session.deploy(
            ModelSpec(model_data=str(evil), framework="xgboost"), EndpointSpec(name="evil")
        )
    assert not (session.backend.root / "endpoints" / "evil" / "escape.txt").exists()
    with pytest.raises(SourceNotFoundError):
        session.deploy(
            ModelSpec(model_data=str(tmp_path / "none.tar.gz"), framework="xgboost"),
            EndpointSpec(name="none"),
        )


def _cli(root, *args, check=True):
    env = {**os.environ, "SMKIT_HOME": str(root)}
    out = subprocess.run(
        [sys.executable, "-m", "smkit.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    if check:
        assert out.returncode == 0, out.stderr
    return out


def test_cli_deploy_outlives_its_creator(artifacts, tmp_path):
    root = tmp_path / "cli-root"
    out = _cli(
        root,
        "deploy",
        "--model-data",
        str(artifacts["wine"]),
        "--framework",
        "xgboost",
        "--name",
        "cli-wine",
        "--capture-percentage",
        "50",
    )
    url = out.stdout.strip().splitlines()[-1]
    assert url.startswith("http://127.0.0.1:")
    try:
        # the CLI process is gone; the endpoint still answers
        r = httpx.post(
            url + "/invocations",
            content=WINE_CSV,
            trust_env=False,
            headers={"Content-Type": "text/csv"},
        )
        assert r.status_code == 200
        listed = json.loads(_cli(root, "endpoints", "list", "--json").stdout)
        assert listed[0]["EndpointName"] == "cli-wine" and listed[0]["Url"] == url
        assert listed[0]["DataCaptureConfig"]["CurrentSamplingPercentage"] == 50
        table = _cli(root, "endpoints", "list").stdout
        assert "cli-wine" in table and "s3://smkit/data-capture" in table
        inv = _cli(
            root,
            "endpoints",
            "invoke",
            "cli-wine",
            "--content-type",
            "text/csv",
            "--body",
            WINE_CSV.strip(),
        )
        assert len(inv.stdout.strip().split(",")) == 3
        bad = _cli(root, "endpoints", "invoke", "cli-wine", "--body", "1,2", check=False)
        assert bad.returncode == 1 and "model error" in bad.stderr
        odd = _cli(
            root,
            "endpoints",
            "invoke",
            "cli-wine",
            "--content-type",
            "text/plain",
            "--body",
            "x",
            check=False,
        )
        assert odd.returncode == 1 and "error (415) from primary" in odd.stderr
    finally:
        _cli(root, "endpoints", "delete", "cli-wine")
    gone = json.loads(_cli(root, "endpoints", "list", "--all", "--json").stdout)
    assert gone[0]["EndpointStatus"] == "Deleted"


def test_a_delete_cut_short_by_an_interrupt_is_finished_by_the_cleanup(tmp_path, monkeypatch):
    """A signal that lands while the use case's own teardown deletes its endpoint leaves it
    "Deleting" with its server maybe still up; the interrupt cleanup must finish the delete
    (a fresh-clone CI run reported such an endpoint as "already stopped (Deleting)")."""
    import psutil

    from smkit.backends.local.serving import LocalServing
    from smkit.usecases._run import Interrupted, RunContext

    ctx = RunContext(Session("local", root=tmp_path / "root"))
    tar, src = custom_model(tmp_path)
    endpoint = ctx.session.deploy(
        ModelSpec(model_data=str(tar), entry_point="inference.py", source_dir=str(src)),
        EndpointSpec(name="cut-short"),
    )
    backend = ctx.session.backend
    pid = backend.describe_endpoint(endpoint.name)["Pid"]
    real_stop = LocalServing._stop_pid

    def interrupted(*args, **kwargs):
        raise Interrupted(signal.SIGTERM)  # as the signal arrives while the server drains

    monkeypatch.setattr(LocalServing, "_stop_pid", staticmethod(interrupted))
    with pytest.raises(Interrupted):
        backend.delete_endpoint(endpoint.name, force=True)
    assert backend.describe_endpoint(endpoint.name)["EndpointStatus"] == "Deleting"
    assert psutil.pid_exists(pid)
    monkeypatch.setattr(LocalServing, "_stop_pid", staticmethod(real_stop))
    stopped, failed, ended = ctx.cleanup()
    assert (stopped, failed, ended) == ([f"endpoint {endpoint.name}"], [], [])
    desc = backend.describe_endpoint(endpoint.name)
    assert desc["EndpointStatus"] == "Deleted"
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == "zombie"
    ctx.session.close()
