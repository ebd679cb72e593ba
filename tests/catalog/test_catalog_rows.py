"""Row results: rejected and succeeded rows per run, and the keys of a sync still failing."""

from __future__ import annotations

from catalog_fixtures import Pipeline

from syncline.catalog import Catalog, RowOutcome, RunRecord
from syncline.engine.report import Operation, RejectedRow


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
