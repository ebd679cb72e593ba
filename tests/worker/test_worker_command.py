"""``syncline worker`` as a real process on a SQLite catalog: signals, --check, refusal."""

from __future__ import annotations

import signal
import subprocess
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
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
from syncline.catalog.engine import SQLITE_BUSY_TIMEOUT_MS
from syncline.connectors.destinations.webhook.destination import REQUEST_WAVES
from syncline.worker import registry
from syncline.worker.recovery import RESUME_TRIGGER


@pytest.fixture
def workers(home: Path, tmp_path: Path, home_catalog: Catalog) -> Iterator[Workers]:
    started = Workers(home, tmp_path)
    yield started
    started.stop_all()


STALE_SECONDS = 10.0
"""SYNCLINE_WORKER_STALE_SECONDS of the worker processes (see Workers)."""

QUICK_STALE_SECONDS = 2.0
"""The staleness limit of the one test that waits for a heartbeat to age."""


def _registered(home_catalog: Catalog, name: str) -> bool:
    """True once worker ``name`` registered and sends heartbeats (read in this process)."""
    return registry.liveness(home_catalog, name, timedelta(seconds=STALE_SECONDS)).alive


def _name() -> str:
    return f"worker-{uuid.uuid4().hex[:8]}"


def test_check_exits_0_only_while_this_machines_worker_has_a_fresh_heartbeat(
    workers: Workers, home_catalog: Catalog
) -> None:
    name = _name()
    before = workers.run(name, "worker", "--check")
    assert before.returncode == 1
    assert f"no worker named {name!r} has registered" in before.stderr

    process = workers.start(name)
    assert wait_until(lambda: _registered(home_catalog, name), timeout=60)
    assert workers.run(name, "worker", "--check").returncode == 0

    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=60) == 0
    after = workers.run(name, "worker", "--check")
    assert after.returncode == 1
    assert f"worker {name!r} stopped at" in after.stderr


def test_check_exits_1_once_the_heartbeat_is_stale(workers: Workers, home_catalog: Catalog) -> None:
    workers.settings["WORKER_STALE_SECONDS"] = str(QUICK_STALE_SECONDS)
    name = _name()
    process = workers.start(name)
    assert wait_until(lambda: _registered(home_catalog, name), timeout=60)

    process.send_signal(signal.SIGSTOP)  # alive but silent, as a hung worker is
    try:
        time.sleep(QUICK_STALE_SECONDS + 0.5)
        check = workers.run(name, "worker", "--check")
        assert check.returncode == 1
        assert "last sent a heartbeat" in check.stderr
    finally:
        process.send_signal(signal.SIGCONT)


def test_a_second_worker_on_a_sqlite_catalog_is_refused_but_not_after_a_crash(
    workers: Workers, home_catalog: Catalog
) -> None:
    first_name = _name()
    first = workers.start(first_name)
    assert wait_until(lambda: _registered(home_catalog, first_name), timeout=60)

    second = workers.run(_name(), "worker")

    assert second.returncode == 2
    assert "a worker is already serving this SQLite catalog" in second.stderr
    assert f"pid {first.pid}" in second.stderr

    first.kill()
    first.wait()
    third_name = _name()
    workers.start(third_name)
    assert wait_until(lambda: _registered(home_catalog, third_name), timeout=60)


def test_sigterm_mid_run_stops_at_a_batch_and_the_next_worker_resumes_the_run(
    workers: Workers, home_catalog: Catalog, receiver: HookReceiver, models: ModelFile
) -> None:
    models.create("t1", 25_000)
    sync_id = add_sync(home_catalog, models, "t1", receiver.url, batch_size=1_000)
    receiver.delay = lambda _sync: 0.3  # about a second per batch of four requests
    run_id = enqueue(home_catalog, sync_id)
    name = _name()
    process = workers.start(name)
    assert wait_until(lambda: receiver.requests_started > 0, timeout=60)

    process.send_signal(signal.SIGTERM)

    assert process.wait(timeout=60) == 0
    stopped = run_record(home_catalog, run_id)
    assert stopped.status == "interrupted"
    assert "stopped at a batch boundary because its worker stopped" in (stopped.error or "")
    sent_first = len(receiver.of_sync(sync_id))
    assert 0 < sent_first < 25_000
    follow_up = runs_of(home_catalog, sync_id)[-1]
    assert (follow_up.status, follow_up.triggered_by) == ("queued", RESUME_TRIGGER)

    receiver.delay = lambda _sync: 0.0
    workers.start(name)
    assert wait_until(
        lambda: run_record(home_catalog, follow_up.id).status == "success", timeout=60
    )
    assert receiver.table(sync_id) == models.rows("t1")
    assert max(Counter(d.row_id for d in receiver.of_sync(sync_id)).values()) == 1


