"""MariaDB: ids that differ only in case or trailing spaces stay distinct rows."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pyarrow as pa
import pytest
from table_backends import MariaDBBackend

from syncline.connectors.destinations.base import (
    FieldSpec,
    SyncMode,
    WriteAction,
    WriteBatch,
    WriteContext,
)
from syncline.connectors.destinations.mysql import MySQLDestination
from syncline.errors import TerminalError

pytestmark = pytest.mark.mariadb

IDS = ["abc", "ABC", "abc ", "xyz"]


@pytest.fixture(scope="module")
def maria() -> Iterator[MariaDBBackend]:
    """A database of its own on the MariaDB server."""
    backend = MariaDBBackend()
    try:
        yield backend
    finally:
        backend.close()


def _open(maria: MariaDBBackend, table: str, mode: SyncMode = SyncMode.MIRROR) -> MySQLDestination:
    destination = MySQLDestination.from_config(maria.config)
    fields = (FieldSpec("id", pa.string()), FieldSpec("v", pa.int64()))
    context = WriteContext(1, 1, table, mode, "id", fields, create_object=True)
    destination.open(context)
    return destination


def _batch(action: WriteAction, ids: list[str], values: list[int] | None = None) -> WriteBatch:
    columns: dict[str, pa.Array] = {"id": pa.array(ids, pa.string())}
    if values is not None:
        columns["v"] = pa.array(values, pa.int64())
    return WriteBatch(action, pa.table(columns), ids)


def test_created_table_keeps_ids_differing_in_case_and_trailing_space(
    maria: MariaDBBackend,
) -> None:
    table = f"t_{uuid.uuid4().hex[:10]}"
    destination = _open(maria, table)
    try:
        upserted = destination.write_batch(_batch(WriteAction.UPSERT, IDS, [1, 2, 3, 4]))
        assert upserted.failures == []
        rows = maria.sql(f"SELECT id, v FROM {table} ORDER BY v")
        assert [tuple(r) for r in rows] == [("abc", 1), ("ABC", 2), ("abc ", 3), ("xyz", 4)]

        deleted = destination.write_batch(_batch(WriteAction.DELETE, ["ABC"]))
        assert deleted.failures == []
        rows = maria.sql(f"SELECT id FROM {table} ORDER BY v")
        assert [r[0] for r in rows] == ["abc", "abc ", "xyz"]
    finally:
        destination.close()


def test_existing_case_insensitive_id_column_is_refused_with_the_alter(
    maria: MariaDBBackend,
) -> None:
    table = f"t_{uuid.uuid4().hex[:10]}"
    maria.sql(
        f"CREATE TABLE {table} (id varchar(255) COLLATE utf8mb4_general_ci PRIMARY KEY, v int)"
    )
    with pytest.raises(TerminalError) as caught:
        _open(maria, table)

    message = str(caught.value)
    assert "'id'" in message
    assert "utf8mb4_general_ci" in message
    assert "ALTER TABLE" in message
    assert "COLLATE utf8mb4_nopad_bin" in message

    # The ALTER it names makes the table usable.
    start = message.index("ALTER TABLE")
    maria.sql(message[start:])
    _open(maria, table).close()


def test_append_mode_accepts_a_case_insensitive_id_column(maria: MariaDBBackend) -> None:
    table = f"t_{uuid.uuid4().hex[:10]}"
    maria.sql(f"CREATE TABLE {table} (id varchar(255) COLLATE utf8mb4_general_ci, v int)")
    _open(maria, table, SyncMode.APPEND).close()


def test_padded_binary_id_column_rejects_ids_ending_in_a_space(maria: MariaDBBackend) -> None:
    table = f"t_{uuid.uuid4().hex[:10]}"
    maria.sql(f"CREATE TABLE {table} (id varchar(255) COLLATE utf8mb4_bin PRIMARY KEY, v int)")
    destination = _open(maria, table)
    try:
        result = destination.write_batch(_batch(WriteAction.UPSERT, IDS, [1, 2, 3, 4]))
        assert [f.index for f in result.failures] == [2]
        assert "ends in a space" in result.failures[0].reason
        rows = maria.sql(f"SELECT id, v FROM {table} ORDER BY v")
        assert [tuple(r) for r in rows] == [("abc", 1), ("ABC", 2), ("xyz", 4)]
    finally:
        destination.close()


def test_append_mode_writes_ids_ending_in_a_space(maria: MariaDBBackend) -> None:
    table = f"t_{uuid.uuid4().hex[:10]}"
    maria.sql(f"CREATE TABLE {table} (id varchar(255) COLLATE utf8mb4_bin, v int)")
    destination = _open(maria, table, SyncMode.APPEND)
    try:
        result = destination.write_batch(_batch(WriteAction.APPEND, IDS, [1, 2, 3, 4]))
        assert result.failures == []
        assert maria.sql(f"SELECT count(*) FROM {table}")[0][0] == 4
    finally:
        destination.close()
