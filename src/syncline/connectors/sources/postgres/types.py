"""Arrow types for PostgreSQL columns as ADBC exports them.

ADBC already gives most types their natural Arrow form. Four need finishing:
NUMERIC arrives as text (made exact ``decimal128`` from the column's type modifier, or
kept as text marked as decimal when no decimal128 holds it),
JSON and JSONB as an extension type (made plain text marked as JSON), and UUID as
16 bytes (made the usual text form); and ``infinity`` / ``-infinity`` timestamps and
dates, which ADBC shifts by the PostgreSQL epoch into meaningless years (made Syncline's
infinity, see :mod:`syncline.connectors.sources.infinity`).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from syncline.connectors.sources._arrow import cast_column, normal_type
from syncline.connectors.sources.base import Column, decimal_field, json_field
from syncline.connectors.sources.infinity import DATE_INFINITY, TIMESTAMP_INFINITY

logger = logging.getLogger(__name__)

TYPE_KEY = b"POSTGRESQL:type"
TYPMOD_KEY = b"POSTGRESQL:typmod"

ColumnConverter = Callable[[pa.Array], pa.Array]

# PostgreSQL stores infinity as the extreme integer; ADBC adds the 2000-01-01 epoch offset
# to it, which wraps around to these values (below any real date PostgreSQL allows).
_PG_EPOCH_MICROS = 946_684_800_000_000
_PG_EPOCH_DAYS = 10_957
_ADBC_INFINITY = {
    "int64": (-(2**63) + _PG_EPOCH_MICROS - 1, -(2**63) + _PG_EPOCH_MICROS, TIMESTAMP_INFINITY),
    "int32": (-(2**31) + _PG_EPOCH_DAYS - 1, -(2**31) + _PG_EPOCH_DAYS, DATE_INFINITY),
}


@dataclass(frozen=True)
class ColumnPlan:
    """How one exported column becomes the column ``read`` yields."""

    field: pa.Field
    type_name: str
    convert: ColumnConverter | None = None

    def column(self) -> Column:
        """The column as ``Source.describe`` reports it."""
        return Column.from_field(self.field, self.type_name)


def plan_column(exported: pa.Field) -> ColumnPlan:
    """The plan of one column of ADBC's exported schema."""
    metadata = exported.metadata or {}
    type_name = metadata.get(TYPE_KEY, b"").decode() or str(exported.type)
    name = exported.name

    if type_name in ("json", "jsonb"):
        return ColumnPlan(json_field(name), type_name, _storage)

    if type_name == "numeric":
        return _numeric_plan(name, int(metadata.get(TYPMOD_KEY, b"-1")))

    if type_name == "uuid":
        return ColumnPlan(pa.field(name, pa.string()), type_name, _uuid_text)

    # TODO(sources): ADBC hands over `money` as integer cents, `time '24:00'` as a value
    # past midnight, and timestamps far in the future (year 100,000 was seen) wrapped
    # around; each needs a plan of its own (an exact decimal, a rejected or textual
    # value, an error naming the column) rather than the generic cast below. Until then
    # a model should cast such columns in its SQL (m::numeric, t::text).

    target = normal_type(exported.type)
    if isinstance(exported.type, pa.BaseExtensionType) and pa.types.is_binary(target):
        logger.warning(
            "column %r has PostgreSQL type %s, read as raw bytes; cast it to text in the "
            "model's SQL (%s::text) to read its text form",
            name,
            type_name,
            name,
        )
    if (pa.types.is_timestamp(target) and target.unit == "us") or pa.types.is_date32(target):
        return ColumnPlan(
            pa.field(name, target),
            type_name,
            lambda array: _infinities(cast_column(array, target)),
        )
    return ColumnPlan(pa.field(name, target), type_name, lambda array: cast_column(array, target))


def _infinities(array: pa.Array) -> pa.Array:
    """ADBC's wrapped-around ``infinity`` / ``-infinity`` made Syncline's infinity values."""
    numbers = array.view(pa.int64() if pa.types.is_timestamp(array.type) else pa.int32())
    plus, minus, infinity = _ADBC_INFINITY[str(numbers.type)]
    lowest = pc.min(numbers).as_py()
    if lowest is None or lowest > minus:
        return array

    kind = numbers.type
    numbers = pc.if_else(pc.equal(numbers, plus), pa.scalar(infinity, kind), numbers)
    numbers = pc.if_else(pc.equal(numbers, minus), pa.scalar(-infinity, kind), numbers)
    return numbers.view(array.type)


def _numeric_plan(name: str, typmod: int) -> ColumnPlan:
    """NUMERIC(p, s) as exact decimal128; unbounded or wider than 38 digits as decimal text."""
    if typmod < 4:
        return ColumnPlan(decimal_field(name), "numeric", _storage)

    precision = ((typmod - 4) >> 16) & 0xFFFF
    scale = (typmod - 4) & 0xFFFF
    type_name = f"numeric({precision},{scale})"
    if precision > 38 or scale > precision:
        return ColumnPlan(decimal_field(name), type_name, _storage)

    target = pa.decimal128(precision, scale)
    return ColumnPlan(pa.field(name, target), type_name, lambda array: cast_column(array, target))


def _storage(array: pa.Array) -> pa.Array:
    return cast_column(array, pa.string())


def _uuid_text(array: pa.Array) -> pa.Array:
    raw = array.storage if isinstance(array, pa.ExtensionArray) else array
    values = [None if b is None else str(uuid.UUID(bytes=b)) for b in raw.to_pylist()]
    return pa.array(values, type=pa.string())
