"""End to end: a maintained file deleted behind the sync's back is written again whole."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import duckdb
from file_helpers import read_records

from engine_runs import StrictReporter, run_sync
from syncline.connectors.destinations.base import Destination
from syncline.connectors.sources.duckdb.client import DuckDBSource
from syncline.engine.report import RunStatus
from syncline.engine.run import RunResult

ROWS = 15


def _model(tmp_path: Path) -> Path:
    path = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(path)) as conn:
        conn.execute(
            f"CREATE TABLE people AS SELECT i AS id, 'name ' || i AS name FROM range(1, {ROWS + 1})"
            " t(i)"
        )
    return path


def _rename_first(model: Path) -> None:
    with duckdb.connect(str(model)) as conn:
        conn.execute("UPDATE people SET name = 'renamed' WHERE id = 1")


def _expected(model: Path) -> list[dict[str, object]]:
    with duckdb.connect(str(model), read_only=True) as conn:
        rows = conn.execute("SELECT id, name FROM people ORDER BY id").fetchall()
    return [{"id": i, "name": n} for i, n in rows]


def _run(
    model: Path,
    destination: Destination,
    sync: dict[str, str],
    run_id: int,
    reporter: StrictReporter | None = None,
) -> RunResult:
    source = DuckDBSource.from_config({"path": str(model)})
    query = "SELECT id, name FROM people"
    snapshots = model.parent / "snapshots"
    reporter = reporter or StrictReporter()
    return run_sync(source, query, sync, destination, snapshots, run_id=run_id, reporter=reporter)


def test_a_deleted_maintained_file_is_written_again_with_every_row(
    kind: str, make: Callable[[], Destination], tmp_path: Path
) -> None:
    model = _model(tmp_path)
    sync = {"mode": "mirror", "object": f"people.{kind}"}
    path = tmp_path / "out" / f"people.{kind}"
    assert _run(model, make(), sync, 1).status is RunStatus.SUCCESS
    path.unlink()
    _rename_first(model)

    reporter = StrictReporter()
    resent = _run(model, make(), sync, 2, reporter)

    assert resent.status is RunStatus.SUCCESS
    assert resent.progress.planned.as_api() == {
        "addedCount": ROWS,
        "changedCount": 0,
        "removedCount": 0,
    }
    assert reporter.last.full_resync
    assert sorted(read_records(kind, path), key=lambda r: r["id"]) == _expected(model)
    assert _run(model, make(), sync, 3).progress.planned.total == 0


def test_a_maintained_file_deleted_while_the_run_plans_fails_the_run_and_the_next_refills_it(
    kind: str, make: Callable[[], Destination], tmp_path: Path
) -> None:
    model = _model(tmp_path)
    sync = {"mode": "upsert", "object": f"people.{kind}"}
    path = tmp_path / "out" / f"people.{kind}"
    assert _run(model, make(), sync, 1).status is RunStatus.SUCCESS
    _rename_first(model)

    failed = _run(model, make(), sync, 2, StrictReporter(on_progress=path.unlink))

    assert failed.status is RunStatus.FAILED
    assert failed.error is not None
    assert "was deleted while the run planned" in failed.error
    assert not path.exists()

    refilled = _run(model, make(), sync, 3)

    assert refilled.status is RunStatus.SUCCESS
    assert refilled.progress.planned.added == ROWS
    assert sorted(read_records(kind, path), key=lambda r: r["id"]) == _expected(model)


def test_a_deleted_file_of_an_earlier_run_sends_nothing_again(
    kind: str, make: Callable[[], Destination], tmp_path: Path
) -> None:
    model = _model(tmp_path)
    sync = {"mode": "upsert", "object": f"log_{{run_id}}.{kind}"}
    assert _run(model, make(), sync, 1).status is RunStatus.SUCCESS
    (tmp_path / "out" / f"log_1.{kind}").unlink()
    _rename_first(model)

    reporter = StrictReporter()
    result = _run(model, make(), sync, 2, reporter)

    assert result.status is RunStatus.SUCCESS
    assert result.progress.planned.as_api() == {
        "addedCount": 0,
        "changedCount": 1,
        "removedCount": 0,
    }
    assert not reporter.last.full_resync
    assert [r["id"] for r in read_records(kind, tmp_path / "out" / f"log_2.{kind}")] == [1]
