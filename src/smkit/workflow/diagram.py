"""Mermaid flowcharts of workflows, with an execution's path highlighted.

Nodes are states (``Name · Type``); solid edges are ``Next`` and Choice rules (labelled with
the rule), dotted edges are ``Default`` and ``Catch``. Parallel branches and Map processors
are subgraphs. Visited states get the ``visited`` class (green), the state where an
execution failed the ``failed`` class (red), and the edges the execution took are drawn
thick.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from smkit.workflow.states import Choice, Map, Parallel, Succeed, _Errors, _Flow

__all__ = ["mermaid", "rule_label"]


def _esc(text: str) -> str:
    return text.replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;")


_OPS = {
    "Equals": "==",
    "LessThan": "<",
    "GreaterThan": ">",
    "LessThanEquals": "<=",
    "GreaterThanEquals": ">=",
}


def rule_label(rule: dict[str, Any]) -> str:
    """A short text for a Choice rule (``$.confidence >= 0.9``, ``not (...)``)."""
    if "Condition" in rule:
        text = str(rule["Condition"]).strip()
        return text[2:-2].strip() if text.startswith("{%") else text
    if "And" in rule:
        return " and ".join(f"({rule_label(r)})" for r in rule["And"])
    if "Or" in rule:
        return " or ".join(f"({rule_label(r)})" for r in rule["Or"])
    if "Not" in rule:
        return f"not ({rule_label(rule['Not'])})"
    var = rule.get("Variable", "?")
    for key, value in rule.items():
        if key in ("Variable", "Next", "Comment", "Assign", "Output"):
            continue
        m = re.fullmatch(r"(String|Numeric|Boolean|Timestamp)(\w+?)(Path)?", key)
        if m and m.group(2) in _OPS:
            shown = value if m.group(3) else json.dumps(value)
            return f"{var} {_OPS[m.group(2)]} {shown}"
        return f"{var} {key} {json.dumps(value)}"
    return str(var)


class _Drawer:
    def __init__(self, visited: set[str], failed: str | None) -> None:
        self.lines: list[str] = []
        self.edges = 0
        self.thick: list[int] = []
        self.ids: dict[str, str] = {}
        self.visited = visited
        self.failed = failed
        self.visited_ids: list[str] = []
        self.failed_ids: list[str] = []

    def node_id(self, scope: str, name: str) -> str:
        key = f"{scope}/{name}"
        if key not in self.ids:
            self.ids[key] = f"s{len(self.ids)}"
        return self.ids[key]

    def edge(self, a: str, b: str, label: str | None, *, dotted: bool, taken: bool) -> None:
        arrow = "-.->" if dotted else "-->"
        text = f'{a} {arrow}|"{_esc(label)}"| {b}' if label else f"{a} {arrow} {b}"
        self.lines.append("  " + text)
        if taken:
            self.thick.append(self.edges)
        self.edges += 1

    def graph(self, graph: Any, scope: str, indent: str = "  ") -> str:
        start = self.node_id(scope, "(start)")
        self.lines.append(f"{indent}{start}(( ))")
        end_id = self.node_id(scope, "(end)")
        self.lines.append(f"{indent}{end_id}((( )))")
        first = self.node_id(scope, graph.start_at)
        self.edge(start, first, None, dotted=False, taken=graph.start_at in self.visited)
        for name, state in graph.states.items():
            sid = self.node_id(scope, name)
            label = _esc(f"{name} · {state.TYPE}")
            shape = f'{{{{"{label}"}}}}' if isinstance(state, Choice) else f'["{label}"]'
            if isinstance(state, Parallel | Map):
                self.lines.append(f'{indent}subgraph {sid}["{label}"]')
                self.lines.append(f"{indent}  direction TB")
                subs = state.branches if isinstance(state, Parallel) else [state.iterator]
                for i, sub in enumerate(subs):
                    self.graph(sub, f"{scope}/{name}[{i}]", indent + "  ")
                self.lines.append(f"{indent}end")
            else:
                self.lines.append(f"{indent}{sid}{shape}")
            if name == self.failed:
                self.failed_ids.append(sid)
            elif name in self.visited:
                self.visited_ids.append(sid)
        for name, state in graph.states.items():
            sid = self.node_id(scope, name)
            seen = name in self.visited

            def taken(target: str, seen: bool = seen) -> bool:
                return seen and target in self.visited

            if isinstance(state, _Flow):
                if state.end:
                    self.edge(sid, end_id, None, dotted=False, taken=seen)
                elif state.next is not None:
                    nxt = str(state.next_name)
                    self.edge(sid, self.node_id(scope, nxt), None, dotted=False, taken=taken(nxt))
            if isinstance(state, Succeed):
                self.edge(sid, end_id, None, dotted=False, taken=seen)
            if isinstance(state, Choice):
                for w in state.choices:
                    nxt = str(w.next_name)
                    self.edge(
                        sid,
                        self.node_id(scope, nxt),
                        rule_label(w.condition.rule),
                        dotted=False,
                        taken=taken(nxt),
                    )
                if state.default is not None:
                    nxt = str(state.default_name)
                    self.edge(
                        sid, self.node_id(scope, nxt), "default", dotted=True, taken=taken(nxt)
                    )
            if isinstance(state, _Errors):
                for c in state.catch:
                    self.edge(
                        sid,
                        self.node_id(scope, c.next_name),
                        "catch " + ", ".join(c.error_equals),
                        dotted=True,
                        taken=taken(c.next_name),
                    )
        return start


def mermaid(
    workflow: Any,
    *,
    path: Iterable[str] = (),
    failed: str | None = None,
    direction: str = "TD",
) -> str:
    """A mermaid ``flowchart`` of ``workflow`` (a `Workflow`).

    Args:
        workflow: The workflow.
        path: Names of visited states (highlighted).
        failed: Name of the state where the execution failed (red).
        direction: Mermaid direction (``TD``, ``LR``).
    """
    drawer = _Drawer(set(path), failed)
    drawer.lines.append(f"flowchart {direction}")
    drawer.graph(workflow.definition, "")
    lines = drawer.lines
    lines.append("  classDef visited fill:#d6f5d6,stroke:#2e7d32,stroke-width:2px")
    lines.append("  classDef failed fill:#fbd5d5,stroke:#c62828,stroke-width:2px")
    if drawer.visited_ids:
        lines.append(f"  class {','.join(drawer.visited_ids)} visited")
    if drawer.failed_ids:
        lines.append(f"  class {','.join(drawer.failed_ids)} failed")
    if drawer.thick:
        lines.append(
            f"  linkStyle {','.join(map(str, drawer.thick))} stroke:#2e7d32,stroke-width:3px"
        )
    return "\n".join(lines) + "\n"
