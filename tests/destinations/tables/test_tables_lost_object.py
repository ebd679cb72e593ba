"""End to end: a table dropped behind the sync's back is filled again with every row."""

from __future__ import annotations

from pathlib import Path

import duckdb
from table_backends import Backend

from engine_runs import QuietReporter, run_sync
from syncline.connectors.registry import destination_class, source_class
from syncline.engine.run import RunResult

ROWS = 15


def _model(path: Path) -> Path:
    with duckdb.connect(str(path)) as conn:
        conn.execute(
            f"CREATE TABLE people AS SELECT i AS id, 'name ' || i AS name FROM range(1, {ROWS + 1})"
            " t(i)"
        )
    return path


def _run(
    backend: Backend,
    model: Path,
    table: str,
    run_id: int,
    *,
    create: bool = True,
    reporter: QuietReporter | None = None,
) -> RunResult:
    sync = {
        "mode": "mirror",
        "object": table,
        "mappings": [
            {"type": "standard", "from": "id", "to": "id"},
            {"type": "standard", "from": "name", "to": "name"},
        ],
        "createObject": create,
    }
    return run_sync(
        source_class("duckdb").from_config({"path": str(model)}),
        "SELECT id, name FROM people",
        sync,
        destination_class(backend.kind).from_config(backend.config),
        model.parent / "snapshots",
        run_id=run_id,
        reporter=reporter,
    )


def _rows(backend: Backend, table: str) -> list[tuple[object, ...]]:
    return [(int(i), n) for i, n in backend.sql(f"SELECT id, name FROM {table} ORDER BY id")]


def _expected(model: Path) -> list[tuple[object, ...]]:
    with duckdb.connect(str(model), read_only=True) as conn:
        return conn.execute("SELECT id, name FROM people ORDER BY id").fetchall()


def test_a_dropped_table_is_created_again_with_every_row(
    backend: Backend, table: str, tmp_path: Path
) -> None:
    model = _model(tmp_path / "model.duckdb")
    assert _run(backend, model, table, 1).error is None
    backend.sql(f"DROP TABLE {table}")
    with duckdb.connect(str(model)) as conn:
        conn.execute("UPDATE people SET name = 'renamed' WHERE id = 1")

    reporter = QuietReporter()
    resent = _run(backend, model, table, 2, reporter=reporter)

    assert resent.error is None
    assert resent.progress.planned.as_api() == {
        "addedCount": ROWS,
        "changedCount": 0,
        "removedCount": 0,
    }
    assert reporter.last.full_resync
    assert _rows(backend, table) == _expected(model)
    # The table is whole again: the next run has nothing to send.
    assert _run(backend, model, table, 3).progress.planned.total == 0
    assert _rows(backend, table) == _expected(model)


def test_a_dropped_table_the_sync_may_not_create_fails_the_runs_until_it_is_back(
    backend: Backend, table: str, tmp_path: Path
) -> None:
    model = _model(tmp_path / "model.duckdb")
    assert _run(backend, model, table, 1).error is None
    backend.sql(f"DROP TABLE {table}")

    failed = _run(backend, model, table, 2, create=False)

    assert failed.status.value == "failed"
    assert failed.error is not None
    assert "does not exist" in failed.error
    assert "createObject" in failed.error

    # Created again by hand, empty: the snapshot is not trusted, every row goes to it.
    backend.sql(f"CREATE TABLE {table} (id BIGINT PRIMARY KEY, name VARCHAR(100))")
    refilled = _run(backend, model, table, 3, create=False)

    assert refilled.error is None
    assert refilled.progress.planned.added == ROWS
    assert _rows(backend, table) == _expected(model)


def test_a_table_dropped_while_the_run_plans_fails_the_run_and_the_next_refills_it(
    backend: Backend, table: str, tmp_path: Path
) -> None:
    model = _model(tmp_path / "model.duckdb")
    assert _run(backend, model, table, 1).error is None
    with duckdb.connect(str(model)) as conn:
        conn.execute("UPDATE people SET name = 'renamed' WHERE id = 1")

    dropping = QuietReporter(on_progress=lambda: backend.sql(f"DROP TABLE {table}"))
    failed = _run(backend, model, table, 2, reporter=dropping)

    assert failed.status.value == "failed"
    assert failed.error is not None
    assert "was dropped while the run planned" in failed.error

    refilled = _run(backend, model, table, 3)

    assert refilled.error is None
    assert refilled.progress.planned.added == ROWS
    assert _rows(backend, table) == _expected(model)


def test_a_table_still_there_gets_only_the_changes(
    backend: Backend, table: str, tmp_path: Path
) -> None:
    model = _model(tmp_path / "model.duckdb")
    assert _run(backend, model, table, 1).error is None
    with duckdb.connect(str(model)) as conn:
        conn.execute("UPDATE people SET name = 'renamed' WHERE id = 1")

    reporter = QuietReporter()
    result = _run(backend, model, table, 2, reporter=reporter)

    assert result.error is None
    assert result.progress.planned.as_api() == {
        "addedCount": 0,
        "changedCount": 1,
        "removedCount": 0,
    }
    assert not reporter.last.full_resync
    assert _rows(backend, table) == _expected(model)


def test_a_duckdb_table_dropped_beside_its_model_in_one_file_is_filled_again(
    tmp_path: Path,
) -> None:
    # The run looks for the table, then reads the model again from the same file: DuckDB
    # refuses the source's read-only connection beside a writing one left open.
    database = _model(tmp_path / "warehouse.duckdb")
    config = {"path": str(database)}

    def run(run_id: int) -> RunResult:
        return run_sync(
            source_class("duckdb").from_config(config),
            "SELECT id, name FROM people",
            {"mode": "mirror", "object": "synced"},
            destination_class("duckdb").from_config(config),
            tmp_path / "snapshots",
            run_id=run_id,
        )

    assert run(1).error is None
    with duckdb.connect(str(database)) as conn:
        conn.execute("DROP TABLE synced")

    resent = run(2)

    assert resent.error is None
    assert resent.progress.planned.added == ROWS
    with duckdb.connect(str(database), read_only=True) as conn:
        assert conn.execute("SELECT count(*) FROM synced").fetchall() == [(ROWS,)]
