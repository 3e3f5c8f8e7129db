"""Image classifier endpoint (SageMaker inference-toolkit hooks).

Request bodies:

- ``application/x-image``, ``image/png``, ``image/jpeg``: one encoded image;
- ``application/json``: ``{"image": "<base64>"}``, ``{"instances": ["<base64>", ...]}`` or a
  list of base64 strings (what the workflow's serialize Lambda produces).

Response (``application/json``, the default), for one image::

    {"classes": ["circle", "square", "triangle"], "probabilities": [0.93, 0.05, 0.02],
     "predicted_label": "circle", "confidence": 0.93}

and ``{"predictions": [...]}`` for several. ``text/csv``: one line of probabilities per image.
"""

from __future__ import annotations

import base64
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

IMAGE_TYPES = ("application/x-image", "image/png", "image/jpeg", "image/jpg")


def _base_type(content_type: str | None) -> str:
    return (content_type or "application/json").split(";")[0].strip().lower()


def model_fn(model_dir: str) -> dict:
    """Load the network and its preprocessing from ``model_dir``."""
    import shapes_net
    import torch

    torch.set_num_threads(1)
    d = Path(model_dir)
    meta = json.loads((d / "model_meta.json").read_text())
    net = shapes_net.build_model(len(meta["classes"]), int(meta["width"]))
    net.load_state_dict(torch.load(d / "model.pth", map_location="cpu", weights_only=True))
    net.eval()
    return {"net": net, "meta": meta}


def input_fn(body: bytes | str, content_type: str | None) -> list[bytes]:
    """Encoded image bytes, one per requested image."""
    ctype = _base_type(content_type)
    if ctype in IMAGE_TYPES:
        return [body if isinstance(body, bytes) else body.encode("latin-1")]
    if ctype == "application/json":
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
    raise ValueError(
        f"unsupported content type {content_type!r}; use one of {IMAGE_TYPES} or "
        "application/json with base64 images"
    )


def predict_fn(data: list[bytes], model: dict) -> list[dict]:
    """Class probabilities, predicted label and confidence for each image."""
    import shapes_net

    meta = model["meta"]
    size = int(meta["image_size"])
    x = shapes_net.to_tensor([shapes_net.load_image(b, size) for b in data])
    probs = shapes_net.probabilities(model["net"], x)
    classes = meta["classes"]
    return [
        {
            "classes": classes,
            "probabilities": [float(v) for v in row],
            "predicted_label": classes[int(row.argmax())],
            "confidence": float(row.max()),
        }
        for row in probs
    ]


def output_fn(prediction: list[dict], accept: str | None) -> tuple[str, str]:
    """Serialise to JSON (default) or CSV."""
    atype = _base_type(accept)
    if atype in ("application/json", "*/*"):
        body = prediction[0] if len(prediction) == 1 else {"predictions": prediction}
        return json.dumps(body), "application/json"
    if atype == "text/csv":
        lines = [",".join(f"{v:.6f}" for v in p["probabilities"]) for p in prediction]
        return "\n".join(lines) + "\n", "text/csv"
    raise ValueError(f"unsupported accept type {accept!r}; use application/json or text/csv")
