"""Three ``syncline worker`` processes on one PostgreSQL catalog, and one of them SIGKILLed.

Every row a run sends reaches a receiver on 127.0.0.1 with the run's id, so the test
sees which run delivered what. A run executed by two workers would deliver its rows
twice; the test proves no run did, that every queued run ran exactly once, and that
the run of a killed worker is interrupted and resumed, the destination ending equal
to the model.
"""

from __future__ import annotations

import os
import signal
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from worker_helpers import (
    HookReceiver,
    ModelFile,
    Workers,
    add_sync,
    enqueue,
    run_record,
    runs_of,
    wait_until,
)

from syncline.catalog import Catalog
from syncline.catalog.tables import RUNNING_STATUSES, RunRecord
from syncline.catalog.types import utcnow
from syncline.connectors.destinations.webhook.destination import REQUEST_WAVES
from syncline.scheduling.scheduler import Scheduler
from syncline.security.secrets import SecretBox
from syncline.settings import Settings
from syncline.worker.recovery import RESUME_TRIGGER

pytestmark = pytest.mark.postgres

BIG_REQUEST_ROWS = 1_000
"""Rows per webhook request of the big sync, which sends one request at a time."""

ENGINE_BATCH = BIG_REQUEST_ROWS * REQUEST_WAVES
"""Rows of the big sync's engine batches, whose outcome the run journals at once."""
FINISHED = ("success", "warning", "failed", "cancelled", "interrupted")


@dataclass
class Fleet:
    """A PostgreSQL catalog, the worker processes serving it, and what they send to."""

    catalog: Catalog
    workers: Workers
    receiver: HookReceiver
    models: ModelFile


@pytest.fixture
def fleet(
    make_postgres_database: Callable[[], str],
    tmp_path: Path,
    receiver: HookReceiver,
    models: ModelFile,
) -> Iterator[Fleet]:
    url = make_postgres_database()
    key = Fernet.generate_key()
    catalog = Catalog.from_url(url, secrets=SecretBox(key))
    # One SYNCLINE_HOME: the workers of one machine share the planner's snapshots. The
    # killed worker's run is recovered because its process is gone, at once; a heartbeat
    # counts as stale only after 30 s, so that a loaded machine stalling a live worker's
    # beats for a while is not taken for a stopped worker.
    workers = Workers(
        tmp_path / "home",
        tmp_path,
        DATABASE_URL=url,
        SECRET_KEY=key.decode(),
        WORKER_STALE_SECONDS="30",
    )
    try:
        yield Fleet(catalog, workers, receiver, models)
    finally:
        workers.stop_all()
        catalog.close()


def _all_finished(catalog: Catalog, run_ids: set[int]) -> bool:
    return all(run_record(catalog, run_id).status in FINISHED for run_id in run_ids)


def _assert_each_run_ran_once(fleet: Fleet, syncs: dict[int, str], run_ids: set[int]) -> None:
    """Every queued run succeeded once, by one worker, sending each planned row once."""
    names = {"w0", "w1", "w2", "w3"}
    for sync_id, table in syncs.items():
        runs = runs_of(fleet.catalog, sync_id)
        assert {run.id for run in runs} <= run_ids, (
            "a run was queued that the test did not ask for: "
            f"{_described(runs)}; the workers logged: {fleet.workers.interruptions()}"
        )
        deliveries = fleet.receiver.of_sync(sync_id)
        per_run = Counter(d.run_id for d in deliveries)
        assert max(Counter((d.run_id, d.row_id) for d in deliveries).values()) == 1
        for run in runs:
            assert run.status == "success", run.error
            assert run.worker in names
            sent = run.successful_added + run.successful_changed + run.successful_removed
            assert per_run[run.id] == sent
        assert fleet.receiver.table(sync_id) == fleet.models.rows(table)


def _described(runs: list[RunRecord]) -> str:
    return "; ".join(
        f"run {run.id} {run.status} by {run.worker} ({run.triggered_by}): {run.error}"
        for run in runs
    )


def test_three_workers_run_every_queued_run_once_and_resume_the_run_of_a_killed_worker(
    fleet: Fleet,
) -> None:
    _serve_and_kill(fleet, rounds=2, changed_share=5)


@pytest.mark.slow
def test_soak_of_three_workers_over_many_rounds_of_changes(fleet: Fleet) -> None:
    _serve_and_kill(fleet, rounds=6, changed_share=1)


