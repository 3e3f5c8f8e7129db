"""AWS backend verbs for serving: the ``backend.serving`` component of
`smkit.backends.aws.AwsBackend` (whose serving methods delegate to it).

``deploy`` sends CreateModel (given a list of model specs: a serial inference pipeline,
``Containers`` + ``InferenceExecutionConfig={"Mode": "Serial"}``), CreateEndpointConfig (with
``DataCaptureConfig`` when the spec captures) and CreateEndpoint, then waits
(DescribeEndpoint polling, like boto3's ``endpoint_in_service`` waiter) for ``InService``.
Invocations go through ``sagemaker-runtime`` InvokeEndpoint. Deleting sends DeleteEndpoint,
DeleteEndpointConfig and DeleteModel, refusing while a monitoring schedule uses the endpoint
unless forced. Every request goes through ``self.call`` (validated by botocore, recorded; in
plan mode only recorded).
"""

from __future__ import annotations

import io
import tarfile
import time
from pathlib import Path
from typing import Any

from smkit import sagemaker_api as api
from smkit.backends.aws.component import AwsComponent
from smkit.backends.aws.training import dependency_members
from smkit.errors import (
    AwsError,
    ConfigError,
    FormatError,
    ResourceFailedError,
    ResourceInUseError,
    ResourceNotFoundError,
    SmkitTimeoutError,
    SourceNotFoundError,
)

__all__ = ["AwsServing", "default_image_uri"]

_IMAGE_FRAMEWORK = {
    "xgboost": "xgboost",
    "sklearn": "sklearn",
    "pytorch": "pytorch",
    "autogluon": "autogluon",
}
_DEFAULT_VERSION = {"xgboost": "1.7-1", "sklearn": "1.2-1", "pytorch": "2.1", "autogluon": "1.1"}
_PY_VERSION = {"pytorch": "py310", "autogluon": "py311"}
_TRANSIENT_CODES = {"ServiceUnavailable", "InternalFailure", "InternalServerError", "InternalError"}


def default_image_uri(framework: str, version: str | None, region: str, instance_type: str) -> str:
    """The SageMaker inference image for a framework (from ``sagemaker``'s image URIs).

    Raises:
        ConfigError: the framework has no prebuilt image (give ``ModelSpec.image_uri``).
    """
    if framework not in _IMAGE_FRAMEWORK:
        raise ConfigError(
            f"no prebuilt SageMaker inference image for framework {framework!r}",
            hint="set ModelSpec.image_uri to your container image",
        )
    from smkit._compat import require

    image_uris = require("sagemaker.core.image_uris", "aws", feature="image URIs")
    kwargs: dict[str, Any] = {
        "region": region,
        "version": version or _DEFAULT_VERSION[framework],
        "instance_type": instance_type,
        "image_scope": "inference",
    }
    if framework in _PY_VERSION:
        kwargs["py_version"] = _PY_VERSION[framework]
    return str(image_uris.retrieve(_IMAGE_FRAMEWORK[framework], **kwargs))


