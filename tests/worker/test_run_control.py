"""Run control: recovery from ``syncline run``, lost leases, and cancels between requests."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import duckdb
import psycopg
import pytest
from worker_helpers import (
    HookReceiver,
    ModelFile,
    add_sync,
    enqueue,
    run_record,
    runs_of,
    wait_until,
)

from syncline.catalog import Catalog
from syncline.catalog.types import utcnow
from syncline.engine.planner.store import snapshot_path
from syncline.engine.report import RunStatus
from syncline.settings import Settings
from syncline.worker.execute import ProgressEvent, execute_leased, run_sync, worker_name
from syncline.worker.recovery import RESUME_TRIGGER, recover_abandoned


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    # A heartbeat far apart: only the lease check before every batch can see a lost lease.
    return Settings(
        home=tmp_path / "home",
        worker_heartbeat_seconds=30.0,
        worker_stale_seconds=10.0,
        planner_threads=1,
    )


@pytest.fixture
def models(settings: Settings) -> ModelFile:
    """Model tables in a SQLite file under the home's files folder, where sources may read."""
    folder = settings.home / "files"
    folder.mkdir(parents=True, exist_ok=True)
    return ModelFile(folder / "models.db")


def _dead_worker() -> str:
    """The name a ``syncline run`` of this host whose process has exited would record."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    host = worker_name().rpartition(":")[0]
    return f"{host}:{process.pid}"


def _claim(catalog: Catalog, run_id: int, worker: str, workspace: str = "default") -> None:
    with catalog.session(workspace) as session:
        session.runs.start(run_id, worker)


def test_syncline_run_resumes_every_run_it_finds_abandoned_in_any_workspace(
    catalog: Catalog, settings: Settings, receiver: HookReceiver, models: ModelFile
) -> None:
    with catalog.session() as session:
        session.workspaces.create(slug="other", name="Other")
    models.create("t1", 40)
    models.create("t2", 30)
    mine = add_sync(catalog, models, "t1", receiver.url)
    other = add_sync(catalog, models, "t2", receiver.url, workspace="other")
    mine_run, other_run = enqueue(catalog, mine), enqueue(catalog, other, "other")
    _claim(catalog, mine_run, _dead_worker())
    _claim(catalog, other_run, _dead_worker(), "other")

    shown = run_sync(catalog, mine, settings=settings)

    # The other workspace's sync is left to a worker, with its resumption queued.
    queued = runs_of(catalog, other)[-1]
    assert (queued.triggered_by, queued.status) == (RESUME_TRIGGER, "queued")
    for run_id in (mine_run, other_run):
        abandoned = run_record(catalog, run_id)
        assert abandoned.status == "interrupted"
        assert "its process is gone" in (abandoned.error or "")
    # The run of this sync that `syncline run` executed is the resumption recovery queued.
    resumed = runs_of(catalog, mine)[-1]
    assert (resumed.id, resumed.triggered_by, resumed.status) == (
        shown["id"],
        RESUME_TRIGGER,
        "success",
    )
    assert receiver.table(mine) == models.rows("t1")


def test_a_worker_that_lost_its_lease_sends_nothing_more_and_keeps_the_recovered_outcome(
    catalog: Catalog, settings: Settings, receiver: HookReceiver, models: ModelFile
) -> None:
    models.create("t1", 300)
    sync_id = add_sync(catalog, models, "t1", receiver.url, batch_size=10)
    run_id = enqueue(catalog, sync_id)
    _claim(catalog, run_id, "paused-worker")

    def presumed_stopped_after_first_request() -> bool:
        # As if the process was paused past the staleness limit: another worker recovers.
        if receiver.of_sync(sync_id) and run_record(catalog, run_id).status != "interrupted":
            with catalog.session() as session:
                session.runs.get(run_id).heartbeat_at = utcnow() - timedelta(hours=1)
            assert recover_abandoned(catalog, timedelta(seconds=10)) == [run_id]
        return False

    status = execute_leased(
        catalog, run_id, settings, stop_requested=presumed_stopped_after_first_request
    )

    assert status == RunStatus.INTERRUPTED
    recovered = run_record(catalog, run_id)
    assert recovered.status == "interrupted"
    assert "stopped sending heartbeats" in (recovered.error or "")
    assert len(receiver.of_sync(sync_id)) == 10, "only the request before recovery was sent"
    assert [(r.status, r.triggered_by) for r in runs_of(catalog, sync_id)[1:]] == [
        ("queued", RESUME_TRIGGER)
    ]


def test_a_run_that_lost_its_lease_before_its_first_write_leaves_the_snapshot_as_it_was(
    catalog: Catalog, settings: Settings, receiver: HookReceiver, models: ModelFile
) -> None:
    models.create("t1", 50)
    sync_id = add_sync(catalog, models, "t1", receiver.url)
    first = enqueue(catalog, sync_id)
    _claim(catalog, first, "worker-a")
    assert execute_leased(catalog, first, settings, alerts=False) == RunStatus.SUCCESS
    with sqlite3.connect(models.path) as connection:
        connection.execute("DELETE FROM t1 WHERE id < 10")
    connection.close()
    run_id = enqueue(catalog, sync_id)
    _claim(catalog, run_id, "paused-worker")

    def presumed_stopped_while_planning() -> bool:
        # As if the process was paused while it read the model: another worker recovers.
        if run_record(catalog, run_id).status != "interrupted":
            with catalog.session() as session:
                session.runs.get(run_id).heartbeat_at = utcnow() - timedelta(hours=1)
            assert recover_abandoned(catalog, timedelta(seconds=10)) == [run_id]
        return False

    status = execute_leased(
        catalog, run_id, settings, stop_requested=presumed_stopped_while_planning, alerts=False
    )

    assert status == RunStatus.INTERRUPTED
    # The ten removed rows (deleteBehavior nothing) are not sent, only noted in the
    # snapshot; a run that lost its lease must not note them: its resumption does.
    snapshot = duckdb.connect(str(snapshot_path(settings.snapshot_dir, sync_id)))
    try:
        kept = snapshot.execute("SELECT count(*) FROM snapshot").fetchone()
    finally:
        snapshot.close()
    assert kept == (50,)


def test_a_cancel_stops_a_slow_webhook_run_between_requests(
    catalog: Catalog, settings: Settings, receiver: HookReceiver, models: ModelFile
) -> None:
    models.create("t1", 300)
    sync_id = add_sync(catalog, models, "t1", receiver.url, batch_size=10)
    receiver.delay = lambda _sync: 0.05
    run_id = enqueue(catalog, sync_id)
    _claim(catalog, run_id, "w")
    outcome: list[RunStatus] = []
    worker = threading.Thread(
        target=lambda: outcome.append(execute_leased(catalog, run_id, settings, alerts=False))
    )
    worker.start()
    try:
        assert wait_until(lambda: len(receiver.of_sync(sync_id)) >= 20, timeout=30)
        with catalog.session() as session:
            session.runs.request_cancel(run_id)
    finally:
        worker.join(timeout=60)

    assert outcome == [RunStatus.CANCELLED]
    cancelled = run_record(catalog, run_id)
    delivered = len(receiver.of_sync(sync_id))
    assert delivered < 300
    assert cancelled.status == "cancelled"
    assert cancelled.successful_added == delivered
    assert "cancelled by a user" in (cancelled.error or "")
    assert len(runs_of(catalog, sync_id)) == 1, "a cancelled run is not resumed"

    # Rows left unsent were neither acknowledged nor rejected: the next run sends them once.
    receiver.delay = lambda _sync: 0.0
    next_run = enqueue(catalog, sync_id)
    _claim(catalog, next_run, "w")
    assert execute_leased(catalog, next_run, settings, alerts=False) == RunStatus.SUCCESS
    assert run_record(catalog, next_run).successful_added == 300 - delivered
    assert receiver.table(sync_id) == models.rows("t1")
    assert max(Counter(d.row_id for d in receiver.of_sync(sync_id)).values()) == 1


def test_a_cancel_after_the_last_row_ends_the_run_cancelled_with_every_row_counted(
    catalog: Catalog, settings: Settings, receiver: HookReceiver, models: ModelFile
) -> None:
    models.create("t1", 30)
    sync_id = add_sync(catalog, models, "t1", receiver.url, batch_size=10)
    run_id = enqueue(catalog, sync_id)
    _claim(catalog, run_id, "w")

    def cancel_while_reporting(event: ProgressEvent) -> None:
        if event.status == RunStatus.REPORTING and event.progress is None:
            with catalog.session() as session:
                session.runs.request_cancel(run_id)

    status = execute_leased(catalog, run_id, settings, on_progress=cancel_while_reporting)

    late = run_record(catalog, run_id)
    assert status == RunStatus.CANCELLED
    assert (late.status, late.successful_added) == ("cancelled", 30)
    assert "after every row had been sent" in (late.error or "")
    assert receiver.table(sync_id) == models.rows("t1")


def _warehouse_model(catalog: Catalog, url: str, receiver: HookReceiver, rows: int) -> int:
    """A PostgreSQL model planned in the warehouse, synced to the receiver; the sync's id."""
    with psycopg.connect(url) as connection:
        connection.execute("CREATE TABLE t1 (id bigint PRIMARY KEY, email text)")
        connection.execute(
            "INSERT INTO t1 SELECT i, 'user' || i || '@example.com' "
            "FROM generate_series(0, %s) AS i",
            [rows - 1],
        )
    database = url.rpartition("/")[2]
    with catalog.session() as session:
        source = session.sources.create(
            name="wh",
            slug="wh",
            type="postgres",
            configuration={
                "host": "127.0.0.1",
                "user": "postgres",
                "database": database,
                "planner": "warehouse",
            },
        )
        destination = session.destinations.create(
            name="hook",
            slug="hook",
            type="webhook",
            configuration={"url": receiver.url, "batch_size": 10, "concurrency": 1},
        )
        model = session.models.create(
            name="m", slug="m", source=source, query_type="table", primary_key="id", table="t1"
        )
        return session.syncs.create(
            slug="t1-sync",
            model=model,
            destination=destination,
            configuration={"mode": "upsert", "object": "t1"},
        ).id