def _serve_and_kill(fleet: Fleet, *, rounds: int, changed_share: int) -> None:
    """Fifty syncs queued ``rounds`` times (after the first, every ``changed_share``-th
    sync's model changes and it is queued again), and a big run whose worker is killed.
    """
    catalog, models, receiver = fleet.catalog, fleet.models, fleet.receiver
    syncs: dict[int, str] = {}
    for n in range(50):
        models.create(f"t{n}", 20)
        syncs[add_sync(catalog, models, f"t{n}", receiver.url)] = f"t{n}"
    models.create("big", 3 * ENGINE_BATCH)
    big = add_sync(catalog, models, "big", receiver.url, batch_size=BIG_REQUEST_ROWS)
    # Twelve requests of about 0.4 seconds: the kill lands with seven of them to go.
    receiver.delay = lambda sync_id: 0.4 if sync_id == big else 0.0

    processes = {f"w{n}": fleet.workers.start(f"w{n}") for n in range(3)}
    big_run = enqueue(catalog, big)
    run_ids = {big_run}
    for version in range(rounds):
        for position, (sync_id, table) in enumerate(syncs.items()):
            if version and position % changed_share:
                continue
            if version:
                models.change(table, version)
            run_ids.add(enqueue(catalog, sync_id))
        if not version:
            # Kill the big run's worker once its first batch is acknowledged.
            assert wait_until(lambda: len(receiver.of_sync(big)) > ENGINE_BATCH, timeout=60)
            owner = run_record(catalog, big_run)
            assert owner.status in RUNNING_STATUSES
            assert owner.worker is not None
            victim = processes.pop(owner.worker)
            os.kill(victim.pid, signal.SIGKILL)
            victim.wait()

    assert wait_until(lambda: _all_finished(catalog, run_ids), timeout=300)
    # The survivors queued a run to resume the killed one.
    assert wait_until(lambda: runs_of(catalog, big)[-1].status == "success", timeout=120)

    # The survivors served to the end: a run of one that died would be resumed too.
    exited = {
        name: process.returncode
        for name, process in processes.items()
        if process.poll() is not None
    }
    assert not exited, f"workers exited {exited}: {fleet.workers.interruptions()}"
    _assert_each_run_ran_once(fleet, syncs, run_ids)

    killed, resumed = runs_of(catalog, big)
    assert killed.status == "interrupted"
    assert f"worker {killed.worker} stopped" in (killed.error or "")
    assert resumed.triggered_by == RESUME_TRIGGER
    assert resumed.worker in processes
    assert receiver.table(big) == models.rows("big")
    # The resumed run carried on: rows the killed run had delivered were not sent again,
    # except those of the one batch in flight when it died.
    sent = Counter(d.row_id for d in receiver.of_sync(big))
    assert len(sent) == 3 * ENGINE_BATCH
    assert sum(1 for times in sent.values() if times > 1) <= ENGINE_BATCH
    assert max(sent.values()) <= 2
    assert resumed.successful_added <= 2 * ENGINE_BATCH


@pytest.mark.slow
def test_three_workers_run_each_scheduled_run_once(fleet: Fleet, tmp_path: Path) -> None:
    catalog, models, receiver = fleet.catalog, fleet.models, fleet.receiver
    every_minute = {"type": "interval", "schedule": {"interval": {"unit": "minute", "quantity": 1}}}
    syncs: dict[int, str] = {}
    for n in range(50):
        models.create(f"t{n}", 20)
        syncs[add_sync(catalog, models, f"t{n}", receiver.url, schedule=every_minute)] = f"t{n}"
    scheduler = Scheduler(catalog, Settings(home=tmp_path / "scheduler"))
    start = utcnow()
    run_ids: set[int] = set()
    try:
        scheduler.tick(start)  # learns when each sync is first due
        for n in range(3):
            fleet.workers.start(f"w{n}")
        for minute in range(1, 5):
            for table in list(syncs.values())[::minute]:
                models.change(table, minute)
            queued = scheduler.tick(start + timedelta(minutes=minute))
            assert len(queued) == len(syncs)
            run_ids.update(int(run_id) for run_id in queued)
            time.sleep(2)
    finally:
        scheduler.stop()  # gives up its lock and the lock's connection

    assert wait_until(lambda: _all_finished(catalog, run_ids), timeout=300)
    with catalog.session(read_only=True) as session:
        triggers = {session.runs.get(run_id).triggered_by for run_id in run_ids}
    assert triggers == {"schedule"}
    _assert_each_run_ran_once(fleet, syncs, run_ids)
