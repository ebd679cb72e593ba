"""Dropping the planner tables of syncs that are gone, one by one or as orphans."""

from __future__ import annotations

import logging
import re
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from syncline.connectors.sources.base import Source
from syncline.engine.planner.warehouse.choice import planner_schema
from syncline.engine.planner.warehouse.owner import check_owner
from syncline.engine.planner.warehouse.session import open_session
from syncline.engine.planner.warehouse.sql import PlannerSQL, literal
from syncline.errors import SynclineError

logger = logging.getLogger(__name__)

_TABLE = re.compile(r"^sync_(\d+)_(snapshot|failed|journal|meta|current|plan)$")


def drop_sync_state(
    source: Source, sync_id: int, installation_id: str | None = None, schema: str | None = None
) -> bool:
    """Drop a sync's planner tables from its source; False when the source keeps none.

    A source on the local planner has nothing in the warehouse: the call does nothing,
    unless ``schema`` names where tables it kept there before are. A schema another
    installation owns is refused (``installation_id`` is the catalog's whose sync this
    is), as the sync id there names another installation's sync.
    """
    if schema is None and planner_schema(source) is None:
        return False
    session = open_session(source, schema)
    try:
        check_owner(session, installation_id)
        for statement in PlannerSQL(session.dialect, session.schema, sync_id).drop_tables():
            session.execute(statement)
    finally:
        session.close()
    logger.info("dropped the warehouse planner tables of sync %s", sync_id)
    return True


_LOCATION = {
    # The server's start time tells apart two servers that give the same address and port.
    "postgres": "SELECT current_database(), CAST(pg_postmaster_start_time() AS TEXT), "
    "CAST(inet_server_addr() AS TEXT), inet_server_port()",
    "duckdb": "SELECT path FROM duckdb_databases() WHERE database_name = current_database()",
}
"""What names the database a session is connected to, however the source spells it."""


@dataclass(frozen=True)
class PlannerSyncs:
    """The syncs with planner tables in one planner schema, and where that schema is."""

    location: str
    """The database and schema, the same for every source that reaches them."""
    sync_ids: set[int]


def planner_syncs(
    source: Source, installation_id: str | None = None, schema: str | None = None
) -> PlannerSyncs:
    """The ids of the syncs that have planner tables in ``source``'s planner schema (or
    in ``schema``, for a source that planned there before it switched to the local one).

    Refused for a schema another installation owns: its ids are not this catalog's.
    """
    if schema is None and planner_schema(source) is None:
        return PlannerSyncs(f"local planner of {source.type_name}", set())
    session = open_session(source, schema)
    try:
        check_owner(session, installation_id)
        rows = session.fetch(
            "SELECT table_name FROM information_schema.tables "
            f"WHERE table_schema = {literal(session.schema)}"
        )
        database = session.fetch(_LOCATION[session.dialect])
    finally:
        session.close()
    found = set()
    for (name,) in rows:
        matched = _TABLE.match(str(name))
        if matched:
            found.add(int(matched.group(1)))
    location = [session.dialect, *(str(value) for value in database[0]), session.schema]
    return PlannerSyncs(" ".join(location), found)


def orphan_syncs(
    source: Source,
    known: Collection[int],
    installation_id: str | None = None,
    schema: str | None = None,
) -> PlannerSyncs:
    """Syncs with planner tables in ``source`` (or in its ``schema``, see
    :func:`planner_syncs`) that are not among ``known`` sync ids.

    ``known`` and ``installation_id`` come from one catalog; a schema another
    installation owns is refused rather than all its syncs taken for orphans. Two
    sources that reach the same schema give the same ``location``.
    """
    found = planner_syncs(source, installation_id, schema)
    return PlannerSyncs(found.location, found.sync_ids - set(known))


def warehouse_sources(session: Any, sync_ids: Collection[int] | None = None) -> dict[int, Source]:
    """The sources, by sync id, of a catalog session's syncs that plan in the warehouse.

    Taken before syncs are deleted or start over, so that their planner tables can be
    dropped once the change is committed (see :func:`forget_sync_state`). ``session`` is
    a :class:`~syncline.catalog.CatalogSession`; ``sync_ids`` limits the syncs looked at.
    """
    from syncline.connectors import registry

    found: dict[int, Source] = {}
    for sync in session.syncs.list():
        if sync_ids is not None and sync.id not in sync_ids:
            continue
        record = session.sources.get(session.models.get(sync.model_id).source_id)
        configuration = session.sources.plain_configuration(record)
        if configuration.get("planner") == "warehouse":
            found[sync.id] = registry.source_class(record.type).from_config(configuration)
    return found


def forget_sync_state(
    source: Source | None, sync_id: int, installation_id: str | None = None
) -> None:
    """Drop a sync's planner tables, logging instead of raising when the source is down
    or its schema belongs to another installation.

    Called after a sync was deleted or must start over; ``source`` is None for a sync
    on the local planner; ``installation_id`` is the sync's catalog's, taken from its
    catalog session before the call (which may run after that session closed). Tables
    left behind are found by ``syncline planner cleanup``.
    """
    if source is None:
        return
    try:
        drop_sync_state(source, sync_id, installation_id)
    except SynclineError as exc:
        if exc.code == "PLANNER_SCHEMA_OWNED":
            # Cleanup would be refused the same way, and needs not run: the schema is
            # another installation's, so none of its tables are this sync's.
            logger.warning(
                "the warehouse planner tables of sync %s were not dropped (%s); the schema "
                "holds none of this installation's syncs' tables",
                sync_id,
                exc,
            )
            return
        logger.warning(
            "the warehouse planner tables of sync %s were not dropped (%s); run "
            "'syncline planner cleanup' once the source is reachable",
            sync_id,
            exc,
        )
    finally:
        source.close()
