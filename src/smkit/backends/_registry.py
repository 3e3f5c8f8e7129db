"""Backend registry: name -> class, fed by the entry-point group ``smkit.backends``.

Built-in backends are also known by their import path, so a source checkout that was not
installed still finds them. Classes are imported only when asked for.
"""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points
from typing import Any

from smkit.errors import MissingExtraError, UnknownBackendError

__all__ = ["ENTRY_POINT_GROUP", "available", "load", "register"]

ENTRY_POINT_GROUP = "smkit.backends"

_BUILTIN: dict[str, str] = {
    "local": "smkit.backends.local:LocalBackend",
    "aws": "smkit.backends.aws:AwsBackend",
}
_EXTRA: dict[str, str] = {"aws": "aws"}
_registered: dict[str, Any] = {}


def register(name: str, target: Any) -> None:
    """Register a backend class (or ``"module:Class"`` path) under ``name`` at run time."""
    _registered[name] = target


def _targets() -> dict[str, Any]:
    found: dict[str, Any] = dict(_BUILTIN)
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        found[ep.name] = ep
    found.update(_registered)
    return found


def available() -> list[str]:
    """Names of every known backend, sorted."""
    return sorted(_targets())


def load(name: str) -> type:
    """Return the backend class registered as ``name``.

    Raises:
        UnknownBackendError: no backend has that name (the message lists the known ones).
        MissingExtraError: the backend's optional dependencies are not installed.
    """
    targets = _targets()
    if name not in targets:
        raise UnknownBackendError(
            f"unknown backend {name!r}; known backends: {', '.join(sorted(targets))}",
            hint="pass one of those to Session(backend=...) or set SMKIT_BACKEND",
            backend=name,
        )
    target = targets[name]
    try:
        if isinstance(target, str):
            module, _, attr = target.partition(":")
            return getattr(importlib.import_module(module), attr)
        if isinstance(target, type):
            return target
        return target.load()
    except MissingExtraError:
        raise
    except ImportError as exc:
        extra = _EXTRA.get(name, name)
        raise MissingExtraError(
            f"backend {name!r} could not be imported: {exc}",
            hint=f"pip install 'smkit[{extra}]'",
            backend=name,
        ) from exc
