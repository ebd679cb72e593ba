"""The worker pool on SQLite and PostgreSQL catalogs: leasing, stopping, recovery."""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update
from sqlalchemy.exc import OperationalError
from worker_helpers import (
    HookReceiver,
    ModelFile,
    add_sync,
    enqueue,
    run_record,
    runs_of,
    wait_until,
)

from syncline import alerts
from syncline.catalog import Catalog, RunRecord
from syncline.catalog.rows import PRUNE_CHUNK, RowOutcome
from syncline.catalog.types import utcnow
from syncline.engine.report import Operation, RunStatus
from syncline.settings import Settings
from syncline.worker import pool as worker_pool
from syncline.worker.execute import execute_leased, run_sync
from syncline.worker.pool import WorkerPool
from syncline.worker.recovery import RESUME_TRIGGER

FINISHED = ("success", "warning", "failed", "cancelled", "interrupted")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        home=tmp_path / "home",
        worker_heartbeat_seconds=0.2,
        worker_stale_seconds=10.0,
        planner_threads=1,
    )


@pytest.fixture
def pool(catalog: Catalog, settings: Settings) -> Iterator[WorkerPool]:
    """A started pool of two slots, stopped after the test."""
    started = WorkerPool(catalog, settings, concurrency=2, name="test-worker", poll_seconds=0.05)
    started.start()
    yield started
    started.stop(timeout=30)


def _finished(catalog: Catalog, run_id: int) -> bool:
    return run_record(catalog, run_id).status in FINISHED


def test_a_pool_runs_the_queued_runs_of_every_workspace(
    catalog: Catalog, settings: Settings, receiver: HookReceiver, models: ModelFile
) -> None:
    with catalog.session() as session:
        session.workspaces.create(slug="other", name="Other")
    models.create("t1", 30)
    models.create("t2", 40)
    first = add_sync(catalog, models, "t1", receiver.url)
    second = add_sync(catalog, models, "t2", receiver.url, workspace="other")
    runs = [enqueue(catalog, first), enqueue(catalog, second, "other")]

    pool = WorkerPool(catalog, settings, concurrency=2, name="w-all", poll_seconds=0.05)
    pool.start()
    try:
        assert wait_until(lambda: all(_finished(catalog, r) for r in runs), timeout=30)
    finally:
        assert pool.stop(timeout=30)

    for run_id, sync_id, table in zip(runs, (first, second), ("t1", "t2"), strict=True):
        record = run_record(catalog, run_id)
        assert (record.status, record.worker) == ("success", "w-all")
        assert receiver.table(sync_id) == models.rows(table)
        assert {d.run_id for d in receiver.of_sync(sync_id)} == {run_id}


def test_a_run_stopped_by_its_worker_ends_interrupted_and_a_queued_run_resumes_it(
    catalog: Catalog, settings: Settings, receiver: HookReceiver, models: ModelFile
) -> None:
    models.create("t1", 25_000)  # three engine batches of 10,000 rows
    sync_id = add_sync(catalog, models, "t1", receiver.url, batch_size=5_000)
    run_id = enqueue(catalog, sync_id)
    with catalog.session() as session:
        claimed = session.runs.claim("stopping-worker")
        assert claimed is not None
        assert claimed.id == run_id

    # The worker is asked to stop once the first batch reached the destination.
    status = execute_leased(
        catalog, run_id, settings, stop_requested=lambda: bool(receiver.of_sync(sync_id))
    )

    stopped = run_record(catalog, run_id)
    assert status == RunStatus.INTERRUPTED == stopped.status
    assert "stopped at a batch boundary because its worker stopped" in (stopped.error or "")
    sent_first = Counter(d.row_id for d in receiver.of_sync(sync_id))
    assert 0 < len(sent_first) < 25_000
    assert stopped.successful_added == len(sent_first)
    follow_up = runs_of(catalog, sync_id)[-1]
    assert (follow_up.status, follow_up.triggered_by) == ("queued", RESUME_TRIGGER)

    pool = WorkerPool(catalog, settings, name="resuming-worker", poll_seconds=0.05)
    pool.start()
    try:
        assert wait_until(lambda: _finished(catalog, follow_up.id), timeout=60)
    finally:
        pool.stop(timeout=30)

    assert run_record(catalog, follow_up.id).status == "success"
    assert receiver.table(sync_id) == models.rows("t1")
    # Nothing the stopped run delivered was sent again, and nothing was sent twice.
    sent = Counter(d.row_id for d in receiver.of_sync(sync_id))
    assert max(sent.values()) == 1
    assert run_record(catalog, follow_up.id).successful_added == 25_000 - len(sent_first)


