"""Pneumonia classifier + calibrator as one endpoint (SageMaker inference-toolkit hooks).

Request bodies:

- ``application/x-image``, ``image/jpeg``, ``image/png``: one encoded image;
- ``application/json``: ``{"image": "<base64>"}``, ``{"instances": ["<base64>", ...]}`` or a
  list of base64 strings.

Response (``application/json``, the default): for one image ::

    {"raw_probability": 0.91, "calibrated_probability": 0.84, "logit": 2.3,
     "predicted_label": "PNEUMONIA", "threshold": 0.41, "calibration_method": "platt"}

(``predicted_label`` applies the decision threshold chosen for the target sensitivity to the
calibrated probability); for several, ``{"predictions": [...]}``. ``text/csv``: one
``raw_probability,calibrated_probability`` line per image.

Without ``calibrator.json`` in the model directory, or with the environment variable
``CALIBRATOR=off`` (the first container of a serial inference pipeline, which shares the
model artifact with the second), the calibrated fields are ``null`` and
``calibrator_inference.py`` adds them.
"""

from __future__ import annotations

import base64
import json
import os
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

IMAGE_TYPES = ("application/x-image", "image/jpeg", "image/png", "image/jpg")


def _base_type(content_type: str | None) -> str:
    return (content_type or "application/json").split(";")[0].strip().lower()


def model_fn(model_dir: str) -> dict:
    """Load the network, its preprocessing and (when present) the calibrator."""
    import calibration
    import cxr_net
    import torch

    torch.set_num_threads(1)
    d = Path(model_dir)
    meta = json.loads((d / "model_meta.json").read_text())
    net = cxr_net.build_model(meta["arch"], meta["width"])
    net.load_state_dict(torch.load(d / "model.pth", map_location="cpu", weights_only=True))
    net.eval()
    cal = None
    off = os.environ.get("CALIBRATOR", "").strip().lower() in ("off", "none", "0", "false")
    if (d / "calibrator.json").is_file() and not off:
        cal = calibration.calibrator_from_dict(json.loads((d / "calibrator.json").read_text()))
    return {"net": net, "meta": meta, "calibrator": cal}


def _decode_json(body: bytes | str) -> list[bytes]:
    data = json.loads(body)
    if isinstance(data, dict):
        if "image" in data:
            data = [data["image"]]
        elif "instances" in data:
            data = data["instances"]
        else:
            raise ValueError('JSON body needs "image" (base64) or "instances" (list of base64)')
    if isinstance(data, str):
        data = [data]
    if not isinstance(data, list) or not data or not all(isinstance(s, str) for s in data):
        raise ValueError("JSON body must hold base64-encoded images")
    return [base64.b64decode(s) for s in data]


def input_fn(body: bytes | str, content_type: str | None) -> list[bytes]:
    """Encoded image bytes, one per requested image."""
    ctype = _base_type(content_type)
    if ctype in IMAGE_TYPES:
        return [body if isinstance(body, bytes) else body.encode("latin-1")]
    if ctype == "application/json":
        return _decode_json(body)
    raise ValueError(
        f"unsupported content type {content_type!r}; use one of {IMAGE_TYPES} or "
        "application/json with base64 images"
    )


def predict_fn(data: list[bytes], model: dict) -> list[dict]:
    """Raw and calibrated probabilities of PNEUMONIA for each image."""
    import calibration
    import cxr_net

    meta = model["meta"]
    size = int(meta["image_size"])
    x = cxr_net.to_tensor(
        [cxr_net.load_image(b, size) for b in data], float(meta["mean"]), float(meta["std"])
    )
    z = cxr_net.logits(model["net"], x)
    raw = calibration.sigmoid(z)
    cal = model["calibrator"]
    calp = cal.predict(z) if cal is not None else None
    thr = meta.get("threshold")
    out = []
    for i in range(len(z)):
        item: dict[str, Any] = {
            "logit": float(z[i]),
            "raw_probability": float(raw[i]),
            "calibrated_probability": float(calp[i]) if calp is not None else None,
            "calibration_method": cal.method if cal is not None else None,
        }
        if calp is not None and thr is not None:
            item["threshold"] = float(thr)
            item["predicted_label"] = "PNEUMONIA" if calp[i] >= thr else "NORMAL"
        else:
            item["predicted_label"] = "PNEUMONIA" if raw[i] >= 0.5 else "NORMAL"
        out.append(item)
    return out


def output_fn(prediction: list[dict], accept: str | None) -> tuple[str, str]:
    """Serialise to JSON (default) or CSV."""
    atype = _base_type(accept)
    if atype in ("application/json", "*/*"):
        body = prediction[0] if len(prediction) == 1 else {"predictions": prediction}
        return json.dumps(body), "application/json"
    if atype == "text/csv":
        lines = []
        for p in prediction:
            calp = p["calibrated_probability"]
            lines.append(f"{p['raw_probability']},{'' if calp is None else calp}")
        return "\n".join(lines) + "\n", "text/csv"
    raise ValueError(f"unsupported accept type {accept!r}; use application/json or text/csv")