def test_a_second_sigterm_stops_at_once_and_leaves_the_run_to_be_resumed(
    workers: Workers, home_catalog: Catalog, receiver: HookReceiver, models: ModelFile
) -> None:
    models.create("t1", 5_000)
    sync_id = add_sync(home_catalog, models, "t1", receiver.url, batch_size=100)
    receiver.delay = lambda _sync: 1.0  # 50 requests: far longer than the test waits
    run_id = enqueue(home_catalog, sync_id)
    process = workers.start(_name())
    assert wait_until(lambda: receiver.requests_started > 0, timeout=60)

    process.send_signal(signal.SIGTERM)
    assert wait_until(lambda: "stopping:" in _log(workers, process), timeout=30)
    process.send_signal(signal.SIGTERM)

    assert process.wait(timeout=30) == 128 + signal.SIGTERM
    stopped = run_record(home_catalog, run_id)
    assert stopped.status == "interrupted"
    assert "was stopped at once" in (stopped.error or "")
    assert runs_of(home_catalog, sync_id)[-1].triggered_by == RESUME_TRIGGER


def _log(workers: Workers, process: subprocess.Popen[bytes]) -> str:
    index = workers.started.index(process)
    return next(workers.logs.glob(f"*-{index}.log")).read_text()


def test_a_killed_workers_run_is_resumed_as_soon_as_a_worker_starts_again(
    workers: Workers, home_catalog: Catalog, receiver: HookReceiver, models: ModelFile
) -> None:
    models.create("t1", 25_000)
    sync_id = add_sync(home_catalog, models, "t1", receiver.url, batch_size=1_000)
    receiver.delay = lambda _sync: 0.1
    run_id = enqueue(home_catalog, sync_id)
    # Heartbeats age far slower than the test waits: only the dead process can tell.
    workers.settings["WORKER_STALE_SECONDS"] = "600"
    name = _name()
    first = workers.start(name)
    assert wait_until(lambda: len(receiver.of_sync(sync_id)) > 10_000, timeout=60)

    first.kill()
    first.wait()
    receiver.delay = lambda _sync: 0.0
    workers.start(name)

    assert wait_until(lambda: runs_of(home_catalog, sync_id)[-1].status == "success", timeout=60)
    killed, resumed = runs_of(home_catalog, sync_id)
    assert killed.id == run_id
    assert killed.status == "interrupted"
    assert "its process is gone" in (killed.error or "")
    assert resumed.triggered_by == RESUME_TRIGGER
    assert receiver.table(sync_id) == models.rows("t1")
    sent = Counter(d.row_id for d in receiver.of_sync(sync_id))
    assert sum(1 for times in sent.values() if times > 1) <= 10_000


def test_a_killed_worker_resends_no_more_webhook_rows_than_one_batch_of_requests(
    workers: Workers, home_catalog: Catalog, receiver: HookReceiver, models: ModelFile
) -> None:
    # Requests of 10 rows, 4 at a time, each answered after half a second: the webhook
    # takes REQUEST_WAVES rounds of 4 requests per engine batch, about two seconds each.
    models.create("t1", 429)
    sync_id = add_sync(home_catalog, models, "t1", receiver.url, batch_size=10, concurrency=4)
    engine_batch = 10 * 4 * REQUEST_WAVES
    receiver.delay = lambda _sync: 0.5
    run_id = enqueue(home_catalog, sync_id)
    workers.settings["WORKER_STALE_SECONDS"] = "600"
    name = _name()
    first = workers.start(name)
    assert wait_until(lambda: len(receiver.of_sync(sync_id)) > engine_batch + 40, timeout=60)

    first.kill()
    first.wait()
    acknowledged = len(receiver.of_sync(sync_id))
    receiver.delay = lambda _sync: 0.0
    workers.start(name)

    assert wait_until(lambda: runs_of(home_catalog, sync_id)[-1].status == "success", timeout=60)
    killed, resumed = runs_of(home_catalog, sync_id)
    assert (killed.id, killed.status) == (run_id, "interrupted")
    # Every batch the receiver finished before the one in flight is counted and not
    # sent again; only the acknowledgements of the batch in flight are lost.
    assert killed.successful_added >= acknowledged - engine_batch > 0
    sent = Counter(d.row_id for d in receiver.of_sync(sync_id))
    assert sum(1 for times in sent.values() if times > 1) <= engine_batch
    assert resumed.successful_added + killed.successful_added == 429
    assert receiver.table(sync_id) == models.rows("t1")


def test_check_answers_at_once_while_a_hung_process_holds_the_write_lock(
    workers: Workers, home_catalog: Catalog
) -> None:
    name = _name()
    registry.register(home_catalog, name, 1, timedelta(seconds=STALE_SECONDS))

    with home_catalog.session() as session:  # holds SQLite's write lock, as a hung writer would
        session.flush()
        started = time.monotonic()
        check = workers.run(name, "worker", "--check")
        waited = time.monotonic() - started

    assert check.returncode == 0
    assert f"worker {name!r} is alive" in check.stdout
    assert waited < SQLITE_BUSY_TIMEOUT_MS / 1000


def test_check_without_a_catalog_exits_1(tmp_path: Path) -> None:
    empty = Workers(tmp_path / "nothing-here", tmp_path)

    check = empty.run("w", "worker", "--check")

    assert check.returncode == 1
    assert "no catalog at" in check.stderr
    assert not (tmp_path / "nothing-here" / "syncline.db").exists()
