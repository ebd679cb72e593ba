"""Numbers a float column would round, found before staging.

PostgreSQL's ``real``, MySQL's ``FLOAT`` and DuckDB's ``FLOAT`` hold four-byte floats,
and every database's double eight-byte ones (SQLite's REAL among them): a value sent to
one is stored as the nearest float, silently, and counted as sent. A double ``0.1`` or
a ``DECIMAL(5, 1)`` 0.1 becomes ``0.10000000149011612`` in a single-precision column, the
integer ``16777217`` becomes ``16777216``, and ``9007199254740993`` becomes
``9007199254740992`` even in a double column; ``0.5``, ``16777216`` or ``2**53`` are kept.

A value passes when the column's float, read back as a double, is the value itself (for
a decimal: prints as the same number, so the decimal ``0.1`` passes into a double column,
which reads back ``0.1``). Others are found here, column-wise, and the row is rejected
with a reason naming the column and the fix. Nothing is computed for a column whose type
every float of the column holds (a float32 into any float column, an ``int16`` into a
single-precision one, an ``int32`` or a ``DECIMAL(15, 0)`` into a double one).
"""

from __future__ import annotations

import decimal
import re
import struct
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.types as pat

from syncline.connectors.destinations.sql.refusals import refuse_marked
from syncline.connectors.destinations.sql.types import column_type
from syncline.connectors.sources.base import is_decimal_field

_SINGLE_TYPE = re.compile(r"(?:real|float4?)(?: unsigned)?(?: zerofill)?", re.I)
"""The single-precision column types as each database describes them (PostgreSQL's
``real``, MySQL's ``float``, DuckDB's ``FLOAT``); SQLite's REAL holds eight bytes."""

_DOUBLE_TYPE = re.compile(r"(?:double(?: precision)?|float8)(?: unsigned)?(?: zerofill)?", re.I)
"""The double-precision column types of PostgreSQL, MySQL and DuckDB."""

_WIDER_FLOAT = {"postgres": "double precision", "mysql": "DOUBLE", "duckdb": "DOUBLE"}
"""The double-precision type offered as the fix for a double, per dialect."""

SINGLE, DOUBLE = 24, 53
"""Significand bits of a four-byte and of an eight-byte float."""


def float_bits(type_name: str, dialect: str) -> int | None:
    """The significand bits of a float column of type ``type_name``; None when not a float.

    SQLite's column types are affinities, decided by the words the type contains; one
    of REAL affinity stores every number as an eight-byte float.
    """
    kind = type_name.strip()
    if dialect == "sqlite":
        upper = kind.upper()
        if "INT" in upper or any(word in upper for word in ("CHAR", "CLOB", "TEXT", "BLOB")):
            return None
        return DOUBLE if any(word in upper for word in ("REAL", "FLOA", "DOUB")) else None
    if _SINGLE_TYPE.fullmatch(kind):
        return SINGLE
    return DOUBLE if _DOUBLE_TYPE.fullmatch(kind) else None


def refuse_rounded_numbers(
    records: pa.Table, columns: dict[str, str], table: str, *, dialect: str
) -> dict[int, str]:
    """The rows of ``records`` holding a number their float column would round, by
    position, with the reason.

    ``columns`` are the table's column types by name. Doubles, integers, decimals and
    exact decimal text are checked. NaN and the infinities are floats too, and left to
    the checks of non-finite floats; text that is no number is left to the database.
    """
    reasons: dict[int, str] = {}
    for field, values in zip(records.schema, records.columns, strict=True):
        kind = columns.get(field.name, "")
        bits = float_bits(kind, dialect)
        if bits is None:
            continue
        if pat.is_dictionary(values.type):
            values = pc.cast(values, values.type.value_type)
        mask = _rounded(values, bits, exact_text=is_decimal_field(field))
        if mask is None:
            continue
        reason = _reason(field, kind, bits, table, dialect)
        refuse_marked(reasons, mask, reason)
    return reasons


