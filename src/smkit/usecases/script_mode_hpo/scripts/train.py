"""Train a small MLP regressor on tabular CSV data (SageMaker script mode, PyTorch on CPU).

Plain SageMaker conventions, nothing smkit-specific is required to run it:

- hyperparameters arrive as ``--lr 0.01 --batch-size 32 --epochs 10 ...`` (argparse);
- data: every ``*.csv`` in ``SM_CHANNEL_TRAIN`` and ``SM_CHANNEL_VALIDATION``, with a header
  row and the target in column ``--target`` (default: the first column);
- writes ``model.pth`` (state dict, feature and target normalisation, architecture) into
  ``SM_MODEL_DIR`` and ``history.json`` (losses per epoch) into ``SM_OUTPUT_DATA_DIR``;
- prints ``epoch=3 train_loss=0.412 val_loss=0.471`` once per epoch, the line the tuning
  objective's regex reads (the *last* ``val_loss`` is the trial's objective), then
  ``val_loss_min=...`` (the lowest; named so that the objective's regex does not match it)
  and, with a ``test`` channel (held out, never used for choosing), the final model's
  ``test_loss=...``.

Losses are mean squared errors of the standardised target (standardised with the training
split's mean and deviation), so predicting the mean scores about 1.0 and ``1 - loss`` is
roughly the coefficient of determination R².

Debugger: the script records through ``smkit.training.hook`` (per-epoch train and validation
losses, gradient summaries every ``--grad-every`` steps, step boundaries for the profiler's
per-step times). In a container without smkit it falls back to ``smkit_hook.py`` next to
this script (a copy of the hook module, which needs only the standard library and forwards to
``smdebug`` on SageMaker's framework images); without that either, recording is off and the
script trains all the same.
"""

from __future__ import annotations

import argparse
import glob
import json
import math
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))


class _NoHook:
    """Stands in for the hook when neither smkit nor smkit_hook.py is importable."""

    def scalar(self, *args: object, **kwargs: object) -> None:
        return None

    def tensor(self, *args: object, **kwargs: object) -> None:
        return None

    def step(self) -> int:
        return 0


def load_hook() -> tuple[object, str]:
    """The Debugger hook module and where it came from (``smkit``, ``vendored`` or ``off``)."""
    try:
        from smkit.training import hook

        return hook, "smkit"
    except ImportError:
        pass
    try:
        import smkit_hook  # a copy of smkit/training/hook.py shipped with the code

        return smkit_hook, "vendored"
    except ImportError:
        return _NoHook(), "off"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description="MLP regressor for tabular CSV data")

    def add(name: str, **kw: object) -> None:
        ap.add_argument(f"--{name}", f"--{name.replace('-', '_')}", **kw)  # type: ignore[arg-type]

    add("lr", type=float, default=1e-2)
    add("batch-size", type=int, default=32)
    add("epochs", type=int, default=10)
    add("hidden", type=int, default=64)
    add("weight-decay", type=float, default=0.0)
    add("optimizer", default="adam", choices=["adam", "sgd"])
    add("target", default="")
    add("grad-every", type=int, default=5)
    add("num-threads", type=int, default=1)
    add("seed", type=int, default=0)
    add("model-dir", default=os.environ.get("SM_MODEL_DIR", "/opt/ml/model"))
    add("train", default=os.environ.get("SM_CHANNEL_TRAIN", ""))
    add("validation", default=os.environ.get("SM_CHANNEL_VALIDATION", ""))
    add("test", default=os.environ.get("SM_CHANNEL_TEST", ""))
    add("output-data-dir", default=os.environ.get("SM_OUTPUT_DATA_DIR", "/opt/ml/output/data"))
    args, unknown = ap.parse_known_args(argv)
    if unknown:
        print(f"ignoring unknown arguments: {unknown}", file=sys.stderr)
    return args


