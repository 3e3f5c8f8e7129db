"""Monitoring schedules in AWS cron syntax.

SageMaker's ``ScheduleExpression`` is an AWS cron expression with six fields,
``cron(Minutes Hours Day-of-month Month Day-of-week Year)``, evaluated in UTC. One of
day-of-month and day-of-week must be ``?``. Fields accept ``*``, numbers, lists ``a,b``,
ranges ``a-b`` and steps ``a/n`` or ``*/n``; months accept ``JAN``-``DEC`` and days of week
``SUN``-``SAT`` (``1`` = Sunday). ``L``, ``W`` and ``#`` are not supported here (Model Monitor
does not use them) and raise `ValidationError`.

Examples:
    >>> hourly().expression
    'cron(0 * ? * * *)'
    >>> daily(hour=3).expression
    'cron(0 3 ? * * *)'
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs

from smkit.errors import ValidationError

__all__ = ["CronSchedule", "daily", "every_x_hours", "hourly", "parse_schedule"]

_MONTHS = {
    m: i
    for i, m in enumerate(
        ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"], 1
    )
}
_DAYS = {d: i for i, d in enumerate(["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"], 1)}
_BOUNDS = [(0, 59), (0, 23), (1, 31), (1, 12), (1, 7), (1970, 2199)]
_NAMES = ["minutes", "hours", "day-of-month", "month", "day-of-week", "year"]
_CRON_RE = re.compile(r"^cron\((.*)\)$", re.I)


def _parse_field(text: str, index: int) -> frozenset[int] | None:
    """Allowed values of one field, or ``None`` for ``*``/``?`` (anything)."""
    lo, hi = _BOUNDS[index]
    name = _NAMES[index]
    if text in ("*", "?"):
        return None
    if any(c in text for c in "LW#"):
        raise ValidationError(
            f"cron {name} field {text!r}: L, W and # are not supported",
            hint="use numbers, lists, ranges and steps",
        )
    names = _MONTHS if index == 3 else _DAYS if index == 4 else {}
    out: set[int] = set()
    for part in text.split(","):
        step = 1
        if "/" in part:
            part, step_text = part.split("/", 1)
            if not step_text.isdigit() or int(step_text) < 1:
                raise ValidationError(f"cron {name} field {text!r}: bad step {step_text!r}")
            step = int(step_text)
        if part in ("*", "?", ""):
            start, end = lo, hi
        elif "-" in part:
            a, b = part.split("-", 1)
            start, end = _value(a, names, name, text), _value(b, names, name, text)
        else:
            start = _value(part, names, name, text)
            end = hi if step > 1 else start
        if not (lo <= start <= hi and lo <= end <= hi) or start > end:
            raise ValidationError(
                f"cron {name} field {text!r} is outside {lo}-{hi}", field=name, value=text
            )
        out.update(range(start, end + 1, step))
    return frozenset(out)


def _value(text: str, names: dict[str, int], name: str, field: str) -> int:
    upper = text.upper()
    if upper in names:
        return names[upper]
    if not text.isdigit():
        raise ValidationError(f"cron {name} field {field!r}: {text!r} is not a number")
    return int(text)


@attrs.frozen
class CronSchedule:
    """A validated AWS cron schedule.

    Attributes:
        expression: ``cron(M H DoM Mon DoW Y)``.
    """

    expression: str = attrs.field()
    _fields: tuple[Any, ...] = attrs.field(init=False, repr=False, eq=False)

    @expression.validator
    def _check(self, _attr: Any, value: str) -> None:
        m = _CRON_RE.match(value.strip()) if isinstance(value, str) else None
        if not m:
            raise ValidationError(
                f"schedule {value!r} is not an AWS cron expression",
                hint="write cron(0 * ? * * *), or use hourly() / daily(hour=...)",
            )
        parts = m.group(1).split()
        if len(parts) != 6:
            raise ValidationError(
                f"schedule {value!r} has {len(parts)} fields; AWS cron has 6 "
                "(minutes hours day-of-month month day-of-week year)"
            )
        if (parts[2] == "?") == (parts[4] == "?"):
            raise ValidationError(
                f"schedule {value!r}: exactly one of day-of-month and day-of-week must be '?'"
            )

    def __attrs_post_init__(self) -> None:
        parts = _CRON_RE.match(self.expression.strip()).group(1).split()  # type: ignore[union-attr]
        object.__setattr__(self, "_fields", tuple(_parse_field(p, i) for i, p in enumerate(parts)))

    def matches(self, when: datetime) -> bool:
        """Whether the schedule fires at the minute ``when`` (UTC)."""
        when = when.astimezone(UTC) if when.tzinfo else when.replace(tzinfo=UTC)
        dow = (when.isoweekday() % 7) + 1  # SUN=1 .. SAT=7
        values = [when.minute, when.hour, when.day, when.month, dow, when.year]
        return all(f is None or v in f for f, v in zip(self._fields, values))

    def next_after(self, when: datetime) -> datetime | None:
        """The first firing time strictly after ``when`` (UTC), or ``None`` within 5 years."""
        when = when.astimezone(UTC) if when.tzinfo else when.replace(tzinfo=UTC)
        t = when.replace(second=0, microsecond=0) + timedelta(minutes=1)
        limit = t + timedelta(days=366 * 5)
        minutes, hours = self._fields[0], self._fields[1]
        while t < limit:
            day_ok = self._day_ok(t)
            if not day_ok:
                t = (t + timedelta(days=1)).replace(hour=0, minute=0)
                continue
            if hours is not None and t.hour not in hours:
                t = (t + timedelta(hours=1)).replace(minute=0)
                continue
            if minutes is not None and t.minute not in minutes:
                t += timedelta(minutes=1)
                continue
            return t
        return None

    def _day_ok(self, t: datetime) -> bool:
        dom, month, dow, year = self._fields[2], self._fields[3], self._fields[4], self._fields[5]
        d = (t.isoweekday() % 7) + 1
        return (
            (dom is None or t.day in dom)
            and (month is None or t.month in month)
            and (dow is None or d in dow)
            and (year is None or t.year in year)
        )

    def due(self, last_run: datetime, now: datetime) -> bool:
        """Whether a run is due at ``now`` given the previous run (or creation) time."""
        nxt = self.next_after(last_run)
        return nxt is not None and nxt <= now


def hourly() -> CronSchedule:
    """Every hour at minute 0: ``cron(0 * ? * * *)``."""
    return CronSchedule("cron(0 * ? * * *)")


def daily(hour: int = 0) -> CronSchedule:
    """Every day at ``hour``:00 UTC."""
    if not isinstance(hour, int) or not 0 <= hour <= 23:
        raise ValidationError(f"daily(hour=...) needs 0-23, got {hour!r}")
    return CronSchedule(f"cron(0 {hour} ? * * *)")


def every_x_hours(x: int, starting_hour: int = 0) -> CronSchedule:
    """Every ``x`` hours from ``starting_hour`` (SageMaker's ``daily_every_x_hours``)."""
    if x not in (1, 2, 3, 4, 6, 8, 12):
        raise ValidationError(f"every_x_hours needs one of 1, 2, 3, 4, 6, 8, 12; got {x!r}")
    if not 0 <= starting_hour <= 23:
        raise ValidationError(f"starting_hour must be 0-23, got {starting_hour!r}")
    return CronSchedule(f"cron(0 {starting_hour}/{x} ? * * *)")


def parse_schedule(value: str | CronSchedule) -> CronSchedule:
    """``"hourly"``, ``"daily"``, ``"daily@H"`` or a ``cron(...)`` expression."""
    if isinstance(value, CronSchedule):
        return value
    if not isinstance(value, str):
        raise ValidationError(f"schedule must be a string or CronSchedule, got {value!r}")
    text = value.strip().lower()
    if text == "hourly":
        return hourly()
    if text == "daily":
        return daily()
    if text.startswith("daily@") and text[6:].isdigit():
        return daily(int(text[6:]))
    return CronSchedule(value.strip())


def utcnow() -> datetime:
    """Now, in UTC (one place, so tests can reason about it)."""
    return datetime.now(UTC)
