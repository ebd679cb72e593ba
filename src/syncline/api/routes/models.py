"""``/models``: the queries on sources whose rows syncs send.

Creating a model runs its column query on the source (unless ``skipColumnQuery``),
so bad SQL or a primary key the query does not return is a 422 with the source's
own error, not a failed run later. The query runs before the catalog session
opens, so a slow warehouse never holds the catalog's write lock. A stored model's
columns and first rows can be looked at too (``/columns``, ``/preview``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Query
from sqlalchemy import select
from sqlalchemy.orm import Session

from syncline.api.auth import WorkspaceId
from syncline.api.deps import CatalogDep, ReadSession, SettingsDep, WriteSession
from syncline.api.errors import COMMON_RESPONSES, CONFLICT, NOT_FOUND
from syncline.api.listing import PagingDep, tag_filter
from syncline.api.previews import PREVIEW_ROWS, preview, query_columns, stored_source
from syncline.api.schemas import (
    ColumnShape,
    Model,
    ModelCreate,
    ModelPreview,
    ModelUpdate,
    OrderBy,
    Page,
    PathId,
    TextFilter,
)
from syncline.catalog import Catalog, DestinationRecord, ModelRecord, SyncRecord
from syncline.catalog.models import change_problems, new_model_problems
from syncline.catalog.repository import UNSET, raise_problems
from syncline.engine.actions import plan_steps
from syncline.engine.config import SyncConfiguration
from syncline.engine.mapping import (
    repeated_columns,
    repeated_columns_fix,
    repeated_columns_message,
)
from syncline.engine.planner.store import delete_snapshot, note_strays
from syncline.engine.planner.warehouse import forget_sync_state, warehouse_sources
from syncline.errors import ConfigError, ConnectorError, NotFoundError, Problem, ValidationError
from syncline.project.restarts import stray_fix
from syncline.project.sync_checks import column_problems, salvage
from syncline.security.files import confined_source, file_policy
from syncline.settings import Settings

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/models", tags=["models"], responses=COMMON_RESPONSES)

QUERY_REFUSED_FIX = "correct the query, or pass skipColumnQuery=true to store it unchecked"
"""The fix of a query the source refused; the web UI words it for its own checkbox."""

SkipColumnQuery = Annotated[
    bool,
    Query(description="Do not run the model's query on the source to check its columns."),
]


@router.get(
    "", operation_id="ListModel", response_model=Page[Model], response_model_exclude_unset=True
)
def list_models(
    session: ReadSession,
    paging: PagingDep,
    name: TextFilter = None,
    slug: TextFilter = None,
    tags: Annotated[
        list[str] | None,
        Query(description="Only models with this tag, written key:value; repeat for several."),
    ] = None,
    orderBy: OrderBy = OrderBy.id,
) -> Any:
    """List the models of the key's workspace, ascending by ``orderBy``."""
    records = session.models.list(
        name=name,
        slug=slug,
        tags=tag_filter(tags),
        order_by=orderBy,
        offset=paging.offset,
        limit=paging.fetch,
    )
    return paging.page(records, session.to_api)


@router.get(
    "/{modelId}",
    operation_id="GetModel",
    response_model=Model,
    response_model_exclude_unset=True,
    responses={**NOT_FOUND, **CONFLICT},
)
def get_model(modelId: PathId, session: ReadSession) -> Any:
    """Read one model."""
    return session.to_api(session.models.get(modelId))


@router.post(
    "",
    operation_id="CreateModel",
    response_model=Model,
    response_model_exclude_unset=True,
    responses=CONFLICT,
)
def create_model(
    body: ModelCreate,
    workspace_id: WorkspaceId,
    catalog: CatalogDep,
    settings: SettingsDep,
    skipColumnQuery: SkipColumnQuery = False,
) -> Any:
    """Create a model; its query runs on the source first unless ``skipColumnQuery``."""
    problems = _query_problems(body)
    if not body.name.strip():
        problems.append(Problem("name", "the name is empty", value=body.name))
    sql = body.raw.sql if body.raw else None
    table = body.table.name if body.table else None
    # A body the catalog refuses anyway is not worth a query on the warehouse; the
    # catalog reports its problems below, with the rest.
    refused = new_model_problems(
        body.slug, body.queryType, body.primaryKey, sql, table, body.isSchema
    )
    if not problems and not refused and not skipColumnQuery:
        problems += checked_columns(
            catalog, workspace_id, body.sourceId, sql, table, body.primaryKey, settings
        )[1]

    with catalog.session(workspace_id) as session:
        try:
            record = session.models.create(
                name=body.name,
                slug=body.slug,
                source=body.sourceId,
                query_type=body.queryType,
                primary_key=body.primaryKey,
                sql=sql,
                table=table,
                is_schema=body.isSchema,
                folder_id=body.folderId,
            )
        except ValidationError as exc:
            problems = [*exc.problems, *problems]
        raise_problems(problems)
        session.flush()
        return session.to_api(record)