class AwsServing(AwsComponent):
    """Serving verbs of the aws backend, a component sharing the backend as its context.

    Args:
        backend: The backend whose requester, store, bucket, region, role and plan mode it
            uses, and which the endpoint handles it returns call back.
    """

    # -- deploy --------------------------------------------------------------------------
    def _upload_source(self, model_name: str, source_dir: str, dependencies: Any = ()) -> str:
        src = Path(source_dir)
        if not src.is_dir():
            raise SourceNotFoundError(f"source_dir {source_dir!r} is not a directory")
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w:gz") as tar:
            for path in sorted(src.rglob("*")):
                if path.is_file() and "__pycache__" not in path.parts:
                    tar.add(path, arcname=path.relative_to(src).as_posix())
            for path, arcname in dependency_members(dependencies):
                tar.add(path, arcname=arcname)
        uri = f"s3://{self.bucket}/{model_name}/source/sourcedir.tar.gz"
        self.store.put_bytes(uri, buf.getvalue(), content_type="application/gzip")
        return uri

    def _model_data_uri(self, model_name: str, model_data: str) -> str:
        if model_data.startswith("s3://"):
            return model_data
        path = Path(model_data)
        if not path.is_file():
            raise SourceNotFoundError(f"model artifact {model_data!r} does not exist")
        uri = f"s3://{self.bucket}/{model_name}/model.tar.gz"
        self.store.put_file(uri, path)
        return uri

    def _code_members(self, mspec: Any) -> list[tuple[str, bytes]]:
        """``(path under code/, bytes)`` of a model's inference code: the ``source_dir``
        (a directory, or an ``s3://`` ``sourcedir.tar.gz``) or, without one, the entry point
        file alone (as the SDK does)."""
        source = mspec.source_dir
        if source and source.startswith("s3://"):
            with tarfile.open(fileobj=io.BytesIO(self.store.get_bytes(source)), mode="r:gz") as tar:
                return [
                    (m.name, tar.extractfile(m).read())  # type: ignore[union-attr]
                    for m in tar.getmembers()
                    if m.isfile()
                ]
        if source:
            src = Path(source)
            if not src.is_dir():
                raise SourceNotFoundError(f"source_dir {source!r} is not a directory")
            return [
                (p.relative_to(src).as_posix(), p.read_bytes())
                for p in sorted(src.rglob("*"))
                if p.is_file() and "__pycache__" not in p.parts
            ]
        entry = Path(mspec.entry_point)
        if not entry.is_file():
            raise SourceNotFoundError(f"entry_point {mspec.entry_point!r} does not exist")
        return [(entry.name, entry.read_bytes())]

    def _repack(self, model_name: str, mspec: Any) -> str:
        """``model.tar.gz`` with the inference code under ``code/`` (what the SDK's
        ``PyTorchModel`` uploads: the PyTorch serving toolkit loads user code only from
        ``/opt/ml/model/code`` and ignores an S3 ``SAGEMAKER_SUBMIT_DIRECTORY``); uploaded to
        ``s3://<bucket>/<model>/model.tar.gz``. Returns its URI."""
        from smkit.errors import ResourceNotFoundError

        data = mspec.model_data
        original = b""
        if data.startswith("s3://"):
            try:
                original = self.store.get_bytes(data)
            except ResourceNotFoundError:
                if not self.plan_mode:
                    raise
        else:
            path = Path(data)
            if not path.is_file():
                raise SourceNotFoundError(f"model artifact {data!r} does not exist")
            original = path.read_bytes()
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w:gz") as out:
            if original:
                try:
                    tar = tarfile.open(fileobj=io.BytesIO(original), mode="r:*")  # noqa: SIM115
                except tarfile.TarError as exc:
                    raise FormatError(
                        f"model artifact {data!r} is not a tar archive: a PyTorch model with "
                        "an entry point is repacked with code/ inside it",
                        hint="give model_data as the model.tar.gz a training job wrote",
                    ) from exc
                with tar:
                    for member in tar.getmembers():
                        if member.name.lstrip("./").split("/")[0] == "code":
                            continue  # replaced by the spec's code
                        body = tar.extractfile(member) if member.isfile() else None
                        out.addfile(member, body)
            members = self._code_members(mspec) + [
                (name, path.read_bytes())
                for path, name in dependency_members(getattr(mspec, "dependencies", ()))
            ]  # the SDK repacks dependencies= into code/ beside the script
            for rel, body in members:
                info = tarfile.TarInfo(f"code/{rel}")
                info.size = len(body)
                info.mode = 0o644
                out.addfile(info, io.BytesIO(body))
        uri = f"s3://{self.bucket}/{model_name}/model.tar.gz"
        self.store.put_bytes(uri, buf.getvalue(), content_type="application/gzip")
        return uri

    def model_request(self, mspec: Any, model_name: str, instance_type: str) -> dict[str, Any]:
        """The CreateModel request for a `smkit.serving.ModelSpec`.

        A PyTorch model with an entry point is repacked as the SDK does: ``model.tar.gz``
        gets ``code/`` (the inference script, its ``source_dir`` with any
        ``requirements.txt``), and ``SAGEMAKER_SUBMIT_DIRECTORY`` is ``/opt/ml/model/code``.
        """
        env = dict(mspec.env)
        if mspec.entry_point and mspec.framework == "pytorch":
            env.setdefault("SAGEMAKER_PROGRAM", Path(mspec.entry_point).name)
            env.setdefault("SAGEMAKER_SUBMIT_DIRECTORY", "/opt/ml/model/code")
            env.setdefault("SAGEMAKER_CONTAINER_LOG_LEVEL", "20")
            env.setdefault("SAGEMAKER_REGION", self.region)
            image = mspec.image_uri or default_image_uri(
                mspec.framework, mspec.framework_version, self.region, instance_type
            )
            return api.create_model(
                model_name,
                api.container(image, self._repack(model_name, mspec), env),
                self.role,
                vpc_config=getattr(mspec, "vpc_config", None),
                network_isolation=bool(getattr(mspec, "enable_network_isolation", False)),
            )
        if mspec.entry_point:
            env.setdefault("SAGEMAKER_PROGRAM", Path(mspec.entry_point).name)
            source = mspec.source_dir or str(Path(mspec.entry_point).resolve().parent)
            if source.startswith("s3://"):
                env.setdefault("SAGEMAKER_SUBMIT_DIRECTORY", source)
            else:
                env.setdefault(
                    "SAGEMAKER_SUBMIT_DIRECTORY",
                    self._upload_source(model_name, source, getattr(mspec, "dependencies", ())),
                )
            env.setdefault("SAGEMAKER_REGION", self.region)
        image = mspec.image_uri or default_image_uri(
            mspec.framework,
            mspec.framework_version,
            self.region,
            instance_type,
        )
        return api.create_model(
            model_name,
            api.container(image, self._model_data_uri(model_name, mspec.model_data), env),
            self.role,
            vpc_config=getattr(mspec, "vpc_config", None),
            network_isolation=bool(getattr(mspec, "enable_network_isolation", False)),
        )

    def pipeline_model_request(
        self, mspecs: list[Any], model_name: str, instance_type: str
    ) -> dict[str, Any]:
        """The CreateModel request of a serial inference pipeline: ``Containers`` (one per
        `smkit.serving.ModelSpec`, in order) and ``InferenceExecutionConfig``
        ``{"Mode": "Serial"}``; each container's answer is the next one's request."""
        containers = []
        uploaded: dict[str, str] = {}  # a local artifact shared by containers goes up once
        for i, mspec in enumerate(mspecs, start=1):
            if mspec.model_data in uploaded:
                mspec = mspec.with_(model_data=uploaded[mspec.model_data])
            req = self.model_request(mspec, f"{model_name}/container-{i}", instance_type)
            container = req["PrimaryContainer"]
            uploaded.setdefault(mspec.model_data, container["ModelDataUrl"])
            containers.append(container)
        return api.create_pipeline_model(
            model_name,
            containers,
            self.role,
            vpc_config=getattr(mspecs[0], "vpc_config", None),
            network_isolation=bool(getattr(mspecs[0], "enable_network_isolation", False)),
        )

    def deploy(self, model: Any, spec: Any, *, wait: bool = True) -> Any:
        """CreateModel, CreateEndpointConfig, CreateEndpoint; then wait for InService.

        Args:
            model: A `smkit.serving.ModelSpec` (or a trained job), or a list of them
                for a serial inference pipeline (2-15 containers, one model; the model's name
                is the first spec's ``name`` or derived from the endpoint's).
            spec: The `smkit.serving.EndpointSpec`.
            wait: Block until ``InService``.

        Returns:
            The `smkit.serving.Endpoint` handle (in plan mode, without waiting).
        """
        from smkit.serving import Endpoint, EndpointSpec, as_model_spec

        pipeline = isinstance(model, list | tuple)
        if pipeline and not 2 <= len(model) <= 15:
            raise ConfigError(
                f"a serial inference pipeline needs 2 to 15 models, got {len(model)}",
                hint="pass one ModelSpec for a single container",
            )
        mspecs = [as_model_spec(m) for m in model] if pipeline else [as_model_spec(model)]
        mspec = mspecs[0]
        if not isinstance(spec, EndpointSpec):
            raise ConfigError(f"deploy() needs an EndpointSpec, got {type(spec).__name__}")
        model_name = mspec.name or f"{spec.name[:57]}-model"
        request = (
            self.pipeline_model_request(mspecs, model_name, spec.instance_type)
            if pipeline
            else self.model_request(mspec, model_name, spec.instance_type)
        )
        self.call("sagemaker", "CreateModel", request, resource=model_name)
        capture = None
        if spec.data_capture is not None:
            dest = spec.data_capture.destination or f"s3://{self.bucket}/data-capture"
            capture = api.data_capture_config(spec.data_capture, dest)
        config = api.create_endpoint_config(
            spec.config_name,
            [
                api.production_variant(
                    spec.variant, model_name, spec.instance_count, spec.instance_type
                )
            ],
            data_capture=capture,
            kms_key=spec.kms_key,
        )
        self.call("sagemaker", "CreateEndpointConfig", config, resource=spec.config_name)
        self.call(
            "sagemaker",
            "CreateEndpoint",
            api.create_endpoint(spec.name, spec.config_name),
            resource=spec.name,
        )
        endpoint = Endpoint(self.backend, spec.name)
        if wait and not self.plan_mode:
            self.wait_endpoint(spec.name, timeout=max(spec.startup_timeout, 1800))
        return endpoint

    def wait_endpoint(self, name: str, *, timeout: float = 1800, poll: float = 15.0) -> None:
        """Poll DescribeEndpoint until ``InService`` (boto3's ``endpoint_in_service`` waiter).

        Raises:
            ResourceFailedError: it ended ``Failed`` (FailureReason attached).
            SmkitTimeoutError: not in service after ``timeout`` seconds.
        """
        deadline = time.monotonic() + timeout
        delay = 0.2
        while True:
            data = self.call("sagemaker", "DescribeEndpoint", {"EndpointName": name}, resource=name)
            status = data.get("EndpointStatus")
            if status == "InService":
                return
            if status == "Failed":
                reason = data.get("FailureReason", "no reason given")
                raise ResourceFailedError(
                    f"endpoint {name!r} failed: {reason}", name=name, reason=reason
                )
            if time.monotonic() > deadline:
                raise SmkitTimeoutError(f"endpoint {name!r} still {status} after {timeout:g}s")
            time.sleep(delay)
            delay = min(poll, delay * 2)

    # -- describe ------------------------------------------------------------------------
    def describe_endpoint(self, name: str) -> dict[str, Any]:
        """DescribeEndpoint (plus ``Url``: the endpoint's runtime invocations URL)."""
        data = self.call("sagemaker", "DescribeEndpoint", {"EndpointName": name}, resource=name)
        data = {k: v for k, v in data.items() if k != "ResponseMetadata"}
        if self.plan_mode:
            data = {"EndpointName": name, "EndpointStatus": "Creating"}
        variants = data.get("ProductionVariants") or [{}]
        data.setdefault("VariantName", variants[0].get("VariantName", "AllTraffic"))
        data["Url"] = (
            f"https://runtime.sagemaker.{self.region}.amazonaws.com/endpoints/{name}/invocations"
        )
        return data

    def list_endpoints(self, *, include_deleted: bool = False) -> list[dict[str, Any]]:
        """ListEndpoints, then DescribeEndpoint for each."""
        names: list[str] = []
        token = None
        while True:
            params: dict[str, Any] = {"MaxResults": 100}
            if token:
                params["NextToken"] = token
            resp = self.call("sagemaker", "ListEndpoints", params)
            names += [e["EndpointName"] for e in resp.get("Endpoints", [])]
            token = resp.get("NextToken")
            if not token:
                break
        return [self.describe_endpoint(n) for n in names]

    def endpoint(self, name: str) -> Any:
        """The `smkit.serving.Endpoint` handle of an existing endpoint."""
        from smkit.serving import Endpoint

        return Endpoint(self.backend, name)

    # -- invoke --------------------------------------------------------------------------
    def endpoint_transport(self, name: str) -> Any:
        """A predictor transport calling ``sagemaker-runtime`` InvokeEndpoint."""
        from smkit.serving.predictor import InvokeResult, TransientError

        def invoke(
            body: bytes,
            *,
            content_type: str,
            accept: str,
            custom_attributes: str | None = None,
            inference_id: str | None = None,
        ) -> InvokeResult:
            params: dict[str, Any] = {
                "EndpointName": name,
                "Body": body,
                "ContentType": content_type,
                "Accept": accept,
            }
            if custom_attributes:
                params["CustomAttributes"] = custom_attributes
            if inference_id:
                params["InferenceId"] = inference_id
            try:
                resp = self.call("sagemaker-runtime", "InvokeEndpoint", params, resource=name)
            except AwsError as exc:
                if exc.context.get("code") in _TRANSIENT_CODES:
                    raise TransientError(str(exc)) from exc
                raise
            raw = resp.get("Body", b"")
            out = raw.read() if hasattr(raw, "read") else bytes(raw or b"")
            headers = {
                "x-amzn-invoked-production-variant": resp.get("InvokedProductionVariant", "")
            }
            if resp.get("CustomAttributes"):
                headers["x-amzn-sagemaker-custom-attributes"] = resp["CustomAttributes"]
            return InvokeResult(
                status=200,
                body=out,
                content_type=resp.get("ContentType", accept),
                headers=headers,
            )

        return invoke

    def predictor(
        self, name: str, serializer: Any = "csv", deserializer: Any = None, **options: Any
    ) -> Any:
        """A `smkit.serving.Predictor` calling InvokeEndpoint."""
        from smkit.serving import Predictor

        return Predictor(
            name,
            self.endpoint_transport(name),
            serializer=serializer,
            deserializer=deserializer,
            **options,
        )

    def flush_endpoint_capture(self, name: str, timeout: float = 30.0) -> None:
        """On AWS SageMaker writes captures itself (within minutes); nothing to flush."""

    # -- delete --------------------------------------------------------------------------
    def _schedules_using(self, name: str) -> list[str]:
        if self.plan_mode:
            return []
        try:
            resp = self.call("sagemaker", "ListMonitoringSchedules", {"EndpointName": name})
        except AwsError:
            return []  # emulators without monitoring: nothing can use the endpoint
        return [
            s["MonitoringScheduleName"]
            for s in resp.get("MonitoringScheduleSummaries", [])
            if s.get("MonitoringScheduleStatus") not in ("Stopped", "Failed")
        ]

    def delete_endpoint(self, name: str, *, force: bool = False) -> None:
        """DeleteEndpoint, DeleteEndpointConfig and DeleteModel.

        Raises:
            ResourceInUseError: a monitoring schedule uses it and ``force`` is false.
        """
        users = self._schedules_using(name)
        if users and not force:
            raise ResourceInUseError(
                f"endpoint {name!r} is used by monitoring schedule(s) {', '.join(users)}",
                hint="delete the schedules first, or pass force=True",
                name=name,
            )
        config_name = model_names = None
        if not self.plan_mode:
            desc = self.call("sagemaker", "DescribeEndpoint", {"EndpointName": name}, resource=name)
            config_name = desc.get("EndpointConfigName")
            cfg = self.call(
                "sagemaker",
                "DescribeEndpointConfig",
                {"EndpointConfigName": config_name},
                resource=config_name,
            )
            model_names = [v["ModelName"] for v in cfg.get("ProductionVariants", [])]
        else:
            config_name = f"{name[:56]}-config"
            model_names = [f"{name[:57]}-model"]
        self.call("sagemaker", "DeleteEndpoint", {"EndpointName": name}, resource=name)
        try:
            self.call(
                "sagemaker",
                "DeleteEndpointConfig",
                {"EndpointConfigName": config_name},
                resource=config_name,
            )
        except ResourceNotFoundError:
            pass
        for m in model_names or []:
            try:
                self.call("sagemaker", "DeleteModel", {"ModelName": m}, resource=m)
            except ResourceNotFoundError:
                pass
