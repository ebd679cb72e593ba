"""Checkpointing: every acknowledged batch is committed; the next run sends only the rest."""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path

import pytest
from engine_doubles import Harness, MemoryDestination, people
from killed_runs import killed_run

from syncline.connectors.destinations.base import BatchResult, WriteBatch, WriteContext
from syncline.engine.delivery import RetryPolicy
from syncline.engine.report import Operation, RowCounts, RunStatus
from syncline.errors import TerminalError, TransientError

ROWS = [(i, f"n{i}", float(i)) for i in range(1, 21)]
ALL_KEYS = sorted(str(i) for i in range(1, 21))


def harness(tmp_path: Path, *, max_batch_rows: int = 4, max_concurrency: int = 1) -> Harness:
    destination = MemoryDestination(max_batch_rows=max_batch_rows, max_concurrency=max_concurrency)
    return Harness(tmp_path, people(ROWS), {"mode": "mirror", "object": "p"}, "id", destination)


def test_terminal_error_keeps_acknowledged_batches(tmp_path: Path) -> None:
    sync = harness(tmp_path)
    sync.destination.raise_on_batch = lambda n: TerminalError("token revoked") if n == 3 else None
    failed = sync.run()
    assert failed.status is RunStatus.FAILED
    assert failed.error == "token revoked"
    assert failed.progress.successful.added == 8
    assert not sync.destination.finished
    assert sync.destination.closed
    first = sync.sent()
    assert len(first) == 8

    sync.destination.raise_on_batch = None
    resumed = sync.run()
    assert resumed.status is RunStatus.SUCCESS
    assert resumed.progress.planned.added == 12
    second = sync.sent()
    assert sorted(first + second) == ALL_KEYS
    assert len(sync.destination.records) == 20


def test_transient_error_is_retried(tmp_path: Path) -> None:
    sync = harness(tmp_path)
    sync.destination.raise_on_batch = lambda n: TransientError("503") if n in (2, 3) else None
    result = sync.run()
    assert result.status is RunStatus.SUCCESS
    assert sync.destination.calls == 7
    assert sync.sent() == ALL_KEYS


def test_transient_error_that_persists_fails_the_run(tmp_path: Path) -> None:
    sync = harness(tmp_path)
    sync.destination.raise_on_batch = lambda n: TransientError("down") if n >= 2 else None
    result = sync.run()
    assert result.status is RunStatus.FAILED
    assert result.error == "down"
    assert sync.destination.calls == 1 + 3  # one batch, then one batch tried three times
    assert len(sync.sent()) == 4

    sync.destination.raise_on_batch = None
    assert sync.run().progress.planned.added == 16


def test_retry_delay_honours_retry_after_and_grows() -> None:
    policy = RetryPolicy(retries=5, base_delay=1.0, max_delay=8.0)
    assert 0.5 <= policy.delay(1, None) <= 1.0
    assert 2.0 <= policy.delay(3, None) <= 4.0
    assert 4.0 <= policy.delay(6, None) <= 8.0
    assert policy.delay(1, 12.5) == 12.5


def test_cancel_between_batches(tmp_path: Path) -> None:
    sync = harness(tmp_path)
    # Progress is reported once after querying, once after planning, then per batch.
    cancelled = sync.run(cancel_after=4)
    assert cancelled.status is RunStatus.CANCELLED
    assert cancelled.progress.successful.added == 8
    assert not sync.destination.finished
    first = sync.sent()

    resumed = sync.run()
    assert resumed.status is RunStatus.SUCCESS
    assert sorted(first + sync.sent()) == ALL_KEYS


