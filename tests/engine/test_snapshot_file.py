"""The snapshot file: an incompatible fingerprint scheme, and a file another run holds."""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

import duckdb
import pytest
from engine_doubles import Harness, people

from snapshot_holder import held_snapshot
from syncline.engine.planner.store import SnapshotStore, snapshot_path
from syncline.engine.report import RunStatus

ROWS = [(1, "ann", 1.0), (2, "bob", 2.0)]


def test_incompatible_snapshot_needs_reset_cdc(tmp_path: Path) -> None:
    sync = Harness(tmp_path, people(ROWS), {"mode": "mirror", "object": "p"})
    sync.run()
    connection = duckdb.connect(str(snapshot_path(tmp_path, 7)))
    connection.execute("UPDATE meta SET value = 'old-scheme' WHERE name = 'fingerprint'")
    connection.close()

    refused = sync.run()
    assert refused.status is RunStatus.FAILED
    assert refused.error is not None
    assert "'old-scheme'" in refused.error
    assert "resetCDC" in refused.error

    assert sync.run(reset_cdc=True).status is RunStatus.SUCCESS
    assert sync.run().progress.planned.total == 0


def test_a_run_waits_for_the_snapshot_another_process_holds_and_then_runs(
    tmp_path: Path,
) -> None:
    sync = Harness(tmp_path, people(ROWS), {"mode": "mirror", "object": "p"})
    sync.run()
    sync.sent()
    sync.table = people([*ROWS, (3, "cy", 3.0)])
    with held_snapshot(snapshot_path(tmp_path, 7), release_after=1.5) as holder:
        started = time.monotonic()
        result = sync.run()
        waited = time.monotonic() - started
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == b"released"

    assert result.status is RunStatus.SUCCESS, result.error
    assert waited >= 1.0, "the run waited for the file rather than failing at once"
    assert sync.sent() == ["3"]


def test_a_snapshot_still_held_after_the_wait_interrupts_the_run_naming_the_holder(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    sync = Harness(tmp_path, people(ROWS), {"mode": "mirror", "object": "p"})
    sync.run()
    sync.sent()
    sync.table = people([*ROWS, (3, "cy", 3.0)])
    with held_snapshot(snapshot_path(tmp_path, 7)) as holder, caplog.at_level(logging.WARNING):
        result = sync.run(snapshot_lock_wait=1.0)

    assert result.status is RunStatus.INTERRUPTED
    assert result.error is not None
    assert f"PID {holder.pid}" in result.error
    assert f"kill -CONT {holder.pid}" in result.error
    assert "SNAPSHOT_LOCKED" in result.error
    assert sync.sent() == [], "nothing is sent without the snapshot"
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert any(f"PID {holder.pid}" in r.getMessage() for r in errors)
    # Once the file is free the next run sends what the interrupted one could not.
    resumed = sync.run()
    assert resumed.status is RunStatus.SUCCESS
    assert sync.sent() == ["3"]


def test_a_stop_while_waiting_for_the_snapshot_ends_the_wait_at_once(tmp_path: Path) -> None:
    sync = Harness(tmp_path, people(ROWS), {"mode": "mirror", "object": "p"})
    sync.run()
    with held_snapshot(snapshot_path(tmp_path, 7)):
        started = time.monotonic()
        result = sync.run(snapshot_lock_wait=60.0, cancel_after=0)
        waited = time.monotonic() - started

    assert result.status is RunStatus.CANCELLED
    assert waited < 30, "a stopping worker does not sit out the whole wait"


def test_a_run_in_this_process_waits_for_the_snapshot_another_run_here_holds(
    tmp_path: Path,
) -> None:
    sync = Harness(tmp_path, people(ROWS), {"mode": "mirror", "object": "p"})
    sync.run()
    first = SnapshotStore(tmp_path, 7)
    try:
        # DuckDB shares one open file between the connections of a process, so only
        # the store's own bookkeeping tells that this run of the sync still holds it.
        result = sync.run(snapshot_lock_wait=0.5)
    finally:
        first.close()

    assert result.status is RunStatus.INTERRUPTED
    assert result.error is not None
    assert f"this process (PID {os.getpid()}" in result.error
    assert sync.run().status is RunStatus.SUCCESS


def test_planner_limits(tmp_path: Path) -> None:
    sync = Harness(tmp_path, people(ROWS), {"mode": "mirror", "object": "p"})
    refused = sync.run(memory_limit="lots")
    assert refused.status is RunStatus.FAILED
    assert refused.error is not None
    assert "'lots'" in refused.error
    limited = sync.run(memory_limit="256MB", threads=1)
    assert limited.status is RunStatus.SUCCESS
    assert limited.progress.successful.added == 2


def _stored_entries(store: SnapshotStore) -> int:
    """Rows the snapshot table stores, deleted ones included."""
    row = store.connection.execute(
        "SELECT estimated_size FROM duckdb_tables() WHERE table_name = 'snapshot'"
    ).fetchone()
    assert row is not None
    return int(row[0])


def test_closing_compacts_the_snapshot_only_once_a_quarter_of_its_rows_are_deleted(
    tmp_path: Path,
) -> None:
    store = SnapshotStore(tmp_path, 7)
    store.connection.execute(
        "INSERT INTO snapshot (key, fp) SELECT i::VARCHAR, i FROM range(400000) t(i)"
    )
    store.close()

    def settle(first: int, last: int, tag: str) -> tuple[int, int]:
        """Replace the entries of keys first..last as a run's merge does; the stored and
        live rows of the reopened file."""
        store = SnapshotStore(tmp_path, 7)
        keys = f"SELECT i::VARCHAR AS key, i FROM range({first}, {last}) t(i)"
        store.connection.execute(f"DELETE FROM snapshot WHERE key IN (SELECT key FROM ({keys}))")
        store.connection.execute(
            f"INSERT INTO snapshot (key, fp) SELECT key || '{tag}', i FROM ({keys})"
        )
        store.close()
        reopened = SnapshotStore(tmp_path, 7)
        try:
            return _stored_entries(reopened), reopened.snapshot_size()
        finally:
            reopened.close()

    # 10%, then 17% of the stored rows deleted: the file keeps them.
    assert settle(0, 40_000, "a") == (440_000, 400_000)
    assert settle(100_000, 140_000, "b") == (480_000, 400_000)
    # 26%: closing compacts it.
    stored, live = settle(200_000, 260_000, "c")
    assert live == 400_000
    assert stored < 0.9 * 540_000, stored
