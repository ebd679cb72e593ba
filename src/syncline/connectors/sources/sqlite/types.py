"""Arrow types for SQLite columns, from the types their tables declare.

SQLite stores values dynamically, so a declared type is a promise the file may break:
each plan converts what it can (text dates into dates, 0/1 into booleans) and a value
that cannot fit exactly fails the read with the column named.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from typing import Any

import pyarrow as pa

from syncline.connectors.sources._rows import (
    ColumnPlan,
    UnfitValue,
    decimal_plan,
    json_text,
    text,
    to_utc,
)
from syncline.connectors.sources.base import json_field

logger = logging.getLogger(__name__)

_PRECISION = re.compile(r"\(\s*(\d+)\s*(?:,\s*(\d+)\s*)?\)")


def parse_datetime(value: Any) -> dt.datetime:
    """A datetime from ISO text (``T`` or space, optional zone) or Unix seconds."""
    if isinstance(value, int | float):
        return dt.datetime.fromtimestamp(value, dt.UTC)
    return dt.datetime.fromisoformat(text(value).strip())


def naive_datetime(value: Any) -> dt.datetime:
    """A naive datetime; text with a zone is moved to UTC first."""
    parsed = parse_datetime(value)
    return parsed if parsed.tzinfo is None else to_utc(parsed).replace(tzinfo=None)


def utc_datetime(value: Any) -> dt.datetime:
    """An aware datetime in UTC; text without a zone is taken to be UTC."""
    return to_utc(parse_datetime(value))


def parse_date(value: Any) -> dt.date:
    """A date from ISO text; a datetime's time part is dropped."""
    raw = text(value).strip()
    return dt.date.fromisoformat(raw[:10])


def parse_time(value: Any) -> dt.time:
    """A time of day from ISO text."""
    return dt.time.fromisoformat(text(value).strip())


def boolean(value: Any) -> bool:
    """A boolean from the integer 0 or 1, the only booleans SQLite has.

    ``TRUE`` and ``FALSE`` in SQL are the integers 1 and 0. Other values are refused
    rather than guessed at: SQLite itself reads the text ``'true'`` as false in a
    boolean test, so no reading of text would agree with both the file and its writer.
    """
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    raise UnfitValue(
        "SQLite booleans are the integers 0 and 1, and SQLite reads text such as 'true' "
        "as false; store 0 and 1 in the column, or turn its values into 1 and 0 in the "
        "model's SQL (CASE ... END), which sends them as integers"
    )


def binary(value: Any) -> bytes:
    """Bytes from a BLOB, or UTF-8 bytes of text stored in a BLOB column."""
    return value.encode() if isinstance(value, str) else bytes(value)


def declared_plan(name: str, declared: str) -> ColumnPlan | None:
    """The plan for a column declared as ``declared``; None when the type says nothing."""
    upper = declared.upper().strip()
    if not upper:
        return None

    if "JSON" in upper:
        return ColumnPlan(json_field(name), declared, json_text)

    if upper.startswith("BOOL"):
        return ColumnPlan(pa.field(name, pa.bool_()), declared, boolean)

    if upper.startswith(("DECIMAL", "NUMERIC")):
        match = _PRECISION.search(upper)
        if match is None:
            return ColumnPlan(pa.field(name, pa.string()), declared, text)
        return decimal_plan(name, declared, int(match[1]), int(match[2] or 0))

    if "TIMESTAMPTZ" in upper or "WITH TIME ZONE" in upper:
        return ColumnPlan(pa.field(name, pa.timestamp("us", tz="UTC")), declared, utc_datetime)

    if upper.startswith(("DATETIME", "TIMESTAMP")):
        return ColumnPlan(pa.field(name, pa.timestamp("us")), declared, naive_datetime)

    if upper.startswith("DATE"):
        return ColumnPlan(pa.field(name, pa.date32()), declared, parse_date)

    if upper.startswith("TIME"):
        return ColumnPlan(pa.field(name, pa.time64("us")), declared, parse_time)

    return _affinity_plan(name, declared, upper)


def _affinity_plan(name: str, declared: str, upper: str) -> ColumnPlan | None:
    """SQLite's own affinity rules, in its order: INT, then text, then BLOB, then REAL."""
    if "INT" in upper:
        return ColumnPlan(pa.field(name, pa.int64()), declared)

    if any(word in upper for word in ("CHAR", "CLOB", "TEXT", "UUID")):
        return ColumnPlan(pa.field(name, pa.string()), declared, text)

    if "BLOB" in upper or "BINARY" in upper:
        return ColumnPlan(pa.field(name, pa.binary()), declared, binary)

    if any(word in upper for word in ("REAL", "FLOA", "DOUB")):
        return ColumnPlan(pa.field(name, pa.float64()), declared, float)

    return None
