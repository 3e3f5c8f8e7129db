"""Contract test suites every backend must pass: store, catalog and each capability.

Subclass them in a test module and provide the fixture each names (``store``, ``catalog``,
``backend``), as fsspec's shared suites do:

    class TestMyStore(StoreContract):
        @pytest.fixture
        def store(self): ...

    class TestMyTraining(TrainingContract):
        executes = True          # jobs really run here

        @pytest.fixture
        def backend(self, tmp_path): ...

A new backend is done when ``StoreContract``, ``CatalogContract``, ``TrainingContract``,
``ServingContract``, ``MonitoringContract`` and ``WorkflowContract`` pass on it.

Each capability suite also checks the Session's generic verbs (``describe``, ``list``,
``stop``, ``delete``, ``logs``) over the resource kinds of its capability, and that the verbs a
kind does not offer are refused before anything is sent.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from smkit.errors import (
    InvalidURIError,
    ResourceExistsError,
    ResourceNotFoundError,
    UnsafeKeyError,
)

__all__ = [
    "CatalogContract",
    "MonitoringContract",
    "ServingContract",
    "StoreContract",
    "TrainingContract",
    "WorkflowContract",
]


class StoreContract:
    """Behaviour of an `ObjectStore`."""

    bucket = "smkit-test"

    def uri(self, key: str) -> str:
        return f"s3://{self.bucket}/{key}"

    def test_put_get_roundtrip(self, store) -> None:
        info = store.put_bytes(self.uri("a/b.txt"), b"hello")
        assert info.size == 5
        assert store.get_bytes(self.uri("a/b.txt")) == b"hello"

    def test_overwrite_replaces(self, store) -> None:
        store.put_bytes(self.uri("x"), b"one")
        store.put_bytes(self.uri("x"), b"two!")
        assert store.get_bytes(self.uri("x")) == b"two!"
        assert store.head(self.uri("x")).size == 4

    def test_head_missing_is_none(self, store) -> None:
        assert store.head(self.uri("nope/never")) is None

    def test_get_missing_raises(self, store) -> None:
        with pytest.raises(ResourceNotFoundError):
            store.get_bytes(self.uri("nope/never"))

    def test_list_by_string_prefix(self, store) -> None:
        for key in ("p/a.csv", "p/b.csv", "p/sub/c.csv", "pq/d.csv", "other/e.csv"):
            store.put_bytes(self.uri(key), key.encode())
        keys = [o.uri for o in store.list(self.uri("p/"))]
        assert keys == [self.uri("p/a.csv"), self.uri("p/b.csv"), self.uri("p/sub/c.csv")]
        keys = [o.uri for o in store.list(self.uri("p"))]
        assert self.uri("pq/d.csv") in keys and self.uri("other/e.csv") not in keys
        assert store.list(self.uri("zzz/")) == []

    def test_put_file_skips_unchanged(self, store, tmp_path) -> None:
        src = tmp_path / "data.csv"
        src.write_bytes(b"a,b\n1,2\n")
        info, sent = store.put_file(self.uri("f/data.csv"), src)
        assert sent and info.sha256 is not None
        info2, sent2 = store.put_file(self.uri("f/data.csv"), src)
        assert not sent2 and info2.sha256 == info.sha256
        src.write_bytes(b"a,b\n1,3\n")
        _, sent3 = store.put_file(self.uri("f/data.csv"), src)
        assert sent3
        assert store.get_bytes(self.uri("f/data.csv")) == b"a,b\n1,3\n"

    def test_get_file(self, store, tmp_path) -> None:
        store.put_bytes(self.uri("g/model.bin"), b"\x00\x01\x02")
        dest = store.get_file(self.uri("g/model.bin"), tmp_path / "out" / "model.bin")
        assert dest.read_bytes() == b"\x00\x01\x02"

    def test_delete(self, store) -> None:
        store.put_bytes(self.uri("d/x"), b"1")
        store.delete(self.uri("d/x"))
        assert store.head(self.uri("d/x")) is None
        store.delete(self.uri("d/x"))  # deleting twice is fine, as on S3

    @pytest.mark.parametrize("key", ["../escape", "a/../../b", "/abs", "a/./b", "a\\b"])
    def test_unsafe_keys_rejected(self, store, key) -> None:
        with pytest.raises(UnsafeKeyError):
            store.put_bytes(self.uri(key), b"x")

    def test_bad_uri_rejected(self, store) -> None:
        with pytest.raises(InvalidURIError):
            store.put_bytes("http://example/x", b"x")


class CatalogContract:
    """Behaviour of a `Catalog` for the ``model`` kind."""

    def model_request(self) -> dict:
        return {
            "ExecutionRoleArn": "arn:aws:iam::123456789012:role/SmkitTestRole",
            "PrimaryContainer": {
                "Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/xgb:1",
                "ModelDataUrl": "s3://smkit-test/model.tar.gz",
            },
        }

    def test_create_describe_list_delete(self, catalog) -> None:
        created = catalog.create("model", "m-one", self.model_request(), status="Created")
        assert created.name == "m-one"
        got = catalog.describe("model", "m-one")
        assert got.name == "m-one" and got.status
        assert got.data["PrimaryContainer"]["ModelDataUrl"] == "s3://smkit-test/model.tar.gz"
        assert "m-one" in [r.name for r in catalog.list("model")]
        catalog.delete("model", "m-one")
        assert "m-one" not in [r.name for r in catalog.list("model")]

    def test_duplicate_name_refused(self, catalog) -> None:
        catalog.create("model", "m-dup", self.model_request(), status="Created")
        with pytest.raises(ResourceExistsError):
            catalog.create("model", "m-dup", self.model_request(), status="Created")

    def test_describe_missing(self, catalog) -> None:
        with pytest.raises(ResourceNotFoundError):
            catalog.describe("model", "never-created")

    def test_list_newest_first(self, catalog) -> None:
        import time

        catalog.create("model", "m-old", self.model_request(), status="Created")
        time.sleep(1.1)  # SageMaker's CreationTime has second resolution on some services
        catalog.create("model", "m-new", self.model_request(), status="Created")
        names = [r.name for r in catalog.list("model")]
        assert names.index("m-new") < names.index("m-old")


# -- capability contracts ------------------------------------------------------------------
#
# Each suite exercises every verb its protocol in ``smkit.backends._protocol`` declares. A
# subclass provides a ``backend`` fixture and says, with class attributes, what its
# environment can show: ``executes`` (jobs, endpoints and executions really run, as on the
# local backend), ``plan_only`` (requests are only recorded, as in the aws backend's plan
# mode). Verbs an environment cannot answer (moto lacks some SageMaker calls) are listed in
# ``unavailable`` and must then be covered by a plan-mode subclass of the same suite.

_TRAIN_SCRIPT = """\
import argparse, json, os
p = argparse.ArgumentParser()
p.add_argument("--alpha", type=float, default=0.0)
args, _ = p.parse_known_args()
with open(os.path.join(os.environ.get("SM_MODEL_DIR", "."), "model.json"), "w") as fh:
    json.dump({"alpha": args.alpha}, fh)
