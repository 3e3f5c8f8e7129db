"""Monitor types, keyed by kind, and the dispatch a backend builds on them.

SageMaker's ``MonitoringType`` values (``DataQuality``, ``ModelQuality``, ``ModelBias``,
``ModelExplainability``) map to smkit's kinds (``data_quality``, ``model_quality``,
``model_bias``, ``model_explainability``). A backend registers one handler per kind it
runs; `MonitorRegistry.get` of any other type raises a clear error instead of
falling through to some default analysis.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

from smkit.errors import ConfigError

__all__ = ["MONITOR_KINDS", "MonitorRegistry", "monitor_kind"]

#: SageMaker ``MonitoringType`` -> smkit kind.
MONITOR_KINDS: dict[str, str] = {
    "DataQuality": "data_quality",
    "ModelQuality": "model_quality",
    "ModelBias": "model_bias",
    "ModelExplainability": "model_explainability",
}

H = TypeVar("H", bound=Callable[..., Any])


def monitor_kind(monitor_type: str) -> str:
    """The kind of a monitor type, given either as SageMaker spells it or as a kind.

    Raises:
        ConfigError: an unknown monitor type.
    """
    if monitor_type in MONITOR_KINDS:
        return MONITOR_KINDS[monitor_type]
    if monitor_type in MONITOR_KINDS.values():
        return monitor_type
    raise ConfigError(
        f"unknown monitor type {monitor_type!r}; known: "
        f"{', '.join(sorted(MONITOR_KINDS))} (kinds {', '.join(MONITOR_KINDS.values())})"
    )


class MonitorRegistry(Generic[H]):
    """Handlers keyed by monitor kind.

    Examples:
        >>> runs = MonitorRegistry("baseline")
        >>> runs.register("data_quality", len)
        >>> runs.get("DataQuality") is len
        True
    """

    def __init__(self, what: str) -> None:
        self.what = what
        self._handlers: dict[str, H] = {}

    def register(self, kind: str, handler: H) -> None:
        """Register ``handler`` for ``kind`` (a kind or a SageMaker monitor type)."""
        self._handlers[monitor_kind(kind)] = handler

    def kinds(self) -> list[str]:
        """The registered kinds, in registration order."""
        return list(self._handlers)

    def get(self, monitor_type: str) -> H:
        """The handler of ``monitor_type``.

        Raises:
            ConfigError: the type is unknown, or known but has no handler here.
        """
        kind = monitor_kind(monitor_type)
        try:
            return self._handlers[kind]
        except KeyError:
            raise ConfigError(
                f"monitor type {monitor_type!r} ({kind}) has no {self.what} here; "
                f"supported: {', '.join(self._handlers)}"
            ) from None
