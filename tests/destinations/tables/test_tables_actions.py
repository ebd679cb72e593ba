"""Conformance: each write action's semantics, rejected rows, and replays."""

from __future__ import annotations

import pyarrow as pa
import pytest
from table_backends import Backend, OpenDestination

from syncline.connectors.destinations.base import SyncMode, WriteAction, WriteBatch

FIELDS = {"id": pa.int64(), "name": pa.string(), "score": pa.int32()}


def _batch(action: WriteAction, ids: list[int], names: list[str | None] | None = None):
    columns: dict[str, pa.Array] = {"id": pa.array(ids, pa.int64())}
    if names is not None:
        columns["name"] = pa.array(names, pa.string())
        columns["score"] = pa.array([i * 10 for i in ids], pa.int32())
    return WriteBatch(action, pa.table(columns), [str(i) for i in ids])


def _rows(backend: Backend, table: str) -> list[tuple[object, ...]]:
    return backend.sql(f"SELECT id, name, score FROM {table} ORDER BY id, score")


@pytest.fixture
def seeded(backend: Backend, table: str) -> str:
    """``table`` with rows 1 and 2, a primary key on id and a NOT NULL name."""
    backend.sql(
        f"CREATE TABLE {table} (id BIGINT PRIMARY KEY, name VARCHAR(100) NOT NULL, score INTEGER)"
    )
    backend.sql(f"INSERT INTO {table} (id, name, score) VALUES (1, 'one', 1), (2, 'two', 2)")
    return table


def test_upsert_inserts_new_rows_and_replaces_existing_ones(
    backend: Backend, seeded: str, open_destination: OpenDestination
) -> None:
    destination = open_destination(FIELDS)

    result = destination.write_batch(_batch(WriteAction.UPSERT, [2, 3], ["TWO", "three"]))

    assert result.failures == []
    assert _rows(backend, seeded) == [(1, "one", 1), (2, "TWO", 20), (3, "three", 30)]


def test_update_changes_existing_rows_and_rejects_ids_it_cannot_find(
    backend: Backend, seeded: str, open_destination: OpenDestination
) -> None:
    destination = open_destination(FIELDS, mode=SyncMode.UPDATE)

    result = destination.write_batch(_batch(WriteAction.UPDATE, [9, 1], ["nine", "ONE"]))

    assert [(f.index, f.retryable) for f in result.failures] == [(0, False)]
    assert "no record with id 9" in result.failures[0].reason
    assert _rows(backend, seeded) == [(1, "ONE", 10), (2, "two", 2)]


def test_update_of_only_some_fields_leaves_the_others(
    backend: Backend, seeded: str, open_destination: OpenDestination
) -> None:
    destination = open_destination(FIELDS, mode=SyncMode.UPDATE)
    records = pa.table({"id": pa.array([2], pa.int64()), "score": pa.array([None], pa.int32())})

    result = destination.write_batch(WriteBatch(WriteAction.UPDATE, records, ["2"]))

    assert result.failures == []
    assert _rows(backend, seeded) == [(1, "one", 1), (2, "two", None)]


def test_insert_adds_new_rows_and_rejects_ids_that_exist(
    backend: Backend, seeded: str, open_destination: OpenDestination
) -> None:
    destination = open_destination(FIELDS, mode=SyncMode.INSERT)

    result = destination.write_batch(_batch(WriteAction.INSERT, [3, 1, 4], ["c", "x", "d"]))

    assert [f.index for f in result.failures] == [1]
    assert "already exists" in result.failures[0].reason
    assert _rows(backend, seeded) == [(1, "one", 1), (2, "two", 2), (3, "c", 30), (4, "d", 40)]


def test_append_adds_rows_without_matching_ids(
    backend: Backend, table: str, open_destination: OpenDestination
) -> None:
    backend.sql(f"CREATE TABLE {table} (id BIGINT, name VARCHAR(100), score INTEGER)")
    backend.sql(f"INSERT INTO {table} (id, name, score) VALUES (1, 'one', 1)")
    destination = open_destination(FIELDS, mode=SyncMode.APPEND)

    result = destination.write_batch(_batch(WriteAction.APPEND, [1, 2], ["again", "b"]))

    assert result.failures == []
    assert _rows(backend, table) == [(1, "one", 1), (1, "again", 10), (2, "b", 20)]


