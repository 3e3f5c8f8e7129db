"""``smkit deploy`` and ``smkit endpoints list|invoke|delete|gateway``."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from smkit.backends._protocol import Capability
from smkit.commands._common import (
    add_backend_args,
    example,
    parse_pairs,
    print_json,
    session_from_args,
)
from smkit.errors import ConfigError

ORDER = 40


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``deploy`` and ``endpoints``."""
    p = sub.add_parser(
        "deploy",
        help="serve a model artifact as a real-time endpoint and print its URL",
        description="Deploy a model.tar.gz (local path or s3:// URI) behind an endpoint. "
        "Locally the endpoint is its own process on 127.0.0.1 that keeps running after this "
        "command returns; delete it with `smkit endpoints delete NAME`.",
        **example(
            "smkit deploy --model-data out/model.tar.gz --framework xgboost --name wine "
            "--capture-percentage 100"
        ),
    )
    p.add_argument("--model-data", required=True, help="model.tar.gz path or s3:// URI")
    p.add_argument(
        "--framework",
        default="custom",
        help="xgboost, sklearn, pytorch, autogluon or custom (needs --entry-point)",
    )
    p.add_argument("--framework-version", help="framework version (picks the AWS image)")
    p.add_argument("--entry-point", help="inference script with model_fn/input_fn/...")
    p.add_argument("--source-dir", help="directory holding the entry point")
    p.add_argument("--image-uri", help="container image (aws)")
    p.add_argument("--sha256", help="expected SHA-256 of the artifact (checked before loading)")
    p.add_argument("--name", required=True, help="endpoint name")
    p.add_argument("--variant", default="AllTraffic", help="production variant name")
    p.add_argument("--instance-type", default="ml.m5.large", help="instance type (aws)")
    p.add_argument(
        "--capture-percentage", type=float, help="enable data capture at this sampling %%"
    )
    p.add_argument("--capture-destination", help="s3:// prefix for captured data")
    p.add_argument("--idle-timeout", type=float, help="delete after this many idle seconds")
    p.add_argument("--env", action="append", metavar="KEY=VALUE", help="container environment")
    p.add_argument(
        "--dependency",
        action="append",
        metavar="PATH",
        help="directory or file served next to the entry point (the SDK's dependencies=)",
    )
    p.add_argument(
        "--no-requirements",
        action="store_true",
        help="local: do not pip install code/requirements.txt (the toolkit always does)",
    )
    _add_exposure_args(p, "the endpoint")
    p.add_argument("--json", action="store_true", help="print the endpoint record as JSON")
    add_backend_args(p)
    p.set_defaults(func=_deploy)

    ep = sub.add_parser(
        "endpoints",
        help="list, invoke and delete endpoints; run the local SageMaker Runtime gateway",
        description="Manage real-time endpoints.",
        **example("smkit endpoints invoke wine --content-type text/csv --body '7.4,0.7,...'"),
    )
    esub = ep.add_subparsers(dest="endpoints_command", metavar="ACTION")

    ls = esub.add_parser(
        "list",
        help="endpoints with status, URL and capture destination",
        **example("smkit endpoints list --json"),
    )
    ls.add_argument("--all", action="store_true", help="include deleted endpoints (and why)")
    ls.add_argument("--json", action="store_true", help="print JSON")
    add_backend_args(ls)
    ls.set_defaults(func=_list)

    inv = esub.add_parser(
        "invoke",
        help="send one request and print the answer",
        **example("smkit endpoints invoke wine --content-type text/csv --body '1,2,3'"),
    )
    inv.add_argument("name", help="endpoint name")
    inv.add_argument("--content-type", default="text/csv", help="request content type")
    inv.add_argument("--accept", help="response type (default: the content type's)")
    src = inv.add_mutually_exclusive_group(required=True)
    src.add_argument("--body", help="request body text")
    src.add_argument("--body-file", help="read the body from this file ('-' for stdin)")
    inv.add_argument("--custom-attributes", help="X-Amzn-SageMaker-Custom-Attributes")
    inv.add_argument("--inference-id", help="X-Amzn-SageMaker-Inference-Id")
    add_backend_args(inv)
    inv.set_defaults(func=_invoke)

    rm = esub.add_parser(
        "delete",
        help="delete an endpoint, its endpoint config and its model",
        **example("smkit endpoints delete wine"),
    )
    rm.add_argument("name", help="endpoint name")
    rm.add_argument(
        "--force", action="store_true", help="delete even if a monitoring schedule uses it"
    )
    add_backend_args(rm)
    rm.set_defaults(func=_delete)

    gw = esub.add_parser(
        "gateway",
        help="print the URL of the local SageMaker Runtime gateway (started if needed)",
        **example(
            "smkit endpoints gateway  # then boto3.client('sagemaker-runtime', endpoint_url=URL)"
        ),
    )
    gw.add_argument("--stop", action="store_true", help="stop the gateway instead")
    _add_exposure_args(gw, "the gateway")
    add_backend_args(gw)
    gw.set_defaults(func=_gateway)
    ep.set_defaults(func=lambda args: (ep.print_help(), 2)[1])


def _add_exposure_args(p: argparse.ArgumentParser, what: str) -> None:
    p.add_argument(
        "--host",
        default="127.0.0.1",
        help=f"address {what} binds locally (default 127.0.0.1: this machine only; "
        "anything else logs a warning)",
    )
    p.add_argument(
        "--auth-token-env",
        metavar="VAR",
        help=f"environment variable holding the bearer token {what} requires "
        "(the token never goes on the command line; clients send it via SMKIT_ENDPOINT_TOKEN)",
    )


