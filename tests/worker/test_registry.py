"""The worker registry, the SQLite one-worker rule, and the worker settings."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from worker_helpers import process_state, wait_until

from syncline.catalog import Catalog
from syncline.catalog.tables import WorkerRecord
from syncline.catalog.types import utcnow
from syncline.errors import ConfigError, UserError
from syncline.settings import Settings, load_settings
from syncline.worker import registry
from syncline.worker.pool import WorkerPool

STALE = timedelta(seconds=5)


def _settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path, worker_heartbeat_seconds=0.2, worker_stale_seconds=5)


def test_liveness_follows_registration_heartbeat_and_stop(catalog: Catalog) -> None:
    assert not registry.liveness(catalog, "w1", STALE).alive

    registry.register(catalog, "w1", 2, STALE)
    alive = registry.liveness(catalog, "w1", STALE)
    assert alive.alive
    assert "worker 'w1' is alive" in alive.reason

    with catalog.session() as session:
        record = session.orm.scalars(select(WorkerRecord)).one()
        record.heartbeat_at = utcnow() - timedelta(seconds=60)
    stale = registry.liveness(catalog, "w1", STALE)
    assert not stale.alive
    assert "last sent a heartbeat" in stale.reason

    registry.beat(catalog, "w1")
    assert registry.liveness(catalog, "w1", STALE).alive

    registry.unregister(catalog, "w1")
    stopped = registry.liveness(catalog, "w1", STALE)
    assert not stopped.alive
    assert "stopped at" in stopped.reason


def test_a_live_worker_of_another_process_keeps_its_name(catalog: Catalog) -> None:
    with catalog.session() as session:
        session.orm.add(
            WorkerRecord(name="shared", host="another-host", pid=4242, heartbeat_at=utcnow())
        )

    with pytest.raises(UserError, match=r"worker 'shared' is already running \(pid 4242"):
        registry.register(catalog, "shared", 1, STALE)

    registry.register(catalog, "other-name", 1, STALE)


def test_the_name_of_a_silent_worker_can_be_taken_over(catalog: Catalog) -> None:
    with catalog.session() as session:
        session.orm.add(
            WorkerRecord(
                name="shared",
                host="another-host",
                pid=4242,
                heartbeat_at=utcnow() - timedelta(seconds=60),
            )
        )

    registry.register(catalog, "shared", 3, STALE)

    with catalog.session() as session:
        record = session.orm.scalars(select(WorkerRecord)).one()
        assert (record.host, record.pid) == (socket.gethostname(), os.getpid())
        assert record.concurrency == 3


def test_the_name_of_a_killed_worker_not_yet_reaped_can_be_taken_over_at_once(
    catalog: Catalog,
) -> None:
    # A worker killed with SIGKILL under a supervisor that has not reaped it yet: its pid
    # still answers signal 0, but the process is gone (a zombie).
    zombie = subprocess.Popen([sys.executable, "-c", "pass"])
    try:
        assert wait_until(lambda: process_state(zombie.pid) == "Z", timeout=10)
        with catalog.session() as session:
            session.orm.add(
                WorkerRecord(
                    name="w2", host=socket.gethostname(), pid=zombie.pid, heartbeat_at=utcnow()
                )
            )

        registry.register(catalog, "w2", 1, STALE)

        assert registry.process_running(os.getpid())
        assert not registry.process_running(zombie.pid)
    finally:
        zombie.wait()
    with catalog.session() as session:
        assert session.orm.scalars(select(WorkerRecord)).one().pid == os.getpid()


def test_a_second_pool_on_a_sqlite_catalog_is_refused_until_the_first_stops(
    tmp_path: Path,
) -> None:
    settings = _settings(tmp_path)
    catalog = Catalog.open(settings)
    first = WorkerPool(catalog, settings, name="first")
    first.start()
    try:
        with pytest.raises(UserError, match="a worker is already serving this SQLite catalog"):
            WorkerPool(catalog, settings, name="second").start()
    finally:
        assert first.stop(timeout=30)

    again = WorkerPool(catalog, settings, name="second")
    again.start()
    assert again.stop(timeout=30)
    catalog.close()


def test_worker_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYNCLINE_WORKER_CONCURRENCY", "4")
    monkeypatch.setenv("SYNCLINE_WORKER_HEARTBEAT_SECONDS", "2.5")
    monkeypatch.setenv("SYNCLINE_WORKER_STALE_SECONDS", "30")
    monkeypatch.setenv("SYNCLINE_WORKER_NAME", " box-7 ")
    monkeypatch.setenv("SYNCLINE_SNAPSHOT_LOCK_WAIT_SECONDS", "45")

    settings = load_settings()

    assert settings.worker_concurrency == 4
    assert settings.worker_heartbeat_seconds == 2.5
    assert settings.worker_stale_seconds == 30
    assert registry.default_worker_name(settings) == "box-7"
    assert settings.snapshot_lock_wait_seconds == 45


@pytest.mark.parametrize(
    ("variable", "value", "problem"),
    [
        ("SYNCLINE_WORKER_CONCURRENCY", "0", "must be a positive integer"),
        ("SYNCLINE_WORKER_CONCURRENCY", "two", "must be a positive integer"),
        ("SYNCLINE_WORKER_HEARTBEAT_SECONDS", "-1", "must be a positive number"),
        ("SYNCLINE_WORKER_STALE_SECONDS", "5", "must be more than"),
        ("SYNCLINE_SNAPSHOT_LOCK_WAIT_SECONDS", "0", "must be a positive number"),
    ],
)
def test_bad_worker_settings_are_refused_by_name(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, problem: str
) -> None:
    monkeypatch.setenv(variable, value)

    with pytest.raises(ConfigError, match=f"{variable}=.*{problem}"):
        load_settings()
