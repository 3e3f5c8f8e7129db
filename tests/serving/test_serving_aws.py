"""The aws backend's serving verbs: validated requests, on moto's server and in plan mode."""

from __future__ import annotations

import pytest
from serving_helpers import custom_model

from smkit.errors import ConfigError, ResourceInUseError, ResourceNotFoundError
from smkit.serving import DataCaptureSpec, EndpointSpec, ModelSpec

pytestmark = [pytest.mark.aws, pytest.mark.timeout(120)]

ARN = "arn:aws:sagemaker:us-east-1:123456789012:monitoring-schedule/wine-dq"
IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"


def test_deploy_invoke_delete_on_moto(aws_session, tmp_path):
    backend = aws_session.backend
    tar, src = custom_model(tmp_path)
    ep = aws_session.deploy(
        ModelSpec(
            model_data=str(tar),
            framework="xgboost",
            entry_point="inference.py",
            source_dir=str(src),
            image_uri=IMAGE,
        ),
        EndpointSpec(
            name="wine",
            data_capture=DataCaptureSpec(sampling_percentage=50, destination="s3://smkit-test/cap"),
        ),
    )
    assert ep.status == "InService"
    model = backend.call("sagemaker", "DescribeModel", {"ModelName": "wine-model"})
    container = model["PrimaryContainer"]
    assert container["Image"] == IMAGE
    assert container["ModelDataUrl"] == "s3://smkit-test/wine-model/model.tar.gz"
    assert container["Environment"]["SAGEMAKER_PROGRAM"] == "inference.py"
    assert container["Environment"]["SAGEMAKER_SUBMIT_DIRECTORY"].endswith("sourcedir.tar.gz")
    assert backend.store.head("s3://smkit-test/wine-model/model.tar.gz") is not None
    cfg = backend.call("sagemaker", "DescribeEndpointConfig", {"EndpointConfigName": "wine-config"})
    cap = cfg["DataCaptureConfig"]
    assert cap["EnableCapture"] and cap["InitialSamplingPercentage"] == 50
    assert cap["DestinationS3Uri"] == "s3://smkit-test/cap"
    assert cap["CaptureOptions"] == [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}]
    assert ep.capture_prefix == "s3://smkit-test/cap/wine/AllTraffic/"
    # InvokeEndpoint through sagemaker-runtime (moto answers a fixed body)
    result = aws_session.predictor("wine").invoke(b"1,2,3\n", inference_id="x-1")
    assert result.status == 200 and result.body == b"body"
    assert [e["EndpointName"] for e in backend.list_endpoints()] == ["wine"]
    ep.delete()
    for op, params in (
        ("DescribeEndpoint", {"EndpointName": "wine"}),
        ("DescribeEndpointConfig", {"EndpointConfigName": "wine-config"}),
        ("DescribeModel", {"ModelName": "wine-model"}),
    ):
        with pytest.raises(ResourceNotFoundError):
            backend.call("sagemaker", op, params)


def test_delete_refuses_while_a_schedule_uses_it(aws_backend):
    from botocore.stub import Stubber

    client = aws_backend.requester.client("sagemaker")
    with Stubber(client) as stub:
        stub.add_response(
            "list_monitoring_schedules",
            {
                "MonitoringScheduleSummaries": [
                    {
                        "MonitoringScheduleName": "wine-dq",
                        "MonitoringScheduleArn": ARN,
                        "CreationTime": "2024-01-01T00:00:00Z",
                        "LastModifiedTime": "2024-01-01T00:00:00Z",
                        "MonitoringScheduleStatus": "Scheduled",
                        "EndpointName": "wine",
                    }
                ]
            },
            {"EndpointName": "wine"},
        )
        with pytest.raises(ResourceInUseError, match="wine-dq"):
            aws_backend.delete_endpoint("wine")
        stub.assert_no_pending_responses()


