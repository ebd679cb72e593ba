"""Arrow columns turned into what each driver loads exactly: CSV for COPY, Python rows.

The work stays column-wise in Arrow compute; only nested values (written as JSON text),
calendar intervals (ISO 8601 text) and bytes for PostgreSQL's CSV go through Python one
value at a time. ``infinity`` dates and timestamps reach PostgreSQL as the words; the
drivers of the other tables cannot bind them (nor years outside 1-9999, which Python
cannot hold), so :func:`refuse_unbindable` takes them out as rejected rows first.
"""

from __future__ import annotations

import datetime as dt
import decimal
import io
import json
import math
from collections.abc import Collection
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.types as pat

from syncline.connectors.destinations.decimals import decimal_text
from syncline.connectors.destinations.floats import NAN, float_word
from syncline.connectors.destinations.sql.durations import duration_text
from syncline.connectors.destinations.sql.eras import (
    END_DAY,
    FIRST_DAY,
    days_outside,
    postgres_calendar_text,
)
from syncline.connectors.destinations.sql.types import is_nested
from syncline.connectors.destinations.times import time_text
from syncline.connectors.sources.infinity import infinite, infinity_text, without_infinity

ROW_COLUMN = "_syncline_row"
"""Name of the staging column holding each row's position in its batch."""


def _json_default(value: object) -> object:
    if isinstance(value, decimal.Decimal):
        return format(value, "f")
    if isinstance(value, dt.date | dt.time | dt.datetime):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def json_text(column: pa.ChunkedArray | pa.Array) -> pa.Array:
    """Nested values (lists, structs, maps) as JSON text, nulls kept."""
    values = column.to_pylist()
    if pat.is_map(column.type):
        values = [None if v is None else dict(v) for v in values]
    texts = [
        None if v is None else json.dumps(v, default=_json_default, ensure_ascii=False)
        for v in values
    ]
    return pa.array(texts, pa.string())


def _utc_wall_time(column: Any) -> Any:
    # Arrow stores instants as UTC already: dropping the zone keeps the UTC wall time,
    # and formatting zone-less values is an order of magnitude faster than zoned ones.
    unit = column.type.unit if column.type.unit != "ns" else "us"
    return pc.cast(column, pa.timestamp(unit), safe=False)


def _plain(column: Any) -> Any:
    if pat.is_dictionary(column.type):
        column = pc.cast(column, column.type.value_type)
    if is_nested(column.type):
        return json_text(column)
    if pat.is_null(column.type):
        return pa.nulls(len(column), pa.string())
    return column


def csv_for_copy(
    table: pa.Table,
    start: int,
    stop: int,
    *,
    positions: bool = True,
    skip: Collection[int] = (),
) -> bytes:
    """Rows ``[start, stop)`` as PostgreSQL CSV, the row position as the first column.

    Every present value is quoted and NULL is an unquoted empty field, which is how
    PostgreSQL's CSV format tells NULL from the empty string. Years before 1 are written
    ``BC``, as PostgreSQL reads them. Without ``positions`` the rows hold only the table's
    columns, for a COPY straight into the target. Rows whose positions are in ``skip``
    are left out.
    """
    part = table.slice(start, stop - start)
    columns: list[Any] = [pa.array(range(start, stop), pa.int32())] if positions else []

    for column in part.columns:
        column = _plain(column)
        infinities = infinite(column)
        if infinities is not None:
            words = infinity_text(column, infinities)
            column = without_infinity(column, infinities)
        if pat.is_timestamp(column.type) and column.type.tz is not None:
            # The session time zone is UTC, so a zone-less text is read as a UTC instant.
            column = postgres_calendar_text(_utc_wall_time(column))
        elif pat.is_duration(column.type):
            micros = pc.cast(_microseconds(column), pa.string())
            column = pc.binary_join_element_wise(micros, " microseconds", "")
        elif pat.is_interval(column.type):
            column = duration_text(column)
        elif pat.is_decimal(column.type):
            column = decimal_text(column)
        elif pat.is_time(column.type):
            column = time_text(column)
        elif pat.is_binary(column.type) or pat.is_large_binary(column.type):
            column = pa.array(
                [None if v is None else "\\x" + v.hex() for v in column.to_pylist()], pa.string()
            )
        elif pat.is_date32(column.type) or pat.is_timestamp(column.type):
            column = postgres_calendar_text(column)
        if infinities is not None:
            column = pc.if_else(infinities, words, pc.cast(column, pa.string()))
        columns.append(column)

    names = [ROW_COLUMN, *part.column_names] if positions else part.column_names
    rows = pa.table(columns, names=names)
    if skip:
        row_numbers = pa.array(range(start, stop), pa.int64())
        rows = rows.filter(pc.invert(pc.is_in(row_numbers, pa.array(sorted(skip), pa.int64()))))
    out = io.BytesIO()
    options = pacsv.WriteOptions(include_header=False, quoting_style="all_valid")
    pacsv.write_csv(rows, out, options)
    return out.getvalue()