def read_channel(path: str, target: str) -> tuple[list[str], list[list[float]], list[float]]:
    """Feature names, feature rows and targets from every CSV file under ``path``."""
    import csv

    if not path:
        raise ValueError("channel directory not set (SM_CHANNEL_TRAIN / SM_CHANNEL_VALIDATION)")
    files = sorted(glob.glob(os.path.join(path, "**", "*.csv"), recursive=True))
    if not files:
        raise FileNotFoundError(f"no .csv files in {path}")
    header: list[str] | None = None
    xs: list[list[float]] = []
    ys: list[float] = []
    for f in files:
        with open(f, newline="") as fh:
            reader = csv.reader(fh)
            head = next(reader)
            if header is None:
                header = head
            elif head != header:
                raise ValueError(f"{f}: header {head} differs from {header}")
            col = header.index(target) if target else 0
            for row in reader:
                if not row:
                    continue
                values = [float(v) for v in row]
                ys.append(values[col])
                xs.append(values[:col] + values[col + 1 :])
    assert header is not None
    col = header.index(target) if target else 0
    return header[:col] + header[col + 1 :], xs, ys


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    import torch
    from torch import nn

    hook, hook_source = load_hook()
    torch.manual_seed(args.seed)
    torch.set_num_threads(max(1, args.num_threads))
    print(f"hook={hook_source} lr={args.lr:g} batch_size={args.batch_size} epochs={args.epochs}")

    names, xtr, ytr = read_channel(args.train, args.target)
    _, xva, yva = read_channel(args.validation, args.target)
    x_train, y_train = torch.tensor(xtr), torch.tensor(ytr).unsqueeze(1)
    x_val, y_val = torch.tensor(xva), torch.tensor(yva).unsqueeze(1)
    mean, std = x_train.mean(0), x_train.std(0).clamp_min(1e-6)
    y_mean, y_std = float(y_train.mean()), max(float(y_train.std()), 1e-6)
    x_train, x_val = (x_train - mean) / std, (x_val - mean) / std
    y_train, y_val = (y_train - y_mean) / y_std, (y_val - y_mean) / y_std

    model = nn.Sequential(
        nn.Linear(x_train.shape[1], args.hidden),
        nn.ReLU(),
        nn.Linear(args.hidden, args.hidden),
        nn.ReLU(),
        nn.Linear(args.hidden, 1),
    )
    if args.optimizer == "sgd":
        opt: torch.optim.Optimizer = torch.optim.SGD(
            model.parameters(), lr=args.lr, momentum=0.9, weight_decay=args.weight_decay
        )
    else:
        opt = torch.optim.Adam(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    loss_fn = nn.MSELoss()
    gen = torch.Generator().manual_seed(args.seed)
    history: list[dict[str, float]] = []
    best = math.inf
    step = 0
    for epoch in range(1, args.epochs + 1):
        model.train()
        start = time.perf_counter()
        order = torch.randperm(len(x_train), generator=gen)
        total, count = 0.0, 0
        for i in range(0, len(order), args.batch_size):
            idx = order[i : i + args.batch_size]
            opt.zero_grad()
            loss = loss_fn(model(x_train[idx]), y_train[idx])
            loss.backward()
            if args.grad_every > 0 and step % args.grad_every == 0:
                for pname, param in model.named_parameters():
                    if pname.endswith("weight") and param.grad is not None:
                        hook.tensor(f"{pname}.grad", param.grad, step=step)
            opt.step()
            total += loss.item() * len(idx)
            count += len(idx)
            step += 1
            hook.step()
        train_loss = total / max(count, 1)
        model.eval()
        with torch.no_grad():
            val_loss = float(loss_fn(model(x_val), y_val))
        hook.scalar("loss", train_loss, step=step, mode="train")
        hook.scalar("loss", val_loss, step=step, mode="eval")
        if math.isfinite(val_loss):
            best = min(best, val_loss)
        seconds = time.perf_counter() - start
        history.append(
            {"epoch": epoch, "train_loss": train_loss, "val_loss": val_loss, "seconds": seconds}
        )
        print(
            f"epoch={epoch} train_loss={train_loss:.6g} val_loss={val_loss:.6g} "
            f"seconds={seconds:.3f}",
            flush=True,
        )
    print(f"val_loss_min={best:.6g}", flush=True)
    test_loss = None
    if args.test and os.path.isdir(args.test):
        _, xte, yte = read_channel(args.test, args.target)
        x_test = (torch.tensor(xte) - mean) / std
        y_test = (torch.tensor(yte).unsqueeze(1) - y_mean) / y_std
        with torch.no_grad():
            test_loss = float(loss_fn(model(x_test), y_test))
        print(f"test_loss={test_loss:.6g}", flush=True)

    Path(args.model_dir).mkdir(parents=True, exist_ok=True)
    torch.save(
        {
            "state_dict": model.state_dict(),
            "features": names,
            "x_mean": mean.tolist(),
            "x_std": std.tolist(),
            "y_mean": y_mean,
            "y_std": y_std,
            "hidden": args.hidden,
        },
        Path(args.model_dir) / "model.pth",
    )
    Path(args.output_data_dir).mkdir(parents=True, exist_ok=True)
    (Path(args.output_data_dir) / "history.json").write_text(
        json.dumps(
            {
                "hyperparameters": vars(args),
                "hook": hook_source,
                "epochs": history,
                "test_loss": test_loss,
            }
        )
    )
    if hasattr(hook, "get_hook"):
        hook.get_hook().flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
