"""Times of day as text, ``24:00:00`` included, for every destination that takes text.

DuckDB and PostgreSQL hold ``24:00:00``, the end of a day, in their TIME types; Arrow
carries it as a ``time64`` of exactly one day. Arrow's string cast spells that value
``<value out of range: ...>`` and Python's ``datetime.time`` wraps it around to
midnight, so such values are spelled here, the rest by Arrow, column-wise.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

_TICKS_PER_SECOND = {"s": 1, "ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}


def time_text(column: pa.Array | pa.ChunkedArray) -> pa.Array:
    """Each time of day as ``HH:MM:SS`` with the column's fraction digits; NULL stays NULL."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    kind = column.type
    assert isinstance(kind, pa.Time32Type | pa.Time64Type)
    per_second = _TICKS_PER_SECOND[kind.unit]
    # Arrow casts time32 only to int32 and time64 only to int64.
    numbers = column.cast(pa.int32() if kind.bit_width == 32 else pa.int64())
    day = 86_400 * per_second
    outside = pc.fill_null(pc.or_(pc.less(numbers, 0), pc.greater_equal(numbers, day)), False)
    if not pc.any(outside).as_py():
        return column.cast(pa.string())

    inside = pc.if_else(outside, pa.scalar(None, kind), column).cast(pa.string())
    spelled = [
        None if value is None or not far else _spell(value, per_second)
        for value, far in zip(numbers.to_pylist(), outside.to_pylist(), strict=True)
    ]
    return pc.if_else(outside, pa.array(spelled, pa.string()), inside)


def _spell(ticks: int, per_second: int) -> str:
    """``ticks`` since midnight as hours (beyond 23 when it is), minutes and seconds."""
    sign = "-" if ticks < 0 else ""
    seconds, fraction = divmod(abs(ticks), per_second)
    minutes, second = divmod(seconds, 60)
    hour, minute = divmod(minutes, 60)
    text = f"{sign}{hour:02d}:{minute:02d}:{second:02d}"
    if per_second > 1:
        text += "." + str(fraction).rjust(len(str(per_second)) - 1, "0")
    return text