def refuse_unbindable(table: pa.Table, where: str) -> tuple[pa.Table, dict[int, str]]:
    """The rows holding an infinite date or timestamp, or a year outside 1-9999.

    ``where`` (e.g. "a MySQL table") cannot store those. Returns ``table`` with those
    values made NULL (so the other rows can be bound) and the reason for each such row,
    by position; the caller must not write those rows.
    """
    reasons: dict[int, str] = {}
    columns = []
    for name, column in zip(table.column_names, table.columns, strict=True):
        infinities = infinite(column)
        if infinities is not None:
            words = infinity_text(column, infinities).to_pylist()
            for row in pc.indices_nonzero(infinities).to_pylist():
                reasons.setdefault(
                    row,
                    f"field {name!r} holds {words[row]}, which {where} cannot store; turn "
                    "it into NULL or a real date in the model's SQL",
                )
            column = without_infinity(column, infinities)
        if isinstance(column, pa.ChunkedArray):
            column = column.combine_chunks()
        outside = days_outside(column, FIRST_DAY, END_DAY)
        if outside is not None:
            for row in pc.indices_nonzero(outside).to_pylist():
                reasons.setdefault(
                    row,
                    f"field {name!r} holds a date outside the years 1-9999, which {where} "
                    "cannot store; turn it into NULL or a date in range in the model's SQL",
                )
            column = without_infinity(column, outside)
        columns.append(column)
    if not reasons:
        return table, reasons
    return pa.table(columns, schema=table.schema), reasons


def refuse_non_finite(table: pa.Table, where: str) -> tuple[pa.Table, dict[int, str]]:
    """The rows holding a NaN or infinite float, which ``where`` (e.g. "a MySQL table")
    cannot store.

    Returns ``table`` with those values made NULL (so the other rows can be bound) and
    the reason for each such row, by position; the caller must not write those rows.
    """
    reasons: dict[int, str] = {}
    columns = []
    for name, column in zip(table.column_names, table.columns, strict=True):
        if pat.is_floating(column.type):
            odd = pc.invert(pc.fill_null(pc.is_finite(column), True))
            if pc.any(odd).as_py():
                for row in pc.indices_nonzero(odd).to_pylist():
                    reasons.setdefault(
                        row,
                        f"field {name!r} holds {float_word(column[row].as_py())}, which "
                        f"{where} cannot store; turn it into NULL or a number in the "
                        "model's SQL",
                    )
                column = pc.if_else(odd, pa.scalar(None, column.type), column)
        columns.append(column)
    if not reasons:
        return table, reasons
    return pa.table(columns, schema=table.schema), reasons


def refuse_wide_integers(table: pa.Table, where: str) -> dict[int, str]:
    """The rows holding an unsigned integer above 2**63 - 1, which ``where`` (e.g. "a
    SQLite table") cannot store: its integers are signed 64-bit, and it would round
    wider ones through a float. Returns the reason for each such row, by position; the
    caller must not bind those rows.
    """
    reasons: dict[int, str] = {}
    for name, column in zip(table.column_names, table.columns, strict=True):
        if column.type != pa.uint64():
            continue
        wide = pc.fill_null(pc.greater(column, pa.scalar(2**63 - 1, pa.uint64())), False)
        if not pc.any(wide).as_py():
            continue
        for row in pc.indices_nonzero(wide).to_pylist():
            reasons.setdefault(
                row,
                f"field {name!r} holds an integer above 9223372036854775807, which {where} "
                "cannot store exactly; CAST it to text (VARCHAR) in the model's SQL",
            )
    return reasons


def python_rows(table: pa.Table, dialect: str) -> list[tuple[Any, ...]]:
    """Every row as a tuple led by its position, with values the ``dialect``'s driver binds.

    MySQL gets UTC wall times for instants (its DATETIME has no zone). SQLite gets
    timestamps, dates, times and decimals as text, so that no affinity rounds them.
    Both get calendar intervals as ISO 8601 text. Infinite dates and timestamps must
    have been taken out (:func:`refuse_unbindable`), and for MySQL non-finite floats
    too (:func:`refuse_non_finite`).
    """
    columns: list[list[Any]] = [list(range(table.num_rows))]

    for column in table.columns:
        column = _plain(column)
        if pat.is_interval(column.type):
            column = duration_text(column)
        column = _sqlite_value(column) if dialect == "sqlite" else _mysql_value(column)
        values = column.to_pylist()
        if dialect == "sqlite" and pat.is_floating(column.type):
            # sqlite3 binds NaN as NULL, which would change the value; as text it is kept.
            values = [NAN if isinstance(v, float) and math.isnan(v) else v for v in values]
        columns.append(values)

    return list(zip(*columns, strict=True))


def _microseconds(column: Any) -> Any:
    """Durations as whole microseconds (int64), the precision every table stores."""
    return pc.cast(pc.cast(column, pa.duration("us"), safe=False), pa.int64())


def _mysql_value(column: Any) -> Any:
    kind = column.type
    if pat.is_timestamp(kind) and kind.tz is not None:
        return _utc_wall_time(column)
    if pat.is_timestamp(kind) and kind.unit == "ns":
        return pc.cast(column, pa.timestamp("us"), safe=False)
    if pat.is_duration(kind) and kind.unit == "ns":
        return pc.cast(column, pa.duration("us"), safe=False)
    if pat.is_time(kind):
        # Python's time wraps 24:00:00 around to midnight; MySQL's TIME reads the text.
        return time_text(column)
    return column


def _sqlite_value(column: Any) -> Any:
    kind = column.type
    if pat.is_timestamp(kind) and kind.tz is not None:
        return pc.strftime(_utc_wall_time(column), format="%Y-%m-%d %H:%M:%S+00:00")
    if pat.is_timestamp(kind):
        return pc.strftime(column, format="%Y-%m-%d %H:%M:%S")
    if pat.is_decimal(kind):
        return decimal_text(column)
    if pat.is_date(kind):
        return pc.cast(column, pa.string())
    if pat.is_time(kind):
        return time_text(column)
    if pat.is_duration(kind):
        return _microseconds(column)
    return column
