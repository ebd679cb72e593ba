"""Two-pass reads of a PostgreSQL model: keys and server row hashes, then changed rows.

An incremental run of the local planner reads each row's key and the hash PostgreSQL
computes over the compared columns, and reads whole only the rows whose hash does not
vouch for their snapshot entry. These tests hold it to the one-pass read's results:
every real change is sent (also those a type's own hash cannot see), representation
noise is not, failed rows are retried, and both passes see one snapshot.
"""

from __future__ import annotations

import csv
import logging
import re
from pathlib import Path
from typing import Any

import psycopg
import pyarrow as pa
import pytest
from sync_runs import sync_once

from engine_runs import QuietReporter, run_sync
from syncline.connectors.registry import destination_class
from syncline.connectors.sources.base import ROW_HASH_COLUMN
from syncline.connectors.sources.postgres import PostgresSource, two_pass
from syncline.connectors.sources.postgres.config import PostgresConfig
from syncline.connectors.sources.postgres.row_hash import row_hash_sql
from syncline.errors import ConnectorError

pytestmark = pytest.mark.postgres

TWO_PASS = re.compile(r"read (\d+) model rows in two passes, (\d+) of them whole")


def _sql(config: dict[str, Any], *statements: str) -> list[tuple[Any, ...]]:
    conninfo = PostgresConfig.model_validate(config).conninfo(read_only=False)
    rows: list[tuple[Any, ...]] = []
    with psycopg.connect(conninfo, autocommit=True) as conn:
        for statement in statements:
            cursor = conn.execute(statement)
            if cursor.description is not None:
                rows = cursor.fetchall()
    return rows


def _output(folder: Path) -> dict[str, dict[str, str]]:
    with (folder / "out" / "out.csv").open(newline="") as handle:
        return {row["id"]: row for row in csv.DictReader(handle)}


def _fetched(caplog: pytest.LogCaptureFixture) -> int | None:
    """Rows the last run read whole in its second pass; None if it read in one pass."""
    found = [TWO_PASS.search(record.getMessage()) for record in caplog.records]
    matches = [match for match in found if match is not None]
    caplog.clear()
    return int(matches[-1].group(2)) if matches else None


@pytest.fixture
def by_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """Let every keyed model count as fetchable by key, whatever its size: the server's
    estimate prefers one pass for the small tables these tests use (see
    :func:`test_the_servers_estimate_chooses_two_passes_for_a_large_keyed_table`)."""
    monkeypatch.setattr(two_pass, "PROBE_SHARE", float("inf"))


@pytest.fixture
def table(pg_config: dict[str, Any]) -> str:
    _sql(
        pg_config,
        "DROP TABLE IF EXISTS items",
        "CREATE TABLE items (id bigint PRIMARY KEY, name text, price numeric(10, 2), seen date)",
        "INSERT INTO items SELECT g, 'item ' || g, g * 1.25, DATE '2024-01-01' + g "
        "FROM generate_series(1, 2000) AS g",
    )
    return "SELECT * FROM items"


def test_an_incremental_run_reads_only_the_changed_rows_whole(
    pg_config: dict[str, Any],
    table: str,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    by_key: None,
) -> None:
    caplog.set_level(logging.INFO, logger="syncline.engine.planner.local")
    source = PostgresSource.from_config(pg_config)
    first = sync_once(source, table, tmp_path)
    assert first.progress.planned.added == 2000
    # A first run sends every row: one pass, which keeps the server's hashes.
    assert _fetched(caplog) is None

    _sql(
        pg_config,
        "UPDATE items SET name = name || '!' WHERE id <= 10",
        "DELETE FROM items WHERE id BETWEEN 11 AND 15",
        "INSERT INTO items VALUES (3001, 'new', 1, NULL), (3002, 'new', NULL, '2025-01-01')",
    )
    second = sync_once(source, table, tmp_path)

    # An upsert sends the added and changed rows; a removed row stays in the file.
    planned = second.progress.planned
    assert (planned.added, planned.changed, planned.removed) == (2, 10, 0)
    assert _fetched(caplog) == 12
    model = dict(_sql(pg_config, "SELECT id::text, name FROM items"))
    output = _output(tmp_path)
    assert {key: output[key]["name"] for key in model} == model

    third = sync_once(source, table, tmp_path)
    assert third.progress.planned.total == 0
    assert _fetched(caplog) == 0