def test_a_run_stopped_between_batches_is_not_logged_as_cancelled(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # The engine cannot tell a user's cancel from its worker stopping; the worker logs
    # which, as the run's final status, so the engine's summary must not say cancelled.
    sync = harness(tmp_path)
    with caplog.at_level(logging.INFO, logger="syncline.engine"):
        assert sync.run(cancel_after=4).status is RunStatus.CANCELLED
    [summary] = [r.getMessage() for r in caplog.records if "rows read" in r.getMessage()]
    assert "stopped at a batch boundary" in summary
    assert "cancelled" not in summary


def test_concurrent_batches_deliver_every_row_once(tmp_path: Path) -> None:
    sync = harness(tmp_path, max_batch_rows=3, max_concurrency=3)
    sync.destination.reject = lambda action, row: "no" if row["id"] % 7 == 0 else None
    result = sync.run()
    assert result.status is RunStatus.WARNING
    assert result.progress.successful.added == 18
    assert result.progress.failed.added == 2
    assert result.progress.completion_ratio == 1.0
    assert sync.sent() == ALL_KEYS
    assert all(len(batch) <= 3 for batch in sync.destination.batches)

    sync.destination.reject = None
    retried = sync.run()
    assert sync.sent() == ["14", "7"]
    assert retried.status is RunStatus.SUCCESS


def test_killed_process_leaves_a_consistent_snapshot(tmp_path: Path) -> None:
    acked = killed_run(tmp_path, "sync.destination.armed = True\nsync.run()")
    assert len(acked) == 8

    sync = harness(tmp_path / "snapshots")
    resumed = sync.run()
    assert resumed.status is RunStatus.SUCCESS
    assert resumed.progress.planned.added == 12
    assert sorted(acked + sync.sent()) == ALL_KEYS


@pytest.mark.parametrize("flags", ["", "full_resync=True"])
def test_batch_journaled_but_not_reported_counts_in_the_killed_run(
    tmp_path: Path, flags: str
) -> None:
    # Killed after the third batch's outcome is journaled, before the run reports it.
    acked = killed_run(
        tmp_path, f"sync.destination.armed = True\nsync.run({flags})", kill_at="report"
    )
    assert len(acked) == 12

    sync = harness(tmp_path / "snapshots")
    sync.run_id = 1  # the killed run was run 1
    resumed = sync.run()
    assert resumed.status is RunStatus.SUCCESS
    [settled] = sync.reporter.interrupted
    assert settled.run_id == 1
    assert settled.successful == RowCounts(added=12)
    assert settled.failed == RowCounts()
    assert resumed.progress.successful == RowCounts(added=8)
    # The two runs' counts add up to the rows delivered, each row delivered once.
    assert sorted(acked + sync.sent()) == ALL_KEYS
    assert settled.successful.total + resumed.progress.successful.total == len(ALL_KEYS)

    # Folded away: the run after that settles nothing again.
    sync.run()
    assert sync.reporter.interrupted == []


def test_rejections_journaled_but_not_reported_reach_the_killed_run(tmp_path: Path) -> None:
    steps = """
        sync.destination.reject = lambda action, row: "bad" if row["id"] in (10, 11) else None
        sync.destination.armed = True
        sync.run()
    """
    killed_run(tmp_path, steps, kill_at="report")

    sync = harness(tmp_path / "snapshots")
    sync.run_id = 1
    resumed = sync.run()
    [settled] = sync.reporter.interrupted
    assert settled.successful == RowCounts(added=10)
    assert settled.failed == RowCounts(added=2)
    assert [(row.key, row.operation, row.reason, row.attempts) for row in settled.rejected] == [
        ("10", Operation.ADDED, "bad", 1),
        ("11", Operation.ADDED, "bad", 1),
    ]
    # The resumed run retries the rejected rows with the rest, as after any rejection.
    assert resumed.progress.successful == RowCounts(added=10)
    assert sync.sent() == sorted(["10", "11", *(str(i) for i in range(13, 21))])


def test_killed_run_that_reported_everything_settles_the_same_counts(tmp_path: Path) -> None:
    # Killed as the third batch is handed over: its record already counts batches 1 and 2,
    # which the journal holds too; the settled counts are those, not twice those.
    acked = killed_run(tmp_path, "sync.destination.armed = True\nsync.run()")
    sync = harness(tmp_path / "snapshots")
    sync.run_id = 1
    sync.run()
    [settled] = sync.reporter.interrupted
    assert settled.successful == RowCounts(added=len(acked)) == RowCounts(added=8)


@pytest.mark.parametrize("concurrency", [1, 2])
def test_rejected_rows_report_payload_and_attempts(tmp_path: Path, concurrency: int) -> None:
    sync = harness(tmp_path, max_concurrency=concurrency)
    sync.destination.reject = lambda action, row: "bad name" if row["name"] == "n5" else None
    sync.run()
    sync.run()
    [rejected] = sync.reporter.rejected_rows
    assert rejected.key == "5"
    assert rejected.attempts == 2
    assert rejected.payload is not None
    assert json.loads(rejected.payload) == {"id": 5, "name": "n5", "score": 5.0}


@pytest.mark.parametrize("concurrency", [1, 2])
def test_succeeded_rows_are_reported_per_batch_with_their_attempts(
    tmp_path: Path, concurrency: int
) -> None:
    sync = harness(tmp_path, max_concurrency=concurrency)
    sync.destination.reject = lambda action, row: "bad name" if row["name"] == "n5" else None
    sync.run()
    first = sync.reporter.succeeded_rows
    sync.destination.reject = None
    sync.run()
    second = sync.reporter.succeeded_rows

    # One report per acknowledged batch of four: five batches, one row short of twenty.
    assert [len(batch.keys) for batch in first] == [4, 3, 4, 4, 4]
    assert sorted(key for batch in first for key in batch.keys) == sorted(set(ALL_KEYS) - {"5"})
    assert {tried for batch in first for tried in batch.attempts} == {1}
    assert [(batch.operation.value, batch.keys, batch.attempts) for batch in second] == [
        ("added", ["5"], [2])
    ]


def test_succeeded_rows_stop_at_the_runs_limit(tmp_path: Path) -> None:
    sync = harness(tmp_path)
    result = sync.run(succeeded_rows_limit=6)

    assert [len(batch.keys) for batch in sync.reporter.succeeded_rows] == [4, 2]
    assert result.progress.successful.added == 20
    assert result.progress.succeeded_rows_limit == 6


def test_a_limit_of_zero_reports_no_succeeded_rows(tmp_path: Path) -> None:
    sync = harness(tmp_path)
    result = sync.run(succeeded_rows_limit=0)

    assert sync.reporter.succeeded_rows == []
    assert result.progress.successful.added == 20


def test_one_batch_at_a_time_writes_on_the_thread_that_opened(tmp_path: Path) -> None:
    threads: set[int] = set()

    class ThreadBound(MemoryDestination):
        def open(self, context: WriteContext) -> None:
            threads.add(threading.get_ident())
            super().open(context)

        def write_batch(self, batch: WriteBatch) -> BatchResult:
            threads.add(threading.get_ident())
            return super().write_batch(batch)

    sync = Harness(tmp_path, people(ROWS), {"mode": "mirror", "object": "p"}, "id", ThreadBound())
    assert sync.run().status is RunStatus.SUCCESS
    assert threads == {threading.get_ident()}


def test_terminal_error_with_batches_in_flight_loses_and_repeats_nothing(tmp_path: Path) -> None:
    sync = harness(tmp_path, max_batch_rows=2, max_concurrency=3)
    sync.destination.raise_on_batch = lambda n: TerminalError("gone") if n == 4 else None
    failed = sync.run()
    assert failed.status is RunStatus.FAILED
    first = sync.sent()
    assert 3 * 2 <= len(first) < 20

    sync.destination.raise_on_batch = None
    assert sync.run().status is RunStatus.SUCCESS
    second = sync.sent()
    assert sorted(first + second) == ALL_KEYS
