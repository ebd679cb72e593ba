"""API shapes of catalog records: exactly the fields of API.md section 4, and sync status."""

from __future__ import annotations

from datetime import datetime, timedelta

from catalog_fixtures import Pipeline

from syncline.catalog import Catalog, RunTrigger
from syncline.engine.report import RowCounts, RunProgress

SYNC_FIELDS = {
    "id",
    "slug",
    "workspaceId",
    "createdAt",
    "updatedAt",
    "destinationId",
    "modelId",
    "configuration",
    "schedule",
    "status",
    "disabled",
    "lastRunAt",
    "nextRunAt",
    "referencedColumns",
    "primaryKey",
    "externalSegment",
    "tags",
}
MODEL_FIELDS = {
    "id",
    "name",
    "slug",
    "description",
    "workspaceId",
    "primaryKey",
    "createdAt",
    "updatedAt",
    "sourceId",
    "queryType",
    "tags",
    "isSchema",
    "syncs",
    "lastRunSize",
}
SOURCE_FIELDS = {
    "id",
    "name",
    "slug",
    "workspaceId",
    "createdAt",
    "updatedAt",
    "configuration",
    "type",
}
RUN_FIELDS = {
    "id",
    "createdAt",
    "startedAt",
    "finishedAt",
    "querySize",
    "status",
    "completionRatio",
    "plannedRows",
    "successfulRows",
    "failedRows",
    "error",
}


def _aware(value: str) -> datetime:
    parsed = datetime.fromisoformat(value)
    assert parsed.utcoffset() is not None, f"{value} has no offset"
    return parsed


def test_sync_shape_field_by_field(catalog: Catalog, pipeline: Pipeline) -> None:
    with catalog.session() as session:
        shape = session.to_api(session.syncs.get(pipeline.sync.id))

    assert set(shape) == SYNC_FIELDS
    assert shape["id"] == pipeline.sync.id
    assert shape["slug"] == "orders-sync"
    assert shape["workspaceId"] == pipeline.sync.workspace_id
    assert shape["destinationId"] == pipeline.destination.id
    assert shape["modelId"] == pipeline.model.id
    assert shape["configuration"] == {"mode": "upsert", "object": "orders"}
    assert shape["schedule"] is None
    assert shape["status"] == "pending"
    assert shape["disabled"] is False
    assert shape["lastRunAt"] is None
    assert shape["nextRunAt"] is None
    assert shape["referencedColumns"] == ["email"]
    assert shape["primaryKey"] == "id"
    assert shape["externalSegment"] == {}
    assert shape["tags"] == {}
    assert _aware(shape["createdAt"]) <= _aware(shape["updatedAt"])


def test_model_shape_field_by_field(catalog: Catalog, pipeline: Pipeline) -> None:
    with catalog.session() as session:
        shape = session.to_api(session.models.get(pipeline.model.id))
        table_model = session.models.create(
            name="T",
            slug="t",
            source=pipeline.source.id,
            query_type="table",
            primary_key="id",
            table="public.orders",
            folder_id="f1",
        )
        table_shape = session.to_api(table_model)

    assert set(shape) == MODEL_FIELDS | {"raw"}
    assert shape["raw"] == {"sql": "SELECT id, email FROM orders"}
    assert (shape["queryType"], shape["primaryKey"], shape["sourceId"]) == (
        "raw_sql",
        "id",
        pipeline.source.id,
    )
    assert (shape["name"], shape["description"], shape["isSchema"]) == ("orders model", "", False)
    assert shape["syncs"] == [pipeline.sync.id]
    assert shape["lastRunSize"] is None
    _aware(shape["createdAt"])

    assert set(table_shape) == MODEL_FIELDS | {"table", "folderId"}
    assert table_shape["table"] == {"name": "public.orders"}
    assert table_shape["queryType"] == "table"
    assert table_shape["syncs"] == []


def test_source_and_destination_shapes_leave_secrets_out(
    catalog: Catalog, pipeline: Pipeline
) -> None:
    with catalog.session() as session:
        source = session.to_api(session.sources.get(pipeline.source.id))
        destination = session.to_api(session.destinations.get(pipeline.destination.id))

    assert set(source) == SOURCE_FIELDS
    assert source["configuration"] == {"host": "127.0.0.1"}
    assert source["type"] == "postgres"
    assert set(destination) == SOURCE_FIELDS | {"syncs"}
    assert destination["configuration"] == {"url": "http://127.0.0.1:9/hook"}
    assert destination["syncs"] == [pipeline.sync.id]


def test_run_shape_before_start_and_after_finish(catalog: Catalog, pipeline: Pipeline) -> None:
    with catalog.session() as session:
        queued = session.to_api(session.runs.enqueue(pipeline.sync.id))

    assert set(queued) == RUN_FIELDS
    assert queued["status"] == "queued"
    assert queued["startedAt"] is None
    assert queued["finishedAt"] is None
    assert queued["querySize"] is None
    assert queued["completionRatio"] == 0
    assert queued["plannedRows"] == {"addedCount": 0, "changedCount": 0, "removedCount": 0}
    assert queued["error"] is None

    progress = RunProgress(
        query_size=773,
        planned=RowCounts(added=773),
        successful=RowCounts(added=770),
        failed=RowCounts(added=3),
    )
    with catalog.session() as session:
        run = session.runs.claim("worker-1")
        assert run is not None
        session.runs.finish(run.id, "warning", progress)
        finished = session.to_api(session.runs.get(run.id))

    assert finished["status"] == "warning"
    assert finished["querySize"] == 773
    assert finished["completionRatio"] == 1.0
    assert finished["plannedRows"] == {"addedCount": 773, "changedCount": 0, "removedCount": 0}
    assert finished["successfulRows"] == {"addedCount": 770, "changedCount": 0, "removedCount": 0}
    assert finished["failedRows"] == {"addedCount": 3, "changedCount": 0, "removedCount": 0}
    assert _aware(finished["createdAt"]) <= _aware(finished["startedAt"])
    assert _aware(finished["startedAt"]) <= _aware(finished["finishedAt"])


