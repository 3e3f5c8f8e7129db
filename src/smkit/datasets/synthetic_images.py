"""Deterministic synthetic image sets, generated on demand (nothing is downloaded).

Two generators, both seeded, CPU-only and fast (a few thousand images per second):

- `make_shapes_dataset`: small RGB images of three shapes (``circle``, ``square``,
  ``triangle``) on textured, noisy backgrounds, for the ``image-workflow`` use case. A share of
  the images is *genuinely ambiguous*: circles and squares are drawn as superellipses whose
  exponent comes close to the class boundary, and some images have low contrast and heavy
  noise, so a classifier's confidences vary and some fall below a confidence threshold.
- `make_chest_xray_dataset`: grayscale chest-X-ray-like images in the layout of Kaggle's
  "Chest X-Ray Images (Pneumonia)" set (``train|val|test/NORMAL|PNEUMONIA/*.jpeg``), class
  imbalanced like the real one (about 1 NORMAL to 3 PNEUMONIA), for the
  ``pneumonia-calibration`` use case. PNEUMONIA images carry diffuse opacities (blurred bright
  blobs or a lobe-wide haze) inside the lung fields; NORMAL images vary in lung darkness and
  may show faint vessel-like blobs, so the classes overlap and the task is not trivial.

Both write ``<root>/<split>/<class>/<file>`` and return an `ImageSetSummary`. The
random streams of each split are independent: changing one split's size leaves the images of
the other splits unchanged.

numpy and Pillow are imported inside the functions, so importing this module is cheap.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

__all__ = [
    "CHEST_XRAY_CLASSES",
    "SHAPE_CLASSES",
    "ImageSetSummary",
    "chest_xray_image",
    "make_chest_xray_dataset",
    "make_shapes_dataset",
    "shape_image",
]

SHAPE_CLASSES: tuple[str, ...] = ("circle", "square", "triangle")
"""Class names of `make_shapes_dataset`, in label order."""

CHEST_XRAY_CLASSES: tuple[str, ...] = ("NORMAL", "PNEUMONIA")
"""Class names of `make_chest_xray_dataset`, in label order (PNEUMONIA is positive)."""

_SPLIT_KEYS = {"train": 0, "val": 1, "test": 2}


@dataclass(frozen=True)
class ImageSetSummary:
    """What a generator wrote.

    Attributes:
        root: The dataset root (holds one directory per split).
        classes: Class names in label order.
        files: ``split -> [(path relative to root, class name), ...]`` in generation order.
        ambiguous: Relative paths of images generated to be hard to classify.
    """

    root: Path
    classes: tuple[str, ...]
    files: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    ambiguous: frozenset[str] = frozenset()

    def counts(self) -> dict[str, dict[str, int]]:
        """``split -> class -> number of images``."""
        out: dict[str, dict[str, int]] = {}
        for split, items in self.files.items():
            per = dict.fromkeys(self.classes, 0)
            for _, label in items:
                per[label] += 1
            out[split] = per
        return out

    def paths(self, split: str, label: str | None = None) -> list[Path]:
        """Absolute paths of a split's images (optionally one class only)."""
        return [self.root / rel for rel, lab in self.files[split] if label is None or lab == label]


def _check_sizes(sizes: dict[str, int], size: int, min_size: int) -> None:
    from smkit.errors import ValidationError

    for split, n in sizes.items():
        if not isinstance(n, int) or n < 0:
            raise ValidationError(f"n_{split}={n!r} must be a non-negative integer")
    if not isinstance(size, int) or size < min_size or size > 512:
        raise ValidationError(f"size={size!r} must be an integer in [{min_size}, 512]")


def _split_rng(seed: int, split: str) -> np.random.Generator:
    import numpy as np

    return np.random.default_rng(np.random.SeedSequence([int(seed), _SPLIT_KEYS[split]]))


def _grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    import numpy as np

    c = (np.arange(size, dtype=np.float64) + 0.5) / size * 2.0 - 1.0
    return np.meshgrid(c, c)  # x grows rightwards, y downwards, both in [-1, 1]


