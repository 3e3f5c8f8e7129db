"""LambdaSpec, deterministic packaging, the local Lambda context."""

from __future__ import annotations

import io
import time
import zipfile

import pytest

from smkit.backends.local import lambda_runtime
from smkit.errors import ValidationError
from smkit.workflow import LambdaSpec, classify_spec, serialize_image_data_spec


def test_zip_is_deterministic_and_standalone(tmp_path):
    extra = tmp_path / "labels.json"
    extra.write_text('["cat", "dog"]')
    spec = serialize_image_data_spec(dependencies=[str(extra)])
    first = spec.package()
    time.sleep(1.1)
    extra.touch()
    assert spec.package() == first
    names = zipfile.ZipFile(io.BytesIO(first)).namelist()
    assert names == sorted(names) == ["handlers.py", "labels.json"]
    assert spec.handler_string == "handlers.serialize_image_data"
    assert classify_spec("ep").environment == {"ENDPOINT_NAME": "ep"}


def test_package_module_with_parents():
    spec = LambdaSpec("smkit.workflow.handlers:classify")
    names = zipfile.ZipFile(io.BytesIO(spec.package())).namelist()
    assert "smkit/workflow/handlers.py" in names and "smkit/__init__.py" in names
    assert spec.handler_string == "smkit.workflow.handlers.classify"


def test_spec_validation():
    with pytest.raises(ValidationError, match="timeout"):
        LambdaSpec(lambda e, c: e, name="x", timeout=0)
    with pytest.raises(ValidationError, match="runtime"):
        LambdaSpec(lambda e, c: e, name="x", runtime="nodejs20.x")
    with pytest.raises(ValidationError, match="memory"):
        LambdaSpec(lambda e, c: e, name="x", memory=64)


def test_context_and_errors():
    def handler(event, context):
        time.sleep(0.2)
        return {"left": context.get_remaining_time_in_millis(), "fn": context.function_name}

    out = lambda_runtime.invoke(handler, {}, function_name="f", timeout=2)
    assert out["fn"] == "f" and 1500 < out["left"] <= 1800

    def bad(event, context):
        raise KeyError("k")

    with pytest.raises(lambda_runtime.LambdaFunctionError) as info:
        lambda_runtime.invoke(bad, {}, function_name="f", timeout=2)
    assert info.value.error_type == "KeyError"

    def unmarshal(event, context):
        return object()

    with pytest.raises(lambda_runtime.LambdaFunctionError, match="Runtime.MarshalError"):
        lambda_runtime.invoke(unmarshal, {}, function_name="f", timeout=2)


def test_timeout_stops_the_handler():
    state = {"iterations": 0}

    def spin(event, context):
        while True:
            state["iterations"] += 1
            time.sleep(0.005)

    t0 = time.monotonic()
    with pytest.raises(lambda_runtime.LambdaTimeout):
        lambda_runtime.invoke(spin, {}, function_name="spin", timeout=0.3)
    assert time.monotonic() - t0 < 2
    time.sleep(0.2)
    frozen = state["iterations"]
    time.sleep(0.1)
    assert state["iterations"] == frozen  # the thread was stopped


def test_environment_applies_during_invocation(monkeypatch):
    import os

    monkeypatch.delenv("WF_TEST_VAR", raising=False)
    out = lambda_runtime.invoke(
        lambda e, c: os.environ.get("WF_TEST_VAR"),
        {},
        function_name="f",
        environment={"WF_TEST_VAR": "yes"},
    )
    assert out == "yes" and "WF_TEST_VAR" not in os.environ
