"""``smkit workflow run|history``: run a state machine definition, show an execution's events."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from smkit.backends._protocol import Capability
from smkit.commands._common import (
    add_backend_args,
    example,
    parse_pairs,
    print_json,
    session_from_args,
)
from smkit.errors import ConfigError, FormatError

ORDER = 60


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``workflow run`` and ``workflow history``."""
    p = sub.add_parser(
        "workflow",
        help="run Step Functions state machines locally or on AWS",
        description="Run an Amazon States Language definition and inspect executions.",
        **example(
            'smkit workflow run flow.asl.json --input \'{"s3_key": "a.png"}\' '
            "--handler classify=handlers:classify"
        ),
    )
    wsub = p.add_subparsers(dest="workflow_command", metavar="COMMAND")
    run = wsub.add_parser(
        "run",
        help="run a definition; exit 0 when the execution succeeded, 1 when it failed",
        description="Run DEF (an ASL JSON file, JSON text, or module:attribute naming a "
        "Workflow) with --input and print the execution's status and output as JSON.",
        **example(
            "smkit workflow run flow.asl.json --input '{\"value\": 1}' "
            "--handler double=mymodule:double"
        ),
    )
    run.add_argument("definition", metavar="DEF", help="ASL file, JSON text or module:attribute")
    run.add_argument("--input", default="{}", help="execution input: JSON text or @file.json")
    run.add_argument(
        "--handler",
        action="append",
        metavar="NAME=module:function",
        help="map the Lambda function NAME to a Python handler (repeatable)",
    )
    run.add_argument("--name", help="execution name (default: a UUID)")
    run.add_argument("--timeout", type=float, default=900.0, help="execution limit in seconds")
    run.add_argument("--mermaid", action="store_true", help="also print the diagram with the path")
    add_backend_args(run)
    run.set_defaults(func=_run)
    hist = wsub.add_parser(
        "history",
        help="print an execution's events (GetExecutionHistory shape)",
        **example("smkit workflow history 3f2c0d0e-8d5b-4b7e-9f57-0a4d4c1f9a11"),
    )
    hist.add_argument("execution", metavar="ID", help="execution name or ARN")
    hist.add_argument("--mermaid", action="store_true", help="print the diagram with the path")
    add_backend_args(hist)
    hist.set_defaults(func=_history)
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def load_definition(text: str) -> Any:
    """A Workflow from a file, JSON text or ``module:attribute``."""
    from smkit.workflow import Workflow

    if text.lstrip().startswith("{"):
        return Workflow.from_asl(text)
    path = Path(text)
    if path.is_file():
        name = path.name.split(".")[0] or "workflow"
        safe = "".join(c if c.isalnum() or c in "-_" else "-" for c in name)[:80]
        return Workflow.from_asl(path.read_text(), name=safe or "workflow")
    if ":" in text:
        from smkit.workflow.lambda_spec import resolve_handler

        module_name, _, attr = text.partition(":")
        import importlib

        try:
            value = getattr(importlib.import_module(module_name), attr)
        except (ImportError, AttributeError) as exc:
            raise ConfigError(f"cannot load {text!r}: {exc}") from None
        if callable(value) and not isinstance(value, Workflow):
            value = resolve_handler(text)()
        if not isinstance(value, Workflow):
            raise ConfigError(f"{text!r} is not a Workflow")
        return value
    raise ConfigError(
        f"definition {text!r} is neither a file, JSON text nor module:attribute",
    )


def _input(text: str) -> Any:
    if text.startswith("@"):
        path = Path(text[1:])
        if not path.is_file():
            raise ConfigError(f"no input file {str(path)!r}")
        text = path.read_text()
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise FormatError(f"--input is not valid JSON: {exc}") from None


def _run(args: argparse.Namespace) -> int:
    workflow = load_definition(args.definition)
    data = _input(args.input)
    handlers = parse_pairs(args.handler, "--handler")
    session = session_from_args(args)
    options: dict[str, Any] = {"name": args.name, "timeout": args.timeout}
    if session.supports(Capability.IN_PROCESS_HANDLERS):
        from smkit.workflow.lambda_spec import resolve_handler

        options["handlers"] = {k: resolve_handler(v) for k, v in handlers.items()}
    elif handlers:
        raise ConfigError("--handler applies to the local backend only")
    with session:
        execution = session.run_workflow(workflow, data, **options)
    result = execution.to_dict()
    if args.mermaid and execution.workflow is not None:
        result["mermaid"] = execution.diagram()
    print_json(result)
    return 0 if execution.status == "SUCCEEDED" else 1


def _history(args: argparse.Namespace) -> int:
    session = session_from_args(args)
    with session:
        execution = session.backend.describe_execution(args.execution)
    if args.mermaid:
        print(execution.diagram())
        return 0
    print_json(execution.events)
    return 0
