"""Metric definitions applied to a training job's log lines."""

from __future__ import annotations

import re

__all__ = ["MetricReader"]


class MetricReader:
    """Applies metric regexes to log lines; keeps every value and the last per metric."""

    def __init__(self, definitions: list[dict[str, str]]) -> None:
        self.definitions = [(d["Name"], re.compile(d["Regex"])) for d in definitions]
        self.last: dict[str, float] = {}
        self.count: dict[str, int] = {name: 0 for name, _ in self.definitions}

    def feed(self, line: str) -> list[tuple[str, float]]:
        """Values found on one line (group 1 of each matching regex)."""
        found = []
        for name, rx in self.definitions:
            m = rx.search(line)
            if m is None:
                continue
            try:
                value = float(m.group(1))
            except (TypeError, ValueError, IndexError):
                continue
            self.last[name] = value
            self.count[name] += 1
            found.append((name, value))
        return found

    def never_matched(self) -> list[str]:
        """Metric names whose regex matched no line."""
        return [name for name, n in self.count.items() if n == 0]
