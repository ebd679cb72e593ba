"""PostgreSQL first loads: COPY straight into an empty target, the staged way otherwise."""

from __future__ import annotations

import pyarrow as pa
import pytest
from table_backends import (
    Backend,
    OpenDestination,
    own_postgres_backend,  # noqa: F401 - the module's backend fixture
)

from syncline.connectors.destinations.base import SyncMode, WriteAction, WriteBatch
from syncline.connectors.destinations.postgres.client import PostgresDestination

pytestmark = pytest.mark.postgres

FIELDS = {"id": pa.int64(), "name": pa.string()}


def _upsert(ids: list[int], names: list[str | None]) -> WriteBatch:
    records = pa.table({"id": pa.array(ids, pa.int64()), "name": pa.array(names, pa.string())})
    return WriteBatch(WriteAction.UPSERT, records, [str(i) for i in ids])


def _rows(backend: Backend, table: str) -> list[tuple[object, ...]]:
    return backend.sql(f"SELECT id, name FROM {table} ORDER BY id")


def _staging_tables(destination: PostgresDestination) -> int:
    """Staging tables the destination's session made (the staged way makes one)."""
    rows = destination._execute(
        "SELECT count(*) FROM pg_class WHERE relnamespace = pg_my_temp_schema()"
    )
    return int(rows[0][0])


def test_an_empty_table_takes_upsert_batches_by_plain_copy(
    backend: Backend, table: str, open_destination: OpenDestination
) -> None:
    destination = open_destination(FIELDS, mode=SyncMode.MIRROR)
    assert isinstance(destination, PostgresDestination)

    first = destination.write_batch(_upsert([1, 2], ["one", "two"]))
    second = destination.write_batch(_upsert([3], [""]))

    assert first.failures == second.failures == []
    assert _rows(backend, table) == [(1, "one"), (2, "two"), (3, "")]
    assert _staging_tables(destination) == 0


def test_a_key_already_copied_is_upserted_the_staged_way(
    backend: Backend, table: str, open_destination: OpenDestination
) -> None:
    destination = open_destination(FIELDS, mode=SyncMode.MIRROR)
    destination.write_batch(_upsert([1, 2], ["one", "two"]))

    result = destination.write_batch(_upsert([2, 3], ["TWO", None]))

    assert result.failures == []
    assert _rows(backend, table) == [(1, "one"), (2, "TWO"), (3, None)]
    assert _staging_tables(destination) == 1


def test_a_batch_repeating_a_key_on_an_empty_table_keeps_its_last_row(
    backend: Backend, table: str, open_destination: OpenDestination
) -> None:
    destination = open_destination(FIELDS, mode=SyncMode.UPSERT)

    result = destination.write_batch(_upsert([5, 6, 5], ["old", "six", "new"]))

    assert result.failures == []
    assert _rows(backend, table) == [(5, "new"), (6, "six")]


def test_a_bad_row_on_an_empty_table_is_the_only_failure(
    backend: Backend, table: str, open_destination: OpenDestination
) -> None:
    backend.sql(f"CREATE TABLE {table} (id BIGINT PRIMARY KEY, name TEXT NOT NULL)")
    destination = open_destination(FIELDS, mode=SyncMode.MIRROR)

    result = destination.write_batch(_upsert([1, 2, 3], ["a", None, "c"]))

    assert [failure.index for failure in result.failures] == [1]
    assert _rows(backend, table) == [(1, "a"), (3, "c")]


def test_a_table_holding_rows_is_written_the_staged_way(
    backend: Backend, table: str, open_destination: OpenDestination
) -> None:
    backend.sql(f"CREATE TABLE {table} (id BIGINT PRIMARY KEY, name TEXT)")
    backend.sql(f"INSERT INTO {table} VALUES (1, 'one')")
    destination = open_destination(FIELDS, mode=SyncMode.MIRROR)

    result = destination.write_batch(_upsert([1, 2], ["ONE", "two"]))

    assert result.failures == []
    assert _rows(backend, table) == [(1, "ONE"), (2, "two")]
    assert _staging_tables(destination) == 1
