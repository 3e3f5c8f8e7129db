"""The one reader of SageMaker's endpoint capture JSONL (FORMATS.md §1).

Every place that parses capture lines goes through here: the data-quality analyzer
(`iter_capture_rows`), the model-quality ground-truth merge, the local monitoring
executions (window filter on ``inferenceTime``) and the use cases that read back what an
endpoint answered. A line is one JSON object::

    {"captureData": {"endpointInput": {...}, "endpointOutput": {...}},
     "eventMetadata": {"eventId": "...", "inferenceId": "...", "inferenceTime": "..."},
     "eventVersion": "0"}

and each part holds ``data`` as sent, ``encoding`` (``CSV``, ``JSON`` or ``BASE64``) and
``observedContentType``. Corrupt lines are skipped and counted in a `ReadStats`.
"""

from __future__ import annotations

import base64
import csv
import io
import json
from collections.abc import Iterable, Iterator
from typing import Any

__all__ = [
    "CaptureRecord",
    "field_text",
    "first_value",
    "ReadStats",
    "iter_capture_records",
    "iter_capture_rows",
    "parse_capture_line",
    "payload_rows",
    "payload_text",
]

#: What a corrupt line raises while it is parsed (each is counted by its class name).
CORRUPT = (KeyError, TypeError, ValueError, AttributeError, RecursionError)


class ReadStats:
    """Counts of what a reader skipped (corrupt capture lines...)."""

    def __init__(self) -> None:
        self.lines = 0
        self.skipped = 0
        self.reasons: dict[str, int] = {}

    def skip(self, reason: str) -> None:
        """Count one skipped line under ``reason``."""
        self.skipped += 1
        self.reasons[reason] = self.reasons.get(reason, 0) + 1

    def to_dict(self) -> dict[str, Any]:
        """``{"lines", "skipped", "reasons"}``."""
        return {"lines": self.lines, "skipped": self.skipped, "reasons": dict(self.reasons)}


class CaptureRecord:
    """One parsed capture line.

    Attributes:
        input: The ``endpointInput`` part (a dict), or ``None``.
        output: The ``endpointOutput`` part, or ``None``.
        metadata: ``eventMetadata`` (a dict, possibly empty).
    """

    __slots__ = ("input", "metadata", "output")

    def __init__(
        self, input: dict[str, Any] | None, output: dict[str, Any] | None, metadata: dict[str, Any]
    ) -> None:
        self.input = input
        self.output = output
        self.metadata = metadata

    @property
    def event_id(self) -> str | None:
        value = self.metadata.get("eventId")
        return None if value is None else str(value)

    @property
    def inference_id(self) -> str | None:
        value = self.metadata.get("inferenceId")
        return None if value is None else str(value)

    @property
    def inference_time(self) -> str | None:
        value = self.metadata.get("inferenceTime")
        return None if value is None else str(value)

    @property
    def key(self) -> str:
        """The ground-truth join key: ``inferenceId`` when present, else ``eventId``.

        Raises:
            KeyError: the line has neither.
        """
        key = self.metadata.get("inferenceId") or self.metadata["eventId"]
        return str(key)


def parse_capture_line(line: str) -> CaptureRecord:
    """Parse one capture line.

    Raises:
        ValueError: not JSON (``json.JSONDecodeError``) or not a capture object.
        KeyError, TypeError, AttributeError, RecursionError: a malformed object.
    """
    obj = json.loads(line)
    if not isinstance(obj, dict):
        raise ValueError("a capture line is a JSON object")
    capture = obj["captureData"]
    if not isinstance(capture, dict):
        raise TypeError("captureData is not an object")
    meta = obj.get("eventMetadata") or {}
    if not isinstance(meta, dict):
        raise TypeError("eventMetadata is not an object")
    return CaptureRecord(capture.get("endpointInput"), capture.get("endpointOutput"), meta)