print("loss=%.3f" % (1.0 / (1.0 + args.alpha)))
"""

_INFERENCE_SCRIPT = """\
import json, os


def model_fn(model_dir):
    with open(os.path.join(model_dir, "weights.json")) as fh:
        return json.load(fh)


def input_fn(body, content_type):
    text = body.decode() if isinstance(body, bytes) else body
    return [float(v) for v in text.strip().split(",")]


def predict_fn(data, model):
    return sum(w * v for w, v in zip(model["w"], data)) + model["b"]


def output_fn(prediction, accept):
    return "%g" % prediction
"""


class _CapabilityContract:
    executes = True
    plan_only = False
    unavailable: frozenset[str] = frozenset()

    def _skip_unavailable(self, request: pytest.FixtureRequest) -> None:
        if request.node.originalname in self.unavailable:
            pytest.skip("this environment cannot answer it; the plan-mode suite covers it")

    @pytest.fixture(autouse=True)
    def _unavailable(self, request: pytest.FixtureRequest) -> None:
        self._skip_unavailable(request)

    @staticmethod
    def planned(backend: Any, operation: str) -> list[dict[str, Any]]:
        """The parameters of each recorded request named ``operation``."""
        return [r.params for r in backend.plan() if r.operation == operation]

    @staticmethod
    def session(backend: Any) -> Any:
        """A [Session][smkit.Session] over ``backend``, for the generic verbs."""
        from smkit.session import Session

        return Session(backend)

    @staticmethod
    def refuses(call: Callable[[], Any], *words: str) -> None:
        """``call`` raises ``ConfigError`` whose message (or hint) names every word."""
        from smkit.errors import ConfigError

        with pytest.raises(ConfigError) as info:
            call()
        text = f"{info.value} {info.value.hint or ''}"
        for word in words:
            assert word in text, (word, text)


class TrainingContract(_CapabilityContract):
    """Behaviour of a [TrainingBackend][smkit.backends.TrainingBackend]."""

    def training_spec(self, tmp_path: Path, **overrides: Any) -> Any:
        """A tiny script-mode job (override to give, e.g., an image the backend accepts)."""
        from smkit.training.spec import TrainingSpec

        src = tmp_path / "train-code"
        src.mkdir(exist_ok=True)
        (src / "train.py").write_text(_TRAIN_SCRIPT)
        spec = TrainingSpec(
            entry_point="train.py",
            source_dir=str(src),
            framework="sklearn",
            hyperparameters={"alpha": 1.5},
            metric_definitions={"loss": r"loss=([0-9.]+)"},
            max_runtime=120,
        )
        return spec.evolve(**overrides) if overrides else spec

    def test_declares_the_capability(self, backend: Any) -> None:
        from smkit.backends._protocol import Capability, TrainingBackend

        assert backend.supports(Capability.TRAINING)
        assert isinstance(backend, TrainingBackend)

    def test_train_describe_list(self, backend: Any, tmp_path: Path) -> None:
        job = backend.train(self.training_spec(tmp_path), name="contract-train")
        assert job.name == "contract-train"
        if self.plan_only:
            (req,) = self.planned(backend, "CreateTrainingJob")
            assert req["TrainingJobName"] == "contract-train"
            assert req["HyperParameters"]["alpha"] == "1.5"
            return
        record = backend.describe_training_job("contract-train")
        assert record["TrainingJobName"] == "contract-train"
        assert record["TrainingJobStatus"] in ("InProgress", "Completed", "Failed", "Stopping")
        assert record["HyperParameters"]["alpha"] == "1.5"
        assert record["AlgorithmSpecification"]["TrainingInputMode"] == "File"
        assert backend.training_job("contract-train").describe()["TrainingJobName"] == job.name
        names = [j["TrainingJobName"] for j in backend.list_training_jobs()]
        assert "contract-train" in names

    def test_job_runs_to_completion(self, backend: Any, tmp_path: Path) -> None:
        if not self.executes:
            pytest.skip("jobs do not run in this environment")
        job = backend.train(self.training_spec(tmp_path), name="contract-done", wait=True)
        record = job.describe()
        assert record["TrainingJobStatus"] == "Completed"
        assert record["ModelArtifacts"]["S3ModelArtifacts"].endswith("/output/model.tar.gz")
        assert backend.store.head(record["ModelArtifacts"]["S3ModelArtifacts"]) is not None
        metrics = {m["MetricName"]: m["Value"] for m in record.get("FinalMetricDataList", [])}
        assert metrics["loss"] == pytest.approx(0.4, abs=1e-3)
        assert "loss=0.400" in backend.training_job_logs("contract-done")
        assert [j["TrainingJobStatus"] for j in backend.list_training_jobs(status="Completed")]

    def test_follow_logs_is_a_pump(self, backend: Any, tmp_path: Path) -> None:
        if self.plan_only:
            pytest.skip("nothing runs in plan mode")
        backend.train(self.training_spec(tmp_path), name="contract-logs")
        lines: list[str] = []
        pump = backend.follow_training_job("contract-logs", lines.append)
        assert callable(pump)
        pump()
        assert isinstance(backend.training_job_logs("contract-logs"), str)

    def test_stop(self, backend: Any, tmp_path: Path) -> None:
        backend.train(self.training_spec(tmp_path), name="contract-stop")
        backend.stop_training_job("contract-stop")
        if self.plan_only:
            assert self.planned(backend, "StopTrainingJob") == [
                {"TrainingJobName": "contract-stop"}
            ]
            return
        status = backend.describe_training_job("contract-stop")["TrainingJobStatus"]
        assert status in ("Stopping", "Stopped", "Completed")

    def test_unknown_job_is_not_found(self, backend: Any) -> None:
        if self.plan_only:
            pytest.skip("nothing can be described in plan mode")
        with pytest.raises(ResourceNotFoundError):
            backend.describe_training_job("contract-no-such-job")

    def test_generic_verbs(self, backend: Any, tmp_path: Path) -> None:
        """``session.describe/list/logs/stop('training_job', name)`` reach the same job."""
        session = self.session(backend)
        backend.train(self.training_spec(tmp_path), name="contract-generic")
        if self.plan_only:
            session.stop("training-job", "contract-generic")
            assert self.planned(backend, "StopTrainingJob") == [
                {"TrainingJobName": "contract-generic"}
            ]
            return
        record = session.describe("training_job", "contract-generic")
        assert record["TrainingJobName"] == "contract-generic"
        assert record["HyperParameters"]["alpha"] == "1.5"
        assert "contract-generic" in [j["TrainingJobName"] for j in session.list("training_job")]
        assert record["TrainingJobStatus"] != "Stopped"
        stopped = [j["TrainingJobName"] for j in session.list("training_job", status="Stopped")]
        assert "contract-generic" not in stopped
        assert isinstance(session.logs("training_job", "contract-generic"), str)
        if "test_stop" not in self.unavailable:
            session.stop("training_job", "contract-generic")
            status = session.describe("training_job", "contract-generic")["TrainingJobStatus"]
            assert status in ("Stopping", "Stopped", "Completed")
        if "test_tune_describe_trials" not in self.unavailable:
            assert isinstance(session.list("tuning_job"), list)
        with pytest.raises(ResourceNotFoundError):
            session.describe("training_job", "contract-no-such-job")

    def test_generic_verbs_refuse_clearly(self, backend: Any) -> None:
        session = self.session(backend)
        self.refuses(lambda: session.describe("notebook", "x"), "notebook", "training_job")
        self.refuses(lambda: session.delete("training_job", "x"), "delete", "stop")
        self.refuses(lambda: session.logs("tuning_job", "x"), "logs", "training_job")
        self.refuses(lambda: session.describe("training_job", ""), "needs a name")
        assert backend.plan() == [] or all(
            r.operation != "DeleteTrainingJob" for r in backend.plan()
        ), "a refused verb sends nothing"

    def test_bad_name_refused_before_sending(self, backend: Any, tmp_path: Path) -> None:
        from smkit.errors import ConfigError

        with pytest.raises(ConfigError):
            backend.train(self.training_spec(tmp_path), name="no_underscores_allowed")

    def test_poll_delay_grows_and_stays_positive(self, backend: Any) -> None:
        delays = [backend.job_poll_delay(i) for i in range(40)]
        assert all(d > 0 for d in delays)
        assert delays == sorted(delays)

    def tuning_spec(self, tmp_path: Path) -> Any:
        from smkit.training.tuning import ContinuousParameter, TuningSpec

        return TuningSpec(
            training=self.training_spec(tmp_path, hyperparameters={}),
            objective_metric="loss",
            objective_type="Minimize",
            ranges={"alpha": ContinuousParameter(0.0, 4.0)},
            max_jobs=2,
            max_parallel_jobs=1,
        )

    def test_tune_describe_trials(self, backend: Any, tmp_path: Path) -> None:
        tuning = backend.tune(self.tuning_spec(tmp_path), name="contract-tune")
        if self.plan_only:
            (req,) = self.planned(backend, "CreateHyperParameterTuningJob")
            assert req["HyperParameterTuningJobName"] == "contract-tune"
            assert (
                req["HyperParameterTuningJobConfig"]["ResourceLimits"]["MaxNumberOfTrainingJobs"]
                == 2
            )
            backend.tuning_job_trials("contract-tune")
            backend.stop_tuning_job("contract-tune")
            ops = [r.operation for r in backend.plan()]
            assert "StopHyperParameterTuningJob" in ops
            return
        record = backend.describe_tuning_job("contract-tune")
        assert record["HyperParameterTuningJobName"] == tuning.name
        assert "contract-tune" in [
            t["HyperParameterTuningJobName"] for t in backend.list_tuning_jobs()
        ]
        assert backend.tuning_job("contract-tune").name == "contract-tune"
        assert isinstance(backend.tuning_job_trials("contract-tune"), list)
        if self.executes:
            done = tuning.wait(timeout=300)
            trials = backend.tuning_job_trials(done.name)
            assert len(trials) == 2
            assert {t["TrainingJobStatus"] for t in trials} == {"Completed"}
        else:
            backend.stop_tuning_job("contract-tune")


class ServingContract(_CapabilityContract):
    """Behaviour of a [ServingBackend][smkit.backends.ServingBackend]."""

    image_uri: str | None = None

    def model_spec(self, tmp_path: Path) -> Any:
        """A ``model.tar.gz`` (weights) plus an inference script with the four hooks."""
        import json
        import tarfile

        from smkit.serving import ModelSpec

        weights = tmp_path / "weights.json"
        weights.write_text(json.dumps({"w": [1.0, 2.0, 3.0], "b": 0.5}))
        tar = tmp_path / "model.tar.gz"
        with tarfile.open(tar, "w:gz") as fh:
            fh.add(weights, arcname="weights.json")
        src = tmp_path / "serve-code"
        src.mkdir(exist_ok=True)
        (src / "inference.py").write_text(_INFERENCE_SCRIPT)
        return ModelSpec(
            model_data=str(tar),
            framework="sklearn",
            entry_point="inference.py",
            source_dir=str(src),
            image_uri=self.image_uri,
        )

    def endpoint_spec(self, name: str, tmp_path: Path) -> Any:
        from smkit.serving import DataCaptureSpec, EndpointSpec

        return EndpointSpec(
            name=name,
            data_capture=DataCaptureSpec(
                sampling_percentage=100, destination=f"s3://{self.bucket}/contract-capture"
            ),
        )

    bucket = "smkit-test"

    def test_declares_the_capability(self, backend: Any) -> None:
        from smkit.backends._protocol import Capability, ServingBackend

        assert backend.supports(Capability.SERVING)
        assert isinstance(backend, ServingBackend)

    def test_deploy_describe_list_delete(self, backend: Any, tmp_path: Path) -> None:
        ep = backend.deploy(self.model_spec(tmp_path), self.endpoint_spec("contract-ep", tmp_path))
        assert ep.name == "contract-ep"
        if self.plan_only:
            ops = [r.operation for r in backend.plan()]
            assert ops[-3:] == ["CreateModel", "CreateEndpointConfig", "CreateEndpoint"]
            (cfg,) = self.planned(backend, "CreateEndpointConfig")
            assert cfg["DataCaptureConfig"]["InitialSamplingPercentage"] == 100
            backend.delete_endpoint("contract-ep")
            ops = [r.operation for r in backend.plan()]
            assert ops[-3:] == ["DeleteEndpoint", "DeleteEndpointConfig", "DeleteModel"]
            return
        record = backend.describe_endpoint("contract-ep")
        assert record["EndpointName"] == "contract-ep"
        assert record["EndpointStatus"] == "InService"
        assert record["DataCaptureConfig"]["EnableCapture"] is True
        assert backend.endpoint("contract-ep").status == "InService"
        assert "contract-ep" in [e["EndpointName"] for e in backend.list_endpoints()]
        backend.delete_endpoint("contract-ep")
        # SageMaker forgets a deleted endpoint; a backend may keep it as ``Deleted`` (with
        # the reason), but never as a live one
        try:
            gone = backend.describe_endpoint("contract-ep")
        except ResourceNotFoundError:
            pass
        else:
            assert gone["EndpointStatus"] == "Deleted"
        assert "contract-ep" not in [e["EndpointName"] for e in backend.list_endpoints()]

    def test_predict_and_capture(self, backend: Any, tmp_path: Path) -> None:
        if self.plan_only:
            pytest.skip("nothing answers in plan mode")
        ep = backend.deploy(self.model_spec(tmp_path), self.endpoint_spec("contract-inv", tmp_path))
        try:
            predictor = backend.predictor("contract-inv", serializer="csv", deserializer="csv")
            result = predictor.invoke(b"1,2,3\n")
            assert result.status == 200
            if self.executes:
                assert result.body.decode().strip() == "14.5"
                backend.flush_endpoint_capture("contract-inv")
                captured = backend.store.list(ep.capture_prefix)
                assert captured, "one capture file per hour once flushed"
            transport = backend.endpoint_transport("contract-inv")
            assert callable(transport)
        finally:
            backend.delete_endpoint("contract-inv", force=True)

    def test_unknown_endpoint_is_not_found(self, backend: Any) -> None:
        if self.plan_only:
            pytest.skip("nothing can be described in plan mode")
        with pytest.raises(ResourceNotFoundError):
            backend.describe_endpoint("contract-no-such-endpoint")

    def test_generic_verbs(self, backend: Any, tmp_path: Path) -> None:
        """``session.describe/list/delete('endpoint', name)``; ``stop`` and ``logs`` refused."""
        session = self.session(backend)
        spec = self.endpoint_spec("contract-gen-ep", tmp_path)
        backend.deploy(self.model_spec(tmp_path), spec)
        self.refuses(lambda: session.stop("endpoint", "contract-gen-ep"), "stop", "delete")
        self.refuses(lambda: session.logs("endpoint", "contract-gen-ep"), "logs", "describe")
        if self.plan_only:
            session.delete("endpoint", "contract-gen-ep")
            assert self.planned(backend, "DeleteEndpoint") == [{"EndpointName": "contract-gen-ep"}]
            return
        try:
            record = session.describe("endpoint", "contract-gen-ep")
            assert record["EndpointName"] == "contract-gen-ep"
            assert record["EndpointStatus"] == "InService"
            names = [e["EndpointName"] for e in session.list("endpoint", status="InService")]
            assert "contract-gen-ep" in names
            assert session.list("endpoint", status="NoSuchStatus") == []
        finally:
            session.delete("endpoint", "contract-gen-ep", force=True)
        assert "contract-gen-ep" not in [e["EndpointName"] for e in session.list("endpoint")]


class MonitoringContract(_CapabilityContract):
    """Behaviour of a [MonitoringBackend][smkit.backends.MonitoringBackend].

    The subclass provides ``monitored_endpoint`` (an endpoint name with data capture on) and
    ``baseline_csv`` (a CSV path or ``s3://`` URI with a header row).
    """

    def test_declares_the_capability(self, backend: Any) -> None:
        from smkit.backends._protocol import Capability, MonitoringBackend

        assert backend.supports(Capability.MONITORING)
        assert isinstance(backend, MonitoringBackend)

    def test_data_quality_baseline_and_schedule(
        self, backend: Any, monitored_endpoint: str, baseline_csv: str
    ) -> None:
        from smkit.monitoring import MonitorPlan

        plan = MonitorPlan(monitored_endpoint).data_quality(baseline=baseline_csv)
        monitor = backend.apply_monitor(plan.schedule("hourly"))
        described = monitor.describe()
        assert described, "the monitor describes its schedules"
        if self.plan_only:
            ops = [r.operation for r in backend.plan()]
            assert "CreateProcessingJob" in ops
            assert "CreateDataQualityJobDefinition" in ops
            assert "CreateMonitoringSchedule" in ops
            return
        if self.executes:
            run = monitor.run_now()
            assert run.status in ("Completed", "CompletedWithViolations")
            assert run.statistics is not None
        monitor.delete()

    def test_generic_verbs_on_schedules(
        self, backend: Any, monitored_endpoint: str, baseline_csv: str
    ) -> None:
        """``session.describe/list/delete('monitoring_schedule', name)``; ``stop`` refused."""
        from smkit.monitoring import MonitorPlan

        session = self.session(backend)
        plan = MonitorPlan(monitored_endpoint).data_quality(baseline=baseline_csv)
        monitor = backend.apply_monitor(plan.schedule("hourly"))
        (name,) = monitor.describe()
        self.refuses(lambda: session.stop("monitoring_schedule", name), "stop", "delete")
        if self.plan_only:
            session.delete("monitoring_schedule", name)
            assert self.planned(backend, "DeleteMonitoringSchedule") == [
                {"MonitoringScheduleName": name}
            ]
            return
        record = session.describe("monitoring_schedule", name)
        assert record["MonitoringScheduleName"] == name
        assert record["MonitoringScheduleStatus"] in ("Pending", "Scheduled")
        listed = [s["MonitoringScheduleName"] for s in session.list("monitoring_schedule")]
        assert name in listed
        session.delete("monitoring_schedule", name)
        listed = [s["MonitoringScheduleName"] for s in session.list("monitoring_schedule")]
        assert name not in listed

    def test_unified_monitor_handle(
        self, backend: Any, monitored_endpoint: str, baseline_csv: str
    ) -> None:
        """``apply_monitor`` returns a ``Monitor``; ``run_now`` returns a ``MonitorRun``."""
        from smkit.errors import ConfigError, OrderError
        from smkit.monitoring import Monitor, MonitoringExecution, MonitorPlan, MonitorRun

        plan = MonitorPlan(monitored_endpoint).data_quality(baseline=baseline_csv)
        monitor = backend.apply_monitor(plan.schedule("hourly"))
        assert isinstance(monitor, Monitor)
        assert monitor.endpoint_name == monitored_endpoint
        assert set(monitor.schedules) == {"DataQuality"}
        with pytest.raises(OrderError):
            monitor.latest_violations()  # nothing has run yet
        with pytest.raises(ConfigError):
            monitor.run_now("-PT2H", hours=2)
        run = monitor.run_now(hours=2)
        assert isinstance(run, MonitorRun)
        (execution,) = run.executions
        assert isinstance(execution, MonitoringExecution)
        assert execution.monitor_type == "DataQuality"
        assert run.statuses == {"DataQuality": execution.status}
        if self.plan_only:
            assert execution.status == "Pending" and not run.done
            once = [
                p
                for p in self.planned(backend, "CreateMonitoringSchedule")
                if p["MonitoringScheduleConfig"]["ScheduleConfig"]["ScheduleExpression"] == "NOW"
            ]
            assert [p["MonitoringScheduleName"] for p in once] == [execution.schedule]
            later = monitor.run_now(wait=False)
            assert later.status == "InProgress" and later.violations == []
            once_names = {execution.schedule, *(e.schedule for e in later.executions)}
            monitor.delete()
            deleted = [
                p["MonitoringScheduleName"]
                for p in self.planned(backend, "DeleteMonitoringSchedule")
            ]
            # the schedule, then the one-time schedules of run_now()
            assert deleted[0] == monitor.schedules["DataQuality"]
            assert set(deleted[1:]) == once_names
            return
        assert run.done and execution.status in ("Completed", "CompletedWithViolations")
        assert run.status == execution.status
        assert run.violations == execution.violations["violations"]
        assert execution.report_uri and backend.store.list(execution.report_uri)
        assert run.report_uris == {"DataQuality": execution.report_uri}
        if execution.status == "CompletedWithViolations":
            assert run.violations
        listed = monitor.executions()
        assert all(isinstance(e, MonitoringExecution) for e in listed)
        assert execution.name in [e.name for e in listed]
        assert monitor.latest_violations() == run.violations
        monitor.delete()


class WorkflowContract(_CapabilityContract):
    """Behaviour of a [WorkflowBackend][smkit.backends.WorkflowBackend]."""

    def workflow(self) -> Any:
        from smkit.workflow import Choice, Fail, Pass, Succeed, Var, When, Workflow

        chain = Pass("Shape", parameters={"n.$": "$.n", "twice.$": "States.MathAdd($.n, $.n)"}) >> (
            Choice(
                "Big?",
                [When(Var("$.twice") >= 10, Succeed("Big"))],
                default=Fail("Small", error="Contract.Small", cause="n < 5"),
            )
        )
        return Workflow("contract-flow", chain)

    def test_declares_the_capability(self, backend: Any) -> None:
        from smkit.backends._protocol import Capability, WorkflowBackend

        assert backend.supports(Capability.WORKFLOWS)
        assert isinstance(backend, WorkflowBackend)

    def test_run_succeeds_with_output_and_history(self, backend: Any) -> None:
        execution = backend.run_workflow(self.workflow(), {"n": 6})
        if self.plan_only:
            ops = [r.operation for r in backend.plan()]
            assert "CreateStateMachine" in ops and "StartExecution" in ops
            assert execution.status == "RUNNING"
            return
        assert execution.status == "SUCCEEDED"
        assert execution.output == {"n": 6, "twice": 12}
        again = backend.describe_execution(execution.arn)
        assert again.status == "SUCCEEDED"
        events = backend.execution_history(execution.arn)
        assert events[0]["type"] == "ExecutionStarted"
        assert events[-1]["type"] == "ExecutionSucceeded"

    def test_run_fails_with_error_and_cause(self, backend: Any) -> None:
        if self.plan_only:
            pytest.skip("nothing runs in plan mode")
        execution = backend.run_workflow(self.workflow(), {"n": 1})
        assert execution.status == "FAILED"
        assert (execution.error, execution.cause) == ("Contract.Small", "n < 5")

    def test_deploy_is_idempotent(self, backend: Any) -> None:
        first = backend.deploy_workflow(self.workflow())
        second = backend.deploy_workflow(self.workflow())
        assert first == second or getattr(first, "arn", None) == getattr(second, "arn", None)

    def test_generic_verbs_on_executions(self, backend: Any) -> None:
        """``session.describe/logs('execution', arn)``; list, stop and delete refused."""
        session = self.session(backend)
        execution = backend.run_workflow(self.workflow(), {"n": 6})
        self.refuses(lambda: session.list("execution"), "list", "run_workflow")
        self.refuses(lambda: session.stop("execution", execution.arn), "stop", "describe, logs")
        self.refuses(lambda: session.delete("execution", execution.arn), "DeleteExecution")
        record = session.describe("execution", execution.arn)
        assert record["executionArn"] == execution.arn
        if self.plan_only:
            assert "DescribeExecution" in [r.operation for r in backend.plan()]
            return
        assert record["stateMachineArn"] == execution.state_machine_arn
        assert record["status"] == "SUCCEEDED"
        assert json.loads(record["output"]) == {"n": 6, "twice": 12}
        lines = session.logs("execution", execution.arn).splitlines()
        assert "ExecutionStarted" in lines[0] and "ExecutionSucceeded" in lines[-1]
        assert any("Shape" in line for line in lines), "state names appear in the log"

    def test_on_start_and_stop_execution(self, backend: Any) -> None:
        """``on_start`` gets the ARN before the wait; ``stop_execution`` ends it ``ABORTED``
        (an execution already ended keeps its status)."""
        from smkit.backends._protocol import WorkflowBackend

        assert callable(getattr(backend, "stop_execution", None))
        assert "stop_execution" in dir(WorkflowBackend)
        seen: list[str] = []
        execution = backend.run_workflow(self.workflow(), {"n": 6}, on_start=seen.append)
        assert seen == [execution.arn]
        if self.plan_only:
            backend.stop_execution(execution.arn, error="Contract.Stop", cause="test")
            assert self.planned(backend, "StopExecution") == [
                {"executionArn": execution.arn, "error": "Contract.Stop", "cause": "test"}
            ]
            return
        assert execution.status == "SUCCEEDED"
        backend.stop_execution(execution.arn)
        assert backend.describe_execution(execution.arn).status == "SUCCEEDED"

    def test_bad_input_refused_before_running(self, backend: Any) -> None:
        from smkit.errors import FormatError

        with pytest.raises(FormatError):
            backend.run_workflow(self.workflow(), "{not json")
