"""How Arrow values become text (CSV) and JSON (JSON Lines, webhook bodies), exactly.

One set of rules for every text-based destination, so a value reads the same in a CSV
cell, a JSON line and a webhook request:

- timestamps with a time zone: ISO 8601 in UTC with an explicit ``+00:00`` offset,
  fractional seconds as precise as the column (``2024-05-01T12:30:00.250000+00:00``);
  naive timestamps keep their wall-clock time and get no offset, because the source
  did not say which zone they are in;
- decimals: their exact digits and scale as text (``"12.50"``), a JSON string in
  JSON, so no reader rounds them through a binary float;
- ``infinity`` and ``-infinity`` dates and timestamps: those words (PostgreSQL's
  spelling; ISO 8601 has none);
- dates and times: ISO 8601 (``2024-05-01``, ``12:30:00``), the end of a day as
  ``24:00:00``;
- durations and calendar intervals: ISO 8601 durations (``P1Y2M3DT4H5M6.5S``);
- booleans: ``true`` and ``false``;
- floats: shortest round-trip text, and ``NaN``, ``Infinity``, ``-Infinity`` in CSV
  (the spelling PostgreSQL, DuckDB and Python read back); JSON has no such numbers,
  so a row holding one is refused with its reason rather than written as ``null``;
- binary: standard base64;
- lists, structs and maps: JSON text in CSV, native JSON in JSON, every value inside
  spelled by these rules too (a decimal in a list is ``"12.50"``, as in a column);
- string columns whose field metadata marks them as JSON (``syncline.logical=json``):
  the JSON text itself in CSV, an embedded JSON value in JSON.
"""

from __future__ import annotations

import base64
import datetime as dt
import threading
from dataclasses import dataclass

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from syncline.connectors.destinations.base import FieldSpec
from syncline.connectors.destinations.decimals import decimal_text
from syncline.connectors.destinations.floats import float_text
from syncline.connectors.destinations.sql.durations import duration_text, is_duration_like
from syncline.connectors.destinations.times import time_text
from syncline.connectors.sources.base import JSON_LOGICAL, LOGICAL_TYPE_KEY, is_json_field
from syncline.connectors.sources.far_years import calendar_text
from syncline.connectors.sources.infinity import infinite, infinity_text, without_infinity

