"""The scheduler on an injected clock: due runs, catch-up, disabled syncs, schedule edits."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, select

from syncline.catalog import Catalog, SyncRecord
from syncline.catalog.tables import RunRecord, ScheduleStateRecord
from syncline.scheduling.scheduler import Scheduler
from syncline.settings import Settings

HOURLY = {"type": "interval", "schedule": {"interval": {"unit": "hour", "quantity": 1}}}
T0 = datetime(2026, 12, 4, 10, 20, tzinfo=UTC)

MakeSync = Callable[..., SyncRecord]


def _runs(catalog: Catalog) -> list[RunRecord]:
    with catalog.session() as session:
        return list(session.orm.scalars(select(RunRecord).order_by(RunRecord.id)))


def _state(catalog: Catalog, sync_id: int) -> ScheduleStateRecord | None:
    with catalog.session() as session:
        return session.orm.scalar(
            select(ScheduleStateRecord).where(ScheduleStateRecord.sync_id == sync_id)
        )


@pytest.fixture
def scheduler(catalog: Catalog, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scheduler]:
    scheduler = Scheduler(catalog, Settings(home=tmp_path_factory.mktemp("home")))
    yield scheduler
    scheduler.stop()


def _tick_once(catalog: Catalog, settings: Settings, now: datetime) -> list[int]:
    """One tick of a scheduler that then stops, as a process that starts and exits."""
    scheduler = Scheduler(catalog, settings)
    try:
        return scheduler.tick(now)
    finally:
        scheduler.stop()


def test_interval_sync_runs_once_each_time_it_is_due(
    catalog: Catalog, scheduler: Scheduler, make_sync: MakeSync
) -> None:
    sync = make_sync("hourly", HOURLY)

    assert scheduler.tick(T0) == []
    state = _state(catalog, sync.id)
    assert state is not None
    assert state.next_run_at == datetime(2026, 12, 4, 11, 0, tzinfo=UTC)

    assert scheduler.tick(T0 + timedelta(minutes=30)) == []
    queued = scheduler.tick(datetime(2026, 12, 4, 11, 0, 3, tzinfo=UTC))
    assert len(queued) == 1
    assert scheduler.tick(datetime(2026, 12, 4, 11, 0, 8, tzinfo=UTC)) == []

    runs = _runs(catalog)
    assert [(r.sync_id, r.triggered_by, r.status) for r in runs] == [
        (sync.id, "schedule", "queued")
    ]
    state = _state(catalog, sync.id)
    assert state is not None
    assert state.last_due_at == datetime(2026, 12, 4, 11, 0, tzinfo=UTC)
    assert state.next_run_at == datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


def test_a_cron_sync_runs_at_its_minute(
    catalog: Catalog, scheduler: Scheduler, make_sync: MakeSync
) -> None:
    make_sync("weekdays", {"type": "cron", "schedule": {"expression": "30 6 * * mon-fri"}})

    scheduler.tick(datetime(2026, 12, 4, 7, 0, tzinfo=UTC))  # a Friday, after 06:30
    assert scheduler.tick(datetime(2026, 12, 6, 6, 30, tzinfo=UTC)) == []  # Sunday: none due
    assert len(scheduler.tick(datetime(2026, 12, 7, 6, 30, 1, tzinfo=UTC))) == 1  # Monday


def test_after_downtime_one_catch_up_run_and_a_warning(
    catalog: Catalog,
    scheduler: Scheduler,
    make_sync: MakeSync,
    caplog: pytest.LogCaptureFixture,
) -> None:
    make_sync("hourly", HOURLY)
    scheduler.tick(T0)

    # Down from 10:20 until 15:10: due at 11, 12, 13, 14 and 15 o'clock.
    with caplog.at_level(logging.WARNING, logger="syncline.scheduling.scheduler"):
        assert len(scheduler.tick(datetime(2026, 12, 4, 15, 10, tzinfo=UTC))) == 1
        assert scheduler.tick(datetime(2026, 12, 4, 15, 11, tzinfo=UTC)) == []

    assert len(_runs(catalog)) == 1
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert (
        "sync hourly: 5 scheduled runs were due from 2026-12-04T11:00:00+00:00 to " in warnings[0]
    )
    assert "queued one catch-up run" in warnings[0]


def test_the_catch_up_run_is_not_repeated_by_a_restarted_scheduler(
    catalog: Catalog, make_sync: MakeSync, tmp_path_factory: pytest.TempPathFactory
) -> None:
    sync = make_sync("hourly", HOURLY)
    settings = Settings(home=tmp_path_factory.mktemp("home"))
    _tick_once(catalog, settings, T0)

    later = datetime(2026, 12, 4, 13, 30, tzinfo=UTC)
    assert len(_tick_once(catalog, settings, later)) == 1
    # A new process reads the stored state: nothing more is due until 14:00.
    assert _tick_once(catalog, settings, later + timedelta(minutes=5)) == []
    state = _state(catalog, sync.id)
    assert state is not None
    assert state.next_run_at == datetime(2026, 12, 4, 14, 0, tzinfo=UTC)


def test_disabled_and_manual_syncs_are_never_scheduled(
    catalog: Catalog, scheduler: Scheduler, make_sync: MakeSync
) -> None:
    make_sync("off", HOURLY, disabled=True)
    make_sync("manual", None)

    for hour in range(10, 16):
        assert scheduler.tick(datetime(2026, 12, 4, hour, 0, 1, tzinfo=UTC)) == []
    assert _runs(catalog) == []


def test_a_sync_turned_back_on_does_not_count_its_quiet_time_as_missed(
    catalog: Catalog,
    scheduler: Scheduler,
    make_sync: MakeSync,
    caplog: pytest.LogCaptureFixture,
) -> None:
    sync = make_sync("hourly", HOURLY)
    scheduler.tick(T0)
    with catalog.session() as session:
        session.syncs.update(sync.id, disabled=True)
    scheduler.tick(datetime(2026, 12, 4, 11, 0, 5, tzinfo=UTC))

    with catalog.session() as session:
        session.syncs.update(sync.id, disabled=False)
    with caplog.at_level(logging.WARNING, logger="syncline.scheduling.scheduler"):
        assert scheduler.tick(datetime(2026, 12, 4, 15, 10, tzinfo=UTC)) == []
        assert len(scheduler.tick(datetime(2026, 12, 4, 16, 0, 1, tzinfo=UTC))) == 1
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_a_schedule_edit_resets_the_next_run(
    catalog: Catalog, scheduler: Scheduler, make_sync: MakeSync
) -> None:
    sync = make_sync("hourly", HOURLY)
    scheduler.tick(T0)

    daily = {"type": "cron", "schedule": {"expression": "0 18 * * *"}}
    with catalog.session() as session:
        session.syncs.update(sync.id, schedule=daily)
    # 11:00 was due under the old schedule; the new one is not due until 18:00.
    assert scheduler.tick(datetime(2026, 12, 4, 11, 0, 5, tzinfo=UTC)) == []
    state = _state(catalog, sync.id)
    assert state is not None
    assert state.next_run_at == datetime(2026, 12, 4, 18, 0, tzinfo=UTC)
    assert len(scheduler.tick(datetime(2026, 12, 4, 18, 0, 5, tzinfo=UTC))) == 1


@pytest.mark.parametrize(
    ("schedule", "reason"),
    [
        ({"type": "cron", "schedule": {"expression": "61 * * * *"}}, "minute '61'"),
        # Longer than the calendar holds, as an older release could have stored it.
        (
            {"type": "interval", "schedule": {"interval": {"unit": "week", "quantity": 10**11}}},
            "longer than ten years",
        ),
    ],
    ids=["cron-minute-61", "interval-beyond-the-calendar"],
)
def test_an_unreadable_schedule_is_reported_once_and_others_still_run(
    catalog: Catalog,
    scheduler: Scheduler,
    make_sync: MakeSync,
    caplog: pytest.LogCaptureFixture,
    schedule: dict[str, Any],
    reason: str,
) -> None:
    make_sync("broken", schedule)
    make_sync("hourly", HOURLY)

    with caplog.at_level(logging.ERROR, logger="syncline.scheduling.scheduler"):
        scheduler.tick(T0)
        queued = scheduler.tick(datetime(2026, 12, 4, 11, 0, 1, tzinfo=UTC))
    assert len(queued) == 1
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1
    assert "sync broken" in errors[0]
    assert reason in errors[0]


def test_start_ticks_in_the_background_until_stopped(
    catalog: Catalog, make_sync: MakeSync, tmp_path_factory: pytest.TempPathFactory
) -> None:
    make_sync("hourly", HOURLY)
    times = iter([T0, *[datetime(2026, 12, 4, 11, 0, s, tzinfo=UTC) for s in range(1, 60)]])
    scheduler = Scheduler(
        catalog,
        Settings(home=tmp_path_factory.mktemp("home")),
        clock=lambda: next(times),
        tick_seconds=0.01,
    )
    scheduler.start()
    try:
        deadline = time.monotonic() + 10
        while not _runs(catalog) and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        scheduler.stop(timeout=5)
    assert [r.triggered_by for r in _runs(catalog)] == ["schedule"]


def test_next_run_at_in_the_sync_shape(
    catalog: Catalog, scheduler: Scheduler, make_sync: MakeSync
) -> None:
    hourly = make_sync("hourly", HOURLY)
    off = make_sync("off", HOURLY, disabled=True)
    manual = make_sync("manual", None)
    dbt = make_sync(
        "dbt", {"type": "dbt", "schedule": {"account": {"id": "1"}, "job": {"id": "2"}}}
    )

    scheduler.tick(T0)
    with catalog.session() as session:
        shapes = {s.slug: session.to_api(s) for s in session.syncs.list()}
    assert shapes[hourly.slug]["nextRunAt"] == "2026-12-04T11:00:00.000Z"
    for sync in (off, manual, dbt):
        assert shapes[sync.slug]["nextRunAt"] is None


def test_next_run_at_before_the_scheduler_has_seen_the_sync(
    catalog: Catalog, make_sync: MakeSync
) -> None:
    sync = make_sync("far", {"type": "cron", "schedule": {"expression": "0 0 1 1 *"}})
    with catalog.session() as session:
        shape = session.to_api(session.syncs.get(sync.id))
    assert shape["nextRunAt"] is not None
    assert shape["nextRunAt"].endswith("-01-01T00:00:00.000Z")


def test_a_tick_with_nothing_due_writes_nothing(
    catalog: Catalog, scheduler: Scheduler, make_sync: MakeSync
) -> None:
    make_sync("hourly", HOURLY)
    make_sync("off", HOURLY, disabled=True)
    scheduler.tick(T0)

    writes: list[str] = []

    def record(conn: object, cursor: object, statement: str, *args: object) -> None:
        if statement.lstrip().split()[0].upper() in ("INSERT", "UPDATE", "DELETE"):
            writes.append(statement)

    event.listen(catalog.engine, "before_cursor_execute", record)
    try:
        for minute in range(21, 60, 5):
            assert scheduler.tick(T0.replace(minute=minute)) == []
    finally:
        event.remove(catalog.engine, "before_cursor_execute", record)
    assert writes == []


def test_a_failing_tick_is_logged_once_per_streak_and_ticking_goes_on(
    catalog: Catalog, tmp_path_factory: pytest.TempPathFactory, caplog: pytest.LogCaptureFixture
) -> None:
    calls = {"n": 0}

    def flaky_clock() -> datetime:
        calls["n"] += 1
        if calls["n"] <= 3:
            raise RuntimeError("clock unavailable")
        return T0

    scheduler = Scheduler(
        catalog,
        Settings(home=tmp_path_factory.mktemp("home")),
        clock=flaky_clock,
        tick_seconds=0.01,
    )
    with caplog.at_level(logging.INFO, logger="syncline.scheduling.scheduler"):
        scheduler.start()
        deadline = time.monotonic() + 10
        while calls["n"] < 6 and time.monotonic() < deadline:
            time.sleep(0.02)
        scheduler.stop(timeout=5)

    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1
    assert errors[0].exc_info is not None
    assert any("ticks again" in r.getMessage() for r in caplog.records)


def test_a_schedule_with_no_day_chosen_is_reported_once_and_never_runs(
    catalog: Catalog,
    scheduler: Scheduler,
    make_sync: MakeSync,
    caplog: pytest.LogCaptureFixture,
) -> None:
    no_day = {"expressions": [{"days": {"monday": False}, "time": "08:00"}]}
    make_sync("never", {"type": "visual", "schedule": no_day})
    with caplog.at_level(logging.WARNING, logger="syncline.scheduling.scheduler"):
        for day in range(1, 4):
            assert scheduler.tick(datetime(2026, 12, day, 8, 0, 1, tzinfo=UTC)) == []
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [
        "sync never: its schedule names no time that ever comes, so it never runs; "
        "choose at least one day and time"
    ]


def test_a_target_failing_unexpectedly_does_not_stop_the_others(
    catalog: Catalog,
    scheduler: Scheduler,
    make_sync: MakeSync,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    first = make_sync("first", HOURLY)
    make_sync("second", HOURLY)
    scheduler.tick(T0)
    original = Scheduler._clock_schedule

    def failing(self: Scheduler, target: Any, now: datetime) -> int | str | None:
        if target.slug == first.slug:
            raise RuntimeError("unexpected")
        return original(self, target, now)

    monkeypatch.setattr(Scheduler, "_clock_schedule", failing)
    with caplog.at_level(logging.ERROR, logger="syncline.scheduling.scheduler"):
        queued = scheduler.tick(datetime(2026, 12, 4, 11, 0, 1, tzinfo=UTC))

    assert len(queued) == 1
    assert any("sync first" in r.getMessage() for r in caplog.records)
