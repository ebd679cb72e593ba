"""End to end over the real DuckDB source: a model on a DuckDB file, edited between runs."""

from __future__ import annotations

from pathlib import Path

import duckdb
from engine_doubles import MemoryDestination, Reporter

from syncline.connectors.sources.duckdb.client import DuckDBSource
from syncline.engine.config import SyncConfiguration
from syncline.engine.report import RunStatus
from syncline.engine.run import RunJob, RunResult, execute_run


def edit(database: Path, *statements: str) -> None:
    connection = duckdb.connect(str(database))
    try:
        for statement in statements:
            connection.execute(statement)
    finally:
        connection.close()


def run(tmp_path: Path, destination: MemoryDestination, run_id: int, query: str = "") -> RunResult:
    source = DuckDBSource.from_config({"path": str(tmp_path / "warehouse.duckdb")})
    configuration = SyncConfiguration.parse(
        {
            "mode": "mirror",
            "object": "customers",
            "mappings": [
                {"type": "standard", "from": "email", "to": "email"},
                {"type": "standard", "from": "balance", "to": "balance"},
                {"type": "standard", "from": "traits", "to": "traits"},
                {"type": "standard", "from": "seen", "to": "seen"},
            ],
        }
    )
    job = RunJob(
        sync_id=3,
        run_id=run_id,
        source=source,
        model_query=query or "SELECT * FROM customers",
        primary_key="id",
        configuration=configuration,
        destination=destination,
        snapshot_dir=tmp_path / "snapshots",
    )
    return execute_run(job, Reporter())


def test_sync_a_duckdb_model_through_edits(tmp_path: Path) -> None:
    database = tmp_path / "warehouse.duckdb"
    edit(
        database,
        "CREATE TABLE customers (id INTEGER, email VARCHAR, balance DECIMAL(10, 2), "
        "traits JSON, seen TIMESTAMPTZ, notes VARCHAR)",
        "INSERT INTO customers VALUES "
        "(1, 'a@x', 10.50, '{\"plan\": \"pro\", \"seats\": 3}', '2024-01-01 10:00:00+00', 'n'),"
        "(2, 'b@x', 0.00, NULL, NULL, 'n'),"
        "(3, 'c@x', 7.25, '[1, 2]', '2024-02-01 00:00:00+00', 'n')",
    )
    destination = MemoryDestination()
    first = run(tmp_path, destination, 1)
    assert first.status is RunStatus.SUCCESS, first.error
    assert first.progress.planned.added == 3
    assert destination.records[1]["email"] == "a@x"
    assert destination.context is not None
    traits = next(f for f in destination.context.fields if f.name == "traits")
    assert traits.logical == "json"

    # Noise only (JSON key order, an unmapped column), then one real change and a delete.
    edit(
        database,
        'UPDATE customers SET traits = \'{"seats":3,"plan":"pro"}\', notes = \'m\' WHERE id = 1',
        "UPDATE customers SET balance = 0.01 WHERE id = 2",
        "DELETE FROM customers WHERE id = 3",
    )
    second = run(tmp_path, destination, 2)
    assert second.status is RunStatus.SUCCESS, second.error
    assert second.progress.planned.as_api() == {
        "addedCount": 0,
        "changedCount": 1,
        "removedCount": 1,
    }
    assert sorted(destination.records) == [1, 2]
    assert str(destination.records[2]["balance"]) == "0.01"

    # A cast that keeps every value (DECIMAL(10,2) to DECIMAL(12,4)) changes nothing.
    recast = (
        "SELECT id, email, CAST(balance AS DECIMAL(12, 4)) AS balance, traits, seen FROM customers"
    )
    third = run(tmp_path, destination, 3, recast)
    assert third.status is RunStatus.SUCCESS, third.error
    assert third.progress.planned.total == 0


def test_bad_model_sql_fails_the_run_with_the_source_error(tmp_path: Path) -> None:
    edit(tmp_path / "warehouse.duckdb", "CREATE TABLE customers (id INTEGER)")
    result = run(tmp_path, MemoryDestination(), 1, "SELECT * FROM no_such_table")
    assert result.status is RunStatus.FAILED
    assert result.error is not None
    assert "no_such_table" in result.error
