"""Run reports: ``report.json`` for machines, ``report.html`` (with plots) for people.

A `Report` gathers metrics, artifact locations, timings, tables and figures while a
use case runs; `Report.write` writes both files. The page leads with the answer: a
headline verdict, the few numbers that matter, caveats and next steps
(`Report.headline`), then the run settings; the raw metric keys sit in a collapsed
section at the end. Figures are matplotlib figures (or PNG files) embedded as base64 and
mermaid diagrams are drawn by a mermaid copy shipped with smkit and inlined in the page, so
a report is one self-contained file that needs no network; figures are also written next to
it as PNG files.
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

__all__ = ["Report", "fmt_number", "human_label", "plural", "redact", "to_jsonable"]

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


_MERMAID_JS = Path(__file__).parent / "_static" / "mermaid" / "mermaid.min.js"

#: Words written in capitals by `human_label`.
_ACRONYMS = {
    "auc", "rmsle", "rmse", "mae", "mse", "f1", "ndcg", "hpo", "shap", "cpu", "gpu", "id",
    "uri", "url", "s3", "ks", "psi", "roc", "pr", "csv", "json", "asl", "ece", "gb", "mb",
}  # fmt: skip

_LEVELS = ("ok", "warn", "bad")


def fmt_number(value: Any) -> str:
    """A number as a person reads it: 3 significant digits, thousands separated.

    ``0.6590909090909091`` -> ``0.659``; ``12345.6`` -> ``12,346``; ``3.0`` -> ``3``;
    booleans are ``yes``/``no``; ``None`` and NaN are ``–``; other values ``str()``.
    """
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if not math.isfinite(value):
            return "–"
        if value == 0:
            return "0"
        if abs(value) >= 1000:
            return f"{value:,.0f}"
        return f"{value:.3g}"
    if hasattr(value, "item") and not isinstance(value, str):  # numpy scalar
        return fmt_number(value.item())
    return str(value)


def plural(count: int, word: str, many: str | None = None) -> str:
    """``plural(1, "violation")`` -> ``1 violation``; ``plural(2, ...)`` -> ``2 violations``."""
    return f"{count:,} {word if count == 1 else (many or word + 's')}"


def human_label(key: str) -> str:
    """A metric key as a label: ``validation_rmsle`` -> ``Validation RMSLE``."""
    words = [w for w in re.split(r"[_.:\s]+", str(key)) if w]
    out = [w.upper() if w.lower() in _ACRONYMS else w for w in words]
    if out and out[0][:1].islower():
        out[0] = out[0][:1].upper() + out[0][1:]
    return " ".join(out) or str(key)


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
        status: ``Succeeded`` or ``Failed``.
        verdict: The headline sentence (`headline`); empty: a generic one.
        level: ``ok``, ``warn`` or ``bad`` (colour of the headline); empty: from the status
            and the caveats.
        key_numbers: The 3-5 numbers that matter: ``{"label", "value", "note"}`` dicts.
        next_steps: What to do next, one sentence each.
        caveats: Why a good-looking result should not be trusted as is (e.g. a quick run).
        settings: The run's settings (mode, ``--set`` values, backend), shown under the
            headline.
        artifact_paths: Artifact name -> its path on this machine (local backend).
    """

    name: str
    title: str = ""
    metrics: dict[str, Any] = attrs.field(factory=dict)
    artifacts: dict[str, str] = attrs.field(factory=dict)
    timings: dict[str, float] = attrs.field(factory=dict)
    details: dict[str, Any] = attrs.field(factory=dict)
    sections: list[tuple[str, str, Any]] = attrs.field(factory=list)
    status: str = "Succeeded"
    verdict: str = ""
    level: str = ""
    key_numbers: list[dict[str, Any]] = attrs.field(factory=list)
    next_steps: list[str] = attrs.field(factory=list)
    caveats: list[str] = attrs.field(factory=list)
    settings: dict[str, Any] = attrs.field(factory=dict)
    artifact_paths: dict[str, str] = attrs.field(factory=dict)

    @contextmanager
    def timer(self, phase: str) -> Iterator[None]:
        """Time a block and add the seconds to ``timings[phase]``.

        While a run reports progress (``smkit run``), entering the block announces the
        phase.
        """
        from smkit import progress

        progress.stage(phase)
        start = time.perf_counter()
        try:
            yield
        finally:
            self.timings[phase] = round(
                self.timings.get(phase, 0.0) + time.perf_counter() - start, 4
            )
            progress.stage_done(phase)

    def headline(
        self,
        verdict: str,
        numbers: list[tuple[str, Any] | tuple[str, Any, str]] | None = None,
        *,
        next_steps: list[str] | None = None,
        level: str | None = None,
    ) -> None:
        """Set what the first screen says.

        Args:
            verdict: One sentence: the outcome.
            numbers: ``(label, value)`` or ``(label, value, note)``: the 3-5 numbers that
                matter, in order; values are rounded for display (`fmt_number`).
            next_steps: What the reader should do next.
            level: ``ok``, ``warn`` or ``bad``; default from the status and caveats.
        """
        self.verdict = verdict
        if numbers is not None:
            self.key_numbers = [
                {"label": n[0], "value": n[1], "note": n[2] if len(n) > 2 else ""} for n in numbers
            ]
        if next_steps is not None:
            self.next_steps = list(next_steps)
        if level is not None:
            if level not in _LEVELS:
                raise ValueError(f"level must be one of {_LEVELS}, got {level!r}")
            self.level = level

    def add_caveat(self, text: str) -> None:
        """A caveat shown under the headline (the status then reads "with caveats")."""
        if text not in self.caveats:
            self.caveats.append(text)

    def add_text(self, heading: str, text: str) -> None:
        """A paragraph of text (multi-line text is shown preformatted)."""
        self.sections.append((heading, "text", text))

    def add_code(self, heading: str, code: str) -> None:
        """A block of code or file content, shown line by line."""
        self.sections.append((heading, "code", code))

    def add_table(self, heading: str, rows: list[dict[str, Any]]) -> None:
        """A table: one dict per row, columns from the rows' keys (numbers rounded)."""
        self.sections.append((heading, "table", rows))

    def add_drift_table(self, heading: str, rows: list[dict[str, Any]]) -> None:
        """A per-feature drift table with an inline distribution for every feature.

        Each row has ``feature``, ``test``, ``statistic``, ``threshold``, ``drifted``
        (bool) and optionally ``baseline`` and ``current``: ``(edges, fractions)``
        histograms drawn as one small inline SVG per row (baseline grey, current orange).
        Other keys become further columns.
        """
        self.sections.append((heading, "drift", rows))

    def add_figure(self, heading: str, figure: Any, *, filename: str | None = None) -> None:
        """A matplotlib figure or a PNG file path; it is rendered when the report is written."""
        png = _png_bytes(figure)
        self.sections.append((heading, "figure", (filename or _slug(heading) + ".png", png)))

    def add_mermaid(self, heading: str, source: str) -> None:
        """A mermaid diagram (drawn in the browser by the inlined mermaid; the source is
        shown as a fallback)."""
        self.sections.append((heading, "mermaid", source))

    @property
    def effective_level(self) -> str:
        """The headline colour: ``level`` if set, else from the status and the caveats."""
        if self.status != "Succeeded":
            return "bad"
        if self.level:
            return self.level
        return "warn" if self.caveats else "ok"

    @property
    def status_label(self) -> str:
        """The status as the page shows it (``Succeeded with caveats``...)."""
        if self.status == "Succeeded" and (self.caveats or self.level in ("warn", "bad")):
            return "Succeeded with caveats"
        return self.status

    def default_numbers(self, limit: int = 4) -> list[dict[str, Any]]:
        """The first ``limit`` scalar numeric metrics, labelled (when no headline was set)."""
        out = []
        for key, value in self.metrics.items():
            if isinstance(value, bool) or not isinstance(value, int | float):
                continue
            out.append({"label": human_label(key), "value": value, "note": ""})
            if len(out) >= limit:
                break
        return out

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
                    "headline": {
                        "verdict": self.verdict or self._default_verdict(),
                        "level": self.effective_level,
                        "status_label": self.status_label,
                        "key_numbers": self.key_numbers or self.default_numbers(),
                        "caveats": self.caveats,
                        "next_steps": self.next_steps,
                    },
                    "settings": self.settings,
                    "metrics": self.metrics,
                    "artifacts": self.artifacts,
                    "artifact_paths": self.artifact_paths,
                    "timings": self.timings,
                    "details": self.details,
                }
            )
        )

    def _default_verdict(self) -> str:
        what = self.title or self.name
        if self.status == "Succeeded":
            return f"{what}: the run completed."
        return f"{what}: the run {self.status.lower()}."

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
        """The self-contained HTML page (no remote resources)."""
        data = data or self.to_dict()
        esc = html.escape
        head = data["headline"]
        level = head["level"]
        title = esc(self.title or self.name)
        has_mermaid = any(kind == "mermaid" for _, kind, _ in self.sections)
        parts = [
            "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
            "<meta name='viewport' content='width=device-width, initial-scale=1'>",
            f"<title>{title}</title><style>{_CSS}</style></head><body>",
            f"<section id='headline' class='hero lvl-{level}'>",
            f"<p class='badge lvl-{level}' id='status'>{esc(head['status_label'])}</p>",
            f"<h1>{title}</h1>",
            f"<p class='verdict' id='verdict'>{esc(redact(head['verdict']))}</p>",
        ]
        if head["key_numbers"]:
            parts.append("<div class='numbers' id='key-numbers'>")
            for n in head["key_numbers"]:
                note = f"<div class='note'>{esc(str(n['note']))}</div>" if n.get("note") else ""
                parts.append(
                    f"<div class='num'><div class='v'>{esc(fmt_number(n['value']))}</div>"
                    f"<div class='l'>{esc(str(n['label']))}</div>{note}</div>"
                )
            parts.append("</div>")
        if head["caveats"]:
            parts.append(
                "<div class='caveats' id='caveats'><b>Caveats</b><ul>"
                + "".join(f"<li>{esc(str(c))}</li>" for c in head["caveats"])
                + "</ul></div>"
            )
        if head["next_steps"]:
            parts.append(
                "<div class='next' id='next-steps'><b>Next steps</b><ul>"
                + "".join(f"<li>{esc(str(c))}</li>" for c in head["next_steps"])
                + "</ul></div>"
            )
        parts.append("</section>")
        parts.append("<section id='settings'><h2>Run settings</h2>")
        parts.append(_kv_table(self._settings_rows(data)))
        parts.append("</section>")
        for i, (heading, kind, payload) in enumerate(self.sections):
            parts.append(f"<section id='s{i}'><h2>{esc(heading)}</h2>")
            parts.append(self._section_html(heading, kind, payload))
            parts.append("</section>")
        if data["artifacts"]:
            rows = []
            paths = data.get("artifact_paths") or {}
            for key, value in data["artifacts"].items():
                value = str(value)
                uri, path = _location(value, paths.get(key))
                rows.append(
                    {"artifact": human_label(key), "URI or name": uri, "path on disk": path}
                )
            parts.append("<section id='artifacts'><h2>Artifacts</h2>" + _table(rows) + "</section>")
        if data["timings"]:
            parts.append(
                "<section id='timings'><h2>Timings</h2>"
                + _table(
                    [
                        {"phase": human_label(k), "seconds": round(float(v), 1)}
                        for k, v in data["timings"].items()
                        if v is not None
                    ]
                )
                + "</section>"
            )
        if data["metrics"]:
            rows = [
                {"key": r["metric"], "label": human_label(r["metric"]), "value": r["value"]}
                for r in _flatten_rows(data["metrics"])
            ]
            parts.append(
                f"<details id='all-metrics'><summary>All metrics ({len(rows)}, raw keys as in "
                "report.json)</summary>" + _table(rows) + "</details>"
            )
        if data["details"]:
            text = json.dumps(data["details"], indent=2, default=str)
            if len(text) > 200_000:
                text = text[:200_000] + "\n... (truncated; see report.json)"
            parts.append(
                "<details id='run-details'><summary>Run details (JSON)</summary>"
                f"<pre>{esc(text)}</pre></details>"
            )
        if has_mermaid:
            parts.append(_mermaid_script())
        parts.append("</body></html>\n")
        return "".join(parts)

    def _settings_rows(self, data: dict[str, Any]) -> list[tuple[str, str]]:
        settings = dict(data.get("settings") or {})
        rows: list[tuple[str, str]] = []
        mode = settings.pop("mode", None)
        if mode is None and isinstance(self.details.get("config"), dict):
            mode = "quick" if self.details["config"].get("quick") else "full"
        if mode:
            rows.append(("Mode", str(mode)))
        for key, value in settings.items():
            if isinstance(value, dict):
                text = ", ".join(f"{k}={v}" for k, v in value.items()) or "(none)"
            elif isinstance(value, list | tuple):
                text = " ".join(str(v) for v in value) or "(none)"
            else:
                text = fmt_number(value)
            rows.append((human_label(key) if key.islower() else key, text))
        total = data["timings"].get("total") if data.get("timings") else None
        if total is not None:
            rows.append(("Duration", f"{float(total):.1f} s"))
        machine = data["machine"]
        rows.append(("Created", str(data["created"])))
        rows.append(
            ("Machine", f"{machine['cores']} cores, Python {machine['python']}, "
             f"{machine['platform']}")
        )  # fmt: skip
        return rows

    @staticmethod
    def _section_html(heading: str, kind: str, payload: Any) -> str:
        esc = html.escape
        if kind == "text":
            text = redact(str(payload))
            if "\n" in text.strip():
                return f"<pre>{esc(text)}</pre>"
            return f"<p>{esc(text)}</p>"
        if kind == "code":
            return f"<pre class='code'><code>{esc(redact(str(payload)))}</code></pre>"
        if kind == "table":
            return _table(redact(to_jsonable(payload)))
        if kind == "drift":
            return _drift_table(payload)
        if kind == "figure":
            b64 = base64.b64encode(payload[1]).decode()
            return f"<img alt='{esc(heading)}' src='data:image/png;base64,{b64}'>"
        if kind == "mermaid":
            return f"<div class='diagram'><pre class='mermaid'>{esc(payload)}</pre></div>"
        return f"<pre>{esc(str(payload))}</pre>"


