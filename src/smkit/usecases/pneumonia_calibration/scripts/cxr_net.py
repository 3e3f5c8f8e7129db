"""Chest X-ray classifier pieces shared by ``train.py`` and ``inference.py``.

Image loading for Kaggle's "Chest X-Ray Images (Pneumonia)" layout, the networks (a small CNN
or a torchvision resnet18 built with ``weights=None``; nothing is downloaded) and the
preprocessing recorded in ``model_meta.json``.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np

CLASSES = ("NORMAL", "PNEUMONIA")
IMAGE_EXTENSIONS = (".jpeg", ".jpg", ".png")


def load_image(src: str | Path | bytes, size: int) -> np.ndarray:
    """Read an image (path or encoded bytes) as a ``(size, size)`` float32 array in [0, 1]."""
    from PIL import Image

    img = Image.open(io.BytesIO(src) if isinstance(src, bytes | bytearray) else src)
    if img.format == "JPEG":
        img.draft("L", (size * 2, size * 2))  # fast DCT downscale of large X-rays
    img = img.convert("L")
    if img.size != (size, size):
        img = img.resize((size, size), Image.Resampling.BILINEAR)
    return np.asarray(img, dtype=np.float32) / 255.0


def find_images(split_dir: Path) -> list[tuple[Path, int]]:
    """``[(path, label)]`` under ``split_dir/NORMAL`` and ``split_dir/PNEUMONIA`` (sorted)."""
    out: list[tuple[Path, int]] = []
    if not split_dir.is_dir():
        return out
    for sub in sorted(split_dir.iterdir()):
        if not sub.is_dir() or sub.name.upper() not in CLASSES:
            continue
        label = CLASSES.index(sub.name.upper())
        for p in sorted(sub.rglob("*")):
            if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS:
                out.append((p, label))
    return out


def build_model(arch: str = "small", width: int = 16, dropout: float = 0.1) -> Any:
    """A one-logit binary classifier for 1-channel images.

    Args:
        arch: ``"small"`` (stem, three conv blocks, global max pooling) or ``"resnet18"``
            (torchvision, random init, first conv adapted to one channel).
        width: Channels of the first block of the small CNN (doubled per block).
        dropout: Dropout before the linear head of the small CNN.
    """
    from torch import nn

    if arch == "resnet18":
        from torchvision.models import resnet18

        net = resnet18(weights=None, num_classes=1)
        net.conv1 = nn.Conv2d(1, 64, kernel_size=3, stride=1, padding=1, bias=False)
        net.maxpool = nn.Identity()
        return net
    if arch != "small":
        raise ValueError(f"unknown arch {arch!r}; use 'small' or 'resnet18'")

    def block(cin: int, cout: int) -> nn.Sequential:
        return nn.Sequential(
            nn.Conv2d(cin, cout, 3, padding=1, bias=False),
            nn.BatchNorm2d(cout),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2),
        )

    w = width
    # a stride-2 stem, three conv blocks and global *max* pooling: opacities are local bright
    # patches, and max pooling keeps the strongest response wherever it is
    return nn.Sequential(
        nn.Conv2d(1, w, 3, stride=2, padding=1, bias=False),
        nn.BatchNorm2d(w),
        nn.ReLU(inplace=True),
        block(w, w),
        block(w, 2 * w),
        block(2 * w, 4 * w),
        nn.AdaptiveMaxPool2d(1),
        nn.Flatten(),
        nn.Dropout(dropout),
        nn.Linear(4 * w, 1),
    )


def to_tensor(images: list[np.ndarray] | np.ndarray, mean: float, std: float) -> Any:
    """Stack ``(H, W)`` arrays into a normalised ``(N, 1, H, W)`` float tensor."""
    import torch

    arr = np.stack(list(images)).astype(np.float32)
    return torch.from_numpy((arr - mean) / std).unsqueeze(1)


def logits(model: Any, x: Any, batch_size: int = 256) -> np.ndarray:
    """The model's logits for a tensor batch, in eval mode, as float64 numpy."""
    import torch

    model.eval()
    out = []
    with torch.no_grad():
        for i in range(0, x.shape[0], batch_size):
            out.append(model(x[i : i + batch_size]).reshape(-1).double().numpy())
    return np.concatenate(out) if out else np.zeros(0)
