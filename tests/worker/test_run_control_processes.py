"""Run control across real processes: a listing changes nothing, a paused worker stops."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from worker_helpers import (
    SYNCLINE,
    HookReceiver,
    ModelFile,
    Workers,
    add_sync,
    enqueue,
    pause_between_catalog_writes,
    run_record,
    runs_of,
    sqlite_write_held,
    wait_until,
)

from syncline.catalog import Catalog
from syncline.catalog.tables import RUNNING_STATUSES
from syncline.connectors.destinations.webhook.destination import REQUEST_WAVES
from syncline.worker.recovery import RESUME_TRIGGER

ENGINE_BATCH = 1_000 * REQUEST_WAVES
"""Rows of a webhook engine batch in requests of 1,000 rows sent one at a time."""


@pytest.fixture
def workers(home: Path, tmp_path: Path, home_catalog: Catalog) -> Iterator[Workers]:
    started = Workers(home, tmp_path, LOG_LEVEL="WARNING")
    yield started
    started.stop_all()


def _name() -> str:
    return f"worker-{uuid.uuid4().hex[:8]}"


def test_syncline_runs_changes_nothing_and_a_restarted_worker_resumes_a_killed_run(
    workers: Workers, home_catalog: Catalog, receiver: HookReceiver, models: ModelFile
) -> None:
    models.create("t1", 300)
    sync_id = add_sync(home_catalog, models, "t1", receiver.url, batch_size=10)
    receiver.delay = lambda _sync: 0.3
    run_id = enqueue(home_catalog, sync_id)
    name = _name()
    killed = workers.start(name)
    assert wait_until(lambda: receiver.requests_started > 0, timeout=60)
    killed.kill()
    killed.wait()

    listed = subprocess.run(
        [str(SYNCLINE), "runs", "t1-sync"],
        env={**workers.env(_name()), "COLUMNS": "400"},
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert listed.returncode == 0, listed.stderr
    assert run_record(home_catalog, run_id).status in RUNNING_STATUSES, "a listing writes nothing"
    assert "abandoned" in listed.stdout
    assert [run.id for run in runs_of(home_catalog, sync_id)] == [run_id]

    receiver.delay = lambda _sync: 0.0
    workers.start(name)
    assert wait_until(lambda: runs_of(home_catalog, sync_id)[-1].status == "success", timeout=60)
    abandoned, resumed = runs_of(home_catalog, sync_id)
    assert abandoned.status == "interrupted"
    assert resumed.triggered_by == RESUME_TRIGGER
    assert receiver.table(sync_id) == models.rows("t1")


def test_a_paused_worker_presumed_stopped_sends_nothing_more_once_it_wakes(
    workers: Workers,
    home: Path,
    home_catalog: Catalog,
    receiver: HookReceiver,
    models: ModelFile,
) -> None:
    models.create("t1", 300)
    models.create("t2", 10)
    slow = add_sync(home_catalog, models, "t1", receiver.url, batch_size=10)
    other = add_sync(home_catalog, models, "t2", receiver.url)
    receiver.delay = lambda sync: 0.2 if sync == slow else 0.0
    run_id = enqueue(home_catalog, slow)
    workers.settings["WORKER_STALE_SECONDS"] = "2"
    paused = workers.start(_name())
    assert wait_until(lambda: receiver.requests_started >= 3, timeout=60)

    pause_between_catalog_writes(paused, lambda: sqlite_write_held(home / "syncline.db"))
    try:
        time.sleep(3)  # past the staleness limit; a request in flight is answered meanwhile
        sent_before = _sent_by(receiver, slow, run_id)
        done = workers.run(_name(), "run", "t2-sync")
        assert done.returncode == 0, done.stderr
        recovered = run_record(home_catalog, run_id)
        assert recovered.status == "interrupted"
        assert [r.triggered_by for r in runs_of(home_catalog, slow)[1:]] == [RESUME_TRIGGER]
    finally:
        paused.send_signal(signal.SIGCONT)

    assert wait_until(lambda: runs_of(home_catalog, slow)[-1].status == "success", timeout=60)
    assert _sent_by(receiver, slow, run_id) == sent_before < 300
    woken = run_record(home_catalog, run_id)
    assert woken.status == "interrupted", "the woken worker keeps recovery's outcome"
    assert "stopped sending heartbeats" in (woken.error or "")
    assert receiver.table(slow) == models.rows("t1")
    assert receiver.table(other) == models.rows("t2")


_DIES_ONCE_JOURNALED = """
import os, sys
from syncline.catalog import Catalog
from syncline.engine.planner.store import SnapshotStore
from syncline.settings import get_settings
from syncline.worker.execute import run_sync

record = SnapshotStore.record
journaled = []

def journal_then_die(store, *args, **kwargs):
    record(store, *args, **kwargs)
    journaled.append(1)
    if len(journaled) == 1:
        os._exit(3)  # the batch is journaled; the run's record never hears of it

SnapshotStore.record = journal_then_die
run_sync(Catalog.open(get_settings()), sys.argv[1])
"""


def test_a_run_killed_between_journaling_and_reporting_a_batch_counts_it(
    workers: Workers, home_catalog: Catalog, receiver: HookReceiver, models: ModelFile
) -> None:
    # Two engine batches, sent in requests of 1,000 rows.
    models.create("t1", ENGINE_BATCH + ENGINE_BATCH // 2)
    sync_id = add_sync(home_catalog, models, "t1", receiver.url, batch_size=1_000)
    killed = subprocess.run(
        [sys.executable, "-c", _DIES_ONCE_JOURNALED, "t1-sync"],
        env=workers.env(_name()),
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert killed.returncode == 3, killed.stdout.decode() + killed.stderr.decode()

    resumed = workers.run(_name(), "run", "t1-sync")
    assert resumed.returncode == 0, resumed.stderr
    first, second = runs_of(home_catalog, sync_id)
    assert first.status == "interrupted"
    assert second.status == "success"
    # The first run's record counts the batch it journaled and died before reporting;
    # the second counts the rest, so every row counts once.
    assert (first.successful_added, second.successful_added) == (ENGINE_BATCH, ENGINE_BATCH // 2)
    assert first.successful_added <= _sent_by(receiver, sync_id, first.id)
    assert receiver.table(sync_id) == models.rows("t1")


def _sent_by(receiver: HookReceiver, sync_id: int, run_id: int) -> int:
    return sum(1 for delivery in receiver.of_sync(sync_id) if delivery.run_id == run_id)
