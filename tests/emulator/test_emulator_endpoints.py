"""Models, endpoint configs and endpoints on the emulator (a model.tar.gz made here)."""

from __future__ import annotations

import io
import tarfile
import uuid

import boto3
import pytest
from botocore.exceptions import ClientError
from emulator_helpers import ROLE, SKLEARN_IMAGE, WAIT, check_response

pytestmark = pytest.mark.timeout(300)


def _model_tar(slope: float = 2.0) -> bytes:
    import joblib
    import numpy as np
    from sklearn.linear_model import LinearRegression

    x = np.arange(20, dtype=float).reshape(-1, 1)
    model = LinearRegression().fit(x, slope * x[:, 0] + 1)
    raw = io.BytesIO()
    joblib.dump(model, raw)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        info = tarfile.TarInfo("model.joblib")
        info.size = len(raw.getvalue())
        tar.addfile(info, io.BytesIO(raw.getvalue()))
    return buf.getvalue()


def _variant(model: str) -> list[dict]:
    return [
        {
            "VariantName": "main",
            "ModelName": model,
            "InitialInstanceCount": 1,
            "InstanceType": "ml.m5.large",
        }
    ]


def test_references_to_missing_resources_are_validation_errors(emulator_env) -> None:
    sm = boto3.client("sagemaker")
    with pytest.raises(ClientError) as info:
        sm.create_endpoint_config(EndpointConfigName="cfg-x", ProductionVariants=_variant("nope"))
    assert info.value.response["Error"]["Code"] == "ValidationException"
    assert 'Could not find model "arn:aws:sagemaker:us-east-1:123456789012:model/nope"' in (
        info.value.response["Error"]["Message"]
    )
    with pytest.raises(ClientError) as info:
        sm.create_endpoint(EndpointName="ep-x", EndpointConfigName="no-config")
    assert "Could not find endpoint configuration" in info.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as info:
        sm.delete_model(ModelName="never-made")
    assert info.value.response["Error"]["Code"] == "ValidationException"


def test_an_endpoint_whose_artifact_is_missing_fails_with_the_reason(emulator_env) -> None:
    sm = boto3.client("sagemaker")
    tag = uuid.uuid4().hex[:8]
    boto3.client("s3").create_bucket(Bucket=f"ep-missing-{tag}")
    sm.create_model(
        ModelName=f"m-{tag}",
        ExecutionRoleArn=ROLE,
        PrimaryContainer={
            "Image": SKLEARN_IMAGE,
            "ModelDataUrl": f"s3://ep-missing-{tag}/model.tar.gz",
        },
    )
    sm.create_endpoint_config(
        EndpointConfigName=f"c-{tag}", ProductionVariants=_variant(f"m-{tag}")
    )
    sm.create_endpoint(EndpointName=f"e-{tag}", EndpointConfigName=f"c-{tag}")
    with pytest.raises(Exception, match="Failed"):
        sm.get_waiter("endpoint_in_service").wait(EndpointName=f"e-{tag}", WaiterConfig=WAIT)
    desc = sm.describe_endpoint(EndpointName=f"e-{tag}")
    assert desc["EndpointStatus"] == "Failed"
    assert f"s3://ep-missing-{tag}/model.tar.gz" in desc["FailureReason"]
    sm.delete_endpoint(EndpointName=f"e-{tag}")
    sm.get_waiter("endpoint_deleted").wait(EndpointName=f"e-{tag}", WaiterConfig=WAIT)


