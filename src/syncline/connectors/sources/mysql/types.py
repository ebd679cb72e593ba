"""Arrow types for MySQL and MariaDB result columns, from the protocol's column definitions."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import pyarrow as pa

from syncline.connectors.sources._rows import ColumnPlan, decimal_plan, json_text, text, to_utc
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
UNSIGNED_FLAG, ENUM_FLAG, SET_FLAG = 32, 256, 2048
BINARY_CHARSET = 63

_NAMES = {
    0: "decimal", 1: "tinyint", 2: "smallint", 3: "int", 4: "float", 5: "double",
    6: "null", 7: "timestamp", 8: "bigint", 9: "mediumint", 10: "date", 11: "time",
    12: "datetime", 13: "year", 14: "date", 15: "varchar", 16: "bit", 245: "json",
    246: "decimal", 247: "enum", 248: "set", 249: "tinyblob", 250: "mediumblob",
    251: "longblob", 252: "blob", 253: "varchar", 254: "char", 255: "geometry",
}  # fmt: skip


def type_name(field: Any) -> str:
    """A readable name of the column's protocol type, e.g. ``decimal(10,2) unsigned``."""
    code = field.type_code
    name = _NAMES.get(code, f"type {code}")

    if code in TEXTS and field.charsetnr == BINARY_CHARSET:
        name = name.replace("varchar", "varbinary").replace("char", "binary")
    elif code in TEXTS:
        name = "enum" if field.flags & ENUM_FLAG else "set" if field.flags & SET_FLAG else name
        name = name.replace("blob", "text")

    if code in DECIMALS:
        name = f"decimal({decimal_precision(field)},{field.scale})"
    if field.flags & UNSIGNED_FLAG and (code in DECIMALS or code in NUMBERS):
        name += " unsigned"
    return name


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

    if code in (FLOAT, DOUBLE):
        return ColumnPlan(pa.field(name, pa.float64()), label)

    if code == TIMESTAMP:
        return ColumnPlan(pa.field(name, pa.timestamp("us", tz="UTC")), label, _utc)

    if code == DATETIME:
        return ColumnPlan(pa.field(name, pa.timestamp("us")), label, _datetime)

    if code in (DATE, NEWDATE):
        return ColumnPlan(pa.field(name, pa.date32()), label, _date)

    if code == TIME:
        return ColumnPlan(pa.field(name, pa.duration("us")), label)

    if code == BIT:
        return ColumnPlan(pa.field(name, pa.int64()), label, _bits)

    if code == GEOMETRY or (code in TEXTS and field.charsetnr == BINARY_CHARSET):
        return ColumnPlan(pa.field(name, pa.binary()), label, bytes)

    return ColumnPlan(pa.field(name, pa.string()), label, text)


def _datetime(value: Any) -> dt.datetime | None:
    # PyMySQL hands zero dates ('0000-00-00 00:00:00') over as text; they mean "no date".
    return value if isinstance(value, dt.datetime) else None


def _utc(value: Any) -> dt.datetime | None:
    return to_utc(value) if isinstance(value, dt.datetime) else None


def _date(value: Any) -> dt.date | None:
    return value if isinstance(value, dt.date) else None


def _bits(value: Any) -> int:
    return int.from_bytes(value, "big") if isinstance(value, bytes) else int(value)