@pytest.mark.parametrize(
    "planner", ["local", pytest.param("warehouse", marks=pytest.mark.postgres)]
)
def test_a_batch_answered_after_the_lease_was_lost_counts_in_the_interrupted_run(
    catalog: Catalog,
    settings: Settings,
    receiver: HookReceiver,
    models: ModelFile,
    planner: str,
    request: pytest.FixtureRequest,
) -> None:
    if planner == "local":
        models.create("t1", 100)
        sync_id = add_sync(catalog, models, "t1", receiver.url, batch_size=10)
    else:
        url = request.getfixturevalue("make_postgres_database")()
        sync_id = _warehouse_model(catalog, url, receiver, 100)
    run_id = enqueue(catalog, sync_id)
    _claim(catalog, run_id, "paused-worker")

    def presumed_stopped_during_the_third_request(_sync_id: int) -> float:
        # The process was paused while the destination wrote its third batch: another
        # worker recovered the run before the destination answered.
        if receiver.requests_started == 3:
            with catalog.session() as session:
                session.runs.get(run_id).heartbeat_at = utcnow() - timedelta(hours=1)
            assert recover_abandoned(catalog, timedelta(seconds=10)) == [run_id]
        return 0.0

    receiver.delay = presumed_stopped_during_the_third_request
    assert execute_leased(catalog, run_id, settings, alerts=False) == RunStatus.INTERRUPTED
    receiver.delay = lambda _sync_id: 0.0

    interrupted = run_record(catalog, run_id)
    assert interrupted.status == "interrupted"
    assert len(receiver.of_sync(sync_id)) == 30, "the third batch was written"
    assert interrupted.successful_added == 30, "every acknowledged row counts in its run"

    resumption = runs_of(catalog, sync_id)[-1]
    _claim(catalog, resumption.id, "worker-b")
    assert execute_leased(catalog, resumption.id, settings, alerts=False) == RunStatus.SUCCESS
    resumed = run_record(catalog, resumption.id)
    assert resumed.successful_added == 70
    assert run_record(catalog, run_id).successful_added == 30, "settled once, not twice"
    assert len(receiver.of_sync(sync_id)) == 100


