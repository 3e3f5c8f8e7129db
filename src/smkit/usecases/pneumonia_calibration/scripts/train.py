"""Train a chest X-ray pneumonia classifier and fit its calibrator (SageMaker script mode).

Data: Kaggle's "Chest X-Ray Images (Pneumonia)" layout, either as one channel holding
``train/ val/ test/`` (``SM_CHANNEL_DATA``, or a ``train`` channel that holds them), or as
channels ``train``, ``validation`` (optional) and ``test`` (optional), each holding
``NORMAL/`` and ``PNEUMONIA/``. When the validation split has fewer than ``--min-val`` images
(the real set's ``val`` has 16), a stratified share of ``train`` (``--val-fraction``, raised
to reach ``--min-val`` images, at most 40%) is held out and joins them for early reporting
and calibration.

Steps: train a small CNN (or resnet18 from scratch, ``--arch resnet18``) with class-balanced
binary cross-entropy (the usual remedy for the ~1:3 imbalance, which also skews the raw
probabilities) → logits on the validation split → fit temperature, Platt, isotonic,
histogram-binning and beta calibrators and keep the one with the lowest cross-validated ECE
among those within 0.01 of the best cross-validated log-loss → decision
threshold on the calibrated probability for ``--sensitivity`` → with a test split, ECE,
Brier score and log-loss before and after calibration.

Writes into ``SM_MODEL_DIR``: ``model.pth``, ``model_meta.json``, ``calibrator.json`` and
``code/`` (this directory's inference scripts, for a self-contained model.tar.gz). Into
``SM_OUTPUT_DATA_DIR``: ``validation_predictions.csv``, ``metrics.json`` and, with a test
split, ``calibration.json``, ``predictions.csv``, ``reliability.json`` (+ ``reliability.png``
when matplotlib is there). Prints ``name=value`` metric lines (``val_loss``, ``val_auc``,
``test_auc``, ``test_accuracy``, ``ece_before``, ``ece_after``, ...).

Quick mode (CI, seconds): ``--epochs 6 --width 8`` on ~400 training images (about 10 s of
training on one uncontended core); the default (15 epochs, width 16, 1,200 images) takes
about a minute on two uncontended CPU threads.
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


def _bool(v: str) -> bool:
    if str(v).strip().lower() in ("1", "true", "yes", "y", "on"):
        return True
    if str(v).strip().lower() in ("0", "false", "no", "n", "off"):
        return False
    raise argparse.ArgumentTypeError(f"not a boolean: {v!r}")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description="Pneumonia classifier + calibrator")

    def add(name: str, **kw) -> None:
        ap.add_argument(f"--{name}", f"--{name.replace('-', '_')}", **kw)

    add("epochs", type=int, default=15)
    add("batch-size", type=int, default=32)
    add("lr", type=float, default=3e-3)
    add("weight-decay", type=float, default=0.0)
    add("arch", default="small", choices=("small", "resnet18"))
    add("width", type=int, default=16)
    add("image-size", type=int, default=64)
    add("class-weight", default="balanced", choices=("balanced", "none"))
    add("calibration-methods", default="temperature,platt,isotonic,histogram,beta")
    add("sensitivity", type=float, default=0.95)
    add("n-bins", type=int, default=15)
    add("min-val", type=int, default=300)
    add("val-fraction", type=float, default=0.2)
    add("max-images", type=int, default=0, help="cap per split (0: all)")
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
    roots = [env.get("SM_CHANNEL_DATA"), env.get("SM_CHANNEL_TRAIN")]
    for root in roots:
        if root and (Path(root) / "train").is_dir():
            base = Path(root)
            return {
                key: next((base / n for n in names if (base / n).is_dir()), None)
                for key, names in SPLIT_NAMES.items()
            }
    train = env.get("SM_CHANNEL_TRAIN")
    if not train:
        raise ValueError(
            "no training data: set the 'train' channel (NORMAL/ and PNEUMONIA/ folders) or a "
            "'data' channel in the Kaggle layout (train/ val/ test/)"
        )
    val = env.get("SM_CHANNEL_VALIDATION") or env.get("SM_CHANNEL_VAL")
    test = env.get("SM_CHANNEL_TEST")
    return {
        "train": Path(train),
        "validation": Path(val) if val else None,
        "test": Path(test) if test else None,
    }


def _rel(path: Path) -> str:
    """``<split dir>/<CLASS>/<file>``: the image's path below its split's parent."""
    return path.relative_to(path.parent.parent.parent).as_posix()


def main(argv: list[str] | None = None) -> int:
    import calibration
    import cxr_net
    import numpy as np
    import torch
    from torch import nn

    args = parse_args(argv)
    torch.set_num_threads(max(1, args.num_threads))
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    t0 = time.time()

    dirs = resolve_splits()
    items: dict[str, list[tuple[Path, int]]] = {}
    for key, d in dirs.items():
        items[key] = cxr_net.find_images(d) if d else []
        if args.max_images and len(items[key]) > args.max_images:
            keep = np.sort(rng.choice(len(items[key]), args.max_images, replace=False))
            items[key] = [items[key][i] for i in keep]
    if not items["train"]:
        raise ValueError(f"no NORMAL/PNEUMONIA images under {dirs['train']}")
    val_source = "validation split"
    if len(items["validation"]) < args.min_val:
        # Too few images to fit (and choose) a calibrator on: hold out a stratified share of
        # train, large enough for min_val images together with the given ones (up to 40% of
        # train), and keep the given validation images as well.
        given = items["validation"]
        labels = np.array([lab for _, lab in items["train"]])
        need = (args.min_val - len(given)) / max(1, labels.size)
        fraction = float(min(0.4, max(args.val_fraction, need)))
        hold = np.zeros(labels.size, dtype=bool)
        for cls in (0, 1):
            idx = np.flatnonzero(labels == cls)
            n = int(round(idx.size * fraction))
            hold[rng.choice(idx, n, replace=False)] = True
        val_source = (
            f"{fraction:.0%} of train ({int(hold.sum())} images)"
            + (f" + the {len(given)} validation-split images" if given else "")
            + f" (validation split had {len(given)} < {args.min_val} images)"
        )
        items["validation"] = [it for it, h in zip(items["train"], hold) if h] + given
        items["train"] = [it for it, h in zip(items["train"], hold) if not h]
    for key in items:
        n = len(items[key])
        pos = sum(lab for _, lab in items[key])
        print(f"{key}: {n} images ({n - pos} NORMAL, {pos} PNEUMONIA)")
    print(f"validation source: {val_source}")

    size = args.image_size

    def load(key: str) -> tuple[np.ndarray, np.ndarray]:
        imgs = [cxr_net.load_image(p, size) for p, _ in items[key]]
        if not imgs:
            return np.zeros((0, size, size), np.float32), np.zeros(0)
        return np.stack(imgs), np.array([lab for _, lab in items[key]], dtype=np.float64)

    x_train, y_train = load("train")
    x_val, y_val = load("validation")
    x_test, y_test = load("test")
    if len(set(y_train.tolist())) < 2 or len(set(y_val.tolist())) < 2:
        raise ValueError("train and validation need both NORMAL and PNEUMONIA images")
    mean, std = float(x_train.mean()), float(x_train.std() + 1e-6)
    t_train = cxr_net.to_tensor(x_train, mean, std)
    t_val = cxr_net.to_tensor(x_val, mean, std)
    yt_train = torch.from_numpy(y_train.astype(np.float32))
    print(f"data_load_seconds={time.time() - t0:.2f}")

    model = cxr_net.build_model(args.arch, args.width)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    steps = max(1, args.epochs * int(np.ceil(len(y_train) / args.batch_size)))
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=steps)
    n_pos = float(y_train.sum())
    n_neg = float(len(y_train) - n_pos)
    if args.class_weight == "balanced":
        w_pos, w_neg = len(y_train) / (2 * n_pos), len(y_train) / (2 * n_neg)
    else:
        w_pos = w_neg = 1.0
    loss_fn = nn.BCEWithLogitsLoss(reduction="none")
    gen = torch.Generator().manual_seed(args.seed)
    for epoch in range(1, args.epochs + 1):
        model.train()
        perm = torch.randperm(len(y_train), generator=gen)
        total = 0.0
        for i in range(0, len(perm), args.batch_size):
            idx = perm[i : i + args.batch_size]
            xb, yb = t_train[idx], yt_train[idx]
            # light augmentation: random shifts of up to 2 pixels
            dx, dy = torch.randint(-2, 3, (2,), generator=gen).tolist()
            xb = torch.roll(xb, shifts=(dy, dx), dims=(2, 3))
            out = model(xb).reshape(-1)
            wts = torch.where(yb > 0.5, w_pos, w_neg)
            loss = (loss_fn(out, yb) * wts).sum() / wts.sum()
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss.detach()) * len(idx)
        z_val = cxr_net.logits(model, t_val)
        val_loss = calibration.log_loss(y_val, calibration.sigmoid(z_val))
        val_auc = calibration.roc_auc(y_val, z_val)
        print(
            f"epoch={epoch} train_loss={total / len(y_train):.4f} val_loss={val_loss:.4f} "
            f"val_auc={val_auc:.4f}",
            flush=True,
        )
    train_seconds = time.time() - t0

    z_val = cxr_net.logits(model, t_val)
    z_test = cxr_net.logits(model, cxr_net.to_tensor(x_test, mean, std)) if len(y_test) else None
    methods = [m.strip() for m in args.calibration_methods.split(",") if m.strip()]
    cal, report = calibration.calibrate_and_report(
        z_val,
        y_val,
        z_test,
        y_test if len(y_test) else None,
        methods=methods,
        sensitivity=args.sensitivity,
        n_bins=args.n_bins,
        seed=args.seed,
    )
    report["validation_source"] = val_source

    model_dir = Path(args.model_dir)
    model_dir.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), model_dir / "model.pth")
    meta = {
        "arch": args.arch,
        "width": args.width,
        "image_size": size,
        "mean": mean,
        "std": std,
        "classes": list(cxr_net.CLASSES),
        "positive_class": "PNEUMONIA",
        "threshold": report["threshold"]["calibrated_probability"],
        "target_sensitivity": args.sensitivity,
    }
    (model_dir / "model_meta.json").write_text(json.dumps(meta, indent=2))
    (model_dir / "calibrator.json").write_text(json.dumps(cal.to_dict(), indent=2))
    code = model_dir / "code"
    code.mkdir(exist_ok=True)
    for name in ("inference.py", "cxr_net.py", "calibration.py", "calibrator_inference.py"):
        if (HERE / name).is_file():
            shutil.copy2(HERE / name, code / name)

    out = Path(args.output_data_dir)
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "validation_predictions.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["path", "label", "logit", "raw_probability", "calibrated_probability"])
        for (p, lab), z, c in zip(items["validation"], z_val, cal.predict(z_val)):
            w.writerow([_rel(p), lab, f"{z:.6f}", f"{calibration.sigmoid(z)[0]:.6f}",
                        f"{c:.6f}"])  # fmt: skip
    metrics = {
        "val_loss": calibration.log_loss(y_val, calibration.sigmoid(z_val)),
        "val_auc": calibration.roc_auc(y_val, z_val),
        "train_seconds": train_seconds,
        "calibration_method": cal.method,
    }
    rows = None
    if z_test is not None:
        rows = [
            {"path": _rel(p), "label": lab, "logit": f"{z:.6f}"}
            for (p, lab), z in zip(items["test"], z_test)
        ]
        metrics.update(
            {
                "test_auc": report["auc"],
                "test_accuracy": report["accuracy"],
                **{
                    k: report[k]
                    for k in (
                        "ece_before",
                        "ece_after",
                        "brier_before",
                        "brier_after",
                        "log_loss_before",
                        "log_loss_after",
                    )
                },
            }
        )
    calibration.write_outputs(out, cal, report, rows)
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2))
    if z_test is not None:
        try:
            calibration.plot_reliability(report, out / "reliability.png")
        except ImportError:
            pass
    print(f"calibration_method={cal.method}")
    for key, value in metrics.items():
        if isinstance(value, float):
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
