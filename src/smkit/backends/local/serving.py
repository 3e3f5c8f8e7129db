"""Local backend verbs for serving: the ``backend.serving`` component of
`smkit.backends.local.LocalBackend` (whose serving methods delegate to it).

``deploy(model, spec)`` records a model, an endpoint config and an endpoint (catalog kinds
``model``, ``endpoint_config``, ``endpoint``, shaped like SageMaker's Describe* responses),
then starts the endpoint's server as its own process
(`smkit.backends.local.endpoint_server`), which outlives the caller. The server
records ``Creating`` → ``InService`` with its ``Pid``, ``Port`` and ``Url``. Whenever an
endpoint is described or listed, a server process that is gone turns the record ``Failed``
with the reason.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from smkit import sagemaker_api as api
from smkit.errors import (
    ConfigError,
    ResourceExistsError,
    ResourceInUseError,
    ResourceNotFoundError,
    SmkitTimeoutError,
    SourceNotFoundError,
    ValidationError,
)
from smkit.training.record import resolve_dependencies

if TYPE_CHECKING:
    from smkit.backends.local import LocalBackend

__all__ = ["LocalServing", "endpoint_records", "pid_alive", "teardown_records"]

REGION = "local"
ACCOUNT = "000000000000"
DEFAULT_CAPTURE_BUCKET = "smkit"
GATEWAY_NAME = "local"
#: Environment variable holding the gateway's token hash for its process (never the token).
GATEWAY_TOKEN_ENV = "SMKIT_GATEWAY_TOKEN_SHA256"

log = logging.getLogger("smkit.serving")


def token_sha256(token: str | None) -> str | None:
    """The hex SHA-256 recorded for a bearer token (``None`` when there is none)."""
    return hashlib.sha256(token.encode()).hexdigest() if token else None


def warn_exposed(what: str, host: str, token: str | None) -> None:
    """Log a warning that ``what`` listens beyond this machine."""
    from smkit.serving.spec import is_loopback

    if is_loopback(host):
        return
    log.warning(
        "%s binds %s: reachable from other machines on the network%s",
        what,
        host,
        " (bearer token required)"
        if token
        else "; anyone who can reach it can invoke the model (set an auth token)",
    )


def _arn(kind: str, name: str) -> str:
    return f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:{kind}/{name.lower()}"


def pid_alive(pid: int | None, start_time: float | str | None = None) -> bool:
    """Whether process ``pid`` runs (not a zombie, and started at ``start_time`` if given,
    as `smkit.backends.local.process.process_start_time` recorded it)."""
    from smkit.backends.local.process import alive

    return alive(pid, start_time)


def endpoint_records(catalog: Any, name: str) -> tuple[dict, dict, dict]:
    """The endpoint's, its endpoint config's and its model's record data."""
    endpoint = catalog.describe("endpoint", name).data
    config = catalog.describe("endpoint_config", endpoint["EndpointConfigName"]).data
    model = catalog.describe("model", config["ProductionVariants"][0]["ModelName"]).data
    return endpoint, config, model


def teardown_records(catalog: Any, name: str, *, reason: str) -> None:
    """Mark the endpoint, its endpoint config and its model ``Deleted`` with ``reason``."""
    try:
        endpoint = catalog.describe("endpoint", name).data
    except ResourceNotFoundError:
        return
    config_name = endpoint.get("EndpointConfigName")
    model_name = endpoint.get("ModelName")
    for kind, n in (("endpoint", name), ("endpoint_config", config_name), ("model", model_name)):
        if not n:
            continue
        try:
            catalog.delete(kind, n, reason=reason)
        except ResourceNotFoundError:
            pass


def _log_tail(path: Path, n: int = 2000) -> str:
    try:
        return path.read_text(errors="replace")[-n:]
    except OSError:
        return ""


