"""smkit's requests against the SageMaker Python SDK v2's, field by field.

The fixtures under ``tests/fixtures/sdk_requests/`` were captured from the SDK itself
(``scripts/capture_sdk_requests.py``: the SDK builds the estimators, models and monitors,
botocore hooks record every SageMaker request and answer it, nothing is sent). Each test
rebuilds the same work with smkit (plan mode) and asserts that the two requests are equal
except for the differences listed in the test, each with its reason.

Two kinds of difference are allowed everywhere, and only these:

- ``API_DEFAULTS``: smkit sends a field's documented default explicitly where the SDK leaves
  it out (the service applies the same value either way);
- ``SDK_EMPTY``: the SDK sends an empty value (``{}`` / ``[]``) smkit leaves out.
"""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path
from typing import Any

import pytest

from smkit.backends.aws import AwsBackend

FIXTURES = Path(__file__).parent / "fixtures" / "sdk_requests"
ROLE = "arn:aws:iam::123456789012:role/SmkitSdkCapture"
BUCKET = "sdk-capture-bucket"

#: Field (path with list indices replaced by ``[]``) -> the API default smkit sends explicitly.
API_DEFAULTS: dict[str, Any] = {
    "AlgorithmSpecification.EnableSageMakerMetricsTimeSeries": False,
    "EnableManagedSpotTraining": False,
    "EnableNetworkIsolation": False,
    "InputDataConfig[].CompressionType": "None",
    "InputDataConfig[].InputMode": "File",
    "InputDataConfig[].RecordWrapperType": "None",
    "ProcessingInputs[].AppManaged": False,  # the SDK sends it; smkit leaves the default
    "ProcessingInputs[].S3Input.S3CompressionType": "None",
    "ProcessingOutputConfig.Outputs[].AppManaged": False,
}
_ABSENT = "<absent>"


