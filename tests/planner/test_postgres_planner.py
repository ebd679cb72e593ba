"""The warehouse planner on a real PostgreSQL source: its schema, what leaves the
warehouse, the grant it asks for, and its tables' end with their sync."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pyarrow as pa
import pytest
from engine_doubles import MemoryDestination, Reporter
from psycopg import sql

from syncline.catalog import Catalog
from syncline.cli.app import run_cli
from syncline.connectors.sources.postgres import PostgresConfig, PostgresSource
from syncline.engine.config import SyncConfiguration
from syncline.engine.planner.warehouse import WarehousePlanner, drop_sync_state
from syncline.engine.run import RunJob, RunResult, execute_run
from syncline.errors import ConnectorError
from syncline.settings import load_settings

pytestmark = pytest.mark.postgres


@dataclass
class Warehouse:
    """A PostgreSQL database with a model table in a schema of this test's own."""

    database: str
    model_schema: str
    planner_schema: str

    def admin(self) -> psycopg.Connection[Any]:
        conninfo = f"host=127.0.0.1 user=postgres dbname={self.database}"
        return psycopg.connect(conninfo, autocommit=True)

    def fill(self, rows: int, *, changed: int = 0) -> None:
        """``rows`` rows in the model table; the first ``changed`` with another name."""
        with self.admin() as con:
            model = sql.Identifier(self.model_schema)
            con.execute(sql.SQL("DROP TABLE IF EXISTS {}.model").format(model))
            con.execute(
                sql.SQL(
                    "CREATE TABLE {}.model (id bigint, name text, price numeric(10, 2))"
                ).format(model)
            )
            con.execute(
                sql.SQL(
                    "INSERT INTO {}.model SELECT i, CASE WHEN i <= %s THEN 'new' ELSE 'n' "
                    "|| i END, i / 4.0 FROM generate_series(1, %s) AS i"
                ).format(model),
                [changed, rows],
            )

    def config(self, user: str = "postgres") -> dict[str, Any]:
        return {
            "host": "127.0.0.1",
            "user": user,
            "database": self.database,
            "schema": self.model_schema,
            "planner": "warehouse",
            "plannerSchema": self.planner_schema,
        }

    def source(self, user: str = "postgres") -> PostgresSource:
        return PostgresSource(PostgresConfig.parse(self.config(user)))

    def tables(self) -> list[str]:
        with self.admin() as con:
            rows = con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = %s "
                "ORDER BY table_name",
                [self.planner_schema],
            ).fetchall()
        return [str(name) for (name,) in rows]


@pytest.fixture
def warehouse(postgres_database: str) -> Iterator[Warehouse]:
    prefix = f"t_{uuid.uuid4().hex[:12]}"
    found = Warehouse(postgres_database.rsplit("/", 1)[-1], f"{prefix}_m", f"{prefix}_p")
    with found.admin() as con:
        con.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(found.model_schema)))
    yield found
    with found.admin() as con:
        for schema in (found.model_schema, found.planner_schema):
            con.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


class CountingSource(PostgresSource):
    """Counts the rows every read hands to Syncline."""

    rows_read = 0

    def read(self, query: str, *, batch_rows: int = 65_536) -> Iterator[pa.RecordBatch]:
        for batch in super().read(query, batch_rows=batch_rows):
            CountingSource.rows_read += batch.num_rows
            yield batch


def run(source: PostgresSource, destination: MemoryDestination, sync_id: int = 7) -> RunResult:
    job = RunJob(
        sync_id=sync_id,
        run_id=1,
        source=source,
        model_query="SELECT * FROM model",
        primary_key="id",
        configuration=SyncConfiguration.parse({"mode": "mirror", "object": "things"}),
        destination=destination,
        snapshot_dir=Path("/nonexistent-snapshots"),
    )
    return execute_run(job, Reporter())


def test_only_planned_rows_leave_the_warehouse(warehouse: Warehouse) -> None:
    warehouse.fill(500)
    destination = MemoryDestination(max_batch_rows=100)
    source = CountingSource(PostgresConfig.parse(warehouse.config()))

    CountingSource.rows_read = 0
    assert run(source, destination).status.value == "success"
    assert CountingSource.rows_read == 500
    assert len(destination.records) == 500

    warehouse.fill(499, changed=3)
    CountingSource.rows_read = 0
    result = run(source, destination)
    assert result.progress.planned.as_api() == {
        "addedCount": 0,
        "changedCount": 3,
        "removedCount": 1,
    }
    # The changed rows and the removed row's id; none of the 496 unchanged rows.
    assert CountingSource.rows_read == 4
    assert sorted(destination.records) == list(range(1, 500))
    assert destination.records[2]["name"] == "new"
    # The snapshot, failed index and journal stay; the run's scratch tables are gone.
    assert warehouse.tables() == ["sync_7_failed", "sync_7_journal", "sync_7_snapshot"]