@router.patch(
    "/{modelId}",
    operation_id="UpdateModel",
    response_model=Model,
    response_model_exclude_unset=True,
    responses=NOT_FOUND,
)
def update_model(
    modelId: PathId,
    body: ModelUpdate,
    workspace_id: WorkspaceId,
    catalog: CatalogDep,
    tasks: BackgroundTasks,
    settings: SettingsDep,
    skipColumnQuery: SkipColumnQuery = False,
) -> Any:
    """Change a model. A new query or primary key is checked on the source first.

    A change whose query no longer returns a column that one of the model's syncs maps
    is refused, naming each sync and mapping, as ``syncline apply`` refuses it: saved,
    the sync's next run would fail. A new primary key makes the model's syncs start
    over: their snapshots, keyed by the old key, are deleted, so the next run sends
    every row.
    """
    with catalog.session(workspace_id, read_only=True) as session:
        current = session.models.get(modelId)

    problems: list[Problem] = []
    if body.name is not None and not body.name.strip():
        problems.append(Problem("name", "the name is empty", value=body.name))
    sql = body.raw.sql if body.raw else None
    table = body.table.name if body.table else None
    query_changed = sql is not None or table is not None or body.primaryKey is not None
    # The catalog refuses a query of the other type, or an empty one, before the source sees it.
    refused = change_problems(current, sql, table)
    columns: list[str] | None = None
    if query_changed and not skipColumnQuery and not problems and not refused:
        columns, found = checked_columns(
            catalog,
            workspace_id,
            current.source_id,
            sql if sql is not None else current.sql,
            table if table is not None else current.table_name,
            body.primaryKey or current.primary_key,
            settings,
        )
        problems += found

    with catalog.session(workspace_id) as session:
        if columns is not None:
            where = _query_place(current, sql, table)
            problems += _broken_syncs(session.orm, current, columns, where, sql or table)
        try:
            record = session.models.update(
                modelId,
                name=body.name,
                primary_key=body.primaryKey,
                sql=sql,
                table=table,
                is_schema=body.isSchema,
                folder_id=body.folderId if "folderId" in body.model_fields_set else UNSET,
            )
        except ValidationError as exc:
            problems = [*exc.problems, *problems]
        raise_problems(problems)
        if query_changed:
            session.syncs.refresh_columns(record, columns)
        if body.primaryKey is not None and body.primaryKey != current.primary_key:
            over = [sync.id for sync in session.syncs.list() if sync.model_id == record.id]
            session.syncs.refuse_restart_while_running(
                over, f"changing the primary key of its model {record.slug!r}"
            )
            _start_syncs_over(session.orm, record, tasks, settings)
            for sync_id, source in warehouse_sources(session, over).items():
                tasks.add_task(forget_sync_state, source, sync_id, session.installation_id)
        return session.to_api(record)


@router.delete(
    "/{modelId}",
    operation_id="DeleteModel",
    response_model=Model,
    response_model_exclude_unset=True,
    responses={**NOT_FOUND, **CONFLICT},
)
def delete_model(modelId: PathId, session: WriteSession) -> Any:
    """Delete a model no sync uses (409 names the syncs that do); returns what it was."""
    shape = session.to_api(session.models.get(modelId))
    session.models.delete(modelId)
    return shape


PreviewLimit = Annotated[
    int, Query(ge=1, le=PREVIEW_ROWS, description="How many of the first rows to show.")
]


