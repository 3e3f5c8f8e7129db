"""The emulator's operation table: every operation it runs itself, per service.

Handlers register with `operation`; the reference page's list is generated from
`OPERATIONS` by `smkit.emulator.reference.operations_markdown`, so the
documentation cannot drift from the code. Calls to services not listed here (S3, IAM, STS,
CloudWatch Logs...) are answered by moto inside the emulator.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["OPERATIONS", "PROXIED_SERVICES", "operation"]

#: service (as botocore names it) -> operation -> one-line description.
OPERATIONS: dict[str, dict[str, str]] = {}

#: Services answered by moto (the ones smkit's flows need; any other moto knows works too).
PROXIED_SERVICES = ("s3", "iam", "sts", "logs")

F = TypeVar("F", bound=Callable[..., Any])


def operation(service: str, name: str) -> Callable[[F], F]:
    """Register a handler as the emulator's implementation of ``service``'s ``name``."""

    def wrap(fn: F) -> F:
        import inspect

        paragraph = inspect.cleandoc(fn.__doc__ or "").split("\n\n", 1)[0]
        OPERATIONS.setdefault(service, {})[name] = " ".join(paragraph.split())
        fn.aws_operation = name  # type: ignore[attr-defined]
        return fn

    return wrap
