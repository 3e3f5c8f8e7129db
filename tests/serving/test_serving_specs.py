"""Specs, serializers and the predictor's batching/retry logic (no server needed)."""

from __future__ import annotations

import json

import attrs
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import smkit
from smkit.errors import BackendError, ConfigError, InvalidURIError, ModelError, ValidationError
from smkit.serving import DataCaptureSpec, EndpointSpec, ModelSpec, Predictor
from smkit.serving.predictor import (
    CSVDeserializer,
    CSVSerializer,
    InvokeResult,
    JSONSerializer,
    NumpyDeserializer,
    NumpySerializer,
    TransientError,
)


def test_public_names_exported():
    for name in ("ModelSpec", "EndpointSpec", "DataCaptureSpec", "Endpoint", "Predictor"):
        assert name in smkit.__all__
        assert getattr(smkit, name).__module__.startswith("smkit.serving")


def test_model_spec_validation():
    m = ModelSpec(model_data="s3://b/m/model.tar.gz", framework="xgboost", env={"A": 1})
    assert m.env == {"A": "1"}
    with pytest.raises(ConfigError, match="framework 'tensorflow'"):
        ModelSpec(model_data="x.tar.gz", framework="tensorflow")
    with pytest.raises(ConfigError, match="entry_point"):
        ModelSpec(model_data="x.tar.gz", framework="custom")
    with pytest.raises(ConfigError, match="sha256"):
        ModelSpec(model_data="x.tar.gz", framework="sklearn", sha256="abc")
    with pytest.raises(ConfigError, match="not a valid SageMaker name"):
        ModelSpec(model_data="x.tar.gz", framework="sklearn", name="bad_name")
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        m.framework = "sklearn"  # type: ignore[misc]


def test_endpoint_spec_validation():
    spec = EndpointSpec(name="wine-1")
    assert spec.variant == "AllTraffic" and spec.config_name == "wine-1-config"
    for bad in ("", "-x", "a_b", "x" * 64):
        with pytest.raises(ConfigError, match="SageMaker name"):
            EndpointSpec(name=bad)
    with pytest.raises(ConfigError, match="instance_count"):
        EndpointSpec(name="a", instance_count=0)
    with pytest.raises(ConfigError, match="instance_type"):
        EndpointSpec(name="a", instance_type="m5.large")
    with pytest.raises(ConfigError, match="idle_timeout"):
        EndpointSpec(name="a", idle_timeout=0)
    with pytest.raises(ConfigError, match="DataCaptureSpec"):
        EndpointSpec(name="a", data_capture={"sampling_percentage": 5})  # type: ignore[arg-type]


def test_data_capture_spec_validation():
    with pytest.raises(ConfigError, match=r"\[0, 100\]"):
        DataCaptureSpec(sampling_percentage=101)
    with pytest.raises(ConfigError, match="captures nothing"):
        DataCaptureSpec(capture_input=False, capture_output=False)
    with pytest.raises(InvalidURIError):
        DataCaptureSpec(destination="/tmp/x")
    with pytest.raises(ConfigError, match="media type"):
        DataCaptureSpec(csv_content_types=("csv",))
    req = DataCaptureSpec(sampling_percentage=20, capture_output=False).to_request("s3://b/c")
    assert req["CaptureOptions"] == [{"CaptureMode": "Input"}]
    assert req["CaptureContentTypeHeader"] == {
        "CsvContentTypes": ["text/csv"],
        "JsonContentTypes": ["application/json"],
    }


media = st.sampled_from(["text/csv", "application/json", "text/plain", "application/jsonlines"])


@settings(max_examples=60, deadline=None)
@given(
    pct=st.integers(0, 100) | st.floats(0, 100, allow_nan=False),
    cin=st.booleans(),
    cout=st.booleans(),
    csv=st.lists(media, min_size=1, max_size=3, unique=True),
    js=st.lists(media, min_size=1, max_size=3, unique=True),
)
def test_data_capture_round_trip_and_botocore_valid(pct, cin, cout, csv, js):
    from smkit.backends.aws.client import validate_request

    if not (cin or cout):
        cin = True
    spec = DataCaptureSpec(
        sampling_percentage=pct,
        capture_input=cin,
        capture_output=cout,
        csv_content_types=tuple(csv),
        json_content_types=tuple(js),
    )
    req = spec.to_request("s3://bucket/capture")
    back = DataCaptureSpec.from_request(req)
    assert back is not None
    assert attrs.evolve(back, destination=None) == attrs.evolve(
        spec, sampling_percentage=req["InitialSamplingPercentage"]
    )
    if float(req["InitialSamplingPercentage"]).is_integer():  # the API takes an integer
        validate_request(
            "sagemaker",
            "CreateEndpointConfig",
            {
                "EndpointConfigName": "c",
                "ProductionVariants": [
                    {
                        "VariantName": "AllTraffic",
                        "ModelName": "m",
                        "InstanceType": "ml.m5.large",
                        "InitialInstanceCount": 1,
                    }
                ],
                "DataCaptureConfig": req,
            },
        )


