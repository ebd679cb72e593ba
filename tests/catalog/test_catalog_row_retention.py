"""Row results retention: old results of settled runs go; what a sync still needs stays."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from catalog_fixtures import Pipeline
from sqlalchemy import event, update

from syncline.catalog import Catalog, RowOutcome, RunRecord, RunTrigger
from syncline.catalog.types import utcnow
from syncline.engine.report import Operation
from syncline.errors import ConfigError
from syncline.settings import load_settings

WEEK = timedelta(days=7)


def _run(
    catalog: Catalog,
    sync_id: int,
    outcome: str,
    rows: list[RowOutcome],
    *,
    days_ago: float,
    dry_run: bool = False,
) -> int:
    """A run of ``sync_id`` that recorded ``rows`` and finished ``days_ago`` days ago."""
    with catalog.session() as session:
        session.runs.enqueue(sync_id, RunTrigger(dry_run=dry_run))
        run = session.runs.claim("w", sync_id=sync_id)
        assert run is not None
        session.runs.record_rows(run.id, rows)
        session.runs.finish(run.id, outcome)
        finished = utcnow() - timedelta(days=days_ago)
        session.orm.execute(
            update(RunRecord).where(RunRecord.id == run.id).values(finished_at=finished)
        )
        return run.id


def _failed(key: str) -> RowOutcome:
    return RowOutcome(key, Operation.CHANGED, "failed", f"{key} refused")


def _keys(catalog: Catalog, run_id: int) -> list[str]:
    with catalog.session(read_only=True) as session:
        return [row.primary_key for row in session.runs.row_results(run_id)]


def _still_failing(catalog: Catalog, sync_id: int) -> list[tuple[str, int]]:
    with catalog.session(read_only=True) as session:
        return sorted((row.primary_key, row.run_id) for row in session.runs.failed_rows(sync_id))


def test_results_of_a_settled_run_go_after_retention_and_recent_ones_stay(
    catalog: Catalog, pipeline: Pipeline
) -> None:
    sync_id = pipeline.sync.id
    old = _run(catalog, sync_id, "warning", [_failed("a")], days_ago=9)
    recent = _run(catalog, sync_id, "warning", [_failed("b")], days_ago=3)
    _run(catalog, sync_id, "success", [], days_ago=1)

    pruning = catalog.prune_row_results(WEEK)

    assert (pruning.rows, pruning.done) == (1, True)
    assert _keys(catalog, old) == []
    assert _keys(catalog, recent) == ["b"]


def test_results_a_sync_still_needs_stay_however_old(catalog: Catalog, pipeline: Pipeline) -> None:
    sync_id = pipeline.sync.id
    first = _run(catalog, sync_id, "warning", [_failed("a"), _failed("b")], days_ago=40)
    partial = _run(catalog, sync_id, "failed", [_failed("c")], days_ago=30)
    acked = RowOutcome("a", Operation.CHANGED, "succeeded")
    latest = _run(catalog, sync_id, "interrupted", [acked], days_ago=20)
    failing = _still_failing(catalog, sync_id)
    assert failing == [("b", first), ("c", partial)]

    # No run since the first attempted every row: all of them still say what is failing.
    assert catalog.prune_row_results(WEEK).rows == 0
    assert _still_failing(catalog, sync_id) == failing
    assert _keys(catalog, latest) == ["a"]

    # A complete run settles the runs before it; its own results and the keys still
    # failing stay, however old.
    complete = _run(catalog, sync_id, "warning", [_failed("b")], days_ago=10)
    failing = _still_failing(catalog, sync_id)
    assert failing == [("b", complete)]

    assert catalog.prune_row_results(WEEK).rows == 4
    assert [_keys(catalog, run) for run in (first, partial, latest)] == [[], [], []]
    assert _keys(catalog, complete) == ["b"]
    assert _still_failing(catalog, sync_id) == failing


def test_a_dry_run_settles_nothing(catalog: Catalog, pipeline: Pipeline) -> None:
    sync_id = pipeline.sync.id
    rejected = _run(catalog, sync_id, "warning", [_failed("a")], days_ago=30)
    _run(catalog, sync_id, "success", [], days_ago=20, dry_run=True)

    assert catalog.prune_row_results(WEEK).rows == 0
    assert _still_failing(catalog, sync_id) == [("a", rejected)]


def test_pruning_one_sync_leaves_the_results_of_others(
    catalog: Catalog, pipeline: Pipeline, pipeline_factory: Callable[..., Pipeline]
) -> None:
    other = pipeline_factory("invoices").sync.id
    runs = {}
    for sync_id in (pipeline.sync.id, other):
        runs[sync_id] = _run(catalog, sync_id, "warning", [_failed("a")], days_ago=30)
        _run(catalog, sync_id, "success", [], days_ago=20)

    assert catalog.prune_row_results(WEEK, sync_id=pipeline.sync.id).rows == 1

    assert _keys(catalog, runs[pipeline.sync.id]) == []
    assert _keys(catalog, runs[other]) == ["a"]


def test_pruning_goes_in_chunks_each_its_own_transaction(
    catalog: Catalog, pipeline: Pipeline
) -> None:
    sync_id = pipeline.sync.id
    old = _run(catalog, sync_id, "warning", [_failed(k) for k in "abcde"], days_ago=30)
    _run(catalog, sync_id, "success", [], days_ago=20)
    commits: list[object] = []
    event.listen(catalog.engine, "commit", commits.append)

    first = catalog.prune_row_results(WEEK, chunk=2, max_chunks=2)

    assert (first.rows, first.done, len(commits)) == (4, False, 2)
    assert len(_keys(catalog, old)) == 1

    commits.clear()
    rest = catalog.prune_row_results(WEEK, chunk=2)

    assert (rest.rows, rest.done, len(commits)) == (1, True, 1)
    assert _keys(catalog, old) == []


def test_retention_is_seven_days_unless_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SYNCLINE_ROW_RESULTS_RETENTION_DAYS", raising=False)
    assert load_settings().row_results_retention == timedelta(days=7)

    monkeypatch.setenv("SYNCLINE_ROW_RESULTS_RETENTION_DAYS", " 30 ")
    assert load_settings().row_results_retention == timedelta(days=30)


@pytest.mark.parametrize("value", ["0", "-1", "seven", "1.5", "36501"])
def test_a_bad_retention_is_refused_by_name(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("SYNCLINE_ROW_RESULTS_RETENTION_DAYS", value)

    with pytest.raises(
        ConfigError,
        match=r"SYNCLINE_ROW_RESULTS_RETENTION_DAYS=.* must be a whole number of days from 1 to",
    ):
        load_settings()
