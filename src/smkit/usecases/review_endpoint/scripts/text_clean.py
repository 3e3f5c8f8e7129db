"""Cleaning, deduplication and label mapping for review text (pure Python + pandas).

No smkit import: this module ships inside the training and inference containers next to
``train.py`` and ``inference.py``.

Label columns may hold 0/1, booleans (``True``/``"false"``/``"yes"`` ...), two distinct strings
(``positive_value`` says which is positive) or a numeric rating (``label_threshold``: positive
when rating >= threshold). Rows whose label fits none of these are dropped and counted.
"""

from __future__ import annotations

import html
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable
from typing import Any

import pandas as pd

__all__ = [
    "LabelMapping",
    "clean_text",
    "map_labels",
    "prepare",
    "stratified_split",
]

_SPACE = re.compile(r"\s+")
_TRUE = {"1", "1.0", "true", "t", "yes", "y"}
_FALSE = {"0", "0.0", "false", "f", "no", "n"}


def _missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def clean_text(value: Any) -> str:
    """Normalise one review text.

    Decodes HTML entities (twice, for double-escaped ``&amp;#39;``), normalises Unicode (NFKC),
    drops control characters, collapses whitespace (line breaks included) and strips.
    Missing values become ``""``.

    Args:
        value: A string, ``None`` or NaN.

    Returns:
        The cleaned text.
    """
    if _missing(value):
        return ""
    text = str(value)
    for _ in range(2):
        decoded = html.unescape(text)
        if decoded == text:
            break
        text = decoded
    text = unicodedata.normalize("NFKC", text)
    text = "".join(
        ch if unicodedata.category(ch)[0] != "C" or ch in "\n\t\r" else " " for ch in text
    )
    return _SPACE.sub(" ", text).strip()


class LabelMapping:
    """How label values were mapped to 0/1 (for reports).

    Attributes:
        kind: ``"binary"``, ``"strings"`` or ``"threshold"``.
        positive: What counts as positive (a value, or ``">= N"``).
        negative: What counts as negative.
    """

    def __init__(self, kind: str, positive: str, negative: str) -> None:
        self.kind = kind
        self.positive = positive
        self.negative = negative

    def as_dict(self) -> dict[str, str]:
        """A JSON-friendly form."""
        return {"kind": self.kind, "positive": self.positive, "negative": self.negative}

    def __repr__(self) -> str:
        return (
            f"LabelMapping({self.kind!r}, positive={self.positive!r}, negative={self.negative!r})"
        )


