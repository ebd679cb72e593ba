"""Conformance: what open() does with a missing, a matching and a mismatched table."""

from __future__ import annotations

import pyarrow as pa
import pytest
from table_backends import Backend, OpenDestination

from syncline.connectors.destinations.base import SyncMode, WriteAction, WriteBatch
from syncline.errors import TerminalError

FIELDS = {"id": pa.int64(), "name": pa.string(), "score": pa.int32()}


def _batch(action: WriteAction, **columns: list[object]) -> WriteBatch:
    records = pa.table(columns)
    return WriteBatch(action, records, [str(v) for v in columns["id"]])


def test_open_creates_the_missing_table_with_the_id_as_primary_key(
    backend: Backend, table: str, open_destination: OpenDestination
) -> None:
    destination = open_destination(FIELDS, create=True)
    first = _batch(WriteAction.UPSERT, id=[1, 2], name=["a", "b"], score=[10, 20])
    assert destination.write_batch(first).failures == []

    # Opening again without create_object checks the primary key an upsert needs, and a
    # second upsert of id 1 replaces the row rather than adding one.
    again = open_destination(FIELDS, create=False)
    again.write_batch(_batch(WriteAction.UPSERT, id=[1], name=["c"], score=[30]))
    assert backend.sql(f"SELECT id, name, score FROM {table} ORDER BY id") == [
        (1, "c", 30),
        (2, "b", 20),
    ]


def test_open_refuses_a_missing_table_without_create_object(
    backend: Backend, table: str, open_destination: OpenDestination
) -> None:
    with pytest.raises(TerminalError) as caught:
        open_destination(FIELDS, create=False)

    assert caught.value.code == "OBJECT_MISSING"
    assert table in str(caught.value)
    assert "createObject" in str(caught.value)


def test_open_lists_the_mapped_fields_missing_from_the_table(
    backend: Backend, table: str, open_destination: OpenDestination
) -> None:
    backend.sql(f"CREATE TABLE {table} (id BIGINT PRIMARY KEY, name VARCHAR(100))")
    fields = {"id": pa.int64(), "name": pa.string(), "score": pa.int32(), "email": pa.string()}

    with pytest.raises(TerminalError) as caught:
        open_destination(fields, create=True)

    assert caught.value.code == "OBJECT_FIELDS_MISSING"
    assert "'score', 'email'" in str(caught.value)


def test_upsert_mode_needs_a_unique_key_on_the_id_and_says_which_index_to_add(
    backend: Backend, table: str, open_destination: OpenDestination
) -> None:
    backend.sql(f"CREATE TABLE {table} (id BIGINT, name VARCHAR(100), score INTEGER)")

    with pytest.raises(TerminalError) as caught:
        open_destination(FIELDS, mode=SyncMode.UPSERT)

    assert caught.value.code == "OBJECT_KEY_MISSING"
    message = str(caught.value)
    statement = message[message.index("CREATE UNIQUE INDEX") :]

    # The suggestion runs as printed, and then the sync opens and upserts.
    backend.sql(statement)
    destination = open_destination(FIELDS, mode=SyncMode.UPSERT, create=False)
    for name in ("a", "b"):
        batch = _batch(WriteAction.UPSERT, id=[1], name=[name], score=[1])
        assert destination.write_batch(batch).failures == []
    assert backend.sql(f"SELECT id, name FROM {table}") == [(1, "b")]


def test_the_suggested_unique_index_on_a_text_id_runs_as_printed(
    backend: Backend, table: str, open_destination: OpenDestination
) -> None:
    # MySQL indexes no TEXT column whole: its suggestion makes the column a VARCHAR too.
    collation = " COLLATE utf8mb4_bin" if backend.kind == "mysql" else ""
    backend.sql(f"CREATE TABLE {table} (id TEXT{collation}, name VARCHAR(100))")
    fields = {"id": pa.string(), "name": pa.string()}

    with pytest.raises(TerminalError) as caught:
        open_destination(fields, mode=SyncMode.UPSERT)
    message = str(caught.value)
    backend.sql(message[message.index("e.g. ") + len("e.g. ") :])

    destination = open_destination(fields, mode=SyncMode.UPSERT, create=False)
    for name in ("a", "b"):
        batch = WriteBatch(WriteAction.UPSERT, pa.table({"id": ["k"], "name": [name]}), ["k"])
        assert destination.write_batch(batch).failures == []
    assert backend.sql(f"SELECT id, name FROM {table}") == [("k", "b")]


def test_update_and_append_modes_work_without_a_unique_key(
    backend: Backend, table: str, open_destination: OpenDestination
) -> None:
    backend.sql(f"CREATE TABLE {table} (id BIGINT, name VARCHAR(100), score INTEGER)")

    destination = open_destination(FIELDS, mode=SyncMode.APPEND)
    batch = _batch(WriteAction.APPEND, id=[1, 1], name=["a", "b"], score=[1, 2])

    assert destination.write_batch(batch).failures == []
    assert backend.sql(f"SELECT count(*) FROM {table}") == [(2,)]


def test_a_schema_qualified_object_names_the_schema(
    backend: Backend, table: str, open_destination: OpenDestination
) -> None:
    schema = {"postgres": "public", "mysql": backend.config.get("database"), "sqlite": "main"}
    qualified = f"{schema.get(backend.kind, 'main')}.{table}"

    destination = open_destination(FIELDS, object_name=qualified)
    destination.write_batch(_batch(WriteAction.UPSERT, id=[5], name=["x"], score=[1]))

    assert backend.sql(f"SELECT id, name FROM {table}") == [(5, "x")]
