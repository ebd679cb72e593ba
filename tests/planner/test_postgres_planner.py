"""The warehouse planner on a real PostgreSQL source: its schema, what leaves the
warehouse, the grant it asks for, and its tables' end with their sync."""

from __future__ import annotations

import re
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
from syncline.engine.planner.warehouse import (
    WarehousePlanner,
    drop_sync_state,
    forget_sync_state,
)
from syncline.engine.planner.warehouse.session import PostgresSession
from syncline.engine.run import RunJob, RunResult, execute_run
from syncline.errors import ConfigError, ConnectorError
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


@dataclass
class _Snapshots:
    path: Path = Path()


SNAPSHOTS = _Snapshots()
"""The snapshot folder of the running test, which :func:`run` hands its runs."""


@pytest.fixture(autouse=True)
def _snapshots(tmp_path: Path) -> None:
    SNAPSHOTS.path = tmp_path / "snapshots"


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


def run(
    source: PostgresSource,
    destination: MemoryDestination,
    sync_id: int = 7,
    *,
    model_query: str = "SELECT * FROM model",
    installation_id: str | None = None,
) -> RunResult:
    job = RunJob(
        sync_id=sync_id,
        run_id=1,
        source=source,
        model_query=model_query,
        installation_id=installation_id,
        primary_key="id",
        configuration=SyncConfiguration.parse({"mode": "mirror", "object": "things"}),
        destination=destination,
        # The warehouse planner's runs leave a mark of where the snapshot is kept there.
        snapshot_dir=SNAPSHOTS.path,
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
    assert warehouse.tables() == [
        "sync_7_failed",
        "sync_7_journal",
        "sync_7_meta",
        "sync_7_snapshot",
    ]


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
    assert warehouse.tables() == [
        "sync_8_failed",
        "sync_8_journal",
        "sync_8_meta",
        "sync_8_snapshot",
    ]


def test_planner_cleanup_drops_the_tables_of_syncs_gone_from_the_catalog(
    warehouse: Warehouse,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    catalog = _cli_catalog(warehouse, tmp_path, monkeypatch)
    try:
        with catalog.session() as session:
            (kept,) = _mirror_syncs(session, warehouse.config(), tmp_path, "kept")
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
    assert warehouse.tables() == [
        f"sync_{kept}_{t}" for t in ("failed", "journal", "meta", "snapshot")
    ]
    assert run_cli(["planner", "cleanup"]) == 0
    assert "no orphaned planner tables" in capsys.readouterr().out


def test_planner_cleanup_finds_tables_in_a_schema_the_source_no_longer_names(
    warehouse: Warehouse,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    catalog = _cli_catalog(warehouse, tmp_path, monkeypatch)
    SNAPSHOTS.path = load_settings().snapshot_dir
    other = f"{warehouse.planner_schema}_b"
    try:
        with catalog.session() as session:
            (kept,) = _mirror_syncs(session, warehouse.config(), tmp_path, "kept")
        assert run(warehouse.source(), MemoryDestination(), kept).status.value == "success"
        with catalog.session() as session:
            session.sources.update(
                "wh", configuration={**warehouse.config(), "plannerSchema": other}
            )

        # The sync's next run takes its tables over from the schema its mark names.
        assert run_cli(["planner", "cleanup", "--dry-run"]) == 0
        assert "no orphaned planner tables" in capsys.readouterr().out

        with catalog.session() as session:
            session.syncs.delete("kept")
        assert run_cli(["planner", "cleanup", "--dry-run"]) == 0
        shown = capsys.readouterr().out
        assert "would drop" in shown
        assert warehouse.planner_schema in shown
        assert f"sync_{kept}_snapshot" in warehouse.tables()

        assert run_cli(["planner", "cleanup"]) == 0
        assert not [name for name in warehouse.tables() if name.startswith("sync_")]
    finally:
        catalog.close()
        with warehouse.admin() as con:
            con.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(other)))


def model_rows(warehouse: Warehouse) -> int:
    with warehouse.admin() as con:
        found = con.execute(
            sql.SQL("SELECT count(*) FROM {}.model").format(sql.Identifier(warehouse.model_schema))
        ).fetchone()
    assert found is not None
    return int(found[0])


def test_model_sql_calling_setval_is_refused_and_the_sequence_kept(warehouse: Warehouse) -> None:
    warehouse.fill(3)
    with warehouse.admin() as con:
        con.execute(sql.SQL("CREATE SEQUENCE {}.s").format(sql.Identifier(warehouse.model_schema)))
    result = run(
        warehouse.source(),
        MemoryDestination(),
        model_query="SELECT 1 AS id, setval('s', 424242) AS v",
    )
    assert result.status.value == "failed"
    assert result.error is not None
    assert "model SQL must only read" in result.error
    assert "setval" in result.error
    with warehouse.admin() as con:
        last = con.execute(
            sql.SQL("SELECT last_value FROM {}.s").format(sql.Identifier(warehouse.model_schema))
        ).fetchone()
    assert last == (1,)


def test_model_sql_calling_a_function_that_writes_is_refused(warehouse: Warehouse) -> None:
    warehouse.fill(3)
    model = sql.Identifier(warehouse.model_schema)
    with warehouse.admin() as con:
        con.execute(
            sql.SQL(
                "CREATE FUNCTION {}.zap() RETURNS int LANGUAGE plpgsql AS $$ BEGIN "
                "DELETE FROM {}.model; CREATE TABLE IF NOT EXISTS {}.made (x int); "
                "RETURN 1; END $$"
            ).format(model, model, model)
        )
    result = run(
        warehouse.source(),
        MemoryDestination(),
        model_query="SELECT id, zap() AS z FROM model",
    )
    assert result.status.value == "failed"
    assert result.error is not None
    assert "model SQL must only read" in result.error
    assert model_rows(warehouse) == 3
    with warehouse.admin() as con:
        made = con.execute(
            "SELECT count(*) FROM information_schema.tables "
            "WHERE table_schema = %s AND table_name = 'made'",
            [warehouse.model_schema],
        ).fetchone()
    assert made == (0,)


@pytest.mark.parametrize(
    ("model_query", "kept_table"),
    [
        ("DELETE FROM model RETURNING id", True),
        ("SELECT * FROM model; DROP TABLE model", True),
        ("SELECT id, name AS x$$ FROM model; DROP TABLE model; SELECT 1 AS y$$", True),
        ("SELECT E'\\'' AS e, * FROM model; DROP TABLE model; SELECT ''", True),
        ("SELECT 'it''s; /*' AS a, $q$ ; $q$ AS b, * /* ; */ FROM model", False),
        ("-- all of it\nSELECT * FROM model;\n", False),
        ("SELECT * FROM model; -- all of it", False),
        ("SELECT * FROM model -- all; of it\n; /* done; */", False),
    ],
)
def test_model_sql_that_is_not_a_single_query_is_named_as_such(
    warehouse: Warehouse, model_query: str, kept_table: bool
) -> None:
    warehouse.fill(3)
    result = run(warehouse.source(), MemoryDestination(), model_query=model_query)
    if not kept_table:
        # Comments and trailing semicolons leave a single query: it runs.
        assert result.status.value == "success", result.error
        return
    assert result.status.value == "failed"
    assert result.error is not None
    assert "the model's SQL must be a single SELECT (or WITH ... SELECT)" in result.error
    assert model_rows(warehouse) == 3


@pytest.fixture
def schema_only_role(warehouse: Warehouse, role: str) -> str:
    """``role``, with the planner schema made for it by an admin but no CREATE on it."""
    with warehouse.admin() as con:
        con.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(warehouse.planner_schema)))
    return role


