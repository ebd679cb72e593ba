"""``/syncs``: which model goes to which destination, how, and when.

A sync's configuration and schedule pass the checks ``syncline validate`` runs on a
sync in YAML (:mod:`syncline.project.sync_checks`), and ``referencedColumns`` is
derived from the configuration as ``syncline apply`` derives it. Mappings must read
columns the model's source says its query returns (unchecked when it cannot say); the
source is asked before the catalog's write session opens, so a slow warehouse never
holds the catalog's write lock. Through the API only the configuration, schedule and
``disabled`` change (API.md 3.2). Triggers and runs live in
:mod:`syncline.api.routes.runs`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Depends, Query
from pydantic import BeforeValidator

from syncline.api.auth import WorkspaceId
from syncline.api.booleans import loose_booleans, replacing
from syncline.api.connections import merged
from syncline.api.deps import CatalogDep, ReadSession, SettingsDep, WriteSession
from syncline.api.deps import settings as settings_of
from syncline.api.errors import COMMON_RESPONSES, CONFLICT, NOT_FOUND
from syncline.api.listing import PagingDep
from syncline.api.schemas import (
    MAX_ID,
    Page,
    PathId,
    Sync,
    SyncCreate,
    SyncOrderBy,
    SyncUpdate,
    TextFilter,
)
from syncline.catalog import Catalog, CatalogSession, ConflictError, ModelRecord, SyncRecord
from syncline.catalog.repository import check_slug, raise_problems
from syncline.connectors import registry
from syncline.engine.config import SyncConfiguration
from syncline.engine.mapping import referenced_columns
from syncline.engine.planner.store import delete_snapshot, note_strays
from syncline.engine.planner.warehouse import forget_sync_state, warehouse_sources
from syncline.errors import ConfigError, Problem
from syncline.project.mode_changes import (
    clear_and_fill_levels,
    levelling,
    setting_change,
    setting_message,
)
from syncline.project.model_columns import (
    primary_key_problem,
    query_columns,
    repeated_columns_problem,
)
from syncline.project.sync_checks import check_configuration, check_sync_schedule
from syncline.settings import Settings

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _iso_only(value: object) -> object:
    # pydantic would also read a bare number as seconds since 1970; the API takes ISO 8601.
    if isinstance(value, str) and not _ISO_DATE.match(value):
        raise ValueError("must be an ISO 8601 date-time, e.g. 2024-05-01T00:00:00Z")
    return value


Instant = Annotated[datetime, BeforeValidator(_iso_only)]
"""An ISO 8601 date-time in the query string; without a zone it is read as UTC."""

OptionalSettings = Annotated[Settings | None, Depends(settings_of)]
"""The server's settings; None only when a page calls a route function directly."""

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/syncs", tags=["syncs"], responses=COMMON_RESPONSES)


@router.get("", operation_id="ListSync", response_model=Page[Sync])
def list_syncs(
    session: ReadSession,
    paging: PagingDep,
    slug: TextFilter = None,
    modelId: Annotated[
        int | None, Query(ge=1, le=MAX_ID, description="Only syncs of this model.")
    ] = None,
    after: Annotated[
        Instant | None, Query(description="Only syncs last run after this instant.")
    ] = None,
    before: Annotated[
        Instant | None, Query(description="Only syncs last run before this instant.")
    ] = None,
    orderBy: SyncOrderBy = SyncOrderBy.id,
) -> Any:
    """List the syncs of the key's workspace, ascending by ``orderBy`` (``name``: by slug)."""
    records = session.syncs.list(
        slug=slug,
        model_id=modelId,
        last_run_after=_utc(after),
        last_run_before=_utc(before),
        order_by="slug" if orderBy is SyncOrderBy.name else orderBy.value,
        offset=paging.offset,
        limit=paging.fetch,
    )
    return paging.page(records, session.to_api)


@router.get("/{syncId}", operation_id="GetSync", response_model=Sync, responses=NOT_FOUND)
def get_sync(syncId: PathId, session: ReadSession) -> Any:
    """Read one sync."""
    return session.to_api(session.syncs.get(syncId))