def _rounded(values: Any, bits: int, *, exact_text: bool) -> Any:
    """A mask of the values a float of ``bits`` significand bits would alter, or None
    when it holds every value of their type."""
    kind = values.type
    if pat.is_floating(kind):
        if kind.bit_width < 64 or bits == DOUBLE:
            return None
        # An unsafe cast rounds to the nearest single (a huge double to infinity).
        single = pc.cast(pc.cast(values, pa.float32(), safe=False), pa.float64())
        return pc.and_(pc.is_finite(values), pc.not_equal(single, values))
    if pat.is_integer(kind):
        magnitude = kind.bit_width - (1 if pat.is_signed_integer(kind) else 0)
        return None if magnitude <= bits else _rounded_integers(values, bits, magnitude)
    if pat.is_decimal(kind):
        if kind.scale <= 0 and 10 ** (kind.precision - kind.scale) <= 2**bits:
            return None
        return _rounded_python(values.to_pylist(), bits)
    if exact_text:
        return _rounded_python(values.to_pylist(), bits)
    return None


def _rounded_integers(values: Any, bits: int, magnitude: int) -> Any:
    """Integers whose nearest float differs from them, found without leaving Arrow."""
    nearest = pc.cast(values, pa.float32() if bits == SINGLE else pa.float64(), safe=False)
    nearest = pc.cast(nearest, pa.float64())
    # 2**magnitude is past the type's largest value: an integer rounded up to it differs,
    # and casting it back would overflow.
    beyond = pc.greater_equal(nearest, 2.0**magnitude)
    inside = pc.if_else(beyond, pa.scalar(0.0), nearest)
    back = pc.cast(inside, values.type, safe=False)
    return pc.or_(beyond, pc.not_equal(back, values))


def _rounded_python(values: list[Any], bits: int) -> pa.Array:
    """Decimals (or their text) the float would alter, one by one: Arrow has no exact
    conversion between decimals and floats."""
    return pa.array([value is not None and not _kept(value, bits) for value in values])


def _kept(value: decimal.Decimal | str, bits: int) -> bool:
    """Whether the nearest float of ``bits`` bits, read back as a double, prints as
    ``value``; text that is no number, NaN and the infinities are not judged here."""
    try:
        number = value if isinstance(value, decimal.Decimal) else decimal.Decimal(value)
    except decimal.InvalidOperation:
        return True
    if not number.is_finite():
        return True
    nearest = float(number)  # correctly rounded
    if bits == SINGLE:
        try:
            # A value exact in single precision is exact as a double first, so rounding
            # twice finds the same values altered as rounding once.
            nearest = struct.unpack("<f", struct.pack("<f", nearest))[0]
        except OverflowError:
            return False
    return decimal.Decimal(repr(nearest)) == number


def _reason(field: pa.Field, kind: str, bits: int, table: str, dialect: str) -> str:
    """Why a row is refused, with the fix: a double for doubles, an exact type else."""
    name = field.name
    precision = "single" if bits == SINGLE else "double"
    value_type = field.type
    if pat.is_dictionary(value_type):
        value_type = value_type.value_type
    if pat.is_floating(value_type):
        fix = _WIDER_FLOAT.get(dialect, "DOUBLE")
    else:
        fix = _exact_type(value_type, dialect, exact_text=is_decimal_field(field))
    # SQLite cannot change a column's type in place.
    widen = f"recreate it as {fix}" if dialect == "sqlite" else f"ALTER its type to {fix}"
    return (
        f"field {name!r} holds a number that column {name!r} ({kind}) of table {table}, "
        f"a {precision}-precision float, would store rounded; widen the column ({widen}) "
        "or round the value in the model's SQL"
    )


def _exact_type(value_type: pa.DataType, dialect: str, *, exact_text: bool) -> str:
    """A column type holding every integer or decimal of ``value_type`` exactly."""
    if dialect in ("postgres", "mysql"):
        return column_type(dialect, value_type, logical="decimal" if exact_text else None)
    if pat.is_integer(value_type):
        if dialect == "sqlite":
            return "INTEGER"
        return "UBIGINT" if pat.is_unsigned_integer(value_type) else "BIGINT"
    if dialect == "duckdb" and pat.is_decimal(value_type) and value_type.precision <= 38:
        return f"DECIMAL({value_type.precision}, {value_type.scale})"
    # Wider decimals and decimal text: only text holds every digit.
    return "TEXT" if dialect == "sqlite" else "VARCHAR"
