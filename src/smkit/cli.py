"""The ``smkit`` command.

Sub-commands live in `smkit.commands`: every module there named ``cmd_*.py`` defines
``register(subparsers)`` which adds its parser(s) and sets ``func`` to a handler
``(args) -> int``. Errors print one line (``error: ...``) and exit with the error's code
(2 for bad input, 1 for failures); ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from collections.abc import Sequence

__all__ = ["EXIT_CODES", "build_parser", "main"]

#: What each exit code of ``smkit`` means (the CLI reference is generated from this).
EXIT_CODES: dict[int, str] = {
    0: "success",
    1: "a failure: a job or an execution failed, an AWS error, a resource error",
    2: "bad input: a spec, an argument or a file (the `ConfigError` family; also argparse's"
    " usage errors and `smkit` without a command)",
    3: "`smkit monitor check` found violations",
    130: "interrupted (Ctrl-C)",
}

EPILOG = """examples:
  smkit usecases list
  smkit run wine-monitoring --quick --out out/wine
  smkit run staging-demo --backend aws --plan
  smkit doctor
"""


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser (every ``smkit.commands.cmd_*`` module registered)."""
    from smkit import __version__, commands

    parser = argparse.ArgumentParser(
        prog="smkit",
        description="smkit: the SageMaker MLOps lifecycle, local by default, AWS when you say so.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"smkit {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    modules = []
    for info in pkgutil.iter_modules(commands.__path__):
        if info.name.startswith("cmd_"):
            modules.append(importlib.import_module(f"{commands.__name__}.{info.name}"))
    modules.sort(key=lambda m: (getattr(m, "ORDER", 50), m.__name__))
    for module in modules:
        module.register(sub)
    from smkit.cli_help import install

    install(parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code."""
    from smkit.errors import SmkitError

    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except SmkitError as exc:
        if args.debug:
            raise
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())


if __name__ == "__main__":  # pragma: no cover
    run()
