"""End to end: the engine's mirror runs leave each table equal to the model."""

from __future__ import annotations

from pathlib import Path

import duckdb
from table_backends import Backend

from engine_runs import QuietReporter, run_sync
from syncline.connectors.registry import destination_class, source_class
from syncline.engine.report import RunStatus


def _run(backend: Backend, model: Path, table: str, snapshots: Path, run_id: int) -> RunStatus:
    sync = {
        "mode": "mirror",
        "object": table,
        "mappings": [
            {"type": "standard", "from": "id", "to": "id"},
            {"type": "standard", "from": "name", "to": "name"},
            {"type": "standard", "from": "amount", "to": "amount"},
        ],
        "guards": {"maxRemovedShare": 1},
    }
    reporter = QuietReporter()
    result = run_sync(
        source_class("duckdb").from_config({"path": str(model)}),
        "SELECT id, name, amount FROM people",
        sync,
        destination_class(backend.kind).from_config(backend.config),
        snapshots,
        run_id=run_id,
        reporter=reporter,
    )
    assert result.error is None
    assert reporter.rejected_rows == []
    return result.status


def test_mirror_runs_converge_on_the_model(backend: Backend, table: str, tmp_path: Path) -> None:
    model = tmp_path / "model.duckdb"
    with duckdb.connect(str(model)) as conn:
        conn.execute(
            "CREATE TABLE people AS SELECT i AS id, 'name ' || i AS name, "
            "(i * 1.25)::DECIMAL(12, 2) AS amount FROM range(1000) t(i)"
        )

    assert _run(backend, model, table, tmp_path / "snapshots", 1) is RunStatus.SUCCESS

    with duckdb.connect(str(model)) as conn:
        conn.execute("UPDATE people SET name = NULL WHERE id % 10 = 0")
        conn.execute("UPDATE people SET name = '' WHERE id % 10 = 1")
        conn.execute("DELETE FROM people WHERE id % 7 = 3")
        conn.execute("INSERT INTO people VALUES (5000, 'new', 0.01)")
        expected = conn.execute("SELECT id, name, amount FROM people ORDER BY id").fetchall()

    assert _run(backend, model, table, tmp_path / "snapshots", 2) is RunStatus.SUCCESS

    rows = backend.sql(f"SELECT id, name, amount FROM {table} ORDER BY id")
    assert [(i, n, backend.decode("decimal", a)) for i, n, a in rows] == expected
