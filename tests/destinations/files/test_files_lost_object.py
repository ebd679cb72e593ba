"""End to end: a maintained file deleted behind the sync's back is written again whole."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import duckdb
from file_helpers import read_records

from syncline.connectors.destinations.base import Destination
from syncline.connectors.sources.duckdb.client import DuckDBSource
from syncline.engine.config import SyncConfiguration
from syncline.engine.report import (
    InterruptedOutcome,
    RejectedRow,
    RunProgress,
    RunStatus,
    SucceededRows,
)
from syncline.engine.run import RunJob, RunResult, execute_run

ROWS = 15


class _Reporter:
    """Keeps the last progress; ``on_progress`` runs at the first progress call, which
    comes after the run looked for its file and before it opens it."""

    def __init__(self, on_progress: Callable[[], None] | None = None) -> None:
        self.last = RunProgress()
        self.on_progress = on_progress

    def stage(self, status: RunStatus) -> None:
        return None

    def progress(self, progress: RunProgress) -> None:
        self.last = progress
        if self.on_progress is not None:
            self.on_progress()
            self.on_progress = None

    def rejected(self, rows: list[RejectedRow]) -> None:
        raise AssertionError(f"rows rejected: {rows}")

    def succeeded(self, rows: SucceededRows) -> None:
        return None

    def settle_interrupted(self, outcome: InterruptedOutcome) -> None:
        return None

    def cancel_requested(self) -> bool:
        return False


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
    reporter: _Reporter | None = None,
) -> RunResult:
    job = RunJob(
        sync_id=5,
        run_id=run_id,
        source=DuckDBSource.from_config({"path": str(model)}),
        model_query="SELECT id, name FROM people",
        primary_key="id",
        configuration=SyncConfiguration.parse(sync),
        destination=destination,
        snapshot_dir=model.parent / "snapshots",
    )
    return execute_run(job, reporter or _Reporter())


def test_a_deleted_maintained_file_is_written_again_with_every_row(
    kind: str, make: Callable[[], Destination], tmp_path: Path
) -> None:
    model = _model(tmp_path)
    sync = {"mode": "mirror", "object": f"people.{kind}"}
    path = tmp_path / "out" / f"people.{kind}"
    assert _run(model, make(), sync, 1).status is RunStatus.SUCCESS
    path.unlink()
    _rename_first(model)

    reporter = _Reporter()
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

    failed = _run(model, make(), sync, 2, _Reporter(on_progress=path.unlink))

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

    reporter = _Reporter()
    result = _run(model, make(), sync, 2, reporter)

    assert result.status is RunStatus.SUCCESS
    assert result.progress.planned.as_api() == {
        "addedCount": 0,
        "changedCount": 1,
        "removedCount": 0,
    }
    assert not reporter.last.full_resync
    assert [r["id"] for r in read_records(kind, tmp_path / "out" / f"log_2.{kind}")] == [1]