_FIRST_DAY = (dt.date(1, 1, 1) - dt.date(1970, 1, 1)).days
_LAST_DAY = (dt.date(9999, 12, 31) - dt.date(1970, 1, 1)).days
_TICKS_PER_SECOND = {"s": 1, "ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}

_ISO_SECONDS = "%Y-%m-%dT%H:%M:%S"


def field_of(spec: FieldSpec) -> pa.Field:
    """The Arrow field of a sync field, its logical type kept as field metadata."""
    if spec.logical is None:
        return pa.field(spec.name, spec.arrow_type)
    return pa.field(spec.name, spec.arrow_type, metadata={LOGICAL_TYPE_KEY: spec.logical.encode()})


def mark_logical(records: pa.Table, fields: tuple[FieldSpec, ...]) -> pa.Table:
    """``records`` with the JSON mark on every field the sync declares as JSON."""
    json_names = {spec.name for spec in fields if spec.logical == JSON_LOGICAL.decode()}
    schema = records.schema
    for index, field in enumerate(schema):
        if field.name in json_names and not is_json_field(field):
            metadata = {**(field.metadata or {}), LOGICAL_TYPE_KEY: JSON_LOGICAL}
            schema = schema.set(index, field.with_metadata(metadata))
    return records if schema is records.schema else records.cast(schema)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _timestamp_text(column: pa.ChunkedArray) -> pa.ChunkedArray | pa.Array:
    kind = column.type
    assert isinstance(kind, pa.TimestampType)
    if kind.tz is None:
        return _with_far_years(column, pc.strftime(column, format=_ISO_SECONDS))

    # Arrow keeps the instant in UTC whatever the zone label, so relabelling is free
    # and the offset is always +00:00: one canonical spelling per instant.
    utc = column.cast(pa.timestamp(kind.unit, "UTC"))
    text = pc.binary_join_element_wise(pc.strftime(utc, format=_ISO_SECONDS), "+00:00", "")
    return _with_far_years(column, text)


def _with_far_years(column: pa.ChunkedArray, text: pa.ChunkedArray) -> pa.ChunkedArray | pa.Array:
    """``text`` with values outside the years 1 to 9999 spelled exactly.

    Arrow's strftime and string casts wrap such years around; they are rare, so only
    those rows are written in Python.
    """
    kind = column.type
    if pa.types.is_date32(kind):
        numbers = column.cast(pa.int32())
        low, high = _FIRST_DAY, _LAST_DAY
    else:
        assert isinstance(kind, pa.TimestampType)
        if kind.unit == "ns":
            # 64 bits of nanoseconds span the years 1677 to 2262 only.
            return text
        numbers = column.cast(pa.int64())
        per_day = 86_400 * _TICKS_PER_SECOND[kind.unit]
        low, high = _FIRST_DAY * per_day, (_LAST_DAY + 1) * per_day - 1
    far = pc.fill_null(pc.or_(pc.less(numbers, low), pc.greater(numbers, high)), False)
    if not pc.any(far).as_py():
        return text

    exact = calendar_text(column)
    if pa.types.is_timestamp(kind):
        zone = "+00:00" if kind.tz else ""
        exact = [None if v is None else v.rstrip("Z").replace(" ", "T") + zone for v in exact]
    return pc.if_else(far, pa.array(exact, pa.string()), text)


def _base64_text(column: pa.ChunkedArray) -> pa.Array:
    # Arrow has no base64 kernel; binary model columns are rare and small enough.
    values = column.to_pylist()
    return pa.array(
        [None if v is None else base64.b64encode(v).decode("ascii") for v in values],
        pa.string(),
    )


def _is_nested(kind: pa.DataType) -> bool:
    return bool(pa.types.is_nested(kind))


def _scalar_text(column: pa.ChunkedArray) -> pa.ChunkedArray | pa.Array:
    """Text of a non-nested column, following the module's rules."""
    kind = column.type
    if pa.types.is_dictionary(kind):
        return _scalar_text(column.cast(kind.value_type))
    infinities = infinite(column)
    if infinities is not None:
        finite = _scalar_text(pa.chunked_array([without_infinity(column, infinities)]))
        return pc.if_else(infinities, infinity_text(column, infinities), finite)
    if pa.types.is_floating(kind):
        return float_text(column)
    if is_duration_like(kind):
        return duration_text(column)
    if pa.types.is_timestamp(kind):
        return _timestamp_text(column)
    if pa.types.is_date32(kind):
        return _with_far_years(column, column.cast(pa.string()))
    if pa.types.is_binary(kind) or pa.types.is_large_binary(kind):
        return _base64_text(column)
    if pa.types.is_fixed_size_binary(kind):
        return _base64_text(column.cast(pa.binary()))
    if pa.types.is_null(kind):
        return pa.nulls(len(column), pa.string())
    if pa.types.is_decimal(kind):
        return decimal_text(column)
    if pa.types.is_time(kind):
        return time_text(column)
    return column.cast(pa.string())


class _DuckDB:
    """One in-memory DuckDB connection per thread, used only to render JSON."""

    def __init__(self) -> None:
        self._local = threading.local()

    def connection(self) -> duckdb.DuckDBPyConnection:
        con = getattr(self._local, "con", None)
        if con is None:
            con = duckdb.connect(config={"threads": 1})
            self._local.con = con
        return con


_DUCKDB = _DuckDB()


def query_arrow(sql: str, args: list[object] | None = None, **tables: pa.Table) -> pa.Table:
    """Run ``sql`` in this thread's DuckDB over the Arrow ``tables`` given by name."""
    con = _DUCKDB.connection()
    for name, table in tables.items():
        con.register(name, table)
    try:
        return con.execute(sql, args).to_arrow_table()
    finally:
        for name in tables:
            con.unregister(name)


def to_text(table: pa.Table) -> pa.Table:
    """The table with every column turned into text; a NULL stays NULL."""
    columns: list[pa.ChunkedArray | pa.Array] = []
    for index, field in enumerate(table.schema):
        column = table.column(index)
        if _is_nested(field.type):
            # Floats stay numbers: a CSV cell may spell NaN, which JSON text cannot.
            ready = _nested_ready(column.combine_chunks(), keep_floats=True)
            rendered = query_arrow("SELECT to_json(c) AS c FROM t", t=pa.table({"c": ready}))
            columns.append(rendered.column(0).cast(pa.string()))
        else:
            columns.append(_scalar_text(column))
    names = [field.name for field in table.schema]
    return pa.table(columns, schema=pa.schema([pa.field(n, pa.string()) for n in names]))


def _json_ready(column: pa.ChunkedArray) -> pa.ChunkedArray | pa.Array:
    """The column with values JSON cannot hold exactly turned into text or null."""
    kind = column.type
    if pa.types.is_dictionary(kind):
        return _json_ready(column.cast(kind.value_type))
    if _is_nested(kind):
        return _nested_ready(column.combine_chunks())
    if pa.types.is_floating(kind):
        # Rows holding NaN or infinity are refused (see _non_finite); null renders them.
        return pc.if_else(pc.is_finite(column), column, pa.scalar(None, kind))
    if (
        is_duration_like(kind)
        or pa.types.is_timestamp(kind)
        or pa.types.is_decimal(kind)
        or pa.types.is_date(kind)
        or pa.types.is_time(kind)
        or pa.types.is_binary(kind)
        or pa.types.is_large_binary(kind)
        or pa.types.is_fixed_size_binary(kind)
    ):
        return _scalar_text(column)
    return column


def _nested_ready(array: pa.Array, *, keep_floats: bool = False) -> pa.Array:
    """A list, struct or map with every value inside spelled as the same value in a
    column of its own would be (timestamps in ISO 8601, decimals as exact text, binary
    in base64...), so that a value reads the same nested or not.

    ``keep_floats`` leaves floats as numbers, NaN and infinities included; otherwise
    those become null (a row holding one is refused, see :func:`_non_finite`).
    """
    kind = array.type
    if pa.types.is_struct(kind):
        children = [_nested_ready(child, keep_floats=keep_floats) for child in array.flatten()]
        fields = [kind.field(i).with_type(child.type) for i, child in enumerate(children)]
        return pa.StructArray.from_arrays(children, fields=fields, mask=array.is_null())
    if pa.types.is_map(kind):
        keys = _nested_ready(array.keys, keep_floats=keep_floats)
        items = _nested_ready(array.items, keep_floats=keep_floats)
        return pa.MapArray.from_arrays(
            array.offsets, keys, items, pa.map_(keys.type, items.type), mask=array.is_null()
        )
    if pa.types.is_list(kind) or pa.types.is_large_list(kind):
        values = _nested_ready(array.values, keep_floats=keep_floats)
        maker = pa.LargeListArray if pa.types.is_large_list(kind) else pa.ListArray
        return maker.from_arrays(array.offsets, values, mask=array.is_null())
    if pa.types.is_fixed_size_list(kind):
        values = _nested_ready(array.flatten(), keep_floats=keep_floats)
        return pa.FixedSizeListArray.from_arrays(values, kind.list_size, mask=array.is_null())
    if pa.types.is_dictionary(kind):
        return _nested_ready(array.cast(kind.value_type), keep_floats=keep_floats)
    if keep_floats and pa.types.is_floating(kind):
        return array
    ready = _json_ready(pa.chunked_array([array], kind))
    return ready.combine_chunks() if isinstance(ready, pa.ChunkedArray) else ready


def _nested_non_finite(array: pa.Array) -> pa.Array | None:
    """Per row of a nested ``array``, whether a NaN or infinite float is inside it."""
    kind = array.type
    if pa.types.is_floating(kind):
        return pc.invert(pc.fill_null(pc.is_finite(array), True))
    if pa.types.is_struct(kind):
        masks = [_nested_non_finite(child) for child in array.flatten()]
        found = [mask for mask in masks if mask is not None]
        if not found:
            return None
        combined = found[0]
        for mask in found[1:]:
            combined = pc.or_(combined, mask)
        return combined
    if pa.types.is_map(kind):
        entries = pa.struct([("key", kind.key_type), ("value", kind.item_type)])
        return _nested_non_finite(array.cast(pa.list_(entries)))
    if pa.types.is_list(kind) or pa.types.is_large_list(kind):
        inner = _nested_non_finite(array.flatten())
        if inner is None or not pc.any(inner).as_py():
            return None
        parents = pc.filter(pc.list_parent_indices(array), inner)
        return pc.is_in(pa.array(range(len(array)), parents.type), value_set=parents)
    return None


def _non_finite(table: pa.Table) -> dict[int, str]:
    """Rows holding a NaN or infinite float, which JSON cannot hold, with the reason."""
    reasons: dict[int, str] = {}
    for field, column in zip(table.schema, table.columns, strict=True):
        kind = field.type.value_type if pa.types.is_dictionary(field.type) else field.type
        if _is_nested(kind):
            inside = _nested_non_finite(column.combine_chunks())
            if inside is None:
                continue
            for row in pc.indices_nonzero(inside).to_pylist():
                reasons.setdefault(
                    row,
                    f"field {field.name!r} holds NaN or infinity inside it, which JSON "
                    "cannot hold; turn it into NULL or a number in the model's SQL",
                )
            continue
        if not pa.types.is_floating(kind):
            continue
        column = column.cast(kind)
        odd = pc.invert(pc.fill_null(pc.is_finite(column), True))
        if not pc.any(odd).as_py():
            continue
        texts = float_text(column)
        for row in pc.indices_nonzero(odd).to_pylist():
            reasons.setdefault(
                row,
                f"field {field.name!r} holds {texts[row].as_py()}, which JSON cannot hold; "
                "turn it into NULL or a number in the model's SQL",
            )
    return reasons


@dataclass(frozen=True)
class JSONRows:
    """One JSON object text per row, and which rows could not be rendered."""

    lines: pa.Array
    """JSON object texts (string), one per row; the text of an invalid row is null."""
    invalid: dict[int, str]
    """Row position -> reason, for rows whose JSON-marked field holds invalid JSON."""


def to_json_rows(table: pa.Table) -> JSONRows:
    """Render every row of ``table`` as one JSON object, keys in column order."""
    if table.num_rows == 0:
        return JSONRows(pa.array([], pa.string()), {})

    ready = pa.table(
        [_json_ready(table.column(i)) for i in range(table.num_columns)],
        names=[f"c{i}" for i in range(table.num_columns)],
    )
    members: list[str] = []
    checks: list[str] = []
    for index, field in enumerate(table.schema):
        alias = f"c{index}"
        if is_json_field(field):
            members.append(
                f"{_quote(field.name)} := CASE WHEN json_valid({alias}) THEN json({alias}) END"
            )
            checks.append(
                f"CASE WHEN {alias} IS NOT NULL AND NOT json_valid({alias}) THEN {index} END"
            )
        else:
            members.append(f"{_quote(field.name)} := {alias}")

    bad = f"coalesce({', '.join(checks)})" if checks else "NULL::INTEGER"
    sql = f"SELECT to_json(struct_pack({', '.join(members)}))::VARCHAR AS line, {bad} AS bad FROM t"
    rendered = query_arrow(sql, t=ready)

    invalid = _non_finite(table)
    bad_column = rendered.column("bad")
    if bad_column.null_count < len(bad_column):
        names = table.schema.names
        for row in pc.indices_nonzero(pc.is_valid(bad_column)).to_pylist():
            name = names[bad_column[row].as_py()]
            invalid.setdefault(row, f"field {name!r} holds text that is not valid JSON")

    lines = rendered.column("line").combine_chunks()
    if invalid:
        positions = pa.array(range(len(lines)), pa.int64())
        bad_rows = pc.is_in(positions, value_set=pa.array(list(invalid), pa.int64()))
        lines = pc.if_else(bad_rows, pa.scalar(None, pa.string()), lines)
    return JSONRows(lines, invalid)