def _smooth_step(d: np.ndarray, width: float) -> np.ndarray:
    """1 inside (d < 0), 0 outside, with a soft edge of about ``width``."""
    import numpy as np

    return 1.0 / (1.0 + np.exp(np.clip(d / max(width, 1e-6), -50, 50)))


# --------------------------------------------------------------------------------------
# shapes


def shape_image(
    label: str, rng: np.random.Generator, size: int = 32, *, ambiguous: bool = False
) -> np.ndarray:
    """One RGB shape image as a ``(size, size, 3)`` uint8 array.

    Args:
        label: One of `SHAPE_CLASSES`.
        rng: The random generator (consumed).
        size: Side length in pixels.
        ambiguous: Draw a hard example: a near-boundary superellipse for circles and squares,
            a rounded, low-contrast triangle, plus heavy noise.

    Returns:
        The image.
    """
    import numpy as np

    from smkit.errors import ValidationError

    if label not in SHAPE_CLASSES:
        raise ValidationError(f"unknown shape {label!r}; expected one of {SHAPE_CLASSES}")
    x, y = _grid(size)
    cx, cy = rng.uniform(-0.25, 0.25, size=2)
    r = rng.uniform(0.38, 0.62)
    theta = rng.uniform(0, 2 * math.pi)
    ct, st = math.cos(theta), math.sin(theta)
    u = ((x - cx) * ct + (y - cy) * st) / r
    v = (-(x - cx) * st + (y - cy) * ct) / r
    edge = 1.5 / size / r

    if label in ("circle", "square"):
        # superellipse |u|^p + |v|^p = 1: p=2 is a circle, p -> inf a square
        if ambiguous:
            p = rng.uniform(2.6, 3.6) if label == "circle" else rng.uniform(3.4, 4.6)
        else:
            p = rng.uniform(1.9, 2.3) if label == "circle" else rng.uniform(9.0, 16.0)
        dist = (np.abs(u) ** p + np.abs(v) ** p) ** (1.0 / p) - 1.0
    else:
        # equilateral triangle as the max of three half-plane distances; a rounded one when
        # ambiguous (blend towards a circle)
        angles = theta + np.array([math.pi / 2, math.pi / 2 + 2 * math.pi / 3, -math.pi / 6])
        ds = [((x - cx) * math.cos(a) + (y - cy) * math.sin(a)) / r - 0.55 for a in angles]
        dist = np.maximum(np.maximum(ds[0], ds[1]), ds[2]) / 0.55
        if ambiguous:
            w = rng.uniform(0.35, 0.6)
            circ = np.sqrt(u**2 + v**2) - 0.85
            dist = (1 - w) * dist + w * circ
    mask = _smooth_step(dist, edge)

    bg = rng.uniform(0.1, 0.9, size=3)
    fg = rng.uniform(0.1, 0.9, size=3)
    contrast = rng.uniform(0.12, 0.3) if ambiguous else rng.uniform(0.35, 0.8)
    # push the foreground away from the background by the drawn contrast (in luminance)
    direction = 1.0 if bg.mean() < 0.5 else -1.0
    fg = np.clip(bg + direction * contrast + (fg - fg.mean()) * 0.3, 0, 1)
    # a background texture: a random low-frequency gradient plus stripes
    grad = rng.normal(0, 0.08) * x + rng.normal(0, 0.08) * y
    freq = rng.uniform(2, 6)
    stripes = 0.04 * np.sin(freq * math.pi * (x * math.cos(theta * 2) + y * math.sin(theta * 2)))
    img = bg[None, None, :] * (1 - mask[..., None]) + fg[None, None, :] * mask[..., None]
    img = img + (grad + stripes)[..., None]
    noise = rng.uniform(0.12, 0.22) if ambiguous else rng.uniform(0.02, 0.09)
    img = img + rng.normal(0, noise, size=img.shape)
    return (np.clip(img, 0, 1) * 255 + 0.5).astype(np.uint8)


