"""AWS Lambda (REST JSON, ``/2015-03-31/functions...``): uploaded zips run by smkit's local
Lambda runtime (`smkit.backends.local.lambda_runtime`).

``CreateFunction`` answers ``State: Pending``; a worker extracts the zip and imports the
handler, then the function is ``Active`` (or ``Failed`` with the import error as
``StateReason``), as Lambda does. ``UpdateFunctionCode`` moves ``LastUpdateStatus`` through
``InProgress`` to ``Successful``. ``Invoke`` runs ``handler(event, context)`` in this process
with the function's timeout, memory and environment; a handler error is answered 200 with
``X-Amz-Function-Error: Unhandled`` and Lambda's error payload. Each function's module is
loaded under its own name, so two functions may both ship ``lambda_function.py``.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import io
import json
import re
import shutil
import sys
import threading
import uuid
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from smkit.emulator.operations import operation
from smkit.emulator.protocol import ACCOUNT, EmulatorError, shape_output, validate_request

__all__ = ["LambdaEmulator"]

SERVICE = "lambda"
#: Seconds a function stays Pending (or an update InProgress) at least: Lambda takes seconds,
#: and code that does not wait for ``Active`` / ``Successful`` must see it here too.
SETTLE_SECONDS = 1.0
_BASE = "/2015-03-31/functions"
_ROUTES: list[tuple[str, re.Pattern[str], str]] = [
    ("POST", re.compile(rf"^{_BASE}/?$"), "CreateFunction"),
    ("GET", re.compile(rf"^{_BASE}/?$"), "ListFunctions"),
    ("GET", re.compile(rf"^{_BASE}/(?P<name>[^/]+)/?$"), "GetFunction"),
    ("DELETE", re.compile(rf"^{_BASE}/(?P<name>[^/]+)/?$"), "DeleteFunction"),
    ("GET", re.compile(rf"^{_BASE}/(?P<name>[^/]+)/configuration/?$"), "GetFunctionConfiguration"),
    ("PUT", re.compile(rf"^{_BASE}/(?P<name>[^/]+)/code/?$"), "UpdateFunctionCode"),
    (
        "PUT",
        re.compile(rf"^{_BASE}/(?P<name>[^/]+)/configuration/?$"),
        "UpdateFunctionConfiguration",
    ),
    ("POST", re.compile(rf"^{_BASE}/(?P<name>[^/]+)/invocations/?$"), "Invoke"),
]


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "+0000"


def _name_of(value: str) -> str:
    """A function name from a name, a partial or a full ARN (``...:function:NAME[:qualifier]``)."""
    value = unquote(value)
    if ":function:" in value:
        return value.split(":function:", 1)[1].split(":", 1)[0]
    return value


class _Function:
    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config
        self.code_dir: Path | None = None
        self.handler: Any = None
        self.ready = threading.Event()


class LambdaEmulator:
    """Lambda functions of the emulator.

    Args:
        root: The emulator's state directory (functions' code below ``root/lambda``).
        bridge: The `smkit.emulator.aws.MotoBridge` (code given as S3 objects).
    """

    def __init__(self, root: Path, bridge: Any) -> None:
        self.root = Path(root)
        self.bridge = bridge
        self.lock = threading.RLock()
        self.functions: dict[str, _Function] = {}
        self.region = "us-east-1"

    # -- routing -------------------------------------------------------------------------------
    def handle(
        self, method: str, path: str, headers: dict[str, str], body: bytes, region: str
    ) -> tuple[int, dict[str, str], bytes]:
        """Answer one Lambda request: ``(status, headers, body)``."""
        self.region = region
        for verb, rx, op in _ROUTES:
            m = rx.match(path)
            if m and verb == method:
                name = _name_of(m.group("name")) if "name" in rx.groupindex else ""
                try:
                    return getattr(self, f"_{op}")(name, headers, body)
                except EmulatorError as exc:
                    return _error(exc)
        return _error(
            EmulatorError(
                "UnknownOperationException",
                f"{method} {path}: this Lambda operation is not supported by the smkit emulator",
                status=400,
            )
        )

    def arn(self, name: str) -> str:
        """The function's ARN."""
        return f"arn:aws:lambda:{self.region}:{ACCOUNT}:function:{name}"

    def _get(self, name: str) -> _Function:
        fn = self.functions.get(name)
        if fn is None:
            raise EmulatorError(
                "ResourceNotFoundException",
                f"Function not found: {self.arn(name)}",
                status=404,
                Type="User",
            )
        return fn

    # -- operations ------------------------------------------------------------------------------
    @operation(SERVICE, "CreateFunction")
    def _CreateFunction(self, _: str, headers: dict[str, str], body: bytes) -> Any:  # noqa: N802
        """Records the function (State Pending), extracts its zip and imports its handler
        (Active, or Failed with the import error)."""
        params = _json(body)
        validate_request(SERVICE, "CreateFunction", params)
        name = params["FunctionName"]
        if not str(params.get("Runtime", "python")).startswith("python"):
            raise EmulatorError(
                "InvalidParameterValueException",
                f"Runtime {params.get('Runtime')!r}: the emulator runs Python functions",
            )
        zipped = self._code_bytes(params.get("Code") or {})
        with self.lock:
            if name in self.functions:
                raise EmulatorError(
                    "ResourceConflictException",
                    f"Function already exist: {name}",
                    status=409,
                    Type="User",
                )
            config = {
                "FunctionName": name,
                "FunctionArn": self.arn(name),
                "Runtime": params.get("Runtime", "python3.12"),
                "Role": params["Role"],
                "Handler": params.get("Handler", "lambda_function.lambda_handler"),
                "CodeSize": len(zipped),
                "CodeSha256": base64.b64encode(hashlib.sha256(zipped).digest()).decode(),
                "Description": params.get("Description", ""),
                "Timeout": int(params.get("Timeout", 3)),
                "MemorySize": int(params.get("MemorySize", 128)),
                "LastModified": _now(),
                "Version": "$LATEST",
                "Environment": {"Variables": dict((params.get("Environment") or {}).get(
                    "Variables") or {})},
                "State": "Pending",
                "StateReason": "The function is being created.",
                "StateReasonCode": "Creating",
                "PackageType": "Zip",
                "Architectures": params.get("Architectures") or ["x86_64"],
            }
            fn = _Function(config)
            self.functions[name] = fn
            answer = _ok(201, shape_output(SERVICE, "CreateFunction", dict(config)))
        threading.Thread(
            target=self._load, args=(fn, zipped, "create"), daemon=True, name=f"lambda-{name}"
        ).start()
        return answer

    @operation(SERVICE, "GetFunction")
    def _GetFunction(self, name: str, headers: dict[str, str], body: bytes) -> Any:  # noqa: N802
        """Configuration (State, LastUpdateStatus) and code location."""
        fn = self._get(name)
        doc = {
            "Configuration": dict(fn.config),
            "Code": {"RepositoryType": "S3", "Location": f"file://{fn.code_dir or ''}"},
        }
        return _ok(200, shape_output(SERVICE, "GetFunction", doc))

    @operation(SERVICE, "GetFunctionConfiguration")
    def _GetFunctionConfiguration(  # noqa: N802
        self, name: str, headers: dict[str, str], body: bytes
    ) -> Any:
        """The function's configuration (State, LastUpdateStatus...)."""
        fn = self._get(name)
        return _ok(200, shape_output(SERVICE, "GetFunctionConfiguration", dict(fn.config)))

    @operation(SERVICE, "ListFunctions")
    def _ListFunctions(self, _: str, headers: dict[str, str], body: bytes) -> Any:  # noqa: N802
        """Every function's configuration."""
        items = [dict(f.config) for f in self.functions.values()]
        return _ok(200, shape_output(SERVICE, "ListFunctions", {"Functions": items}))

    @operation(SERVICE, "DeleteFunction")
    def _DeleteFunction(self, name: str, headers: dict[str, str], body: bytes) -> Any:  # noqa: N802
        """Forgets the function and its code."""
        self._get(name)
        with self.lock:
            fn = self.functions.pop(name)
        if fn.code_dir is not None:
            shutil.rmtree(fn.code_dir, ignore_errors=True)
        return 204, {}, b""

    @operation(SERVICE, "UpdateFunctionCode")
    def _UpdateFunctionCode(  # noqa: N802
        self, name: str, headers: dict[str, str], body: bytes
    ) -> Any:
        """New code: LastUpdateStatus InProgress, then Successful (or Failed) once imported."""
        fn = self._get(name)
        params = _json(body)
        zipped = self._code_bytes(params)
        with self.lock:
            if fn.config.get("LastUpdateStatus") == "InProgress" or fn.config["State"] == "Pending":
                raise EmulatorError(
                    "ResourceConflictException",
                    "The operation cannot be performed at this time. An update is in progress "
                    f"for resource: {fn.config['FunctionArn']}",
                    status=409,
                    Type="User",
                )
            fn.config.update(
                LastUpdateStatus="InProgress",
                LastUpdateStatusReason="The function is being updated.",
                LastUpdateStatusReasonCode="Creating",
                CodeSize=len(zipped),
                CodeSha256=base64.b64encode(hashlib.sha256(zipped).digest()).decode(),
                LastModified=_now(),
            )
            fn.ready.clear()
            answer = _ok(200, shape_output(SERVICE, "UpdateFunctionCode", dict(fn.config)))
        threading.Thread(
            target=self._load, args=(fn, zipped, "update"), daemon=True, name=f"lambda-{name}"
        ).start()
        return answer

    @operation(SERVICE, "UpdateFunctionConfiguration")
    def _UpdateFunctionConfiguration(  # noqa: N802
        self, name: str, headers: dict[str, str], body: bytes
    ) -> Any:
        """Timeout, memory, environment, handler, role, description; a conflict (409) while
        an update is in progress, as Lambda answers."""
        fn = self._get(name)
        params = _json(body)
        validate_request(SERVICE, "UpdateFunctionConfiguration", {**params, "FunctionName": name})
        with self.lock:
            if fn.config.get("LastUpdateStatus") == "InProgress" or fn.config["State"] == "Pending":
                raise EmulatorError(
                    "ResourceConflictException",
                    "The operation cannot be performed at this time. An update is in progress "
                    f"for resource: {fn.config['FunctionArn']}",
                    status=409,
                    Type="User",
                )
            for key in ("Timeout", "MemorySize", "Role", "Description", "Runtime"):
                if key in params:
                    fn.config[key] = params[key]
            if "Environment" in params:
                fn.config["Environment"] = {
                    "Variables": dict((params["Environment"] or {}).get("Variables") or {})
                }
            fn.config["LastModified"] = _now()
            new_handler = params.get("Handler")
            if new_handler and new_handler != fn.config["Handler"] and fn.code_dir is not None:
                fn.config["Handler"] = new_handler
                fn.handler = _import_handler(
                    fn.code_dir, new_handler, f"{name}_{uuid.uuid4().hex[:8]}"
                )
            fn.config["LastUpdateStatus"] = "Successful"
            answer = _ok(
                200, shape_output(SERVICE, "UpdateFunctionConfiguration", dict(fn.config))
            )
        return answer

    @operation(SERVICE, "Invoke")
    def _Invoke(self, name: str, headers: dict[str, str], body: bytes) -> Any:  # noqa: N802
        """Runs the handler with the local Lambda runtime (RequestResponse, Event, DryRun);
        errors as Lambda's FunctionError payloads."""
        fn = self._get(name)
        if fn.config["State"] != "Active":
            raise EmulatorError(
                "ResourceConflictException",
                "The operation cannot be performed at this time. The function is currently in "
                f"the following state: {fn.config['State']}",
                status=409,
                Type="User",
            )
        kind = headers.get("x-amz-invocation-type", "RequestResponse")
        if kind == "DryRun":
            return 204, {}, b""
        try:
            event = json.loads(body) if body else {}
        except ValueError:
            raise EmulatorError(
                "InvalidRequestContentException",
                "Could not parse request body into json",
                status=400,
                Type="User",
            ) from None
        if kind == "Event":
            threading.Thread(target=self.call, args=(name, event), daemon=True).start()
            return 202, {}, b""
        out_headers = {"Content-Type": "application/json", "X-Amz-Executed-Version": "$LATEST"}
        try:
            result = self.call(name, event)
        except _HandlerError as exc:
            out_headers["X-Amz-Function-Error"] = "Unhandled"
            return 200, out_headers, json.dumps(exc.payload).encode()
        return 200, out_headers, json.dumps(result).encode()

    # -- running -------------------------------------------------------------------------------
    def call(self, name: str, event: Any) -> Any:
        """Run the function on ``event`` and return its result.

        Raises:
            _HandlerError: the handler raised or timed out (Lambda's error payload attached).
        """
        from smkit.backends.local import lambda_runtime

        fn = self._get(name)
        fn.ready.wait(60)
        cfg = fn.config
        try:
            return lambda_runtime.invoke(
                fn.handler,
                event,
                function_name=name,
                timeout=float(cfg["Timeout"]),
                memory=int(cfg["MemorySize"]),
                environment=dict(cfg["Environment"]["Variables"]),
                region=self.region,
                account=ACCOUNT,
            )
        except lambda_runtime.LambdaTimeout as exc:
            raise _HandlerError(
                {"errorType": "Sandbox.Timedout", "errorMessage": str(exc)}
            ) from None
        except lambda_runtime.LambdaFunctionError as exc:
            raise _HandlerError(exc.payload) from None

    def handler_of(self, name: str) -> Any:
        """A plain ``(event, context)`` callable running the function (for Step Functions)."""
        fn = self._get(name)
        fn.ready.wait(60)
        return fn.handler

    def _code_bytes(self, code: dict[str, Any]) -> bytes:
        if code.get("ZipFile"):
            return base64.b64decode(code["ZipFile"])
        if code.get("S3Bucket") and code.get("S3Key"):
            return self.bridge.get_bytes(f"s3://{code['S3Bucket']}/{code['S3Key']}")
        raise EmulatorError(
            "InvalidParameterValueException",
            "Code: give ZipFile or S3Bucket and S3Key (container images are not emulated)",
        )

    def _load(self, fn: _Function, zipped: bytes, why: str) -> None:
        import time

        settle = time.monotonic() + SETTLE_SECONDS
        try:
            self._extract_and_import(fn, zipped, why)
        finally:
            time.sleep(max(0.0, settle - time.monotonic()))
            self._settle(fn)

    def _settle(self, fn: _Function) -> None:
        with self.lock:
            pending = fn.config.pop("_pending", None)
            if pending:
                fn.config.update(pending)
        fn.ready.set()

    def _extract_and_import(self, fn: _Function, zipped: bytes, why: str) -> None:
        name = fn.config["FunctionName"]
        digest = hashlib.sha256(zipped).hexdigest()[:16]
        target = self.root / "lambda" / name / digest
        try:
            shutil.rmtree(target, ignore_errors=True)
            target.mkdir(parents=True)
            with zipfile.ZipFile(io.BytesIO(zipped)) as zf:
                for member in zf.namelist():
                    dest = (target / member).resolve()
                    if not dest.is_relative_to(target.resolve()):
                        raise ValueError(f"zip entry {member!r} escapes the code directory")
                zf.extractall(target)
            handler = _import_handler(target, fn.config["Handler"], f"{name}_{digest}")
        except Exception as exc:
            reason = f"{type(exc).__name__}: {exc}"
            with self.lock:
                if why == "create":
                    fn.config["_pending"] = {
                        "State": "Failed",
                        "StateReason": reason,
                        "StateReasonCode": "InvalidZipFileException",
                    }
                else:
                    fn.config["_pending"] = {
                        "LastUpdateStatus": "Failed",
                        "LastUpdateStatusReason": reason,
                        "LastUpdateStatusReasonCode": "InvalidZipFileException",
                    }
            return
        with self.lock:
            old = fn.code_dir
            fn.code_dir, fn.handler = target, handler
            for key in ("StateReason", "StateReasonCode", "LastUpdateStatusReason",
                        "LastUpdateStatusReasonCode"):
                fn.config.pop(key, None)
            fn.config["_pending"] = {"State": "Active", "LastUpdateStatus": "Successful"}
        if old is not None and old != target:
            shutil.rmtree(old, ignore_errors=True)


