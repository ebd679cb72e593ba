"""A destination object that disappeared (a dropped table, a deleted file) is filled again.

The snapshot records what the destination acknowledged. Once the object that held those
records is gone, the snapshot no longer tells what the destination holds, so the run that
finds it gone sends every model row, as a full resync does, and says so.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from engine_doubles import Harness, LastingDestination, people
from killed_runs import killed_run

from syncline.engine.report import RunStatus
from syncline.errors import TerminalError

ROWS = [(i, f"n{i}", float(i)) for i in range(1, 21)]
ALL_KEYS = sorted(str(i) for i in range(1, 21))


def _model(rows: list[tuple[int, str, float]]) -> dict[int, dict[str, object]]:
    return {i: {"id": i, "name": name, "score": score} for i, name, score in rows}


def _synced(tmp_path: Path, mode: str = "mirror") -> Harness:
    """A sync that ran once into a destination object it created."""
    sync = Harness(
        tmp_path, people(ROWS), {"mode": mode, "object": "p"}, "id", LastingDestination()
    )
    assert sync.run().status is RunStatus.SUCCESS
    assert sync.sent() == ALL_KEYS
    sync.destination.calls = 0
    return sync


def test_a_run_that_finds_the_object_gone_sends_every_row(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    sync = _synced(tmp_path)
    sync.destination.drop()
    # One row changed since: the resend carries it too, as one more added row.
    rows = [(1, "renamed", 1.0), *ROWS[1:]]
    sync.table = people(rows)

    with caplog.at_level(logging.WARNING, logger="syncline.engine.run"):
        result = sync.run()

    assert result.status is RunStatus.SUCCESS
    assert result.progress.planned.as_api() == {
        "addedCount": 20,
        "changedCount": 0,
        "removedCount": 0,
    }
    assert sync.sent() == ALL_KEYS
    assert sync.destination.records == _model(rows)
    assert sync.destination.created == 2
    assert result.progress.full_resync
    # Nothing is left to send: the resend is complete.
    again = sync.run()
    assert again.progress.planned.total == 0
    assert not again.progress.full_resync


def test_the_warning_names_the_sync_and_the_object_and_no_row_data(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    sync = _synced(tmp_path)
    sync.destination.drop()

    with caplog.at_level(logging.WARNING, logger="syncline.engine.run"):
        sync.run()

    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    message = warnings[0].getMessage()
    assert "sync 7" in message
    assert "'p'" in message
    assert "every model row" in message
    assert not any(f"n{i}" in message.split() for i in range(1, 21))


def test_a_first_run_into_a_missing_object_is_no_resend(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    sync = Harness(
        tmp_path, people(ROWS), {"mode": "mirror", "object": "p"}, "id", LastingDestination()
    )

    with caplog.at_level(logging.WARNING, logger="syncline.engine.run"):
        result = sync.run()

    assert result.status is RunStatus.SUCCESS
    assert result.progress.planned.added == 20
    assert not result.progress.full_resync
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []


def test_an_object_still_there_gets_only_the_changes(tmp_path: Path) -> None:
    sync = _synced(tmp_path)
    rows = [(1, "renamed", 1.0), *ROWS[1:-1]]
    sync.table = people(rows)

    result = sync.run()

    assert result.progress.planned.as_api() == {
        "addedCount": 0,
        "changedCount": 1,
        "removedCount": 1,
    }
    assert sync.sent() == ["1", "20"]
    assert not result.progress.full_resync
    assert sync.destination.created == 1


def test_an_insert_sync_fills_its_dropped_object_again(tmp_path: Path) -> None:
    sync = _synced(tmp_path, mode="insert")
    sync.destination.drop()

    result = sync.run()

    assert result.status is RunStatus.SUCCESS
    assert sync.sent() == ALL_KEYS
    assert sync.destination.records == _model(ROWS)


def test_a_resend_that_fails_part_way_is_finished_by_the_next_run(tmp_path: Path) -> None:
    sync = _synced(tmp_path)
    sync.destination.drop()
    sync.destination.raise_on_batch = lambda n: TerminalError("down") if n == 3 else None
    failed = sync.run()
    assert failed.status is RunStatus.FAILED
    first = sync.sent()
    assert len(first) == 8

    # The object exists again, with the rows the failed run delivered: the next run
    # sends the others, and none of those again.
    sync.destination.raise_on_batch = None
    resumed = sync.run()

    assert resumed.status is RunStatus.SUCCESS
    assert resumed.progress.planned.added == 12
    second = sync.sent()
    assert not set(first) & set(second)
    assert sorted(first + second) == ALL_KEYS
    assert sync.destination.records == _model(ROWS)
    assert sync.run().progress.planned.total == 0


def test_a_dry_run_does_not_look_at_the_destination(tmp_path: Path) -> None:
    sync = _synced(tmp_path)
    sync.destination.drop()

    dry = sync.run(dry_run=True)

    assert dry.progress.planned.total == 0
    assert not dry.progress.full_resync
    # The real run that follows still finds the object gone.
    assert sync.run().progress.planned.added == 20
    assert sync.destination.records == _model(ROWS)


def test_a_resend_killed_mid_way_is_finished_by_the_next_run(tmp_path: Path) -> None:
    snapshots = tmp_path / "snapshots"
    written = killed_run(
        tmp_path,
        """
        sync.run()
        sync.destination.drop()
        sync.destination.calls = 0
        sync.destination.armed = True
        sync.run()
        """,
        destination="LastingDestination",
    )
    # The first run wrote all 20 rows; the resend acknowledged its first two batches
    # into the object it created again.
    resend_acked = written[20:]
    assert len(resend_acked) == 8

    destination = LastingDestination()
    destination.exists = True
    sync = Harness(snapshots, people(ROWS), {"mode": "mirror", "object": "p"}, "id", destination)
    resumed = sync.run()

    assert resumed.status is RunStatus.SUCCESS
    resent = sync.sent()
    assert not set(resent) & set(resend_acked)
    # The batch in flight at the kill is in doubt and sent again, with the rest.
    assert sorted(resent + resend_acked) == ALL_KEYS
    assert resumed.progress.planned.added == 12