def test_plan_mode_records_validated_requests():
    from smkit.backends.aws import AwsBackend

    backend = AwsBackend(plan=True, region="eu-west-1", bucket="plan-bucket")
    ep = backend.deploy(
        ModelSpec(model_data="s3://plan-bucket/m/model.tar.gz", framework="xgboost"),
        EndpointSpec(name="wine", data_capture=DataCaptureSpec(sampling_percentage=100)),
    )
    ops = [(r.service, r.operation) for r in backend.plan()]
    assert ops == [
        ("sagemaker", "CreateModel"),
        ("sagemaker", "CreateEndpointConfig"),
        ("sagemaker", "CreateEndpoint"),
    ]
    model = backend.plan()[0].params
    assert "sagemaker-xgboost" in model["PrimaryContainer"]["Image"]
    assert "eu-west-1" in model["PrimaryContainer"]["Image"]
    cfg = backend.plan()[1].params
    assert cfg["DataCaptureConfig"]["DestinationS3Uri"] == "s3://plan-bucket/data-capture"
    assert ep.name == "wine"
    ep.delete()
    assert [r.operation for r in backend.plan()[3:]] == [
        "DeleteEndpoint",
        "DeleteEndpointConfig",
        "DeleteModel",
    ]


def test_custom_framework_needs_an_image():
    from smkit.backends.aws.serving import default_image_uri

    with pytest.raises(ConfigError, match="image_uri"):
        default_image_uri("custom", None, "us-east-1", "ml.m5.large")


def test_pytorch_model_with_entry_point_is_repacked_with_code(aws_session, tmp_path):
    import io
    import tarfile

    backend = aws_session.backend
    src = tmp_path / "code"
    src.mkdir()
    (src / "inference.py").write_text("def model_fn(d):\n    return d\n")
    (src / "requirements.txt").write_text("numpy\n")
    tar = tmp_path / "model.tar.gz"
    weights = tmp_path / "model.pth"
    weights.write_bytes(b"weights")
    stale = tmp_path / "stale.py"
    stale.write_text("old")
    with tarfile.open(tar, "w:gz") as t:
        t.add(weights, arcname="model.pth")
        t.add(stale, arcname="code/stale.py")  # an old code/ is replaced, not merged
    aws_session.deploy(
        ModelSpec(
            model_data=str(tar),
            framework="pytorch",
            framework_version="2.1",
            entry_point="inference.py",
            source_dir=str(src),
            image_uri=IMAGE,
        ),
        EndpointSpec(name="torch"),
    )
    model = backend.call("sagemaker", "DescribeModel", {"ModelName": "torch-model"})
    container = model["PrimaryContainer"]
    assert container["ModelDataUrl"] == "s3://smkit-test/torch-model/model.tar.gz"
    assert container["Environment"] == {
        "SAGEMAKER_PROGRAM": "inference.py",
        "SAGEMAKER_SUBMIT_DIRECTORY": "/opt/ml/model/code",
        "SAGEMAKER_CONTAINER_LOG_LEVEL": "20",
        "SAGEMAKER_REGION": "us-east-1",
    }
    body = backend.store.get_bytes(container["ModelDataUrl"])
    with tarfile.open(fileobj=io.BytesIO(body)) as t:
        names = sorted(t.getnames())
        assert t.extractfile("model.pth").read() == b"weights"
    assert names == ["code/inference.py", "code/requirements.txt", "model.pth"]
    # no separate sourcedir upload: the code travels inside the model
    assert not [o for o in backend.store.list("s3://smkit-test/torch-model/") if "source" in o.uri]


def test_repacking_a_model_that_is_not_a_tar_is_a_clear_error(tmp_path):
    from smkit.backends.aws import AwsBackend
    from smkit.errors import FormatError

    bad = tmp_path / "model.tar.gz"
    bad.write_bytes(b"not a tar")
    (tmp_path / "inference.py").write_text("")
    backend = AwsBackend(plan=True, region="us-east-1", bucket="bkt")
    with pytest.raises(FormatError, match="not a tar archive"):
        backend.deploy(
            ModelSpec(
                model_data=str(bad),
                framework="pytorch",
                entry_point=str(tmp_path / "inference.py"),
                image_uri=IMAGE,
            ),
            EndpointSpec(name="bad"),
        )
