"""One scheduler schedules at a time: the PostgreSQL advisory lock, and a standby taking over."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import func, select

from syncline.catalog import Catalog, SyncRecord
from syncline.catalog.tables import RunRecord
from syncline.scheduling.scheduler import Scheduler
from syncline.security.secrets import SecretBox
from syncline.settings import Settings

EVERY_MINUTE = {"type": "cron", "schedule": {"expression": "* * * * *"}}
T0 = datetime(2026, 12, 4, 10, 0, 30, tzinfo=UTC)


@pytest.fixture
def postgres_catalogs(make_postgres_database: Callable[[], str]) -> Iterator[list[Catalog]]:
    """Two catalogs on one PostgreSQL database, as two scheduler processes would open it."""
    url = make_postgres_database()
    box = SecretBox(Fernet.generate_key())
    catalogs = [Catalog.from_url(url, secrets=box), Catalog.from_url(url, secrets=box)]
    yield catalogs
    for catalog in catalogs:
        catalog.close()


def _run_count(catalog: Catalog) -> int:
    with catalog.session() as session:
        return int(session.orm.scalar(select(func.count()).select_from(RunRecord)) or 0)


def _make_syncs(catalog: Catalog, count: int) -> list[SyncRecord]:
    with catalog.session() as session:
        source = session.sources.create(name="wh", slug="wh", type="duckdb", configuration={})
        destination = session.destinations.create(
            name="hook", slug="hook", type="webhook", configuration={}
        )
        model = session.models.create(
            name="m",
            slug="m",
            source=source,
            query_type="raw_sql",
            primary_key="id",
            sql="SELECT 1",
        )
        return [
            session.syncs.create(
                slug=f"sync-{n}",
                model=model,
                destination=destination,
                configuration={},
                schedule=EVERY_MINUTE,
            )
            for n in range(count)
        ]


@pytest.mark.postgres
def test_only_the_scheduler_holding_the_lock_queues_runs(
    postgres_catalogs: list[Catalog], tmp_path: Path
) -> None:
    first_catalog, second_catalog = postgres_catalogs
    _make_syncs(first_catalog, 3)
    first = Scheduler(first_catalog, Settings(home=tmp_path))
    second = Scheduler(second_catalog, Settings(home=tmp_path))
    try:
        first.tick(T0)
        assert second.tick(T0) == []
        assert first.leadership.held
        assert not second.leadership.held

        minute = datetime(2026, 12, 4, 10, 1, 0, 5, tzinfo=UTC)
        assert second.tick(minute) == []
        assert len(first.tick(minute)) == 3
        assert second.tick(minute) == []
        assert _run_count(first_catalog) == 3

        # The active scheduler stops: the standby takes over at its next tick.
        first.stop()
        later = datetime(2026, 12, 4, 10, 2, 0, 5, tzinfo=UTC)
        assert len(second.tick(later)) == 3
        assert second.leadership.held
    finally:
        first.stop()
        second.stop()


@pytest.mark.postgres
def test_a_standby_takes_over_when_the_lock_connection_dies(
    postgres_catalogs: list[Catalog], tmp_path: Path
) -> None:
    first_catalog, second_catalog = postgres_catalogs
    _make_syncs(first_catalog, 1)
    first = Scheduler(first_catalog, Settings(home=tmp_path))
    second = Scheduler(second_catalog, Settings(home=tmp_path))
    try:
        first.tick(T0)
        assert not second.leadership.acquire()

        # Kill the active scheduler's lock connection as a lost network would.
        with second_catalog.engine.connect() as admin:
            admin.exec_driver_sql(
                "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' "
                "AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
                "AND pid <> pg_backend_pid()"
            )
        # A terminated backend lets go of its locks as it exits, a moment after the signal.
        deadline = time.monotonic() + 10
        while not second.leadership.acquire():
            assert time.monotonic() < deadline, "the standby never got the lock"
            time.sleep(0.05)
        assert not first.leadership.acquire()
    finally:
        first.stop()
        second.stop()


def test_on_sqlite_there_is_no_lock_as_one_process_serves_the_file(tmp_path: Path) -> None:
    catalog = Catalog.from_url(f"sqlite:///{tmp_path / 'syncline.db'}", home=tmp_path)
    first = Scheduler(catalog, Settings(home=tmp_path))
    second = Scheduler(catalog, Settings(home=tmp_path))
    try:
        assert first.leadership.acquire()
        assert second.leadership.acquire()
    finally:
        first.stop()
        second.stop()
        catalog.close()