@router.post("", operation_id="CreateSync", response_model=Sync, responses=CONFLICT)
def create_sync(
    body: SyncCreate,
    workspace_id: WorkspaceId,
    catalog: CatalogDep,
    settings: OptionalSettings = None,
) -> Any:
    """Create a sync; every problem of its configuration and schedule is reported at once.

    Mappings are checked against the model's columns when ``settings`` (and so the
    server's file roots) are known, as they always are for a request.
    """

    def write(session: CatalogSession, model: ModelRecord | None, columns: Columns) -> Any:
        problems: list[Problem] = []
        check_slug(body.slug, problems)
        if model is None:
            message = f"model {body.modelId} does not exist"
            problems.append(Problem("modelId", message, value=body.modelId))
        destination = session.destinations.find(body.destinationId)
        if destination is None:
            message = f"destination {body.destinationId} does not exist"
            problems.append(Problem("destinationId", message, value=body.destinationId))

        connector = _connector(destination.type, problems) if destination else None
        configuration, found = check_configuration(
            body.configuration,
            connector,
            columns=columns,
            model=f"model {model.slug!r}" if model is not None else "the model",
            primary_key=model.primary_key if model is not None else None,
        )
        problems += replacing(found, _loose_booleans(body.configuration))
        schedule, found = check_sync_schedule(body.schedule)
        problems += found
        if model is not None:
            problems += _model_problems(model, columns, body.modelId)
        raise_problems(problems)

        assert model is not None
        assert model.primary_key
        assert configuration is not None
        record = session.syncs.create(
            slug=body.slug,
            model=model,
            destination=body.destinationId,
            configuration=configuration.dump(),
            schedule=schedule,
            disabled=body.disabled,
            primary_key=model.primary_key,
            referenced_columns=referenced_columns(configuration, model.primary_key, columns),
        )
        session.flush()
        return session.to_api(record)

    def model_of(session: CatalogSession) -> ModelRecord | None:
        return session.models.find(body.modelId)

    return _write_with_columns(catalog, workspace_id, settings, model_of, write)


@router.patch(
    "/{syncId}",
    operation_id="UpdateSync",
    response_model=Sync,
    responses={**NOT_FOUND, **CONFLICT},
)
def update_sync(
    syncId: PathId,
    body: SyncUpdate,
    workspace_id: WorkspaceId,
    catalog: CatalogDep,
    tasks: BackgroundTasks,
    settings: SettingsDep,
) -> Any:
    """Change a sync's configuration (merged key by key), schedule or ``disabled``.

    A new object (or a move to another table) makes the sync start over: its snapshot
    described what the old object received, so it is deleted and the next run sends
    every row.
    """

    def write(session: CatalogSession, model: ModelRecord | None, columns: Columns) -> Any:
        record = session.syncs.get(syncId)
        problems: list[Problem] = []
        changes: dict[str, Any] = {}

        if body.configuration is not None:
            assert model is not None
            connector = _connector(session.destinations.get(record.destination_id).type, problems)
            configuration, found = check_configuration(
                merged(record.configuration, body.configuration),
                connector,
                columns=columns,
                model=f"model {model.slug!r}",
                primary_key=model.primary_key or record.primary_key,
            )
            problems += replacing(found, _loose_booleans(body.configuration))
            if configuration is not None:
                changes["configuration"] = configuration.dump()
                changes["referenced_columns"] = referenced_columns(
                    configuration, model.primary_key or record.primary_key, columns
                )
        if "schedule" in body.model_fields_set:
            changes["schedule"], found = check_sync_schedule(body.schedule)
            problems += found
        raise_problems(problems)

        old_object = record.configuration.get("object")
        moves = changes.get("configuration", record.configuration).get("object") != old_object
        if moves:
            session.syncs.refuse_restart_while_running([record.id], "changing its object")
        destination_type = session.destinations.get(record.destination_id).type
        before = record.configuration
        record = session.syncs.update(syncId, disabled=body.disabled, **changes)
        if "configuration" in changes and not moves:
            _warn_of_unsent(record, before, destination_type, tasks, settings)
        if moves:
            tasks.add_task(delete_snapshot, settings.snapshot_dir, record.id)
            planned = warehouse_sources(session, [record.id]).get(record.id)
            tasks.add_task(forget_sync_state, planned, record.id, session.installation_id)
        return session.to_api(record)

    def model_of(session: CatalogSession) -> ModelRecord | None:
        # Only a new configuration has mappings to check against the model's columns.
        if body.configuration is None:
            return None
        return session.models.get(session.syncs.get(syncId).model_id)

    return _write_with_columns(catalog, workspace_id, settings, model_of, write)


def _warn_of_unsent(
    record: SyncRecord,
    before: dict[str, Any],
    destination_type: str,
    tasks: BackgroundTasks,
    settings: Settings,
) -> None:
    """Log that the sync's new mode or delete behaviour leaves records its old one kept,
    and the run that levels them; when that is one clear-and-fill run, every run repeats
    the warning until then, as after ``syncline apply``."""
    change = setting_change(record.slug, before, record.configuration, destination_type)
    if change is None:
        return
    warning = f"{setting_message(change)}; {levelling(change)}"
    logger.warning("%s", warning, extra={"sync_id": record.id})
    if clear_and_fill_levels(change):
        tasks.add_task(note_strays, settings.snapshot_dir, record.id, warning)


