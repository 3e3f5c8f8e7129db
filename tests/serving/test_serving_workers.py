"""SAGEMAKER_MODEL_SERVER_WORKERS / SAGEMAKER_MODEL_SERVER_TIMEOUT on the local endpoint."""

from __future__ import annotations

import asyncio
import json
import tarfile
import textwrap
import time

import httpx
import psutil
import pytest
from serving_helpers import WINE_CSV
from serving_helpers import wine_xgboost as build_wine

from smkit.backends.local.endpoint_server import (
    default_workers,
    model_server_settings,
    sum_capture_stats,
)
from smkit.serving import DataCaptureSpec, EndpointSpec, ModelSpec
from smkit.session import Session

pytestmark = pytest.mark.timeout(180)

SLOW_SCRIPT = textwrap.dedent(
    """
    import time


    def model_fn(model_dir):
        return "model"


    def input_fn(body, content_type):
        return body.decode() if isinstance(body, bytes) else body


    def predict_fn(data, model):
        if "slow" in data:
            time.sleep(3)
        return "done"


    def output_fn(prediction, accept):
        return prediction
    """
)


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    s = Session("local", root=tmp_path_factory.mktemp("root"))
    yield s
    for rec in s.backend.list_endpoints():
        try:
            s.backend.delete_endpoint(rec["EndpointName"], force=True)
        except Exception:
            pass
    s.close()


def _group(pid: int) -> list[psutil.Process]:
    """The endpoint server and its worker processes."""
    parent = psutil.Process(pid)
    return [parent, *parent.children(recursive=True)]


def test_settings_follow_the_toolkit(monkeypatch):
    # unset: one worker per CPU, as the model server starts
    monkeypatch.setattr("os.sched_getaffinity", lambda pid: {0, 1, 2})
    assert default_workers() == 3
    assert model_server_settings({}) == (3, 60.0, False)
    assert model_server_settings({"SAGEMAKER_MODEL_SERVER_WORKERS": "1"})[0] == 1
    assert model_server_settings(
        {"SAGEMAKER_MODEL_SERVER_WORKERS": "3", "SAGEMAKER_MODEL_SERVER_TIMEOUT": "5"}
    ) == (3, 5.0, True)
    with pytest.raises(ValueError, match="positive integer"):
        model_server_settings({"SAGEMAKER_MODEL_SERVER_WORKERS": "0"})
    with pytest.raises(ValueError, match="positive integer"):
        model_server_settings({"SAGEMAKER_MODEL_SERVER_TIMEOUT": "soon"})


