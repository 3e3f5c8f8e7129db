"""Load: 32 concurrent clients, 10,000 requests, 100% capture; no 5xx, one record each."""

from __future__ import annotations

import json
import time

import pytest
from serving_helpers import WINE_CSV
from serving_helpers import wine_xgboost as build_wine

from smkit.serving import DataCaptureSpec, EndpointSpec, ModelSpec
from smkit.serving.loadgen import run_load
from smkit.session import Session


@pytest.mark.timeout(150)
def test_32_clients_10k_requests_full_capture(tmp_path):
    s = Session("local", root=tmp_path / "root")
    ep = s.deploy(
        ModelSpec(model_data=str(build_wine(tmp_path)), framework="xgboost"),
        EndpointSpec(name="load", data_capture=DataCaptureSpec(sampling_percentage=100)),
    )
    try:
        t0 = time.monotonic()
        result = run_load(
            ep.url + "/invocations",
            WINE_CSV.encode(),
            headers={"X-Amzn-SageMaker-Inference-Id": "load"},
            concurrency=32,
            requests=10_000,
        )
        assert time.monotonic() - t0 < 90, "load test took too long"
        assert result.requests == 10_000 and result.errors == 0
        assert not any(code >= 500 for code in result.statuses), result.statuses
        accepted = result.statuses.get(200, 0)
        ep.flush_capture()
        records = [
            json.loads(line)
            for o in s.store.list(ep.capture_prefix)
            for line in s.store.get_bytes(o.uri).splitlines()
        ]
        assert len(records) == accepted == 10_000
        assert len({r["eventMetadata"]["eventId"] for r in records}) == accepted
        assert all(r["captureData"]["endpointInput"]["data"] == WINE_CSV for r in records)
        # a burst after the flush is drained by the delete's shutdown too
        burst = run_load(ep.url + "/invocations", WINE_CSV.encode(), concurrency=8, requests=500)
        assert burst.statuses == {200: 500}, burst
    finally:
        ep.delete()
    total = sum(len(s.store.get_bytes(o.uri).splitlines()) for o in s.store.list(ep.capture_prefix))
    assert total == 10_500