def _token(args: argparse.Namespace) -> str | None:
    import os

    if not args.auth_token_env:
        return None
    token = os.environ.get(args.auth_token_env)
    if not token:
        raise ConfigError(
            f"--auth-token-env {args.auth_token_env}: that environment variable is not set",
            hint=f"export {args.auth_token_env}=$(python -c 'import secrets; "
            "print(secrets.token_urlsafe(32))')",
        )
    return token


def _deploy(args: argparse.Namespace) -> int:
    from smkit.serving import DataCaptureSpec, EndpointSpec, ModelSpec

    model = ModelSpec(
        model_data=args.model_data,
        framework=args.framework,
        framework_version=args.framework_version,
        entry_point=args.entry_point,
        source_dir=args.source_dir,
        image_uri=args.image_uri,
        env=parse_pairs(args.env, "--env"),
        sha256=args.sha256,
        dependencies=args.dependency or (),
        install_requirements=not args.no_requirements,
    )
    capture = None
    if args.capture_percentage is not None or args.capture_destination:
        capture = DataCaptureSpec(
            sampling_percentage=args.capture_percentage
            if args.capture_percentage is not None
            else 20,
            destination=args.capture_destination,
        )
    spec = EndpointSpec(
        name=args.name,
        variant=args.variant,
        instance_type=args.instance_type,
        data_capture=capture,
        idle_timeout=args.idle_timeout,
        host=args.host,
        auth_token=_token(args),
    )
    session = session_from_args(args)
    endpoint = session.deploy(model, spec)
    if session.plan_mode:
        print_json([r.to_dict() for r in session.plan()])
        return 0
    if args.json:
        print_json(endpoint.describe())
    else:
        print(endpoint.url)
    return 0


def _list(args: argparse.Namespace) -> int:
    session = session_from_args(args)
    backend = session.backend
    records = backend.list_endpoints(include_deleted=args.all)
    if args.json:
        print_json(records)
        return 0
    if not records:
        print("no endpoints")
        return 0
    rows = []
    for r in records:
        cap = r.get("DataCaptureConfig") or {}
        dest = cap.get("DestinationS3Uri") if cap.get("EnableCapture") else "-"
        why = r.get("FailureReason") or r.get("DeletionReason") or ""
        rows.append((r["EndpointName"], r["EndpointStatus"], r.get("Url") or "-", dest or "-", why))
    widths = [max(len(str(x[i])) for x in [*rows, _HEAD]) for i in range(4)]
    for row in [_HEAD, *rows]:
        line = "  ".join(str(v).ljust(w) for v, w in zip(row, widths))
        print((line + "  " + row[4]).rstrip())
    return 0


_HEAD = ("NAME", "STATUS", "URL", "CAPTURE", "REASON")


class _Raw:
    """Sends the body as given, with any content type; returns the answer's bytes."""

    def __init__(self, content_type: str, accept: str) -> None:
        self.content_type = content_type
        self.accept = accept

    def serialize(self, data: bytes) -> bytes:
        return data

    def deserialize(self, body: bytes, content_type: str) -> bytes:
        return body


def _invoke(args: argparse.Namespace) -> int:
    if args.body is not None:
        body = args.body.encode("utf-8")
        if args.content_type.startswith("text/csv") and not body.endswith(b"\n"):
            body += b"\n"
    elif args.body_file == "-":
        body = sys.stdin.buffer.read()
    else:
        try:
            with open(args.body_file, "rb") as fh:
                body = fh.read()
        except OSError as exc:
            raise ConfigError(f"cannot read --body-file {args.body_file!r}: {exc}") from None
    session = session_from_args(args)
    from smkit.serving import Predictor

    if not session.plan_mode:
        _check_in_service(session, args.name)
    raw = _Raw(args.content_type, args.accept or args.content_type)
    pred = Predictor(
        args.name, session.backend.endpoint_transport(args.name), serializer=raw, deserializer=raw
    )
    result = pred.invoke(
        body, custom_attributes=args.custom_attributes, inference_id=args.inference_id
    )
    out = result.body
    sys.stdout.buffer.write(out if out.endswith(b"\n") else out + b"\n")
    if result.custom_attributes:
        print(f"custom attributes: {result.custom_attributes}", file=sys.stderr)
    return 0


def _check_in_service(session: Any, name: str) -> None:
    """A clear error for an endpoint that does not exist or cannot answer."""
    from smkit.errors import ResourceError, ResourceNotFoundError

    try:
        record = session.backend.describe_endpoint(name)
    except ResourceNotFoundError:
        raise ResourceNotFoundError(
            f"no endpoint named {name!r}", hint="`smkit endpoints list` shows the endpoints"
        ) from None
    status = record.get("EndpointStatus")
    if status and status not in ("InService", "Updating"):
        raise ResourceError(
            f"endpoint {name!r} is {status}, not InService",
            hint="`smkit endpoints list --all` shows every endpoint and its status",
        )


def _delete(args: argparse.Namespace) -> int:
    session = session_from_args(args)
    session.backend.delete_endpoint(args.name, force=args.force)
    print(f"deleted endpoint {args.name} (and its endpoint config and model)")
    return 0


def _gateway(args: argparse.Namespace) -> int:
    session = session_from_args(args)
    backend = session.backend
    if not session.supports(Capability.RUNTIME_GATEWAY):
        raise ConfigError(
            "the gateway runs only with the local backend",
            hint="on AWS use the SageMaker Runtime itself",
        )
    if args.stop:
        backend.stop_gateway()
        print("gateway stopped")
        return 0
    print(backend.gateway(host=args.host, auth_token=_token(args)))
    return 0