def test_model_sql_that_changes_data_is_refused(warehouse: Warehouse) -> None:
    warehouse.fill(5)
    planner = WarehousePlanner(warehouse.source(), 7, primary_key="id", id_column="id")
    schema = pa.schema([("id", pa.int64())])
    try:
        with pytest.raises(ConnectorError):
            planner.ingest(
                "WITH gone AS (DELETE FROM model RETURNING id) SELECT id FROM gone", schema, ["id"]
            )
    finally:
        planner.close()
    with warehouse.admin() as con:
        count = con.execute(
            sql.SQL("SELECT count(*) FROM {}.model").format(sql.Identifier(warehouse.model_schema))
        ).fetchone()
    assert count == (5,)


@pytest.fixture
def role(warehouse: Warehouse) -> Iterator[str]:
    """A login role that may read the model but not create schemas."""
    name = f"syncline_reader_{uuid.uuid4().hex[:10]}"
    model = sql.Identifier(warehouse.model_schema)
    with warehouse.admin() as con:
        con.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(name)))
        con.execute(sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(model, sql.Identifier(name)))
        con.execute(
            sql.SQL("ALTER DEFAULT PRIVILEGES IN SCHEMA {} GRANT SELECT ON TABLES TO {}").format(
                model, sql.Identifier(name)
            )
        )
    yield name
    with warehouse.admin() as con:
        con.execute(
            sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(
                sql.Identifier(warehouse.planner_schema)
            )
        )
        con.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(name)))
        con.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(name)))


def test_missing_create_grant_is_named_then_a_precreated_schema_works(
    warehouse: Warehouse, role: str
) -> None:
    warehouse.fill(3)
    result = run(warehouse.source(role), MemoryDestination())
    assert result.status.value == "failed"
    assert result.error is not None
    assert f'GRANT CREATE ON DATABASE "{warehouse.database}" TO "{role}"' in result.error
    assert f'CREATE SCHEMA "{warehouse.planner_schema}" AUTHORIZATION "{role}"' in result.error

    with warehouse.admin() as con:
        con.execute(
            sql.SQL("CREATE SCHEMA {} AUTHORIZATION {}").format(
                sql.Identifier(warehouse.planner_schema), sql.Identifier(role)
            )
        )
    destination = MemoryDestination()
    assert run(warehouse.source(role), destination).status.value == "success"
    assert sorted(destination.records) == [1, 2, 3]


def test_drop_sync_state_drops_only_that_syncs_tables(warehouse: Warehouse) -> None:
    warehouse.fill(3)
    assert run(warehouse.source(), MemoryDestination(), sync_id=7).status.value == "success"
    assert run(warehouse.source(), MemoryDestination(), sync_id=8).status.value == "success"
    assert drop_sync_state(warehouse.source(), 7)
    assert warehouse.tables() == ["sync_8_failed", "sync_8_journal", "sync_8_snapshot"]


def test_planner_cleanup_drops_the_tables_of_syncs_gone_from_the_catalog(
    warehouse: Warehouse,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("SYNCLINE_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("SYNCLINE_DATABASE_URL", raising=False)
    monkeypatch.setenv("COLUMNS", "200")
    warehouse.fill(3)
    catalog = Catalog.open(load_settings())
    try:
        with catalog.session() as session:
            source = session.sources.create(
                name="wh", slug="wh", type="postgres", configuration=warehouse.config()
            )
            destination = session.destinations.create(
                name="out", slug="out", type="csv", configuration={"path": str(tmp_path / "o")}
            )
            model = session.models.create(
                name="m",
                slug="m",
                source=source,
                query_type="table",
                primary_key="id",
                table="model",
            )
            kept = session.syncs.create(
                slug="kept",
                model=model,
                destination=destination,
                configuration={"mode": "mirror", "object": "things"},
            ).id
    finally:
        catalog.close()
    orphan = kept + 100
    for sync_id in (kept, orphan):
        assert run(warehouse.source(), MemoryDestination(), sync_id=sync_id).status.value == (
            "success"
        )

    assert run_cli(["planner", "cleanup", "--dry-run"]) == 0
    shown = capsys.readouterr().out
    assert "would drop" in shown
    assert str(orphan) in shown
    assert f"sync_{orphan}_snapshot" in warehouse.tables()

    assert run_cli(["planner", "cleanup"]) == 0
    assert warehouse.tables() == [f"sync_{kept}_{t}" for t in ("failed", "journal", "snapshot")]
    assert run_cli(["planner", "cleanup"]) == 0
    assert "no orphaned planner tables" in capsys.readouterr().out
