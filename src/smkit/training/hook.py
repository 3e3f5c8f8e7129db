"""A small Debugger hook for training scripts: record scalars and tensors per step.

Usage inside a training script:

    from smkit.training import hook

    for step, batch in enumerate(loader):
        loss = ...
        hook.scalar("train_loss", loss, step=step)            # mode="train" by default
        hook.tensor("fc1.weight.grad", model.fc1.weight.grad, step=step)
        hook.step()                                           # per-step time for the profiler
    hook.scalar("val_loss", val_loss, step=step, mode="eval")

Records go to the directory SageMaker's ``DebugHookConfig`` names
(``<input config dir>/debughookconfig.json`` → ``LocalPath``, i.e. ``/opt/ml/output/tensors``
on SageMaker; ``<job>/output/tensors`` locally), as JSON lines: ``scalars.jsonl`` (one record
per value: ``step``, ``name``, ``value``, ``mode``, ``time``) and ``steps.jsonl`` (step end
times). Tensors are stored as summaries (``norm``, ``mean_abs``, ``max_abs``, ``min``,
``max``, ``nan``, ``inf``), which is all the built-in rules need. Outside any job, records go
to ``./smkit-tensors``.

When the script runs on SageMaker with ``smdebug`` installed (the framework images have it)
and a Debugger hook configured, every record is also passed to smdebug's hook, so SageMaker's
own rule containers see it. This module needs only the standard library.
"""

from __future__ import annotations

import atexit
import json
import math
import os
import threading
import time
from pathlib import Path
from typing import Any

__all__ = ["Hook", "get_hook", "scalar", "step", "tensor"]

_MODES = ("train", "eval", "predict", "global")


def _summary(value: Any) -> dict[str, float | int]:
    """Summary statistics of a tensor-like value (torch, numpy, lists, scalars)."""
    for attr in ("detach", "cpu"):
        if hasattr(value, attr):
            value = getattr(value, attr)()
    if hasattr(value, "numpy"):
        value = value.numpy()
    if hasattr(value, "ravel"):
        flat = [float(v) for v in value.ravel().tolist()]
    elif isinstance(value, list | tuple):
        flat = []
        stack = list(value)
        while stack:
            item = stack.pop()
            if isinstance(item, list | tuple):
                stack.extend(item)
            else:
                flat.append(float(item))
    else:
        flat = [float(value)]
    finite = [v for v in flat if math.isfinite(v)]
    n = len(finite)
    return {
        "size": len(flat),
        "nan": sum(1 for v in flat if math.isnan(v)),
        "inf": sum(1 for v in flat if math.isinf(v)),
        "norm": math.sqrt(sum(v * v for v in finite)),
        "mean_abs": sum(abs(v) for v in finite) / n if n else float("nan"),
        "max_abs": max((abs(v) for v in finite), default=float("nan")),
        "min": min(finite, default=float("nan")),
        "max": max(finite, default=float("nan")),
    }


def _default_dir() -> Path:
    config_dir = os.environ.get("SM_INPUT_CONFIG_DIR") or "/opt/ml/input/config"
    cfg = Path(config_dir) / "debughookconfig.json"
    if cfg.is_file():
        try:
            local = json.loads(cfg.read_text()).get("LocalPath")
            if local:
                return Path(local)
        except (OSError, ValueError):
            pass
    if os.environ.get("SM_OUTPUT_DIR"):
        return Path(os.environ["SM_OUTPUT_DIR"]) / "tensors"
    return Path("smkit-tensors")


def _smdebug_hook() -> Any:
    """smdebug's hook when running under SageMaker Debugger, else ``None``."""
    if not Path("/opt/ml/input/config/debughookconfig.json").is_file():
        return None
    import importlib

    for module in ("smdebug.pytorch", "smdebug.xgboost", "smdebug.tensorflow"):
        try:  # pragma: no cover - only on SageMaker images
            return importlib.import_module(module).get_hook(create_if_not_exists=True)
        except Exception:
            continue
    return None


