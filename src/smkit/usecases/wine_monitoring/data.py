"""Data helpers of ``wine-monitoring``: the wine table, the drift, ground truth, captures.

Everything here is plain data handling (pandas / numpy, imported inside functions); the
flow itself is in `smkit.usecases.wine_monitoring`.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

__all__ = [
    "LABEL",
    "apply_drift",
    "ground_truth_lines",
    "labelled_capture",
    "load_wine_frame",
]

#: The label column of the staged table (written first, without a header).
LABEL = "target"


def load_wine_frame(target_class: int = 0) -> tuple[Any, list[str]]:
    """sklearn's wine data (shipped with scikit-learn) as ``target`` + 13 features.

    The binary target is 1 for cultivar ``target_class`` and 0 for the two others.

    Returns:
        ``(frame, feature_names)``; the frame also keeps ``cultivar`` (0-2) last.
    """
    from sklearn.datasets import load_wine

    data = load_wine(as_frame=True)
    features = [str(c) for c in data.data.columns]
    frame = data.data.copy()
    frame.insert(0, LABEL, (data.target == target_class).astype(int))
    frame["cultivar"] = data.target.astype(int)
    return frame, features


def apply_drift(frame: Any, shifts: dict[str, float]) -> Any:
    """A copy of ``frame`` with ``shifts[column]`` added to each named column."""
    out = frame.copy()
    for column, amount in shifts.items():
        out[column] = out[column] + amount
    return out


def ground_truth_lines(labels: dict[str, Any]) -> str:
    """Model Monitor ground-truth JSON lines (FORMATS.md §1) for ``inference id → label``.

    ``eventMetadata.eventId`` holds the inference id the request was sent with, which is
    what Model Monitor matches on when the capture carries an ``inferenceId``.
    """
    lines = [
        json.dumps(
            {
                "groundTruthData": {"data": str(int(label)), "encoding": "CSV"},
                "eventMetadata": {"eventId": inference_id},
                "eventVersion": "0",
            }
        )
        for inference_id, label in labels.items()
    ]
    return "\n".join(lines) + "\n"


def ground_truth_key(prefix: str, when: datetime) -> str:
    """Where one ground-truth upload goes: ``{prefix}/yyyy/mm/dd/hh/{uuid}.jsonl``."""
    return f"{prefix.rstrip('/')}/{when:%Y/%m/%d/%H}/{uuid.uuid4()}.jsonl"


def labelled_capture(
    capture_lines: Iterable[str],
    labels: dict[str, Any],
    feature_names: Sequence[str],
    *,
    id_prefix: str = "",
) -> Any:
    """Captured requests joined with their ground truth: a frame of ``target`` + features.

    Reads SageMaker capture JSONL lines (one CSV row per request), keeps the requests whose
    ``inferenceId`` starts with ``id_prefix`` and has a label in ``labels``.
    """
    import pandas as pd

    from smkit.monitoring.engines.capture import iter_capture_records, payload_text

    rows: list[list[float]] = []
    for record in iter_capture_records(capture_lines):
        inference_id = record.inference_id or ""
        if not inference_id.startswith(id_prefix) or inference_id not in labels:
            continue
        if record.input is None:
            continue
        text = payload_text(record.input).strip()
        values = [float(v) for v in text.split(",")]
        if len(values) != len(feature_names):
            continue
        rows.append([float(labels[inference_id]), *values])
    frame = pd.DataFrame(rows, columns=[LABEL, *feature_names])
    frame[LABEL] = frame[LABEL].astype(int)
    return frame
