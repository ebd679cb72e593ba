"""An interrupted full resync (or clear and fill) is finished by whichever run comes next.

The run that resumes carries no flag: the planner's store remembers which rows the
resync has not delivered yet, so the next run sends exactly those, and no row the
interrupted run had acknowledged again.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import ClassVar
from unittest import mock

import pytest
from engine_doubles import ArrowSource, Harness, MemoryDestination, people
from killed_runs import killed_run

from syncline.connectors.destinations.base import Capabilities, SyncMode, WriteAction
from syncline.engine.planner.warehouse import WarehousePlanner
from syncline.engine.report import RunStatus
from syncline.errors import TerminalError

ROWS = [(i, f"n{i}", float(i)) for i in range(1, 21)]
ALL_KEYS = sorted(str(i) for i in range(1, 21))


class ClearingDestination(MemoryDestination):
    """A memory destination that can empty its object, as ``clearAndFill`` needs."""

    capabilities: ClassVar[Capabilities] = Capabilities(
        modes=frozenset(SyncMode), max_batch_rows=4, max_concurrency=1, clears_objects=True
    )

    def __init__(self) -> None:
        super().__init__()
        self.capabilities = Capabilities(  # type: ignore[misc]
            modes=frozenset(SyncMode), max_batch_rows=4, max_concurrency=1, clears_objects=True
        )
        self.clears = 0
        self.fail_clear = False

    def clear(self) -> None:
        if self.fail_clear:
            raise TerminalError("object locked")
        self.clears += 1
        self.records.clear()


def _synced(tmp_path: Path, destination: MemoryDestination | None = None) -> Harness:
    """A mirror sync that ran once, its destination then changed out of band."""
    sync = Harness(
        tmp_path,
        people(ROWS),
        {"mode": "mirror", "object": "p"},
        "id",
        destination or MemoryDestination(),
    )
    assert sync.run().status is RunStatus.SUCCESS
    sync.sent()
    sync.destination.calls = 0
    for record in sync.destination.records.values():
        record["name"] = "stale"
    return sync


def _model(rows: list[tuple[int, str, float]]) -> dict[int, dict[str, object]]:
    return {i: {"id": i, "name": name, "score": score} for i, name, score in rows}


def test_next_run_finishes_a_failed_full_resync_without_resending(tmp_path: Path) -> None:
    sync = _synced(tmp_path)
    sync.destination.raise_on_batch = lambda n: TerminalError("token revoked") if n == 3 else None
    failed = sync.run(full_resync=True)
    assert failed.status is RunStatus.FAILED
    first = sync.sent()
    assert len(first) == 8

    sync.destination.raise_on_batch = None
    resumed = sync.run()

    assert resumed.status is RunStatus.SUCCESS
    assert resumed.progress.planned.as_api() == {
        "addedCount": 12,
        "changedCount": 0,
        "removedCount": 0,
    }
    second = sync.sent()
    assert not set(first) & set(second)
    assert sorted(first + second) == ALL_KEYS
    assert sync.destination.records == _model(ROWS)
    # The resync is complete: nothing is left to send.
    assert sync.run().progress.planned.total == 0


def test_a_cancelled_full_resync_is_finished_by_the_next_run(tmp_path: Path) -> None:
    sync = _synced(tmp_path)
    cancelled = sync.run(full_resync=True, cancel_after=4)
    assert cancelled.status is RunStatus.CANCELLED
    first = sync.sent()
    assert 0 < len(first) < 20

    resumed = sync.run()

    assert resumed.status is RunStatus.SUCCESS
    assert sorted(first + sync.sent()) == ALL_KEYS
    assert sync.destination.records == _model(ROWS)


def test_the_resumption_plans_the_models_changes_since(tmp_path: Path) -> None:
    sync = _synced(tmp_path)
    sync.destination.raise_on_batch = lambda n: TerminalError("down") if n == 3 else None
    sync.run(full_resync=True)
    first = set(sync.sent())
    assert first == {str(i) for i in range(1, 9)}

    # Row 2 (delivered) changes, row 15 (not reached) leaves the model, row 21 is new.
    rows = [(i, name, score) for i, name, score in ROWS if i != 15]
    rows[1] = (2, "renamed", 2.0)
    rows.append((21, "n21", 21.0))
    sync.table = people(rows)
    sync.destination.raise_on_batch = None
    resumed = sync.run()

    assert resumed.status is RunStatus.SUCCESS
    assert resumed.progress.planned.as_api() == {
        "addedCount": 12,
        "changedCount": 1,
        "removedCount": 1,
    }
    assert sync.destination.records == _model(rows)


def test_a_full_resync_still_leaves_removed_rows_alone(tmp_path: Path) -> None:
    sync = _synced(tmp_path)
    # Row 20 left the model before the resync: a full resync does not remove it, even
    # when a later run has to finish the resync.
    sync.table = people(ROWS[:-1])
    sync.destination.raise_on_batch = lambda n: TerminalError("down") if n == 2 else None
    sync.run(full_resync=True)
    sync.sent()

    sync.destination.raise_on_batch = None
    resumed = sync.run()

    assert resumed.status is RunStatus.SUCCESS
    assert resumed.progress.planned.removed == 0
    assert 20 in sync.destination.records
    assert sync.run().progress.planned.total == 0


def test_a_dry_run_shows_the_rest_of_the_resync_and_keeps_it_pending(tmp_path: Path) -> None:
    sync = _synced(tmp_path)
    sync.destination.raise_on_batch = lambda n: TerminalError("down") if n == 3 else None
    sync.run(full_resync=True)
    sync.sent()
    sync.destination.raise_on_batch = None

    dry = sync.run(dry_run=True)
    assert dry.progress.planned.added == 12
    assert sync.sent() == []

    assert sync.run().progress.planned.added == 12
    assert sync.destination.records == _model(ROWS)


def test_reset_cdc_gives_up_a_pending_full_resync(tmp_path: Path) -> None:
    sync = _synced(tmp_path)
    sync.destination.raise_on_batch = lambda n: TerminalError("down") if n == 3 else None
    sync.run(full_resync=True)
    sync.sent()
    sync.destination.raise_on_batch = None

    assert sync.run(reset_cdc=True).status is RunStatus.SUCCESS

    assert sync.run().progress.planned.total == 0
    assert sync.sent() == []


def test_an_interrupted_clear_and_fill_does_not_clear_again(tmp_path: Path) -> None:
    destination = ClearingDestination()
    sync = _synced(tmp_path, destination)
    destination.raise_on_batch = lambda n: TerminalError("down") if n == 3 else None
    failed = sync.run(clear_and_fill=True)
    assert failed.status is RunStatus.FAILED
    assert destination.clears == 1
    first = sync.sent()
    assert len(first) == 8

    destination.raise_on_batch = None
    resumed = sync.run()

    assert resumed.status is RunStatus.SUCCESS
    assert destination.clears == 1
    second = sync.sent()
    assert not set(first) & set(second)
    assert sorted(first + second) == ALL_KEYS
    assert destination.records == _model(ROWS)


def test_a_clear_that_failed_is_done_by_the_next_run(tmp_path: Path) -> None:
    destination = ClearingDestination()
    sync = _synced(tmp_path, destination)
    destination.records[99] = {"id": 99, "name": "stray", "score": 0.0}
    destination.fail_clear = True
    failed = sync.run(clear_and_fill=True)
    assert failed.status is RunStatus.FAILED
    assert sync.sent() == []

    destination.fail_clear = False
    resumed = sync.run()

    assert resumed.status is RunStatus.SUCCESS
    assert destination.clears == 1
    assert sync.sent() == ALL_KEYS
    assert destination.records == _model(ROWS)
    assert sync.run().progress.planned.total == 0


@contextmanager
def _stopped_during_the_query() -> Iterator[None]:
    """Stop the run as SIGTERM does while the model's query runs, on either planner."""
    stop = mock.Mock(side_effect=KeyboardInterrupt)
    with (
        mock.patch.object(ArrowSource, "read", stop),
        mock.patch.object(WarehousePlanner, "ingest", stop),
        pytest.raises(KeyboardInterrupt),
    ):
        yield