def iter_capture_records(
    lines: Iterable[str | CaptureRecord], stats: ReadStats | None = None
) -> Iterator[CaptureRecord]:
    """Parsed records of capture lines; blank lines are ignored, corrupt ones counted.

    Items already parsed (`CaptureRecord`) pass through unchanged, so a caller that
    filtered records (by time, say) hands them on without a second parse.
    """
    for line in lines:
        if isinstance(line, CaptureRecord):
            if stats is not None:
                stats.lines += 1
            yield line
            continue
        text = line.strip()
        if not text:
            continue
        if stats is not None:
            stats.lines += 1
        try:
            record = parse_capture_line(text)
        except CORRUPT as exc:
            if stats is not None:
                stats.skip(type(exc).__name__)
            continue
        yield record


def payload_text(part: dict[str, Any]) -> str:
    """A part's ``data`` as text (base64 decoded when ``encoding`` is ``BASE64``)."""
    data = part["data"]
    if str(part.get("encoding", "CSV")).upper() == "BASE64":
        return base64.b64decode(data).decode("utf-8")
    if not isinstance(data, str):
        raise TypeError("capture data is not text")
    return data


def payload_rows(part: dict[str, Any]) -> list[list[str]]:
    """A part's rows of text fields.

    CSV payloads may hold several rows; JSON payloads may hold a list, ``{"instances":
    [...]}`` (TF Serving), ``{"features": [...]}`` or one object (its values).

    Raises:
        ValueError: an empty or unparsable payload.
    """
    data = payload_text(part)
    encoding = str(part.get("encoding", "CSV")).upper()
    ctype = str(part.get("observedContentType", "")).lower()
    if encoding == "JSON" or "json" in ctype:
        obj = json.loads(data)
        if isinstance(obj, dict):
            for key in ("instances", "predictions", "inputs", "features", "data"):
                if key in obj:
                    obj = obj[key]
                    if key in ("instances", "predictions", "inputs") and isinstance(obj, list):
                        # TF Serving style: a list of instances, each a row or a scalar
                        return [
                            [field_text(v) for v in (r if isinstance(r, list) else [r])]
                            for r in obj
                        ]
                    break
            else:
                return [[field_text(v) for v in obj.values()]]
        if isinstance(obj, list):
            if obj and all(isinstance(r, list) for r in obj):
                return [[field_text(v) for v in r] for r in obj]
            if obj and all(isinstance(r, dict) for r in obj):
                return [[field_text(v) for v in r.values()] for r in obj]
            return [[field_text(v) for v in obj]]
        return [[field_text(obj)]]
    try:
        rows = [r for r in csv.reader(io.StringIO(data, newline="")) if r]
    except csv.Error as exc:  # e.g. a stray NUL: a corrupt record, counted by the caller
        raise ValueError(f"payload is not CSV: {exc}") from exc
    if not rows:
        raise ValueError("empty payload")
    return rows


def first_value(part: dict[str, Any]) -> str:
    """The first field of a part's first row (a prediction, a ground-truth label)."""
    rows = payload_rows(part)
    return rows[0][0] if rows and rows[0] else ""


def iter_capture_rows(
    lines: Iterable[str | CaptureRecord], stats: ReadStats, *, include_output: bool = True
) -> Iterator[list[str]]:
    """Rows (lists of text fields) of capture lines, output columns first
    (``output_columns_position: START``), then the input columns.

    A single output row with one value per input row is split, one prediction per row.
    Corrupt lines are skipped and counted in ``stats``.
    """
    for record in iter_capture_records(lines, stats):
        try:
            if record.input is None:
                raise KeyError("endpointInput")
            inputs = payload_rows(record.input)
            outputs: list[list[str]] = []
            if include_output:
                if record.output is None:
                    raise KeyError("endpointOutput")
                outputs = payload_rows(record.output)
        except CORRUPT as exc:
            stats.skip(type(exc).__name__)
            continue
        if include_output and outputs and len(outputs) != len(inputs):
            if len(outputs) == 1 and len(outputs[0]) == len(inputs):
                outputs = [[v] for v in outputs[0]]  # one prediction per input row
            else:
                stats.skip("row count mismatch")
                continue
        for i, row in enumerate(inputs):
            yield (outputs[i] if include_output and outputs else []) + row


def field_text(value: Any) -> str:
    """A JSON value as a text field: null empty, booleans lower-case, floats by repr."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, dict | list):
        return json.dumps(value)
    return str(value)
