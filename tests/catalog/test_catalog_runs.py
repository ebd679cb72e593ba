"""The run queue: one running and one queued run per sync, enforced by the database."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from catalog_fixtures import Pipeline, make_pipeline
from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError

from dropped_catalog import dropped_connection
from syncline.catalog import Catalog, RunRecord, RunTrigger
from syncline.catalog.types import utcnow
from syncline.engine.report import (
    InterruptedOutcome,
    Operation,
    RejectedRow,
    RowCounts,
    RunProgress,
    RunStatus,
)
from syncline.errors import CatalogConnectionLost, NotFoundError, RunError
from syncline.security.secrets import SecretBox


def _count(catalog: Catalog, sync_id: int, status: str) -> int:
    with catalog.session() as session:
        query = select(func.count()).where(RunRecord.sync_id == sync_id, RunRecord.status == status)
        return int(session.orm.scalar(query.select_from(RunRecord)) or 0)


def test_a_second_trigger_returns_the_queued_run(catalog: Catalog, pipeline: Pipeline) -> None:
    with catalog.session() as session:
        first = session.runs.enqueue(pipeline.sync.id)
        second = session.runs.enqueue("orders-sync", RunTrigger(full_resync=True))

    assert second.id == first.id
    assert second.full_resync, "a trigger never weakens the queued run"
    assert _count(catalog, pipeline.sync.id, "queued") == 1


def test_a_trigger_during_a_run_queues_exactly_one_more(
    catalog: Catalog, pipeline: Pipeline
) -> None:
    with catalog.session() as session:
        session.runs.enqueue(pipeline.sync.id)
        running = session.runs.claim("w1")
        assert running is not None
        queued = session.runs.enqueue(pipeline.sync.id)
        again = session.runs.enqueue(pipeline.sync.id)

    assert queued.id != running.id
    assert again.id == queued.id
    with catalog.session() as session:
        assert session.runs.claim("w2") is None, "the queued run waits for the running one"
        session.runs.finish(running.id, "success")
        assert session.runs.claim("w2").id == queued.id  # type: ignore[union-attr]


def test_trigger_flags_from_an_api_body() -> None:
    assert RunTrigger.from_api({"fullResync": "true", "resetCDC": "false"}) == RunTrigger(
        full_resync=True
    )
    assert RunTrigger.from_api({"clearAndFill": True, "dryRun": 1}) == RunTrigger(
        clear_and_fill=True, dry_run=True
    )


def test_the_database_refuses_a_second_queued_or_running_run(
    catalog: Catalog, pipeline: Pipeline
) -> None:
    now = utcnow()
    row = {
        "sync_id": pipeline.sync.id,
        "status": "queued",
        "triggered_by": "test",
        "full_resync": False,
        "reset_cdc": False,
        "clear_and_fill": False,
        "dry_run": False,
        "cancel_requested": False,
        "created_at": now,
    }
    with catalog.session() as session:
        session.runs.enqueue(pipeline.sync.id)
    with pytest.raises(IntegrityError), catalog.session() as session:
        session.orm.execute(insert(RunRecord), [row])

    with catalog.session() as session:
        session.runs.claim("w")
        session.runs.enqueue(pipeline.sync.id)
    with pytest.raises(IntegrityError), catalog.session() as session:
        session.orm.execute(
            update(RunRecord).where(RunRecord.status == "queued").values(status="processing")
        )


def test_a_trigger_racing_an_uncommitted_one_gets_the_same_run(
    catalog: Catalog, pipeline: Pipeline, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="syncline.catalog.runs")
    inserted = threading.Event()

    def first() -> int:
        with catalog.session() as session:
            run = session.runs.enqueue(pipeline.sync.id)
            inserted.set()
            time.sleep(0.3)  # hold the uncommitted run while the other trigger arrives
            return run.id

    def second() -> int:
        assert inserted.wait(10)
        with catalog.session() as session:
            return session.runs.enqueue(pipeline.sync.id, RunTrigger(full_resync=True)).id

    with ThreadPoolExecutor(2) as pool:
        a, b = pool.submit(first), pool.submit(second)
        assert a.result() == b.result()

    assert _count(catalog, pipeline.sync.id, "queued") == 1
    with catalog.session() as session:
        assert session.runs.get(a.result()).full_resync
    # The second trigger waited for the first one's lock on the sync (SQLite: on the
    # catalog), so it never inserted a run of its own that the unique index refused.
    assert "another trigger queued a run first" not in caplog.text


def test_many_concurrent_triggers_queue_one_run(catalog: Catalog, pipeline: Pipeline) -> None:
    barrier = threading.Barrier(8)

    def trigger() -> int:
        barrier.wait(10)
        with catalog.session() as session:
            return session.runs.enqueue(pipeline.sync.id).id

    with ThreadPoolExecutor(8) as pool:
        ids = {future.result() for future in [pool.submit(trigger) for _ in range(8)]}

    assert len(ids) == 1
    assert _count(catalog, pipeline.sync.id, "queued") == 1


def test_concurrent_workers_lease_a_run_once(catalog: Catalog, pipeline: Pipeline) -> None:
    with catalog.session() as session:
        session.runs.enqueue(pipeline.sync.id)
    barrier = threading.Barrier(4)

    def claim(worker: str) -> int | None:
        barrier.wait(10)
        with catalog.session() as session:
            run = session.runs.claim(worker)
            return run.id if run else None

    with ThreadPoolExecutor(4) as pool:
        leased = [f.result() for f in [pool.submit(claim, f"w{i}") for i in range(4)]]

    assert len([run for run in leased if run is not None]) == 1
    assert _count(catalog, pipeline.sync.id, "querying") == 1


def test_start_leases_a_named_queued_run_only(catalog: Catalog, pipeline: Pipeline) -> None:
    with catalog.session() as session:
        run = session.runs.enqueue(pipeline.sync.id)
        started = session.runs.start(run.id, "w1")
        assert (started.status, started.worker) == ("querying", "w1")
        assert started.started_at is not None
        with pytest.raises(RunError, match="is querying, not queued"):
            session.runs.start(run.id, "w2")


def test_stages_progress_and_finish(catalog: Catalog, pipeline: Pipeline) -> None:
    with catalog.session() as session:
        run = session.runs.enqueue(pipeline.sync.id)
        session.runs.claim("w")
        session.runs.report_progress(run.id, RunProgress(query_size=10))
        assert run.completion_ratio == 0, "nothing is complete while querying"
        session.runs.set_stage(run.id, RunStatus.PROCESSING)
        progress = RunProgress(
            query_size=10,
            planned=RowCounts(added=4, changed=4),
            successful=RowCounts(added=2),
            failed=RowCounts(changed=2),
        )
        session.runs.report_progress(run.id, progress)
        assert run.completion_ratio == 0.5
        session.runs.finish(run.id, "success", progress)

    assert run.status == "warning", "a success with rejected rows is a warning"
    assert run.finished_at is not None
    with catalog.session() as session, pytest.raises(RunError, match="already finished"):
        session.runs.finish(run.id, "failed")
    with catalog.session() as session, pytest.raises(RunError, match="not running"):
        session.runs.set_stage(run.id, "reporting")


def test_interrupt_stale_marks_runs_whose_worker_went_quiet(
    catalog: Catalog, pipeline: Pipeline
) -> None:
    with catalog.session() as session:
        stale = session.runs.enqueue(pipeline.sync.id)
        session.runs.claim("worker-7")
        queued = session.runs.enqueue(pipeline.sync.id)

    with catalog.session() as session:
        assert session.runs.interrupt_stale(timedelta(minutes=5)) == [], "heartbeat is fresh"
        later = utcnow() + timedelta(minutes=10)
        interrupted = session.runs.interrupt_stale(timedelta(minutes=5), now=later)

    assert [run.id for run in interrupted] == [stale.id]
    with catalog.session() as session:
        run = session.runs.get(stale.id)
        assert run.status == "interrupted"
        assert run.error is not None
        assert "worker-7 stopped sending heartbeats" in run.error
        assert "next run of this sync resumes" in run.error
        assert session.runs.get(queued.id).status == "queued", "queued runs have no worker"
        assert session.runs.claim("worker-8").id == queued.id  # type: ignore[union-attr]


def test_a_heartbeat_keeps_a_run_alive(catalog: Catalog, pipeline: Pipeline) -> None:
    with catalog.session() as session:
        run = session.runs.enqueue(pipeline.sync.id)
        session.runs.claim("w")
        before = run.heartbeat_at
    time.sleep(0.01)
    with catalog.session() as session:
        beat = session.runs.heartbeat(run.id)
        assert before is not None
        assert beat.heartbeat_at is not None
        assert beat.heartbeat_at > before


def test_cancel_a_queued_run_or_flag_a_running_one(catalog: Catalog, pipeline: Pipeline) -> None:
    with catalog.session() as session:
        running = session.runs.enqueue(pipeline.sync.id)
        session.runs.claim("w")
        queued = session.runs.enqueue(pipeline.sync.id)

        session.runs.request_cancel(queued.id)
        session.runs.request_cancel(running.id)

    assert queued.status == "cancelled"
    assert running.status == "querying"
    assert catalog.reporter(running.id).cancel_requested()


def test_list_runs_and_get_are_scoped_to_the_sync(catalog: Catalog, pipeline: Pipeline) -> None:
    with catalog.session() as session:
        first = session.runs.enqueue(pipeline.sync.id)
        session.runs.claim("w")
        second = session.runs.enqueue(pipeline.sync.id)

        assert [r.id for r in session.runs.list_runs(pipeline.sync.id)] == [first.id, second.id]
        assert [r.id for r in session.runs.list_runs("orders-sync", newest_first=True)] == [
            second.id,
            first.id,
        ]
        assert [r.id for r in session.runs.list_runs(pipeline.sync.id, run_id=second.id)] == [
            second.id
        ]
        with pytest.raises(NotFoundError):
            session.runs.get(first.id + 100)


def test_the_catalog_reporter_moves_the_run(catalog: Catalog, pipeline: Pipeline) -> None:
    with catalog.session() as session:
        run = session.runs.enqueue(pipeline.sync.id)
        session.runs.claim("w")

    reporter = catalog.reporter(run.id)
    reporter.stage(RunStatus.PROCESSING)
    reporter.progress(
        RunProgress(query_size=3, planned=RowCounts(added=3), successful=RowCounts(added=2))
    )
    reporter.rejected([RejectedRow("k1", Operation.ADDED, "email is invalid", 1, '{"id": 1}')])
    assert reporter.cancel_requested() is False

    with catalog.session() as session:
        stored = session.runs.get(run.id)
        assert (stored.status, stored.query_size, stored.planned_added) == ("processing", 3, 3)
        assert stored.completion_ratio == pytest.approx(2 / 3)
        [row] = session.runs.failed_rows(pipeline.sync.id, run.id)
        assert (row.primary_key, row.operation, row.reason) == ("k1", "added", "email is invalid")
        assert row.payload == '{"id": 1}'


def test_a_worker_presumed_stopped_may_still_report_its_outcome(
    catalog: Catalog, pipeline: Pipeline
) -> None:
    with catalog.session() as session:
        run = session.runs.enqueue(pipeline.sync.id)
        session.runs.claim("slow-worker")
        later = utcnow() + timedelta(hours=1)
        session.runs.interrupt_stale(timedelta(minutes=5), now=later)
        with pytest.raises(RunError, match="presumed stopped"):
            session.runs.report_progress(run.id, RunProgress())

        finished = session.runs.finish(run.id, "success", RunProgress(query_size=1))

    assert finished.status == "success"
    assert finished.error is None


def test_an_unknown_workspace_is_not_found(catalog: Catalog) -> None:
    with pytest.raises(NotFoundError, match="workspace 'nowhere'.*default"):
        with catalog.session("nowhere"):
            pass


def test_a_killed_run_is_settled_from_its_journal_without_counting_twice(
    catalog: Catalog, pipeline: Pipeline
) -> None:
    # The killed run reported its first batch (two rows, one rejected), then journaled a
    # second batch (two more rows, one rejected) and died before reporting it.
    with catalog.session() as session:
        killed = session.runs.enqueue(pipeline.sync.id)
        session.runs.claim("w1")
    reporter = catalog.reporter(killed.id)
    reporter.progress(
        RunProgress(
            planned=RowCounts(added=4), successful=RowCounts(added=1), failed=RowCounts(added=1)
        )
    )
    reporter.rejected([RejectedRow("k1", Operation.ADDED, "bad", 1, '{"id": 1}')])
    with catalog.session() as session:
        session.runs.interrupt_stale(timedelta(minutes=5), now=utcnow() + timedelta(hours=1))
        resuming = session.runs.enqueue(pipeline.sync.id)
        session.runs.claim("w2")

    journaled = InterruptedOutcome(
        run_id=killed.id,
        successful=RowCounts(added=2),
        failed=RowCounts(added=2),
        rejected=[
            RejectedRow("k1", Operation.ADDED, "bad", 1),
            RejectedRow("k3", Operation.ADDED, "worse", 2),
        ],
    )
    catalog.reporter(resuming.id).settle_interrupted(journaled)

    with catalog.session() as session:
        run = session.runs.get(killed.id)
        assert run.status == "interrupted"
        assert (run.successful_added, run.failed_added) == (2, 2)
        assert run.completion_ratio == 1.0
        rows = session.runs.failed_rows(pipeline.sync.id, killed.id)
        assert [(r.primary_key, r.reason, r.attempts, r.payload) for r in rows] == [
            ("k1", "bad", 1, '{"id": 1}'),
            ("k3", "worse", 2, None),
        ]
        other = session.runs.get(resuming.id)
        assert (other.successful_added, other.failed_added) == (0, 0)
        assert session.runs.failed_rows(pipeline.sync.id, resuming.id) == []


def test_a_journal_naming_a_run_of_another_sync_settles_nothing(
    catalog: Catalog, pipeline: Pipeline, pipeline_factory: Callable[..., Pipeline]
) -> None:
    elsewhere = pipeline_factory("elsewhere")
    with catalog.session() as session:
        foreign = session.runs.enqueue(elsewhere.sync.id)
        session.runs.finish(foreign.id, "interrupted")
        resuming = session.runs.enqueue(pipeline.sync.id)
        session.runs.claim("w")
        outcome = InterruptedOutcome(run_id=foreign.id, successful=RowCounts(added=5))
        assert session.runs.settle_interrupted(outcome, resumed_by=resuming.id) is False
        assert session.runs.get(foreign.id).successful_added == 0


PLANNED_FOUR = RunProgress(query_size=4, planned=RowCounts(added=4), successful=RowCounts(added=1))
"""A run that planned four operations and attempted one of them."""


@pytest.mark.parametrize(
    ("outcome", "progress", "ratio"),
    [
        ("success", RunProgress(query_size=0), 1.0),
        ("warning", PLANNED_FOUR, 1.0),
        ("failed", PLANNED_FOUR, 0.25),
        ("cancelled", PLANNED_FOUR, 0.25),
        ("interrupted", PLANNED_FOUR, 0.25),
        ("failed", RunProgress(query_size=4, planned=RowCounts(added=4)), 0.0),
        ("failed", RunProgress(), 0.0),
        ("failed", None, 0.0),
        ("cancelled", RunProgress(), 0.0),
    ],
)
def test_a_finished_run_s_completion_is_what_it_attempted_of_its_plan(
    catalog: Catalog,
    pipeline: Pipeline,
    outcome: str,
    progress: RunProgress | None,
    ratio: float,
) -> None:
    with catalog.session() as session:
        run = session.runs.enqueue(pipeline.sync.id)
        session.runs.claim("w")
        session.runs.finish(run.id, outcome, progress)

        assert session.runs.get(run.id).completion_ratio == ratio


def test_runs_ended_before_they_ran_completed_nothing(catalog: Catalog, pipeline: Pipeline) -> None:
    with catalog.session() as session:
        cancelled = session.runs.enqueue(pipeline.sync.id)
        session.runs.request_cancel(cancelled.id)
        stale = session.runs.enqueue(pipeline.sync.id)
        session.runs.claim("w")
        session.runs.set_stage(stale.id, RunStatus.PROCESSING)
        session.runs.report_progress(stale.id, RunProgress(query_size=0))
        session.runs.interrupt_stale(timedelta(minutes=5), now=utcnow() + timedelta(minutes=10))

        assert session.runs.get(cancelled.id).completion_ratio == 0.0
        assert session.runs.get(stale.id).status == "interrupted"
        assert session.runs.get(stale.id).completion_ratio == 0.0


def test_a_run_starting_is_no_edit_of_its_sync(catalog: Catalog, pipeline: Pipeline) -> None:
    with catalog.session() as session:
        before = session.syncs.get(pipeline.sync.id).updated_at
    time.sleep(0.01)
    with catalog.session() as session:
        run = session.runs.enqueue(pipeline.sync.id)
        session.runs.claim("w")
        session.runs.report_progress(run.id, RunProgress(query_size=1, model_columns=["id"]))

    with catalog.session() as session:
        sync = session.syncs.get(pipeline.sync.id)
        assert sync.last_run_at is not None
        assert sync.updated_at == before


@pytest.fixture
def postgres_catalog(
    make_postgres_database: Callable[[], str], secret_box: SecretBox
) -> Iterator[Catalog]:
    """A catalog of its own on PostgreSQL, whose connections a test may terminate."""
    catalog = Catalog.from_url(make_postgres_database(), secrets=secret_box)
    try:
        yield catalog
    finally:
        catalog.close()


def _running_run(catalog: Catalog) -> int:
    sync_id = make_pipeline(catalog).sync.id
    with catalog.session() as session:
        run = session.runs.enqueue(sync_id)
        session.runs.claim("w")
        return run.id


@pytest.mark.postgres
@pytest.mark.parametrize("at", ["UPDATE", "SELECT", "COMMIT"])
def test_the_reporter_moves_the_run_on_a_fresh_connection_when_one_drops(
    postgres_catalog: Catalog, at: str
) -> None:
    run_id = _running_run(postgres_catalog)
    reporter = postgres_catalog.reporter(run_id)

    with dropped_connection(postgres_catalog, at, times=3) as cut:
        reporter.stage(RunStatus.PROCESSING)
        reporter.progress(RunProgress(query_size=3, planned=RowCounts(added=3)))
        assert reporter.cancel_requested() is False

    assert cut
    with postgres_catalog.session() as session:
        stored = session.runs.get(run_id)
        assert (stored.status, stored.query_size, stored.planned_added) == ("processing", 3, 3)


@pytest.mark.postgres
def test_rejected_rows_are_stored_once_when_the_connection_drops_before_the_commit(
    postgres_catalog: Catalog,
) -> None:
    run_id = _running_run(postgres_catalog)
    reporter = postgres_catalog.reporter(run_id)
    row = RejectedRow("k1", Operation.ADDED, "email is invalid", 1, '{"id": 1}')

    with dropped_connection(postgres_catalog, "INSERT") as cut:
        reporter.rejected([row])

    assert cut
    with postgres_catalog.session() as session:
        sync_id = session.runs.get(run_id).sync_id
        assert len(session.runs.failed_rows(sync_id, run_id)) == 1


@pytest.mark.postgres
def test_rejected_rows_whose_commit_is_in_doubt_fail_the_run_as_a_lost_catalog(
    postgres_catalog: Catalog,
) -> None:
    run_id = _running_run(postgres_catalog)
    reporter = postgres_catalog.reporter(run_id)
    row = RejectedRow("k1", Operation.ADDED, "email is invalid", 1, '{"id": 1}')

    # Whether the rows were stored cannot be known: they are not stored a second time.
    with (
        dropped_connection(postgres_catalog, "COMMIT"),
        pytest.raises(CatalogConnectionLost, match="lost the connection to the catalog"),
    ):
        reporter.rejected([row])

    with postgres_catalog.session() as session:
        sync_id = session.runs.get(run_id).sync_id
        assert len(session.runs.failed_rows(sync_id, run_id)) <= 1
