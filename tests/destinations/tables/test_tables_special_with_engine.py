"""End to end from PostgreSQL: special values and look-alike keys through the engine."""

from __future__ import annotations

import decimal
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from table_backends import POSTGRES_ADMIN, Backend

from engine_runs import QuietReporter, run_sync
from syncline.connectors.registry import destination_class, source_class
from syncline.engine.report import RunStatus
from syncline.engine.run import RunResult

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def model_db() -> Iterator[str]:
    """A PostgreSQL database of its own holding the models' tables."""
    name = f"syncline_model_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield name
    finally:
        with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _sql(database: str, *statements: str) -> None:
    conninfo = f"host=127.0.0.1 port=5432 user=postgres dbname={database}"
    with psycopg.connect(conninfo, autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)


def _run(
    backend: Backend, database: str, query: str, table: str, snapshots: Path, run_id: int
) -> tuple[RunResult, QuietReporter]:
    sync = {
        "mode": "mirror",
        "object": table,
        "createObject": True,
        "guards": {"maxRemovedShare": 1},
    }
    reporter = QuietReporter()
    result = run_sync(
        source_class("postgres").from_config(
            {"host": "127.0.0.1", "user": "postgres", "database": database}
        ),
        query,
        sync,
        destination_class(backend.kind).from_config(backend.config),
        snapshots,
        run_id=run_id,
        reporter=reporter,
    )
    return result, reporter


def test_keys_differing_in_case_and_trailing_space_stay_distinct(
    backend: Backend, model_db: str, table: str, tmp_path: Path
) -> None:
    source = f"keys_{table}"
    _sql(
        model_db,
        f"CREATE TABLE {source} (id text PRIMARY KEY, n int)",
        f"INSERT INTO {source} VALUES ('abc', 1), ('ABC', 2), ('abc ', 3), ('xyz', 4)",
    )
    query = f"SELECT id, n FROM {source}"

    result, _ = _run(backend, model_db, query, table, tmp_path, 1)
    assert result.status is RunStatus.SUCCESS, result.error
    assert result.progress.successful.added == 4
    rows = backend.sql(f"SELECT id FROM {table} ORDER BY n")
    assert [r[0] for r in rows] == ["abc", "ABC", "abc ", "xyz"]

    _sql(model_db, f"DELETE FROM {source} WHERE id = 'ABC'")
    result, _ = _run(backend, model_db, query, table, tmp_path, 2)
    assert result.status is RunStatus.SUCCESS, result.error
    rows = backend.sql(f"SELECT id FROM {table} ORDER BY n")
    assert [r[0] for r in rows] == ["abc", "abc ", "xyz"]


def test_special_values_never_fail_the_run_and_numeric_noise_is_no_change(
    backend: Backend, model_db: str, table: str, tmp_path: Path
) -> None:
    source = f"special_{table}"
    _sql(
        model_db,
        f"CREATE TABLE {source} (id int PRIMARY KEY, until timestamptz, day date, "
        "amount numeric, lapse interval)",
        f"INSERT INTO {source} VALUES "
        "(1, 'infinity', '2024-01-01', 10.50, '1 mon 2 days 03:00:00'), "
        "(2, '2024-01-01 00:00:00+00', '-infinity', 0.00, NULL), "
        "(3, '2024-01-01 00:00:00+00', '2024-01-01', 7, '-1 year')",
    )
    query = f"SELECT id, until, day, amount, lapse FROM {source}"

    result, reporter = _run(backend, model_db, query, table, tmp_path, 1)

    assert result.error is None
    keeps_infinity = backend.kind in ("postgres", "duckdb")
    rejected = {row.key: row.reason for row in reporter.rejected_rows}
    if keeps_infinity:
        assert result.status is RunStatus.SUCCESS
        assert rejected == {}
    else:
        assert sorted(rejected) == ["1", "2"]
        assert "'until' holds infinity" in rejected["1"]
        assert "'day' holds -infinity" in rejected["2"]
        payloads = {row.key: row.payload or "" for row in reporter.rejected_rows}
        assert '"until": "infinity"' in payloads["1"]
    assert backend.sql(f"SELECT count(*) FROM {table} WHERE id = 3")[0][0] == 1

    # The same numbers spelled differently are no change.
    _sql(model_db, f"UPDATE {source} SET amount = amount * 1.000")
    result, reporter = _run(backend, model_db, query, table, tmp_path, 2)
    assert result.error is None
    assert result.progress.planned.changed == 0


