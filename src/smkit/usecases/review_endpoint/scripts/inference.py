"""Inference hooks for ``review-endpoint`` (SageMaker inference toolkit; never imports smkit).

Requests:

- ``application/json``: ``{"instances": ["text", ...]}`` (also a bare list of texts, one text as
  a JSON string, or records ``{"<text column>": "..."}`` inside ``instances``);
- ``text/csv``: one text per row (a single column; a header named like the training text
  column is skipped).

Texts are cleaned exactly as in training (`text_clean.clean_text`). Responses are the
probabilities of the positive class: ``application/json`` (default) ``{"predictions": [p, ...]}``
or ``text/csv`` with one probability per line.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import lexicon  # noqa: E402, F401  (shipped next to this file; the pickled pipeline uses it)
from text_clean import clean_text  # noqa: E402  (shipped next to this file)

MODEL_FILE = "model.joblib"
MODEL_META = "review_model.json"


class CsvTexts(list):
    """Texts read from a CSV body (its first row may be a header)."""


class ReviewModel:
    """The fitted pipeline plus its metadata."""

    def __init__(self, pipeline: Any, meta: dict) -> None:
        self.pipeline = pipeline
        self.meta = meta

    def predict_proba(self, texts: list[str]) -> list[float]:
        """Positive-class probabilities for raw texts."""
        cleaned = [clean_text(t) for t in texts]
        return [float(p) for p in self.pipeline.predict_proba(cleaned)[:, 1]]


def model_fn(model_dir: str) -> ReviewModel:
    """Load ``model.joblib`` and ``review_model.json`` from ``model_dir``."""
    import joblib

    root = Path(model_dir)
    path = root / MODEL_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: is {root} a review-endpoint model directory?")
    meta_path = root / MODEL_META
    meta = json.loads(meta_path.read_text()) if meta_path.is_file() else {}
    return ReviewModel(joblib.load(path), meta)


def _mime(content_type: str | None) -> str:
    return (content_type or "").split(";")[0].strip().lower()


def _as_text(item: Any, text_column: str | None) -> str:
    if isinstance(item, str):
        return item
    if item is None:
        return ""
    if isinstance(item, dict):
        for key in (text_column, "text", "review", "Review Text"):
            if key and key in item:
                return "" if item[key] is None else str(item[key])
        raise ValueError(f"record {item!r} has no text field (expected {text_column!r} or 'text')")
    raise ValueError(f"instances must be strings or records, got {type(item).__name__}")


def input_fn(body: bytes | str, content_type: str = "application/json") -> list[Any]:
    """Parse a request body into a list of texts (or records holding one)."""
    text = body.decode("utf-8") if isinstance(body, (bytes, bytearray)) else str(body)
    mime = _mime(content_type)
    if mime in ("application/json", ""):
        data = json.loads(text)
        if isinstance(data, dict):
            if "instances" not in data:
                raise ValueError('JSON input must look like {"instances": ["text", ...]}')
            data = data["instances"]
        if isinstance(data, str):
            data = [data]
        if not isinstance(data, list):
            raise ValueError('JSON input must look like {"instances": ["text", ...]}')
        return data
    if mime in ("text/csv", "text/plain"):
        rows = [r for r in csv.reader(io.StringIO(text)) if r]
        if any(len(r) != 1 for r in rows):
            raise ValueError("CSV input must have exactly one column: the review text")
        return CsvTexts(r[0] for r in rows)
    raise ValueError(f"unsupported content type {content_type!r}; use application/json or text/csv")


def predict_fn(data: list[Any], model: ReviewModel) -> list[float]:
    """Positive-class probabilities, one per instance."""
    column = model.meta.get("text_column")
    texts = [_as_text(item, column) for item in data]
    if isinstance(data, CsvTexts) and texts and texts[0].strip() in (column, "text"):
        texts = texts[1:]  # a CSV header row
    if not texts:
        return []
    return model.predict_proba(texts)


def output_fn(prediction: list[float], accept: str | None = "application/json"):
    """Serialize probabilities; returns ``(body, content_type)``."""
    mime = _mime(accept)
    if mime in ("", "*/*", "application/json"):
        return json.dumps({"predictions": prediction}), "application/json"
    if mime == "text/csv":
        return "".join(f"{p}\n" for p in prediction), "text/csv"
    raise ValueError(f"unsupported accept type {accept!r}; use application/json or text/csv")