def test_serializers():
    assert CSVSerializer().serialize([1, 2.5, "a"]) == b"1,2.5,a\n"
    assert CSVSerializer().serialize([[1, 2], [3, 4]]) == b"1,2\n3,4\n"
    assert CSVSerializer().serialize(np.array([[1.5, 2.0]])) == b"1.5,2.0\n"
    df = pd.DataFrame({"a": [1, 2], "b": [3, 4]})
    assert CSVSerializer().serialize(df) == b"1,3\n2,4\n"
    assert CSVSerializer().serialize("1,2\n") == b"1,2\n"
    assert json.loads(JSONSerializer().serialize(np.arange(4).reshape(2, 2))) == [[0, 1], [2, 3]]
    assert json.loads(JSONSerializer().serialize({"instances": np.ones(2)})) == {
        "instances": [1.0, 1.0]
    }
    arr = np.arange(6, dtype=np.float32).reshape(2, 3)
    out = NumpyDeserializer().deserialize(NumpySerializer().serialize(arr), "application/x-npy")
    assert np.array_equal(out, arr)
    assert CSVDeserializer().deserialize(b"0.5\n0.25\n", "text/csv") == [0.5, 0.25]
    assert CSVDeserializer().deserialize(b"1,a\n2,b\n", "text/csv") == [[1.0, "a"], [2.0, "b"]]


class FakeTransport:
    """Records calls; answers from a script of (status, body) or raises."""

    def __init__(self, script=None):
        self.calls = []
        self.script = list(script or [])

    def __call__(self, body, *, content_type, accept, custom_attributes=None, inference_id=None):
        self.calls.append((body, content_type, accept, custom_attributes, inference_id))
        if self.script:
            step = self.script.pop(0)
            if isinstance(step, Exception):
                raise step
            status, out = step
            return InvokeResult(status, out, "application/json")
        rows = [ln for ln in body.decode().splitlines() if ln]
        return InvokeResult(200, ("\n".join(r.split(",")[0] for r in rows) + "\n").encode(), accept)


def test_predictor_batches_large_inputs_in_order():
    t = FakeTransport()
    p = Predictor("ep", t, max_rows=10, backoff=0)
    rows = [[i, i + 1] for i in range(25)]
    assert p.predict(rows) == [float(i) for i in range(25)]
    assert len(t.calls) == 3
    # a byte budget also splits
    t2 = FakeTransport()
    Predictor("ep", t2, max_rows=1000, max_payload_bytes=40, backoff=0).predict(rows)
    assert len(t2.calls) > 3 and all(len(c[0]) <= 40 for c in t2.calls)


def test_predictor_retries_5xx_then_succeeds():
    t = FakeTransport([(503, b"busy"), TransientError("reset"), (200, b"[1]")])
    p = Predictor("ep", t, serializer="json", retries=3, backoff=0.001)
    assert p.predict([1, 2]) == [1]
    assert len(t.calls) == 3


def test_predictor_gives_up_after_retries():
    t = FakeTransport([(500, b'{"code": "X", "message": "boom"}')] * 3)
    p = Predictor("ep", t, retries=2, backoff=0.001)
    with pytest.raises(BackendError, match="HTTP 500 after 3 attempts: boom"):
        p.predict([1])
    t = FakeTransport([TransientError("refused")] * 2)
    with pytest.raises(BackendError, match="unreachable"):
        Predictor("ep", t, retries=1, backoff=0.001).predict([1])


def test_predictor_maps_errors():
    t = FakeTransport([(424, b'{"code": "ModelError", "message": "bad features"}')])
    with pytest.raises(ModelError, match="bad features") as info:
        Predictor("ep", t, backoff=0).predict([1])
    assert info.value.context["status"] == 424
    assert len(t.calls) == 1  # model errors are not retried
    t = FakeTransport([(400, b'{"__type": "ValidationError", "message": "Endpoint x not found."}')])
    with pytest.raises(ValidationError, match="not found"):
        Predictor("ep", t, backoff=0).predict([1])


def test_predictor_sends_headers_and_rejects_bad_options():
    t = FakeTransport()
    p = Predictor("ep", t, serializer="csv", deserializer="json")
    t.script = [(200, b"{}")]
    p.predict([1], custom_attributes="a=1", inference_id="id-1")
    assert t.calls[0][1:] == ("text/csv", "application/json", "a=1", "id-1")
    with pytest.raises(ConfigError, match="serializer"):
        Predictor("ep", t, serializer="xml")
    with pytest.raises(ConfigError, match="max_rows"):
        Predictor("ep", t, max_rows=0)


def test_as_model_spec_accepts_trained_jobs():
    from smkit.serving import as_model_spec

    spec = ModelSpec(model_data="m.tar.gz", framework="sklearn")

    class Job:
        def model(self, **kw):
            return spec

    assert as_model_spec(Job()) is spec
    with pytest.raises(ConfigError, match="cannot deploy a str"):
        as_model_spec("m.tar.gz")
