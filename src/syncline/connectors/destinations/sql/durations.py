"""Durations and calendar intervals as ISO 8601 text, the way PostgreSQL spells them.

Arrow's ``month_day_nano_interval`` (PostgreSQL ``interval``) keeps months, days and
nanoseconds apart, because a month is not a fixed number of days; ``duration`` is one
fixed length. Both are written as ISO 8601 durations with designators, each part
carrying its own sign (``P1Y2M-3DT4H5M6.5S``), as PostgreSQL's ``iso_8601`` interval
style prints them and its input accepts them; zero is ``PT0S``.
"""

from __future__ import annotations

import logging

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.types as pat

logger = logging.getLogger(__name__)

_NANOS = {"s": 1_000_000_000, "ms": 1_000_000, "us": 1_000, "ns": 1}


def is_duration_like(arrow_type: pa.DataType) -> bool:
    """Whether values of ``arrow_type`` are durations or calendar intervals."""
    return bool(pat.is_duration(arrow_type) or pat.is_interval(arrow_type))


def iso_text(months: int, days: int, nanoseconds: int) -> str:
    """One interval as ISO 8601 text, e.g. ``P1Y2M3DT4H5M6.000007S``."""
    years, months = _split(months, 12)
    date = "".join(f"{n}{unit}" for n, unit in ((years, "Y"), (months, "M"), (days, "D")) if n)

    seconds, fraction = _split(nanoseconds, 1_000_000_000)
    minutes, seconds = _split(seconds, 60)
    hours, minutes = _split(minutes, 60)
    time = "".join(f"{n}{unit}" for n, unit in ((hours, "H"), (minutes, "M")) if n)
    if seconds or fraction:
        sign = "-" if seconds < 0 or fraction < 0 else ""
        digits = f"{abs(fraction):09d}".rstrip("0")
        time += f"{sign}{abs(seconds)}{'.' + digits if digits else ''}S"

    if not date and not time:
        return "PT0S"
    return f"P{date}{'T' + time if time else ''}"


def _split(value: int, size: int) -> tuple[int, int]:
    """Whole units of ``size`` and the rest, both with the sign of ``value``."""
    whole, rest = divmod(abs(value), size)
    return (-whole, -rest) if value < 0 else (whole, rest)


def duration_text(column: pa.Array | pa.ChunkedArray) -> pa.Array:
    """Durations or intervals as ISO 8601 text; a NULL stays NULL."""
    kind = column.type
    if pat.is_duration(kind):
        factor = _NANOS[kind.unit]
        values = pc.cast(column, pa.int64()).to_pylist()
        texts = [None if v is None else iso_text(0, 0, v * factor) for v in values]
        return pa.array(texts, pa.string())

    texts = [
        None if v is None else iso_text(v.months, v.days, v.nanoseconds) for v in column.to_pylist()
    ]
    return pa.array(texts, pa.string())
