"""Feature engineering and the time-based validation split for Kaggle "Bike Sharing Demand".

Pure pandas/numpy, no smkit import: this module ships inside the training and inference
containers next to ``train.py`` and ``inference.py``.

The raw columns are Kaggle's: ``datetime`` (hourly), ``season``, ``holiday``, ``workingday``,
``weather``, ``temp``, ``atemp``, ``humidity``, ``windspeed``; training rows also carry the
targets ``casual``, ``registered`` and ``count`` (= casual + registered). ``casual`` and
``registered`` are unknown at prediction time, so they are targets, never features.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

__all__ = [
    "DATETIME_COLUMN",
    "FEATURES",
    "FORBIDDEN_FEATURES",
    "RAW_FEATURES",
    "TARGETS",
    "AveragedRegressor",
    "BASE_FEATURES",
    "combine_predictions",
    "kaggle_like_split",
    "make_features",
    "parse_datetime",
    "read_frames",
    "rmsle",
    "time_split",
]

DATETIME_COLUMN = "datetime"
RAW_FEATURES: tuple[str, ...] = (
    "season",
    "holiday",
    "workingday",
    "weather",
    "temp",
    "atemp",
    "humidity",
    "windspeed",
)
TARGETS: tuple[str, ...] = ("casual", "registered", "count")
FORBIDDEN_FEATURES: tuple[str, ...] = ("casual", "registered", "count")

#: The start of the Kaggle data; the trend features count from here.
EPOCH = pd.Timestamp("2011-01-01")
_COMMUTE_HOURS = (7, 8, 17, 18, 19)

FEATURES: tuple[str, ...] = (
    *RAW_FEATURES,
    "hour",
    "weekday",
    "month",
    "year",
    "dayofyear",
    "weekofyear",
    "months_since_start",
    "days_since_start",
    "hour_workingday",
    "commute_peak",
    "leisure_peak",
    "night",
    "feels_minus_temp",
    "bad_weather",
    # hour x day type: 0-23 non-working day, 24-47 working day, 48-71 holiday
    "hour_daytype",
    # per-day weather aggregates (over the rows of the same calendar day in the frame)
    "day_temp_mean",
    "day_atemp_max",
    "day_humidity_mean",
    "day_windspeed_mean",
    "day_weather_max",
    "day_bad_hours",
    # the weather around the hour (neighbouring rows in time; the hour's own when absent)
    "weather_prev",
    "weather_next",
    "bad_last3",
)

#: The features before issue 20 (the same-run reference model uses these).
BASE_FEATURES: tuple[str, ...] = FEATURES[: FEATURES.index("bad_weather") + 1]


def parse_datetime(
    values: pd.Series | Sequence[str], *, column: str = DATETIME_COLUMN
) -> pd.Series:
    """Parse a datetime column, naming the column and a bad value on failure.

    Args:
        values: Strings such as ``"2011-01-20 00:00:00"`` or timestamps.
        column: The column's name, for the error message.

    Returns:
        A ``datetime64[ns]`` series.

    Raises:
        ValueError: When a value is missing or is not a date-time.
    """
    series = pd.Series(values)
    parsed = pd.to_datetime(series, errors="coerce")
    bad = parsed.isna()
    if bad.any():
        first = series[bad].iloc[0]
        raise ValueError(
            f"column {column!r} has {int(bad.sum())} value(s) that are not date-times, "
            f"e.g. {first!r}; expected 'YYYY-MM-DD HH:MM:SS'"
        )
    return parsed.reset_index(drop=True)


def make_features(df: pd.DataFrame, *, datetime_column: str = DATETIME_COLUMN) -> pd.DataFrame:
    """Derive the model's feature frame from raw Kaggle rows.

    Target columns present in ``df`` are ignored (they are never features).

    Args:
        df: Rows with ``datetime`` and the raw weather/calendar columns.
        datetime_column: The name of the date-time column.

    Returns:
        A new frame with exactly the columns of `FEATURES`, in that order, on a fresh
        ``RangeIndex``.

    Raises:
        ValueError: When a required column is missing or a date-time does not parse.
    """
    missing = [c for c in (datetime_column, *RAW_FEATURES) if c not in df.columns]
    if missing:
        raise ValueError(
            f"missing column(s) {missing}; bike-demand rows need {[datetime_column, *RAW_FEATURES]}"
        )
    ts = parse_datetime(df[datetime_column], column=datetime_column)
    out = pd.DataFrame({c: pd.to_numeric(df[c], errors="coerce").to_numpy() for c in RAW_FEATURES})
    hour = ts.dt.hour.to_numpy()
    workingday = out["workingday"].fillna(0).astype(int).to_numpy()
    out["hour"] = hour
    out["weekday"] = ts.dt.dayofweek.to_numpy()
    out["month"] = ts.dt.month.to_numpy()
    out["year"] = ts.dt.year.to_numpy()
    out["dayofyear"] = ts.dt.dayofyear.to_numpy()
    out["weekofyear"] = ts.dt.isocalendar().week.astype(int).to_numpy()
    out["months_since_start"] = (
        (ts.dt.year - EPOCH.year) * 12 + ts.dt.month - EPOCH.month
    ).to_numpy()
    out["days_since_start"] = ((ts - EPOCH) / pd.Timedelta(days=1)).to_numpy()
    out["hour_workingday"] = hour + 24 * workingday
    out["commute_peak"] = (np.isin(hour, _COMMUTE_HOURS) & (workingday == 1)).astype(int)
    out["leisure_peak"] = (((hour >= 10) & (hour <= 19)) & (workingday == 0)).astype(int)
    out["night"] = (hour <= 5).astype(int)
    out["feels_minus_temp"] = out["atemp"] - out["temp"]
    out["bad_weather"] = (out["weather"] >= 3).astype(int)
    holiday = out["holiday"].fillna(0).astype(int).to_numpy()
    out["hour_daytype"] = hour + 24 * np.where(holiday == 1, 2, workingday)
    _add_context(out, ts)
    return out[list(FEATURES)]


def _add_context(out: pd.DataFrame, ts: pd.Series) -> None:
    """Per-day weather aggregates and the neighbouring hours' weather, in place.

    Rows are put in time order first (and the results mapped back), so the frame's row order
    does not matter; a day's aggregates use the rows of that day present in the frame (a
    request with a single hour sees that hour's values).
    """
    order = np.argsort(ts.to_numpy(), kind="stable")
    sorted_ts = ts.iloc[order].reset_index(drop=True)
    day = sorted_ts.dt.normalize()
    frame = out.iloc[order].reset_index(drop=True)
    weather = frame["weather"].astype(float)
    bad = (weather >= 3).astype(float)
    by_day = pd.DataFrame(
        {
            "day": day,
            "temp": frame["temp"],
            "atemp": frame["atemp"],
            "humidity": frame["humidity"],
            "windspeed": frame["windspeed"],
            "weather": weather,
            "bad": bad,
        }
    ).groupby("day")
    derived = pd.DataFrame(
        {
            "day_temp_mean": by_day["temp"].transform("mean"),
            "day_atemp_max": by_day["atemp"].transform("max"),
            "day_humidity_mean": by_day["humidity"].transform("mean"),
            "day_windspeed_mean": by_day["windspeed"].transform("mean"),
            "day_weather_max": by_day["weather"].transform("max"),
            "day_bad_hours": by_day["bad"].transform("sum"),
            "weather_prev": weather.shift(1).fillna(weather),
            "weather_next": weather.shift(-1).fillna(weather),
            "bad_last3": bad.rolling(3, min_periods=1).sum(),
        }
    )
    back = np.empty_like(order)
    back[order] = np.arange(order.size)
    for col in derived.columns:
        out[col] = derived[col].to_numpy()[back]


def kaggle_like_split(
    df: pd.DataFrame,
    *,
    train_last_day: int = 9,
    validation_last_day: int = 19,
    datetime_column: str = DATETIME_COLUMN,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split by day of the month the way Kaggle split train from test.

    Kaggle's train file holds days 1-19 of every month and its test file days 20 to the end,
    so the test asks for ~10 days at a distance of 1-11 days from the nearest known day.
    Holding out days ``train_last_day + 1`` .. ``validation_last_day`` (10-19 by default) and
    fitting on days 1 .. ``train_last_day`` asks the same of the model, in every month.

    Args:
        df: Rows with a date-time column.
        train_last_day: The last day of the month kept for fitting.
        validation_last_day: The last day of the month held out (later days are dropped).
        datetime_column: The name of the date-time column.

    Returns:
        ``(train, validation)``, both with the original columns and a fresh index.

    Raises:
        ValueError: When the day bounds are not ``1 <= train_last_day < validation_last_day``.
    """
    if not 1 <= train_last_day < validation_last_day:
        raise ValueError(
            f"need 1 <= train_last_day < validation_last_day, got {train_last_day} and "
            f"{validation_last_day}"
        )
    dom = parse_datetime(df[datetime_column], column=datetime_column).dt.day.to_numpy()
    data = df.reset_index(drop=True)
    train = data[dom <= train_last_day].reset_index(drop=True)
    held = (dom > train_last_day) & (dom <= validation_last_day)
    return train, data[held].reset_index(drop=True)


