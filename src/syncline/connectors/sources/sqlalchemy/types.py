"""Column types of the SQLAlchemy source, from what the driver and the database can tell.

A DB-API result declares its columns' types in no portable way, so each backend is
asked what it knows: PostgreSQL drivers report each column's type OID (and psycopg its
type as the server writes it, ``varchar(20)``), PyMySQL hands over each column's
definition, read as the ``mysql`` source reads it, and a SQLite file reports the types
its tables declare, read as the ``sqlite`` source reads them. A column none of them
tells (an unknown OID, any other backend or driver) takes its type from its first values.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

import pyarrow as pa

from syncline.connectors.sources._rows import (
    ColumnPlan,
    decimal_plan,
    decimal_text,
    infer_plan,
    json_text,
    text,
    to_utc,
)
from syncline.connectors.sources.base import decimal_field, json_field

logger = logging.getLogger(__name__)

Decimal = tuple[int, int] | None
"""A result column's decimal precision and scale, when the driver reports them."""

_PG_TYPES: dict[int, tuple[str, pa.DataType, Callable[[Any], Any] | None]] = {
    16: ("bool", pa.bool_(), None),
    17: ("bytea", pa.binary(), bytes),
    19: ("name", pa.string(), text),
    20: ("int8", pa.int64(), None),
    21: ("int2", pa.int64(), None),
    23: ("int4", pa.int64(), None),
    25: ("text", pa.string(), text),
    26: ("oid", pa.int64(), None),
    700: ("float4", pa.float32(), None),
    701: ("float8", pa.float64(), float),
    1042: ("bpchar", pa.string(), text),
    1043: ("varchar", pa.string(), text),
    1082: ("date", pa.date32(), None),
    1083: ("time", pa.time64("us"), None),
    1114: ("timestamp", pa.timestamp("us"), None),
    1184: ("timestamptz", pa.timestamp("us", tz="UTC"), to_utc),
    2950: ("uuid", pa.string(), str),
}
"""PostgreSQL type OIDs whose values the drivers hand out in one Python type, by the
type's name, its Arrow type and the converter of its values."""

_PG_JSON = {114: "json", 3802: "jsonb"}
_PG_JSON_ARRAYS = {199: "_json", 3807: "_jsonb"}
_PG_NUMERIC = 1700


def postgres_plans(
    description: Sequence[Any], columns: Sequence[tuple[str, Decimal]], head: Sequence[Any]
) -> list[ColumnPlan]:
    """One plan per column of a PostgreSQL result, from the OIDs in its ``description``."""
    plans = []
    for index, (name, decimal) in enumerate(columns):
        item = description[index]
        oid = item[1]
        label = str(getattr(item, "type_display", "") or _pg_name(oid))
        plan = _postgres_plan(name, oid, label, decimal)
        if plan is None:
            plan = infer_plan(name, [row[index] for row in head], label, decimal=decimal)
        plans.append(plan)
    return plans


def _pg_name(oid: Any) -> str:
    """The name of a type OID this module knows, or ``''``."""
    known = _PG_TYPES.get(oid)
    if known is not None:
        return known[0]
    return _PG_JSON.get(oid) or _PG_JSON_ARRAYS.get(oid) or ("numeric" if oid == 1700 else "")


def _postgres_plan(name: str, oid: Any, label: str, decimal: Decimal) -> ColumnPlan | None:
    """The plan of a column of type ``oid``; None when its values must tell."""
    if oid in _PG_JSON:
        return ColumnPlan(json_field(name), label, json_text)
    if oid in _PG_JSON_ARRAYS:
        return ColumnPlan(json_field(name), label, json_array_text)
    if oid == _PG_NUMERIC:
        if decimal is not None:
            return decimal_plan(name, label, *decimal)
        return ColumnPlan(decimal_field(name), label, decimal_text)
    known = _PG_TYPES.get(oid)
    if known is None:
        return None
    _, arrow_type, convert = known
    return ColumnPlan(pa.field(name, arrow_type), label, convert)


def json_array_text(value: Any) -> str:
    """A PostgreSQL array of JSON documents, each read as its text, as one JSON array.

    A NULL element becomes JSON ``null``: a JSON array has no other way to hold it.
    """
    if not isinstance(value, list):
        return json_text(value)
    return "[" + ", ".join("null" if item is None else json_text(item) for item in value) + "]"


def json_as_text(data: str | bytes) -> str:
    """psycopg's JSON loader that keeps a document's text instead of parsing it.

    Parsed, JSON ``null`` would be Python's None, the same as SQL NULL, and a JSON
    string would lose its quotes.
    """
    return text(data)


def mysql_fields(cursor: Any) -> list[Any] | None:
    """PyMySQL's column definitions of the result on ``cursor``; None for other drivers."""
    result = getattr(cursor, "_result", None)
    fields = getattr(result, "fields", None)
    return list(fields) if fields else None


def mysql_plans(fields: Sequence[Any]) -> list[ColumnPlan]:
    """One plan per column of a MySQL or MariaDB result, as the ``mysql`` source makes it.

    MariaDB's JSON is LONGTEXT to the protocol: such a column is text here (the ``mysql``
    source asks the catalog, which it cannot while this result streams).
    """
    from syncline.connectors.sources.mysql.types import plan_column

    return [plan_column(field) for field in fields]
