"""Dates and timestamps outside the years 1-9999: finding them, and spelling them for PostgreSQL.

Arrow counts days from 1970 in the proleptic Gregorian calendar, so it holds any year,
and its text of a year before 1 is astronomical (``-0099`` is 100 BC). PostgreSQL reads
that sign as a time zone; it wants ``0100-01-01 BC``. Python cannot hold such years at
all, so their text is counted by :mod:`syncline.connectors.sources.far_years`.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.types as pat

from syncline.connectors.sources.far_years import calendar_text

FIRST_DAY = -719_162
"""0001-01-01 in days since 1970-01-01: the first day Python (and so a driver) holds."""
END_DAY = 2_932_897
"""10000-01-01 in days since 1970-01-01: the first day after those Python holds."""

_DAY = {"s": 86_400, "ms": 86_400_000, "us": 86_400_000_000, "ns": 86_400_000_000_000}
_INT64 = 2**63


def days_outside(column: Any, first: int, end: int | None) -> Any:
    """A mask of the dates and timestamps before day ``first`` or from day ``end`` on.

    Days count from 1970-01-01; ``end`` None (or beyond what the column's integer holds)
    means no upper bound. None when no value is outside, or ``column`` holds neither
    dates nor timestamps.
    """
    kind = column.type
    if pat.is_date32(kind):
        numbers, per_day = column.view(pa.int32()), 1
    elif pat.is_timestamp(kind):
        numbers, per_day = column.view(pa.int64()), _DAY[kind.unit]
    else:
        return None
    low = max(first * per_day, -_INT64)
    high = None if end is None or end * per_day >= _INT64 else end * per_day
    extremes = pc.min_max(numbers)
    least, most = extremes["min"].as_py(), extremes["max"].as_py()
    if least is None or (least >= low and (high is None or most < high)):
        return None
    outside = pc.less(numbers, low)
    if high is not None:
        outside = pc.or_(outside, pc.greater_equal(numbers, high))
    return pc.fill_null(outside, False)


def postgres_calendar_text(column: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """A zone-less timestamp or ``date32`` column as text PostgreSQL reads exactly.

    Values in the years 1-9999 keep Arrow's text; others are counted exactly, and a year
    before 1 is written the PostgreSQL way (``0100-01-01 BC``). The column is returned
    unchanged when every value is in the years 1-9999.
    """
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    far = days_outside(column, FIRST_DAY, END_DAY)
    if far is None:
        return column
    near = pc.cast(pc.if_else(far, pa.scalar(None, column.type), column), pa.string())
    texts = [_era_text(text) for text in calendar_text(column.filter(far)) if text is not None]
    return pc.replace_with_mask(near, far, pa.array(texts, pa.string()))


def _era_text(text: str) -> str:
    """ISO text of an astronomical year (``-0099-01-01``) with PostgreSQL's era (100 BC)."""
    negative = text.startswith("-")
    digits, rest = text.removeprefix("-").split("-", 1)
    year = -int(digits) if negative else int(digits)
    if year > 0:
        return text
    return f"{1 - year:04d}-{rest} BC"
