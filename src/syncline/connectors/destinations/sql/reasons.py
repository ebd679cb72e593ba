"""A refused row's reason in the database's words, completed with its field and the fix.

PostgreSQL names the type a value did not fit, not the column; MariaDB/MySQL name the
column, but neither says what to do. The destination knows the table's column types and
the row's values, so the column is the one of the named type whose value does not fit.
The reasons never quote the row's values.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

import pyarrow as pa

_LENGTH = re.compile(
    r"^(?:character varying|varchar|character|char|bpchar|nvarchar|nchar)\((\d+)\)", re.I
)
"""A text column of bounded length, as ``format_type`` or ``COLUMN_TYPE`` writes it."""

_INTEGER_BITS = {"smallint": 16, "integer": 32, "int": 32, "bigint": 64, "tinyint": 8}
_INTEGER_BITS |= {"mediumint": 24, "int2": 16, "int4": 32, "int8": 64}


def max_length(column_type: str) -> int | None:
    """The most characters a column of ``column_type`` holds, or None when unbounded."""
    match = _LENGTH.match(column_type.strip())
    return int(match.group(1)) if match else None


def integer_bounds(column_type: str) -> tuple[int, int] | None:
    """The least and greatest value an integer column of ``column_type`` holds."""
    words = column_type.lower().replace("(", " ").split()
    bits = _INTEGER_BITS.get(words[0]) if words else None
    if bits is None:
        return None
    if "unsigned" in words:
        return 0, 2**bits - 1
    return -(2 ** (bits - 1)), 2 ** (bits - 1) - 1


def row_values(records: pa.Table, index: int) -> dict[str, Any]:
    """Row ``index`` of ``records`` as Python values, without the values Python cannot
    hold (a year past 9999, nanoseconds), which are often why the row was refused."""
    row = {}
    for name, column in zip(records.column_names, records.columns, strict=True):
        try:
            row[name] = column[index].as_py()
        except (ValueError, OverflowError, pa.ArrowException):
            continue
    return row


def too_long_columns(
    columns: Mapping[str, str], row: Mapping[str, Any], column_type: str | None = None
) -> list[str]:
    """The fields of ``row`` longer than their column holds (of ``column_type`` if given)."""
    found = []
    for name, value in row.items():
        kind = columns.get(name, "")
        limit = max_length(kind)
        if column_type is not None and kind.lower() != column_type.lower():
            continue
        if limit is not None and isinstance(value, str) and len(value) > limit:
            found.append(name)
    return found


def out_of_range_columns(
    columns: Mapping[str, str], row: Mapping[str, Any], column_type: str | None = None
) -> list[str]:
    """The fields of ``row`` past their integer column's range (of ``column_type`` if given)."""
    found = []
    for name, value in row.items():
        kind = columns.get(name, "")
        bounds = integer_bounds(kind)
        if bounds is None or (column_type is not None and not _same_base(kind, column_type)):
            continue
        if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
            continue
        if not bounds[0] <= value <= bounds[1]:
            found.append(name)
    return found


def too_long(reason: str, table: str, name: str, column_type: str) -> str:
    """The reason for a text longer than its column holds."""
    return (
        f"field {name!r}: {reason}; column {name!r} ({column_type}) of table {table} holds "
        f"at most {max_length(column_type)} characters: widen the column (a longer varchar, "
        "or text), or shorten or filter the value in the model's SQL"
    )


def wider_types(column_type: str, integer_types: Sequence[str], exact: str) -> list[str]:
    """The types of ``integer_types`` that hold every value ``column_type`` holds and more,
    then ``exact`` (the database's exact numeric type), which holds any integer.

    Suggesting the column's own type, or one no wider, would not help the row.
    """
    bounds = integer_bounds(column_type)
    if bounds is None:
        return [*integer_types, exact]
    wider = []
    for kind in integer_types:
        holds = integer_bounds(kind)
        if holds and holds != bounds and holds[0] <= bounds[0] and holds[1] >= bounds[1]:
            wider.append(kind)
    return [*wider, exact]


def out_of_range(reason: str, table: str, name: str, column_type: str, wider: Sequence[str]) -> str:
    """The reason for a number past its integer column's range; ``wider`` are the types
    to suggest widening the column to (see :func:`wider_types`)."""
    bounds = integer_bounds(column_type)
    holds = f"holds {bounds[0]} to {bounds[1]}" if bounds else "cannot store it"
    types = wider[0] if len(wider) == 1 else f"{', '.join(wider[:-1])} or {wider[-1]}"
    return (
        f"field {name!r}: {reason}; column {name!r} ({column_type}) of table {table} "
        f"{holds}: widen the column (to {types}), or change or filter "
        "the value in the model's SQL"
    )


def unique_taken(reason: str, table: str, key: str, names: Sequence[str], id_field: str) -> str:
    """The reason for a row whose value in a unique key other than the id's belongs to
    another record: the sync matches records by the id alone, so it cannot take it over."""
    word = "field" if len(names) == 1 else "fields"
    fields = f"{word} {', '.join(map(repr, names))}: " if names else ""
    return (
        f"{fields}{reason}: another record of table {table} has this value in unique key "
        f"{key} ({', '.join(names) or 'columns unknown'}), and the sync matches records only "
        f"by {id_field!r}, so the row was not written and that record was left as it is; "
        "change or filter the value in the model's SQL so that it is unique, or change or "
        "delete that record, and the next run sends the row again"
    )


def unexplained(reason: str, table: str, columns: Mapping[str, str]) -> str:
    """A value refusal whose column could not be told: the fix, with the columns to check."""
    described = ", ".join(f"{name} {kind}" for name, kind in columns.items())
    return (
        f"{reason}; a field of the row does not fit its column of table {table} "
        f"({described}): widen that column, or change or filter the value in the model's SQL"
    )


def _same_base(kind: str, named: str) -> bool:
    """Whether column type ``kind`` is the integer type an error ``named``."""
    first = kind.lower().replace("(", " ").split()[0]
    aliases = {"int2": "smallint", "int4": "integer", "int": "integer", "int8": "bigint"}
    return aliases.get(first, first) == aliases.get(named.lower(), named.lower())