@pytest.mark.parametrize("flag", ["full_resync", "clear_and_fill"])
def test_a_resync_cancelled_before_its_first_batch_is_finished_by_the_next_run(
    tmp_path: Path, flag: str
) -> None:
    destination = ClearingDestination()
    sync = _synced(tmp_path, destination)
    # The first progress report comes once the run is planned: it stops before sending.
    cancelled = sync.run(cancel_after=1, **{flag: True})
    assert cancelled.status is RunStatus.CANCELLED
    assert sync.sent() == []

    # A dry run shows the resync still to do, and leaves it pending.
    assert sync.run(dry_run=True).progress.planned.added == 20
    resumed = sync.run()

    assert resumed.status is RunStatus.SUCCESS
    assert resumed.progress.planned.added == 20
    assert sync.sent() == ALL_KEYS
    assert destination.records == _model(ROWS)
    assert destination.clears == (1 if flag == "clear_and_fill" else 0)
    assert sync.run().progress.planned.total == 0


@pytest.mark.parametrize("flag", ["full_resync", "clear_and_fill"])
def test_a_resync_stopped_during_the_query_is_finished_by_the_next_run(
    tmp_path: Path, flag: str
) -> None:
    destination = ClearingDestination()
    sync = _synced(tmp_path, destination)
    with _stopped_during_the_query():
        sync.run(**{flag: True})
    # A run stopped in turn before it sends keeps the resync pending too.
    with _stopped_during_the_query():
        sync.run()

    resumed = sync.run()

    assert resumed.status is RunStatus.SUCCESS
    assert resumed.progress.full_resync
    assert sync.sent() == ALL_KEYS
    assert destination.records == _model(ROWS)
    assert destination.clears == (1 if flag == "clear_and_fill" else 0)
    assert sync.run().progress.planned.total == 0