def test_a_run_whose_worker_went_silent_is_interrupted_and_resumed_by_another_worker(
    catalog: Catalog, settings: Settings, receiver: HookReceiver, models: ModelFile
) -> None:
    models.create("t1", 50)
    sync_id = add_sync(catalog, models, "t1", receiver.url)
    run_id = enqueue(catalog, sync_id)
    with catalog.session() as session:
        claimed = session.runs.claim("vanished-host:1")
        assert claimed is not None
        claimed.heartbeat_at = utcnow() - timedelta(seconds=30)

    pool = WorkerPool(catalog, settings, name="rescuer", poll_seconds=0.05)
    pool.start()
    try:
        assert wait_until(lambda: runs_of(catalog, sync_id)[-1].status == "success", timeout=30)
    finally:
        pool.stop(timeout=30)

    abandoned, resumed = runs_of(catalog, sync_id)
    assert abandoned.id == run_id
    assert abandoned.status == "interrupted"
    assert "worker vanished-host:1 stopped sending heartbeats" in (abandoned.error or "")
    assert (resumed.triggered_by, resumed.worker) == (RESUME_TRIGGER, "rescuer")
    assert receiver.table(sync_id) == models.rows("t1")


def test_a_run_cancelled_by_a_user_is_cancelled_and_not_resumed(
    catalog: Catalog, settings: Settings, receiver: HookReceiver, models: ModelFile
) -> None:
    models.create("t1", 25_000)
    sync_id = add_sync(catalog, models, "t1", receiver.url, batch_size=5_000)
    run_id = enqueue(catalog, sync_id)
    with catalog.session() as session:
        assert session.runs.claim("w") is not None

    def cancel_after_first_batch() -> bool:
        if receiver.of_sync(sync_id):
            with catalog.session() as session:
                session.runs.request_cancel(run_id)
        return False

    status = execute_leased(catalog, run_id, settings, stop_requested=cancel_after_first_batch)

    assert status == RunStatus.CANCELLED
    assert [run.status for run in runs_of(catalog, sync_id)] == ["cancelled"]


def test_stop_lets_no_slot_lease_another_run(
    catalog: Catalog, pool: WorkerPool, receiver: HookReceiver, models: ModelFile
) -> None:
    models.create("t1", 10)
    sync_id = add_sync(catalog, models, "t1", receiver.url)
    first = enqueue(catalog, sync_id)
    assert wait_until(lambda: _finished(catalog, first), timeout=30)

    assert pool.stop(timeout=30)
    later = enqueue(catalog, sync_id)

    assert not wait_until(lambda: run_record(catalog, later).status != "queued", timeout=0.5)
    assert pool.running_runs == []


@pytest.mark.postgres
@pytest.mark.parametrize("catalog", ["postgres"], indirect=True)
def test_a_claimed_run_is_skipped_by_other_workers_until_its_lease_commits(
    catalog: Catalog, receiver: HookReceiver, models: ModelFile
) -> None:
    for table in ("t1", "t2"):
        models.create(table, 1)
    first = enqueue(catalog, add_sync(catalog, models, "t1", receiver.url))
    second = enqueue(catalog, add_sync(catalog, models, "t2", receiver.url))

    with catalog.session() as holder:
        held = holder.runs.claim("worker-a")
        assert held is not None
        assert held.id == first
        # While worker-a's lease is not committed, worker-b skips the locked run.
        with catalog.session() as other:
            taken = other.runs.claim("worker-b")
            assert taken is not None
            assert taken.id == second
            assert other.runs.claim("worker-c") is None

    assert (run_record(catalog, first).worker, run_record(catalog, second).worker) == (
        "worker-a",
        "worker-b",
    )