@router.delete(
    "/{syncId}",
    operation_id="DeleteSync",
    response_model=Sync,
    responses={**NOT_FOUND, **CONFLICT},
)
def delete_sync(
    syncId: PathId, session: WriteSession, tasks: BackgroundTasks, settings: SettingsDep
) -> Any:
    """Delete a sync with no run in progress (else 409), its runs and its snapshot."""
    shape = session.to_api(session.syncs.get(syncId))
    planned = warehouse_sources(session, [syncId]).get(syncId)
    session.syncs.delete(syncId)
    tasks.add_task(delete_snapshot, settings.snapshot_dir, syncId)
    tasks.add_task(forget_sync_state, planned, syncId, session.installation_id)
    return shape


Columns = list[str] | None
"""A model's column names as its source describes them; None when it cannot tell."""

_ASKS = 3
"""How often a model's columns are asked before a request that keeps racing edits is refused."""


@dataclass(frozen=True)
class _ModelQuery:
    """What a model's columns are asked with: its source and its query as stored."""

    source_type: str
    configuration: dict[str, Any]
    sql: str | None
    table: str | None
    workspace: str
    """The slug of the model's workspace, whose file roots hold the source."""


def _write_with_columns(
    catalog: Catalog,
    workspace_id: int,
    settings: Settings | None,
    model_of: Callable[[CatalogSession], ModelRecord | None],
    write: Callable[[CatalogSession, ModelRecord | None, Columns], Any],
) -> Any:
    """``write`` in a write session, given the columns of the model ``model_of`` finds.

    A write session holds the SQLite catalog's write lock, so workers' heartbeats and
    other writes wait on it; a source that does not answer would hold it up to its
    connect timeout. The columns are therefore asked between sessions, and the write
    goes ahead only when the model still has the query and source they were asked
    with; otherwise they are asked again. A model deleted meanwhile reaches ``write``
    as None, which reports it as before.
    """
    with catalog.session(workspace_id, read_only=True) as session:
        asked = _model_query(session, model_of(session))

    for _ in range(_ASKS):
        columns = _model_columns(asked, settings)
        with catalog.session(workspace_id) as session:
            model = model_of(session)
            current = _model_query(session, model)
            if current == asked:
                return write(session, model, columns)
        asked = current

    raise ConflictError(
        f"the model's query or source changed {_ASKS} times while the sync's mappings "
        "were checked against its columns; send the request again"
    )


def _model_query(session: CatalogSession, model: ModelRecord | None) -> _ModelQuery | None:
    if model is None:
        return None
    source = session.sources.get(model.source_id)
    configuration = session.sources.plain_configuration(source)
    return _ModelQuery(
        source.type, configuration, model.sql, model.table_name, session.workspace.slug
    )


def _model_columns(query: _ModelQuery | None, settings: Settings | None) -> Columns:
    """The model's columns as its source describes them; None when it cannot tell."""
    if query is None or settings is None:
        return None
    return query_columns(
        query.source_type, query.configuration, query.sql, query.table, settings,
        workspace=query.workspace,
    )  # fmt: skip


def _model_problems(model: ModelRecord, columns: Columns, sent: int) -> list[Problem]:
    """Why the sync's ``model`` cannot be run: it has no primary key, or its query (when
    ``columns`` are known) repeats a column or does not return the key."""
    if not model.primary_key:
        return [Problem("modelId", f"model {model.slug!r} has no primary key", value=sent)]
    if columns is None:
        return []
    found = repeated_columns_problem(model.slug, columns)
    if found is None and model.primary_key not in columns:
        found = primary_key_problem(model.slug, model.primary_key, columns)
    return [Problem("modelId", *found, value=sent)] if found is not None else []


def _loose_booleans(configuration: dict[str, Any]) -> list[Problem]:
    # Only what the request sent: a stored configuration was checked when it came.
    return loose_booleans(SyncConfiguration, configuration, "configuration")


def _connector(type_name: str, problems: list[Problem]) -> Any:
    try:
        return registry.destination_class(type_name)
    except (ConfigError, ImportError, AttributeError) as exc:
        problems.append(Problem("destinationId", f"the destination cannot be loaded: {exc}"))
        return None


def _utc(instant: datetime | None) -> datetime | None:
    # An instant without a zone is read as UTC, as every instant of the API is.
    if instant is None or instant.tzinfo is not None:
        return instant
    return instant.replace(tzinfo=UTC)