_CSS = (
    "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;max-width:1180px;"
    "margin:1.2em auto;padding:0 1em;color:#1d2329;line-height:1.4}"
    "h1{margin:.1em 0 .2em;font-size:1.7em}h2{margin-top:1.6em;font-size:1.25em;"
    "border-bottom:1px solid #e3e6e8;padding-bottom:.2em}"
    ".hero{border-radius:8px;padding:1em 1.3em;border-left:8px solid #2e7d32;"
    "background:#f3f8f3}.hero.lvl-warn{border-color:#d08a00;background:#fdf7ea}"
    ".hero.lvl-bad{border-color:#c62828;background:#fcefef}"
    ".badge{display:inline-block;margin:0;padding:2px 10px;border-radius:12px;font-weight:600;"
    "font-size:.85em;color:#fff;background:#2e7d32}.badge.lvl-warn{background:#b26a00}"
    ".badge.lvl-bad{background:#c62828}.verdict{font-size:1.15em;margin:.3em 0 .8em}"
    ".numbers{display:flex;flex-wrap:wrap;gap:.8em;margin:.4em 0}"
    ".num{background:#fff;border:1px solid #dde1e4;border-radius:6px;padding:.5em .9em;"
    "min-width:9em}.num .v{font-size:1.6em;font-weight:650}.num .l{font-size:.85em;color:#555}"
    ".num .note{font-size:.75em;color:#777}.caveats{background:#fff4d6;border:1px solid #e8c66a;"
    "border-radius:6px;padding:.4em .9em;margin:.6em 0}.next{margin:.6em 0}"
    ".caveats ul,.next ul{margin:.2em 0;padding-left:1.3em}"
    "table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #d6dadd;"
    "padding:3px 8px;text-align:left;font-size:14px;vertical-align:middle}th{background:#f1f3f4}"
    "td.n{text-align:right;font-variant-numeric:tabular-nums}"
    "tr.drifted td{background:#fdecea}img{max-width:100%}"
    "pre{background:#f6f8fa;padding:8px 10px;overflow:auto;font-size:13px;border-radius:4px}"
    ".diagram{overflow-x:auto}.diagram pre.mermaid{background:none}"
    "details{margin-top:1.2em}summary{cursor:pointer;font-weight:600}"
    ".ok{color:#2e7d32}.bad{color:#c62828}"
)


