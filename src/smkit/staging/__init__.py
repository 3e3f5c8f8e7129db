"""Staging: read, clean, split and format data, then upload each channel to S3.

Examples:
    >>> from smkit.staging import StagingSpec, RandomSplit
    >>> spec = StagingSpec(source="train.csv", label="quality", split=RandomSplit(validation=0.2))
"""

from smkit.staging.run import CHANNELS, StagedData, prepare, read_table, run_staging, split_indices
from smkit.staging.spec import (
    DATETIME_PARTS,
    RandomSplit,
    Split,
    StagingSpec,
    StratifiedSplit,
    TimeSplit,
)

__all__ = [
    "CHANNELS",
    "DATETIME_PARTS",
    "RandomSplit",
    "Split",
    "StagedData",
    "StagingSpec",
    "StratifiedSplit",
    "TimeSplit",
    "prepare",
    "read_table",
    "run_staging",
    "split_indices",
]
