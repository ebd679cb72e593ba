"""Arrow types for PostgreSQL columns as ADBC exports them.

ADBC already gives most types their natural Arrow form. Some need finishing:
NUMERIC arrives as text (made exact ``decimal128`` from the column's type modifier, or
kept as text marked as decimal when no decimal128 holds it),
JSON and JSONB as an extension type (made plain text marked as JSON), UUID as
16 bytes (made the usual text form), and MONEY as the integer count of its smallest
unit (made an exact ``decimal128(19, s)``, ``s`` being the fractional digits of the
session's ``lc_monetary``); arrays of these types are finished element by element.
Dates, times and timestamps are checked by
:mod:`syncline.connectors.sources.postgres.moments`.

Some types the server is asked to print instead (see :func:`read_expression`): those
ADBC knows only as their binary wire form (``inet``, ranges, ``timetz``, ``macaddr``,
geometric types, ``xml`` ...) are read as their text, arrays of them as text arrays;
composite types are read as the JSON object of their fields, as ``to_jsonb`` gives it,
because ADBC loses a composite value that follows a NULL one.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from syncline.connectors.sources._arrow import cast_column, normal_type
from syncline.connectors.sources.base import (
    READ_AS_JSON,
    READ_AS_TEXT,
    READ_AS_TEXT_ARRAY,
    Column,
    decimal_field,
    json_field,
)
from syncline.connectors.sources.postgres.moments import exact_moments, exact_times

logger = logging.getLogger(__name__)

TYPE_KEY = b"POSTGRESQL:type"
TYPMOD_KEY = b"POSTGRESQL:typmod"

ColumnConverter = Callable[[pa.Array], pa.Array]

MONEY_SCALE_QUERY = "SELECT scale(0::money::numeric)"
"""The fractional digits of ``money`` under the session's ``lc_monetary``."""


@dataclass(frozen=True)
class ColumnPlan:
    """How one exported column becomes the column ``read`` yields."""

    field: pa.Field
    type_name: str
    convert: ColumnConverter | None = None
    read_as: str | None = None
    """The form the server prints the column in for the read, if it does (see
    :attr:`Column.read_as <syncline.connectors.sources.base.Column.read_as>`)."""

    def column(self) -> Column:
        """The column as ``Source.describe`` reports it."""
        return Column.from_field(self.field, self.type_name, self.read_as)


def plan_column(exported: pa.Field, money_scale: int) -> ColumnPlan:
    """The plan of one column of ADBC's exported schema.

    ``money_scale`` is what :data:`MONEY_SCALE_QUERY` answers on the reading connection.
    """
    metadata = exported.metadata or {}
    type_name = metadata.get(TYPE_KEY, b"").decode() or str(exported.type)
    name = exported.name

    if type_name in ("json", "jsonb"):
        return ColumnPlan(json_field(name), type_name, _storage)

    if type_name == "numeric":
        return _numeric_plan(name, int(metadata.get(TYPMOD_KEY, b"-1")))

    if type_name == "uuid":
        return ColumnPlan(pa.field(name, pa.string()), type_name, _uuid_text)

    if type_name == "money":
        return _money_plan(name, money_scale)

    read_as = read_expression(exported)
    if read_as == _AS_JSON:
        return ColumnPlan(json_field(name), type_name, _storage, READ_AS_JSON)
    if read_as == _AS_PRINTED:
        return ColumnPlan(pa.field(name, pa.string()), type_name, _storage, READ_AS_TEXT)
    if read_as == _AS_PRINTED_ARRAY:
        target = pa.list_(pa.field("item", pa.string()))
        return ColumnPlan(
            pa.field(name, target), type_name, lambda a: cast_column(a, target), READ_AS_TEXT_ARRAY
        )

    if pa.types.is_list(exported.type):
        element = exported.type.value_field
        element_type = (element.metadata or {}).get(TYPE_KEY, b"").decode()
        if element_type in _FINISHED_TYPES:
            return _array_plan(name, type_name, plan_column(element, money_scale))

    target = normal_type(exported.type)
    if (pa.types.is_timestamp(target) and target.unit == "us") or pa.types.is_date32(target):
        return ColumnPlan(
            pa.field(name, target),
            type_name,
            lambda array: exact_moments(cast_column(array, target), name, type_name),
        )
    if target == pa.time64("us"):
        return ColumnPlan(
            pa.field(name, target),
            type_name,
            lambda array: exact_times(cast_column(array, target), name, type_name),
        )
    return ColumnPlan(pa.field(name, target), type_name, lambda array: cast_column(array, target))


_FINISHED_TYPES = frozenset({"json", "jsonb", "numeric", "uuid", "money"})
"""Types whose values ADBC exports in a form that needs finishing, also inside arrays."""

_AS_TEXT = "CAST({} AS TEXT)"
# A value as its type's output function prints it, as psql shows it: a cast to text may
# differ (an inet host address gains "/32"). FORMAT gives '' for NULL, hence the CASE.
_AS_PRINTED = "CASE WHEN {0} IS NULL THEN NULL ELSE FORMAT('%s', {0}) END"
# Each element printed alike, in order, NULL elements kept (multi-dimensional arrays are
# refused before this is read).
_AS_PRINTED_ARRAY = (
    "CASE WHEN {0} IS NULL THEN NULL ELSE ARRAY(SELECT CASE WHEN e IS NULL THEN NULL "
    "ELSE FORMAT('%s', e) END FROM UNNEST({0}) WITH ORDINALITY AS u(e, n) ORDER BY n) END"
)
_AS_JSON = "TO_JSONB({})"