def _mermaid_script() -> str:
    """The shipped mermaid, inlined, and its start-up (readable font, natural width)."""
    try:
        library = _MERMAID_JS.read_text(encoding="utf-8")
    except OSError:  # pragma: no cover - a broken install: the source stays readable
        return ""
    library = library.replace("</script", "<\\/script")
    init = (
        "mermaid.initialize({startOnLoad:true,securityLevel:'strict',theme:'default',"
        "themeVariables:{fontSize:'16px'},flowchart:{useMaxWidth:false,htmlLabels:true}});"
    )
    return f"<script>{library}</script><script>{init}</script>"


def _location(value: str, path: str | None) -> tuple[str, str]:
    """``(URI or name, path on disk)`` of one artifact value."""
    if value.startswith("s3://"):
        return value, path or ""
    if value.startswith("/") or value.startswith("./") or Path(value).suffix:
        return "", path or value
    return value, path or ""


def _kv_table(rows: list[tuple[str, str]]) -> str:
    esc = html.escape
    body = "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in rows)
    return f"<table class='kv'>{body}</table>"


def _sparkline(baseline: Any, current: Any, width: int = 180, height: int = 40) -> str:
    """Two step histograms as an inline SVG: baseline grey (filled), current orange."""
    series = [(h, c) for h, c in ((baseline, "#9aa5b1"), (current, "#e8710a")) if h]
    series = [(h, c) for h, c in series if len(h) == 2 and len(h[0]) >= 2 and len(h[1]) >= 1]
    if not series:
        return ""
    lo = min(float(h[0][0]) for h, _ in series)
    hi = max(float(h[0][-1]) for h, _ in series)
    top = max(max(float(v) for v in h[1]) for h, _ in series) or 1.0
    span = (hi - lo) or 1.0
    shapes = []
    for i, ((edges, fracs), color) in enumerate(series):
        pts = [f"0,{height}"]
        for k, frac in enumerate(fracs):
            x0 = (float(edges[k]) - lo) / span * width
            x1 = (float(edges[k + 1]) - lo) / span * width if k + 1 < len(edges) else width
            y = height - float(frac) / top * (height - 2)
            pts.append(f"{x0:.1f},{y:.1f} {x1:.1f},{y:.1f}")
        pts.append(f"{width},{height}")
        if i == 0 and len(series) == 2:
            shapes.append(
                f"<polygon points='{' '.join(pts)}' fill='{color}' fill-opacity='.45' "
                "stroke='none'/>"
            )
        else:
            shapes.append(
                f"<polyline points='{' '.join(pts)}' fill='none' stroke='{color}' "
                "stroke-width='1.6'/>"
            )
    return (
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' "
        f"viewBox='0 0 {width} {height}' role='img'>{''.join(shapes)}</svg>"
    )


