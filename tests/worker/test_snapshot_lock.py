"""A run whose snapshot file another process still holds waits, or is resumed later.

The holder stands for a worker that recovery presumed stopped while its process, paused,
still has the sync's DuckDB file open. The last test pauses a real worker with SIGSTOP
on a PostgreSQL catalog while a second worker leases the resuming run.
"""

from __future__ import annotations

import logging
import signal
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from worker_helpers import (
    HookReceiver,
    ModelFile,
    Workers,
    add_sync,
    enqueue,
    pause_between_catalog_writes,
    postgres_transaction_open,
    run_record,
    runs_of,
    wait_until,
)

from snapshot_holder import held_snapshot
from syncline.catalog import Catalog
from syncline.engine.planner.store import snapshot_path
from syncline.engine.report import RunStatus
from syncline.security.secrets import SecretBox
from syncline.settings import Settings
from syncline.worker.execute import execute_leased
from syncline.worker.recovery import RESUME_TRIGGER


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        home=tmp_path / "home",
        worker_heartbeat_seconds=0.2,
        worker_stale_seconds=10.0,
        planner_threads=1,
    )


@pytest.fixture
def models(settings: Settings) -> ModelFile:
    """Model tables in a SQLite file under the home's files folder, where sources may read."""
    folder = settings.home / "files"
    folder.mkdir(parents=True, exist_ok=True)
    return ModelFile(folder / "models.db")


def test_a_run_waits_while_another_process_holds_its_snapshot_then_runs(
    catalog: Catalog, settings: Settings, receiver: HookReceiver, models: ModelFile
) -> None:
    models.create("t1", 50)
    sync_id = add_sync(catalog, models, "t1", receiver.url)
    run_id = enqueue(catalog, sync_id)
    _lease(catalog, run_id)

    with held_snapshot(snapshot_path(settings.snapshot_dir, sync_id), release_after=1.5):
        status = execute_leased(catalog, run_id, settings, alerts=False)

    assert status == RunStatus.SUCCESS, run_record(catalog, run_id).error
    assert [run.id for run in runs_of(catalog, sync_id)] == [run_id], "no run was resumed"
    assert receiver.table(sync_id) == models.rows("t1")


def test_a_snapshot_held_past_the_wait_interrupts_the_run_and_queues_its_resumption(
    catalog: Catalog,
    settings: Settings,
    receiver: HookReceiver,
    models: ModelFile,
    caplog: pytest.LogCaptureFixture,
) -> None:
    models.create("t1", 50)
    sync_id = add_sync(catalog, models, "t1", receiver.url)
    run_id = enqueue(catalog, sync_id)
    _lease(catalog, run_id)
    settings = replace(settings, snapshot_lock_wait_seconds=1.0)

    with (
        held_snapshot(snapshot_path(settings.snapshot_dir, sync_id)) as holder,
        caplog.at_level(logging.WARNING),
    ):
        status = execute_leased(catalog, run_id, settings, alerts=False)

    assert status == RunStatus.INTERRUPTED
    locked, resumption = runs_of(catalog, sync_id)
    assert locked.status == "interrupted"
    assert f"PID {holder.pid}" in (locked.error or "")
    assert f"kill -CONT {holder.pid}" in (locked.error or "")
    assert "[SNAPSHOT_LOCKED]" in (locked.error or "")
    assert "a new run is queued" in (locked.error or "")
    assert (resumption.status, resumption.triggered_by) == ("queued", RESUME_TRIGGER)
    assert receiver.of_sync(sync_id) == [], "nothing is sent without the snapshot"
    assert any(
        record.levelno == logging.ERROR and f"PID {holder.pid}" in record.getMessage()
        for record in caplog.records
    ), "an ERROR line names the process that holds the file"

    # The holder is gone: the queued resumption does the work, each row sent once.
    _lease(catalog, resumption.id)
    assert execute_leased(catalog, resumption.id, settings, alerts=False) == RunStatus.SUCCESS
    assert receiver.table(sync_id) == models.rows("t1")
    assert max(Counter(d.row_id for d in receiver.of_sync(sync_id)).values()) == 1