def test_two_workers_capture_every_answer_once_and_delete_stops_them(session, tmp_path):
    ep = session.deploy(
        ModelSpec(
            model_data=str(build_wine(tmp_path)),
            framework="xgboost",
            env={"SAGEMAKER_MODEL_SERVER_WORKERS": "2"},
        ),
        EndpointSpec(name="two", data_capture=DataCaptureSpec(sampling_percentage=100)),
    )
    pid = ep.describe()["Pid"]
    procs = _group(pid)
    assert len(procs) == 3  # the supervisor and two workers

    async def load() -> list[httpx.Response]:
        limits = httpx.Limits(max_connections=50)
        async with httpx.AsyncClient(trust_env=False, timeout=60, limits=limits) as client:
            return await asyncio.gather(
                *(
                    client.post(
                        ep.url + "/invocations",
                        content=WINE_CSV,
                        headers={
                            "Content-Type": "text/csv",
                            "X-Amzn-SageMaker-Inference-Id": str(i),
                        },
                    )
                    for i in range(200)
                )
            )

    answers = asyncio.run(load())
    assert [r.status_code for r in answers] == [200] * 200
    pids = {int(r.headers["x-smkit-worker-pid"]) for r in answers}
    workers = {p.pid for p in procs[1:]}
    assert pids <= workers
    if len(pids) < 2:  # connections can land unevenly: make sure both take some
        for _ in range(50):
            with httpx.Client(trust_env=False, timeout=30) as c:  # a new connection each time
                r = c.post(
                    ep.url + "/invocations", content=WINE_CSV, headers={"Content-Type": "text/csv"}
                )
            assert r.status_code == 200
            pids.add(int(r.headers["x-smkit-worker-pid"]))
            if len(pids) == 2:
                break
    assert pids == workers
    ep.flush_capture()
    ids: list[str] = []
    for obj in session.store.list(ep.capture_prefix):
        for line in session.store.get_bytes(obj.uri).splitlines():
            ids.append(json.loads(line)["eventMetadata"].get("inferenceId"))
    tagged = sorted(int(i) for i in ids if i is not None)
    assert tagged == list(range(200))  # exactly one record per answered tagged request
    ep.delete()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(p.is_running() for p in procs):
        time.sleep(0.05)
    alive = [p.pid for p in procs if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    assert alive == []


def test_timeout_answers_an_error_and_other_requests_go_on(session, tmp_path):
    code = tmp_path / "code"
    code.mkdir()
    (code / "inference.py").write_text(SLOW_SCRIPT)
    tar = tmp_path / "slow.tar.gz"
    with tarfile.open(tar, "w:gz") as t:
        t.add(code, arcname="code")
    ep = session.deploy(
        ModelSpec(
            model_data=str(tar),
            entry_point="inference.py",
            source_dir=str(code),
            env={"SAGEMAKER_MODEL_SERVER_TIMEOUT": "1"},
        ),
        EndpointSpec(name="slow"),
    )
    try:

        async def both() -> tuple[httpx.Response, float, httpx.Response, float]:
            async with httpx.AsyncClient(trust_env=False, timeout=30) as client:
                t0 = time.monotonic()

                async def timed(body: str) -> tuple[httpx.Response, float]:
                    r = await client.post(
                        ep.url + "/invocations",
                        content=body,
                        headers={"Content-Type": "text/plain"},
                    )
                    return r, time.monotonic() - t0

                slow_task = asyncio.create_task(timed("slow"))
                await asyncio.sleep(0.1)
                fast, fast_s = await timed("fast")
                slow, slow_s = await slow_task
                return slow, slow_s, fast, fast_s

        slow, slow_s, fast, fast_s = asyncio.run(both())
        assert slow.status_code == 500
        assert slow.json()["code"] == "WorkerTimeout"
        assert "did not respond in given time" in slow.json()["message"]
        assert 0.9 <= slow_s < 2.5
        assert fast.status_code == 200 and fast.text == "done"
        assert fast_s < 1.0  # not queued behind the sleeping prediction
    finally:
        ep.delete()


def test_a_dead_worker_is_restarted_and_idle_stops_the_pool(session, tmp_path):
    ep = session.deploy(
        ModelSpec(
            model_data=str(build_wine(tmp_path)),
            framework="xgboost",
            env={"SAGEMAKER_MODEL_SERVER_WORKERS": "2"},
        ),
        EndpointSpec(name="restart", idle_timeout=3.0),
    )
    parent = psutil.Process(ep.describe()["Pid"])
    first = {p.pid for p in parent.children()}
    assert len(first) == 2
    victim = psutil.Process(sorted(first)[0])
    victim.kill()
    victim.wait(5)
    deadline = time.monotonic() + 30
    now = first
    while time.monotonic() < deadline:
        now = {p.pid for p in parent.children() if p.status() != psutil.STATUS_ZOMBIE}
        if len(now) == 2 and victim.pid not in now:
            break
        time.sleep(0.1)
    assert len(now) == 2 and victim.pid not in now  # replaced
    assert ep.describe()["EndpointStatus"] == "InService"
    procs = [parent, *(psutil.Process(p) for p in now)]
    r = httpx.post(
        ep.url + "/invocations",
        content=WINE_CSV,
        headers={"Content-Type": "text/csv"},
        trust_env=False,
        timeout=30,
    )
    assert r.status_code == 200
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and ep.status != "Deleted":
        time.sleep(0.2)
    d = ep.describe()
    assert d["EndpointStatus"] == "Deleted" and "idle timeout" in d["DeletionReason"]
    statuses = [t.status for t in session.catalog.describe("endpoint", "restart").transitions]
    assert statuses[-2:] == ["Deleting", "Deleted"]
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(p.is_running() for p in procs):
        time.sleep(0.05)
    assert [p.pid for p in procs if p.is_running() and p.status() != "zombie"] == []


def test_worker_capture_stats_add_up():
    one = {"Submitted": 3, "Written": 1, "Held": 2, "Dropped": 0, "WriteErrors": 4,
           "LastError": "disk full"}  # fmt: skip
    two = {"Submitted": 5, "Written": 5, "Held": 0, "Dropped": 0, "WriteErrors": 0,
           "LastError": None}  # fmt: skip
    assert sum_capture_stats([two, one]) == {
        "Submitted": 8, "Written": 6, "Held": 2, "Dropped": 0, "WriteErrors": 4,
        "LastError": "disk full",
    }  # fmt: skip
