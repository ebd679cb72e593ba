"""Arrow types for PostgreSQL columns as ADBC exports them.

ADBC already gives most types their natural Arrow form. Three need finishing:
NUMERIC arrives as text (made exact ``decimal128`` from the column's type modifier),
JSON and JSONB as an extension type (made plain text marked as JSON), and UUID as
16 bytes (made the usual text form).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import pyarrow as pa

from syncline.connectors.sources._arrow import cast_column, normal_type
from syncline.connectors.sources.base import Column, json_field

logger = logging.getLogger(__name__)

TYPE_KEY = b"POSTGRESQL:type"
TYPMOD_KEY = b"POSTGRESQL:typmod"

ColumnConverter = Callable[[pa.Array], pa.Array]


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

    target = normal_type(exported.type)
    if isinstance(exported.type, pa.BaseExtensionType) and pa.types.is_binary(target):
        logger.warning(
            "column %r has PostgreSQL type %s, read as raw bytes; cast it to text in the "
            "model's SQL (%s::text) to read its text form",
            name,
            type_name,
            name,
        )
    return ColumnPlan(pa.field(name, target), type_name, lambda array: cast_column(array, target))


def _numeric_plan(name: str, typmod: int) -> ColumnPlan:
    """NUMERIC(p, s) as exact decimal128; unbounded or wider than 38 digits as text."""
    if typmod < 4:
        return ColumnPlan(pa.field(name, pa.string()), "numeric", _storage)

    precision = ((typmod - 4) >> 16) & 0xFFFF
    scale = (typmod - 4) & 0xFFFF
    type_name = f"numeric({precision},{scale})"
    if precision > 38 or scale > precision:
        return ColumnPlan(pa.field(name, pa.string()), type_name, _storage)

    target = pa.decimal128(precision, scale)
    return ColumnPlan(pa.field(name, target), type_name, lambda array: cast_column(array, target))


def _storage(array: pa.Array) -> pa.Array:
    return cast_column(array, pa.string())


def _uuid_text(array: pa.Array) -> pa.Array:
    raw = array.storage if isinstance(array, pa.ExtensionArray) else array
    values = [None if b is None else str(uuid.UUID(bytes=b)) for b in raw.to_pylist()]
    return pa.array(values, type=pa.string())
