"""A PostgreSQL permission error part way through a run keeps the batches written before it."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from table_backends import (
    Backend,
    own_postgres_backend,  # noqa: F401 - the module's backend fixture
)

from engine_runs import run_sync
from syncline.connectors.registry import destination_class, source_class
from syncline.engine.report import RunStatus
from syncline.engine.run import RunResult

pytestmark = pytest.mark.postgres


def _run(backend: Backend, model: Path, table: str, snapshots: Path, run_id: int) -> RunResult:
    return run_sync(
        source_class("duckdb").from_config({"path": str(model)}),
        "SELECT id, name FROM people ORDER BY id",
        {"mode": "upsert", "object": table},
        destination_class(backend.kind).from_config({**backend.config, "batch_size": 50}),
        snapshots,
        run_id=run_id,
    )


def test_a_permission_error_on_a_later_batch_keeps_the_earlier_ones(
    backend: Backend, table: str, tmp_path: Path
) -> None:
    model = tmp_path / "model.duckdb"
    with duckdb.connect(str(model)) as conn:
        conn.execute(
            "CREATE TABLE people AS SELECT i AS id, 'n' || i AS name FROM range(1, 251) t(i)"
        )
    backend.sql(f"CREATE TABLE {table} (id bigint PRIMARY KEY, name text)")
    # The fourth batch (ids 151 to 200) is refused as a revoked privilege would refuse it.
    backend.sql(
        f"CREATE FUNCTION {table}_deny() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "IF NEW.id > 150 THEN RAISE insufficient_privilege USING MESSAGE = 'permission "
        "denied for table people'; END IF; RETURN NEW; END $$"
    )
    backend.sql(
        f"CREATE TRIGGER deny BEFORE INSERT OR UPDATE ON {table} "
        f"FOR EACH ROW EXECUTE FUNCTION {table}_deny()"
    )

    failed = _run(backend, model, table, tmp_path / "snapshots", 1)

    assert failed.status is RunStatus.FAILED
    assert failed.error is not None
    assert "permission denied" in failed.error
    assert failed.progress.successful.added == 150
    assert backend.sql(f"SELECT min(id), max(id), count(*) FROM {table}") == [(1, 150, 150)]

    backend.sql(f"DROP TRIGGER deny ON {table}")
    resumed = _run(backend, model, table, tmp_path / "snapshots", 2)

    assert resumed.status is RunStatus.SUCCESS, resumed.error
    assert resumed.progress.planned.added == 100
    assert resumed.progress.successful.added == 100
    assert backend.sql(f"SELECT count(*) FROM {table}") == [(250,)]
