"""Exact text of dates and timestamps in any year, including those Python cannot hold.

Python's ``datetime`` stops at the year 9999, and Arrow's cast to text gives up beyond
it (or, for timestamps with a time zone, wraps to a wrong year). This module counts the
calendar itself: the proleptic Gregorian calendar repeats every 400 years (146,097 days),
so any day is a day of the years 1970-2369 plus whole 400-year cycles. Years are
astronomical (year 0 is 1 BC), as in ISO 8601.
"""

from __future__ import annotations

import datetime as dt
import logging

import pyarrow as pa

logger = logging.getLogger(__name__)

_CYCLE_DAYS = 146_097
_CYCLE_YEARS = 400
_UNIX_EPOCH = dt.date(1970, 1, 1)
_TICKS_PER_SECOND = {"s": 1, "ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}
_FRACTION_DIGITS = {"s": 0, "ms": 3, "us": 6, "ns": 9}


def is_calendar_type(kind: pa.DataType) -> bool:
    """Whether :func:`calendar_text` writes values of ``kind`` (timestamps and ``date32``)."""
    return bool(pa.types.is_timestamp(kind) or pa.types.is_date32(kind))


def calendar_text(column: pa.Array | pa.ChunkedArray) -> list[str | None]:
    """Each value of a timestamp or ``date32`` column as exact text; nulls stay None.

    Dates read ``YYYY-MM-DD``; timestamps ``YYYY-MM-DD HH:MM:SS`` with the fraction their
    unit carries, and ``Z`` when they have a time zone (Syncline's are UTC).
    """
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    kind = column.type
    if pa.types.is_date32(kind):
        return [None if d is None else day_text(d) for d in column.view(pa.int32()).to_pylist()]

    unit = kind.unit
    zone = "Z" if kind.tz else ""
    numbers = column.view(pa.int64()).to_pylist()
    return [None if n is None else timestamp_text(n, unit) + zone for n in numbers]


def day_text(days: int) -> str:
    """The date ``days`` days after 1970-01-01, as ``YYYY-MM-DD``."""
    cycles, rest = divmod(days, _CYCLE_DAYS)
    date = _UNIX_EPOCH + dt.timedelta(days=rest)
    year = date.year + cycles * _CYCLE_YEARS
    sign = "-" if year < 0 else ""
    return f"{sign}{abs(year):04d}-{date.month:02d}-{date.day:02d}"


def timestamp_text(ticks: int, unit: str) -> str:
    """The moment ``ticks`` units after 1970-01-01 00:00, as ``YYYY-MM-DD HH:MM:SS[.f]``."""
    per_second = _TICKS_PER_SECOND[unit]
    days, tick_of_day = divmod(ticks, 86_400 * per_second)
    seconds, fraction = divmod(tick_of_day, per_second)
    hours, seconds = divmod(seconds, 3_600)
    minutes, seconds = divmod(seconds, 60)
    text = f"{day_text(days)} {hours:02d}:{minutes:02d}:{seconds:02d}"
    digits = _FRACTION_DIGITS[unit]
    return f"{text}.{fraction:0{digits}d}" if digits else text