CHANGES = [
    # column, type, old value, new value, whether the new value is a change
    ("big", "bigint", "1", "4294967296", True),
    ("big2", "bigint", "-1", "-4294967296", True),
    ("small", "smallint", "1", "2", True),
    ("padded", "bpchar", "'a'", "'a  '", True),
    ("fixed", "char(3)", "'a'", "'b'", True),
    ("word", "text", "'x'", "''", True),
    ("word2", "text", "NULL", "''", True),
    ("word3", "text", "'Same'", "'same'", True),
    ("label", "varchar(10)", "'v'", "NULL", True),
    ("amount", "numeric", "1.5", "1.50", False),
    ("amount2", "numeric", "1.5", "1.51", True),
    ("ratio", "float8", "0.0", "-0.0", False),
    ("ratio2", "float8", "0.1", "0.30000000000000004", True),
    ("ratio3", "real", "1.5", "'NaN'", True),
    ("day", "date", "'infinity'", "'-infinity'", True),
    ("day2", "date", "'2024-02-29'", "'2024-03-01'", True),
    ("moment", "timestamp", "'2024-01-01 00:00:00'", "'2024-01-01 00:00:00.000001'", True),
    ("moment2", "timestamptz", "'2024-01-01 00:00:00+00'", "'2024-01-01 01:00:00+01'", False),
    ("moment3", "timestamptz", "'infinity'", "'2024-01-01 00:00:00+00'", True),
    ("flag", "boolean", "true", "false", True),
    ("token", "uuid", "'00000000-0000-0000-0000-000000000001'", "NULL", True),
    ("doc", "jsonb", """'{"a": 1}'""", """'{"a": 1, "b": null}'""", True),
    ("doc2", "json", """'{"a": 1, "b": 2}'""", """'{"b": 2, "a": 1}'""", False),
    ("span", "interval", "'1 month'", "'30 days'", True),
    ("blob", "bytea", "'\\x00'", "'\\x0000'", True),
    ("clock", "time", "'12:00'", "'12:00:00.000001'", True),
    ("addr", "inet", "'10.0.0.1'", "'10.0.0.1/24'", True),
]


def test_every_change_a_type_can_make_is_seen_and_noise_is_not(
    pg_config: dict[str, Any], tmp_path: Path, caplog: pytest.LogCaptureFixture, by_key: None
) -> None:
    caplog.set_level(logging.INFO, logger="syncline.engine.planner.local")
    columns = ", ".join(f"{name} {kind}" for name, kind, *_ in CHANGES)
    olds = ", ".join(f"{old}::{kind}" for _, kind, old, *_ in CHANGES)
    _sql(
        pg_config,
        "DROP TABLE IF EXISTS kinds",
        f"CREATE TABLE kinds (id int PRIMARY KEY, {columns})",
        # One row per change, every row starting from the old values.
        f"INSERT INTO kinds SELECT g, {olds} FROM generate_series(1, {len(CHANGES)}) AS g",
    )
    source = PostgresSource.from_config(pg_config)
    query = "SELECT * FROM kinds"
    sync_once(source, query, tmp_path)
    _fetched(caplog)

    for row, (name, kind, _, new, _) in enumerate(CHANGES, start=1):
        _sql(pg_config, f"UPDATE kinds SET {name} = {new}::{kind} WHERE id = {row}")
    second = sync_once(source, query, tmp_path)

    assert second.progress.planned.changed == sum(1 for change in CHANGES if change[4])
    assert _fetched(caplog) is not None
    # The file the two runs left equals what one run of the changed model writes, but for
    # the rows whose change was noise alone, which were not sent again.
    one_pass = PostgresSource.from_config({**pg_config, "twoPassReads": False})
    sync_once(one_pass, query, tmp_path / "fresh")
    kept, fresh = _output(tmp_path), _output(tmp_path / "fresh")
    for row, (name, _, _, _, is_change) in enumerate(CHANGES, start=1):
        if is_change:
            assert kept[str(row)] == fresh[str(row)], name


def test_row_hash_tells_apart_what_a_type_hash_folds_together(
    pg_config: dict[str, Any],
) -> None:
    def hashes(kind: str, *values: str) -> list[int]:
        expression = row_hash_sql([("v", kind)], "signature")
        rows = _sql(
            pg_config,
            f"SELECT {expression} FROM (VALUES {', '.join(f'({v})' for v in values)}) AS t(v)",
        )
        return [row[0] for row in rows]

    assert len(set(hashes("int8", "1::int8", "4294967296::int8", "NULL::int8"))) == 3
    assert len(set(hashes("bpchar", "'a'::bpchar", "'a  '::bpchar"))) == 2
    assert len(set(hashes("numeric", "1.5::numeric", "1.50::numeric"))) == 1
    assert len(set(hashes("text", "''::text", "NULL::text", "'x'::text"))) == 3

    # Two columns swapping values is a change.
    pair = row_hash_sql([("a", "int4"), ("b", "int4")], "signature")
    swapped = _sql(pg_config, f"SELECT {pair} FROM (VALUES (1, 2), (2, 1)) AS t(a, b)")
    assert swapped[0][0] != swapped[1][0]