@pytest.mark.postgres
@pytest.mark.parametrize("catalog", ["postgres"], indirect=True)
def test_two_pools_on_one_postgres_catalog_execute_each_run_once(
    catalog: Catalog, settings: Settings, receiver: HookReceiver, models: ModelFile
) -> None:
    syncs = {}
    for n in range(12):
        models.create(f"t{n}", 20)
        syncs[add_sync(catalog, models, f"t{n}", receiver.url)] = f"t{n}"
    runs = [enqueue(catalog, sync_id) for sync_id in syncs]

    pools = [
        WorkerPool(catalog, settings, concurrency=2, name=f"pool-{n}", poll_seconds=0.02)
        for n in range(2)
    ]
    for pool in pools:
        pool.start()
    try:
        for version, sync_id in enumerate(syncs, start=1):
            models.change(syncs[sync_id], version)
            runs.append(enqueue(catalog, sync_id))
        assert wait_until(lambda: all(_finished(catalog, r) for r in runs), timeout=60)
    finally:
        for pool in pools:
            pool.stop(timeout=30)

    records = [run_record(catalog, run_id) for run_id in set(runs)]
    assert {record.status for record in records} == {"success"}
    assert {record.worker for record in records} <= {"pool-0", "pool-1"}
    for sync_id, table in syncs.items():
        assert receiver.table(sync_id) == models.rows(table)
        sent = Counter((d.run_id, d.row_id) for d in receiver.of_sync(sync_id))
        assert max(sent.values()) == 1, "a run sent a row twice"


def test_syncline_run_shows_the_outcome_when_a_worker_leased_its_run_first(
    catalog: Catalog, settings: Settings, receiver: HookReceiver, models: ModelFile
) -> None:
    models.create("t1", 5)
    sync_id = add_sync(catalog, models, "t1", receiver.url)
    busy = enqueue(catalog, sync_id)
    with catalog.session() as session:
        assert session.runs.claim("worker-x") is not None
    outcome: list[dict[str, Any]] = []
    command = threading.Thread(
        target=lambda: outcome.append(run_sync(catalog, sync_id, settings=settings))
    )
    command.start()
    # The command queued its run behind the busy one; worker-x leases it first.
    assert wait_until(lambda: len(runs_of(catalog, sync_id)) == 2, timeout=30)
    queued = runs_of(catalog, sync_id)[-1].id
    with catalog.session() as session:
        session.runs.finish(busy, RunStatus.SUCCESS)
        assert session.runs.start(queued, "worker-x").id == queued
    with catalog.session() as session:
        session.runs.finish(queued, RunStatus.SUCCESS)

    command.join(timeout=30)
    assert [(run["id"], run["status"]) for run in outcome] == [(queued, "success")]
    assert run_record(catalog, queued).worker == "worker-x"
    assert receiver.of_sync(sync_id) == []