def test_missing_create_grant_on_an_existing_schema_is_named(
    warehouse: Warehouse, schema_only_role: str
) -> None:
    warehouse.fill(3)
    result = run(warehouse.source(schema_only_role), MemoryDestination())
    assert result.status.value == "failed"
    assert result.error is not None
    grant = f'GRANT CREATE, USAGE ON SCHEMA "{warehouse.planner_schema}" TO "{schema_only_role}"'
    assert grant in result.error

    with warehouse.admin() as con:
        con.execute(
            sql.SQL("GRANT CREATE, USAGE ON SCHEMA {} TO {}").format(
                sql.Identifier(warehouse.planner_schema), sql.Identifier(schema_only_role)
            )
        )
    destination = MemoryDestination()
    assert run(warehouse.source(schema_only_role), destination).status.value == "success"
    assert sorted(destination.records) == [1, 2, 3]


def test_every_grant_on_a_schema_another_role_made_is_named(
    warehouse: Warehouse, schema_only_role: str
) -> None:
    """Granting exactly what the error names is enough, the installation's mark included."""
    warehouse.fill(3)
    installation = str(uuid.uuid4())
    # The admin's own run made the schema's installation mark, which the role cannot read.
    assert run(warehouse.source(), MemoryDestination(), sync_id=9, installation_id=installation)
    result = run(
        warehouse.source(schema_only_role), MemoryDestination(), installation_id=installation
    )
    assert result.status.value == "failed"
    assert result.error is not None
    assert re.search(f'CREATE SCHEMA "[^"]+" AUTHORIZATION "{schema_only_role}"', result.error)
    assert "plannerSchema" in result.error
    grants = re.findall(r"GRANT [^;]*? TO \"[^\"]+\"", result.error)
    assert len(grants) == 2, result.error

    with warehouse.admin() as con:
        for grant in grants:
            con.execute(grant)  # type: ignore[arg-type]  # text the error names, to run as is
    destination = MemoryDestination()
    result = run(warehouse.source(schema_only_role), destination, installation_id=installation)
    assert result.status.value == "success", result.error
    assert sorted(destination.records) == [1, 2, 3]


