"""Helpers shared by the CLI's sub-commands."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from smkit.errors import ConfigError

__all__ = [
    "add_backend_args",
    "add_role_args",
    "example",
    "parse_pairs",
    "print_json",
    "session_from_args",
]


def example(text: str) -> dict[str, Any]:
    """``add_parser`` keyword arguments that show ``text`` as the command's example."""
    return {
        "epilog": f"example:\n  {text}",
        "formatter_class": argparse.RawDescriptionHelpFormatter,
    }


def add_backend_args(parser: argparse.ArgumentParser) -> None:
    """``--backend``, ``--plan``, ``--root``, ``--region``, ``--role``, ``--lambda-role``,
    ``--states-role``, ``--bucket``, ``--endpoint-url``."""
    g = parser.add_argument_group("backend")
    g.add_argument("--backend", help="local (default) or aws; else $SMKIT_BACKEND")
    g.add_argument(
        "--plan", action="store_true", help="aws: list the requests it would send, send nothing"
    )
    g.add_argument("--root", help="local: the local root (default $SMKIT_HOME or ./.smkit)")
    g.add_argument("--region", help="aws: region")
    add_role_args(g)
    g.add_argument("--bucket", help="aws: default bucket")
    g.add_argument(
        "--debugger",
        action="store_true",
        default=None,
        help="aws: send SageMaker Debugger rules and the profiler with training jobs "
        "(opt-in, default off: Debugger is closed to new customers)",
    )
    g.add_argument("--endpoint-url", help="aws: send requests to this URL (moto, LocalStack)")


def add_role_args(group: Any) -> None:
    """``--role``, ``--lambda-role``, ``--states-role`` (one role per service that assumes it)."""
    group.add_argument(
        "--role", help="aws: SageMaker execution role ARN (trusted by sagemaker.amazonaws.com)"
    )
    group.add_argument(
        "--lambda-role",
        help="aws: Lambda functions' execution role ARN (trusted by lambda.amazonaws.com); "
        "else $SMKIT_LAMBDA_ROLE",
    )
    group.add_argument(
        "--states-role",
        help="aws: Step Functions state machines' role ARN (trusted by states.amazonaws.com); "
        "else $SMKIT_STATES_ROLE",
    )


def session_from_args(args: argparse.Namespace) -> Any:
    """A `smkit.Session` from the backend arguments."""
    from smkit.session import Session, resolve_backend_name

    name = resolve_backend_name(getattr(args, "backend", None))
    options: dict[str, Any] = {}
    for key in ("root", "region", "role", "lambda_role", "states_role", "bucket", "endpoint_url"):
        value = getattr(args, key, None)
        if value:
            options[key] = value
    if getattr(args, "debugger", None):
        options["debugger"] = True
    if getattr(args, "plan", False):
        if name != "aws":
            raise ConfigError("--plan needs the aws backend", hint="add --backend aws")
        options["plan"] = True
    return Session(name, **options)


def parse_pairs(items: list[str] | None, what: str = "--set") -> dict[str, str]:
    """``["k=v", ...]`` -> ``{"k": "v"}``; a malformed item is a `ConfigError`."""
    out: dict[str, str] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"{what} {item!r}: expected KEY=VALUE")
        out[key.strip()] = value
    return out


def print_json(data: Any) -> None:
    """Pretty JSON on stdout."""
    from smkit.report import to_jsonable

    json.dump(to_jsonable(data), sys.stdout, indent=2)
    sys.stdout.write("\n")
