"""``/destinations``: list, read, create, change, test and delete where syncs write."""

from __future__ import annotations

import logging
from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Query

from syncline.api.auth import WorkspaceId
from syncline.api.connections import check_new_connection, checked_update, try_connection
from syncline.api.deps import CatalogDep, ReadSession, SettingsDep, WriteSession
from syncline.api.errors import COMMON_RESPONSES, CONFLICT, NOT_FOUND
from syncline.api.listing import PagingDep
from syncline.api.schemas import (
    NO_NUL,
    ConnectionCreate,
    ConnectionTestResult,
    ConnectionUpdate,
    Destination,
    OrderBy,
    Page,
    PathId,
    Strict,
    TextFilter,
)
from syncline.catalog.catalog import CatalogSession
from syncline.catalog.repository import raise_problems
from syncline.connectors import registry
from syncline.connectors.destinations.base import Destination as DestinationConnector
from syncline.connectors.destinations.base import ObjectField
from syncline.engine.planner.store import delete_snapshot
from syncline.engine.planner.warehouse import forget_sync_state, warehouse_sources
from syncline.errors import ConnectorError, Problem, UserError, ValidationError
from syncline.security.files import FilePolicy, confined_destination, file_policy

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/destinations", tags=["destinations"], responses=COMMON_RESPONSES)


@router.get("", operation_id="ListDestination", response_model=Page[Destination])
def list_destinations(
    session: ReadSession,
    paging: PagingDep,
    name: TextFilter = None,
    slug: TextFilter = None,
    orderBy: OrderBy = OrderBy.id,
) -> Any:
    """List the destinations of the key's workspace, ascending by ``orderBy``."""
    records = session.destinations.list(
        name=name, slug=slug, order_by=orderBy, offset=paging.offset, limit=paging.fetch
    )
    return paging.page(records, session.to_api)


@router.get(
    "/{destinationId}",
    operation_id="GetDestination",
    response_model=Destination,
    responses=NOT_FOUND,
)
def get_destination(destinationId: PathId, session: ReadSession) -> Any:
    """Read one destination; its secret configuration fields are left out."""
    return session.to_api(session.destinations.get(destinationId))


@router.post("", operation_id="CreateDestination", response_model=Destination, responses=CONFLICT)
def create_destination(body: ConnectionCreate, session: WriteSession, settings: SettingsDep) -> Any:
    """Create a destination; the configuration is checked by the connector type's own rules."""
    raise_problems(
        check_new_connection(
            registry.destination_class,
            body.name,
            body.slug,
            body.type,
            body.configuration,
            files=file_policy(settings, session.workspace.slug),
        )
    )
    record = session.destinations.create(
        name=body.name, slug=body.slug, type=body.type, configuration=body.configuration
    )
    session.flush()
    return session.to_api(record)


@router.patch(
    "/{destinationId}",
    operation_id="UpdateDestination",
    response_model=Destination,
    responses={**NOT_FOUND, **CONFLICT},
)
def update_destination(
    destinationId: PathId,
    body: ConnectionUpdate,
    session: WriteSession,
    tasks: BackgroundTasks,
    settings: SettingsDep,
) -> Any:
    """Rename a destination or change its configuration; keys left out keep their values.

    A configuration that points elsewhere (another database, schema, file or URL, as
    the connector's ``identity_fields`` say) makes the destination's syncs start over:
    their snapshots describe what the old target received, so they are deleted after
    the change is committed and the next runs send every row.
    """
    repository = session.destinations
    record = repository.get(destinationId)
    before = repository.plain_configuration(record)
    configuration = checked_update(
        registry.destination_class,
        record.type,
        before,
        body.name,
        body.configuration,
        files=file_policy(settings, session.workspace.slug),
    )
    record = repository.update(
        destinationId, name=body.name, configuration=configuration, keep_stored_secrets=False
    )
    if configuration is not None:
        moved = registry.destination_class(record.type).config_model.identity_changes(
            before, configuration
        )
        syncs = repository.sync_ids(record) if moved else []
        session.syncs.refuse_restart_while_running(
            syncs, f"pointing its destination elsewhere ({', '.join(moved)})"
        )
        planned = warehouse_sources(session, syncs) if syncs else {}
        for sync_id in syncs:
            tasks.add_task(delete_snapshot, settings.snapshot_dir, sync_id)
            tasks.add_task(
                forget_sync_state, planned.get(sync_id), sync_id, session.installation_id
            )
        if syncs:
            logger.info(
                "destination %s now points elsewhere (%s): snapshots of syncs %s dropped",
                record.id, ", ".join(moved), syncs,
            )  # fmt: skip
    return session.to_api(record)


