"""Carry out a `StagingSpec`: read, clean, derive, split, write, upload."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from smkit import uri as s3uri
from smkit.errors import ColumnNotFoundError, FormatError, SourceNotFoundError, SplitError
from smkit.staging.spec import RandomSplit, Split, StagingSpec, StratifiedSplit, TimeSplit

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from smkit.session import Session

__all__ = ["CHANNELS", "StagedData", "prepare", "read_table", "run_staging", "split_indices"]

CHANNELS = ("train", "validation", "test")


@attrs.frozen
class StagedData:
    """What `Session.stage` produced.

    Attributes:
        channels: Channel name -> ``s3://`` prefix holding its file (a SageMaker channel).
        files: Channel name -> ``s3://`` URI of the file itself.
        rows: Channel name -> number of rows written.
        uploaded: Channel name -> whether bytes were sent (False when unchanged).
        columns: Output column order.
        label: The label column, if any.
        content_type: MIME type of the channel files (``text/csv`` or
            ``application/x-parquet``).
    """

    channels: dict[str, str]
    files: dict[str, str]
    rows: dict[str, int]
    uploaded: dict[str, bool]
    columns: tuple[str, ...]
    label: str | None = None
    content_type: str = "text/csv"

    @property
    def inputs(self) -> dict[str, Any]:
        """Training channels with their content type: ``TrainingSpec(inputs=data.inputs)``.

        Built-in algorithms need the content type (SageMaker's XGBoost reads libsvm unless
        told ``text/csv``); ``channels`` gives the bare URIs.
        """
        from smkit.training.spec import Channel

        return {
            name: Channel(uri, content_type=self.content_type)
            for name, uri in self.channels.items()
        }


def read_table(source: Any) -> pd.DataFrame:
    """Read a CSV / CSV.gz / Parquet file, or return a copy of a DataFrame."""
    import pandas as pd

    if not isinstance(source, str | Path):
        return source.copy()
    path = Path(source)
    if not path.is_file():
        raise SourceNotFoundError(f"staging source not found: {str(path)!r}", path=str(path))
    try:
        if path.suffix in (".parquet", ".pq"):
            return pd.read_parquet(path)
        return pd.read_csv(path)
    except (ValueError, OSError, pd.errors.ParserError) as exc:
        raise FormatError(f"could not read {str(path)!r}: {exc}", path=str(path)) from exc


def _need(df: pd.DataFrame, column: str, what: str) -> None:
    if column not in df.columns:
        raise ColumnNotFoundError(
            f"{what} column {column!r} is not in the data; "
            f"columns: {', '.join(map(str, df.columns))}",
            column=column,
        )


def prepare(spec: StagingSpec) -> pd.DataFrame:
    """Read the source and apply drop / rename / datetime parts / label order.

    The datetime column is kept here (a `TimeSplit` may need it); `run_staging`
    drops it after splitting when ``keep_datetime`` is false.
    """
    import pandas as pd

    df = read_table(spec.source)
    for col in spec.drop:
        _need(df, col, "drop")
    df = df.drop(columns=list(spec.drop))
    for old in spec.rename:
        _need(df, old, "rename")
    df = df.rename(columns=spec.rename)
    if spec.datetime_column:
        _need(df, spec.datetime_column, "datetime")
        try:
            stamp = pd.to_datetime(df[spec.datetime_column])
        except (ValueError, TypeError) as exc:
            raise FormatError(
                f"column {spec.datetime_column!r} does not parse as datetime: {exc}"
            ) from exc
        for part in spec.datetime_parts:
            df[f"{spec.datetime_column}_{part}"] = getattr(stamp.dt, part).astype("int64")
    if spec.label is not None:
        _need(df, spec.label, "label")
        if spec.label_first:
            df = df[[spec.label, *[c for c in df.columns if c != spec.label]]]
    return df


def _cut(order: np.ndarray, validation: float, test: float) -> dict[str, np.ndarray]:
    n = len(order)
    n_test = int(round(n * test))
    n_val = int(round(n * validation))
    n_train = n - n_val - n_test
    return {
        "train": order[:n_train],
        "validation": order[n_train : n_train + n_val],
        "test": order[n_train + n_val :],
    }


def split_indices(
    df: pd.DataFrame, split: Split | None, *, label: str | None = None
) -> dict[str, np.ndarray]:
    """Row positions of each channel; a partition of ``range(len(df))``, sorted within each.

    Deterministic for a given split (and its seed). Empty channels are omitted, except
    ``train``, which must not be empty.
    """
    import numpy as np
    import pandas as pd

    n = len(df)
    if split is None:
        parts = {"train": np.arange(n)}
    elif isinstance(split, StratifiedSplit):
        column = split.column or label
        if column is None:
            raise SplitError("StratifiedSplit needs a column (or a label on the StagingSpec)")
        _need(df, column, "stratify")
        rng = np.random.default_rng(split.seed)
        groups: dict[str, list[np.ndarray]] = {c: [] for c in CHANNELS}
        codes, _ = pd.factorize(df[column], use_na_sentinel=False)
        for code in np.unique(codes):
            members = np.flatnonzero(codes == code)
            cut = _cut(rng.permutation(members), split.validation, split.test)
            for name, idx in cut.items():
                groups[name].append(idx)
        parts = {k: np.concatenate(v) if v else np.array([], dtype=int) for k, v in groups.items()}
    elif isinstance(split, RandomSplit):
        rng = np.random.default_rng(split.seed)
        parts = _cut(rng.permutation(n), split.validation, split.test)
    elif isinstance(split, TimeSplit):
        _need(df, split.column, "time split")
        stamp = pd.to_datetime(df[split.column])
        month = (stamp.dt.year * 100 + stamp.dt.month).to_numpy()
        day = stamp.dt.day.to_numpy()
        assign = np.zeros(n, dtype=np.int8)  # 0 train, 1 validation, 2 test
        for m in np.unique(month):
            in_month = month == m
            days = np.unique(day[in_month])
            test_days = days[len(days) - split.test_days :] if split.test_days else days[:0]
            rest = days[: len(days) - split.test_days] if split.test_days else days
            val_days = (
                rest[len(rest) - split.validation_days :] if split.validation_days else rest[:0]
            )
            assign[in_month & np.isin(day, val_days)] = 1
            assign[in_month & np.isin(day, test_days)] = 2
        parts = {name: np.flatnonzero(assign == i) for i, name in enumerate(CHANNELS)}
    else:
        raise SplitError(f"unknown split {split!r}")
    parts = {k: np.sort(v) for k, v in parts.items()}
    if len(parts["train"]) == 0:
        raise SplitError(f"the split leaves no training rows ({n} rows in all): {split!r}")
    return {k: v for k, v in parts.items() if k == "train" or len(v)}


def _write(df: pd.DataFrame, path: Path, spec: StagingSpec) -> None:
    if spec.output_format == "parquet":
        df.to_parquet(path, index=False)
    else:
        df.to_csv(path, index=False, header=spec.header, lineterminator="\n")


def run_staging(session: Session, spec: StagingSpec) -> StagedData:
    """Prepare, split, write and upload; see `smkit.Session.stage`."""
    df = prepare(spec)
    parts = split_indices(df, spec.split, label=spec.label)
    if spec.datetime_column and not spec.keep_datetime:
        df = df.drop(columns=[spec.datetime_column])
    destination = spec.destination or s3uri.to_uri(
        session.default_bucket(), f"smkit/staging/{spec.name}/"
    )
    suffix = "csv" if spec.output_format == "csv" else "parquet"
    channels: dict[str, str] = {}
    files: dict[str, str] = {}
    rows: dict[str, int] = {}
    uploaded: dict[str, bool] = {}
    with tempfile.TemporaryDirectory(prefix="smkit-stage-") as tmp:
        for name, idx in parts.items():
            local = Path(tmp, f"{name}.{suffix}")
            _write(df.iloc[idx], local, spec)
            prefix = s3uri.join(destination, name) + "/"
            file_uri = s3uri.join(prefix, f"{name}.{suffix}")
            content_type = "text/csv" if suffix == "csv" else "application/x-parquet"
            _, sent = session.store.put_file(
                file_uri, local, content_type=content_type, progress=True
            )
            channels[name] = prefix
            files[name] = file_uri
            rows[name] = len(idx)
            uploaded[name] = sent
    return StagedData(
        channels=channels,
        files=files,
        rows=rows,
        uploaded=uploaded,
        columns=tuple(map(str, df.columns)),
        label=spec.label,
        content_type="text/csv" if suffix == "csv" else "application/x-parquet",
    )
