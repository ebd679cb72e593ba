"""A source switching planner, local <-> warehouse, mid-life: the next run takes the
other planner's snapshot over, so it removes what the model lost since, plans from no
stale snapshot, and leaves no tables or file of the planner the sync no longer uses."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import duckdb
import psycopg
import pytest
from engine_doubles import MemoryDestination, Reporter
from psycopg import sql

from syncline.connectors.sources.base import Source
from syncline.connectors.sources.duckdb import DuckDBSource
from syncline.connectors.sources.postgres import PostgresSource
from syncline.engine.config import SyncConfiguration
from syncline.engine.planner.store import snapshot_path, warehouse_mark_path
from syncline.engine.run import RunJob, RunResult, execute_run

SYNC = 7


class Database:
    """A source database with table ``t3`` and a planner schema, both of this test's own."""

    def __init__(self, kind: str, tmp_path: Path, database: str) -> None:
        self.kind = kind
        self.tag = uuid.uuid4().hex[:10]
        self.planner_schema = f"plswitch_{self.tag}"
        self.path = tmp_path / "warehouse.duckdb"
        self.database = database

    def execute(self, statement: str) -> None:
        if self.kind == "duckdb":
            with duckdb.connect(str(self.path)) as con:
                con.execute(statement)
            return
        conninfo = f"host=127.0.0.1 user=postgres dbname={self.database}"
        with psycopg.connect(conninfo, autocommit=True) as con:
            con.execute(statement.encode())

    def source(self, planner: str, schema: str | None = None) -> Source:
        config: dict[str, Any] = {
            "planner": planner,
            "plannerSchema": schema or self.planner_schema,
        }
        if self.kind == "duckdb":
            return DuckDBSource.from_config({**config, "path": str(self.path)})
        connection = {"host": "127.0.0.1", "user": "postgres", "database": self.database}
        return PostgresSource.from_config({**config, **connection})

    def planner_tables(self, schema: str | None = None) -> list[str]:
        query = (
            "SELECT table_name FROM information_schema.tables WHERE table_schema = "
            f"'{schema or self.planner_schema}' ORDER BY table_name"
        )
        if self.kind == "duckdb":
            with duckdb.connect(str(self.path)) as con:
                rows = con.execute(query).fetchall()
        else:
            conninfo = f"host=127.0.0.1 user=postgres dbname={self.database}"
            with psycopg.connect(conninfo, autocommit=True) as con:
                rows = con.execute(query.encode()).fetchall()
        # The schema's installation mark is no sync's table.
        return [str(name) for (name,) in rows if str(name).startswith("sync_")]


@pytest.fixture(params=["postgres", "duckdb"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    if request.param == "duckdb":
        yield Database("duckdb", tmp_path, "")
        return
    make: Callable[[], str] = request.getfixturevalue("make_postgres_database")
    found = Database("postgres", tmp_path, make().rsplit("/", 1)[-1])
    yield found
    found.execute(
        sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE")
        .format(sql.Identifier(found.planner_schema))
        .as_string()
    )


def run(
    database: Database,
    planner: str,
    destination: MemoryDestination,
    snapshots: Path,
    schema: str | None = None,
) -> RunResult:
    job = RunJob(
        sync_id=SYNC,
        run_id=1,
        source=database.source(planner, schema),
        model_query="SELECT * FROM t3",
        primary_key="id",
        configuration=SyncConfiguration.parse({"mode": "mirror", "object": "t3"}),
        destination=destination,
        snapshot_dir=snapshots,
        installation_id="00000000-0000-0000-0000-00000000abcd",
    )
    try:
        return execute_run(job, Reporter())
    finally:
        job.source.close()


@pytest.mark.postgres
@pytest.mark.parametrize("first", ["warehouse", "local"])
def test_switching_planner_takes_the_snapshot_over_both_ways(
    database: Database, tmp_path: Path, first: str
) -> None:
    second = "local" if first == "warehouse" else "warehouse"
    snapshots = tmp_path / "snapshots"
    database.execute("CREATE TABLE t3 (id INTEGER, name TEXT)")
    database.execute("INSERT INTO t3 VALUES (1, 'a'), (2, 'b'), (3, 'c')")
    destination = MemoryDestination()

    def step(planner: str) -> None:
        result = run(database, planner, destination, snapshots)
        assert result.status.value == "success", result.error
        names = {key: record["name"] for key, record in destination.records.items()}
        model = dict(
            (int(row["id"]), row["name"]) for row in _rows(database, "SELECT id, name FROM t3")
        )
        assert names == model
        # Only the planner the sync now uses keeps its snapshot.
        local = snapshot_path(snapshots, SYNC).exists()
        assert local == (planner == "local")
        assert bool(database.planner_tables()) == (planner == "warehouse")

    step(first)
    database.execute("INSERT INTO t3 VALUES (4, 'd')")
    step(second)
    database.execute("DELETE FROM t3 WHERE id = 4")
    database.execute("UPDATE t3 SET name = 'B' WHERE id = 2")
    step(first)
    database.execute("DELETE FROM t3 WHERE id = 3")
    step(second)
    # Back and forth once more: nothing stale is taken for the snapshot.
    database.execute("INSERT INTO t3 VALUES (5, 'e')")
    step(first)


@pytest.mark.postgres
def test_changing_the_planner_schema_takes_the_snapshot_over(
    database: Database, tmp_path: Path
) -> None:
    snapshots = tmp_path / "snapshots"
    database.execute("CREATE TABLE t3 (id INTEGER, name TEXT)")
    database.execute("INSERT INTO t3 VALUES (1, 'a'), (2, 'b'), (3, 'c'), (4, 'd')")
    destination = MemoryDestination()
    first, other = database.planner_schema, f"{database.planner_schema}_b"

    def step(schema: str, left: str) -> None:
        result = run(database, "warehouse", destination, snapshots, schema)
        assert result.status.value == "success", result.error
        names = {key: record["name"] for key, record in destination.records.items()}
        model = {int(row["id"]): row["name"] for row in _rows(database, "SELECT * FROM t3")}
        assert names == model
        # The schema the source no longer names keeps nothing of the sync.
        assert database.planner_tables(left) == []
        assert database.planner_tables(schema)
        assert warehouse_mark_path(snapshots, SYNC).read_text(encoding="utf-8") == schema

    step(first, other)
    database.execute("DELETE FROM t3 WHERE id = 2")
    step(other, first)
    database.execute("DELETE FROM t3 WHERE id = 3")
    database.execute("UPDATE t3 SET name = 'D' WHERE id = 4")
    step(first, other)


def _rows(database: Database, query: str) -> list[dict[str, Any]]:
    if database.kind == "duckdb":
        with duckdb.connect(str(database.path)) as con:
            table = con.execute(query).to_arrow_table()
        return list(table.to_pylist())
    conninfo = f"host=127.0.0.1 user=postgres dbname={database.database}"
    with psycopg.connect(conninfo, autocommit=True) as con:
        cursor = con.execute(query.encode())
        names = [column.name for column in cursor.description or []]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