def test_both_passes_see_the_rows_of_one_moment(pg_config: dict[str, Any], table: str) -> None:
    reader = PostgresSource.from_config(pg_config).two_pass(table)
    assert reader is not None
    try:
        row_hash = reader.row_hash(["name", "price", "seen"], "signature")
        keys = pa.concat_arrays([batch.column(0) for batch in reader.read_keys("id", row_hash)])
        assert len(keys) == 2000

        # Another session changes a row and commits between the passes.
        _sql(pg_config, "UPDATE items SET name = 'changed' WHERE id = 7")
        fetched = pa.Table.from_batches(
            list(reader.read_rows("id", pa.array([7], pa.int64()), row_hash))
        )
    finally:
        reader.close()

    assert fetched.column("name").to_pylist() == ["item 7"]
    assert ROW_HASH_COLUMN in fetched.schema.names


def test_the_servers_estimate_chooses_two_passes_for_a_large_keyed_table(
    pg_config: dict[str, Any], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="syncline.engine.planner.local")
    _sql(
        pg_config,
        "DROP TABLE IF EXISTS large",
        "CREATE TABLE large AS SELECT g AS id, 'row ' || g AS name "
        "FROM generate_series(1, 100000) AS g",
        "ALTER TABLE large ADD PRIMARY KEY (id)",
        "ANALYZE large",
    )
    source = PostgresSource.from_config(pg_config)
    sync_once(source, "SELECT * FROM large", tmp_path)
    _sql(pg_config, "UPDATE large SET name = 'changed' WHERE id IN (5, 50000)")

    second = sync_once(source, "SELECT * FROM large", tmp_path)

    assert second.progress.planned.changed == 2
    assert _fetched(caplog) == 2


def test_a_model_rows_cannot_be_found_by_key_in_is_read_in_one_pass(
    pg_config: dict[str, Any], table: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="syncline")
    # Grouped by an expression no index holds: finding a group by key runs the query whole.
    query = "SELECT id % 100 AS id, count(*) AS items FROM items GROUP BY 1"
    source = PostgresSource.from_config(pg_config)
    sync_once(source, query, tmp_path)
    _sql(pg_config, "DELETE FROM items WHERE id = 1")

    second = sync_once(source, query, tmp_path)

    assert second.progress.planned.changed == 1
    assert any("read in one pass" in record.getMessage() for record in caplog.records)
    assert _fetched(caplog) is None


def test_a_model_that_returns_other_rows_each_time_fails_the_run_clearly(
    pg_config: dict[str, Any], table: str, tmp_path: Path, by_key: None
) -> None:
    query = "SELECT * FROM items WHERE random() < 0.5"
    source = PostgresSource.from_config(pg_config)
    sync_once(source, table, tmp_path)
    # Every row changed: the second pass asks for all of them by key.
    _sql(pg_config, "UPDATE items SET name = name || '?'")

    result = sync_once(source, query, tmp_path)

    assert result.code == "MODEL_NOT_REPEATABLE"
    assert "twoPassReads" in (result.error or "")

    one_pass = PostgresSource.from_config({**pg_config, "twoPassReads": False})
    assert one_pass.two_pass(query) is None
    assert sync_once(one_pass, query, tmp_path).error is None


def test_a_model_failing_part_way_through_the_first_pass_reports_the_servers_error(
    pg_config: dict[str, Any], tmp_path: Path, by_key: None
) -> None:
    _sql(
        pg_config,
        "DROP TABLE IF EXISTS many",
        "CREATE TABLE many (id bigint PRIMARY KEY, n integer)",
        "INSERT INTO many SELECT g, g FROM generate_series(1, 300000) AS g",
    )
    source = PostgresSource.from_config(pg_config)
    assert sync_once(source, "SELECT * FROM many", tmp_path).error is None
    # A row near the end of the table: the key pass fails after batches of it arrived.
    failing = "SELECT id, CASE WHEN id = 299000 THEN n / 0 ELSE n END AS n FROM many"

    result = sync_once(source, failing, tmp_path)

    assert result.code != "INTERNAL", result.error
    assert "division by zero" in (result.error or "")
    assert "rollback" not in (result.error or "")
    assert "Traceback" not in (result.error or "")


def test_a_key_the_model_repeats_is_reported_as_such(
    pg_config: dict[str, Any], table: str, tmp_path: Path, by_key: None
) -> None:
    source = PostgresSource.from_config(pg_config)
    sync_once(source, table, tmp_path)
    _sql(pg_config, "UPDATE items SET name = 'changed' WHERE id IN (3, 4)")
    repeated = f"{table} UNION ALL SELECT * FROM items WHERE id IN (3, 5)"

    result = sync_once(source, repeated, tmp_path)

    assert result.code == "NON_UNIQUE_PRIMARY_KEY", result.error
    assert "'3' (2 rows)" in (result.error or "")


