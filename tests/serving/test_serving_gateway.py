"""The local SageMaker Runtime gateway, driven by boto3's real sagemaker-runtime client."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from serving_helpers import WINE_CSV, custom_model
from serving_helpers import wine_xgboost as build_wine

from smkit.serving import DataCaptureSpec, EndpointSpec, ModelSpec
from smkit.session import Session

pytestmark = pytest.mark.timeout(180)


@pytest.fixture(scope="module")
def local(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("gw")
    s = Session("local", root=tmp / "root")
    tar, src = custom_model(tmp)
    s.deploy(
        ModelSpec(model_data=str(build_wine(tmp)), framework="xgboost"),
        EndpointSpec(name="wine", data_capture=DataCaptureSpec(sampling_percentage=100)),
    )
    s.deploy(
        ModelSpec(model_data=str(tar), entry_point="inference.py", source_dir=str(src)),
        EndpointSpec(name="custom", variant="Blue"),
    )
    yield s
    for name in ("wine", "custom"):
        s.backend.delete_endpoint(name, force=True)
    s.backend.stop_gateway()
    s.close()


@pytest.fixture(scope="module")
def runtime(local):
    import boto3

    url = local.backend.gateway()
    return boto3.client(
        "sagemaker-runtime",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def test_invoke_endpoint_unchanged_boto3_code(local, runtime):
    resp = runtime.invoke_endpoint(
        EndpointName="wine", ContentType="text/csv", Body=WINE_CSV, InferenceId="gw-1"
    )
    # no Accept: the toolkit's default, application/json, with the array itself
    assert resp["ContentType"] == "application/json"
    assert resp["InvokedProductionVariant"] == "AllTraffic"
    assert len(json.loads(resp["Body"].read())[0]) == 3
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert resp["ResponseMetadata"]["RequestId"]
    js = runtime.invoke_endpoint(
        EndpointName="wine",
        ContentType="application/json",
        Accept="application/json",
        Body=json.dumps({"instances": [[float(v) for v in WINE_CSV.split(",")]]}),
    )
    assert len(json.loads(js["Body"].read())[0]) == 3
    local.backend.flush_endpoint_capture("wine")
    ids = [
        json.loads(line)["eventMetadata"].get("inferenceId")
        for o in local.store.list("s3://smkit/data-capture/wine/")
        for line in local.store.get_bytes(o.uri).splitlines()
    ]
    assert ids.count("gw-1") == 1


def test_custom_attributes_and_variant_round_trip(runtime):
    resp = runtime.invoke_endpoint(
        EndpointName="custom",
        ContentType="text/csv",
        Accept="text/csv",  # without it output_fn is handed the default, application/json
        Body=b"1,1,1",
        CustomAttributes="k=v",
    )
    assert resp["CustomAttributes"] == "k=v"
    assert resp["InvokedProductionVariant"] == "Blue"
    assert resp["Body"].read() == b"6.5"


def test_model_error_is_424_with_original_status(runtime):
    with pytest.raises(runtime.exceptions.ModelError) as info:
        runtime.invoke_endpoint(EndpointName="wine", ContentType="text/csv", Body=b"1,2,3\n")
    err = info.value.response
    assert err["ResponseMetadata"]["HTTPStatusCode"] == 424
    assert err["OriginalStatusCode"] == 500  # the container's status
    assert err["LogStreamArn"].endswith(":log-group:/aws/sagemaker/Endpoints/wine")
    assert "Feature shape mismatch" in err["OriginalMessage"]
    with pytest.raises(runtime.exceptions.ModelError) as info:
        runtime.invoke_endpoint(EndpointName="wine", ContentType="text/plain", Body=b"x")
    assert info.value.response["OriginalStatusCode"] == 415


def test_unknown_endpoint_is_validation_error(runtime):
    from botocore.exceptions import ClientError

    with pytest.raises(ClientError) as info:
        runtime.invoke_endpoint(EndpointName="nope", ContentType="text/csv", Body=b"1")
    assert info.value.response["Error"]["Code"] == "ValidationError"
    assert "Endpoint nope of account" in info.value.response["Error"]["Message"]
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_gateway_is_recorded_and_reused(local):
    url = local.backend.gateway()
    assert local.backend.gateway() == url
    rec = local.catalog.describe("gateway", "local")
    assert rec.status == "InService" and rec.data["Url"] == url and rec.data["Pid"]
    env = {**os.environ, "SMKIT_HOME": str(local.backend.root)}
    out = subprocess.run(
        [sys.executable, "-m", "smkit.cli", "endpoints", "gateway"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert out.returncode == 0 and out.stdout.strip() == url