@pytest.fixture
def own_warehouse(make_postgres_database: Any) -> Warehouse:
    """A warehouse in a database of this test's own, whose settings the test may change."""
    database = make_postgres_database().rsplit("/", 1)[-1]
    found = Warehouse(database, "model_data", "planner_state")
    with found.admin() as con:
        con.execute("CREATE SCHEMA model_data")
    return found


def test_float_change_is_seen_whatever_the_database_prints_floats_with(
    own_warehouse: Warehouse,
) -> None:
    with own_warehouse.admin() as con:
        con.execute(
            sql.SQL("ALTER DATABASE {} SET extra_float_digits = 0").format(
                sql.Identifier(own_warehouse.database)
            )
        )
        con.execute("CREATE TABLE model_data.model (id bigint, v double precision)")
        con.execute("INSERT INTO model_data.model VALUES (1, 0.3), (2, 0.5)")
    destination = MemoryDestination()
    assert run(own_warehouse.source(), destination).status.value == "success"
    with own_warehouse.admin() as con:
        con.execute("UPDATE model_data.model SET v = 0.1::float8 + 0.2::float8 WHERE id = 1")
    result = run(own_warehouse.source(), destination)
    assert result.progress.planned.as_api() == {
        "addedCount": 0,
        "changedCount": 1,
        "removedCount": 0,
    }
    assert destination.records[1]["v"] == 0.30000000000000004


def test_fingerprints_of_another_scheme_plan_every_row_as_changed(
    warehouse: Warehouse, monkeypatch: pytest.MonkeyPatch
) -> None:
    warehouse.fill(4)
    assert run(warehouse.source(), MemoryDestination()).status.value == "success"
    unchanged = run(warehouse.source(), MemoryDestination())
    assert unchanged.progress.planned.as_api()["changedCount"] == 0

    # As if the snapshot had been fingerprinted by another PostgreSQL major version.
    monkeypatch.setattr(PostgresSession, "fingerprint_scheme", lambda self: "hashtextextended/pg99")
    result = run(warehouse.source(), MemoryDestination())
    assert result.progress.planned.as_api() == {
        "addedCount": 0,
        "changedCount": 4,
        "removedCount": 0,
    }


