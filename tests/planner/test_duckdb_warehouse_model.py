"""Model SQL on a DuckDB source with ``planner: warehouse``: only one SELECT runs, and
the source needs a database file to keep the planner's tables in."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from engine_doubles import MemoryDestination, Reporter

from syncline.connectors.sources.duckdb import DuckDBConfig, DuckDBSource
from syncline.engine.config import SyncConfiguration
from syncline.engine.run import RunJob, RunResult, execute_run
from syncline.errors import ValidationError


def run(path: Path, model_query: str) -> RunResult:
    source = DuckDBSource(DuckDBConfig.parse({"path": str(path), "planner": "warehouse"}))
    job = RunJob(
        sync_id=3,
        run_id=1,
        source=source,
        model_query=model_query,
        primary_key="id",
        configuration=SyncConfiguration.parse({"mode": "mirror", "object": "things"}),
        destination=MemoryDestination(),
        snapshot_dir=path.parent / "snapshots",
    )
    return execute_run(job, Reporter())


@pytest.mark.parametrize(
    "model_query",
    [
        "SELECT * FROM model; DROP TABLE model",
        "CREATE TABLE made AS SELECT * FROM model",
        "DELETE FROM model RETURNING id",
    ],
)
def test_model_sql_other_than_one_select_is_refused_and_changes_nothing(
    tmp_path: Path, model_query: str
) -> None:
    path = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE TABLE model AS SELECT range AS id FROM range(4)")
    result = run(path, model_query)
    assert result.status.value == "failed"
    assert result.error is not None
    assert "single SELECT" in result.error
    with duckdb.connect(str(path), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM model").fetchone() == (4,)
        tables = con.execute("SELECT table_name FROM information_schema.tables").fetchall()
    assert ("made",) not in tables


def test_a_single_select_runs(tmp_path: Path) -> None:
    path = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE TABLE model AS SELECT range AS id FROM range(4)")
    result = run(path, "SELECT id FROM model;")
    assert result.status.value == "success", result.error
    assert result.progress.planned.as_api()["addedCount"] == 4


def test_warehouse_planner_without_a_database_file_is_refused_by_validation() -> None:
    with pytest.raises(ValidationError) as caught:
        DuckDBConfig.parse({"planner": "warehouse"})
    assert "has no 'path'" in str(caught.value.problems[0].message)
    assert DuckDBConfig.parse({"planner": "local"}).path is None


def test_duckdb_queries_that_start_with_from_run(tmp_path: Path) -> None:
    path = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE TABLE model AS SELECT range AS id FROM range(4)")
    result = run(path, "FROM model")
    assert result.status.value == "success", result.error
    assert result.progress.planned.as_api()["addedCount"] == 4