def make_shapes_dataset(
    root: str | Path,
    *,
    n_train: int = 1800,
    n_val: int = 150,
    n_test: int = 150,
    size: int = 32,
    ambiguous_fraction: float = 0.2,
    image_format: str = "png",
    seed: int = 0,
) -> ImageSetSummary:
    """Write a three-class shapes image set (``circle``, ``square``, ``triangle``).

    Layout: ``<root>/<train|val|test>/<class>/<class>_<split>_<index>.<ext>``; classes are
    balanced (round robin). Splits with zero images are not created.

    Args:
        root: Directory to write into (created).
        n_train: Images in ``train``.
        n_val: Images in ``val``.
        n_test: Images in ``test``.
        size: Side length in pixels (RGB).
        ambiguous_fraction: Share of hard images (see `shape_image`), in [0, 1].
        image_format: ``"png"`` or ``"jpeg"``.
        seed: Seed; the same arguments always write the same pixels.

    Returns:
        The summary of what was written.
    """
    from PIL import Image

    from smkit.errors import ValidationError

    _check_sizes({"train": n_train, "val": n_val, "test": n_test}, size, 16)
    if not 0.0 <= ambiguous_fraction <= 1.0:
        raise ValidationError(f"ambiguous_fraction={ambiguous_fraction!r} must be in [0, 1]")
    fmt = image_format.lower()
    if fmt not in ("png", "jpeg", "jpg"):
        raise ValidationError(f"image_format={image_format!r}: use 'png' or 'jpeg'")
    ext = "png" if fmt == "png" else "jpeg"
    root = Path(root)
    files: dict[str, list[tuple[str, str]]] = {}
    ambiguous: set[str] = set()
    for split, n in (("train", n_train), ("val", n_val), ("test", n_test)):
        if n == 0:
            continue
        rng = _split_rng(seed, split)
        items: list[tuple[str, str]] = []
        for i in range(n):
            label = SHAPE_CLASSES[i % len(SHAPE_CLASSES)]
            hard = bool(rng.random() < ambiguous_fraction)
            arr = shape_image(label, rng, size, ambiguous=hard)
            rel = f"{split}/{label}/{label}_{split}_{i:05d}.{ext}"
            path = root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            img = Image.fromarray(arr, mode="RGB")
            if ext == "png":
                img.save(path, format="PNG", optimize=False)
            else:
                img.save(path, format="JPEG", quality=92)
            items.append((rel, label))
            if hard:
                ambiguous.add(rel)
        files[split] = items
    return ImageSetSummary(root, SHAPE_CLASSES, files, frozenset(ambiguous))


# --------------------------------------------------------------------------------------
# chest X-rays


