"""Reading a job for its handle: the reconciled record, the log text, a log pump."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from smkit.backends.local.jobs._common import KIND
from smkit.backends.local.jobs.reconcile import reconcile
from smkit.errors import ResourceNotFoundError
from smkit.training.contract import decode_hyperparameters

__all__ = ["describe", "follow", "hyperparameters_of", "logs", "require_job"]


def describe(catalog: Any, name: str) -> dict[str, Any]:
    """The job's record (reconciled), with ``TrainingJobStatus`` matching the catalog."""
    res = reconcile(catalog, name)
    data = dict(res.data)
    data["TrainingJobStatus"] = res.status
    return data


def logs(catalog: Any, name: str) -> str:
    """The job's log text so far."""
    data = catalog.describe(KIND, name).data
    path = Path(data.get("LogPath", ""))
    return path.read_text(encoding="utf-8", errors="replace") if path.is_file() else ""


def follow(
    catalog: Any, name: str, emit: Callable[[str], None], *, poll: float = 0.2
) -> Callable[[], None]:
    """A function that, each time it is called, emits the log lines written since last time."""
    state = {"pos": 0}

    def pump() -> None:
        data = catalog.describe(KIND, name).data
        path = Path(data.get("LogPath", ""))
        if not path.is_file():
            return
        with open(path, encoding="utf-8", errors="replace") as fh:
            fh.seek(state["pos"])
            chunk = fh.read()
            cut = chunk.rfind("\n") + 1
            state["pos"] += len(chunk[:cut].encode("utf-8"))
        for line in chunk[:cut].splitlines():
            emit(line)

    return pump


def hyperparameters_of(record: dict[str, Any]) -> dict[str, Any]:
    """The user's hyperparameters of a job record, decoded."""
    hps = decode_hyperparameters(record.get("HyperParameters", {}))
    return {k: v for k, v in hps.items() if not k.startswith("sagemaker_")}


def require_job(catalog: Any, name: str) -> Any:
    """The job's resource or :class:`ResourceNotFoundError` naming ``smkit jobs list``."""
    try:
        return catalog.describe(KIND, name)
    except ResourceNotFoundError:
        raise ResourceNotFoundError(
            f"no training job named {name!r}",
            hint="`smkit jobs list` shows the jobs",
            name=name,
        ) from None
