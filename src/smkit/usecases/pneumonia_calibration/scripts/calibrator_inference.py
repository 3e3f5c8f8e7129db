"""The calibrator alone: second container of a serial inference pipeline (numpy only).

It receives the first container's JSON (``inference.py`` run without ``calibrator.json``),
one prediction or ``{"predictions": [...]}`` each with a ``logit``, and fills in
``calibrated_probability``, ``calibration_method``, ``threshold`` and ``predicted_label``.
It also accepts ``text/csv`` (one logit per line). The model directory holds
``calibrator.json`` and, optionally, ``model_meta.json`` (for the decision threshold).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))


def model_fn(model_dir: str) -> dict:
    """Load ``calibrator.json`` (and the threshold from ``model_meta.json`` if present)."""
    import calibration

    d = Path(model_dir)
    cal = calibration.calibrator_from_dict(json.loads((d / "calibrator.json").read_text()))
    thr = None
    if (d / "model_meta.json").is_file():
        thr = json.loads((d / "model_meta.json").read_text()).get("threshold")
    return {"calibrator": cal, "threshold": thr}


def input_fn(body: bytes | str, content_type: str | None) -> list[dict]:
    """Predictions with a ``logit`` each."""
    ctype = (content_type or "application/json").split(";")[0].strip().lower()
    text = body.decode() if isinstance(body, bytes) else body
    if ctype == "text/csv":
        return [{"logit": float(line.split(",")[0])} for line in text.splitlines() if line.strip()]
    if ctype != "application/json":
        raise ValueError(f"unsupported content type {content_type!r}; use application/json")
    data = json.loads(text)
    items = data["predictions"] if isinstance(data, dict) and "predictions" in data else data
    items = items if isinstance(items, list) else [items]
    if not all(isinstance(i, dict) and "logit" in i for i in items):
        raise ValueError('every prediction needs a "logit"')
    return items


def predict_fn(data: list[dict], model: dict) -> list[dict]:
    """Add the calibrated probability (and label, when a threshold is known)."""
    import calibration

    cal, thr = model["calibrator"], model["threshold"]
    calp = cal.predict([float(i["logit"]) for i in data])
    out = []
    for item, p in zip(data, calp, strict=True):
        new = dict(item)
        new.setdefault("raw_probability", float(calibration.sigmoid(float(item["logit"]))[0]))
        new["calibrated_probability"] = float(p)
        new["calibration_method"] = cal.method
        if thr is not None:
            new["threshold"] = float(thr)
            new["predicted_label"] = "PNEUMONIA" if p >= thr else "NORMAL"
        out.append(new)
    return out


def output_fn(prediction: list[dict], accept: str | None) -> tuple[str, str]:
    """JSON like ``inference.py``'s output."""
    body = prediction[0] if len(prediction) == 1 else {"predictions": prediction}
    return json.dumps(body), "application/json"
