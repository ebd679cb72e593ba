"""Scheduled sync sequences: the scheduler triggers them and moves their runs on."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fake_dbt_cloud import TOKEN, serve_fake_dbt_cloud
from sqlalchemy import select

from syncline.catalog import Catalog, SyncRecord
from syncline.catalog.tables import RunRecord, SequenceRunRecord
from syncline.scheduling.scheduler import Scheduler
from syncline.scheduling.state import next_run_at
from syncline.settings import Settings

DAILY = {"type": "cron", "schedule": {"expression": "0 6 * * *"}}
T0 = datetime(2026, 12, 4, 5, 0, tzinfo=UTC)
SIX = datetime(2026, 12, 4, 6, 0, 2, tzinfo=UTC)


@pytest.fixture
def scheduler(catalog: Catalog, tmp_path: Path) -> Iterator[Scheduler]:
    scheduler = Scheduler(catalog, Settings(home=tmp_path))
    yield scheduler
    scheduler.stop()


def _sequence(
    catalog: Catalog,
    steps: list[SyncRecord],
    *,
    disabled: bool = False,
    schedule: dict[str, Any] = DAILY,
) -> str:
    with catalog.session() as session:
        record = session.sequences.create(
            slug="nightly",
            steps=[{"sync": sync.id, "stopOn": "fatal"} for sync in steps],
            schedule=schedule,
            disabled=disabled,
        )
        return record.id


def _sequence_runs(catalog: Catalog) -> list[SequenceRunRecord]:
    with catalog.session() as session:
        return list(session.orm.scalars(select(SequenceRunRecord)))


def _sync_runs(catalog: Catalog) -> list[RunRecord]:
    with catalog.session() as session:
        return list(session.orm.scalars(select(RunRecord).order_by(RunRecord.id)))


def test_a_due_sequence_is_triggered_and_its_first_step_queued(
    catalog: Catalog, scheduler: Scheduler, make_sync: Callable[..., SyncRecord]
) -> None:
    first, second = make_sync("first", None), make_sync("second", None)
    sequence_id = _sequence(catalog, [first, second])

    assert scheduler.tick(T0) == []
    queued = scheduler.tick(SIX)
    assert queued == [_sequence_runs(catalog)[0].id]

    runs = _sequence_runs(catalog)
    assert [(r.sequence_id, r.triggered_by, r.status) for r in runs] == [
        (sequence_id, "schedule", "running")
    ]
    # The same tick moved the sequence run on: its first step's sync run is queued.
    assert [(r.sync_id, r.triggered_by) for r in _sync_runs(catalog)] == [(first.id, "sequence")]
    assert scheduler.tick(SIX.replace(second=30)) == []


def test_a_disabled_sequence_is_not_scheduled(
    catalog: Catalog, scheduler: Scheduler, make_sync: Callable[..., SyncRecord]
) -> None:
    _sequence(catalog, [make_sync("first", None)], disabled=True)
    scheduler.tick(T0)
    assert scheduler.tick(SIX) == []
    assert _sequence_runs(catalog) == []


def test_a_sequence_shows_its_next_run_time(
    catalog: Catalog, scheduler: Scheduler, make_sync: Callable[..., SyncRecord]
) -> None:
    sequence_id = _sequence(catalog, [make_sync("first", None)])
    scheduler.tick(T0)
    with catalog.session() as session:
        record = session.sequences.get(sequence_id)
        assert next_run_at(session.orm, record) == datetime(2026, 12, 4, 6, 0, tzinfo=UTC)


def test_a_sequence_with_a_dbt_schedule_runs_after_the_job_succeeds(
    catalog: Catalog, make_sync: Callable[..., SyncRecord], tmp_path: Path
) -> None:
    dbt = {"type": "dbt", "schedule": {"account": {"id": "7"}, "job": {"id": "42"}}}
    _sequence(catalog, [make_sync("first", None)], schedule=dbt)

    with serve_fake_dbt_cloud() as dbt_cloud:
        settings = Settings(home=tmp_path, dbt_cloud_url=dbt_cloud.url, dbt_cloud_token=TOKEN)
        scheduler = Scheduler(catalog, settings, dbt_poll_seconds=60)
        try:
            assert scheduler.tick(T0) == []
            dbt_cloud.add_run(42, 10)
            queued = scheduler.tick(datetime(2026, 12, 4, 5, 1, tzinfo=UTC))
        finally:
            scheduler.stop()

    runs = _sequence_runs(catalog)
    assert queued == [runs[0].id]
    assert [r.triggered_by for r in runs] == ["schedule"]
