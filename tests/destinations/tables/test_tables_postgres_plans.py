"""PostgreSQL batches find their rows through the table's key, never by reading the table.

A batch is a few thousand rows of a table that may hold hundreds of millions: deleting,
updating or matching it must cost in proportion to the batch. The server's planner, given
an analysed table and a staged batch, may prefer to hash the batch and scan the whole
table, which makes every batch as slow as a full read.
"""

from __future__ import annotations

import time

import pyarrow as pa
import pytest
from table_backends import (
    Backend,
    PostgresBackend,
    own_postgres_backend,  # noqa: F401 - the module's backend fixture
)

from syncline.connectors.destinations.base import (
    FieldSpec,
    SyncMode,
    WriteAction,
    WriteBatch,
    WriteContext,
)
from syncline.connectors.registry import destination_class

pytestmark = pytest.mark.postgres

TABLE_ROWS = 200_000
BATCH_ROWS = 20_000


def _table_read(backend: PostgresBackend, table: str) -> int:
    """Rows of ``table`` read by sequential scans, once the writers' sessions have ended
    (a session's statistics reach the server's views when it ends)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        open_sessions = backend.sql(
            "SELECT count(*) FROM pg_stat_activity "
            f"WHERE datname = '{backend.database}' AND pid <> pg_backend_pid()"
        )[0][0]
        if open_sessions == 0:
            break
        time.sleep(0.05)
    backend.sql("SELECT pg_stat_clear_snapshot()")
    rows = backend.sql(
        f"SELECT coalesce(seq_tup_read, 0) FROM pg_stat_user_tables WHERE relname = '{table}'"
    )
    return int(rows[0][0])


def _filled_table(backend: PostgresBackend, name: str) -> None:
    backend.sql(f"CREATE TABLE {name} (id bigint PRIMARY KEY, name text)")
    backend.sql(f"INSERT INTO {name} SELECT i, 'row ' || i FROM generate_series(1, {TABLE_ROWS}) i")
    backend.sql(f"ANALYZE {name}")


def _write(
    backend: Backend,
    table: str,
    action: WriteAction,
    mode: SyncMode,
    *,
    table_rows: int = TABLE_ROWS,
) -> None:
    destination = destination_class("postgres").from_config(backend.config)
    fields = {"id": pa.int64(), "name": pa.string()}
    context = WriteContext(
        sync_id=1,
        run_id=1,
        object=table,
        mode=mode,
        id_field="id",
        fields=tuple(FieldSpec(name, kind) for name, kind in fields.items()),
    )
    # Rows spread over the whole table; an insert's ids are new ones.
    first = table_rows + 1 if action is WriteAction.INSERT else 1
    ids = list(range(first, first + table_rows, 10))
    columns: dict[str, pa.Array] = {"id": pa.array(ids, pa.int64())}
    if action is not WriteAction.DELETE:
        columns["name"] = pa.array([f"new {i}" for i in ids], pa.string())
    destination.open(context)
    try:
        result = destination.write_batch(
            WriteBatch(action, pa.table(columns), [str(i) for i in ids])
        )
    finally:
        destination.close()
    assert result.failures == []


@pytest.mark.parametrize(
    ("action", "mode"),
    [
        (WriteAction.DELETE, SyncMode.MIRROR),
        (WriteAction.UPDATE, SyncMode.UPDATE),
        (WriteAction.INSERT, SyncMode.INSERT),
        (WriteAction.UPSERT, SyncMode.UPSERT),
    ],
    ids=["delete", "update", "insert", "upsert"],
)
def test_a_batch_is_matched_through_the_key_not_by_reading_the_table(
    backend: PostgresBackend, action: WriteAction, mode: SyncMode
) -> None:
    table = f"plans_{action.value}"
    _filled_table(backend, table)
    before = _table_read(backend, table)

    _write(backend, table, action, mode)

    # Opening the destination peeks at one row to see whether the table is empty.
    read = _table_read(backend, table) - before
    assert read < BATCH_ROWS, f"a batch of {BATCH_ROWS} rows read {read} rows of the table"
    changed = {WriteAction.DELETE: -BATCH_ROWS, WriteAction.INSERT: BATCH_ROWS}.get(action, 0)
    expected = TABLE_ROWS + changed
    assert backend.sql(f"SELECT count(*) FROM {table}")[0][0] == expected


SMALL_TABLE_ROWS = 20_000


@pytest.mark.parametrize(
    ("action", "mode"),
    [(WriteAction.UPDATE, SyncMode.UPDATE), (WriteAction.INSERT, SyncMode.INSERT)],
    ids=["update", "insert"],
)
def test_a_table_without_an_id_index_is_read_once_per_batch_not_once_per_row(
    backend: PostgresBackend, action: WriteAction, mode: SyncMode
) -> None:
    # Update and insert modes need no unique id. Without an index, looking rows up one by
    # one would read the table once for each row of the batch.
    table = f"no_index_{action.value}"
    backend.sql(f"CREATE TABLE {table} (id bigint, name text)")
    backend.sql(
        f"INSERT INTO {table} SELECT i, 'row ' || i FROM generate_series(1, {SMALL_TABLE_ROWS}) i"
    )
    backend.sql(f"ANALYZE {table}")
    before = _table_read(backend, table)

    _write(backend, table, action, mode, table_rows=SMALL_TABLE_ROWS)

    read = _table_read(backend, table) - before
    assert read <= 4 * SMALL_TABLE_ROWS, (
        f"a batch read {read} rows of a {SMALL_TABLE_ROWS}-row table"
    )
