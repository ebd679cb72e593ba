"""A scheduled run that comes due while a dry run is queued waits for it, never joins it.

The queue holds one run per sync behind the running one, and a dry run must stay a
dry run: the scheduled run is queued as soon as the dry run has started.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from syncline.catalog import Catalog, RunTrigger, SyncRecord
from syncline.catalog.tables import ScheduleStateRecord
from syncline.scheduling.scheduler import Scheduler
from syncline.settings import Settings

HOURLY = {"type": "interval", "schedule": {"interval": {"unit": "hour", "quantity": 1}}}
T0 = datetime(2026, 12, 4, 10, 20, tzinfo=UTC)


@pytest.fixture
def scheduler(catalog: Catalog, tmp_path: Path) -> Iterator[Scheduler]:
    scheduler = Scheduler(catalog, Settings(home=tmp_path))
    yield scheduler
    scheduler.stop()


def test_a_scheduled_run_due_while_a_dry_run_is_queued_waits_until_it_started(
    catalog: Catalog,
    scheduler: Scheduler,
    make_sync: Callable[..., SyncRecord],
    caplog: pytest.LogCaptureFixture,
) -> None:
    sync = make_sync("hourly", HOURLY)
    scheduler.tick(T0)
    with catalog.session() as session:
        running = session.runs.enqueue(sync.id)
        session.runs.start(running.id, "test-worker")
        dry = session.runs.enqueue(sync.id, RunTrigger(dry_run=True))

    with caplog.at_level(logging.INFO, logger="syncline.scheduling.scheduler"):
        assert scheduler.tick(datetime(2026, 12, 4, 11, 0, 3, tzinfo=UTC)) == []
        assert scheduler.tick(datetime(2026, 12, 4, 11, 0, 8, tzinfo=UTC)) == []
    with catalog.session(read_only=True) as session:
        assert session.runs.get(dry.id).dry_run
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    waiting = [r.getMessage() for r in caplog.records if f"dry run {dry.id}" in r.getMessage()]
    assert len(waiting) == 1, "said once, not on every tick"

    with catalog.session() as session:
        session.runs.finish(running.id, "success")
        session.runs.start(dry.id, "test-worker")
    queued = scheduler.tick(datetime(2026, 12, 4, 11, 0, 13, tzinfo=UTC))

    assert len(queued) == 1
    with catalog.session(read_only=True) as session:
        run = session.runs.get(int(queued[0]))
        assert (run.triggered_by, run.dry_run, run.status) == ("schedule", False, "queued")
        state = session.orm.scalar(
            select(ScheduleStateRecord).where(ScheduleStateRecord.sync_id == sync.id)
        )
    assert state is not None
    assert state.last_due_at == datetime(2026, 12, 4, 11, 0, tzinfo=UTC)
    assert state.next_run_at == datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