class _HandlerError(Exception):
    def __init__(self, payload: dict[str, Any]) -> None:
        super().__init__(payload.get("errorMessage", ""))
        self.payload = payload


def _import_handler(code: Path, handler: str, unique: str) -> Any:
    """``module.function`` from ``code``: the module loaded under a name of its own."""
    module_path, _, attr = handler.rpartition(".")
    if not module_path or not attr:
        raise ValueError(f"Handler {handler!r}: expected 'module.function'")
    file = code / (module_path.replace(".", "/") + ".py")
    if not file.is_file():
        raise ValueError(f"Unable to import module '{module_path}': no {file.name} in the zip")
    mod_name = f"_smkit_lambda_{re.sub(r'[^A-Za-z0-9_]', '_', unique)}"
    spec = importlib.util.spec_from_file_location(mod_name, file)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # the function's own top-level modules (its siblings) are imported fresh and kept out of
    # sys.modules afterwards, so another function (or a new version) gets its own copies
    own = {p.stem for p in code.iterdir() if p.suffix == ".py"} | {
        p.name for p in code.iterdir() if p.is_dir() and (p / "__init__.py").is_file()
    }

    def ours(mod: str) -> bool:
        return mod.split(".", 1)[0] in own

    saved = {m: sys.modules.pop(m) for m in list(sys.modules) if ours(m)}
    sys.path.insert(0, str(code))
    try:
        spec.loader.exec_module(module)
    finally:
        try:
            sys.path.remove(str(code))
        except ValueError:
            pass
        for m in [m for m in sys.modules if ours(m)]:
            del sys.modules[m]
        sys.modules.update(saved)
    fn = getattr(module, attr, None)
    if not callable(fn):
        raise ValueError(f"Handler '{attr}' missing on module '{module_path}'")
    return fn


def _json(body: bytes) -> dict[str, Any]:
    try:
        doc = json.loads(body or b"{}")
    except ValueError:
        raise EmulatorError("SerializationException", "the body is not JSON") from None
    if not isinstance(doc, dict):
        raise EmulatorError("SerializationException", "the body is not a JSON object")
    return doc


def _ok(status: int, doc: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
    return status, {"Content-Type": "application/json"}, json.dumps(doc).encode()


def _error(exc: EmulatorError) -> tuple[int, dict[str, str], bytes]:
    body = {"Type": exc.extra.get("Type", "User"), "message": exc.message}
    headers = {"Content-Type": "application/json", "x-amzn-ErrorType": exc.code}
    return exc.status, headers, json.dumps(body).encode()
