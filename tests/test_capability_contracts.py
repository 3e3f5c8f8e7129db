"""The capability contract suites of ``smkit.testing``, run on every backend.

Each suite runs on the local backend (everything executes), on the aws backend against moto's
server (requests are real HTTP calls; moto accepts jobs but does not run them) and on the aws
backend in plan mode (requests recorded and validated by botocore), which covers the calls moto
lacks. The collected ids name the backend: ``TestLocalTraining``, ``TestAwsMotoTraining``,
``TestAwsPlanTraining``...
"""

from __future__ import annotations

import json
import urllib.request

import pytest

from smkit.testing.contract import (
    MonitoringContract,
    ServingContract,
    TrainingContract,
    WorkflowContract,
)
from smkit.testing.fixtures import TEST_BUCKET, TEST_ROLE

SKLEARN_IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"


@pytest.fixture
def local_backend(tmp_path):
    from smkit.backends.local import LocalBackend

    backend = LocalBackend(root=tmp_path / "root")
    yield backend
    for ep in backend.list_endpoints():
        backend.delete_endpoint(ep["EndpointName"], force=True)
    backend.close()


@pytest.fixture
def plan_backend():
    from smkit.backends.aws import AwsBackend

    backend = AwsBackend(plan=True, region="us-east-1", bucket=TEST_BUCKET, role=TEST_ROLE)
    yield backend
    backend.close()


# -- training ---------------------------------------------------------------------------
class TestLocalTraining(TrainingContract):
    @pytest.fixture
    def backend(self, local_backend):
        return local_backend


@pytest.mark.aws
class TestAwsMotoTraining(TrainingContract):
    executes = False
    # moto has no StopTrainingJob, StopHyperParameterTuningJob or
    # ListTrainingJobsForHyperParameterTuningJob: TestAwsPlanTraining covers them
    unavailable = frozenset({"test_stop", "test_tune_describe_trials"})

    @pytest.fixture
    def backend(self, aws_backend):
        return aws_backend


class TestAwsPlanTraining(TrainingContract):
    executes = False
    plan_only = True

    @pytest.fixture
    def backend(self, plan_backend):
        return plan_backend


# -- serving ----------------------------------------------------------------------------
class TestLocalServing(ServingContract):
    @pytest.fixture
    def backend(self, local_backend):
        return local_backend


@pytest.mark.aws
class TestAwsMotoServing(ServingContract):
    executes = False
    image_uri = SKLEARN_IMAGE

    @pytest.fixture
    def backend(self, aws_backend):
        return aws_backend


class TestAwsPlanServing(ServingContract):
    executes = False
    plan_only = True
    image_uri = SKLEARN_IMAGE

    @pytest.fixture
    def backend(self, plan_backend):
        return plan_backend


# -- monitoring -------------------------------------------------------------------------
@pytest.fixture
def baseline_csv(tmp_path):
    path = tmp_path / "baseline.csv"
    rows = [f"{i % 7}.0,{(i * 3) % 5}.5,{i % 3}.25" for i in range(60)]
    path.write_text("a,b,c\n" + "\n".join(rows) + "\n")
    return str(path)


def _monitored(backend, tmp_path, *, traffic: bool) -> str:
    contract = ServingContract()
    if backend.name == "aws":
        contract.image_uri = SKLEARN_IMAGE
    ep = backend.deploy(contract.model_spec(tmp_path), contract.endpoint_spec("mon-ep", tmp_path))
    if traffic:
        predictor = backend.predictor(ep.name, serializer="csv", deserializer="csv")
        for i in range(20):
            predictor.invoke(f"{i % 7}.0,{i % 5}.5,{i % 3}.25\n".encode())
        backend.flush_endpoint_capture(ep.name)
    return ep.name


class TestLocalMonitoring(MonitoringContract):
    @pytest.fixture
    def backend(self, local_backend):
        return local_backend

    @pytest.fixture
    def monitored_endpoint(self, local_backend, tmp_path):
        return _monitored(local_backend, tmp_path, traffic=True)


@pytest.mark.aws
class TestAwsMotoMonitoring(MonitoringContract):
    executes = False
    # moto has no CreateMonitoringSchedule: TestAwsPlanMonitoring covers it
    unavailable = frozenset(
        {
            "test_data_quality_baseline_and_schedule",
            "test_generic_verbs_on_schedules",
            "test_unified_monitor_handle",
        }
    )

    @pytest.fixture
    def backend(self, aws_backend):
        return aws_backend

    @pytest.fixture
    def monitored_endpoint(self, aws_backend, tmp_path):
        return _monitored(aws_backend, tmp_path, traffic=False)


class TestAwsPlanMonitoring(MonitoringContract):
    executes = False
    plan_only = True

    @pytest.fixture
    def backend(self, plan_backend):
        return plan_backend

    @pytest.fixture
    def monitored_endpoint(self, plan_backend, tmp_path):
        return _monitored(plan_backend, tmp_path, traffic=False)


# -- workflows --------------------------------------------------------------------------
class TestLocalWorkflows(WorkflowContract):
    @pytest.fixture
    def backend(self, local_backend):
        return local_backend


def _moto_config(moto, body):
    req = urllib.request.Request(
        f"{moto.url}/moto-api/config", data=json.dumps(body).encode(), method="POST"
    )
    urllib.request.urlopen(req, timeout=10).read()


@pytest.mark.aws
class TestAwsMotoWorkflows(WorkflowContract):
    @pytest.fixture
    def backend(self, aws_backend, moto, monkeypatch):
        """moto with its ASL interpreter on (it runs Pass/Choice/Succeed/Fail as AWS does)."""
        policy = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": ["states.amazonaws.com"]},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
        aws_backend.call(
            "iam",
            "CreateRole",
            {"RoleName": "SmkitTestRole", "AssumeRolePolicyDocument": json.dumps(policy)},
        )
        monkeypatch.setenv("MOTO_PORT", str(moto.port))
        _moto_config(moto, {"stepfunctions": {"execute_state_machine": True}})
        yield aws_backend
        _moto_config(moto, {"stepfunctions": {"execute_state_machine": False}})


class TestAwsPlanWorkflows(WorkflowContract):
    executes = False
    plan_only = True

    @pytest.fixture
    def backend(self, plan_backend):
        return plan_backend
