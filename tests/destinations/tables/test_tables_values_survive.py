"""Conformance: values that differ stay distinct, and special values never fail a run."""

from __future__ import annotations

import pyarrow as pa
from table_backends import Backend, OpenDestination

from syncline.connectors.destinations.base import SyncMode, WriteAction, WriteBatch


def _batch(action: WriteAction, **columns: pa.Array) -> WriteBatch:
    records = pa.table(columns)
    return WriteBatch(action, records, [str(i) for i in range(records.num_rows)])


def test_append_table_takes_events_that_repeat_an_id(
    backend: Backend, table: str, open_destination: OpenDestination
) -> None:
    destination = open_destination({"id": pa.int64(), "v": pa.string()}, mode=SyncMode.APPEND)
    first = _batch(WriteAction.APPEND, id=pa.array([1, 2]), v=pa.array(["a", "b"]))
    again = _batch(WriteAction.APPEND, id=pa.array([1, 1]), v=pa.array(["c", "d"]))

    assert destination.write_batch(first).failures == []
    assert destination.write_batch(again).failures == []

    rows = backend.sql(f"SELECT id, v FROM {table} ORDER BY v")
    assert [tuple(r) for r in rows] == [(1, "a"), (2, "b"), (1, "c"), (1, "d")]