SIZED_TYPES = frozenset(
    {"varchar", "bpchar", "timestamp", "timestamptz", "time", "timetz", "bit", "varbit"}
)
"""Types whose name the server shows with a size from the column's type modifier, which
ADBC does not pass on (it does for ``numeric``)."""


def sized_name(type_name: str, typmod: int) -> str:
    """``type_name`` with the size ``typmod`` gives it (``varchar(20)``, ``timestamp(3)``),
    or as it is when the type has no size or the column none."""
    if type_name not in SIZED_TYPES or typmod < 0:
        return type_name
    size = typmod - 4 if type_name in ("varchar", "bpchar") else typmod
    return f"{type_name}({size})" if size >= 0 else type_name


def read_expression(exported: pa.Field) -> str | None:
    """How the server prints a column for the read, as a SQL template of the column
    (``{}``), or None when ADBC reads the column as it is.

    NUMERIC is printed as text (see :mod:`~syncline.connectors.sources.postgres.client`);
    a type ADBC knows only by its binary wire form, or an array of one, as its text
    form; a composite type, or an array of one, as JSONB.
    """
    kind = exported.type
    if type_name_of(exported) == "numeric":
        return _AS_TEXT
    if pa.types.is_struct(kind):
        return _AS_JSON
    if _is_wire_bytes(kind):
        # An array ADBC does not know (of a range type) arrives as one opaque value.
        return _AS_PRINTED_ARRAY if type_name_of(exported).startswith("_") else _AS_PRINTED
    if pa.types.is_list(kind):
        if pa.types.is_struct(kind.value_type):
            return _AS_JSON
        if _is_wire_bytes(kind.value_type):
            return _AS_PRINTED_ARRAY
    return None


def is_array(exported: pa.Field) -> bool:
    """Whether a column is a PostgreSQL array that ADBC reads as a flat Arrow list."""
    return type_name_of(exported).startswith("_") and read_expression(exported) != _AS_JSON


def _is_wire_bytes(kind: pa.DataType) -> bool:
    """Whether ADBC exports values of ``kind`` as the server's binary wire form."""
    return isinstance(kind, pa.BaseExtensionType) and pa.types.is_binary(kind.storage_type)


def type_name_of(field: pa.Field) -> str:
    """The PostgreSQL type name ADBC gives a field in its metadata, or ``''``."""
    value: bytes = (field.metadata or {}).get(TYPE_KEY, b"")
    return value.decode()


def _array_plan(name: str, type_name: str, element: ColumnPlan) -> ColumnPlan:
    """An array column whose elements are finished as a column of their type would be."""
    field = element.field.with_name("item")
    target = pa.list_(field)
    convert_element = element.convert

    def convert(array: pa.Array) -> pa.Array:
        if isinstance(array, pa.ChunkedArray):
            array = array.combine_chunks()
        values = array.values if convert_element is None else convert_element(array.values)
        # The offsets index the whole child array, as ``values`` is; nulls are kept apart.
        return pa.ListArray.from_arrays(
            array.offsets, values, type=target, mask=array.is_null() if array.null_count else None
        )

    return ColumnPlan(pa.field(name, target), type_name, convert)


def _money_plan(name: str, scale: int) -> ColumnPlan:
    """MONEY as ``decimal128(19, scale)``: its 64-bit count of the smallest unit, scaled."""
    target = pa.decimal128(19, scale)

    def convert(array: pa.Array) -> pa.Array:
        units = cast_column(array, pa.int64())
        return units.cast(pa.decimal128(19, 0)).view(target)

    return ColumnPlan(pa.field(name, target), "money", convert)


def _numeric_plan(name: str, typmod: int) -> ColumnPlan:
    """NUMERIC(p, s) as exact decimal128; unbounded or wider than 38 digits as decimal text."""
    if typmod < 4:
        return ColumnPlan(decimal_field(name), "numeric", _numeric_text)

    precision = ((typmod - 4) >> 16) & 0xFFFF
    scale = (typmod - 4) & 0xFFFF
    type_name = f"numeric({precision},{scale})"
    if precision > 38 or scale > precision:
        return ColumnPlan(decimal_field(name), type_name, _numeric_text)

    target = pa.decimal128(precision, scale)
    # NaN and infinities fail the cast, however they are spelled.
    return ColumnPlan(pa.field(name, target), type_name, lambda array: cast_column(array, target))


def _storage(array: pa.Array) -> pa.Array:
    return cast_column(array, pa.string())


# How the server prints NUMERIC's special values, and how ADBC spells them.
_SERVER_SPECIALS = pa.array(["NaN", "Infinity", "-Infinity"])
_ADBC_SPECIALS = ["nan", "inf", "-inf"]


def _numeric_text(array: pa.Array) -> pa.Array:
    """NUMERIC as text, spelled as ADBC spells it whether it or the server printed it:
    the server's ``NaN``, ``Infinity`` and ``-Infinity`` become ``nan``, ``inf``, ``-inf``."""
    text = cast_column(array, pa.string())
    if not pc.any(pc.is_in(text, value_set=_SERVER_SPECIALS)).as_py():
        return text
    for server, adbc in zip(_SERVER_SPECIALS.to_pylist(), _ADBC_SPECIALS, strict=True):
        text = pc.if_else(pc.equal(text, server), pa.scalar(adbc), text)
    return text


def _uuid_text(array: pa.Array) -> pa.Array:
    raw = array.storage if isinstance(array, pa.ExtensionArray) else array
    values = [None if b is None else str(uuid.UUID(bytes=b)) for b in raw.to_pylist()]
    return pa.array(values, type=pa.string())