class AveragedRegressor:
    """Weighted average of regressors' ``predict`` (on the log scale they were trained on).

    Args:
        models: Fitted models, each with ``predict(frame) -> array``.
        weights: One weight per model (normalised to sum to 1); equal by default.
    """

    def __init__(self, models: Sequence, weights: Sequence[float] | None = None) -> None:
        if not models:
            raise ValueError("AveragedRegressor needs at least one model")
        w = np.ones(len(models)) if weights is None else np.asarray(weights, dtype=float)
        if w.shape != (len(models),) or np.any(w < 0) or w.sum() <= 0:
            raise ValueError(f"need one non-negative weight per model, got {weights!r}")
        self.models = list(models)
        self.weights = w / w.sum()

    def predict(self, x) -> np.ndarray:
        """The weighted mean of the models' predictions."""
        preds = [np.asarray(m.predict(x), dtype=float) for m in self.models]
        return np.sum([w * p for w, p in zip(self.weights, preds, strict=True)], axis=0)


def time_split(
    df: pd.DataFrame,
    *,
    validation_days: int = 3,
    datetime_column: str = DATETIME_COLUMN,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Hold out the last ``validation_days`` distinct days of every calendar month.

    Kaggle's training file holds days 1-19 of each month and its test file days 20-end, so
    holding out e.g. days 17-19 mimics "predict the days after the ones you know".

    Args:
        df: Rows with a date-time column.
        validation_days: Distinct days per month to hold out (0 keeps everything in train).
        datetime_column: The name of the date-time column.

    Returns:
        ``(train, validation)``, both with the original columns and a fresh index.

    Raises:
        ValueError: When ``validation_days`` is negative or leaves a month with no training day.
    """
    if validation_days < 0:
        raise ValueError(f"validation_days must be >= 0, got {validation_days}")
    ts = parse_datetime(df[datetime_column], column=datetime_column)
    day = ts.dt.normalize()
    month = ts.dt.to_period("M")
    held = np.zeros(len(df), dtype=bool)
    if validation_days:
        frame = pd.DataFrame({"day": day, "month": month})
        for _, group in frame.groupby("month", sort=False):
            days = np.sort(group["day"].unique())
            if len(days) <= validation_days:
                raise ValueError(
                    f"month {group['month'].iloc[0]} has {len(days)} day(s), not more than "
                    f"validation_days={validation_days}; lower validation_days"
                )
            cut = days[-validation_days:]
            held[group.index[group["day"].isin(cut)]] = True
    data = df.reset_index(drop=True)
    return data[~held].reset_index(drop=True), data[held].reset_index(drop=True)


def rmsle(y_true: Iterable[float], y_pred: Iterable[float]) -> float:
    """Root mean squared logarithmic error, Kaggle's metric (predictions clipped at 0).

    Args:
        y_true: Observed counts (>= 0).
        y_pred: Predicted counts.

    Returns:
        ``sqrt(mean((log1p(pred) - log1p(true))**2))``.
    """
    t = np.asarray(list(y_true) if not hasattr(y_true, "__array__") else y_true, dtype=float)
    p = np.asarray(list(y_pred) if not hasattr(y_pred, "__array__") else y_pred, dtype=float)
    if t.shape != p.shape:
        raise ValueError(f"y_true has shape {t.shape} but y_pred has shape {p.shape}")
    if t.size == 0:
        raise ValueError("rmsle of zero rows is undefined")
    p = np.clip(p, 0, None)
    return float(np.sqrt(np.mean((np.log1p(p) - np.log1p(t)) ** 2)))


def combine_predictions(log_predictions: dict[str, Sequence[float]]) -> np.ndarray:
    """Turn per-target ``log1p`` predictions into counts (>= 0).

    ``casual`` + ``registered`` predictions are back-transformed and summed; a prediction of
    the total (any other target name, e.g. ``count``) is back-transformed. When both kinds
    are present (``--target_mode blend``) the two estimates are averaged on the log scale.

    Args:
        log_predictions: Target name -> predicted ``log1p(target)``, all the same length.

    Returns:
        The predicted counts.

    Raises:
        ValueError: When only one of ``casual``/``registered`` is present, or nothing is.
    """
    parts = {k: np.asarray(v, dtype=float) for k, v in log_predictions.items()}
    has = {"casual", "registered"} & set(parts)
    if len(has) == 1:
        raise ValueError(f"a prediction for {sorted(has)} needs its partner too")
    totals = [k for k in parts if k not in ("casual", "registered")]
    estimates = []
    if has:
        split = np.expm1(parts["casual"]) + np.expm1(parts["registered"])
        estimates.append(np.log1p(np.clip(split, 0.0, None)))
    estimates.extend(parts[k] for k in totals)
    if not estimates:
        raise ValueError("no predictions to combine")
    return np.clip(np.expm1(np.mean(estimates, axis=0)), 0.0, None)


def read_frames(paths: Iterable[str]) -> pd.DataFrame:
    """Read and concatenate CSV files (with a header row; ``.gz`` is fine)."""
    frames = [pd.read_csv(p) for p in paths]
    if not frames:
        raise ValueError("no CSV files to read")
    return pd.concat(frames, ignore_index=True)