def test_deploy_invoke_model_error_and_delete(emulator_env) -> None:
    s3, sm = boto3.client("s3"), boto3.client("sagemaker")
    runtime = boto3.client("sagemaker-runtime")
    tag = uuid.uuid4().hex[:8]
    bucket = f"ep-{tag}"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="model/model.tar.gz", Body=_model_tar())
    sm.create_model(
        ModelName=f"lin-{tag}",
        ExecutionRoleArn=ROLE,
        PrimaryContainer={
            "Image": SKLEARN_IMAGE,
            "ModelDataUrl": f"s3://{bucket}/model/model.tar.gz",
        },
    )
    sm.create_endpoint_config(
        EndpointConfigName=f"lin-{tag}", ProductionVariants=_variant(f"lin-{tag}")
    )
    sm.create_endpoint(EndpointName=f"lin-{tag}", EndpointConfigName=f"lin-{tag}")
    assert sm.describe_endpoint(EndpointName=f"lin-{tag}")["EndpointStatus"] == "Creating"
    sm.get_waiter("endpoint_in_service").wait(EndpointName=f"lin-{tag}", WaiterConfig=WAIT)
    desc = check_response(sm, "DescribeEndpoint", sm.describe_endpoint(EndpointName=f"lin-{tag}"))
    assert desc["ProductionVariants"][0]["VariantName"] == "main"
    listed = check_response(sm, "ListEndpoints", sm.list_endpoints(NameContains=tag))
    assert [e["EndpointStatus"] for e in listed["Endpoints"]] == ["InService"]

    out = runtime.invoke_endpoint(
        EndpointName=f"lin-{tag}", ContentType="text/csv", Accept="text/csv", Body=b"3\n10\n"
    )
    check_response(runtime, "InvokeEndpoint", out)
    assert [round(float(v), 6) for v in out["Body"].read().split()] == [7.0, 21.0]
    assert out["InvokedProductionVariant"] == "main"
    with pytest.raises(ClientError) as info:
        runtime.invoke_endpoint(EndpointName=f"lin-{tag}", ContentType="text/csv", Body=b"a,b")
    err = info.value.response
    assert (err["Error"]["Code"], err["ResponseMetadata"]["HTTPStatusCode"]) == ("ModelError", 424)
    assert err["OriginalStatusCode"] == 400
    assert "could not convert" in err["OriginalMessage"]

    # a Step Functions task calling the endpoint through the SageMaker Runtime integration
    import json
    import time

    sfn = boto3.client("stepfunctions")
    definition = {
        "StartAt": "Predict",
        "States": {
            "Predict": {
                "Type": "Task",
                "Resource": "arn:aws:states:::aws-sdk:sagemakerruntime:invokeEndpoint",
                "Parameters": {
                    "EndpointName": f"lin-{tag}", "ContentType": "text/csv", "Body": "4",
                },
                "End": True,
            }
        },
    }
    machine = sfn.create_state_machine(
        name=f"predict-{tag}", definition=json.dumps(definition), roleArn=ROLE
    )
    run = sfn.start_execution(stateMachineArn=machine["stateMachineArn"], input="{}")
    deadline = time.monotonic() + 60
    while (desc := sfn.describe_execution(executionArn=run["executionArn"]))["status"] == (
        "RUNNING"
    ) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert desc["status"] == "SUCCEEDED", desc.get("cause")
    answer = json.loads(json.loads(desc["output"])["Body"])  # the model's JSON answer
    assert [round(v, 6) for v in answer] == [9.0]

    # UpdateEndpoint: another model behind the same name
    s3.put_object(Bucket=bucket, Key="model2/model.tar.gz", Body=_model_tar(slope=3.0))
    sm.create_model(
        ModelName=f"lin2-{tag}",
        ExecutionRoleArn=ROLE,
        PrimaryContainer={
            "Image": SKLEARN_IMAGE,
            "ModelDataUrl": f"s3://{bucket}/model2/model.tar.gz",
        },
    )
    sm.create_endpoint_config(
        EndpointConfigName=f"lin2-{tag}", ProductionVariants=_variant(f"lin2-{tag}")
    )
    sm.update_endpoint(EndpointName=f"lin-{tag}", EndpointConfigName=f"lin2-{tag}")
    assert sm.describe_endpoint(EndpointName=f"lin-{tag}")["EndpointStatus"] == "Updating"
    sm.get_waiter("endpoint_in_service").wait(EndpointName=f"lin-{tag}", WaiterConfig=WAIT)
    assert sm.describe_endpoint(EndpointName=f"lin-{tag}")["EndpointConfigName"] == f"lin2-{tag}"
    out = runtime.invoke_endpoint(
        EndpointName=f"lin-{tag}", ContentType="text/csv", Accept="text/csv", Body=b"3\n"
    )
    assert [round(float(v), 6) for v in out["Body"].read().split()] == [10.0]

    with pytest.raises(ClientError) as dup:
        sm.create_endpoint(EndpointName=f"lin-{tag}", EndpointConfigName=f"lin-{tag}")
    assert "Cannot create already existing endpoint" in dup.value.response["Error"]["Message"]
    sm.delete_endpoint(EndpointName=f"lin-{tag}")
    sm.get_waiter("endpoint_deleted").wait(EndpointName=f"lin-{tag}", WaiterConfig=WAIT)
    with pytest.raises(ClientError) as gone:
        sm.describe_endpoint(EndpointName=f"lin-{tag}")
    assert gone.value.response["Error"]["Code"] == "ValidationException"


