"""Merge a batch into a maintained file's records by id, with Arrow kernels only.

Both tables are in the file's own form (same schema) and come with their ids as
strings, because ids are compared as strings everywhere in Syncline. Records keep
their place in the file when they are changed; new records go to the end. A changed
record is what the caller's ``combine`` makes of the old record and its new row, so
the fields a sync does not map keep their values.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from syncline.connectors.destinations.base import RowFailure, WriteAction


@dataclass(frozen=True)
class Merged:
    """The file's new records and their ids (None when nothing changed), and refusals."""

    table: pa.Table | None
    ids: pa.Array | None
    failures: list[RowFailure]
    tail: pa.Table | None = None
    """When the batch only added records at the end: those records, so an appendable
    format can append them instead of rewriting the file."""


def _positions(mask: pa.Array) -> list[int]:
    return pc.indices_nonzero(mask).to_pylist()  # type: ignore[no-any-return]


def _id_problems(ids: pa.Array, id_field: str, *, unique: bool) -> dict[int, str]:
    """Rows whose id is NULL, or (when ``unique``) appears more than once in the batch."""
    problems = {
        row: f"the id field {id_field!r} is NULL; every record needs an id"
        for row in _positions(pc.is_null(ids))
    }
    if unique:
        counts = pc.value_counts(ids.drop_null())
        repeated = counts.field("values").filter(pc.greater(counts.field("counts"), 1))
        if len(repeated):
            for row in _positions(pc.is_in(ids, value_set=repeated, skip_nulls=True)):
                problems[row] = (
                    f"id {ids[row].as_py()!r} appears more than once in this batch; "
                    f"the id field {id_field!r} must be unique"
                )
    return problems


Combine = Callable[[pa.Table, pa.Table], pa.Table]
"""The changed records from the old records and their new rows (same schema, same order)."""


def _newest(old: pa.Table, new: pa.Table) -> pa.Table:
    return new


def _replace(
    existing: pa.Table, existing_ids: pa.Array, rows: pa.Table, ids: pa.Array, combine: Combine
) -> pa.Table:
    """``existing`` with every record whose id is in ``ids`` changed by its row."""
    position = pc.index_in(existing_ids, value_set=ids, skip_nulls=True)
    hit = pc.is_valid(position)
    hits = pc.indices_nonzero(hit)
    changed = combine(existing.take(hits), rows.take(pc.take(position, hits)))

    # Record i of the result is record i of the file, or, for the k-th changed one,
    # row k of ``changed``, which follows the file's records in the concatenation.
    rank = pc.subtract(pc.cumulative_sum(hit.cast(pa.int64())), 1)
    kept = pa.array(range(existing.num_rows), pa.int64())
    source = pc.if_else(hit, pc.add(rank, existing.num_rows), kept)
    return pa.concat_tables([existing, changed.cast(existing.schema)]).take(source)


def merge(
    existing: pa.Table,
    existing_ids: pa.Array,
    batch: pa.Table,
    batch_ids: pa.Array,
    action: WriteAction,
    *,
    id_field: str,
    rejected: dict[int, str] | None = None,
    file_name: str = "the file",
    combine: Combine = _newest,
) -> Merged:
    """Apply one batch of ``action`` to a maintained file's records.

    ``rejected`` names batch rows already refused (e.g. invalid JSON); they are left
    out and reported. ``DELETE`` only reads ``batch_ids``; a record already gone is
    a success. ``combine`` makes a changed record; by default the new row replaces it.
    """
    problems = _id_problems(batch_ids, id_field, unique=action != WriteAction.DELETE)
    problems.update(rejected or {})
    rows = pa.array(range(len(batch_ids)), pa.int64())
    usable = pc.invert(pc.is_in(rows, value_set=pa.array(list(problems), pa.int64())))

    if action == WriteAction.DELETE:
        gone = pc.is_in(existing_ids, value_set=batch_ids.filter(usable), skip_nulls=True)
        failures = [RowFailure(row, reason, False) for row, reason in sorted(problems.items())]
        if not pc.any(gone).as_py():
            return Merged(None, None, failures)
        kept = pc.invert(gone)
        return Merged(existing.filter(kept), existing_ids.filter(kept), failures)

    exists = pc.fill_null(pc.is_in(batch_ids, value_set=existing_ids, skip_nulls=True), False)
    if action == WriteAction.INSERT:
        for row in _positions(pc.and_(usable, exists)):
            problems[row] = (
                f"a record with id {batch_ids[row].as_py()!r} already exists in {file_name}"
            )
    missing: set[int] = set()
    if action == WriteAction.UPDATE:
        missing = set(_positions(pc.and_(usable, pc.invert(exists))))
        for row in missing:
            problems[row] = f"no record with id {batch_ids[row].as_py()!r} in {file_name}"

    replace = pc.and_(usable, exists)
    add = pc.and_(usable, pc.invert(exists))
    if action == WriteAction.INSERT:
        replace = pa.repeat(False, len(batch_ids))
    if action == WriteAction.UPDATE:
        add = pa.repeat(False, len(batch_ids))

    # An update of a missing record may succeed once the record is there, so it stays
    # retryable; the other refusals repeat until the data changes.
    failures = [RowFailure(row, reason, row in missing) for row, reason in sorted(problems.items())]
    replacing, adding = pc.any(replace).as_py(), pc.any(add).as_py()
    if not replacing and not adding:
        return Merged(None, None, failures)

    merged, ids, tail = existing, existing_ids, None
    if replacing:
        merged = _replace(
            existing, existing_ids, batch.filter(replace), batch_ids.filter(replace), combine
        )
    if adding:
        tail = batch.filter(add)
        merged = pa.concat_tables([merged, tail])
        ids = pa.concat_arrays([existing_ids, batch_ids.filter(add)])
    return Merged(merged, ids, failures, None if replacing else tail)
