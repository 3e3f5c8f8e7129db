"""Kaggle's ``submission.csv`` for "Bike Sharing Demand" (pure pandas; never imports smkit)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["make_submission", "write_submission"]


def make_submission(datetimes: Sequence[str] | pd.Series, counts: Sequence[float]) -> pd.DataFrame:
    """Build the ``datetime,count`` frame Kaggle scores.

    Args:
        datetimes: The test rows' ``datetime`` values, in the test file's order.
        counts: The predicted counts, one per row.

    Returns:
        A frame with columns ``datetime`` (as ``YYYY-MM-DD HH:MM:SS`` text) and ``count``
        (clipped at 0, NaN-free).

    Raises:
        ValueError: On a length mismatch, a missing/unparsable date-time or a non-finite count.
    """
    dts = pd.Series(datetimes).reset_index(drop=True)
    values = np.asarray(counts, dtype=float)
    if values.ndim != 1 or len(values) != len(dts):
        raise ValueError(f"{len(dts)} datetimes but {values.size} counts; they must pair up")
    if not np.all(np.isfinite(values)):
        raise ValueError(f"{int((~np.isfinite(values)).sum())} count(s) are NaN or infinite")
    parsed = pd.to_datetime(dts, errors="coerce")
    if parsed.isna().any():
        bad = dts[parsed.isna()].iloc[0]
        raise ValueError(f"datetime {bad!r} does not parse; expected 'YYYY-MM-DD HH:MM:SS'")
    return pd.DataFrame(
        {"datetime": parsed.dt.strftime("%Y-%m-%d %H:%M:%S"), "count": np.clip(values, 0, None)}
    )


def write_submission(
    path: str | Path, datetimes: Sequence[str] | pd.Series, counts: Sequence[float]
) -> Path:
    """Write `make_submission`'s frame to ``path`` (header ``datetime,count``)."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    make_submission(datetimes, counts).to_csv(out, index=False, float_format="%.4f")
    return out
