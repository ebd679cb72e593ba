"""Arrow types for SQLite columns, from the types their tables declare.

SQLite stores values dynamically, so a declared type is a promise the file may break:
each plan converts what it can (text dates into dates, 0/1 into booleans) and a value
that cannot fit fails the read with the column named.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from typing import Any

import pyarrow as pa

from syncline.connectors.sources._rows import ColumnPlan, decimal_plan, json_text, text, to_utc
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
        return ColumnPlan(pa.field(name, pa.bool_()), declared, bool)

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