@router.get(
    "/{modelId}/columns",
    operation_id="ListModelColumns",
    response_model=Page[ColumnShape],
    responses=NOT_FOUND,
)
def list_model_columns(
    modelId: PathId, workspace_id: WorkspaceId, catalog: CatalogDep, settings: SettingsDep
) -> Any:
    """The columns the model's query returns now, with the source's type names.

    The source plans the query without reading rows. A source that refuses it is a 422
    with the source's own message.
    """
    source_id, sql, table = _stored_query(catalog, workspace_id, modelId)
    with (
        _source_refusals(source_id),
        stored_source(catalog, workspace_id, source_id, settings) as source,
    ):
        columns = query_columns(source, sql, table)
    return {"data": [{"name": c.name, "type": c.type} for c in columns], "hasMore": False}


@router.get(
    "/{modelId}/preview",
    operation_id="PreviewModel",
    response_model=ModelPreview,
    responses=NOT_FOUND,
)
def preview_model(
    modelId: PathId,
    workspace_id: WorkspaceId,
    catalog: CatalogDep,
    settings: SettingsDep,
    limit: PreviewLimit = PREVIEW_ROWS,
) -> Any:
    """The model's columns with their types and its first ``limit`` rows (100 at most).

    The query runs on the source inside the server's file roots, as a run of the model
    would. A source that refuses it is a 422 with the source's own message.
    """
    source_id, sql, table = _stored_query(catalog, workspace_id, modelId)
    with _source_refusals(source_id):
        shown = preview(catalog, workspace_id, source_id, sql, table, settings, limit=limit)
    columns = [{"name": c.name, "type": c.type} for c in shown.columns]
    return {"columns": columns, "rows": shown.rows}


def _stored_query(
    catalog: Catalog, workspace_id: int, model_id: int
) -> tuple[int, str | None, str | None]:
    """The source id, SQL and table of a model of the workspace (NotFoundError otherwise)."""
    with catalog.session(workspace_id, read_only=True) as session:
        record = session.models.get(model_id)
        sql = record.sql if record.query_type == "raw_sql" else None
        return record.source_id, sql, record.table_name


@contextmanager
def _source_refusals(source_id: int) -> Iterator[None]:
    """A source that cannot be built, or refuses the query, as a 422 on ``path.modelId``."""
    where = "path.modelId"
    try:
        yield
    except ConnectorError as exc:
        logger.info("a stored model's query failed on source %s", source_id)
        message = f"the source refused the model's query: {exc}"
        raise ValidationError(
            [Problem(where, message, fix="correct the model's query with PATCH /models/{id}")]
        ) from None
    except ConfigError as exc:
        message = f"the model's source {source_id} cannot be used: {exc}"
        raise ValidationError(
            [Problem(where, message, fix="correct the source's configuration")]
        ) from None


def checked_columns(
    catalog: Catalog,
    workspace_id: int,
    source_id: int,
    sql: str | None,
    table: str | None,
    primary_key: str | None,
    settings: Settings,
) -> tuple[list[str] | None, list[Problem]]:
    """Run the model's query for its columns (None when unknown) and the problems found;
    problems carry the source's own error.

    The source is confined to the server's file roots, so a model's SQL cannot read or
    write the server's files while its columns are checked.
    """
    with catalog.session(workspace_id, read_only=True) as session:
        try:
            record = session.sources.get(source_id)
        except NotFoundError:
            return None, []  # the model repository reports the missing source with the rest
        source_type = record.type
        configuration = session.sources.plain_configuration(record)
        files = file_policy(settings, session.workspace.slug)

    where, sent = ("raw.sql", sql) if sql is not None else ("table.name", table)
    try:
        source = confined_source(source_type, configuration, files)
    except (ValidationError, ConnectorError) as exc:
        message = f"the source {source_id} cannot be used: {exc}"
        return None, [Problem("sourceId", message, fix="correct the source's configuration")]

    try:
        query = sql if sql is not None else source.table_query(table or "")
        columns = [column.name for column in source.describe(query)]
    except ConnectorError as exc:
        logger.info("column query of a new model failed on source %s", source_id)
        message = f"the source refused the query: {exc}"
        problem = Problem(where, message, fix=QUERY_REFUSED_FIX, value=sent)
        return None, [problem]
    finally:
        source.close()

    repeated = repeated_columns(columns)
    if repeated:
        message = repeated_columns_message(repeated, "the query")
        return columns, [Problem(where, message, fix=repeated_columns_fix(repeated), value=sent)]
    if primary_key and primary_key not in columns:
        message = f"column {primary_key!r} is not in the query's result (columns: "
        listed = message + ", ".join(columns) + ")"
        return columns, [Problem("primaryKey", listed, value=primary_key)]
    return columns, []


