"""dbt Cloud schedules against a local API v2 stand-in: paging, errors, and when syncs run."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import formatdate
from pathlib import Path

import pytest
from fake_dbt_cloud import TOKEN, FakeDbtCloud, serve_fake_dbt_cloud
from sqlalchemy import select

from syncline.catalog import Catalog, SyncRecord
from syncline.catalog.tables import RunRecord, ScheduleStateRecord
from syncline.errors import TerminalError, TransientError
from syncline.scheduling.dbt_cloud import DbtCloudClient, JobRun, decide
from syncline.scheduling.scheduler import Scheduler
from syncline.settings import Settings

JOB = 42
DBT_SCHEDULE = {"type": "dbt", "schedule": {"account": {"id": "7"}, "job": {"id": str(JOB)}}}
T0 = datetime(2026, 12, 4, 10, 0, tzinfo=UTC)
POLL = timedelta(seconds=60)


@pytest.fixture
def dbt_cloud() -> Iterator[FakeDbtCloud]:
    with serve_fake_dbt_cloud() as fake:
        yield fake


def _runs(catalog: Catalog) -> list[RunRecord]:
    with catalog.session() as session:
        return list(session.orm.scalars(select(RunRecord).order_by(RunRecord.id)))


def _watermark(catalog: Catalog, sync_id: int) -> str | None:
    with catalog.session() as session:
        return session.orm.scalar(
            select(ScheduleStateRecord.watermark).where(ScheduleStateRecord.sync_id == sync_id)
        )


# -- the decision ------------------------------------------------------------------------


def test_the_first_poll_sets_the_watermark_without_running() -> None:
    decision = decide(None, [JobRun(12, 10), JobRun(11, 10)])
    assert (decision.watermark, decision.trigger) == ("12", None)
    assert decide(None, []).watermark == "0"


def test_a_new_successful_run_triggers_and_a_failed_one_does_not() -> None:
    assert decide("12", [JobRun(13, 10), JobRun(12, 10)]).trigger == JobRun(13, 10)
    failed = decide("12", [JobRun(14, 20), JobRun(13, 30), JobRun(12, 10)])
    assert (failed.watermark, failed.trigger) == ("14", None)


def test_a_run_still_in_progress_is_left_for_a_later_poll() -> None:
    decision = decide("12", [JobRun(13, 3), JobRun(12, 10)])
    assert (decision.watermark, decision.trigger) == ("12", None)
    assert decide(decision.watermark, [JobRun(13, 10)]).trigger == JobRun(13, 10)


# -- the client --------------------------------------------------------------------------


def test_the_client_asks_for_the_job_newest_first_and_pages_to_the_watermark(
    dbt_cloud: FakeDbtCloud,
) -> None:
    for _ in range(250):
        dbt_cloud.add_run(JOB, 10)
    dbt_cloud.add_run(99, 10)  # another job's run

    with DbtCloudClient(dbt_cloud.url, TOKEN) as api:
        runs = api.job_runs("7", str(JOB), newer_than=1100)

    # Two pages, 1250..1151 and 1150..1051: the second one reaches the watermark.
    assert [run.id for run in runs] == list(range(1250, 1050, -1))
    assert len(dbt_cloud.requests) == 2
    first = dbt_cloud.requests[0]
    assert first["query"]["job_definition_id"] == [str(JOB)]
    assert first["query"]["order_by"] == ["-id"]
    assert first["headers"]["authorization"] == f"Token {TOKEN}"


def test_the_client_reads_one_page_when_nothing_was_seen_yet(dbt_cloud: FakeDbtCloud) -> None:
    for _ in range(150):
        dbt_cloud.add_run(JOB, 10)
    with DbtCloudClient(dbt_cloud.url, TOKEN) as api:
        assert len(api.job_runs("7", str(JOB))) == 100
    assert len(dbt_cloud.requests) == 1


def test_a_refused_token_is_terminal_and_says_which_setting_to_fix(
    dbt_cloud: FakeDbtCloud,
) -> None:
    with (
        DbtCloudClient(dbt_cloud.url, "wrong") as api,
        pytest.raises(TerminalError, match="SYNCLINE_DBT_CLOUD_TOKEN"),
    ):
        api.job_runs("7", str(JOB))


def test_rate_limiting_is_transient_and_carries_retry_after(dbt_cloud: FakeDbtCloud) -> None:
    dbt_cloud.fail_with, dbt_cloud.retry_after = 429, "120"
    with DbtCloudClient(dbt_cloud.url, TOKEN) as api, pytest.raises(TransientError) as caught:
        api.job_runs("7", str(JOB))
    assert caught.value.retry_after == 120.0


def test_a_503_with_an_http_date_retry_after_carries_the_wait(dbt_cloud: FakeDbtCloud) -> None:
    dbt_cloud.fail_with = 503
    dbt_cloud.retry_after = formatdate(time.time() + 90, usegmt=True)
    with DbtCloudClient(dbt_cloud.url, TOKEN) as api, pytest.raises(TransientError) as caught:
        api.job_runs("7", str(JOB))
    assert caught.value.retry_after is not None
    assert 85 <= caught.value.retry_after <= 90


def test_an_unknown_account_is_terminal(dbt_cloud: FakeDbtCloud) -> None:
    with DbtCloudClient(dbt_cloud.url, TOKEN) as api, pytest.raises(TerminalError, match="404"):
        api.job_runs("8", str(JOB))


# -- the scheduler -----------------------------------------------------------------------


@pytest.fixture
def dbt_scheduler(catalog: Catalog, dbt_cloud: FakeDbtCloud, tmp_path: Path) -> Iterator[Scheduler]:
    settings = Settings(home=tmp_path, dbt_cloud_url=dbt_cloud.url, dbt_cloud_token=TOKEN)
    scheduler = Scheduler(catalog, settings, dbt_poll_seconds=POLL.total_seconds())
    yield scheduler
    scheduler.stop()


def test_a_dbt_sync_runs_once_per_new_successful_job_run(
    catalog: Catalog,
    dbt_cloud: FakeDbtCloud,
    dbt_scheduler: Scheduler,
    make_sync: Callable[..., SyncRecord],
) -> None:
    dbt_cloud.add_run(JOB, 10)  # succeeded before the sync was scheduled
    sync = make_sync("after-dbt", DBT_SCHEDULE)

    assert dbt_scheduler.tick(T0) == []
    assert _watermark(catalog, sync.id) == "1001"

    dbt_cloud.add_run(JOB, 20)  # failed: nothing runs
    assert dbt_scheduler.tick(T0 + POLL) == []
    dbt_cloud.add_run(JOB, 3)  # running: not yet
    assert dbt_scheduler.tick(T0 + 2 * POLL) == []
    dbt_cloud.runs[-1]["status"] = 10  # ... and now it succeeded
    dbt_cloud.add_run(99, 10)  # another job's success is no reason to run

    assert len(dbt_scheduler.tick(T0 + 3 * POLL)) == 1
    assert dbt_scheduler.tick(T0 + 4 * POLL) == []
    assert [run.triggered_by for run in _runs(catalog)] == ["schedule"]
    assert _watermark(catalog, sync.id) == "1003"


def test_dbt_cloud_is_polled_at_most_once_per_poll_interval(
    dbt_cloud: FakeDbtCloud, dbt_scheduler: Scheduler, make_sync: Callable[..., SyncRecord]
) -> None:
    make_sync("after-dbt", DBT_SCHEDULE)
    for seconds in range(0, 60, 5):
        dbt_scheduler.tick(T0 + timedelta(seconds=seconds))
    assert len(dbt_cloud.requests) == 1


def test_rate_limited_polls_wait_for_retry_after_and_warn_once(
    catalog: Catalog,
    dbt_cloud: FakeDbtCloud,
    dbt_scheduler: Scheduler,
    make_sync: Callable[..., SyncRecord],
    caplog: pytest.LogCaptureFixture,
) -> None:
    make_sync("after-dbt", DBT_SCHEDULE)
    dbt_scheduler.tick(T0)
    dbt_cloud.add_run(JOB, 10)
    dbt_cloud.fail_with, dbt_cloud.retry_after = 429, "300"

    with caplog.at_level(logging.WARNING, logger="syncline.scheduling"):
        assert dbt_scheduler.tick(T0 + POLL) == []
        assert dbt_scheduler.tick(T0 + 2 * POLL) == []  # within Retry-After: not asked
    assert len(dbt_cloud.requests) == 2
    [warning] = [r.getMessage() for r in caplog.records if "HTTP 429" in r.getMessage()]
    assert warning.endswith("the next poll is in 300 seconds")

    dbt_cloud.fail_with = None
    assert len(dbt_scheduler.tick(T0 + POLL + timedelta(seconds=300))) == 1


def test_a_retry_after_years_ahead_is_polled_again_within_the_hour(
    dbt_cloud: FakeDbtCloud, dbt_scheduler: Scheduler, make_sync: Callable[..., SyncRecord]
) -> None:
    make_sync("after-dbt", DBT_SCHEDULE)
    dbt_scheduler.tick(T0)
    dbt_cloud.add_run(JOB, 10)
    dbt_cloud.fail_with, dbt_cloud.retry_after = 503, "Fri, 31 Dec 9999 23:59:59 GMT"

    assert dbt_scheduler.tick(T0 + POLL) == []
    assert dbt_scheduler.tick(T0 + 30 * POLL) == []  # within the hour: not asked
    assert len(dbt_cloud.requests) == 2

    dbt_cloud.fail_with = None
    assert len(dbt_scheduler.tick(T0 + POLL + timedelta(hours=1))) == 1


def test_without_a_configured_dbt_cloud_nothing_is_contacted(
    catalog: Catalog,
    make_sync: Callable[..., SyncRecord],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    make_sync("after-dbt", DBT_SCHEDULE)
    make_sync("also-after-dbt", DBT_SCHEDULE)
    scheduler = Scheduler(catalog, Settings(home=tmp_path))
    try:
        with caplog.at_level(logging.WARNING, logger="syncline.scheduling"):
            for minutes in range(3):
                assert scheduler.tick(T0 + timedelta(minutes=minutes)) == []
    finally:
        scheduler.stop()
    told = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert [r.levelno for r in told] == [logging.WARNING], "one warning, never an error"
    assert "SYNCLINE_DBT_CLOUD_URL" in told[0].getMessage()
    assert "give it another schedule" in told[0].getMessage()


def test_a_watermark_that_is_no_run_id_starts_the_watch_afresh(
    catalog: Catalog,
    dbt_cloud: FakeDbtCloud,
    dbt_scheduler: Scheduler,
    make_sync: Callable[..., SyncRecord],
) -> None:
    sync = make_sync("after-dbt", DBT_SCHEDULE)
    dbt_scheduler.tick(T0)
    with catalog.session() as session:
        state = session.orm.scalar(
            select(ScheduleStateRecord).where(ScheduleStateRecord.sync_id == sync.id)
        )
        assert state is not None
        state.watermark = "not-a-run"
    dbt_cloud.add_run(JOB, 10)

    assert dbt_scheduler.tick(T0 + POLL) == []
    assert _watermark(catalog, sync.id) == "1001"
    dbt_cloud.add_run(JOB, 10)
    assert len(dbt_scheduler.tick(T0 + 2 * POLL)) == 1
