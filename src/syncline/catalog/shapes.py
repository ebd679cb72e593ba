"""The API shapes of catalog records: exactly the fields of API.md section 4, in camelCase."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from syncline.catalog.models import ModelRepository
from syncline.catalog.syncs import SyncRepository
from syncline.catalog.tables import (
    DestinationRecord,
    ModelRecord,
    RowResultRecord,
    RunRecord,
    SourceRecord,
    SyncRecord,
)
from syncline.scheduling.state import next_run_at
from syncline.security.secrets import shown_configuration


def timestamp(value: datetime | None) -> str | None:
    """ISO 8601 in UTC with milliseconds and ``Z``, as the API writes times; None stays None."""
    if value is None:
        return None
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _sync_ids(session: Session, condition: ColumnElement[bool]) -> list[int]:
    return list(session.scalars(select(SyncRecord.id).where(condition).order_by(SyncRecord.id)))


def sync_to_api(session: Session, sync: SyncRecord) -> dict[str, Any]:
    """A Sync (API.md 4.1), plus the extension ``nextRunAt``: when its schedule is next due
    (null when manual, disabled or waiting for dbt Cloud)."""
    repository = SyncRepository(session, sync.workspace_id)
    return {
        "id": sync.id,
        "slug": sync.slug,
        "workspaceId": sync.workspace_id,
        "createdAt": timestamp(sync.created_at),
        "updatedAt": timestamp(sync.updated_at),
        "destinationId": sync.destination_id,
        "modelId": sync.model_id,
        "configuration": sync.configuration,
        "schedule": sync.schedule,
        "status": repository.status(sync),
        "disabled": sync.disabled,
        "lastRunAt": timestamp(sync.last_run_at),
        "nextRunAt": timestamp(next_run_at(session, sync)),
        "referencedColumns": list(sync.referenced_columns),
        "primaryKey": sync.primary_key,
        "externalSegment": {},
        "tags": dict(sync.tags),
    }


def model_to_api(session: Session, model: ModelRecord) -> dict[str, Any]:
    """A Model (API.md 4.7), with ``raw`` or ``table`` as its query type says."""
    repository = ModelRepository(session, model.workspace_id)
    shape: dict[str, Any] = {
        "id": model.id,
        "name": model.name,
        "slug": model.slug,
        "description": model.description,
        "workspaceId": model.workspace_id,
        "primaryKey": model.primary_key,
        "createdAt": timestamp(model.created_at),
        "updatedAt": timestamp(model.updated_at),
        "sourceId": model.source_id,
        "queryType": model.query_type,
        "tags": dict(model.tags),
        "isSchema": model.is_schema,
        "syncs": _sync_ids(session, SyncRecord.model_id == model.id),
        "lastRunSize": repository.last_run_size(model),
    }
    if model.query_type == "raw_sql":
        shape["raw"] = {"sql": model.sql}
    elif model.query_type == "table":
        shape["table"] = {"name": model.table_name}
    if model.folder_id is not None:
        shape["folderId"] = model.folder_id
    return shape


def source_to_api(source: SourceRecord) -> dict[str, Any]:
    """A Source (API.md 4.8); secret fields are left out of the configuration."""
    return {
        "id": source.id,
        "name": source.name,
        "slug": source.slug,
        "workspaceId": source.workspace_id,
        "createdAt": timestamp(source.created_at),
        "updatedAt": timestamp(source.updated_at),
        "configuration": shown_configuration("source", source.type, source.configuration),
        "type": source.type,
    }


def destination_to_api(session: Session, destination: DestinationRecord) -> dict[str, Any]:
    """A Destination (API.md 4.8): a source's fields plus the ids of its syncs."""
    return {
        "id": destination.id,
        "name": destination.name,
        "slug": destination.slug,
        "workspaceId": destination.workspace_id,
        "createdAt": timestamp(destination.created_at),
        "updatedAt": timestamp(destination.updated_at),
        "configuration": shown_configuration(
            "destination", destination.type, destination.configuration
        ),
        "type": destination.type,
        "syncs": _sync_ids(session, SyncRecord.destination_id == destination.id),
    }


def _counts(run: RunRecord, kind: str) -> dict[str, int]:
    return {
        "addedCount": getattr(run, f"{kind}_added"),
        "changedCount": getattr(run, f"{kind}_changed"),
        "removedCount": getattr(run, f"{kind}_removed"),
    }


def run_to_api(run: RunRecord) -> dict[str, Any]:
    """A SyncRun (API.md 4.4); times and the query size not yet known are null."""
    return {
        "id": run.id,
        "createdAt": timestamp(run.created_at),
        "startedAt": timestamp(run.started_at),
        "finishedAt": timestamp(run.finished_at),
        "querySize": run.query_size,
        "status": run.status,
        "completionRatio": run.completion_ratio,
        "plannedRows": _counts(run, "planned"),
        "successfulRows": _counts(run, "successful"),
        "failedRows": _counts(run, "failed"),
        "error": run.error,
    }


def row_result_to_api(row: RowResultRecord) -> dict[str, Any]:
    """A row result (API.md 9.3): primary key, operation, status, reason, attempt count."""
    return {
        "primaryKey": row.primary_key,
        "operation": row.operation,
        "status": row.status,
        "reason": row.reason,
        "attempts": row.attempts,
        "payload": row.payload,
        "runId": row.run_id,
        "createdAt": timestamp(row.created_at),
    }


def to_api(session: Session, record: object) -> dict[str, Any]:
    """The API shape of any catalog record."""
    if isinstance(record, SyncRecord):
        return sync_to_api(session, record)
    if isinstance(record, ModelRecord):
        return model_to_api(session, record)
    if isinstance(record, SourceRecord):
        return source_to_api(record)
    if isinstance(record, DestinationRecord):
        return destination_to_api(session, record)
    if isinstance(record, RunRecord):
        return run_to_api(record)
    if isinstance(record, RowResultRecord):
        return row_result_to_api(record)
    raise TypeError(f"no API shape for {type(record).__name__}")