def _query_problems(body: ModelCreate) -> list[Problem]:
    raw = body.raw.model_dump() if body.raw else None
    table = body.table.model_dump() if body.table else None
    if raw is not None and table is not None:
        return [Problem("table", "a model has either 'raw' or 'table', not both", value=table)]
    if body.queryType == "raw_sql" and table is not None:
        return [Problem("table", "a raw_sql model takes 'raw': {sql}, not 'table'", value=table)]
    if body.queryType == "table" and raw is not None:
        return [Problem("raw", "a table model takes 'table': {name}, not 'raw'", value=raw)]
    return []


def _query_place(model: ModelRecord, sql: str | None, table: str | None) -> str:
    """Where the model's query is in a PATCH body: what was sent, else its stored kind."""
    if sql is not None or (table is None and model.query_type == "raw_sql"):
        return "raw.sql"
    return "table.name"


def _broken_syncs(
    orm: Session, model: ModelRecord, columns: list[str], where: str, sent: str | None
) -> list[Problem]:
    """One problem naming every sync of ``model`` (and its mappings) that reads a column
    the changed query no longer returns; none when every sync still finds its columns."""
    label = f"model {model.slug!r}"
    broken = []
    syncs = orm.scalars(
        select(SyncRecord).where(SyncRecord.model_id == model.id).order_by(SyncRecord.id)
    )
    for sync in syncs:
        configuration = salvage(sync.configuration)
        found = column_problems(configuration, columns, label) if configuration else []
        if found:
            reads = "; ".join(f"{p.location}: {p.message}" for p in found)
            broken.append(f"sync {sync.slug!r} (id {sync.id}), {reads}")
    if not broken:
        return []

    message = (
        f"this change would make the next run of {len(broken)} sync(s) fail: "
        f"{'; '.join(broken)} (after this change {label} returns {', '.join(columns)})"
    )
    fix = (
        "keep returning the column until the sync maps another one, or save without "
        "running the query (skipColumnQuery=true) and correct the syncs before they run"
    )
    return [Problem(where, message, fix=fix, value=sent)]


def _start_syncs_over(
    orm: Session, model: ModelRecord, tasks: BackgroundTasks, settings: Settings
) -> None:
    # A snapshot keyed by the old primary key would make the next run send only a
    # diff of rows the destination never received under the new key. The snapshots
    # are deleted once the change is committed.
    key = model.primary_key
    for sync in orm.scalars(select(SyncRecord).where(SyncRecord.model_id == model.id)):
        if not key:
            continue
        old_key, sync.primary_key = sync.primary_key, key
        configuration = SyncConfiguration.parse(sync.configuration)
        tasks.add_task(delete_snapshot, settings.snapshot_dir, sync.id)
        if plan_steps(configuration.mode, configuration.removed_rows)[-1].sends:
            warning = _strays_warning(orm, model, sync, configuration, old_key)
            logger.warning("%s", warning, extra={"sync_id": sync.id})
            # After the snapshot's deletion, which would take the note with it.
            tasks.add_task(note_strays, settings.snapshot_dir, sync.id, warning)


def _strays_warning(
    orm: Session,
    model: ModelRecord,
    sync: SyncRecord,
    configuration: SyncConfiguration,
    old_key: str,
) -> str:
    """That a sync which removes records cannot remove those it delivered before the
    model's new primary key (its snapshot was keyed on the old one), with the fix."""
    destination = orm.get(DestinationRecord, sync.destination_id)
    kind = destination.type if destination else ""
    return (
        f"model {model.slug!r} now keys its rows on {model.primary_key!r} (was {old_key!r}): "
        f"sync {sync.slug!r} removes records that leave the model, but cannot tell which of "
        f"those it delivered the model no longer has, so they stay in object "
        f"{configuration.object!r}; {stray_fix(sync.slug, configuration.object, kind)}"
    )
