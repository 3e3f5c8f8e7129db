"""The use-case plugin interface and its registry (entry-point group ``smkit.usecases``).

A use case is an object with a ``name``, a one-line ``description``, an attrs ``Config``
class and ``run(session, config, out_dir) -> Report``. Every config has a ``quick`` flag
(a small, fast run for CI). ``smkit run NAME --set key=value`` sets config fields, converted
to the field's type.
"""

from __future__ import annotations

import importlib
import typing
from importlib.metadata import entry_points
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

import attrs

from smkit.errors import ConfigError, ResourceNotFoundError

if TYPE_CHECKING:
    from smkit.report import Report
    from smkit.session import Session

__all__ = [
    "ENTRY_POINT_GROUP",
    "UseCase",
    "UseCaseConfig",
    "available_usecases",
    "build_config",
    "load_usecase",
]

ENTRY_POINT_GROUP = "smkit.usecases"

_BUILTIN: dict[str, str] = {
    "staging-demo": "smkit.usecases.staging_demo:StagingDemo",
    "image-workflow": "smkit.usecases.image_workflow:ImageWorkflow",
    "pneumonia-calibration": "smkit.usecases.pneumonia_calibration:PneumoniaCalibration",
    "script-mode-hpo": "smkit.usecases.script_mode_hpo:ScriptModeHpo",
    "review-endpoint": "smkit.usecases.review_endpoint:ReviewEndpoint",
    "bike-demand": "smkit.usecases.bike_demand:BikeDemand",
    "wine-monitoring": "smkit.usecases.wine_monitoring:WineMonitoring",
}


@attrs.define
class UseCaseConfig:
    """Fields every use-case config has.

    Attributes:
        quick: A small, fast run (what CI runs).
    """

    quick: bool = False


@runtime_checkable
class UseCase(Protocol):
    """What a use-case plugin provides."""

    name: ClassVar[str]
    description: ClassVar[str]
    Config: ClassVar[type]

    def run(self, session: Session, config: Any, out_dir: Path) -> Report:
        """Run end to end, writing outputs under ``out_dir``; return the report."""
        ...


def _targets() -> dict[str, Any]:
    found: dict[str, Any] = dict(_BUILTIN)
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        found[ep.name] = ep
    return found


def available_usecases() -> dict[str, str]:
    """Registered use-case names -> import target, sorted by name."""
    return {k: (v if isinstance(v, str) else v.value) for k, v in sorted(_targets().items())}


def load_usecase(name: str) -> UseCase:
    """Instantiate the use case registered as ``name``."""
    targets = _targets()
    if name not in targets:
        raise ResourceNotFoundError(
            f"unknown use case {name!r}; known: {', '.join(sorted(targets))}",
            hint="`smkit usecases list` shows them",
        )
    target = targets[name]
    if isinstance(target, str):
        module, _, attr = target.partition(":")
        cls = getattr(importlib.import_module(module), attr)
    else:
        cls = target.load()
    return cls()


def _convert(value: str, annotation: Any, key: str) -> Any:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        if value.lower() in ("none", "null") and type(None) in args:
            return None
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _convert(value, arg, key)
            except ConfigError:
                continue
        raise ConfigError(f"--set {key}={value!r}: does not fit {annotation}")
    if annotation is bool:
        low = value.lower()
        if low in ("1", "true", "yes", "on"):
            return True
        if low in ("0", "false", "no", "off"):
            return False
        raise ConfigError(f"--set {key}={value!r}: expected true or false")
    if annotation in (int, float):
        try:
            return annotation(value)
        except ValueError:
            raise ConfigError(f"--set {key}={value!r}: expected {annotation.__name__}") from None
    if origin in (list, tuple):
        items = [v.strip() for v in value.split(",") if v.strip()]
        return tuple(items) if origin is tuple else items
    return value


def build_config(usecase: UseCase, settings: dict[str, str], *, quick: bool = False) -> Any:
    """The use case's config with ``--set`` values converted to each field's type."""
    cls = usecase.Config
    hints = typing.get_type_hints(cls)
    fields = {f.name for f in attrs.fields(cls)}
    kwargs: dict[str, Any] = {}
    for key, raw in settings.items():
        if key not in fields:
            raise ConfigError(
                f"use case {usecase.name!r} has no setting {key!r}; settings: "
                f"{', '.join(sorted(fields))}",
            )
        kwargs[key] = _convert(raw, hints.get(key, str), key)
    if quick:
        kwargs["quick"] = True
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as exc:
        if isinstance(exc, ConfigError):
            raise
        raise ConfigError(f"invalid settings for {usecase.name!r}: {exc}") from exc
