"""How ``infinity`` and ``-infinity`` dates and timestamps travel in Arrow.

Arrow has no infinite date or timestamp, so Syncline uses the values DuckDB (its
engine) reads as ``infinity``: the largest magnitude a column's integer holds, positive
or negative (``2**63 - 1`` for timestamps of any unit, ``2**31 - 1`` days for ``date32``).
A source that reads an infinite value yields these; the engine compares them as the
words ``infinity`` and ``-infinity``; a destination that can store infinity (PostgreSQL,
DuckDB) writes it, text formats write the words, and the others reject the row with
a reason rather than store a made-up year.
"""

from __future__ import annotations

import logging
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from syncline.connectors.sources.far_years import calendar_text, is_calendar_type

logger = logging.getLogger(__name__)

TIMESTAMP_INFINITY = 2**63 - 1
"""A timestamp (any unit) meaning ``infinity``; its negation means ``-infinity``."""

DATE_INFINITY = 2**31 - 1
"""A ``date32`` (days) meaning ``infinity``; its negation means ``-infinity``."""


def _limit(kind: pa.DataType) -> tuple[int, pa.DataType] | None:
    if pa.types.is_timestamp(kind):
        return TIMESTAMP_INFINITY, pa.int64()
    if pa.types.is_date32(kind):
        return DATE_INFINITY, pa.int32()
    return None


def can_be_infinite(kind: pa.DataType) -> bool:
    """Whether values of ``kind`` may be ``infinity`` (timestamps and ``date32``)."""
    return _limit(kind) is not None


def infinite(column: pa.Array | pa.ChunkedArray) -> pa.Array | None:
    """A boolean mask of the infinite values of ``column``, or None when it holds none."""
    limit = _limit(column.type)
    if limit is None or len(column) == 0:
        return None
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    numbers = column.view(limit[1])
    extremes = pc.min_max(numbers)
    low, high = extremes["min"].as_py(), extremes["max"].as_py()
    if low is None or (low > -limit[0] and high < limit[0]):
        return None
    mask = pc.or_(pc.equal(numbers, limit[0]), pc.equal(numbers, -limit[0]))
    return pc.fill_null(mask, False)


def infinity_text(column: pa.Array | pa.ChunkedArray, mask: pa.Array) -> pa.Array:
    """``infinity`` / ``-infinity`` where ``mask`` is set, null elsewhere."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    limit = _limit(column.type)
    assert limit is not None
    positive = pc.greater(column.view(limit[1]), 0)
    words = pc.if_else(positive, "infinity", "-infinity")
    return pc.if_else(mask, words, pa.scalar(None, pa.string()))


def without_infinity(column: pa.Array | pa.ChunkedArray, mask: pa.Array) -> pa.Array:
    """``column`` with its infinite values (set in ``mask``) made null."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    return pc.if_else(mask, pa.scalar(None, column.type), column)


def python_values(column: pa.Array | pa.ChunkedArray) -> list[Any]:
    """The values of ``column`` in Python, for showing them to a person.

    Infinite dates and timestamps are the words ``infinity`` / ``-infinity``, and a
    column Python cannot hold (a year beyond 9999) is the exact text of each value
    (see :mod:`syncline.connectors.sources.far_years`), or Arrow's text of other types.
    """
    mask = infinite(column)
    if mask is not None:
        words = infinity_text(column, mask).to_pylist()
        finite = python_values(without_infinity(column, mask))
        return [finite[i] if word is None else word for i, word in enumerate(words)]
    try:
        values: list[Any] = column.to_pylist()
    except (OverflowError, ValueError, pa.ArrowException):
        if is_calendar_type(column.type):
            return list(calendar_text(column))
        values = column.cast(pa.string()).to_pylist()
    return values
