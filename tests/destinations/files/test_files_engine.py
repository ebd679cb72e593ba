"""End to end: the engine syncs a DuckDB model into file destinations across edits."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq
from file_helpers import read_csv_text

from engine_runs import run_sync
from syncline.connectors.destinations.base import Destination
from syncline.connectors.registry import destination_class
from syncline.connectors.sources.duckdb.client import DuckDBSource
from syncline.engine.report import RunStatus
from syncline.engine.run import RunResult

MAPPINGS = [
    {"type": "standard", "from": "id", "to": "id"},
    {"type": "standard", "from": "email", "to": "email"},
    {"type": "standard", "from": "traits", "to": "traits"},
]


def _edit(database: Path, *statements: str) -> None:
    connection = duckdb.connect(str(database))
    try:
        for statement in statements:
            connection.execute(statement)
    finally:
        connection.close()


def _run(
    tmp_path: Path, destination: Destination, sync: dict[str, Any], run_id: int, state: str = "s"
) -> RunResult:
    source = DuckDBSource.from_config({"path": str(tmp_path / "warehouse.duckdb")})
    sync = {**sync, "mappings": MAPPINGS}
    return run_sync(
        source, "SELECT * FROM people", sync, destination, tmp_path / state, run_id=run_id
    )


def test_a_mirror_csv_and_a_per_run_jsonl_log_follow_the_model(tmp_path: Path) -> None:
    database = tmp_path / "warehouse.duckdb"
    _edit(
        database,
        "CREATE TABLE people (id INTEGER, email VARCHAR, traits JSON)",
        "INSERT INTO people VALUES (1, 'a@x', '{\"plan\": \"pro\"}'), (2, '', NULL), "
        "(3, NULL, '[1]')",
    )
    out = tmp_path / "out"
    csv = destination_class("csv").from_config({"directory": str(out)})
    log = destination_class("jsonl").from_config({"directory": str(out)})
    mirror = {"mode": "mirror", "object": "people.csv"}
    changes = {"mode": "upsert", "object": "log/people_{run_id}.jsonl"}

    assert _run(tmp_path, csv, mirror, 1, "a").status is RunStatus.SUCCESS
    assert _run(tmp_path, log, changes, 1, "b").status is RunStatus.SUCCESS
    assert read_csv_text(out / "people.csv") == [
        {"id": "1", "email": "a@x", "traits": '{"plan": "pro"}'},
        {"id": "2", "email": "", "traits": None},
        {"id": "3", "email": None, "traits": "[1]"},
    ]

    _edit(
        database, "UPDATE people SET email = 'b@x' WHERE id = 2", "DELETE FROM people WHERE id = 3"
    )
    assert _run(tmp_path, csv, mirror, 2, "a").status is RunStatus.SUCCESS
    assert _run(tmp_path, log, changes, 2, "b").status is RunStatus.SUCCESS

    assert [(r["id"], r["email"]) for r in read_csv_text(out / "people.csv")] == [
        ("1", "a@x"),
        ("2", "b@x"),
    ]
    first = [json.loads(x) for x in (out / "log" / "people_1.jsonl").read_text().splitlines()]
    assert first[0] == {
        "id": 1,
        "email": "a@x",
        "traits": {"plan": "pro"},
        "_syncline_operation": "upsert",
    }
    second = [json.loads(x) for x in (out / "log" / "people_2.jsonl").read_text().splitlines()]
    assert [(r["id"], r["email"], r["_syncline_operation"]) for r in second] == [
        (2, "b@x", "upsert")
    ]


def test_an_all_mode_parquet_export_holds_every_row_each_run(tmp_path: Path) -> None:
    database = tmp_path / "warehouse.duckdb"
    _edit(
        database,
        "CREATE TABLE people (id INTEGER, email VARCHAR, traits JSON)",
        "INSERT INTO people SELECT i, 'u' || i, NULL FROM range(1, 1001) t(i)",
    )
    out = tmp_path / "out"
    parquet = destination_class("parquet").from_config({"directory": str(out)})
    export = {"mode": "all", "object": "export_{run_id}.parquet"}

    assert _run(tmp_path, parquet, export, 1).status is RunStatus.SUCCESS
    assert _run(tmp_path, parquet, export, 2).status is RunStatus.SUCCESS

    for run_id in (1, 2):
        table = pq.read_table(out / f"export_{run_id}.parquet")
        assert sorted(table.column("id").to_pylist()) == list(range(1, 1001))


def test_a_model_column_named_like_the_operation_field_fails_the_run_clearly(
    tmp_path: Path,
) -> None:
    _edit(
        tmp_path / "warehouse.duckdb",
        "CREATE TABLE people (id INTEGER, _syncline_operation VARCHAR)",
        "INSERT INTO people VALUES (1, 'x')",
    )
    log = destination_class("jsonl").from_config({"directory": str(tmp_path / "out")})
    source = DuckDBSource.from_config({"path": str(tmp_path / "warehouse.duckdb")})
    sync = {"mode": "upsert", "object": "log_{run_id}.jsonl"}

    result = run_sync(source, "SELECT * FROM people", sync, log, tmp_path / "s")

    assert result.status is RunStatus.FAILED
    assert result.error is not None
    assert "internal error" not in result.error
    assert "field '_syncline_operation' is reserved" in result.error
    assert "rename the model column" in result.error
    assert not (tmp_path / "out").exists() or list((tmp_path / "out").iterdir()) == []
