"""A sync moved to another model sends every row again and removes what the model lacks.

Applying such a move keeps the snapshot and makes every entry unknown (see
:func:`~syncline.engine.planner.store.restart_snapshot`): the next run plans each row
of the new model again and each key the sync delivered that the model lacks as removed,
and runs after it finish the work if it stops part-way.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from engine_doubles import Harness, MemoryDestination, people
from killed_runs import killed_run
from warehouse_doubles import LOCAL_VARIANTS, planner_kind, warehouse_source

from syncline.connectors.destinations.base import Capabilities, SyncMode
from syncline.engine.planner.store import note_strays, restart_snapshot, strays_note
from syncline.engine.planner.warehouse.restart import distrust_sync_state
from syncline.engine.report import RowCounts, RunStatus
from syncline.errors import TerminalError

OLD = [(i, f"n{i}", float(i)) for i in range(1, 21)]
NEW = [(i, f"n{i}", float(i)) for i in range(1, 13)]


def _restart(snapshot_dir: Path, sync: Harness) -> None:
    """Mark the sync's snapshot as applying its move to another model does."""
    if planner_kind() in LOCAL_VARIANTS:
        restart_snapshot(snapshot_dir, 7)
    else:
        assert distrust_sync_state(warehouse_source(sync.table, snapshot_dir), 7)


def _moved(tmp_path: Path, rows: list[tuple[int, str, float]] = NEW) -> Harness:
    """A mirror sync that delivered OLD, then moved to a model of ``rows``."""
    sync = Harness(
        tmp_path, people(OLD), {"mode": "mirror", "object": "p"}, "id", MemoryDestination()
    )
    assert sync.run().status is RunStatus.SUCCESS
    sync.sent()
    sync.destination.calls = 0
    sync.table = people(rows)
    _restart(tmp_path, sync)
    return sync


def _model(rows: list[tuple[int, str, float]]) -> dict[int, dict[str, object]]:
    return {i: {"id": i, "name": name, "score": score} for i, name, score in rows}


def test_a_moved_mirror_sends_every_row_and_removes_the_keys_the_model_lacks(
    tmp_path: Path,
) -> None:
    sync = _moved(tmp_path)

    result = sync.run()

    assert result.status is RunStatus.SUCCESS
    assert result.progress.planned.as_api() == {
        "addedCount": 12,
        "changedCount": 0,
        "removedCount": 8,
    }
    assert sync.destination.records == _model(NEW)
    assert sync.run().progress.planned.total == 0


def test_a_moved_sync_stopped_part_way_is_finished_by_the_next_run(tmp_path: Path) -> None:
    sync = _moved(tmp_path)
    sync.destination.raise_on_batch = lambda n: TerminalError("down") if n == 2 else None
    assert sync.run().status is RunStatus.FAILED
    first = sync.sent()
    assert len(first) == 4

    sync.destination.raise_on_batch = None
    resumed = sync.run()

    assert resumed.status is RunStatus.SUCCESS
    assert not set(first) & set(sync.sent()), "acknowledged rows are not sent again"
    assert sync.destination.records == _model(NEW)
    assert sync.run().progress.planned.total == 0


def test_a_moved_sync_in_upsert_mode_leaves_the_old_rows(tmp_path: Path) -> None:
    sync = _moved(tmp_path)
    sync.configuration = {"mode": "upsert", "object": "p"}

    result = sync.run()

    assert result.progress.planned.as_api()["addedCount"] == 12
    assert result.progress.planned.as_api()["removedCount"] == 0
    assert sync.destination.records == _model(OLD)
    assert sync.run().progress.planned.total == 0


class ClearingDestination(MemoryDestination):
    """A memory destination that can empty its object, as a clear and fill needs."""

    def __init__(self) -> None:
        super().__init__()
        self.capabilities = Capabilities(  # type: ignore[misc]
            modes=frozenset(SyncMode), max_batch_rows=4, max_concurrency=1, clears_objects=True
        )

    def clear(self) -> None:
        self.records.clear()


def test_every_run_warns_of_stray_records_until_a_clear_and_fill(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    sync = Harness(tmp_path, people(OLD), {"mode": "mirror", "object": "p"}, "id")
    sync.destination = ClearingDestination()
    sync.run()
    note_strays(tmp_path, 7, "records stay in object 'p'; trigger a clear-and-fill run")
    sync.table = people(NEW)

    with caplog.at_level(logging.WARNING, logger="syncline.engine.run"):
        sync.run()
        sync.run()
    warned = [r.getMessage() for r in caplog.records if "records stay" in r.getMessage()]
    assert warned == ["sync 7: records stay in object 'p'; trigger a clear-and-fill run"] * 2

    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="syncline.engine.run"):
        assert sync.run(clear_and_fill=True).status is RunStatus.SUCCESS
        sync.run()
    assert not [r for r in caplog.records if "records stay" in r.getMessage()]
    assert strays_note(tmp_path, 7) is None
    assert sync.destination.records == _model(NEW)


def test_a_run_killed_before_the_move_is_still_credited_its_rows(tmp_path: Path) -> None:
    # Killed after its third batch's outcome was journaled, before the run reported it.
    acked = killed_run(tmp_path, "sync.destination.armed = True\nsync.run()", kill_at="report")
    assert len(acked) == 12
    snapshots = tmp_path / "snapshots"
    sync = Harness(snapshots, people(NEW), {"mode": "mirror", "object": "p"}, "id")
    sync.destination.records = {int(key): _model(OLD)[int(key)] for key in acked}
    _restart(snapshots, sync)

    sync.run_id = 1  # the killed run was run 1
    resumed = sync.run()

    [settled] = sync.reporter.interrupted
    assert settled.successful == RowCounts(added=12)
    assert resumed.status is RunStatus.SUCCESS
    assert sync.destination.records == _model(NEW)
    assert sync.run().progress.planned.total == 0