def _drift_table(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "<p><i>(none)</i></p>"
    esc = html.escape
    fixed = ["feature", "test", "statistic", "threshold", "drifted"]
    extra: list[str] = []
    for row in rows:
        for key in row:
            if key not in fixed and key not in ("baseline", "current") and key not in extra:
                extra.append(key)
    cols = fixed + extra
    head = "".join(f"<th>{esc(c)}</th>" for c in cols) + (
        "<th>distribution <span style='color:#7b8794'>&#9632; baseline</span> "
        "<span style='color:#e8710a'>&#9472; current</span></th>"
    )
    body = []
    for row in rows:
        drifted = bool(row.get("drifted"))
        cells = []
        for c in cols:
            value = row.get(c)
            if c == "drifted":
                text = "<b class='bad'>drifted</b>" if drifted else "<span class='ok'>no</span>"
                cells.append(f"<td>{text}</td>")
            elif isinstance(value, int | float) and not isinstance(value, bool):
                cells.append(f"<td class='n'>{esc(fmt_number(value))}</td>")
            else:
                cells.append(f"<td>{esc(_fmt(redact(to_jsonable(value))))}</td>")
        cells.append(f"<td>{_sparkline(row.get('baseline'), row.get('current'))}</td>")
        body.append(f"<tr class='{'drifted' if drifted else ''}'>{''.join(cells)}</tr>")
    return f"<table class='drift'><tr>{head}</tr>{''.join(body)}</table>"


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

    def cell(value: Any) -> str:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return f"<td class='n'>{esc(_fmt(value))}</td>"
        return f"<td>{esc(_fmt(value))}</td>"

    head = "".join(f"<th>{esc(str(c))}</th>" for c in cols)
    body = "".join("<tr>" + "".join(cell(row.get(c)) for c in cols) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _fmt(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float | int) and not isinstance(value, bool):
        return fmt_number(value)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return ", ".join(value) if value else "(none)"
    if isinstance(value, dict | list):
        return json.dumps(value)
    if isinstance(value, str):
        text = value.replace("+/- 0.0 ", "")
        return _LONG_FLOAT.sub(lambda m: fmt_number(float(m.group())), text)
    return str(value)


#: Floats written with many digits inside a text (a violation's description).
_LONG_FLOAT = re.compile(r"(?<![\w.])\d+\.\d{5,}(?![\w.])")


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
