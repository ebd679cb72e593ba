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
    """Bytes from a BLOB, or UTF-8 bytes of text stored in a BLOB column.

    A number is refused: its bytes would be a guess (``bytes(42)`` is 42 zero bytes).
    """
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    if isinstance(value, str):
        return value.encode()
    raise UnfitValue(
        "it is a number in a BLOB column; read the column as text with CAST(col AS TEXT), "
        "or as the bytes of each value's text with CAST(col AS BLOB), in the model's SQL"
    )


def integer(value: Any) -> int:
    """An integer, as SQLite stored it; a REAL, text or BLOB value is refused, not truncated."""
    if isinstance(value, int):
        return value
    raise UnfitValue(
        "it is not an integer (SQLite keeps a REAL such as 1.5, text and BLOBs as they "
        "are in such a column); CAST the column in the model's SQL, e.g. CAST(col AS REAL) "
        "or CAST(col AS TEXT)"
    )


def real(value: Any) -> float:
    """A float from a REAL, or from an integer that a float holds exactly."""
    if isinstance(value, float):
        return value
    if isinstance(value, int) and int(float(value)) == value:
        return float(value)
    raise UnfitValue(
        "it is text, a BLOB or an integer too large for a float to hold exactly; CAST the "
        "column in the model's SQL, e.g. CAST(col AS TEXT)"
    )


def exact_text(value: Any) -> str:
    """Text as stored; a number as its shortest exact text (``42``, ``1.5``, ``1e-07``).

    A BLOB has no text form that keeps its bytes, so it is refused rather than decoded.
    """
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return repr(value)
    raise UnfitValue(
        "it is a BLOB, which has no exact text form; in the model's SQL read the column "
        "as hex text with hex(col), or as bytes with CAST(col AS BLOB)"
    )


def json_document(value: Any) -> str:
    """A JSON document stored as text; a number is its own JSON text.

    A BLOB (SQLite's binary JSONB among them) is refused: it is not JSON text.
    """
    if isinstance(value, bytes | bytearray | memoryview):
        raise UnfitValue(
            "it is a BLOB (such as SQLite's binary JSONB), not JSON text; convert it with "
            "json(col) in the model's SQL"
        )
    return json_text(value)


def inferred_plan(name: str, values: list[Any], declared: str) -> ColumnPlan:
    """The plan of a column without a usable declared type, from its first values.

    Integers, reals and BLOBs alone keep their kind. Any other column (text, mixed
    kinds, or only NULLs so far) is text, numbers in their exact text form and BLOBs
    refused; a later value of another kind fails the read naming the column.
    """
    kinds = {type(value) for value in values if value is not None}
    label = declared or "undeclared"

    if kinds == {int}:
        return ColumnPlan(pa.field(name, pa.int64()), label, integer)

    if kinds and kinds <= {int, float}:
        return ColumnPlan(pa.field(name, pa.float64()), label, real)

    if kinds == {bytes}:
        return ColumnPlan(pa.field(name, pa.binary()), label, binary)

    return ColumnPlan(pa.field(name, pa.string()), label, exact_text)


def declared_plan(name: str, declared: str) -> ColumnPlan | None:
    """The plan for a column declared as ``declared``; None when the type says nothing."""
    upper = declared.upper().strip()
    if not upper:
        return None

    if "JSON" in upper:
        return ColumnPlan(json_field(name), declared, json_document)

    if upper.startswith("BOOL"):
        return ColumnPlan(pa.field(name, pa.bool_()), declared, boolean)

    if upper.startswith(("DECIMAL", "NUMERIC")):
        match = _PRECISION.search(upper)
        if match is None:
            return ColumnPlan(pa.field(name, pa.string()), declared, exact_text)
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
        return ColumnPlan(pa.field(name, pa.int64()), declared, integer)

    if any(word in upper for word in ("CHAR", "CLOB", "TEXT", "UUID")):
        return ColumnPlan(pa.field(name, pa.string()), declared, exact_text)

    if "BLOB" in upper or "BINARY" in upper:
        return ColumnPlan(pa.field(name, pa.binary()), declared, binary)

    if any(word in upper for word in ("REAL", "FLOA", "DOUB")):
        return ColumnPlan(pa.field(name, pa.float64()), declared, real)

    return None
