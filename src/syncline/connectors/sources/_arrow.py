"""Arrow helpers shared by sources: one schema convention and batches of a fixed size."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator

import pyarrow as pa

logger = logging.getLogger(__name__)


def normal_type(arrow_type: pa.DataType) -> pa.DataType:
    """The type Syncline uses for values of ``arrow_type``, without losing any value.

    Integers narrower than 64 bits widen to ``int64``, timestamps carry microseconds
    (nanoseconds stay) and any zone becomes ``UTC`` (the same instants), large and
    view strings become plain ones, and extension types fall back to their storage.
    """
    if isinstance(arrow_type, pa.BaseExtensionType):
        return normal_type(arrow_type.storage_type)

    if pa.types.is_integer(arrow_type) and arrow_type != pa.uint64():
        return pa.int64()

    if pa.types.is_timestamp(arrow_type):
        unit = "ns" if arrow_type.unit == "ns" else "us"
        return pa.timestamp(unit, tz="UTC" if arrow_type.tz else None)

    if pa.types.is_large_string(arrow_type) or pa.types.is_string_view(arrow_type):
        return pa.string()

    if pa.types.is_large_binary(arrow_type) or pa.types.is_binary_view(arrow_type):
        return pa.binary()

    return arrow_type


def cast_column(array: pa.Array | pa.ChunkedArray, target: pa.DataType) -> pa.Array:
    """``array`` as ``target``, casting through extension storage; raises on lost values."""
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    if isinstance(array, pa.ExtensionArray):
        array = array.storage
    if array.type == target:
        return array
    return array.cast(target, safe=True)


def rebatch(batches: Iterable[pa.RecordBatch], batch_rows: int) -> Iterator[pa.RecordBatch]:
    """Regroup ``batches`` into batches of exactly ``batch_rows`` rows, the last one shorter.

    Holds at most one output batch plus one input batch in memory.
    """
    pending: list[pa.RecordBatch] = []
    pending_rows = 0

    for batch in batches:
        offset = 0
        while offset < batch.num_rows:
            take = min(batch_rows - pending_rows, batch.num_rows - offset)
            pending.append(batch.slice(offset, take))
            pending_rows += take
            offset += take

            if pending_rows == batch_rows:
                yield _join(pending)
                pending, pending_rows = [], 0

    if pending_rows:
        yield _join(pending)


def _join(parts: list[pa.RecordBatch]) -> pa.RecordBatch:
    return parts[0] if len(parts) == 1 else pa.concat_batches(parts)


def conform(batch: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
    """``batch`` with the types and field metadata of ``schema`` (same column order)."""
    if batch.schema.equals(schema, check_metadata=True):
        return batch
    arrays = [
        cast_column(column, field.type) for column, field in zip(batch.columns, schema, strict=True)
    ]
    return pa.RecordBatch.from_arrays(arrays, schema=schema)
