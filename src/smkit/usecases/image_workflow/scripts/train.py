"""Train a small CNN image classifier (SageMaker script mode, PyTorch on CPU).

Data: one folder per class (``<class>/*.png|jpeg``) in channel ``train`` and, optionally,
``validation`` and ``test``; or one channel (``SM_CHANNEL_DATA``, or ``train`` itself) holding
``train/``, ``val/`` and ``test/`` in that layout. Classes are the sorted folder names of the
training split.

Writes into ``SM_MODEL_DIR``: ``model.pth`` (state dict), ``model_meta.json`` (classes, image
size, normalisation, architecture) and ``code/`` (``inference.py`` and ``shapes_net.py``, for a
self-contained model.tar.gz). Into ``SM_OUTPUT_DATA_DIR``: ``metrics.json`` and, with a test
split, ``test_predictions.csv`` (path, label, predicted label, confidence, probabilities).
Prints ``name=value`` metric lines: ``train_loss``, ``val_loss``, ``val_accuracy`` per epoch,
then ``test_accuracy`` and ``test_loss``.

Quick mode (CI, seconds): ``--epochs 10`` on ~600 images; the default (20 epochs) takes under a
minute on two uncontended CPU threads for the 1,800 default synthetic training images.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import sys
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

SPLIT_NAMES = {"train": ("train",), "validation": ("val", "validation"), "test": ("test",)}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description="Small CNN image classifier")

    def add(name: str, **kw) -> None:
        ap.add_argument(f"--{name}", f"--{name.replace('-', '_')}", **kw)

    add("epochs", type=int, default=20)
    add("batch-size", type=int, default=16)
    add("lr", type=float, default=3e-3)
    add("weight-decay", type=float, default=1e-4)
    add("width", type=int, default=16)
    add("image-size", type=int, default=32)
    add("num-threads", type=int, default=2)
    add("seed", type=int, default=0)
    add("model-dir", default=os.environ.get("SM_MODEL_DIR", "/opt/ml/model"))
    add("output-data-dir", default=os.environ.get("SM_OUTPUT_DATA_DIR", "/opt/ml/output/data"))
    args, unknown = ap.parse_known_args(argv)
    if unknown:
        print(f"ignoring unknown arguments: {unknown}", file=sys.stderr)
    return args


def resolve_splits(env: dict[str, str] | None = None) -> dict[str, Path | None]:
    """Directories of the train/validation/test splits from the SM_CHANNEL_* variables."""
    env = dict(os.environ if env is None else env)
    for root in (env.get("SM_CHANNEL_DATA"), env.get("SM_CHANNEL_TRAIN")):
        if root and (Path(root) / "train").is_dir():
            base = Path(root)
            return {
                key: next((base / n for n in names if (base / n).is_dir()), None)
                for key, names in SPLIT_NAMES.items()
            }
    train = env.get("SM_CHANNEL_TRAIN")
    if not train:
        raise ValueError(
            "no training data: set the 'train' channel (one folder per class) or a 'data' "
            "channel holding train/ (and val/, test/)"
        )
    val = env.get("SM_CHANNEL_VALIDATION") or env.get("SM_CHANNEL_VAL")
    test = env.get("SM_CHANNEL_TEST")
    return {
        "train": Path(train),
        "validation": Path(val) if val else None,
        "test": Path(test) if test else None,
    }


def main(argv: list[str] | None = None) -> int:
    import numpy as np
    import shapes_net
    import torch
    from torch import nn

    args = parse_args(argv)
    torch.set_num_threads(max(1, args.num_threads))
    torch.manual_seed(args.seed)
    t0 = time.time()

    dirs = resolve_splits()
    classes = shapes_net.class_names(dirs["train"])
    if len(classes) < 2:
        raise ValueError(f"{dirs['train']}: need at least two class folders with images")
    items = {k: shapes_net.find_images(d, classes) if d else [] for k, d in dirs.items()}
    size = args.image_size

    def load(key: str) -> tuple[np.ndarray, np.ndarray]:
        imgs = [shapes_net.load_image(p, size) for p, _ in items[key]]
        if not imgs:
            return np.zeros((0, size, size, 3), np.float32), np.zeros(0, dtype=np.int64)
        return np.stack(imgs), np.array([lab for _, lab in items[key]], dtype=np.int64)

    x_train, y_train = load("train")
    x_val, y_val = load("validation")
    x_test, y_test = load("test")
    for key, y in (("train", y_train), ("validation", y_val), ("test", y_test)):
        print(f"{key}: {len(y)} images {np.bincount(y, minlength=len(classes)).tolist()}")
    t_train = shapes_net.to_tensor(x_train)
    yt_train = torch.from_numpy(y_train)
    t_val = shapes_net.to_tensor(x_val) if len(y_val) else None

    model = shapes_net.build_model(len(classes), args.width)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    steps = max(1, args.epochs * int(np.ceil(len(y_train) / args.batch_size)))
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=steps)
    loss_fn = nn.CrossEntropyLoss()
    gen = torch.Generator().manual_seed(args.seed)

    def evaluate(x, y) -> tuple[float, float]:
        p = shapes_net.probabilities(model, x)
        nll = float(-np.mean(np.log(np.clip(p[np.arange(len(y)), y], 1e-15, 1))))
        return nll, float(np.mean(p.argmax(1) == y))

    for epoch in range(1, args.epochs + 1):
        model.train()
        perm = torch.randperm(len(y_train), generator=gen)
        total = 0.0
        for i in range(0, len(perm), args.batch_size):
            idx = perm[i : i + args.batch_size]
            xb = t_train[idx]
            # augmentation: shapes are mirror-symmetric, and shapes come darker or brighter
            # than their background
            if torch.rand(1, generator=gen).item() < 0.5:
                xb = torch.flip(xb, dims=(3,))
            if torch.rand(1, generator=gen).item() < 0.5:
                xb = -xb
            loss = loss_fn(model(xb), yt_train[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss.detach()) * len(idx)
        line = f"epoch={epoch} train_loss={total / len(y_train):.4f}"
        if t_val is not None:
            val_loss, val_acc = evaluate(t_val, y_val)
            line += f" val_loss={val_loss:.4f} val_accuracy={val_acc:.4f}"
        print(line, flush=True)
    train_seconds = time.time() - t0

    model_dir = Path(args.model_dir)
    model_dir.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), model_dir / "model.pth")
    meta = {
        "classes": classes,
        "image_size": size,
        "normalization": "per_image",
        "width": args.width,
        "arch": "shapes_net.build_model",
    }
    (model_dir / "model_meta.json").write_text(json.dumps(meta, indent=2))
    code = model_dir / "code"
    code.mkdir(exist_ok=True)
    for name in ("inference.py", "shapes_net.py"):
        shutil.copy2(HERE / name, code / name)

    out = Path(args.output_data_dir)
    out.mkdir(parents=True, exist_ok=True)
    metrics: dict[str, float | int] = {"train_seconds": train_seconds, "n_train": len(y_train)}
    if t_val is not None:
        metrics["val_loss"], metrics["val_accuracy"] = evaluate(t_val, y_val)
    if len(y_test):
        t_test = shapes_net.to_tensor(x_test)
        p = shapes_net.probabilities(model, t_test)
        metrics["test_loss"], metrics["test_accuracy"] = evaluate(t_test, y_test)
        conf = p.max(1)
        metrics["test_mean_confidence"] = float(conf.mean())
        for thr in (0.8, 0.9):
            metrics[f"test_share_confidence_below_{thr}"] = float(np.mean(conf < thr))
        with open(out / "test_predictions.csv", "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["path", "label", "predicted_label", "confidence", *classes])
            for (path, lab), row in zip(items["test"], p):
                rel = path.relative_to(path.parent.parent.parent).as_posix()
                w.writerow(
                    [
                        rel,
                        classes[lab],
                        classes[int(row.argmax())],
                        f"{row.max():.6f}",
                        *[f"{v:.6f}" for v in row],
                    ]
                )
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2))
    for key, value in metrics.items():
        if key.startswith(("val_", "test_")):
            print(f"{key}={value:.6f}")
    print(f"total_seconds={time.time() - t0:.2f}")
    return 0


def _write_failure(exc: BaseException) -> None:
    out = Path(os.environ.get("SM_OUTPUT_DIR", "/opt/ml/output"))
    try:
        out.mkdir(parents=True, exist_ok=True)
        (out / "failure").write_text(f"{type(exc).__name__}: {exc}"[:1024])
    except OSError:
        pass


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Exception as exc:  # the container contract: failure file + non-zero exit
        traceback.print_exc()
        _write_failure(exc)
        sys.exit(1)