def _flat(value: Any, path: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for k, v in value.items():
            out.update(_flat(v, f"{path}.{k}" if path else k))
        return out or ({path: {}} if path else {})
    if isinstance(value, list):
        out = {}
        for i, v in enumerate(value):
            out.update(_flat(v, f"{path}[{i}]"))
        return out or {path: []}
    return {path: value}


def _generic(path: str) -> str:
    import re

    return re.sub(r"\[\d+\]", "[]", path)


def differences(sdk: dict[str, Any], ours: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """``path -> (sdk value, smkit value)`` for every field that differs, leaving out the
    allowed kinds (``API_DEFAULTS`` and the SDK's empty values)."""
    a, b = _flat(sdk), _flat(ours)
    out = {}
    for path in sorted(set(a) | set(b)):
        va, vb = a.get(path, _ABSENT), b.get(path, _ABSENT)
        if va == vb:
            continue
        generic = _generic(path)
        default = next(
            (v for k, v in API_DEFAULTS.items() if generic == k or generic.endswith("." + k)),
            _ABSENT,
        )
        if default is not _ABSENT and _ABSENT in (va, vb) and default in (va, vb):
            continue
        if vb == _ABSENT and va in ({}, []):
            continue  # SDK_EMPTY
        out[path] = (va, vb)
    return out


def _fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def _sdk(name: str, operation: str, index: int = 0) -> dict[str, Any]:
    calls = [c["params"] for c in _fixture(name)["requests"] if c["operation"] == operation]
    return calls[index]


def _ours(backend: AwsBackend, operation: str, index: int = 0) -> dict[str, Any]:
    return [r.params for r in backend.plan() if r.operation == operation][index]


def _backend() -> AwsBackend:
    return AwsBackend(plan=True, region="us-east-1", role=ROLE, bucket=BUCKET)


def _code(tmp_path: Path) -> Path:
    src = tmp_path / "code"
    src.mkdir()
    (src / "train.py").write_text("print('train')\n")
    (src / "inference.py").write_text("def model_fn(d):\n    return d\n")
    (src / "requirements.txt").write_text("numpy\n")
    return src


def test_fixtures_come_from_the_sdk_v2():
    for path in sorted(FIXTURES.glob("*.json")):
        doc = json.loads(path.read_text())
        assert doc["sdk_version"].startswith("2."), path.name
        assert doc["requests"], path.name


def test_differences_sees_a_changed_field():
    assert differences({"A": {"B": 1}}, {"A": {"B": 2}}) == {"A.B": (1, 2)}
    assert differences({"EnableNetworkIsolation": True}, {}) == {
        "EnableNetworkIsolation": (True, _ABSENT)
    }
    assert differences({}, {"EnableNetworkIsolation": False}) == {}


def test_builtin_xgboost_training_job():
    from smkit.training import Channel, TrainingSpec

    backend = _backend()
    spec = TrainingSpec(
        algorithm="xgboost",
        hyperparameters={"num_round": 50, "max_depth": 5, "objective": "reg:squarederror"},
        inputs={
            "train": Channel(f"s3://{BUCKET}/data/train/", content_type="text/csv"),
            "validation": Channel(f"s3://{BUCKET}/data/validation/", content_type="text/csv"),
        },
        instance_type="ml.m5.xlarge",
        output_path=f"s3://{BUCKET}/out/",
    )
    backend.train(spec, name="sdk-xgboost-1")
    diff = differences(_sdk("xgboost", "CreateTrainingJob"), _ours(backend, "CreateTrainingJob"))
    # SageMaker Debugger is opt-in in smkit (closed to new customers): no default hook config
    assert diff == {"DebugHookConfig.S3OutputPath": (f"s3://{BUCKET}/out/", _ABSENT)}


def test_sklearn_script_mode_training_job(tmp_path):
    from smkit.training import Channel, TrainingSpec

    backend = _backend()
    spec = TrainingSpec(
        entry_point="train.py",
        source_dir=str(_code(tmp_path)),
        framework="sklearn",
        framework_version="1.2-1",
        hyperparameters={"alpha": 0.5, "solver": "lbfgs"},
        inputs={"train": Channel(f"s3://{BUCKET}/data/train/")},
        instance_type="ml.m5.xlarge",
        output_path=f"s3://{BUCKET}/out/",
    )
    backend.train(spec, name="sdk-sklearn-1")
    diff = differences(_sdk("sklearn", "CreateTrainingJob"), _ours(backend, "CreateTrainingJob"))
    # Debugger opt-in (as above); the code goes to the same sourcedir.tar.gz key
    assert diff == {"DebugHookConfig.S3OutputPath": (f"s3://{BUCKET}/out/", _ABSENT)}


def test_model_endpoint_config_and_data_capture():
    from smkit.serving import DataCaptureSpec, EndpointSpec, ModelSpec

    backend = _backend()
    backend.deploy(
        ModelSpec(
            model_data=f"s3://{BUCKET}/sdk-xgboost-1/output/model.tar.gz",
            framework="xgboost",
            framework_version="1.7-1",
            name="sdk-model",
        ),
        EndpointSpec(
            name="sdk-endpoint",
            instance_type="ml.m5.large",
            data_capture=DataCaptureSpec(
                sampling_percentage=100, destination=f"s3://{BUCKET}/capture"
            ),
        ),
    )
    assert differences(_sdk("deploy_capture", "CreateModel"), _ours(backend, "CreateModel")) == {}
    # smkit names the endpoint config "<endpoint>-config" (the SDK reuses the endpoint's
    # name): a config and its endpoint stay distinguishable in listings and policies
    config = differences(
        _sdk("deploy_capture", "CreateEndpointConfig"), _ours(backend, "CreateEndpointConfig")
    )
    assert config == {"EndpointConfigName": ("sdk-endpoint", "sdk-endpoint-config")}
    endpoint = differences(
        _sdk("deploy_capture", "CreateEndpoint"), _ours(backend, "CreateEndpoint")
    )
    assert endpoint == {"EndpointConfigName": ("sdk-endpoint", "sdk-endpoint-config")}


def test_pytorch_model_is_repacked_like_the_sdk(tmp_path):
    from smkit.serving import EndpointSpec, ModelSpec

    backend = _backend()
    src = _code(tmp_path)
    model_tar = tmp_path / "model.tar.gz"
    weights = tmp_path / "model.pth"
    weights.write_bytes(b"weights")
    with tarfile.open(model_tar, "w:gz") as tar:
        tar.add(weights, arcname="model.pth")
    backend.deploy(
        ModelSpec(
            model_data=str(model_tar),
            framework="pytorch",
            framework_version="2.1",
            entry_point="inference.py",
            source_dir=str(src),
            name="sdk-torch-model",
        ),
        EndpointSpec(name="sdk-torch-endpoint", instance_type="ml.m5.large"),
    )
    assert differences(_sdk("pytorch_repack", "CreateModel"), _ours(backend, "CreateModel")) == {}
    (put,) = [r.params for r in backend.plan() if r.operation == "PutObject"]
    with tarfile.open(fileobj=io.BytesIO(put["Body"]), mode="r:gz") as tar:
        ours = sorted(tar.getnames())
    sdk = _fixture("pytorch_repack")["uploads"]["/sdk-torch-model/model.tar.gz"]
    # the SDK's archive also lists the directories ("", "code"); the files are the same
    assert ours == [n for n in sdk if n not in ("", "code")]


def _monitor_plan():
    from smkit.monitoring import DataConfig, MonitorPlan, SHAPConfig

    return (
        MonitorPlan("sdk-endpoint")
        .data_quality(baseline=f"s3://{BUCKET}/data/train.csv", header=False)
        .model_quality(
            baseline=f"s3://{BUCKET}/data/validation_predictions.csv",
            problem_type="BinaryClassification",
            ground_truth=f"s3://{BUCKET}/gt/",
            inference_attribute=None,
            probability_attribute="prob",
            ground_truth_attribute="label",
        )
        .explainability(
            SHAPConfig(baseline=[[1, 2]], num_samples=10),
            data=DataConfig(
                f"s3://{BUCKET}/data/train_with_header.csv",
                f"s3://{BUCKET}/clarify-baseline",
                label="y",
                headers=["y", "a", "b"],
            ),
        )
        .schedule("hourly")
    )


def test_data_quality_baseline_job():
    backend = _backend()
    backend._dq(
        _monitor_plan(), "sdk-dq-baseline", "dq-def", f"s3://{BUCKET}/baseline",
        f"s3://{BUCKET}/reports", "us-east-1", ROLE,
    )  # fmt: skip
    sdk = _sdk("data_quality_baseline", "CreateProcessingJob")
    assert differences(sdk, _ours(backend, "CreateProcessingJob")) == {}


def test_model_quality_baseline_job():
    backend = _backend()
    backend._mq(
        _monitor_plan(), "sdk-mq-baseline", "mq-def", f"s3://{BUCKET}/mq-baseline",
        f"s3://{BUCKET}/reports", "us-east-1", ROLE,
    )  # fmt: skip
    sdk = _sdk("model_quality_baseline", "CreateProcessingJob")
    assert differences(sdk, _ours(backend, "CreateProcessingJob")) == {}


def test_explainability_baseline_and_job_definition():
    backend = _backend()
    backend._clarify(
        _monitor_plan(), "sdk-clarify-baseline", "mx-def", f"s3://{BUCKET}/clarify-baseline",
        f"s3://{BUCKET}/clarify-reports", "us-east-1", ROLE,
    )  # fmt: skip
    sdk_job = _sdk("explainability", "CreateProcessingJob")
    assert differences(sdk_job, _ours(backend, "CreateProcessingJob")) == {}
    uploads = _fixture("explainability")["uploads"]
    puts = {
        f"/{r.params['Key']}": json.loads(r.params["Body"])
        for r in backend.plan()
        if r.operation == "PutObject"
    }
    # the baseline's analysis config, and the job definition's own (methods, predictor and
    # the feature-only headers)
    # smkit always sets the SHAP sampling seed (0 by default) so a baseline is reproducible;
    # the SDK sends one only when given
    seed = {"methods.shap.seed": (_ABSENT, 0)}
    baseline_key = "/clarify-baseline/analysis_config.json"
    assert differences(uploads[baseline_key], puts[baseline_key]) == seed
    (sdk_monitor_key,) = [k for k in uploads if k.startswith("/clarify-reports/")]
    (our_monitor_key,) = [k for k in puts if k.startswith("/clarify-reports/")]
    assert differences(uploads[sdk_monitor_key], puts[our_monitor_key]) == seed
    sdk_def = _sdk("explainability", "CreateModelExplainabilityJobDefinition")
    ours = _ours(backend, "CreateModelExplainabilityJobDefinition")
    diff = differences(sdk_def, ours)
    name = sdk_def["JobDefinitionName"]
    expected = {
        # names: the SDK generates "model-explainability-job-definition-<time>"
        "JobDefinitionName": (name, "mx-def"),
        # the SDK stores the config under <reports>/<definition>/<uuid>/; smkit under
        # <reports>/<definition>/ (the definition name is already unique)
        "ModelExplainabilityAppSpecification.ConfigUri": (
            f"s3://{BUCKET}{sdk_monitor_key}",
            f"s3://{BUCKET}{our_monitor_key}",
        ),
        # smkit names the baseline's analysis.json explicitly; the SDK leaves SageMaker to
        # find it through BaseliningJobName (same file)
        "ModelExplainabilityBaselineConfig.ConstraintsResource.S3Uri": (
            _ABSENT,
            f"s3://{BUCKET}/clarify-baseline/analysis.json",
        ),
    }
    for path, (sdk_value, our_value) in diff.items():
        if path not in expected:
            pytest.fail(f"unexpected difference at {path}: SDK {sdk_value!r}, smkit {our_value!r}")
    for path in expected:
        assert path in diff, path


def test_monitoring_schedule_request():
    from smkit import sagemaker_api as api

    sdk = _sdk("explainability", "CreateMonitoringSchedule")
    ours = api.create_monitoring_schedule(
        "sdk-explainability",
        definition=sdk["MonitoringScheduleConfig"]["MonitoringJobDefinitionName"],
        monitoring_type="ModelExplainability",
        expression="cron(0 * ? * * *)",
    )
    assert differences(sdk, ours) == {}  # the SDK's "Tags": [] is an empty value


def test_tuning_job():
    from smkit.training import (
        Channel,
        ContinuousParameter,
        IntegerParameter,
        TrainingSpec,
        TuningSpec,
    )

    backend = _backend()
    training = TrainingSpec(
        algorithm="xgboost",
        hyperparameters={"num_round": 50, "objective": "reg:squarederror"},
        inputs={
            "train": Channel(f"s3://{BUCKET}/data/train/", content_type="text/csv"),
            "validation": Channel(f"s3://{BUCKET}/data/validation/", content_type="text/csv"),
        },
        instance_type="ml.m5.xlarge",
        output_path=f"s3://{BUCKET}/out/",
    )
    spec = TuningSpec(
        training=training,
        ranges={
            "max_depth": IntegerParameter(2, 8),
            "eta": ContinuousParameter(0.01, 0.3, scaling="Logarithmic"),
        },
        objective_metric="validation:rmse",
        objective_type="Minimize",
        strategy="Bayesian",
        max_jobs=4,
        max_parallel_jobs=2,
    )
    backend.tune(spec, name="sdk-tune-1")
    sdk = _sdk("tuning", "CreateHyperParameterTuningJob")
    ours = _ours(backend, "CreateHyperParameterTuningJob")
    diff = differences(sdk, ours)
    definition = "TrainingJobDefinition"
    sdk_resources = sdk[definition]["HyperParameterTuningResourceConfig"]
    expected = {
        # smkit fixes the search's seed (TuningSpec.seed, default 0) so a tuning run can be
        # repeated; the SDK sends none unless given
        "HyperParameterTuningJobConfig.RandomSeed": (_ABSENT, 0),
        # the SDK's newer HyperParameterTuningResourceConfig vs the classic ResourceConfig:
        # the same instance settings, both accepted by the API
        **{
            f"{definition}.HyperParameterTuningResourceConfig.{k}": (v, _ABSENT)
            for k, v in sdk_resources.items()
        },
        **{
            f"{definition}.ResourceConfig.{k}": (_ABSENT, v)
            for k, v in ours[definition]["ResourceConfig"].items()
        },
    }
    assert diff == expected
    assert ours[definition]["ResourceConfig"] == sdk_resources  # same settings, other key


def test_data_quality_job_definition():
    from smkit import sagemaker_api as api

    sdk = _sdk("data_quality_schedule", "CreateDataQualityJobDefinition")
    ours = api.data_quality_job_definition(
        sdk["JobDefinitionName"],
        image=sdk["DataQualityAppSpecification"]["ImageUri"],
        role=ROLE,
        endpoint_name="sdk-endpoint",
        baseline_job="sdk-dq-baseline",
        statistics_uri=f"s3://{BUCKET}/baseline/statistics.json",
        constraints_uri=f"s3://{BUCKET}/baseline/constraints.json",
        reports=f"s3://{BUCKET}/dq-reports",
    )
    # smkit also names the baselining job the files come from (the SDK does when it ran the
    # baseline itself; this fixture passed the files directly)
    assert differences(sdk, ours) == {
        "DataQualityBaselineConfig.BaseliningJobName": (_ABSENT, "sdk-dq-baseline")
    }
    schedule = _sdk("data_quality_schedule", "CreateMonitoringSchedule")
    ours_schedule = api.create_monitoring_schedule(
        "sdk-data-quality",
        definition=sdk["JobDefinitionName"],
        monitoring_type="DataQuality",
        expression="cron(0 * ? * * *)",
    )
    assert differences(schedule, ours_schedule) == {}