class LocalServing:
    """Serving verbs of the local backend, a component sharing the backend as its context.

    Args:
        backend: The backend whose ``root``, ``store`` and ``catalog`` it uses, and which the
            `Endpoint` handles it returns call back.
    """

    def __init__(self, backend: LocalBackend) -> None:
        self.backend = backend

    def __repr__(self) -> str:
        return f"LocalServing({self.backend!r})"

    @property
    def root(self) -> Path:
        """The backend's root directory."""
        return self.backend.root

    @property
    def store(self) -> Any:
        """The backend's object store."""
        return self.backend.store

    @property
    def catalog(self) -> Any:
        """The backend's catalog."""
        return self.backend.catalog

    # -- deploy --------------------------------------------------------------------------
    def deploy(self, model: Any, spec: Any, *, wait: bool = True) -> Any:
        """Record the model, endpoint config and endpoint, and start the endpoint's server.

        Args:
            model: A `ModelSpec` or anything with ``.model()``.
            spec: The `EndpointSpec`.
            wait: Block until ``InService`` (up to ``spec.startup_timeout``).

        Returns:
            The `Endpoint` handle.

        Raises:
            ResourceExistsError: an endpoint of that name exists (delete it first).
            SourceNotFoundError: the artifact or the inference script does not exist.
            ResourceFailedError: the server failed to start (the reason attached).
        """
        from smkit.serving import Endpoint, EndpointSpec, as_model_spec

        mspec = as_model_spec(model)
        if not isinstance(spec, EndpointSpec):
            raise ConfigError(
                f"deploy() needs an EndpointSpec, got {type(spec).__name__}",
                hint="pass smkit.EndpointSpec(name=...)",
            )
        name = spec.name
        try:
            current = self.catalog.describe("endpoint", name)
        except ResourceNotFoundError:
            current = None
        if current is not None and current.status != "Deleted":
            raise ResourceExistsError(
                f"endpoint {name!r} already exists (status {current.status})",
                hint=f"delete it first: smkit endpoints delete {name}",
                name=name,
            )
        model_url, source_dir, entry_point = self._resolve_model(mspec)
        model_name = mspec.name or f"{name[:57]}-model"
        now = datetime.now(UTC).isoformat()
        env = dict(mspec.env)
        if entry_point:
            env.setdefault("SAGEMAKER_PROGRAM", entry_point)
        if source_dir:
            env.setdefault("SAGEMAKER_SUBMIT_DIRECTORY", source_dir)
        model_data = {
            "ModelName": model_name,
            "ModelArn": _arn("model", model_name),
            "PrimaryContainer": {
                "Image": mspec.image_uri or f"smkit-local/{mspec.framework}",
                "ModelDataUrl": model_url,
                "Environment": env,
            },
            "ExecutionRoleArn": f"arn:aws:iam::{ACCOUNT}:role/smkit-local",
            "CreationTime": now,
            "Framework": mspec.framework,
            "FrameworkVersion": mspec.framework_version,
            "EntryPoint": entry_point,
            "SourceDir": source_dir,
            "ModelDataSha256": mspec.sha256,
            "InstallRequirements": mspec.install_requirements,
            "Dependencies": [str(p) for p in resolve_dependencies(mspec.dependencies)],
        }
        variant = api.production_variant(
            spec.variant, model_name, spec.instance_count, spec.instance_type
        )
        capture_req: dict[str, Any] | None = None
        capture_desc: dict[str, Any] = {"EnableCapture": False}
        if spec.data_capture is not None:
            dest = spec.data_capture.destination or f"s3://{DEFAULT_CAPTURE_BUCKET}/data-capture"
            capture_req = api.data_capture_config(spec.data_capture, dest)
            capture_desc = {
                "EnableCapture": True,
                "CaptureStatus": "Started",
                "CurrentSamplingPercentage": capture_req["InitialSamplingPercentage"],
                "DestinationS3Uri": capture_req["DestinationS3Uri"],
            }
        config_data: dict[str, Any] = {
            "EndpointConfigName": spec.config_name,
            "EndpointConfigArn": _arn("endpoint-config", spec.config_name),
            "ProductionVariants": [variant],
            "CreationTime": now,
        }
        if capture_req:
            config_data["DataCaptureConfig"] = capture_req
        log_path = self.root / "endpoints" / name / "server.log"
        endpoint_data = {
            "EndpointName": name,
            "EndpointArn": _arn("endpoint", name),
            "EndpointConfigName": spec.config_name,
            "EndpointStatus": "Creating",
            "CreationTime": now,
            "LastModifiedTime": now,
            "ProductionVariants": [
                {
                    "VariantName": spec.variant,
                    "CurrentWeight": 1.0,
                    "DesiredWeight": 1.0,
                    "CurrentInstanceCount": spec.instance_count,
                    "DesiredInstanceCount": spec.instance_count,
                }
            ],
            "DataCaptureConfig": capture_desc,
            "Url": None,
            "Pid": None,
            "Port": None,
            "ModelName": model_name,
            "Framework": mspec.framework,
            "VariantName": spec.variant,
            "IdleTimeout": spec.idle_timeout,
            "LogPath": str(log_path),
            "Host": spec.host,
            "AuthTokenSha256": token_sha256(spec.auth_token),
        }
        if spec.kms_key:
            config_data["KmsKeyId"] = spec.kms_key
        for kind, n, data in (
            ("model", model_name, model_data),
            ("endpoint_config", spec.config_name, config_data),
        ):
            try:
                self.catalog.create(kind, n, data, status="Created")
            except ResourceExistsError as exc:
                raise ResourceExistsError(
                    f"{kind} {n!r} already exists",
                    hint=f"pick another name (ModelSpec.name) or delete endpoint using {n!r}",
                    name=n,
                ) from exc
        self.catalog.create("endpoint", name, endpoint_data, status="Creating")
        warn_exposed(f"endpoint {name!r}", spec.host, spec.auth_token)
        self._launch(name, log_path, inherit_env=bool(getattr(mspec, "inherit_env", False)))
        endpoint = Endpoint(self.backend, name, auth_token=spec.auth_token)
        if wait:
            self._wait_in_service(endpoint, spec.startup_timeout, log_path)
        return endpoint

    def _resolve_model(self, mspec: Any) -> tuple[str, str | None, str | None]:
        url = mspec.model_data
        if url.startswith("s3://"):
            if not self.store.path_for(url).exists():
                raise SourceNotFoundError(
                    f"model artifact {url!r} is not in the local store",
                    hint="train a model first, or give a local path to model.tar.gz",
                    uri=url,
                )
        else:
            path = Path(url).expanduser().resolve()
            if not path.exists():
                raise SourceNotFoundError(f"model artifact {url!r} does not exist", path=url)
            url = str(path)
        source_dir = str(Path(mspec.source_dir).resolve()) if mspec.source_dir else None
        entry_point = mspec.entry_point
        if source_dir and not Path(source_dir).is_dir():
            raise SourceNotFoundError(f"source_dir {mspec.source_dir!r} is not a directory")
        if entry_point and not source_dir and Path(entry_point).is_file():
            source_dir = str(Path(entry_point).resolve().parent)
            entry_point = Path(entry_point).name
        if entry_point and source_dir and not (Path(source_dir) / entry_point).is_file():
            raise SourceNotFoundError(
                f"entry_point {entry_point!r} not found in source_dir {source_dir!r}"
            )
        return url, source_dir, entry_point

    def _launch(
        self,
        name: str,
        log_path: Path,
        module: str = "endpoint_server",
        extra_args: list[str] | None = None,
        extra_env: dict[str, str] | None = None,
        inherit_env: bool = True,
    ) -> None:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        if module == "endpoint_server":  # it runs user code: a clean environment
            from smkit.backends.local.isolation import clean_environment

            env = clean_environment(inherit=inherit_env)
            src_root = str(Path(__file__).resolve().parents[3])
            env["PYTHONPATH"] = os.pathsep.join(filter(None, [src_root, env.get("PYTHONPATH")]))
        else:
            env = dict(os.environ)
        env.setdefault("OMP_NUM_THREADS", "1")
        env["SMKIT_HOME"] = str(self.root)
        env.pop(GATEWAY_TOKEN_ENV, None)
        env.update(extra_env or {})
        args = [sys.executable, "-m", f"smkit.backends.local.{module}", "--root", str(self.root)]
        if module == "endpoint_server":
            args += ["--name", name]
        args += extra_args or []
        args.append("--daemon")
        with open(log_path, "ab") as log:
            proc = subprocess.Popen(
                args,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                close_fds=True,
                env=env,
                cwd=str(self.root),
            )
        proc.wait(timeout=60)  # the launcher forks the server and returns at once

    def _wait_in_service(self, endpoint: Any, timeout: float, log_path: Path) -> None:
        from smkit.errors import ResourceFailedError

        try:
            endpoint.wait(timeout=timeout, poll=0.05)
        except SmkitTimeoutError:
            data = self.catalog.describe("endpoint", endpoint.name).data
            self._stop_pid(data.get("Pid"), data.get("ProcessStartTime"), grace=2)
            reason = f"not InService after {timeout:g}s"
            self.catalog.update(
                "endpoint", endpoint.name, status="Failed", message=reason, FailureReason=reason
            )
            raise SmkitTimeoutError(
                f"endpoint {endpoint.name!r} {reason}; log tail:\n{_log_tail(log_path)}",
                name=endpoint.name,
            ) from None
        except ResourceFailedError as exc:
            raise ResourceFailedError(
                f"{exc.message}\nlog tail ({log_path}):\n{_log_tail(log_path)}",
                name=endpoint.name,
                reason=exc.context.get("reason"),
            ) from None

    # -- describe / list -----------------------------------------------------------------
    def _checked(self, rec: Any) -> Any:
        """Turn a record whose server is gone into ``Failed`` (with the reason)."""
        if rec.status not in ("InService", "Creating", "Updating", "Deleting"):
            return rec
        data = rec.data
        pid = data.get("Pid")
        if pid is None:
            return rec  # launching: the server has not written its pid yet
        if pid_alive(pid, data.get("ProcessStartTime")):
            return rec
        # re-read: the server may have finished cleanly between the two reads
        rec = self.catalog.describe("endpoint", rec.name)
        if rec.status not in ("InService", "Creating", "Updating"):
            return rec
        reason = (
            f"endpoint server process {pid} is gone (it died or was killed); "
            f"see its log {data.get('LogPath')}"
        )
        return self.catalog.update(
            "endpoint", rec.name, status="Failed", message=reason, FailureReason=reason
        )

    def _endpoint_dict(self, rec: Any) -> dict[str, Any]:
        data = dict(rec.data)
        data["EndpointStatus"] = rec.status
        data["LastModifiedTime"] = rec.updated_at.isoformat()
        if rec.status == "Deleted" and rec.transitions:
            data["DeletionReason"] = rec.transitions[-1].message
        if rec.status == "Failed" and not data.get("FailureReason") and rec.transitions:
            data["FailureReason"] = rec.transitions[-1].message
        return data

    def describe_endpoint(self, name: str) -> dict[str, Any]:
        """The endpoint's DescribeEndpoint-shaped record (liveness checked).

        Raises:
            ResourceNotFoundError: no endpoint of that name was ever created.
        """
        return self._endpoint_dict(self._checked(self.catalog.describe("endpoint", name)))

    def list_endpoints(self, *, include_deleted: bool = False) -> list[dict[str, Any]]:
        """Every endpoint's record, newest first (liveness checked)."""
        recs = self.catalog.list("endpoint", include_deleted=include_deleted)
        return [self._endpoint_dict(self._checked(r)) for r in recs]

    def endpoint(self, name: str, auth_token: str | None = None) -> Any:
        """The `Endpoint` handle of an existing endpoint.

        Args:
            name: The endpoint.
            auth_token: Its bearer token, when it was deployed with one.
        """
        from smkit.serving import Endpoint

        self.catalog.describe("endpoint", name)
        return Endpoint(self.backend, name, auth_token=auth_token)

    # -- invoke --------------------------------------------------------------------------
    def _url(self, name: str) -> str:
        try:
            data = self.describe_endpoint(name)
        except ResourceNotFoundError:
            raise ValidationError(
                f"Endpoint {name} of account {ACCOUNT} not found.",
                hint="list endpoints with `smkit endpoints list`",
                name=name,
            ) from None
        if data["EndpointStatus"] != "InService" or not data.get("Url"):
            why = data.get("FailureReason") or data.get("DeletionReason")
            raise ValidationError(
                f"endpoint {name!r} is {data['EndpointStatus']}, not InService"
                + (f": {why}" if why else ""),
                hint="deploy it again",
                name=name,
            )
        return str(data["Url"])

    def endpoint_transport(
        self, name: str, timeout: float = 65.0, auth_token: str | None = None
    ) -> Any:
        """A predictor transport posting to the endpoint's ``/invocations``.

        Args:
            name: The endpoint.
            timeout: Seconds per request.
            auth_token: Bearer token of an endpoint deployed with one (default: the
                ``SMKIT_ENDPOINT_TOKEN`` environment variable).
        """
        import httpx

        from smkit.serving.predictor import InvokeResult, TransientError

        url = self._url(name) + "/invocations"
        client = httpx.Client(timeout=timeout, trust_env=False)
        auth = _auth_headers(auth_token)

        def invoke(
            body: bytes,
            *,
            content_type: str,
            accept: str,
            custom_attributes: str | None = None,
            inference_id: str | None = None,
        ) -> InvokeResult:
            headers = {"Content-Type": content_type, "Accept": accept, **auth}
            if custom_attributes:
                headers["X-Amzn-SageMaker-Custom-Attributes"] = custom_attributes
            if inference_id:
                headers["X-Amzn-SageMaker-Inference-Id"] = inference_id
            try:
                resp = client.post(url, content=body, headers=headers)
            except (httpx.TransportError, OSError) as exc:
                raise TransientError(f"{type(exc).__name__}: {exc}", url=url) from exc
            if resp.status_code >= 300 and resp.status_code not in (401, 413):
                # the container's error answer, reported as the Runtime API does (413: the
                # Runtime refuses large bodies itself; 401: smkit's own token check)
                from smkit.backends.local.runtime_errors import model_error_body

                doc = model_error_body(name, resp.status_code, resp.content)
                return InvokeResult(
                    status=424,
                    body=json.dumps(doc).encode(),
                    content_type="application/json",
                    headers=dict(resp.headers),
                )
            return InvokeResult(
                status=resp.status_code,
                body=resp.content,
                content_type=resp.headers.get("content-type", "application/octet-stream"),
                headers=dict(resp.headers),
            )

        invoke.close = client.close  # type: ignore[attr-defined]
        return invoke

    def predictor(
        self,
        name: str,
        serializer: Any = "csv",
        deserializer: Any = None,
        auth_token: str | None = None,
        **options: Any,
    ) -> Any:
        """A `Predictor` for endpoint ``name``.

        Args:
            auth_token: Bearer token of an endpoint deployed with one (default: the
                ``SMKIT_ENDPOINT_TOKEN`` environment variable).

        Raises:
            ValidationError: no such endpoint, or it is not in service.
        """
        from smkit.serving import Predictor

        return Predictor(
            name,
            self.endpoint_transport(name, auth_token=auth_token),
            serializer=serializer,
            deserializer=deserializer,
            **options,
        )

    def flush_endpoint_capture(
        self, name: str, timeout: float = 30.0, auth_token: str | None = None
    ) -> None:
        """Block until the endpoint's capture queue so far is in the store.

        An endpoint no longer in service flushed its queue when it stopped.
        """
        import httpx

        data = self.describe_endpoint(name)
        if not (data.get("DataCaptureConfig") or {}).get("EnableCapture"):
            return
        if data["EndpointStatus"] != "InService":
            return
        resp = httpx.post(
            str(data["Url"]) + "/_smkit/flush",
            timeout=timeout + 5,
            trust_env=False,
            headers=_auth_headers(auth_token),
        )
        if resp.status_code == 401:
            raise ValidationError(
                f"endpoint {name!r} requires a bearer token",
                hint="pass auth_token=... or set SMKIT_ENDPOINT_TOKEN",
                name=name,
            )
        if resp.status_code != 200:
            raise SmkitTimeoutError(f"endpoint {name!r} capture flush failed: {resp.text}")

    # -- delete --------------------------------------------------------------------------
    def _schedules_using(self, name: str) -> list[str]:
        try:
            schedules = self.catalog.list("monitoring_schedule")
        except Exception:
            return []
        return [
            s.name
            for s in schedules
            if s.status not in ("Deleted", "Stopped") and _mentions_endpoint(s.data, name)
        ]

    @staticmethod
    def _stop_pid(pid: int | None, start_time: float | None, grace: float = 30.0) -> None:
        if not pid_alive(pid, start_time):
            return
        assert pid is not None
        try:
            os.kill(int(pid), signal.SIGTERM)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            if not pid_alive(pid, start_time):
                return
            time.sleep(0.05)
        try:
            if os.getpgid(int(pid)) == int(pid):  # a server leading its group: its workers too
                os.killpg(int(pid), signal.SIGKILL)
            else:
                os.kill(int(pid), signal.SIGKILL)
        except ProcessLookupError:
            pass

    def delete_endpoint(self, name: str, *, force: bool = False) -> None:
        """Stop the endpoint's server (draining its capture) and delete the endpoint,
        its endpoint config and its model.

        Raises:
            ResourceNotFoundError: no such endpoint (or already deleted).
            ResourceInUseError: a monitoring schedule uses it and ``force`` is false.
        """
        rec = self.catalog.describe("endpoint", name)
        if rec.status == "Deleted":
            raise ResourceNotFoundError(f"endpoint {name!r} is already deleted", name=name)
        users = self._schedules_using(name)
        if users and not force:
            raise ResourceInUseError(
                f"endpoint {name!r} is used by monitoring schedule(s) {', '.join(users)}",
                hint="stop or delete the schedule first, or delete with force=True (--force)",
                name=name,
                schedules=users,
            )
        if rec.status != "Deleting":
            try:
                self.catalog.update("endpoint", name, status="Deleting", message="delete requested")
            except ValidationError:
                pass
        self._stop_pid(rec.data.get("Pid"), rec.data.get("ProcessStartTime"))
        teardown_records(self.catalog, name, reason="deleted on request")
        import shutil

        # the extracted model (possibly large) goes with the endpoint; logs stay
        shutil.rmtree(self.root / "endpoints" / name / "model", ignore_errors=True)

    # -- gateway -------------------------------------------------------------------------
    def gateway(
        self, timeout: float = 30.0, *, host: str = "127.0.0.1", auth_token: str | None = None
    ) -> str:
        """The URL of the local SageMaker Runtime gateway (started if not running).

        Args:
            timeout: Seconds to wait for it to start.
            host: Address it binds when started (default: this machine only; any other
                address logs a warning).
            auth_token: Bearer token it then requires (``Authorization: Bearer ...``; only its
                SHA-256 is recorded). The header is passed on to the endpoints, so an
                endpoint with a token needs the same one.
        """
        from smkit.serving.spec import check_host

        check_host(host)
        try:
            rec = self.catalog.describe("gateway", GATEWAY_NAME)
        except ResourceNotFoundError:
            rec = None
        if rec is not None and rec.status == "InService":
            if pid_alive(rec.data.get("Pid"), rec.data.get("ProcessStartTime")):
                return str(rec.data["Url"])
            self.catalog.update(
                "gateway", GATEWAY_NAME, status="Failed", message="gateway process is gone"
            )
        log_path = self.root / "gateway" / "gateway.log"
        warn_exposed("the local gateway", host, auth_token)
        digest = token_sha256(auth_token)
        self._launch(
            GATEWAY_NAME,
            log_path,
            module="gateway",
            extra_args=["--host", host],
            extra_env={GATEWAY_TOKEN_ENV: digest} if digest else None,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                rec = self.catalog.describe("gateway", GATEWAY_NAME)
            except ResourceNotFoundError:
                rec = None
            if (
                rec is not None
                and rec.status == "InService"
                and rec.data.get("Url")
                and pid_alive(rec.data.get("Pid"), rec.data.get("ProcessStartTime"))
            ):
                return str(rec.data["Url"])
            time.sleep(0.05)
        raise SmkitTimeoutError(
            f"the local gateway did not start in {timeout:g}s; log tail:\n{_log_tail(log_path)}"
        )

    def stop_gateway(self) -> None:
        """Stop the local gateway (no error when none runs)."""
        try:
            rec = self.catalog.describe("gateway", GATEWAY_NAME)
        except ResourceNotFoundError:
            return
        if rec.status == "Deleted":
            return
        self._stop_pid(rec.data.get("Pid"), rec.data.get("ProcessStartTime"), grace=10)
        self.catalog.delete("gateway", GATEWAY_NAME, reason="stopped on request")


def _auth_headers(token: str | None) -> dict[str, str]:
    token = token or os.environ.get("SMKIT_ENDPOINT_TOKEN")
    return {"Authorization": f"Bearer {token}"} if token else {}


def _mentions_endpoint(data: Any, name: str) -> bool:
    if isinstance(data, dict):
        if data.get("EndpointName") == name:
            return True
        return any(_mentions_endpoint(v, name) for v in data.values())
    if isinstance(data, list):
        return any(_mentions_endpoint(v, name) for v in data)
    return False