def test_a_cancel_while_waiting_for_the_snapshot_cancels_the_run_without_a_resumption(
    catalog: Catalog, settings: Settings, receiver: HookReceiver, models: ModelFile
) -> None:
    models.create("t1", 50)
    sync_id = add_sync(catalog, models, "t1", receiver.url)
    run_id = enqueue(catalog, sync_id)
    _lease(catalog, run_id)
    with catalog.session() as session:
        session.runs.request_cancel(run_id)

    with held_snapshot(snapshot_path(settings.snapshot_dir, sync_id)):
        status = execute_leased(catalog, run_id, settings, alerts=False)

    assert status == RunStatus.CANCELLED
    assert [run.id for run in runs_of(catalog, sync_id)] == [run_id]


@pytest.mark.postgres
def test_a_paused_worker_keeps_its_snapshot_until_it_wakes_and_the_resumption_then_runs(
    make_postgres_database: Callable[[], str],
    tmp_path: Path,
    receiver: HookReceiver,
) -> None:
    url = make_postgres_database()
    key = Fernet.generate_key()
    catalog = Catalog.from_url(url, secrets=SecretBox(key))
    home = tmp_path / "home"
    models = ModelFile(home / "files" / "models.db")
    models.path.parent.mkdir(parents=True)
    workers = Workers(
        home,
        tmp_path,
        DATABASE_URL=url,
        SECRET_KEY=key.decode(),
        WORKER_STALE_SECONDS="2",
        SNAPSHOT_LOCK_WAIT_SECONDS="3",
        LOG_LEVEL="WARNING",
    )
    try:
        models.create("t1", 300)
        sync_id = add_sync(catalog, models, "t1", receiver.url, batch_size=10)
        receiver.delay = lambda _sync: 0.5
        run_id = enqueue(catalog, sync_id)
        paused = workers.start(_name())
        # Paused just as a request starts: the worker waits for its answer, outside the
        # catalog, and the answered batch is the one it records once it wakes.
        assert wait_until(lambda: receiver.requests_started >= 3, timeout=60, every=0.01)
        pause_between_catalog_writes(paused, lambda: postgres_transaction_open(url))
        try:
            workers.start(_name())
            # Recovery interrupts the paused worker's run; the resuming run cannot have
            # the snapshot, so it ends interrupted too and another resumption is queued.
            assert wait_until(lambda: _locked_runs(catalog, sync_id) >= 1, timeout=60)
            first = runs_of(catalog, sync_id)[0]
            assert (first.id, first.status) == (run_id, "interrupted")
            assert f"kill -CONT {paused.pid}" in (runs_of(catalog, sync_id)[1].error or "")
            assert all(run.triggered_by == RESUME_TRIGGER for run in runs_of(catalog, sync_id)[1:])
        finally:
            paused.send_signal(signal.SIGCONT)

        assert wait_until(lambda: runs_of(catalog, sync_id)[-1].status == "success", timeout=90)
        runs = runs_of(catalog, sync_id)
        assert [run.status for run in runs[:-1]] == ["interrupted"] * (len(runs) - 1)
        assert receiver.table(sync_id) == models.rows("t1")
        sent = Counter(d.row_id for d in receiver.of_sync(sync_id))
        assert max(sent.values()) == 1, "no row was sent twice"
        by_run = Counter(d.run_id for d in receiver.of_sync(sync_id))
        assert set(by_run) <= {run_id, runs[-1].id}, "only the first and last run sent rows"
    finally:
        workers.stop_all()
        catalog.close()


def _locked_runs(catalog: Catalog, sync_id: int) -> int:
    return sum(1 for run in runs_of(catalog, sync_id) if "SNAPSHOT_LOCKED" in (run.error or ""))


def _name() -> str:
    return f"worker-{uuid.uuid4().hex[:8]}"


def _lease(catalog: Catalog, run_id: int) -> None:
    with catalog.session() as session:
        session.runs.start(run_id, "test-worker")
