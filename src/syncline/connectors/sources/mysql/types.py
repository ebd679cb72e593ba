"""Arrow types for MySQL and MariaDB result columns, from the protocol's column definitions."""

from __future__ import annotations

import logging
from collections.abc import Callable
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

# Protocol type codes (the FIELD_TYPE constants) and flags.
DECIMALS = frozenset({0, 246})
INTEGERS = frozenset({1, 2, 3, 9, 13})
BIGINT, FLOAT, DOUBLE, NULL = 8, 4, 5, 6
TIMESTAMP, DATE, TIME, DATETIME, NEWDATE, BIT, JSON = 7, 10, 11, 12, 14, 16, 245
TEXTS = frozenset({15, 247, 248, 249, 250, 251, 252, 253, 254})
GEOMETRY = 255
NUMBERS = frozenset({1, 2, 3, 4, 5, 8, 9})
SIZED_TEXTS = frozenset({15, 253, 254})
FRACTIONAL_TIMES = frozenset({7, 11, 12})
MAX_FRACTION_DIGITS = 6
UNSIGNED_FLAG, ENUM_FLAG, SET_FLAG = 32, 256, 2048
BINARY_CHARSET = 63

_NAMES = {
    0: "decimal", 1: "tinyint", 2: "smallint", 3: "int", 4: "float", 5: "double",
    6: "null", 7: "timestamp", 8: "bigint", 9: "mediumint", 10: "date", 11: "time",
    12: "datetime", 13: "year", 14: "date", 15: "varchar", 16: "bit", 245: "json",
    246: "decimal", 247: "enum", 248: "set", 249: "tinyblob", 250: "mediumblob",
    251: "longblob", 252: "blob", 253: "varchar", 254: "char", 255: "geometry",
}  # fmt: skip


_BYTES_PER_CHARACTER = {
    "utf8mb4": 4, "utf8mb3": 3, "utf8": 3, "ucs2": 2, "utf16": 4, "utf16le": 4, "utf32": 4,
    "big5": 2, "sjis": 2, "cp932": 2, "gbk": 2, "euckr": 2, "gb2312": 2, "ujis": 3,
    "eucjpms": 3, "gb18030": 4,
}  # fmt: skip
"""The widest character of multi-byte character sets; the others take one byte each."""


def type_name(field: Any) -> str:
    """A readable name of the column's protocol type with its size, e.g. ``varchar(20)``,
    ``timestamp(3)`` or ``decimal(10,2) unsigned``."""
    code = field.type_code
    name = _NAMES.get(code, f"type {code}")

    if code in TEXTS and field.charsetnr == BINARY_CHARSET:
        name = name.replace("varchar", "varbinary").replace("char", "binary")
    elif code in TEXTS:
        name = "enum" if field.flags & ENUM_FLAG else "set" if field.flags & SET_FLAG else name
        name = name.replace("blob", "text")

    if code in DECIMALS:
        name = f"decimal({decimal_precision(field)},{field.scale})"
    elif code in SIZED_TEXTS and name in ("varchar", "char", "varbinary", "binary"):
        name += _characters(field)
    elif code in FRACTIONAL_TIMES and 0 < int(field.scale) <= MAX_FRACTION_DIGITS:
        name += f"({field.scale})"
    if field.flags & UNSIGNED_FLAG and (code in DECIMALS or code in NUMBERS):
        name += " unsigned"
    return name


def _characters(field: Any) -> str:
    """``(n)``, the characters a CHAR or VARCHAR column holds, or ``''`` when unknown.

    The protocol gives the column's length in bytes of the connection's character set.
    """
    if field.charsetnr == BINARY_CHARSET:
        per_character = 1
    else:
        import pymysql.charset

        try:
            charset = pymysql.charset.charset_by_id(field.charsetnr).name
        except KeyError:
            return ""
        per_character = _BYTES_PER_CHARACTER.get(charset, 1)
    length = int(field.length)
    return f"({length // per_character})" if length % per_character == 0 else ""


def decimal_precision(field: Any) -> int:
    """DECIMAL precision from the display length, which counts the point and the sign."""
    unsigned = bool(field.flags & UNSIGNED_FLAG)
    return int(field.length) - (1 if field.scale else 0) - (0 if unsigned else 1)


def plan_column(field: Any, *, is_json: bool = False) -> ColumnPlan:
    """The plan of one column, from PyMySQL's column definition packet."""
    name = field.name
    code = field.type_code
    label = type_name(field)

    if code == JSON or is_json:
        return ColumnPlan(json_field(name), "json", json_text)

    if code in DECIMALS:
        return decimal_plan(name, label, decimal_precision(field), int(field.scale))

    if code in INTEGERS or code == BIGINT:
        unsigned_bigint = code == BIGINT and field.flags & UNSIGNED_FLAG
        return ColumnPlan(pa.field(name, pa.uint64() if unsigned_bigint else pa.int64()), label)

    if code == FLOAT:
        # Read through a DOUBLE (see :func:`exact_floats`): every value fits float32 exactly.
        return ColumnPlan(pa.field(name, pa.float32()), label)

    if code == DOUBLE:
        return ColumnPlan(pa.field(name, pa.float64()), label)

    if code == TIMESTAMP:
        utc = _calendar(to_utc, field, "'0000-00-00 00:00:00'")
        return ColumnPlan(pa.field(name, pa.timestamp("us", tz="UTC")), label, utc)

    if code == DATETIME:
        local = _calendar(None, field, "'0000-00-00 00:00:00'")
        return ColumnPlan(pa.field(name, pa.timestamp("us")), label, local)

    if code in (DATE, NEWDATE):
        day = _calendar(None, field, "'0000-00-00'")
        return ColumnPlan(pa.field(name, pa.date32()), label, day)

    if code == TIME:
        return ColumnPlan(pa.field(name, pa.duration("us")), label)

    if code == BIT:
        # BIT(64) uses the sign bit of a signed 64-bit integer; narrower ones fit int64.
        bits = pa.uint64() if int(field.length) >= 64 else pa.int64()
        return ColumnPlan(pa.field(name, bits), label, _bits)

    if code == GEOMETRY or (code in TEXTS and field.charsetnr == BINARY_CHARSET):
        return ColumnPlan(pa.field(name, pa.binary()), label, bytes)

    return ColumnPlan(pa.field(name, pa.string()), label, text)


def _calendar(convert: Callable[[Any], Any] | None, field: Any, zero: str) -> Callable[[Any], Any]:
    """The converter of a date or time column (``convert``, if any), refusing dates that
    no calendar has.

    With a lenient ``sql_mode`` the server stores zero dates ('0000-00-00'), zero
    months or days ('2024-00-15') and year 0. PyMySQL hands them over as text, since
    Python has no such date; reading them as NULL would lose the value and hide its
    changes, so they fail the read and the message names the fixes in the model's SQL.
    """
    column = _text(field.org_name) or field.name
    refusal = (
        "the server stores dates that no calendar has (a zero date, a zero month or day, "
        "year 0), and such a date is never read as NULL or as another date; turn zero "
        f"dates into NULL in the model's SQL with NULLIF({column}, {zero}), or read the "
        f"column as text with CAST({column} AS CHAR)"
    )

    def checked(value: Any) -> Any:
        if isinstance(value, str | bytes):
            raise UnfitValue(refusal)
        return value if convert is None else convert(value)

    return checked


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value or "")


def _bits(value: Any) -> int:
    return int.from_bytes(value, "big") if isinstance(value, bytes) else int(value)
