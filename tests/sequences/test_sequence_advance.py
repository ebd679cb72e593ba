"""advance(): the sequence state machine, each stop rule against each sync run outcome."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from sequence_fixtures import finish_run
from sqlalchemy import func, select

from syncline.catalog import Catalog, RunRecord, RunTrigger, SyncRecord
from syncline.catalog.tables import SequenceRunStepRecord
from syncline.scheduling.sequences import advance


def _sequence(catalog: Catalog, *rules: str, slug: str = "nightly") -> str:
    names = ("first", "second", "third")
    with catalog.session() as session:
        steps = [{"sync": names[i], "stopOn": rule} for i, rule in enumerate(rules)]
        return session.sequences.create(slug=slug, steps=steps).id


def _trigger(catalog: Catalog, sequence: str = "nightly") -> str:
    with catalog.session() as session:
        return session.sequences.trigger(sequence).id


def _status(catalog: Catalog, run_id: str) -> dict[str, object]:
    with catalog.session(read_only=True) as session:
        shape = session.sequences.run_to_api(session.sequences.get_run(run_id))
        shape["error"] = session.sequences.get_run(run_id).error
        return shape


def _current_sync_run(catalog: Catalog, run_id: str) -> int:
    runs = _status(catalog, run_id)["syncRuns"]
    assert isinstance(runs, list)
    return int(runs[-1]["syncRunId"])


def test_all_steps_succeed_one_after_another(catalog: Catalog, syncs: list[SyncRecord]) -> None:
    _sequence(catalog, "fatal", "fatal", "fatal")
    run_id = _trigger(catalog)

    for step, sync in enumerate(syncs):
        advance(catalog)
        status = _status(catalog, run_id)
        assert status["status"] == "running"
        assert [r["syncId"] for r in status["syncRuns"]] == [s.id for s in syncs[: step + 1]]  # type: ignore[attr-defined]
        sync_run = _current_sync_run(catalog, run_id)
        with catalog.session(read_only=True) as session:
            queued = session.runs.get(sync_run)
            assert (queued.status, queued.triggered_by) == ("queued", "sequence")
            assert queued.sync_id == sync.id
        advance(catalog)
        assert _current_sync_run(catalog, run_id) == sync_run, "no next step before the end"
        finish_run(catalog, sync_run, "success")

    advance(catalog)
    done = _status(catalog, run_id)
    assert done["status"] == "done"
    assert [r["status"] for r in done["syncRuns"]] == ["success"] * 3  # type: ignore[attr-defined]
    assert all(r["finishedAt"].endswith("+00:00") for r in done["syncRuns"])  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("rule", "outcome", "expected"),
    [
        ("fatal", "success", "running"),
        ("fatal", "warning", "running"),
        ("fatal", "failed", "failed"),
        ("fatal", "interrupted", "failed"),
        ("fatal", "cancelled", "cancelled"),
        ("fatal_or_rejected", "success", "running"),
        ("fatal_or_rejected", "warning", "failed"),
        ("fatal_or_rejected", "failed", "failed"),
        ("fatal_or_rejected", "interrupted", "failed"),
        ("fatal_or_rejected", "cancelled", "cancelled"),
        ("never", "success", "running"),
        ("never", "warning", "running"),
        ("never", "failed", "running"),
        ("never", "interrupted", "running"),
        ("never", "cancelled", "running"),
    ],
)
def test_stop_rule_against_outcome(
    sqlite_catalog: Catalog, rule: str, outcome: str, expected: str
) -> None:
    # The rules are plain Python; the database-backed behaviour is covered on both below.
    catalog = sqlite_catalog
    with catalog.session(read_only=True) as session:
        syncs = session.syncs.list()
    _sequence(catalog, rule, "fatal")
    run_id = _trigger(catalog)
    advance(catalog)
    finish_run(catalog, _current_sync_run(catalog, run_id), outcome)

    advance(catalog)

    status = _status(catalog, run_id)
    assert status["status"] == expected
    sync_runs = status["syncRuns"]
    assert isinstance(sync_runs, list)
    if expected == "running":
        assert [r["syncId"] for r in sync_runs] == [syncs[0].id, syncs[1].id]
        assert sync_runs[1]["status"] == "queued"
    else:
        assert len(sync_runs) == 1, "the sequence stopped at the first step"
        assert "step 1 (sync 'first')" in str(status["error"])


def test_a_warning_step_does_not_fail_the_sequence(
    catalog: Catalog, syncs: list[SyncRecord]
) -> None:
    _sequence(catalog, "fatal", "fatal")
    run_id = _trigger(catalog)
    advance(catalog)
    finish_run(catalog, _current_sync_run(catalog, run_id), "warning")
    advance(catalog)
    finish_run(catalog, _current_sync_run(catalog, run_id), "success")
    advance(catalog)

    status = _status(catalog, run_id)
    assert status["status"] == "done"
    assert [r["status"] for r in status["syncRuns"]] == ["warning", "success"]  # type: ignore[attr-defined]


def test_never_concurrent_with_itself(catalog: Catalog, syncs: list[SyncRecord]) -> None:
    _sequence(catalog, "fatal")
    first = _trigger(catalog)
    advance(catalog)
    second = _trigger(catalog)
    assert second != first

    for _ in range(3):
        advance(catalog)
    assert _status(catalog, first)["status"] == "running"
    assert _status(catalog, second)["status"] == "pending"
    assert _status(catalog, second)["syncRuns"] == []

    finish_run(catalog, _current_sync_run(catalog, first), "success")
    advance(catalog)  # the first finishes, and in the same pass the second starts
    assert _status(catalog, first)["status"] == "done"
    assert _status(catalog, second)["status"] == "running"


def test_concurrent_advances_queue_each_step_once(
    catalog: Catalog, syncs: list[SyncRecord]
) -> None:
    _sequence(catalog, "fatal", "fatal")
    run_id = _trigger(catalog)

    def advance_many() -> None:
        for _ in range(5):
            advance(catalog)

    for _ in range(2):
        with ThreadPoolExecutor(max_workers=4) as pool:
            for future in [pool.submit(advance_many) for _ in range(4)]:
                future.result()
        finish_run(catalog, _current_sync_run(catalog, run_id), "success")
    advance(catalog)

    assert _status(catalog, run_id)["status"] == "done"
    with catalog.session(read_only=True) as session:
        steps = session.orm.scalar(select(func.count()).select_from(SequenceRunStepRecord))
        runs = session.orm.scalar(select(func.count()).select_from(RunRecord))
    assert (steps, runs) == (2, 2)


def test_cancel_a_running_sequence_cancels_its_sync_run(
    catalog: Catalog, syncs: list[SyncRecord]
) -> None:
    _sequence(catalog, "fatal", "fatal")
    run_id = _trigger(catalog)
    advance(catalog)
    with catalog.session() as session:
        assert session.sequences.cancel(run_id).status == "running", "stops at the next advance"

    advance(catalog)

    status = _status(catalog, run_id)
    assert status["status"] == "cancelled"
    assert status["syncRuns"][0]["status"] == "cancelled"  # type: ignore[index]


def test_a_disabled_sync_fails_its_step_unless_never(
    catalog: Catalog, syncs: list[SyncRecord]
) -> None:
    _sequence(catalog, "never", "fatal", slug="skips")
    _sequence(catalog, "fatal", "fatal", slug="stops")
    with catalog.session() as session:
        session.syncs.update("first", disabled=True)
    skips, stops = _trigger(catalog, "skips"), _trigger(catalog, "stops")

    advance(catalog)

    skipped = _status(catalog, skips)
    assert skipped["status"] == "running"
    assert [r["syncId"] for r in skipped["syncRuns"]] == [syncs[1].id]  # type: ignore[attr-defined]
    stopped = _status(catalog, stops)
    assert stopped["status"] == "failed"
    assert "sync 'first' is disabled" in str(stopped["error"])


def test_an_interrupted_step_follows_the_run_that_resumes_it(
    catalog: Catalog, syncs: list[SyncRecord]
) -> None:
    _sequence(catalog, "fatal", "fatal")
    run_id = _trigger(catalog)
    advance(catalog)
    interrupted = _current_sync_run(catalog, run_id)
    with catalog.session() as session:
        # What a worker does when it stops: interrupt the run, queue one that resumes it.
        session.runs.start(interrupted, "stopping-worker")
        session.runs.finish(interrupted, "interrupted", error="worker stopped")
        resumed = session.runs.enqueue(syncs[0].id, triggered_by="resume").id

    advance(catalog)

    status = _status(catalog, run_id)
    assert status["status"] == "running"
    assert [r["syncRunId"] for r in status["syncRuns"]] == [resumed]  # type: ignore[attr-defined]
    finish_run(catalog, resumed, "success")
    advance(catalog)
    assert [r["syncId"] for r in _status(catalog, run_id)["syncRuns"]] == [  # type: ignore[attr-defined]
        syncs[0].id,
        syncs[1].id,
    ]


def test_a_step_whose_sync_has_a_queued_dry_run_waits_for_it_to_start(
    catalog: Catalog, syncs: list[SyncRecord]
) -> None:
    _sequence(catalog, "fatal")
    with catalog.session() as session:
        running = session.runs.enqueue(syncs[0].id)
        session.runs.start(running.id, "test-worker")
        dry = session.runs.enqueue(syncs[0].id, RunTrigger(dry_run=True))
    run_id = _trigger(catalog)

    advance(catalog)

    assert _status(catalog, run_id)["syncRuns"] == []
    with catalog.session() as session:
        assert session.runs.get(dry.id).dry_run
        session.runs.finish(running.id, "success")
        session.runs.start(dry.id, "test-worker")
    advance(catalog)
    step = _current_sync_run(catalog, run_id)
    assert step not in (running.id, dry.id)
    with catalog.session(read_only=True) as session:
        assert not session.runs.get(step).dry_run