POST_PY = """
def model_fn(model_dir):
    return 10.0


def input_fn(body, content_type):
    import json

    text = body.decode() if isinstance(body, (bytes, bytearray)) else str(body)
    if content_type.startswith("application/json"):  # the first container's answer
        return [float(v) for v in json.loads(text)]
    return [float(v) for v in text.replace(",", " ").split()]


def predict_fn(data, model):
    return [v * model for v in data]


def output_fn(prediction, accept):
    return "\\n".join(str(v) for v in prediction) + "\\n"
"""


def test_a_serial_inference_pipeline_chains_its_containers(emulator_env) -> None:
    from emulator_helpers import tarball

    s3, sm = boto3.client("s3"), boto3.client("sagemaker")
    runtime = boto3.client("sagemaker-runtime")
    tag = uuid.uuid4().hex[:8]
    bucket = f"pipe-{tag}"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="model.tar.gz", Body=_model_tar())
    s3.put_object(Bucket=bucket, Key="post/sourcedir.tar.gz", Body=tarball({"post.py": POST_PY}))
    sm.create_model(
        ModelName=f"pipe-{tag}",
        ExecutionRoleArn=ROLE,
        Containers=[
            {"Image": SKLEARN_IMAGE, "ModelDataUrl": f"s3://{bucket}/model.tar.gz"},
            {
                "Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/post:1",
                "ModelDataUrl": f"s3://{bucket}/model.tar.gz",
                "Environment": {
                    "SAGEMAKER_PROGRAM": "post.py",
                    "SAGEMAKER_SUBMIT_DIRECTORY": f"s3://{bucket}/post/sourcedir.tar.gz",
                },
            },
        ],
    )
    sm.create_endpoint_config(
        EndpointConfigName=f"pipe-{tag}", ProductionVariants=_variant(f"pipe-{tag}")
    )
    sm.create_endpoint(EndpointName=f"pipe-{tag}", EndpointConfigName=f"pipe-{tag}")
    sm.get_waiter("endpoint_in_service").wait(EndpointName=f"pipe-{tag}", WaiterConfig=WAIT)
    out = runtime.invoke_endpoint(
        EndpointName=f"pipe-{tag}", ContentType="text/csv", Accept="text/csv", Body=b"3\n10\n"
    )
    # container 1: 2x + 1 -> 7, 21; container 2: x 10
    assert [round(float(v), 6) for v in out["Body"].read().split()] == [70.0, 210.0]
    assert out["InvokedProductionVariant"] == "main"
    with pytest.raises(ClientError) as info:
        runtime.invoke_endpoint(EndpointName=f"pipe-{tag}", ContentType="text/csv", Body=b"a")
    assert info.value.response["Error"]["Code"] == "ModelError"
    sm.delete_endpoint(EndpointName=f"pipe-{tag}")
    sm.get_waiter("endpoint_deleted").wait(EndpointName=f"pipe-{tag}", WaiterConfig=WAIT)
    with pytest.raises(ClientError) as gone:
        runtime.invoke_endpoint(EndpointName=f"pipe-{tag}", ContentType="text/csv", Body=b"1")
    assert gone.value.response["Error"]["Code"] == "ValidationError"