def _ellipse(x: np.ndarray, y: np.ndarray, cx: float, cy: float, rx: float, ry: float) -> Any:
    import numpy as np

    return np.sqrt(((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2) - 1.0


def _blurred_noise(rng: np.random.Generator, size: int, scale: int) -> np.ndarray:
    """Smooth noise in about [-1, 1]: coarse random grid, bilinearly upsampled."""
    import numpy as np

    n = max(2, size // scale + 2)
    coarse = rng.normal(0, 1, size=(n, n))
    pos = np.linspace(0, n - 1.0001, size)
    i0 = pos.astype(int)
    f = pos - i0
    rows = coarse[i0] * (1 - f)[:, None] + coarse[i0 + 1] * f[:, None]
    out = rows[:, i0] * (1 - f)[None, :] + rows[:, i0 + 1] * f[None, :]
    return out / 1.5


def chest_xray_image(
    pneumonia: bool, rng: np.random.Generator, size: int = 64, *, severity: float | None = None
) -> tuple[np.ndarray, float]:
    """One grayscale chest-X-ray-like image as a ``(size, size)`` uint8 array.

    Anatomy (all jittered per image): body silhouette, two dark lung fields, heart shadow,
    spine and curved ribs, plus exposure, gamma and noise changes. PNEUMONIA adds one to three
    diffuse opacities (Gaussian blobs) inside the lungs, or a lobe-wide haze; their strength
    (``severity``) is drawn from a distribution that overlaps the benign blobs of NORMAL
    images, so some images are hard.

    Args:
        pneumonia: Draw a PNEUMONIA image.
        rng: The random generator (consumed).
        size: Side length in pixels.
        severity: Opacity strength in [0, 1] (PNEUMONIA only); drawn when None.

    Returns:
        ``(image, severity)``; severity is 0 for NORMAL images.
    """
    import numpy as np

    x0, y0 = _grid(size)
    # pose: small shift, rotation and scale
    ang = rng.normal(0, 0.05)
    sc = rng.uniform(0.9, 1.08)
    dx, dy = rng.normal(0, 0.04, size=2)
    x = (math.cos(ang) * x0 + math.sin(ang) * y0) / sc + dx
    y = (-math.sin(ang) * x0 + math.cos(ang) * y0) / sc + dy
    edge = 2.0 / size

    body = _smooth_step(_ellipse(x, y, 0.0, 0.15, rng.uniform(0.78, 0.9), 1.05), edge * 3)
    img = 0.06 + 0.5 * body

    lung_dark = rng.uniform(0.22, 0.4)  # inspiration depth / exposure: darker lungs
    lungs = []
    for side in (-1, 1):
        cx = side * rng.uniform(0.33, 0.43)
        cy = rng.uniform(-0.12, 0.0)
        rx, ry = rng.uniform(0.22, 0.3), rng.uniform(0.5, 0.62)
        lungs.append((cx, cy, rx, ry))
    lung_mask = np.zeros_like(x)
    for cx, cy, rx, ry in lungs:
        lung_mask = np.maximum(lung_mask, _smooth_step(_ellipse(x, y, cx, cy, rx, ry), edge * 2))
    img = img - lung_dark * lung_mask

    heart = _smooth_step(
        _ellipse(x, y, rng.uniform(0.05, 0.15), rng.uniform(0.22, 0.32), 0.26, 0.28), edge * 4
    )
    img = img + rng.uniform(0.15, 0.3) * heart * lung_mask + 0.05 * heart
    spine = _smooth_step(np.abs(x - 0.0) - rng.uniform(0.05, 0.08), edge)
    img = img + 0.12 * spine * body

    # ribs: curved bright bands, strongest inside the lungs
    curv = y - rng.uniform(0.2, 0.35) * x**2
    rib_freq = rng.uniform(5.0, 6.5)
    ribs = np.clip(np.sin(2 * math.pi * rib_freq * curv / 2 + rng.uniform(0, 6.3)), 0, 1) ** 3
    img = img + rng.uniform(0.04, 0.08) * ribs * lung_mask

    # benign vessel-like markings in every image
    vessels = np.clip(_blurred_noise(rng, size, max(3, size // 10)), 0, None)
    img = img + rng.uniform(0.01, 0.05) * vessels * lung_mask

    def blob_in_lung(amp: float, sig_lo: float, sig_hi: float) -> np.ndarray:
        cx, cy, rx, ry = lungs[int(rng.integers(2))]
        t = rng.uniform(0, 2 * math.pi)
        rad = math.sqrt(rng.uniform(0, 0.7))
        bx, by = cx + rad * rx * math.cos(t), cy + rad * ry * math.sin(t)
        sig = rng.uniform(sig_lo, sig_hi)
        return amp * np.exp(-((x - bx) ** 2 + (y - by) ** 2) / (2 * sig**2))

    sev = 0.0
    if pneumonia:
        # severity: mostly clear opacities, with a tail of faint ones
        sev = float(rng.beta(2.0, 1.6)) if severity is None else float(severity)
        amp = 0.05 + 0.25 * sev
        if rng.random() < 0.25:
            # lobe-wide diffuse haze (interstitial pattern) in the lower half of one lung
            cx, cy, rx, ry = lungs[int(rng.integers(2))]
            lobe = _smooth_step(_ellipse(x, y, cx, cy + ry * 0.4, rx, ry * 0.6), edge * 6)
            haze = 0.6 + 0.4 * _blurred_noise(rng, size, max(3, size // 12))
            img = img + amp * 0.8 * lobe * haze * lung_mask
        else:
            for _ in range(int(rng.integers(1, 4))):
                img = img + blob_in_lung(amp, 0.08, 0.2) * lung_mask
    elif rng.random() < 0.45:
        # NORMAL with a faint benign blob (overlapping soft tissue, vessel crossing)
        img = img + blob_in_lung(rng.uniform(0.02, 0.1), 0.06, 0.16) * lung_mask

    # exposure, gamma, blur-free sensor noise
    img = np.clip(img, 0, 1)
    img = img ** rng.uniform(0.8, 1.25)
    img = img * rng.uniform(0.85, 1.15) + rng.normal(0, 0.04)
    img = img + rng.normal(0, rng.uniform(0.015, 0.04), size=img.shape)
    return (np.clip(img, 0, 1) * 255 + 0.5).astype(np.uint8), sev


def make_chest_xray_dataset(
    root: str | Path,
    *,
    n_train: int = 1200,
    n_val: int = 500,
    n_test: int = 500,
    size: int = 64,
    pneumonia_fraction: float = 0.74,
    faint_threshold: float = 0.2,
    seed: int = 0,
) -> ImageSetSummary:
    """Write a chest-X-ray-like set in Kaggle's "Chest X-Ray Images (Pneumonia)" layout.

    Layout: ``<root>/<train|val|test>/<NORMAL|PNEUMONIA>/*.jpeg`` (grayscale JPEG), with
    Kaggle-style names (``IM-0001-0001.jpeg`` for NORMAL, ``person12_bacteria_3.jpeg`` or
    ``person7_virus_1.jpeg`` for PNEUMONIA). Every split has the same class balance
    (``pneumonia_fraction``, default 0.74, the real training split's ~1:3 ratio), so
    probabilities calibrated on ``val`` carry over to ``test``. (The real set's ``val`` holds
    only 16 images; the pneumonia training script carves a calibration split from ``train``
    when ``val`` is that small.)

    Args:
        root: Directory to write into (created).
        n_train: Images in ``train``.
        n_val: Images in ``val``.
        n_test: Images in ``test``.
        size: Side length in pixels.
        pneumonia_fraction: Share of PNEUMONIA images in each split, in (0, 1).
        faint_threshold: PNEUMONIA images with severity below it are listed as ambiguous.
        seed: Seed; the same arguments always write the same pixels.

    Returns:
        The summary of what was written.
    """
    from PIL import Image

    from smkit.errors import ValidationError

    _check_sizes({"train": n_train, "val": n_val, "test": n_test}, size, 32)
    if not 0.0 < pneumonia_fraction < 1.0:
        raise ValidationError(f"pneumonia_fraction={pneumonia_fraction!r} must be in (0, 1)")
    root = Path(root)
    files: dict[str, list[tuple[str, str]]] = {}
    ambiguous: set[str] = set()
    for split, n in (("train", n_train), ("val", n_val), ("test", n_test)):
        if n == 0:
            continue
        rng = _split_rng(seed, split)
        n_pos = int(round(n * pneumonia_fraction))
        labels = [True] * n_pos + [False] * (n - n_pos)
        labels = [labels[i] for i in rng.permutation(n)]
        items: list[tuple[str, str]] = []
        person = 0
        for i, pos in enumerate(labels):
            arr, sev = chest_xray_image(pos, rng, size)
            if pos:
                person += 1
                kind = "bacteria" if rng.random() < 0.65 else "virus"
                name = f"person{person}_{kind}_{int(rng.integers(1, 30))}.jpeg"
                label = "PNEUMONIA"
            else:
                name = f"IM-{i + 1:04d}-0001.jpeg"
                label = "NORMAL"
            rel = f"{split}/{label}/{name}"
            path = root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(arr, mode="L").save(path, format="JPEG", quality=90)
            items.append((rel, label))
            if pos and sev < faint_threshold:
                ambiguous.add(rel)
        files[split] = items
    return ImageSetSummary(root, CHEST_XRAY_CLASSES, files, frozenset(ambiguous))