@router.delete(
    "/{destinationId}",
    operation_id="DeleteDestination",
    response_model=Destination,
    responses={**NOT_FOUND, **CONFLICT},
)
def delete_destination(destinationId: PathId, session: WriteSession) -> Any:
    """Delete a destination no sync writes to (409 names the syncs that do); returns it."""
    shape = session.to_api(session.destinations.get(destinationId))
    session.destinations.delete(destinationId)
    return shape


@router.post(
    "/{destinationId}/test",
    operation_id="TestDestination",
    response_model=ConnectionTestResult,
    response_model_exclude_none=True,
    responses=NOT_FOUND,
)
def try_destination(
    destinationId: PathId, workspace_id: WorkspaceId, catalog: CatalogDep, settings: SettingsDep
) -> Any:
    """Check that the destination can be reached with its stored configuration, as the CLI does.

    A connection that fails is still a 200, with ``success: false`` and a ``message``
    saying why. The catalog session ends before the destination is reached.
    """
    with catalog.session(workspace_id, read_only=True) as session:
        record = session.destinations.get(destinationId)
        type_name = record.type
        configuration = session.destinations.plain_configuration(record)
        files = file_policy(settings, session.workspace.slug)
    outcome = try_connection(
        registry.destination_class, "destination", type_name, configuration, files
    )
    return asdict(outcome)


class DestinationField(Strict):
    """A field the destination's object has now, with the destination's own type name."""

    name: str
    type: str


ObjectName = Annotated[
    str,
    Query(
        min_length=1,
        max_length=255,
        pattern=NO_NUL,
        description="The object to describe, as a sync's configuration.object names it.",
    ),
]


@router.get(
    "/{destinationId}/fields",
    operation_id="ListDestinationFields",
    response_model=Page[DestinationField],
    responses=NOT_FOUND,
)
def list_destination_fields(
    destinationId: PathId, object: ObjectName, session: ReadSession, settings: SettingsDep
) -> Any:
    """List the fields ``object`` has in the destination, for mapping columns to them.

    The list is empty when the destination cannot tell (a webhook) or the object does
    not exist yet (a run creates it from the mapped fields). A destination that cannot
    be reached is a 422 naming what went wrong.
    """
    files = file_policy(settings, session.workspace.slug)
    found = destination_fields(session, destinationId, object, files) or []
    return {"data": [{"name": f.name, "type": f.type} for f in found], "hasMore": False}


def destination_fields(
    session: CatalogSession, destination_id: int, object_name: str, files: FilePolicy
) -> list[ObjectField] | None:
    """The fields of ``object_name`` in a destination of the session's workspace.

    A file-based destination is read only inside the ``files`` roots, as API clients are
    held to them.

    Raises:
        NotFoundError: no such destination in the workspace.
        ValidationError: the destination cannot be built or read; the problem says why.
    """
    record = session.destinations.get(destination_id)
    configuration = session.destinations.plain_configuration(record)
    where = "path.destinationId"
    try:
        destination: DestinationConnector = confined_destination(record.type, configuration, files)
    except (UserError, ConnectorError) as exc:
        message = f"destination {destination_id} cannot be used: {exc}"
        raise ValidationError(
            [Problem(where, message, fix="correct the destination's configuration")]
        ) from None
    try:
        return destination.fields(object_name.strip())
    except ConnectorError as exc:
        logger.info("reading the fields of a %s destination object failed", record.type)
        raise ValidationError(
            [Problem(where, f"the destination could not be read: {exc}", value=destination_id)]
        ) from None
    finally:
        destination.close()
