"""Helpers for the use cases' ``summary`` modules (the report's first screen)."""

from __future__ import annotations

from typing import Any

from smkit.report import fmt_number

__all__ = ["metric", "mode_note", "num"]


def metric(report: Any, *keys: str, default: Any = None) -> Any:
    """``report.metrics[k1][k2]...`` or ``default`` when any level is missing."""
    value: Any = report.metrics
    for key in keys:
        if not isinstance(value, dict) or key not in value:
            return default
        value = value[key]
    return value


def num(value: Any) -> str:
    """A number rounded for a sentence (``–`` when missing)."""
    return fmt_number(value)


def mode_note(config: Any) -> str:
    """``quick run`` or ``full run``: the note under a key number."""
    return "quick run" if getattr(config, "quick", False) else "full run"
