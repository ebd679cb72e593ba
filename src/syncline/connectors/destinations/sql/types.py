"""Arrow types to the column types a table destination creates, per SQL dialect."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.types as pat

from syncline.errors import TerminalError

_INTEGERS = {
    "postgres": {8: "smallint", 16: "smallint", 32: "integer", 64: "bigint"},
    "mysql": {8: "tinyint", 16: "smallint", 32: "int", 64: "bigint"},
}

_UNSIGNED = {
    "postgres": {8: "smallint", 16: "integer", 32: "bigint", 64: "numeric(20, 0)"},
    "mysql": {
        8: "tinyint unsigned",
        16: "smallint unsigned",
        32: "int unsigned",
        64: "bigint unsigned",
    },
}


def is_nested(arrow_type: pa.DataType) -> bool:
    """Whether values of ``arrow_type`` are lists, structs or maps (written as JSON)."""
    return bool(pat.is_nested(arrow_type))


def column_type(
    dialect: str, arrow_type: pa.DataType, *, logical: str | None = None, key: bool = False
) -> str:
    """The column type that holds ``arrow_type`` values exactly in ``dialect``.

    ``key`` asks for a type that may be a primary key (MySQL cannot index unbounded text).
    ``logical="json"`` gives a JSON column for JSON text; ``logical="decimal"`` (decimal
    text wider than any Arrow decimal) gives PostgreSQL's unbounded ``numeric``, and text
    elsewhere, because MySQL's widest DECIMAL(65, 30) would round it.
    """
    if dialect == "sqlite":
        return _sqlite_type(arrow_type)

    if pat.is_dictionary(arrow_type):
        return column_type(dialect, arrow_type.value_type, logical=logical, key=key)
    if pat.is_boolean(arrow_type):
        return "boolean"
    if pat.is_signed_integer(arrow_type):
        return _INTEGERS[dialect][arrow_type.bit_width]
    if pat.is_unsigned_integer(arrow_type):
        return _UNSIGNED[dialect][arrow_type.bit_width]
    if pat.is_floating(arrow_type):
        if arrow_type.bit_width == 64:
            return "double precision" if dialect == "postgres" else "double"
        return "real" if dialect == "postgres" else "float"
    if pat.is_decimal(arrow_type):
        if dialect == "mysql" and arrow_type.precision > 65:
            return "longtext"
        return f"numeric({arrow_type.precision}, {arrow_type.scale})"
    if pat.is_string(arrow_type) or pat.is_large_string(arrow_type) or pat.is_null(arrow_type):
        return _text_type(dialect, logical=logical, key=key)
    if pat.is_binary(arrow_type) or pat.is_large_binary(arrow_type):
        if dialect == "postgres":
            return "bytea"
        return "varbinary(255)" if key else "longblob"
    if pat.is_fixed_size_binary(arrow_type):
        return "bytea" if dialect == "postgres" else f"binary({arrow_type.byte_width})"
    if pat.is_date(arrow_type):
        return "date"
    if pat.is_time(arrow_type):
        return "time" if dialect == "postgres" else "time(6)"
    if pat.is_timestamp(arrow_type):
        if dialect == "mysql":
            # MySQL has no zone-aware type: instants are stored as their UTC wall time.
            return "datetime(6)"
        return "timestamptz" if arrow_type.tz is not None else "timestamp"
    if pat.is_duration(arrow_type):
        # MySQL's TIME spans +-838 hours, which is what MySQL sources yield durations from.
        return "interval" if dialect == "postgres" else "time(6)"
    if pat.is_interval(arrow_type):
        # Months, days and nanoseconds: PostgreSQL's interval; ISO 8601 text elsewhere.
        return "interval" if dialect == "postgres" else "varchar(64)"
    if is_nested(arrow_type):
        return "jsonb" if dialect == "postgres" else "json"

    raise TerminalError(
        f"no {dialect} column type for Arrow type {arrow_type}; create the table yourself "
        "with a suitable column, or cast the model column to a simpler type",
        code="UNSUPPORTED_TYPE",
    )


def _text_type(dialect: str, *, logical: str | None, key: bool) -> str:
    if logical == "json":
        return "jsonb" if dialect == "postgres" else "json"
    if logical == "decimal" and dialect == "postgres":
        return "numeric"
    if dialect == "mysql":
        return "varchar(255)" if key else "longtext"
    return "text"


def _sqlite_type(arrow_type: pa.DataType) -> str:
    # Decimals and timestamps are TEXT on purpose: NUMERIC or REAL affinity would turn
    # '1.10' into the float 1.1 and lose exactness. Durations are whole microseconds.
    if pat.is_integer(arrow_type) or pat.is_boolean(arrow_type) or pat.is_duration(arrow_type):
        return "INTEGER"
    if pat.is_floating(arrow_type):
        return "REAL"
    if pat.is_binary(arrow_type) or pat.is_large_binary(arrow_type):
        return "BLOB"
    if pat.is_fixed_size_binary(arrow_type):
        return "BLOB"
    return "TEXT"
