"""Run reports: ``report.json`` for machines, ``report.html`` (with plots) for people.

A `Report` gathers metrics, artifact locations, timings, tables and figures while a
use case runs; `Report.write` writes both files. Figures are matplotlib figures (or
PNG files) embedded in the HTML as base64 so the page is one self-contained file; they are
also written next to it as PNG files.
"""

from __future__ import annotations

import base64
import html
import json
import math
import platform
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import attrs

__all__ = ["Report", "redact", "to_jsonable"]

_SECRET_KEY = re.compile(r"secret|token|password|passwd|credential|authorization|api[_-]?key", re.I)
_SECRET_VALUE = re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b|\bBearer\s+[\w\-.~+/]+=*", re.I)
REDACTED = "***redacted***"


def redact(value: Any) -> Any:
    """Replace secrets in a JSON-able structure: values under secret-looking keys, AWS access
    key ids and bearer tokens inside strings. Reports pass through this before being written."""
    if isinstance(value, dict):
        return {
            k: (
                REDACTED
                if isinstance(k, str) and _SECRET_KEY.search(k) and v not in (None, "")
                else redact(v)
            )
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [redact(v) for v in value]
    if isinstance(value, str):
        return _SECRET_VALUE.sub(REDACTED, value)
    return value


def to_jsonable(value: Any) -> Any:
    """Convert numpy scalars/arrays, paths, datetimes and attrs objects to JSON types.

    Non-finite floats become ``None`` (JSON has no NaN).
    """
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, str | int | bool) or value is None:
        return value
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [to_jsonable(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if attrs.has(type(value)):
        return to_jsonable(attrs.asdict(value, recurse=False))
    if hasattr(value, "tolist"):  # numpy arrays and scalars
        return to_jsonable(value.tolist())
    if hasattr(value, "item"):
        return to_jsonable(value.item())
    return str(value)


@attrs.define
class Report:
    """What a use case (or any run) reports.

    Attributes:
        name: The use case or run name.
        title: Heading of the HTML page.
        metrics: Named numbers (``{"validation_rmsle": 0.39}``).
        artifacts: Named locations of outputs (``s3://`` URIs or file paths).
        timings: Seconds spent per phase (filled by `timer`).
        details: Any further JSON-able data.
        sections: Ordered HTML sections: ``(heading, kind, payload)``.
    """

    name: str
    title: str = ""
    metrics: dict[str, Any] = attrs.field(factory=dict)
    artifacts: dict[str, str] = attrs.field(factory=dict)
    timings: dict[str, float] = attrs.field(factory=dict)
    details: dict[str, Any] = attrs.field(factory=dict)
    sections: list[tuple[str, str, Any]] = attrs.field(factory=list)
    status: str = "Succeeded"

    @contextmanager
    def timer(self, phase: str) -> Iterator[None]:
        """Time a block and add the seconds to ``timings[phase]``."""
        start = time.perf_counter()
        try:
            yield
        finally:
            self.timings[phase] = round(
                self.timings.get(phase, 0.0) + time.perf_counter() - start, 4
            )

    def add_text(self, heading: str, text: str) -> None:
        """A paragraph of text."""
        self.sections.append((heading, "text", text))

    def add_table(self, heading: str, rows: list[dict[str, Any]]) -> None:
        """A table: one dict per row, columns from the first row's keys."""
        self.sections.append((heading, "table", rows))

    def add_figure(self, heading: str, figure: Any, *, filename: str | None = None) -> None:
        """A matplotlib figure or a PNG file path; it is rendered when the report is written."""
        png = _png_bytes(figure)
        self.sections.append((heading, "figure", (filename or _slug(heading) + ".png", png)))

    def add_mermaid(self, heading: str, source: str) -> None:
        """A mermaid diagram (rendered in the browser; the source is shown as a fallback)."""
        self.sections.append((heading, "mermaid", source))

    def to_dict(self) -> dict[str, Any]:
        """The content of ``report.json`` (secrets redacted)."""
        return redact(
            to_jsonable(
                {
                    "name": self.name,
                    "status": self.status,
                    "created": datetime.now(UTC).isoformat(timespec="seconds"),
                    "machine": {
                        "cores": _cores(),
                        "platform": platform.platform(),
                        "python": platform.python_version(),
                    },
                    "metrics": self.metrics,
                    "artifacts": self.artifacts,
                    "timings": self.timings,
                    "details": self.details,
                }
            )
        )

    def write(self, out_dir: str | Path) -> dict[str, Path]:
        """Write ``report.json``, ``report.html`` and the figures' PNGs into ``out_dir``."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        for _, kind, payload in self.sections:
            if kind == "figure":
                fname, png = payload
                (out / fname).write_bytes(png)
        data = self.to_dict()
        data["artifacts"].setdefault("report_html", str(out / "report.html"))
        json_path = out / "report.json"
        json_path.write_text(json.dumps(data, indent=2, sort_keys=False) + "\n")
        html_path = out / "report.html"
        html_path.write_text(self.to_html(data))
        return {"json": json_path, "html": html_path}

    def to_html(self, data: dict[str, Any] | None = None) -> str:
        """The self-contained HTML page."""
        data = data or self.to_dict()
        esc = html.escape
        parts = [
            "<!doctype html><html><head><meta charset='utf-8'>",
            f"<title>{esc(self.title or self.name)}</title>",
            "<style>body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;"
            "color:#222}table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;"
            "padding:3px 8px;text-align:left;font-size:14px}th{background:#f3f3f3}"
            "img{max-width:100%}h1{border-bottom:2px solid #ff9900}.ok{color:#070}"
            ".bad{color:#b00}pre{background:#f7f7f7;padding:8px;overflow:auto}</style>",
            "<script type='module'>import mermaid from "
            "'https://cdn.jsdelivr.net/npm/mermaid@11/dist/mermaid.esm.min.mjs';"
            "mermaid.initialize({startOnLoad:true});</script></head><body>",
            f"<h1>{esc(self.title or self.name)}</h1>",
            f"<p>Status: <b class='{'ok' if self.status == 'Succeeded' else 'bad'}'>"
            f"{esc(self.status)}</b> &middot; {esc(data['created'])} &middot; "
            f"{data['machine']['cores']} cores</p>",
        ]
        if data["metrics"]:
            parts.append("<h2>Metrics</h2>" + _table(_flatten_rows(data["metrics"])))
        for heading, kind, payload in self.sections:
            parts.append(f"<h2>{esc(heading)}</h2>")
            if kind == "text":
                parts.append(f"<p>{esc(redact(str(payload)))}</p>")
            elif kind == "table":
                parts.append(_table(redact(to_jsonable(payload))))
            elif kind == "figure":
                b64 = base64.b64encode(payload[1]).decode()
                parts.append(f"<img alt='{esc(heading)}' src='data:image/png;base64,{b64}'>")
            elif kind == "mermaid":
                parts.append(f"<pre class='mermaid'>{esc(payload)}</pre>")
        if data["artifacts"]:
            parts.append(
                "<h2>Artifacts</h2>"
                + _table([{"name": k, "location": v} for k, v in data["artifacts"].items()])
            )
        if data["timings"]:
            parts.append(
                "<h2>Timings (s)</h2>"
                + _table([{"phase": k, "seconds": v} for k, v in data["timings"].items()])
            )
        parts.append("</body></html>\n")
        return "".join(parts)


def _flatten_rows(metrics: dict[str, Any], prefix: str = "") -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for key, value in metrics.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            rows.extend(_flatten_rows(value, name + "."))
        else:
            rows.append({"metric": name, "value": value})
    return rows


def _table(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "<p><i>(none)</i></p>"
    cols: list[str] = []
    for row in rows:
        for key in row:
            if key not in cols:
                cols.append(key)
    esc = html.escape
    head = "".join(f"<th>{esc(str(c))}</th>" for c in cols)
    body = "".join(
        "<tr>" + "".join(f"<td>{esc(_fmt(row.get(c)))}</td>" for c in cols) + "</tr>"
        for row in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def _fmt(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, dict | list):
        return json.dumps(value)
    return str(value)


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in text.lower()).strip("-") or "figure"


def _png_bytes(figure: Any) -> bytes:
    if isinstance(figure, str | Path):
        return Path(figure).read_bytes()
    if isinstance(figure, bytes):
        return figure
    import io

    buf = io.BytesIO()
    figure.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    try:
        import matplotlib.pyplot as plt

        plt.close(figure)
    except ImportError:  # pragma: no cover
        pass
    return buf.getvalue()


def _cores() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