def test_fingerprint_scheme_names_the_hash_and_server_major_version(
    warehouse: Warehouse,
) -> None:
    session = PostgresSession(warehouse.source(), warehouse.planner_schema)
    try:
        scheme = session.fingerprint_scheme()
        (number,) = session.fetch("SHOW server_version_num")[0]
    finally:
        session.close()
    assert scheme == f"hashtextextended/pg{int(number) // 10000}"


def installation(
    home: Path, monkeypatch: pytest.MonkeyPatch, configuration: dict[str, Any], syncs: int
) -> str:
    """A catalog in ``home`` with ``syncs`` syncs of one source; its installation id."""
    monkeypatch.setenv("SYNCLINE_HOME", str(home))
    catalog = Catalog.open(load_settings())
    try:
        with catalog.session() as session:
            _mirror_syncs(session, configuration, home, *(f"s{n}" for n in range(syncs)))
            return session.installation_id
    finally:
        catalog.close()


def test_two_installations_never_share_a_planner_schema(
    warehouse: Warehouse,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.delenv("SYNCLINE_DATABASE_URL", raising=False)
    monkeypatch.setenv("COLUMNS", "200")
    warehouse.fill(100)
    first = installation(tmp_path / "first", monkeypatch, warehouse.config(), syncs=2)
    second = installation(tmp_path / "second", monkeypatch, warehouse.config(), syncs=1)
    for sync_id in (1, 2):
        result = run(warehouse.source(), MemoryDestination(), sync_id, installation_id=first)
        assert result.status.value == "success"
    first_tables = warehouse.tables()

    # The second catalog's sync 1 is not the first's: it is refused, not planned from
    # the first's snapshot.
    refused = run(warehouse.source(), MemoryDestination(), 1, installation_id=second)
    assert refused.status.value == "failed"
    assert refused.error is not None
    assert "another Syncline installation" in refused.error
    assert "'plannerSchema'" in refused.error
    with pytest.raises(ConfigError) as caught:
        drop_sync_state(warehouse.source(), 2, second)
    assert caught.value.code == "PLANNER_SCHEMA_OWNED"

    # Its cleanup knows only sync 1: it reports the schema as another's and drops nothing.
    assert run_cli(["planner", "cleanup"]) != 0
    captured = capsys.readouterr()
    assert "another Syncline installation" in captured.err
    assert "no orphaned planner tables" not in captured.out
    assert warehouse.tables() == first_tables

    # With a schema of its own, the second installation plans all its rows.
    own = {**warehouse.config(), "plannerSchema": f"{warehouse.planner_schema}_2"}
    destination = MemoryDestination()
    source = PostgresSource(PostgresConfig.parse(own))
    try:
        result = run(source, destination, 1, installation_id=second)
        assert result.status.value == "success"
        assert result.progress.planned.as_api()["addedCount"] == 100

        # Its cleanup then looks into that source, and says nothing of the refused one's.
        catalog = Catalog.open(load_settings())
        try:
            with catalog.session() as session:
                session.sources.create(name="own", slug="own", type="postgres", configuration=own)
        finally:
            catalog.close()
        assert run_cli(["planner", "cleanup"]) != 0
        captured = capsys.readouterr()
        assert "source 'wh'" in captured.err
        assert "source 'own'" not in captured.err
        assert "no orphaned planner tables in the other sources" in captured.out
    finally:
        with warehouse.admin() as con:
            con.execute(
                sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(
                    sql.Identifier(own["plannerSchema"])
                )
            )
    assert warehouse.tables() == first_tables


def large_objects(warehouse: Warehouse) -> int:
    with warehouse.admin() as con:
        found = con.execute("SELECT count(*) FROM pg_largeobject_metadata").fetchone()
    assert found is not None
    return int(found[0])


@pytest.mark.parametrize(
    "model_query",
    [
        "SELECT *, lo_from_bytea(0, 'x'::bytea) AS s FROM model",
        "SELECT m.*, (SELECT max(lo_unlink(oid)) FROM pg_largeobject_metadata) AS s "
        "FROM model AS m",
        "SELECT m.*, (SELECT count(lo_put(oid, 0, 'zz'::bytea)) FROM pg_largeobject_metadata) "
        "AS s FROM model AS m",
    ],
)
def test_model_sql_writing_large_objects_is_refused_and_rolled_back(
    warehouse: Warehouse, model_query: str
) -> None:
    warehouse.fill(3)
    with warehouse.admin() as con:
        kept = con.execute("SELECT lo_from_bytea(0, 'kept'::bytea)").fetchone()
    assert kept is not None
    before = large_objects(warehouse)
    try:
        result = run(warehouse.source(), MemoryDestination(), model_query=model_query)
        assert result.status.value == "failed"
        assert result.error is not None
        assert "model SQL must only read: it wrote to pg_largeobject" in result.error
        assert large_objects(warehouse) == before
        with warehouse.admin() as con:
            data = con.execute("SELECT lo_get(%s)", [kept[0]]).fetchone()
        assert data == (b"kept",)
    finally:
        with warehouse.admin() as con:
            con.execute("SELECT lo_unlink(%s)", [kept[0]])


def test_model_sql_with_wide_values_still_runs_twice(warehouse: Warehouse) -> None:
    """Rows TOASTed into the temporary table, and the stats of earlier runs of the
    session, are not taken for the model's writes."""
    warehouse.fill(3)
    model = "SELECT id, repeat(md5(id::text), 20000) AS name FROM model"
    source = warehouse.source()
    for _ in range(2):
        result = run(source, MemoryDestination(), model_query=model)
        assert result.status.value == "success", result.error


@pytest.mark.parametrize("lock", ["FOR UPDATE", "FOR SHARE", "FOR NO KEY UPDATE", "FOR KEY SHARE"])
def test_model_sql_locking_rows_is_named_as_such(warehouse: Warehouse, lock: str) -> None:
    warehouse.fill(3)
    result = run(warehouse.source(), MemoryDestination(), model_query=f"SELECT * FROM model {lock}")
    assert result.status.value == "failed"
    assert result.error is not None
    assert "model SQL must only read: it locks rows (FOR UPDATE/SHARE)" in result.error
    assert "INSERT" not in result.error


def test_model_sql_calling_a_function_that_inserts_is_not_taken_for_a_lock(
    warehouse: Warehouse,
) -> None:
    warehouse.fill(3)
    model = sql.Identifier(warehouse.model_schema)
    with warehouse.admin() as con:
        con.execute(
            sql.SQL(
                "CREATE FUNCTION {}.add() RETURNS int LANGUAGE plpgsql AS $$ BEGIN "
                "INSERT INTO {}.model (id) VALUES (99); RETURN 1; END $$"
            ).format(model, model)
        )
    result = run(warehouse.source(), MemoryDestination(), model_query="SELECT *, add() FROM model")
    assert result.status.value == "failed"
    assert result.error is not None
    assert "PostgreSQL refused it in a read-only transaction" in result.error
    assert "locks rows" not in result.error
    assert model_rows(warehouse) == 3


def test_forgetting_a_sync_in_a_schema_another_installation_owns_gives_no_cleanup_advice(
    warehouse: Warehouse, caplog: pytest.LogCaptureFixture
) -> None:
    warehouse.fill(3)
    first, second = str(uuid.uuid4()), str(uuid.uuid4())
    assert run(warehouse.source(), MemoryDestination(), installation_id=first).status.value == (
        "success"
    )
    tables = warehouse.tables()
    with caplog.at_level("WARNING"):
        forget_sync_state(warehouse.source(), 7, second)
    warned = " ".join(record.getMessage() for record in caplog.records)
    assert "another Syncline installation" in warned
    assert "planner cleanup" not in warned
    assert warehouse.tables() == tables


def test_planner_cleanup_finds_the_tables_of_syncs_whose_source_left_the_warehouse(
    warehouse: Warehouse,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Tables no run will take over (their sync's runs left no mark of them, as versions
    before the mark did not) are found; those a run will take over are kept."""
    catalog = _cli_catalog(warehouse, tmp_path, monkeypatch)
    try:
        with catalog.session() as session:
            local = {**warehouse.config(), "planner": "local"}
            stale, pending = _mirror_syncs(
                session, local, tmp_path, "stale", "pending", one_object=False
            )
    finally:
        catalog.close()
    assert run(warehouse.source(), MemoryDestination(), sync_id=stale).status.value == "success"
    # This run marks its tables where the catalog's runs keep their snapshots.
    SNAPSHOTS.path = load_settings().snapshot_dir
    assert run(warehouse.source(), MemoryDestination(), sync_id=pending).status.value == ("success")

    assert run_cli(["planner", "cleanup", "--dry-run"]) == 0
    shown = _table_rows(capsys.readouterr().out, stale)
    assert [row[-1] for row in shown] == [str(stale)]
    assert run_cli(["planner", "cleanup"]) == 0
    assert [name for name in warehouse.tables() if name.startswith("sync_")] == [
        f"sync_{pending}_{table}" for table in ("failed", "journal", "meta", "snapshot")
    ]


def test_planner_cleanup_dry_run_lists_a_shared_databases_tables_once(
    warehouse: Warehouse,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    catalog = _cli_catalog(warehouse, tmp_path, monkeypatch)
    try:
        for workspace in ("first", "second"):
            with catalog.session() as session:
                session.workspaces.create(workspace)
            with catalog.session(workspace) as session:
                session.sources.create(
                    name="wh", slug="wh", type="postgres", configuration=warehouse.config()
                )
    finally:
        catalog.close()
    assert run(warehouse.source(), MemoryDestination(), sync_id=99).status.value == "success"

    assert run_cli(["planner", "cleanup", "--dry-run"]) == 0
    previewed = capsys.readouterr().out
    assert run_cli(["planner", "cleanup"]) == 0
    dropped = capsys.readouterr().out

    # The real run drops the tables through the first source; the second finds none.
    assert _table_rows(previewed) == _table_rows(dropped)
    assert [row[0] for row in _table_rows(dropped)] == ["first"]


def _table_rows(printed: str, sync_id: int = 99) -> list[list[str]]:
    """The cells of a printed table's rows that name sync ``sync_id``."""
    rows = [line.strip("│ ").split("│") for line in printed.splitlines() if f" {sync_id} " in line]
    return [[cell.strip() for cell in row] for row in rows]


def _mirror_syncs(
    session: Any, configuration: dict[str, Any], folder: Path, *slugs: str, one_object: bool = True
) -> list[int]:
    """Mirror syncs (ids, in order) of one table model on a PostgreSQL source with
    ``configuration`` into a CSV folder in ``folder``: all into object ``things``, or each
    into an object named after its slug."""
    source = session.sources.create(
        name="wh", slug="wh", type="postgres", configuration=configuration
    )
    destination = session.destinations.create(
        name="out", slug="out", type="csv", configuration={"path": str(folder / "o")}
    )
    model = session.models.create(
        name="m", slug="m", source=source, query_type="table", primary_key="id", table="model"
    )
    return [
        session.syncs.create(
            slug=slug,
            model=model,
            destination=destination,
            configuration={"mode": "mirror", "object": "things" if one_object else slug},
        ).id
        for slug in slugs
    ]


def _cli_catalog(warehouse: Warehouse, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Catalog:
    """The catalog of a Syncline home that the command line run in-process will use, with
    a warehouse of three rows."""
    monkeypatch.setenv("SYNCLINE_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("SYNCLINE_DATABASE_URL", raising=False)
    monkeypatch.setenv("COLUMNS", "200")
    warehouse.fill(3)
    return Catalog.open(load_settings())
