"""Row results: rejected and succeeded rows per run, and the keys of a sync still failing."""

from __future__ import annotations

from typing import Any

import pytest
from catalog_fixtures import Pipeline
from sqlalchemy import event

from syncline.catalog import Catalog, RowOutcome, RunRecord
from syncline.engine.report import Operation, RejectedRow, RunProgress, SucceededRows
from syncline.errors import ConfigError
from syncline.settings import load_settings


def _run(catalog: Catalog, sync_id: int, outcome: str, rows: list[RowOutcome]) -> RunRecord:
    with catalog.session() as session:
        session.runs.enqueue(sync_id)
        run = session.runs.claim("w")
        assert run is not None
        session.runs.record_rows(run.id, rows)
        return session.runs.finish(run.id, outcome)


def _failed(key: str, attempts: int = 1) -> RowOutcome:
    return RowOutcome(key, Operation.CHANGED, "failed", f"{key} refused", attempts)


def test_rows_of_a_run_filter_by_status_and_operation(catalog: Catalog, pipeline: Pipeline) -> None:
    run = _run(
        catalog,
        pipeline.sync.id,
        "warning",
        [
            RowOutcome("1", Operation.ADDED, "succeeded"),
            RowOutcome("2", Operation.ADDED, "failed", "bad email", 1, '{"email": "x"}'),
            RowOutcome("3", Operation.REMOVED, "failed", "locked", 2),
        ],
    )

    with catalog.session() as session:
        assert len(session.runs.row_results(run.id)) == 3
        failed = session.runs.row_results(run.id, status="failed")
        assert [(r.primary_key, r.reason, r.attempts) for r in failed] == [
            ("2", "bad email", 1),
            ("3", "locked", 2),
        ]
        removed = session.runs.row_results(run.id, operation="removed")
        assert [r.primary_key for r in removed] == ["3"]
        assert [r.primary_key for r in session.runs.failed_rows(pipeline.sync.id, run.id)] == [
            "2",
            "3",
        ]
        shape = session.to_api(failed[0])
        assert shape["payload"] == '{"email": "x"}'
        assert (shape["primaryKey"], shape["operation"], shape["status"]) == (
            "2",
            "added",
            "failed",
        )


def test_rejected_rows_of_the_engine_are_stored_as_failures(
    catalog: Catalog, pipeline: Pipeline
) -> None:
    with catalog.session() as session:
        run = session.runs.enqueue(pipeline.sync.id)
        session.runs.claim("w")
        stored = session.runs.record_rows(
            run.id, (RejectedRow(str(k), Operation.ADDED, "no", 1) for k in range(6_000))
        )
        assert stored == 6_000
        assert len(session.runs.failed_rows(pipeline.sync.id, run.id)) == 6_000


def test_a_key_stops_failing_once_a_complete_run_did_not_reject_it(
    catalog: Catalog, pipeline: Pipeline
) -> None:
    sync_id = pipeline.sync.id
    _run(catalog, sync_id, "warning", [_failed("a"), _failed("b")])
    with catalog.session() as session:
        assert [r.primary_key for r in session.runs.failed_rows(sync_id)] == ["a", "b"]

    # A failed run is partial: what it did not reach is still failing from before.
    _run(catalog, sync_id, "failed", [_failed("c")])
    with catalog.session() as session:
        assert sorted(r.primary_key for r in session.runs.failed_rows(sync_id)) == ["a", "b", "c"]

    # A partial run that acknowledged "a" settles it.
    _run(catalog, sync_id, "interrupted", [RowOutcome("a", Operation.CHANGED, "succeeded")])
    with catalog.session() as session:
        assert sorted(r.primary_key for r in session.runs.failed_rows(sync_id)) == ["b", "c"]

    # A complete run retried everything: only what it rejected is still failing.
    _run(catalog, sync_id, "warning", [_failed("b", attempts=2)])
    with catalog.session() as session:
        [row] = session.runs.failed_rows(sync_id)
        assert (row.primary_key, row.attempts) == ("b", 2)

    _run(catalog, sync_id, "success", [])
    with catalog.session() as session:
        assert session.runs.failed_rows(sync_id) == []


def test_succeeded_rows_of_a_batch_are_stored_in_one_statement_with_its_progress(
    catalog: Catalog, pipeline: Pipeline
) -> None:
    with catalog.session() as session:
        run = session.runs.enqueue(pipeline.sync.id)
        session.runs.claim("w")
    keys = [str(k) for k in range(2_500)]
    attempts = [1] * 2_499 + [3]
    statements: list[str] = []
    executions: list[str] = []

    def submitted(_conn: Any, clause: Any, *_args: Any) -> None:
        statements.append(str(clause))

    def executed(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        executions.append(statement)

    event.listen(catalog.engine, "before_execute", submitted)
    event.listen(catalog.engine, "before_cursor_execute", executed)
    reporter = catalog.reporter(run.id)
    try:
        reporter.succeeded(SucceededRows(Operation.CHANGED, keys, attempts))
        with catalog.session(read_only=True) as session:
            assert session.runs.succeeded_kept(run.id).kept == 0
        # The batch's progress follows its rows and stores them in its transaction.
        reporter.progress(RunProgress(succeeded_rows_limit=10_000))
    finally:
        event.remove(catalog.engine, "before_execute", submitted)
        event.remove(catalog.engine, "before_cursor_execute", executed)

    assert len([s for s in statements if s.startswith("INSERT INTO sync_row_results")]) == 1
    # The driver may send it in pages (PostgreSQL: 1,000 rows a page), never row by row.
    assert 1 <= len([s for s in executions if s.startswith("INSERT INTO sync_row_results")]) <= 3
    with catalog.session(read_only=True) as session:
        stored = session.runs.row_results(run.id, status="succeeded")
        assert [r.primary_key for r in stored] == keys
        assert {(r.operation, r.reason, r.payload) for r in stored} == {("changed", None, None)}
        assert stored[-1].attempts == 3
        assert session.runs.succeeded_kept(run.id).kept == 2_500
        assert session.runs.succeeded_kept(run.id, "added").kept == 0


def test_a_run_records_the_succeeded_rows_limit_it_kept(
    catalog: Catalog, pipeline: Pipeline
) -> None:
    with catalog.session() as session:
        run = session.runs.enqueue(pipeline.sync.id)
        session.runs.claim("w")
    catalog.reporter(run.id).progress(RunProgress(succeeded_rows_limit=250))

    with catalog.session(read_only=True) as session:
        assert session.runs.get(run.id).succeeded_rows_limit == 250


def test_succeeded_rows_per_run_is_ten_thousand_unless_set(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("SYNCLINE_SUCCEEDED_ROWS_PER_RUN", raising=False)
    assert load_settings().succeeded_rows_per_run == 10_000

    monkeypatch.setenv("SYNCLINE_SUCCEEDED_ROWS_PER_RUN", " 0 ")
    assert load_settings().succeeded_rows_per_run == 0

    monkeypatch.setenv("SYNCLINE_SUCCEEDED_ROWS_PER_RUN", "50000")
    assert load_settings().succeeded_rows_per_run == 50_000


@pytest.mark.parametrize("value", ["-1", "many", "1.5", "10000001"])
def test_a_bad_succeeded_rows_per_run_is_refused_by_name(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("SYNCLINE_SUCCEEDED_ROWS_PER_RUN", value)

    with pytest.raises(
        ConfigError,
        match=r"SYNCLINE_SUCCEEDED_ROWS_PER_RUN=.* must be a whole number of rows from 0",
    ):
        load_settings()
