"""MariaDB: a row writes only the record whose id matches it exactly.

Ids that differ only in case or trailing spaces stay distinct rows, and a unique key
besides the id's (which ON DUPLICATE KEY UPDATE would match too) never lets a row
change another record: the row is rejected, with the key and the fix named.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pyarrow as pa
import pytest
from table_backends import MariaDBBackend

from engine_runs import QuietReporter
from syncline.connectors.destinations.base import (
    FieldSpec,
    SyncMode,
    WriteAction,
    WriteBatch,
    WriteContext,
)
from syncline.connectors.destinations.mysql import MySQLDestination
from syncline.connectors.destinations.mysql.keys import can_match_others, other_keys, unique_keys
from syncline.connectors.destinations.sql.statements import Statements
from syncline.connectors.registry import source_class
from syncline.engine.config import SyncConfiguration
from syncline.engine.report import RunStatus
from syncline.engine.run import RunJob, RunResult, execute_run
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


# -- unique keys besides the id's ------------------------------------------------------

TWO_KEYS = (
    "(id int PRIMARY KEY, code varchar(10) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin "
    "UNIQUE, v text)"
)
CODES = (FieldSpec("code", pa.string()), FieldSpec("id", pa.int64()), FieldSpec("v", pa.string()))


def _open_on_code(maria: MariaDBBackend, table: str, mode: SyncMode) -> MySQLDestination:
    destination = MySQLDestination.from_config(maria.config)
    destination.open(WriteContext(1, 1, table, mode, "code", CODES))
    return destination


def _coded(action: WriteAction, codes: list[str], ids: list[int]) -> WriteBatch:
    records = pa.table(
        {
            "code": pa.array(codes, pa.string()),
            "id": pa.array(ids, pa.int64()),
            "v": pa.array([f"v{i}" for i in ids], pa.string()),
        }
    )
    return WriteBatch(action, records, codes)


def _rows(maria: MariaDBBackend, table: str) -> list[tuple[object, ...]]:
    return [tuple(r) for r in maria.sql(f"SELECT id, code, v FROM {table} ORDER BY id")]


def test_upsert_colliding_on_another_unique_key_is_rejected_not_merged(
    maria: MariaDBBackend,
) -> None:
    table = f"t_{uuid.uuid4().hex[:10]}"
    maria.sql(f"CREATE TABLE {table} {TWO_KEYS}")
    maria.sql(f"INSERT INTO {table} VALUES (1, 'old1', 'x')")
    destination = _open_on_code(maria, table, SyncMode.MIRROR)
    try:
        result = destination.write_batch(_coded(WriteAction.UPSERT, ["k1", "k2", "k3"], [1, 2, 3]))
    finally:
        destination.close()

    assert [f.index for f in result.failures] == [0]
    reason = result.failures[0].reason
    assert "unique key PRIMARY (id)" in reason
    assert "'code'" in reason
    assert "next run" in reason
    assert _rows(maria, table) == [(1, "old1", "x"), (2, "k2", "v2"), (3, "k3", "v3")]


@pytest.mark.parametrize(
    ("mode", "action", "code"),
    [
        (SyncMode.MIRROR, WriteAction.UPSERT, "k2"),
        (SyncMode.UPDATE, WriteAction.UPDATE, "k2"),
        (SyncMode.INSERT, WriteAction.INSERT, "k3"),
    ],
)
def test_a_row_never_moves_onto_another_records_unique_value(
    maria: MariaDBBackend, mode: SyncMode, action: WriteAction, code: str
) -> None:
    table = f"t_{uuid.uuid4().hex[:10]}"
    maria.sql(f"CREATE TABLE {table} {TWO_KEYS}")
    maria.sql(f"INSERT INTO {table} VALUES (1, 'k1', 'x'), (2, 'k2', 'y')")
    destination = _open_on_code(maria, table, mode)
    try:
        # Record k2 (or a new k3) would take id 1, which record k1 holds.
        result = destination.write_batch(_coded(action, [code], [1]))
    finally:
        destination.close()

    assert [f.index for f in result.failures] == [0]
    assert "Duplicate entry '1' for key 'PRIMARY'" in result.failures[0].reason
    assert "unique key PRIMARY (id)" in result.failures[0].reason
    assert _rows(maria, table) == [(1, "k1", "x"), (2, "k2", "y")]


def test_upserts_take_one_statement_unless_another_key_could_match() -> None:
    keys = unique_keys([("PRIMARY", "row_id"), ("code", "code"), ("pair", "id"), ("pair", "v")])
    others = other_keys(keys, "code")
    assert sorted(others) == ["PRIMARY", "pair"]
    assert can_match_others(others, ["code", "id", "v"], generated={"row_id"})
    assert not can_match_others({"PRIMARY": keys["PRIMARY"]}, ["code", "v"], {"row_id"})
    assert can_match_others({"PRIMARY": keys["PRIMARY"]}, ["row_id", "code"], {"row_id"})

    one = Statements("mysql", "t", "s", ("code", "v"), "code")
    assert [sql.split()[0] for sql in one.apply(WriteAction.UPSERT)] == ["INSERT"]
    assert "ON DUPLICATE KEY UPDATE" in one.apply(WriteAction.UPSERT)[0]
    two = replace(one, other_unique_keys=True)
    assert [sql.split()[0] for sql in two.apply(WriteAction.UPSERT)] == ["UPDATE", "INSERT"]
    assert not any("ON DUPLICATE KEY" in sql for sql in two.apply(WriteAction.UPSERT))


def test_a_table_keyed_by_an_auto_increment_column_takes_upserts(maria: MariaDBBackend) -> None:
    table = f"t_{uuid.uuid4().hex[:10]}"
    maria.sql(
        f"CREATE TABLE {table} (row_id int AUTO_INCREMENT PRIMARY KEY, "
        "code varchar(10) COLLATE utf8mb4_nopad_bin UNIQUE, id int, v text)"
    )
    maria.sql(f"INSERT INTO {table} (code, id, v) VALUES ('k1', 1, 'x')")
    destination = _open_on_code(maria, table, SyncMode.UPSERT)
    try:
        result = destination.write_batch(_coded(WriteAction.UPSERT, ["k1", "k2"], [1, 2]))
    finally:
        destination.close()

    assert result.failures == []
    rows = maria.sql(f"SELECT row_id, code, v FROM {table} ORDER BY row_id")
    assert [tuple(r) for r in rows] == [(1, "k1", "v1"), (2, "k2", "v2")]


def _run_codes(
    maria: MariaDBBackend, table: str, snapshots: Path, run_id: int
) -> tuple[RunResult, dict[str, str]]:
    """Run a mirror sync of model rows k1..k3 (ids 1..3), keyed by code, into ``table``."""
    job = RunJob(
        sync_id=1,
        run_id=run_id,
        source=source_class("postgres").from_config(
            {"host": "127.0.0.1", "user": "postgres", "database": "postgres"}
        ),
        model_query="SELECT 'k' || g AS code, g AS id, 'v' || g AS v FROM generate_series(1, 3) g",
        primary_key="code",
        configuration=SyncConfiguration.parse({"mode": "mirror", "object": table}),
        destination=MySQLDestination.from_config(maria.config),
        snapshot_dir=snapshots,
    )
    reporter = QuietReporter()
    result = execute_run(job, reporter)
    return result, {row.key: row.reason for row in reporter.rejected_rows}


@pytest.mark.postgres
def test_a_sync_rejects_the_colliding_row_and_retries_it_next_run(
    maria: MariaDBBackend, tmp_path: Path
) -> None:
    table = f"t_{uuid.uuid4().hex[:10]}"
    maria.sql(f"CREATE TABLE {table} {TWO_KEYS}")
    maria.sql(f"INSERT INTO {table} VALUES (1, 'old1', 'x')")

    result, rejected = _run_codes(maria, table, tmp_path, 1)
    assert result.error is None
    assert result.status is RunStatus.WARNING
    assert (result.progress.successful.added, result.progress.failed.added) == (2, 1)
    assert sorted(rejected) == ["k1"]
    assert "unique key PRIMARY (id)" in rejected["k1"]
    assert _rows(maria, table) == [(1, "old1", "x"), (2, "k2", "v2"), (3, "k3", "v3")]

    # Still in the way: the next run sends the row again and rejects it again.
    result, rejected = _run_codes(maria, table, tmp_path, 2)
    assert result.progress.planned.added == 1
    assert sorted(rejected) == ["k1"]

    # Once the other record is gone, the next run writes the row.
    maria.sql(f"DELETE FROM {table} WHERE code = 'old1'")
    result, rejected = _run_codes(maria, table, tmp_path, 3)
    assert result.status is RunStatus.SUCCESS, (result.error, rejected)
    assert _rows(maria, table) == [(1, "k1", "v1"), (2, "k2", "v2"), (3, "k3", "v3")]