def test_a_clear_owed_to_a_destination_that_cannot_clear_says_how_to_give_it_up(
    tmp_path: Path,
) -> None:
    sync = _synced(tmp_path, ClearingDestination())
    sync.run(clear_and_fill=True, cancel_after=1)
    sync.destination = MemoryDestination()

    failed = sync.run()

    assert failed.status is RunStatus.FAILED
    assert failed.code == "CLEAR_NOT_SUPPORTED"
    assert "stopped clear and fill" in (failed.error or "")
    assert "resetCDC" in (failed.error or "")
    assert sync.run(reset_cdc=True).status is RunStatus.SUCCESS
    assert sync.run().status is RunStatus.SUCCESS


def test_reset_cdc_gives_up_a_resync_that_never_started(tmp_path: Path) -> None:
    sync = _synced(tmp_path)
    sync.run(full_resync=True, cancel_after=1)

    assert sync.run(reset_cdc=True).status is RunStatus.SUCCESS

    assert sync.run().progress.planned.total == 0


def test_a_killed_full_resync_is_finished_by_the_next_run(tmp_path: Path) -> None:
    snapshots = tmp_path / "snapshots"
    written = killed_run(
        tmp_path,
        """
        sync.run()
        sync.destination.calls = 0
        sync.destination.armed = True
        sync.run(full_resync=True)
        """,
    )
    # The first run wrote all 20 rows; the resync acknowledged its first two batches.
    resync_acked = written[20:]
    assert len(resync_acked) == 8

    sync = Harness(snapshots, people(ROWS), {"mode": "mirror", "object": "p"}, "id")
    resumed = sync.run()

    assert resumed.status is RunStatus.SUCCESS
    resent = sync.sent()
    assert not set(resent) & set(resync_acked)
    # The batch in flight at the kill is in doubt and sent again, with the rest.
    assert sorted(resent + resync_acked) == ALL_KEYS
    assert resumed.progress.planned.added == 12


def test_a_full_resync_warns_of_the_records_it_leaves_in_the_destination(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    sync = _synced(tmp_path)
    # Five rows leave the model before the full resync, which processes no removals.
    sync.table = people(ROWS[5:])

    with caplog.at_level(logging.WARNING, logger="syncline.engine.run"):
        dry = sync.run(full_resync=True, dry_run=True)
        resynced = sync.run(full_resync=True)

    for result in (dry, resynced):
        assert result.status is RunStatus.SUCCESS
        assert result.progress.left_in_destination == 5
    assert len(sync.destination.records) == len(ROWS), "nothing was removed"
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2
    assert "5 records" in warnings[1]
    assert "clear and fill" in warnings[1]
    # Once resynced, those records are no run's to remove: the next run plans nothing.
    after = sync.run()
    assert after.progress.planned.total == 0
    assert after.progress.left_in_destination == 0


def test_a_full_resync_that_leaves_one_record_says_record(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    sync = _synced(tmp_path)
    sync.table = people(ROWS[1:])

    with caplog.at_level(logging.WARNING, logger="syncline.engine.run"):
        sync.run(full_resync=True)

    [warning] = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert "so 1 record the last snapshot held for rows no longer in the model stays" in warning


def test_a_full_resync_of_a_sync_that_removes_nothing_does_not_warn(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    sync = Harness(tmp_path, people(ROWS), {"mode": "upsert", "object": "p"}, "id")
    assert sync.run().status is RunStatus.SUCCESS
    sync.table = people(ROWS[5:])

    with caplog.at_level(logging.WARNING, logger="syncline.engine.run"):
        resynced = sync.run(full_resync=True)

    assert resynced.progress.left_in_destination == 0
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []


def test_insert_mode_never_upserts_a_row_its_full_resync_found_existing(tmp_path: Path) -> None:
    sync = Harness(tmp_path, people(ROWS[:3]), {"mode": "insert", "object": "p"})
    assert sync.run().status is RunStatus.SUCCESS
    sync.destination.records[2]["name"] = "edited in the destination"

    # Every row exists already: the resync's inserts are all rejected.
    resync = sync.run(full_resync=True)
    assert resync.status is RunStatus.WARNING, resync.error
    assert resync.progress.failed.added == 3
    sync.destination.batches.clear()

    after = sync.run()

    assert after.error is None
    assert sync.destination.records[2]["name"] == "edited in the destination"
    assert {batch.action for batch in sync.destination.batches} <= {WriteAction.INSERT}
    assert after.progress.successful.added == 0
