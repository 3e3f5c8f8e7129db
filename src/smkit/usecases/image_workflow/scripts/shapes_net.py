"""Small-CNN image classifier pieces shared by ``train.py`` and ``inference.py``.

Image loading from a class-per-folder layout, the network and the preprocessing (per-image
standardisation; the image size is recorded in ``model_meta.json``).
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np

IMAGE_EXTENSIONS = (".png", ".jpeg", ".jpg")


def load_image(src: str | Path | bytes, size: int) -> np.ndarray:
    """Read an image (path or encoded bytes) as a ``(size, size, 3)`` float32 array in [0, 1]."""
    from PIL import Image

    img = Image.open(io.BytesIO(src) if isinstance(src, bytes | bytearray) else src)
    img = img.convert("RGB")
    if img.size != (size, size):
        img = img.resize((size, size), Image.Resampling.BILINEAR)
    return np.asarray(img, dtype=np.float32) / 255.0


def class_names(split_dir: Path) -> list[str]:
    """Sorted names of the sub-folders that hold at least one image."""
    return sorted(
        d.name
        for d in split_dir.iterdir()
        if d.is_dir() and any(p.suffix.lower() in IMAGE_EXTENSIONS for p in d.rglob("*"))
    )


def find_images(split_dir: Path, classes: list[str]) -> list[tuple[Path, int]]:
    """``[(path, class index)]`` under ``split_dir/<class>/`` (sorted); unknown folders are
    an error, so a mislabelled split does not go unnoticed."""
    out: list[tuple[Path, int]] = []
    if not split_dir.is_dir():
        return out
    for sub in sorted(d for d in split_dir.iterdir() if d.is_dir()):
        files = [p for p in sorted(sub.rglob("*")) if p.suffix.lower() in IMAGE_EXTENSIONS]
        if not files:
            continue
        if sub.name not in classes:
            raise ValueError(f"{sub}: class {sub.name!r} is not among the training classes")
        out.extend((p, classes.index(sub.name)) for p in files)
    return out


def build_model(n_classes: int, width: int = 16, dropout: float = 0.1) -> Any:
    """Three conv blocks (conv-BN-ReLU-maxpool), global average pooling, a linear head."""
    from torch import nn

    def block(cin: int, cout: int) -> nn.Sequential:
        return nn.Sequential(
            nn.Conv2d(cin, cout, 3, padding=1, bias=False),
            nn.BatchNorm2d(cout),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2),
        )

    w = width
    return nn.Sequential(
        block(3, w),
        block(w, 2 * w),
        block(2 * w, 4 * w),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Dropout(dropout),
        nn.Linear(4 * w, n_classes),
    )


def to_tensor(images: list[np.ndarray] | np.ndarray) -> Any:
    """Stack ``(H, W, 3)`` arrays into a ``(N, 3, H, W)`` float tensor, each image
    standardised on its own (zero mean, unit deviation), which removes the random colours
    and brightness so the network sees the shape."""
    import torch

    arr = np.stack(list(images)).astype(np.float32)
    arr = (arr - arr.mean(axis=(1, 2, 3), keepdims=True)) / (
        arr.std(axis=(1, 2, 3), keepdims=True) + 1e-3
    )
    return torch.from_numpy(arr).permute(0, 3, 1, 2).contiguous()


def probabilities(model: Any, x: Any, batch_size: int = 256) -> np.ndarray:
    """Softmax class probabilities for a tensor batch, in eval mode, as float64 numpy."""
    import torch

    model.eval()
    out = []
    with torch.no_grad():
        for i in range(0, x.shape[0], batch_size):
            out.append(torch.softmax(model(x[i : i + batch_size]), dim=1).double().numpy())
    return np.concatenate(out) if out else np.zeros((0, 0))
