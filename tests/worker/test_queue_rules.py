"""What may sit in a sync's queue: a dry run stays dry, and a disabled sync's runs never start."""

from __future__ import annotations

import logging
import socket
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import update
from worker_helpers import (
    HookReceiver,
    ModelFile,
    add_sync,
    enqueue,
    run_record,
    runs_of,
    wait_until,
)

from syncline.catalog import Catalog, RunTrigger, SyncRecord
from syncline.errors import RunError, ValidationError
from syncline.settings import Settings
from syncline.worker.pool import WorkerPool
from syncline.worker.recovery import queue_resumption, recover_abandoned


def _dead_worker() -> str:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return f"{socket.gethostname()}:{child.pid}"


def test_recovery_never_turns_a_queued_dry_run_into_the_resuming_run(
    catalog: Catalog,
    receiver: HookReceiver,
    models: ModelFile,
    caplog: pytest.LogCaptureFixture,
) -> None:
    models.create("t1", 5)
    sync_id = add_sync(catalog, models, "t1", receiver.url)
    with catalog.session() as session:
        abandoned = session.runs.enqueue(sync_id)
        session.runs.start(abandoned.id, _dead_worker())
        dry = session.runs.enqueue(sync_id, RunTrigger(dry_run=True))

    with caplog.at_level(logging.WARNING, logger="syncline.worker.recovery"):
        assert recover_abandoned(catalog, timedelta(seconds=60)) == [abandoned.id]

    assert run_record(catalog, abandoned.id).status == "interrupted"
    queued = run_record(catalog, dry.id)
    assert (queued.status, queued.dry_run) == ("queued", True)
    assert [r.id for r in runs_of(catalog, sync_id)] == [abandoned.id, dry.id]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(f"dry run {dry.id}" in w and f"run {abandoned.id}" in w for w in warnings)


def test_a_queued_run_of_a_sync_disabled_while_it_waited_never_executes(
    catalog: Catalog, tmp_path: Path, receiver: HookReceiver, models: ModelFile
) -> None:
    models.create("t1", 5)
    models.create("t2", 5)
    busy = add_sync(catalog, models, "t1", receiver.url)
    waiting = add_sync(catalog, models, "t2", receiver.url)
    receiver.delay = lambda sync_id: 1.0 if sync_id == busy else 0.0
    busy_run = enqueue(catalog, busy)
    waiting_run = enqueue(catalog, waiting)

    settings = Settings(home=tmp_path / "home", worker_heartbeat_seconds=0.2, planner_threads=1)
    pool = WorkerPool(catalog, settings, concurrency=1, name="one-slot", poll_seconds=0.05)
    pool.start()
    try:
        assert wait_until(lambda: receiver.requests_started > 0, timeout=30)
        with catalog.session() as session:
            session.syncs.update(waiting, disabled=True)
        assert wait_until(lambda: run_record(catalog, busy_run).status == "success", timeout=30)
        time.sleep(1.0)  # several polls of the free slot
    finally:
        assert pool.stop(timeout=30)

    skipped = run_record(catalog, waiting_run)
    assert (skipped.status, skipped.started_at, skipped.worker) == ("cancelled", None, None)
    assert "was disabled" in (skipped.error or "")
    assert receiver.of_sync(waiting) == []


def test_no_worker_leases_a_queued_run_of_a_disabled_sync(
    catalog: Catalog, receiver: HookReceiver, models: ModelFile
) -> None:
    models.create("t1", 5)
    sync_id = add_sync(catalog, models, "t1", receiver.url)
    run_id = enqueue(catalog, sync_id)
    # Left queued as by a release that kept the queued runs of disabled syncs.
    with catalog.session() as session:
        disable = update(SyncRecord).where(SyncRecord.id == sync_id).values(disabled=True)
        session.orm.execute(disable)

    with catalog.session() as session:
        assert session.runs.claim("w1") is None
        with pytest.raises(RunError, match="is disabled"):
            session.runs.start(run_id, "w1")
    assert run_record(catalog, run_id).status == "queued"


def test_the_queue_refuses_a_run_of_a_disabled_sync(
    catalog: Catalog, receiver: HookReceiver, models: ModelFile
) -> None:
    models.create("t1", 5)
    sync_id = add_sync(catalog, models, "t1", receiver.url)
    with catalog.session() as session:
        session.syncs.update(sync_id, disabled=True)

    with catalog.session() as session, pytest.raises(ValidationError, match="is disabled"):
        session.runs.enqueue(sync_id, triggered_by="schedule")
    assert runs_of(catalog, sync_id) == []


def test_recovery_queues_no_resumption_of_a_sync_disabled_since_it_was_read(
    catalog: Catalog, receiver: HookReceiver, models: ModelFile
) -> None:
    models.create("t1", 5)
    sync_id = add_sync(catalog, models, "t1", receiver.url)
    with catalog.session() as session:
        abandoned = session.runs.enqueue(sync_id)
        session.runs.start(abandoned.id, _dead_worker())

    with catalog.session() as session:
        sync = session.orm.get_one(SyncRecord, sync_id)
        assert not sync.disabled  # read before the switch flips
        disable = update(SyncRecord).where(SyncRecord.id == sync_id).values(disabled=True)
        session.orm.execute(disable.execution_options(synchronize_session=False))
        run = session.runs.get(abandoned.id)
        session.runs.finish(run.id, "interrupted", error="worker stopped")
        queue_resumption(session, run)

    assert [r.id for r in runs_of(catalog, sync_id)] == [abandoned.id]
