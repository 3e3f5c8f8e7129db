"""``staging-demo``: a staging round trip on the shipped bike-sharing data.

Reads ``train.csv``, derives datetime parts, holds out the last days of each month as
validation (Kaggle's layout), writes label-first CSV channels, uploads them (twice: the
second upload is skipped because the checksums match) and reads one back to check it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import attrs

from smkit.report import Report
from smkit.usecases._base import UseCaseConfig

__all__ = ["StagingDemo"]


@attrs.define
class StagingDemoConfig(UseCaseConfig):
    """Settings of ``staging-demo``.

    Attributes:
        source: CSV to stage; defaults to the shipped bike-sharing ``train.csv``.
        label: Label column.
        validation_days: Days per month held out for validation.
        destination: ``s3://`` prefix for the channels (default:
            ``s3://<the session's default bucket>/staging-demo/``, so ``--bucket`` is
            honoured).
    """

    source: str | None = None
    label: str = "count"
    validation_days: int = 3
    destination: str | None = None


class StagingDemo:
    """Stage a dataset and prove the round trip."""

    name: ClassVar[str] = "staging-demo"
    description: ClassVar[str] = "Stage the bike-sharing data into train/validation channels"
    Config: ClassVar[type] = StagingDemoConfig

    def run(self, session: Any, config: StagingDemoConfig, out_dir: Path) -> Report:
        """Stage, re-stage (no upload), read back, and report where the files went."""

        from smkit.datasets import dataset_path
        from smkit.staging import StagingSpec, TimeSplit

        report = Report(name=self.name, title="Staging demo: bike-sharing channels")
        source = config.source or str(dataset_path("bike_sharing", "train.csv.gz"))
        df = _read_source(source)
        if config.quick:
            df = df.iloc[: min(len(df), 2000)]
        spec = StagingSpec(
            source=df,
            label=config.label,
            drop=tuple(c for c in ("casual", "registered") if c in df.columns),
            datetime_column="datetime",
            keep_datetime=False,
            split=TimeSplit(column="datetime", validation_days=config.validation_days),
            label_first=True,
            header=False,
            destination=config.destination or f"s3://{session.default_bucket()}/staging-demo/",
            name="bike",
        )
        with report.timer("stage"):
            staged = session.stage(spec)
        with report.timer("restage"):
            again = session.stage(spec)
        report.metrics["rows"] = dict(staged.rows)
        report.metrics["reuploaded_unchanged"] = sum(again.uploaded.values())
        if not session.plan_mode:
            with report.timer("read_back"):
                body = session.store.get_bytes(staged.files["train"])
            report.metrics["train_bytes"] = len(body)
            first = body.split(b"\n", 1)[0].decode()
            report.details["first_train_row"] = first
        report.artifacts.update({f"channel_{k}": v for k, v in staged.channels.items()})
        report.artifacts.update({f"file_{k}": v for k, v in staged.files.items()})
        report.details["columns"] = list(staged.columns)
        report.add_table(
            "Channels",
            [
                {
                    "channel": k,
                    "rows": staged.rows[k],
                    "uri": staged.files[k],
                    "uploaded": staged.uploaded[k],
                }
                for k in staged.channels
            ],
        )
        report.add_figure("Rows per channel", _bar(staged.rows))
        return report


def _bar(rows: dict[str, int]) -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3))
    ax.bar(list(rows), list(rows.values()), color="#ff9900")
    ax.set_ylabel("rows")
    ax.set_title("Rows per channel")
    return fig


def _read_source(source: str) -> Any:
    """The ``source`` CSV as a DataFrame; a device (``/dev/zero``), a directory or a file
    that is not a CSV with the needed columns is a smkit error, not a pandas traceback."""
    from pathlib import Path

    import pandas as pd

    from smkit.errors import FormatError, SourceNotFoundError

    path = Path(source)
    if not path.is_file():  # also refuses character devices and FIFOs, which never end
        raise SourceNotFoundError(f"source {source!r} is not a regular file", path=source)
    try:
        df = pd.read_csv(path)
    except (ValueError, UnicodeDecodeError, pd.errors.ParserError, OSError) as exc:
        raise FormatError(
            f"source {source!r} does not read as CSV: {type(exc).__name__}: {exc}"[:400],
            path=source,
        ) from None
    if "datetime" not in df.columns:
        raise FormatError(
            f"source {source!r} has no 'datetime' column (columns: {list(df.columns)[:10]})",
            hint="give the bike-sharing CSV layout (datetime, ..., count)",
            path=source,
        )
    return df