class Hook:
    """Writes scalar and tensor records of one process.

    Args:
        out_dir: Where to write (default: the Debugger hook directory, see the module doc).
    """

    def __init__(self, out_dir: str | Path | None = None) -> None:
        self.out_dir = Path(out_dir) if out_dir is not None else _default_dir()
        self._lock = threading.Lock()
        self._buffer: list[str] = []
        self._steps: list[str] = []
        self._step = 0
        self._smd = _smdebug_hook()
        self._last_flush = time.monotonic()

    def _check_mode(self, mode: str) -> str:
        mode = mode.lower()
        if mode not in _MODES:
            raise ValueError(f"hook mode {mode!r}: use one of {', '.join(_MODES)}")
        return mode

    def scalar(
        self, name: str, value: float, *, step: int | None = None, mode: str = "train"
    ) -> None:
        """Record one scalar (a loss, an accuracy...)."""
        record = {
            "step": self._step if step is None else int(step),
            "name": str(name),
            "value": float(value),
            "mode": self._check_mode(mode),
            "time": time.time(),
        }
        self._add(self._buffer, record)
        if self._smd is not None:  # pragma: no cover - SageMaker only
            try:
                self._smd.save_scalar(name, float(value))
            except Exception:
                pass

    def tensor(
        self, name: str, value: Any, *, step: int | None = None, mode: str = "train"
    ) -> None:
        """Record a tensor's summary (gradients, weights, activations)."""
        record: dict[str, Any] = {
            "step": self._step if step is None else int(step),
            "name": str(name),
            "mode": self._check_mode(mode),
            "time": time.time(),
            "tensor": _summary(value),
        }
        self._add(self._buffer, record)
        if self._smd is not None:  # pragma: no cover - SageMaker only
            try:
                self._smd.save_tensor(name, value)
            except Exception:
                pass

    def step(self) -> int:
        """Mark the end of a step (its time feeds the profiler's per-step times)."""
        with self._lock:
            self._steps.append(json.dumps({"step": self._step, "time": time.time()}))
            self._step += 1
            current = self._step
        if time.monotonic() - self._last_flush > 1.0:
            self.flush()
        return current

    def _add(self, buffer: list[str], record: dict[str, Any]) -> None:
        line = json.dumps(record, allow_nan=True)
        with self._lock:
            buffer.append(line)
            big = len(buffer) >= 200
        if big or time.monotonic() - self._last_flush > 1.0:
            self.flush()

    def flush(self) -> None:
        """Append buffered records to the files."""
        with self._lock:
            scalars, steps = self._buffer, self._steps
            self._buffer, self._steps = [], []
            self._last_flush = time.monotonic()
        if not scalars and not steps:
            return
        self.out_dir.mkdir(parents=True, exist_ok=True)
        for fname, lines in (("scalars.jsonl", scalars), ("steps.jsonl", steps)):
            if lines:
                with open(self.out_dir / fname, "a", encoding="utf-8") as fh:
                    fh.write("\n".join(lines) + "\n")


_hook: Hook | None = None
_hook_lock = threading.Lock()


def get_hook() -> Hook:
    """The process's hook (created on first use, flushed at exit)."""
    global _hook
    with _hook_lock:
        if _hook is None:
            _hook = Hook()
            atexit.register(_hook.flush)
        return _hook


def scalar(name: str, value: float, *, step: int | None = None, mode: str = "train") -> None:
    """Record a scalar on the process's hook (see `Hook.scalar`)."""
    get_hook().scalar(name, value, step=step, mode=mode)


def tensor(name: str, value: Any, *, step: int | None = None, mode: str = "train") -> None:
    """Record a tensor summary on the process's hook (see `Hook.tensor`)."""
    get_hook().tensor(name, value, step=step, mode=mode)


def step() -> int:
    """Mark the end of a step on the process's hook (see `Hook.step`)."""
    return get_hook().step()
