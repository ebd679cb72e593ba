"""Conformance: values that differ stay distinct, and special values never fail a run."""

from __future__ import annotations

import pyarrow as pa
from table_backends import Backend, OpenDestination

from syncline.connectors.destinations.base import FieldSpec, SyncMode, WriteAction, WriteBatch


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


def test_decimal_text_is_stored_exactly_and_as_a_number_in_postgres(
    backend: Backend, table: str, open_destination: OpenDestination
) -> None:
    wide = "1" + "0" * 50 + ".25"
    fields = (FieldSpec("id", pa.int64()), FieldSpec("amount", pa.string(), "decimal"))
    destination = open_destination(fields)
    batch = _batch(
        WriteAction.UPSERT, id=pa.array([1, 2, 3]), amount=pa.array(["10.50", wide, None])
    )

    assert destination.write_batch(batch).failures == []

    rows = backend.sql(f"SELECT amount FROM {table} ORDER BY id")
    assert [None if r[0] is None else str(r[0]) for r in rows] == ["10.50", wide, None]
    if backend.kind == "postgres":
        kind = backend.sql(
            f"SELECT data_type FROM information_schema.columns "
            f"WHERE table_name = '{table}' AND column_name = 'amount'"
        )
        assert kind == [("numeric",)]