def _status(catalog: Catalog, sync_id: int) -> str:
    with catalog.session() as session:
        return str(session.to_api(session.syncs.get(sync_id))["status"])


def test_sync_status_follows_its_runs(catalog: Catalog, pipeline: Pipeline) -> None:
    sync_id = pipeline.sync.id
    assert _status(catalog, sync_id) == "pending"

    with catalog.session() as session:
        session.runs.enqueue(sync_id)
    assert _status(catalog, sync_id) == "queued"

    with catalog.session() as session:
        run = session.runs.claim("w")
        assert run is not None
        session.runs.enqueue(sync_id)
    assert _status(catalog, sync_id) == "querying", "a running run wins over the queued one"

    with catalog.session() as session:
        session.runs.set_stage(run.id, "processing")
    assert _status(catalog, sync_id) == "processing"

    with catalog.session() as session:
        session.runs.finish(run.id, "failed", error="boom")
    assert _status(catalog, sync_id) == "queued"

    with catalog.session() as session:
        second = session.runs.claim("w")
        assert second is not None
        session.runs.finish(second.id, "success")
    assert _status(catalog, sync_id) == "success"


def test_disabled_status_only_while_no_run_is_active(catalog: Catalog, pipeline: Pipeline) -> None:
    sync_id = pipeline.sync.id
    with catalog.session() as session:
        session.syncs.update(sync_id, disabled=True)
    assert _status(catalog, sync_id) == "disabled"

    # A disabled sync queues nothing, but a run that was going when it was disabled
    # goes on, and the sync shows that run's stage meanwhile.
    with catalog.session() as session:
        session.syncs.update(sync_id, disabled=False)
        session.runs.enqueue(sync_id)
        run = session.runs.claim("w")
        assert run is not None
        session.syncs.update(sync_id, disabled=True)
    assert _status(catalog, sync_id) == "querying"

    with catalog.session() as session:
        session.runs.finish(run.id, "success")
    assert _status(catalog, sync_id) == "disabled"

    with catalog.session() as session:
        session.syncs.update(sync_id, disabled=False)
    assert _status(catalog, sync_id) == "success"


def _run(catalog: Catalog, sync_id: int, status: str, *, dry: bool = False) -> int:
    """Queue, start and finish one run of the sync; returns its id."""
    with catalog.session() as session:
        session.runs.enqueue(sync_id, RunTrigger(dry_run=dry))
        run = session.runs.claim("w")
        assert run is not None
        progress = RunProgress(failed=RowCounts(added=2)) if status == "warning" else None
        session.runs.finish(run.id, "success" if status == "warning" else status, progress)
        return run.id


def test_a_dry_run_leaves_the_sync_status_and_last_run_at_alone(
    catalog: Catalog, pipeline: Pipeline
) -> None:
    sync_id = pipeline.sync.id
    for real in ("failed", "warning"):
        real_run = _run(catalog, sync_id, real)
        with catalog.session() as session:
            started = session.runs.get(real_run).started_at
            session.runs.enqueue(sync_id, RunTrigger(dry_run=True))
        assert _status(catalog, sync_id) == real, "a queued dry run is not the sync's run"

        with catalog.session() as session:
            dry = session.runs.claim("w")
            assert dry is not None
            assert dry.dry_run
        assert _status(catalog, sync_id) == real, "a dry run going writes nothing"
        with catalog.session() as session:
            session.runs.finish(dry.id, "success")

        with catalog.session() as session:
            shape = session.to_api(session.syncs.get(sync_id))
            listed = session.syncs.list(last_run_after=started)
            runs = session.runs.list_runs(sync_id, newest_first=True)
        assert shape["status"] == real
        assert started is not None
        assert abs(_aware(shape["lastRunAt"]) - started) < timedelta(milliseconds=1)
        assert listed == [], "lastRunAt filters see the real run's time"
        assert (runs[0].id, runs[0].dry_run) == (dry.id, True), "the dry run is listed as itself"


def test_last_run_at_and_last_run_size(catalog: Catalog, pipeline: Pipeline) -> None:
    with catalog.session() as session:
        session.runs.enqueue(pipeline.sync.id)
        run = session.runs.claim("w")
        assert run is not None
        session.runs.finish(run.id, "success", RunProgress(query_size=42))
        session.runs.enqueue(pipeline.sync.id)
        failed = session.runs.claim("w")
        assert failed is not None
        session.runs.finish(failed.id, "failed", RunProgress(query_size=7), error="x")

    with catalog.session() as session:
        sync = session.to_api(session.syncs.get(pipeline.sync.id))
        model = session.to_api(session.models.get(pipeline.model.id))
        latest = session.runs.get(failed.id)

    assert model["lastRunSize"] == 42, "only a successful run counts"
    assert latest.started_at is not None
    assert abs(_aware(sync["lastRunAt"]) - latest.started_at) < timedelta(milliseconds=1)