def test_dates_before_the_common_era_are_stored_exactly_or_rejected_with_a_reason(
    backend: Backend, model_db: str, table: str, tmp_path: Path
) -> None:
    source = f"bc_{table}"
    _sql(
        model_db,
        f"CREATE TABLE {source} (id int PRIMARY KEY, d date, t timestamp, tz timestamptz)",
        f"INSERT INTO {source} VALUES "
        "(1, '2024-01-01', '2024-01-01 10:00', '2024-01-01 10:00+00'), "
        "(2, '0100-01-01 BC', '0100-01-01 12:30:00.5 BC', '0001-12-31 23:59:59 BC'), "
        "(3, '4713-01-01 BC', '4713-01-01 00:00:00 BC', '4713-01-01 00:00:00+00 BC')",
    )
    query = f"SELECT id, d, t, tz FROM {source}"

    result, reporter = _run(backend, model_db, query, table, tmp_path, 1)

    assert result.error is None
    rejected = {row.key: row.reason for row in reporter.rejected_rows}
    if backend.kind in ("mysql", "sqlite"):
        assert sorted(rejected) == ["2", "3"]
        assert all("outside the years 1-9999" in reason for reason in rejected.values())
        return
    assert result.status is RunStatus.SUCCESS, rejected
    if backend.kind == "postgres":
        rows = backend.sql(f"SELECT id, d::text, t::text, tz::text FROM {table} ORDER BY id")
        assert rows[1:] == [
            (2, "0100-01-01 BC", "0100-01-01 12:30:00.5 BC", "0001-12-31 23:59:59+00 BC"),
            (3, "4713-01-01 BC", "4713-01-01 00:00:00 BC", "4713-01-01 00:00:00+00 BC"),
        ]
    else:
        assert backend.sql(f"SELECT count(*) FROM {table} WHERE year(d) < 0") == [(2,)]

    # Stored as they came, so the next run finds nothing to change.
    result, reporter = _run(backend, model_db, query, table, tmp_path, 2)
    assert result.status is RunStatus.SUCCESS
    assert result.progress.planned.changed == 0


def test_a_value_with_more_digits_than_the_column_holds_is_rejected_and_retried(
    backend: Backend, model_db: str, table: str, tmp_path: Path
) -> None:
    source = f"wide_{table}"
    _sql(
        model_db,
        f"CREATE TABLE {source} (id int PRIMARY KEY, amt numeric(10,2))",
        f"INSERT INTO {source} VALUES (1, 1.50), (2, 7.25)",
    )
    query = f"SELECT id, amt FROM {source}"
    result, _ = _run(backend, model_db, query, table, tmp_path, 1)
    assert result.status is RunStatus.SUCCESS, result.error

    _sql(
        model_db,
        f"ALTER TABLE {source} ALTER COLUMN amt TYPE numeric(10,4)",
        f"UPDATE {source} SET amt = 1.2345 WHERE id = 1",
        f"UPDATE {source} SET amt = 8.5 WHERE id = 2",
    )
    result, reporter = _run(backend, model_db, query, table, tmp_path, 2)

    assert result.error is None
    stored = dict(backend.sql(f"SELECT id, amt FROM {table}"))
    if backend.kind == "sqlite":
        # SQLite keeps decimals as text of any length: nothing to round.
        assert result.status is RunStatus.SUCCESS
        assert stored[1] == "1.2345"
        return
    rejected = {row.key: row.reason for row in reporter.rejected_rows}
    assert sorted(rejected) == ["1"]
    assert "'amt'" in rejected["1"]
    assert "(10,2)" in rejected["1"].replace(" ", "")
    assert "widen" in rejected["1"]
    assert backend.decode("decimal", stored[1]) == decimal.Decimal("1.50")
    assert backend.decode("decimal", stored[2]) == decimal.Decimal("8.50")

    # Never counted as delivered: the next run sends the row again, and rejects it again.
    result, reporter = _run(backend, model_db, query, table, tmp_path, 3)
    assert result.progress.planned.changed == 1
    assert [row.key for row in reporter.rejected_rows] == ["1"]