def test_alert_policies_see_every_finished_run_and_cannot_break_the_worker(
    catalog: Catalog,
    settings: Settings,
    receiver: HookReceiver,
    models: ModelFile,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[tuple[int, str]] = []

    def failing_notify(notified: Catalog, run_id: int) -> None:
        seen.append((run_id, run_record(notified, run_id).status))
        raise RuntimeError("the alert channel is down")

    monkeypatch.setattr(alerts, "notify_run_finished", failing_notify)
    models.create("t1", 5)
    sync_id = add_sync(catalog, models, "t1", receiver.url)
    first = enqueue(catalog, sync_id)

    pool = WorkerPool(catalog, settings, name="alerting", poll_seconds=0.05)
    pool.start()
    try:
        assert wait_until(lambda: bool(seen), timeout=30)
        second = enqueue(catalog, sync_id)
        assert wait_until(lambda: len(seen) == 2, timeout=30)
    finally:
        pool.stop(timeout=30)

    assert seen == [(first, "success"), (second, "success")]


def _old_settled_rejections(catalog: Catalog, sync_id: int, count: int) -> int:
    """A run a month old that rejected ``count`` rows, settled by a complete run after it."""
    rejected = [RowOutcome(str(k), Operation.ADDED, "failed", "refused") for k in range(count)]
    runs = []
    for outcome, rows in (("warning", rejected), ("success", [])):
        with catalog.session() as session:
            session.runs.enqueue(sync_id)
            run = session.runs.claim("earlier-worker", sync_id=sync_id)
            assert run is not None
            session.runs.record_rows(run.id, rows)
            session.runs.finish(run.id, outcome)
            month_ago = utcnow() - timedelta(days=30)
            session.orm.execute(
                update(RunRecord).where(RunRecord.id == run.id).values(finished_at=month_ago)
            )
            runs.append(run.id)
    return runs[0]


def _row_count(catalog: Catalog, run_id: int) -> int:
    with catalog.session(read_only=True) as session:
        return len(session.runs.row_results(run_id))


def test_a_finished_run_prunes_its_syncs_row_results_past_retention(
    catalog: Catalog, settings: Settings, receiver: HookReceiver, models: ModelFile
) -> None:
    models.create("t1", 5)
    sync_id = add_sync(catalog, models, "t1", receiver.url)
    old = _old_settled_rejections(catalog, sync_id, 3)
    assert _row_count(catalog, old) == 3
    run_id = enqueue(catalog, sync_id)
    with catalog.session() as session:
        assert session.runs.claim("pruning-worker", sync_id=sync_id) is not None

    status = execute_leased(catalog, run_id, settings, alerts=False)

    assert status == RunStatus.SUCCESS
    assert _row_count(catalog, old) == 0


def test_a_worker_prunes_a_backlog_of_row_results_a_bounded_part_per_beat(
    catalog: Catalog,
    settings: Settings,
    receiver: HookReceiver,
    models: ModelFile,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(worker_pool, "PRUNE_CHUNKS_PER_BEAT", 1)
    sync_id = add_sync(catalog, models, "t1", receiver.url)
    old = _old_settled_rejections(catalog, sync_id, PRUNE_CHUNK + 1)
    pruned: list[int] = []
    prune = catalog.prune_row_results

    def counting_prune(*args: Any, **kwargs: Any) -> Any:
        pruning = prune(*args, **kwargs)
        pruned.append(pruning.rows)
        return pruning

    monkeypatch.setattr(catalog, "prune_row_results", counting_prune)
    pool = WorkerPool(catalog, settings, name="sweeper", poll_seconds=0.05)
    pool.start()
    try:
        # The second chunk is due at the next beat, not an hour later.
        assert wait_until(lambda: _row_count(catalog, old) == 0, timeout=10)
    finally:
        assert pool.stop(timeout=30)

    assert pruned[:2] == [PRUNE_CHUNK, 1]


def _lost_connection() -> Exception:
    """The error SQLAlchemy raises when the catalog's server ended the connection."""
    return OperationalError("SELECT 1", {}, Exception("server closed"), connection_invalidated=True)


def test_a_lost_catalog_connection_is_one_warning_line_without_a_traceback(
    catalog: Catalog,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    idle = WorkerPool(catalog, settings, concurrency=1, name="lost-worker", poll_seconds=0.05)

    def fail_and_stop(*_: object) -> None:
        idle._stopping.set()
        idle._beating.set()
        raise _lost_connection()

    monkeypatch.setattr(idle, "_lease", fail_and_stop)
    monkeypatch.setattr(worker_pool.registry, "beat", fail_and_stop)
    monkeypatch.setattr(worker_pool, "RETRY_SECONDS", 0)
    with caplog.at_level(logging.WARNING, logger="syncline.worker.pool"):
        idle._serve(0)
        idle._beating.clear()
        beat = threading.Thread(target=idle._beat)
        beat.start()
        beat.join(timeout=10)

    said = [r for r in caplog.records if r.name == "syncline.worker.pool"]
    assert [r.getMessage() for r in said] == [
        "worker lost-worker: leasing a run failed: lost the connection to the catalog",
        "worker lost-worker: heartbeat failed: lost the connection to the catalog",
    ]
    assert all(r.exc_info is None for r in said)
