"""The first scheduled run of a new or re-enabled schedule is the one its ``nextRunAt`` showed.

The scheduler ticks every few seconds, so it may first see a sync after the due time
that the sync's create response already promised. That run must still happen, once,
and a scheduler that first sees a sync long after it was made queues one catch-up run,
not one per missed time.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from syncline.catalog import Catalog, SyncRecord
from syncline.catalog.tables import RunRecord, ScheduleStateRecord
from syncline.scheduling.scheduler import Scheduler
from syncline.scheduling.state import next_run_at
from syncline.settings import Settings

EVERY_MINUTE = {"type": "interval", "schedule": {"interval": {"unit": "minute", "quantity": 1}}}
HOURLY = {"type": "interval", "schedule": {"interval": {"unit": "hour", "quantity": 1}}}
DAILY = {"type": "cron", "schedule": {"expression": "0 6 * * *"}}

MakeSync = Callable[..., SyncRecord]


@pytest.fixture
def scheduler(catalog: Catalog, tmp_path: Path) -> Iterator[Scheduler]:
    scheduler = Scheduler(catalog, Settings(home=tmp_path))
    yield scheduler
    scheduler.stop()


def _shown(catalog: Catalog, sync_id: int) -> datetime:
    """The sync's ``nextRunAt``, as the API answers it."""
    with catalog.session(read_only=True) as session:
        text = session.to_api(session.syncs.get(sync_id))["nextRunAt"]
    assert text is not None
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _runs(catalog: Catalog, sync_id: int) -> list[RunRecord]:
    with catalog.session(read_only=True) as session:
        query = select(RunRecord).where(RunRecord.sync_id == sync_id).order_by(RunRecord.id)
        return list(session.orm.scalars(query))


def _state(catalog: Catalog, sync_id: int) -> ScheduleStateRecord:
    with catalog.session(read_only=True) as session:
        state = session.orm.scalar(
            select(ScheduleStateRecord).where(ScheduleStateRecord.sync_id == sync_id)
        )
    assert state is not None
    return state


@pytest.mark.parametrize(
    ("schedule", "period"),
    [(EVERY_MINUTE, timedelta(minutes=1)), (DAILY, timedelta(days=1))],
    ids=["every-minute", "daily-cron"],
)
def test_a_new_sync_first_seen_after_its_shown_next_run_still_runs_then(
    catalog: Catalog,
    scheduler: Scheduler,
    make_sync: MakeSync,
    schedule: dict[str, Any],
    period: timedelta,
) -> None:
    sync = make_sync("fresh", schedule)
    shown = _shown(catalog, sync.id)

    # The scheduler's first tick after the sync was made falls just after that time.
    assert len(scheduler.tick(shown + timedelta(seconds=2))) == 1
    assert scheduler.tick(shown + timedelta(seconds=7)) == []

    assert [r.triggered_by for r in _runs(catalog, sync.id)] == ["schedule"]
    state = _state(catalog, sync.id)
    assert state.last_due_at == shown
    assert state.next_run_at == shown + period
    assert _shown(catalog, sync.id) == shown + period


def test_a_sync_turned_back_on_runs_at_the_next_run_it_then_showed(
    catalog: Catalog, scheduler: Scheduler, make_sync: MakeSync
) -> None:
    sync = make_sync("minutely", EVERY_MINUTE, disabled=True)
    scheduler.tick(datetime.now(UTC))
    with catalog.session() as session:
        session.syncs.update(sync.id, disabled=False)
    shown = _shown(catalog, sync.id)

    assert len(scheduler.tick(shown + timedelta(seconds=3))) == 1
    assert _state(catalog, sync.id).last_due_at == shown


def test_a_sync_first_seen_long_after_it_was_made_gets_one_catch_up_run(
    catalog: Catalog,
    scheduler: Scheduler,
    make_sync: MakeSync,
    caplog: pytest.LogCaptureFixture,
) -> None:
    sync = make_sync("hourly", HOURLY)
    shown = _shown(catalog, sync.id)
    later = shown + timedelta(hours=4, minutes=10)

    with caplog.at_level(logging.WARNING, logger="syncline.scheduling.scheduler"):
        assert len(scheduler.tick(later)) == 1
        assert scheduler.tick(later + timedelta(seconds=5)) == []

    assert len(_runs(catalog, sync.id)) == 1
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert f"5 scheduled runs were due from {shown.isoformat()}" in warnings[0]
    assert _state(catalog, sync.id).next_run_at == shown + timedelta(hours=5)


def test_a_sync_turned_off_and_on_never_runs_a_due_time_twice(
    catalog: Catalog, scheduler: Scheduler, make_sync: MakeSync
) -> None:
    sync = make_sync("hourly", HOURLY)
    due = _shown(catalog, sync.id)
    assert len(scheduler.tick(due + timedelta(seconds=1))) == 1

    with catalog.session() as session:
        session.syncs.update(sync.id, disabled=True)
    scheduler.tick(due + timedelta(seconds=6))  # forgets the next due time
    with catalog.session() as session:
        session.syncs.update(sync.id, disabled=False)
        # A clock behind the scheduler's stamps the change before the run it queued.
        session.orm.execute(
            update(SyncRecord)
            .where(SyncRecord.id == sync.id)
            .values(updated_at=due - timedelta(minutes=1))
        )

    assert scheduler.tick(due + timedelta(seconds=11)) == []
    assert len(_runs(catalog, sync.id)) == 1
    with catalog.session(read_only=True) as session:
        record = session.syncs.get(sync.id)
        assert next_run_at(session.orm, record, due + timedelta(seconds=12)) == (
            due + timedelta(hours=1)
        )
