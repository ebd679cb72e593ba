"""``/sources``: list, read, create, change, test and delete the warehouses models query."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter

from syncline.api.auth import WorkspaceId
from syncline.api.connections import check_new_connection, checked_update, try_connection
from syncline.api.deps import CatalogDep, ReadSession, SettingsDep, WriteSession
from syncline.api.errors import COMMON_RESPONSES, CONFLICT, NOT_FOUND
from syncline.api.listing import PagingDep
from syncline.api.schemas import (
    ConnectionCreate,
    ConnectionTestResult,
    ConnectionUpdate,
    OrderBy,
    Page,
    PathId,
    Source,
    TextFilter,
)
from syncline.catalog.repository import raise_problems
from syncline.connectors import registry
from syncline.security.files import file_policy

router = APIRouter(prefix="/sources", tags=["sources"], responses=COMMON_RESPONSES)


@router.get("", operation_id="ListSource", response_model=Page[Source])
def list_sources(
    session: ReadSession,
    paging: PagingDep,
    name: TextFilter = None,
    slug: TextFilter = None,
    orderBy: OrderBy = OrderBy.id,
) -> Any:
    """List the sources of the key's workspace, ascending by ``orderBy``."""
    records = session.sources.list(
        name=name, slug=slug, order_by=orderBy, offset=paging.offset, limit=paging.fetch
    )
    return paging.page(records, session.to_api)


@router.get("/{sourceId}", operation_id="GetSource", response_model=Source, responses=NOT_FOUND)
def get_source(sourceId: PathId, session: ReadSession) -> Any:
    """Read one source; its secret configuration fields are left out."""
    return session.to_api(session.sources.get(sourceId))


@router.post("", operation_id="CreateSource", response_model=Source, responses=CONFLICT)
def create_source(body: ConnectionCreate, session: WriteSession, settings: SettingsDep) -> Any:
    """Create a source; the configuration is checked by the connector type's own rules."""
    raise_problems(
        check_new_connection(
            registry.source_class,
            body.name,
            body.slug,
            body.type,
            body.configuration,
            files=file_policy(settings, session.workspace.slug),
        )
    )
    record = session.sources.create(
        name=body.name, slug=body.slug, type=body.type, configuration=body.configuration
    )
    session.flush()
    return session.to_api(record)


@router.patch(
    "/{sourceId}", operation_id="UpdateSource", response_model=Source, responses=NOT_FOUND
)
def update_source(
    sourceId: PathId, body: ConnectionUpdate, session: WriteSession, settings: SettingsDep
) -> Any:
    """Rename a source or change its configuration; keys left out keep their values."""
    repository = session.sources
    record = repository.get(sourceId)
    configuration = checked_update(
        registry.source_class,
        record.type,
        repository.plain_configuration(record),
        body.name,
        body.configuration,
        files=file_policy(settings, session.workspace.slug),
    )
    record = repository.update(
        sourceId, name=body.name, configuration=configuration, keep_stored_secrets=False
    )
    return session.to_api(record)


@router.delete(
    "/{sourceId}",
    operation_id="DeleteSource",
    response_model=Source,
    responses={**NOT_FOUND, **CONFLICT},
)
def delete_source(sourceId: PathId, session: WriteSession) -> Any:
    """Delete a source no model uses (409 names the models that do); returns what it was."""
    shape = session.to_api(session.sources.get(sourceId))
    session.sources.delete(sourceId)
    return shape


@router.post(
    "/{sourceId}/test",
    operation_id="TestSource",
    response_model=ConnectionTestResult,
    response_model_exclude_none=True,
    responses=NOT_FOUND,
)
def try_source(
    sourceId: PathId, workspace_id: WorkspaceId, catalog: CatalogDep, settings: SettingsDep
) -> Any:
    """Connect with the stored configuration and run a trivial query (``syncline sources test``).

    A connection that fails is still a 200, with ``success: false`` and a ``message``
    saying why. The catalog session ends before the source is reached.
    """
    with catalog.session(workspace_id, read_only=True) as session:
        record = session.sources.get(sourceId)
        type_name, configuration = record.type, session.sources.plain_configuration(record)
        files = file_policy(settings, session.workspace.slug)
    outcome = try_connection(registry.source_class, "source", type_name, configuration, files)
    return asdict(outcome)