def test_a_key_repeated_beside_an_unchanged_row_is_reported_as_repeated(
    pg_config: dict[str, Any], tmp_path: Path, by_key: None
) -> None:
    # One row of the key is vouched for by its hash and left out of the second pass; the
    # other, new, is fetched by key, which brings both back.
    _sql(
        pg_config,
        "DROP TABLE IF EXISTS loose",
        "CREATE TABLE loose (id int, v text)",
        "CREATE INDEX ON loose (id)",
        "INSERT INTO loose SELECT g, 'v' || g FROM generate_series(1, 500) AS g",
    )
    source = PostgresSource.from_config(pg_config)
    sync_once(source, "SELECT * FROM loose", tmp_path)
    _sql(pg_config, "INSERT INTO loose VALUES (5, 'a second row for key 5')")

    result = sync_once(source, "SELECT * FROM loose", tmp_path)

    assert result.code == "NON_UNIQUE_PRIMARY_KEY", result.error
    assert "'5' (2 rows)" in (result.error or "")


def test_a_row_the_destination_refused_is_read_again_and_sent(
    pg_config: dict[str, Any], table: str, tmp_path: Path, by_key: None
) -> None:
    _sql(
        pg_config,
        "CREATE SCHEMA IF NOT EXISTS target",
        "CREATE TABLE target.frozen (id bigint)",
        "INSERT INTO target.frozen VALUES (2)",
        "CREATE TABLE target.items (id bigint PRIMARY KEY, name text, price numeric(10, 2), "
        "seen date)",
        "CREATE FUNCTION target.refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "IF EXISTS (SELECT 1 FROM target.frozen f WHERE f.id = NEW.id) THEN "
        "RAISE EXCEPTION 'frozen'; END IF; RETURN NEW; END $$",
        "CREATE TRIGGER refuse BEFORE INSERT OR UPDATE ON target.items "
        "FOR EACH ROW EXECUTE FUNCTION target.refuse()",
    )
    destination_config = {**pg_config, "schema": "target"}

    def run(run_id: int) -> Any:
        return run_sync(
            PostgresSource.from_config(pg_config),
            table,
            {"mode": "upsert", "object": "items"},
            destination_class("postgres").from_config(destination_config),
            tmp_path / "snapshots",
            run_id=run_id,
            reporter=QuietReporter(),
        )

    assert run(1).progress.failed.added == 1
    _sql(pg_config, "DELETE FROM target.frozen")

    second = run(2)

    assert second.progress.successful.added == 1
    assert _sql(pg_config, "SELECT name FROM target.items WHERE id = 2") == [("item 2",)]


def test_prefilters_made_by_duckdb_give_way_to_the_servers(
    pg_config: dict[str, Any],
    table: str,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    by_key: None,
) -> None:
    caplog.set_level(logging.INFO, logger="syncline.engine.planner.local")
    sync_once(PostgresSource.from_config({**pg_config, "twoPassReads": False}), table, tmp_path)
    source = PostgresSource.from_config(pg_config)

    # The snapshot's prefilters are DuckDB's: no row is vouched for, so every row is read
    # whole once (none changed), and the server's hashes are kept for the next run.
    assert sync_once(source, table, tmp_path).progress.planned.total == 0
    assert _fetched(caplog) == 2000

    assert sync_once(source, table, tmp_path).progress.planned.total == 0
    assert _fetched(caplog) == 0


def test_the_first_pass_leaves_the_sessions_settings_as_they_were(
    pg_config: dict[str, Any],
) -> None:
    query = "SELECT 1 AS id, current_setting('parallel_tuple_cost') AS cost"
    reader = PostgresSource.from_config(pg_config).two_pass(query)
    assert reader is not None
    try:
        usual = pa.Table.from_batches(list(reader.read())).column("cost").to_pylist()
        list(reader.read_keys("id", reader.row_hash(["cost"], "signature")))
        after = pa.Table.from_batches(list(reader.read())).column("cost").to_pylist()
    finally:
        reader.close()

    assert after == usual


def test_a_refused_login_names_no_password(pg_config: dict[str, Any]) -> None:
    # The server names the role it refused, here spelt like the password.
    config = {**pg_config, "user": "s3cret-word", "password": "s3cret-word"}
    source = PostgresSource.from_config(config)

    with pytest.raises(ConnectorError) as caught:
        source.two_pass("SELECT 1 AS id")

    assert "s3cret-word" not in str(caught.value)
