"""Staging specs: what to read, how to clean and split it, how to write each channel."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Literal

import attrs

from smkit import uri as s3uri
from smkit.errors import ConfigError, SplitError

__all__ = [
    "DATETIME_PARTS",
    "RandomSplit",
    "Split",
    "StagingSpec",
    "StratifiedSplit",
    "TimeSplit",
]

#: Parts `StagingSpec.datetime_parts` may name (pandas ``.dt`` accessors).
DATETIME_PARTS = ("year", "month", "day", "hour", "minute", "dayofweek", "dayofyear", "quarter")


def _fraction(name: str) -> Any:
    def check(inst: Any, attr: attrs.Attribute, value: float | None) -> None:
        if value is None:
            return
        if not isinstance(value, int | float) or math.isnan(value) or not 0 <= value < 1:
            raise SplitError(f"{type(inst).__name__}.{name} must be in [0, 1), got {value!r}")

    return check


def _check_sum(inst: Any) -> None:
    train = inst.train
    held = inst.validation + inst.test
    if held >= 1:
        raise SplitError(
            f"{type(inst).__name__}: validation + test = {held:g} leaves nothing to train on"
        )
    if train is not None and not math.isclose(train + held, 1.0, abs_tol=1e-9):
        raise SplitError(
            f"{type(inst).__name__}: fractions train={train:g}, validation={inst.validation:g}, "
            f"test={inst.test:g} sum to {train + held:g}, not 1",
            hint="give validation/test only (train is the rest), or make all three sum to 1",
        )


@attrs.frozen
class RandomSplit:
    """Shuffle rows with ``seed`` and cut them into train / validation / test.

    Args:
        validation: Fraction of rows for the validation channel.
        test: Fraction of rows for the test channel.
        train: Optional; when given, the three fractions must sum to 1.
        seed: Seed of the shuffle (same seed, same split).
    """

    validation: float = attrs.field(default=0.2, validator=_fraction("validation"))
    test: float = attrs.field(default=0.0, validator=_fraction("test"))
    train: float | None = attrs.field(default=None, validator=_fraction("train"))
    seed: int = 0

    def __attrs_post_init__(self) -> None:
        _check_sum(self)


@attrs.frozen
class StratifiedSplit:
    """Like `RandomSplit`, but each class of ``column`` (default: the label) is cut
    in the same proportions."""

    validation: float = attrs.field(default=0.2, validator=_fraction("validation"))
    test: float = attrs.field(default=0.0, validator=_fraction("test"))
    train: float | None = attrs.field(default=None, validator=_fraction("train"))
    seed: int = 0
    column: str | None = None

    def __attrs_post_init__(self) -> None:
        _check_sum(self)


@attrs.frozen
class TimeSplit:
    """Hold out the last days of each calendar month (e.g. Kaggle bike sharing's layout).

    Within each month, the distinct days present are sorted; the last ``test_days`` go to
    test, the ``validation_days`` before them to validation, the rest to train.

    Args:
        column: A datetime column (parsed if it is text).
        validation_days: Days per month for validation.
        test_days: Days per month for test.
    """

    column: str
    validation_days: int = attrs.field(default=3)
    test_days: int = attrs.field(default=0)

    @validation_days.validator
    @test_days.validator
    def _non_negative(self, attr: attrs.Attribute, value: int) -> None:
        if not isinstance(value, int) or value < 0:
            raise SplitError(f"TimeSplit.{attr.name} must be a non-negative int, got {value!r}")


Split = RandomSplit | StratifiedSplit | TimeSplit


def _source(inst: Any, attr: attrs.Attribute, value: Any) -> None:
    if isinstance(value, str | Path):
        return
    if hasattr(value, "columns") and hasattr(value, "to_csv"):
        return
    raise ConfigError(
        f"StagingSpec.source must be a file path or a pandas DataFrame, got {type(value).__name__}"
    )


def _destination(inst: Any, attr: attrs.Attribute, value: str | None) -> None:
    if value is not None:
        s3uri.parse(value)


@attrs.frozen(eq=False)
class StagingSpec:
    """Read a table, clean it, split it and write one file per channel.

    Args:
        source: CSV (optionally ``.gz``) or Parquet file, or a pandas DataFrame.
        label: Target column (checked to exist; written first when ``label_first``).
        drop: Columns to drop.
        rename: Columns to rename, ``{old: new}`` (applied after ``drop``).
        datetime_column: A column to parse as datetime and derive ``datetime_parts`` from.
        datetime_parts: Which parts to add as ``<column>_<part>`` columns.
        keep_datetime: Keep the datetime column itself in the output.
        split: How to split rows into channels; ``None`` writes one ``train`` channel.
        output_format: ``"csv"`` or ``"parquet"``.
        header: Write a CSV header row.
        label_first: Put the label first (built-in XGBoost wants label first, no header).
        destination: ``s3://`` prefix; each channel goes to ``<destination>/<channel>/``.
            Defaults to ``s3://<default bucket>/smkit/staging/<name>/``.
        name: Name used in the default destination and file names.
    """

    source: Any = attrs.field(validator=_source)
    label: str | None = None
    drop: tuple[str, ...] = attrs.field(default=(), converter=tuple)
    rename: dict[str, str] = attrs.field(factory=dict, converter=dict)
    datetime_column: str | None = None
    datetime_parts: tuple[str, ...] = attrs.field(
        default=("year", "month", "day", "hour", "dayofweek"), converter=tuple
    )
    keep_datetime: bool = True
    split: Split | None = None
    output_format: Literal["csv", "parquet"] = attrs.field(default="csv")
    header: bool = True
    label_first: bool = False
    destination: str | None = attrs.field(default=None, validator=_destination)
    name: str = "data"

    @output_format.validator
    def _format(self, attr: attrs.Attribute, value: str) -> None:
        if value not in ("csv", "parquet"):
            raise ConfigError(f"output_format must be 'csv' or 'parquet', got {value!r}")

    @datetime_parts.validator
    def _parts(self, attr: attrs.Attribute, value: tuple[str, ...]) -> None:
        bad = [p for p in value if p not in DATETIME_PARTS]
        if bad:
            raise ConfigError(f"unknown datetime parts {bad}; choose from {DATETIME_PARTS}")

    def evolve(self, **changes: Any) -> StagingSpec:
        """A copy with ``changes`` applied (validated again)."""
        return attrs.evolve(self, **changes)
