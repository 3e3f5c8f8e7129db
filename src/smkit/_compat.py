"""Lazy imports of optional dependencies, with the extra that provides them."""

from __future__ import annotations

import importlib
from types import ModuleType

from smkit.errors import MissingExtraError

__all__ = ["require"]


def require(module: str, extra: str, *, feature: str | None = None) -> ModuleType:
    """Import ``module`` or raise a `MissingExtraError` naming the extra to install.

    Args:
        module: Dotted module name, e.g. ``"boto3"``.
        extra: The smkit extra that installs it, e.g. ``"aws"``.
        feature: What needs it (for the message); defaults to the module name.
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingExtraError(
            f"{feature or module} needs the optional package {module!r}, which is not installed",
            hint=f"pip install 'smkit[{extra}]'",
            module=module,
            extra=extra,
        ) from exc