def test_delete_removes_rows_and_counts_absent_ids_as_success(
    backend: Backend, seeded: str, open_destination: OpenDestination
) -> None:
    destination = open_destination(FIELDS, mode=SyncMode.MIRROR)

    result = destination.write_batch(_batch(WriteAction.DELETE, [2, 77]))

    assert result.failures == []
    assert _rows(backend, seeded) == [(1, "one", 1)]


def test_replaying_an_upsert_or_delete_batch_changes_nothing_more(
    backend: Backend, seeded: str, open_destination: OpenDestination
) -> None:
    destination = open_destination(FIELDS, mode=SyncMode.MIRROR)
    upsert = _batch(WriteAction.UPSERT, [2, 3], ["TWO", "three"])
    delete = _batch(WriteAction.DELETE, [1, 50])

    for _ in range(2):
        assert destination.write_batch(upsert).failures == []
        assert destination.write_batch(delete).failures == []
        assert _rows(backend, seeded) == [(2, "TWO", 20), (3, "three", 30)]


def test_two_bad_rows_among_a_thousand_are_the_only_failures(
    backend: Backend, seeded: str, open_destination: OpenDestination
) -> None:
    destination = open_destination(FIELDS)
    ids = list(range(100, 1100))
    names: list[str | None] = [f"n{i}" for i in ids]
    names[137] = None
    names[802] = None

    result = destination.write_batch(_batch(WriteAction.UPSERT, ids, names))

    assert [(f.index, f.retryable) for f in result.failures] == [(137, False), (802, False)]
    assert all("name" in f.reason.lower() for f in result.failures)
    written = backend.sql(f"SELECT id FROM {seeded} WHERE id >= 100 ORDER BY id")
    assert [row[0] for row in written] == [i for n, i in enumerate(ids) if n not in (137, 802)]


# SQLite and DuckDB do not enforce VARCHAR lengths, so only the servers can refuse a value.
@pytest.mark.parametrize(
    "backend",
    [
        pytest.param("postgres", marks=pytest.mark.postgres),
        pytest.param("mysql", marks=pytest.mark.mariadb),
    ],
    indirect=True,
)
def test_a_value_too_long_is_a_rejected_row_not_a_truncated_one(
    backend: Backend, table: str, open_destination: OpenDestination
) -> None:
    backend.sql(f"CREATE TABLE {table} (id BIGINT PRIMARY KEY, name VARCHAR(3), score INTEGER)")
    destination = open_destination(FIELDS)

    result = destination.write_batch(_batch(WriteAction.UPSERT, [1, 2, 3], ["abc", "abcd", ""]))

    assert [f.index for f in result.failures] == [1]
    assert _rows(backend, table) == [(1, "abc", 10), (3, "", 30)]


def test_an_upsert_batch_repeating_an_id_keeps_the_last_row(
    backend: Backend, seeded: str, open_destination: OpenDestination
) -> None:
    destination = open_destination(FIELDS)
    records = pa.table(
        {
            "id": pa.array([5, 6, 5], pa.int64()),
            "name": ["first", "six", "last"],
            "score": pa.array([1, 6, 2], pa.int32()),
        }
    )

    result = destination.write_batch(WriteBatch(WriteAction.UPSERT, records, ["5", "6", "5"]))

    assert result.failures == []
    assert _rows(backend, seeded)[2:] == [(5, "last", 2), (6, "six", 6)]


def test_an_update_batch_repeating_an_id_applies_the_last_row(
    backend: Backend, seeded: str, open_destination: OpenDestination
) -> None:
    destination = open_destination(FIELDS, mode=SyncMode.UPDATE)
    records = pa.table(
        {
            "id": pa.array([1, 2, 1], pa.int64()),
            "name": ["first", "TWO", "last"],
            "score": pa.array([1, 22, 3], pa.int32()),
        }
    )

    result = destination.write_batch(WriteBatch(WriteAction.UPDATE, records, ["1", "2", "1"]))

    assert result.failures == []
    assert _rows(backend, seeded) == [(1, "last", 3), (2, "TWO", 22)]