@pytest.mark.postgres
def test_a_cancel_during_a_slow_model_query_cancels_the_query(
    catalog: Catalog,
    settings: Settings,
    receiver: HookReceiver,
    make_postgres_database: Callable[[], str],
) -> None:
    url = make_postgres_database()
    sync_id = _warehouse_model(catalog, url, receiver, 10)
    with catalog.session() as session:
        source = session.sources.get("wh")
        source.configuration = {**source.configuration, "planner": "local"}
        model = session.models.get("m")
        # The model's query takes 30 s before its first row.
        model.query_type, model.sql = (
            "raw_sql",
            ("SELECT id, email FROM t1 WHERE (SELECT pg_sleep(30)::text) IS NOT NULL"),
        )
    run_id = enqueue(catalog, sync_id)
    _claim(catalog, run_id, "w")
    outcome: list[RunStatus] = []
    worker = threading.Thread(
        target=lambda: outcome.append(execute_leased(catalog, run_id, settings, alerts=False))
    )
    worker.start()
    try:
        assert wait_until(lambda: run_record(catalog, run_id).status == "querying", timeout=30)
        time.sleep(1.0)
        asked = time.monotonic()
        with catalog.session() as session:
            session.runs.request_cancel(run_id)
    finally:
        worker.join(timeout=60)

    assert time.monotonic() - asked < 10, "the query was cancelled, not waited for"
    assert outcome == [RunStatus.CANCELLED]
    assert run_record(catalog, run_id).status == "cancelled"
    assert receiver.of_sync(sync_id) == []