def _norm(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def map_labels(
    values: Iterable[Any],
    *,
    positive_value: Any = None,
    negative_value: Any = None,
    label_threshold: float | None = None,
) -> tuple[list[int | None], LabelMapping]:
    """Map raw label values to 1 (positive), 0 (negative) or ``None`` (drop the row).

    Args:
        values: The label column.
        positive_value: The positive value when the column holds two distinct strings.
        negative_value: The negative value; by default the most frequent value other than
            ``positive_value`` (any further values are dropped).
        label_threshold: For a numeric rating: positive when ``rating >= label_threshold``.

    Returns:
        ``(labels, mapping)``.

    Raises:
        ValueError: When the column cannot be read as a binary label with the given options
            (the message says which option to set), or when only one class remains.
    """
    raw = list(values)
    if label_threshold is not None and positive_value is not None:
        raise ValueError("set either positive_value or label_threshold, not both")
    if label_threshold is not None:
        threshold = float(label_threshold)
        labels: list[int | None] = []
        for v in raw:
            try:
                number = float(v)
            except (TypeError, ValueError):
                labels.append(None)
                continue
            labels.append(None if math.isnan(number) else int(number >= threshold))
        mapping = LabelMapping("threshold", f">= {threshold:g}", f"< {threshold:g}")
        _check_classes(labels, mapping)
        return labels, mapping

    keys = [None if _missing(v) else _norm(v) for v in raw]
    if positive_value is not None:
        pos = _norm(positive_value)
        if pos not in keys:
            seen = sorted({k for k in keys if k is not None})[:10]
            raise ValueError(
                f"positive_value {pos!r} does not occur in the label column; seen {seen}"
            )
        if negative_value is not None:
            neg = _norm(negative_value)
        else:
            others = Counter(k for k in keys if k is not None and k != pos)
            if not others:
                raise ValueError(f"the label column holds only {pos!r}: need a negative class")
            neg = others.most_common(1)[0][0]
        labels = [1 if k == pos else 0 if k == neg else None for k in keys]
        mapping = LabelMapping("strings", pos, neg)
        _check_classes(labels, mapping)
        return labels, mapping

    lowered = [None if k is None else k.lower() for k in keys]
    labels = [1 if k in _TRUE else 0 if k in _FALSE else None for k in lowered]
    known = sum(v is not None for v in labels)
    distinct = sorted({k for k in keys if k is not None})
    if known == 0 or (known < len(labels) / 2 and len(distinct) >= 2):
        if all(_is_number(k) for k in distinct) and len(distinct) > 2:
            raise ValueError(
                f"the label column looks like a numeric rating ({distinct[:10]}); set "
                "label_threshold=N (positive when rating >= N)"
            )
        raise ValueError(
            f"the label column holds {distinct[:10]}, not 0/1 or booleans; set positive_value=V "
            "to say which value is positive"
        )
    mapping = LabelMapping("binary", "1/true", "0/false")
    _check_classes(labels, mapping)
    return labels, mapping


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _check_classes(labels: list[int | None], mapping: LabelMapping) -> None:
    present = {v for v in labels if v is not None}
    if present != {0, 1}:
        raise ValueError(
            f"after label mapping {mapping.as_dict()} only class(es) {sorted(present)} remain; "
            "a binary classifier needs both"
        )


def prepare(
    df: pd.DataFrame,
    *,
    text_column: str = "Review Text",
    label_column: str = "Recommended IND",
    positive_value: Any = None,
    negative_value: Any = None,
    label_threshold: float | None = None,
    keep_columns: Iterable[str] = (),
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Clean texts, map labels, drop empty texts and bad labels, remove duplicate texts.

    Duplicates are found on the cleaned, case-folded text; the first row is kept (when copies
    disagree on the label, they are counted as ``conflicting_duplicates``).

    Args:
        df: The raw frame.
        text_column: The review-text column.
        label_column: The label column.
        positive_value: See `map_labels`.
        negative_value: See `map_labels`.
        label_threshold: See `map_labels`.
        keep_columns: Extra columns to carry along (e.g. a row id).

    Returns:
        ``(frame, stats)``: the frame has ``row_id`` (the input's row position), ``text``,
        ``label`` (0/1) and ``keep_columns``; ``stats`` counts what was dropped and why.

    Raises:
        ValueError: When a column is missing or the labels cannot be mapped.
    """
    missing = [c for c in (text_column, label_column, *keep_columns) if c not in df.columns]
    if missing:
        raise ValueError(f"missing column(s) {missing}; the file has {list(df.columns)}")
    texts = [clean_text(v) for v in df[text_column].tolist()]
    labels, mapping = map_labels(
        df[label_column].tolist(),
        positive_value=positive_value,
        negative_value=negative_value,
        label_threshold=label_threshold,
    )
    out = pd.DataFrame({"row_id": range(len(df)), "text": texts, "label": labels})
    for col in keep_columns:
        out[col] = df[col].to_numpy()
    stats: dict[str, Any] = {"rows_in": len(df), "label_mapping": mapping.as_dict()}
    empty = out["text"] == ""
    stats["dropped_empty_text"] = int(empty.sum())
    out = out[~empty]
    bad = out["label"].isna()
    stats["dropped_bad_label"] = int(bad.sum())
    out = out[~bad].copy()
    out["label"] = out["label"].astype(int)
    key = out["text"].str.casefold()
    dup = key.duplicated(keep="first")
    labels_per_text = out.groupby(key)["label"].nunique()
    stats["dropped_duplicates"] = int(dup.sum())
    stats["conflicting_duplicates"] = int((labels_per_text > 1).sum())
    out = out[~dup].reset_index(drop=True)
    stats["rows_out"] = len(out)
    stats["positives"] = int(out["label"].sum())
    stats["negatives"] = int(len(out) - out["label"].sum())
    return out, stats


def stratified_split(
    df: pd.DataFrame,
    *,
    fractions: dict[str, float],
    label_column: str = "label",
    seed: int = 0,
) -> dict[str, pd.DataFrame]:
    """Split rows per class into named parts (e.g. ``{"validation": 0.2, "test": 0.2}``).

    The rest goes to ``"train"``. Deterministic for a given ``seed``.

    Args:
        df: The rows.
        fractions: Part name -> fraction of the rows (sum < 1).
        label_column: The class column to stratify on.
        seed: Shuffle seed.

    Returns:
        Part name -> frame (``"train"`` first), each with a fresh index.

    Raises:
        ValueError: When the fractions are not in (0, 1) or sum to 1 or more.
    """
    if any(not 0 < f < 1 for f in fractions.values()) or sum(fractions.values()) >= 1:
        raise ValueError(f"fractions must each be in (0, 1) and sum below 1, got {fractions}")
    import numpy as np

    rng = np.random.default_rng(seed)
    parts: dict[str, list[int]] = {"train": [], **{name: [] for name in fractions}}
    for _, group in df.groupby(label_column, sort=True):
        idx = rng.permutation(group.index.to_numpy())
        start = 0
        for name, frac in fractions.items():
            n = round(len(idx) * frac)
            parts[name].extend(idx[start : start + n].tolist())
            start += n
        parts["train"].extend(idx[start:].tolist())
    return {name: df.loc[sorted(rows)].reset_index(drop=True) for name, rows in parts.items()}
