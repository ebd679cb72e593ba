"""Sending a sync's rows again after it moved to another model, in the warehouse."""

from __future__ import annotations

import logging

from syncline.connectors.sources.base import Source
from syncline.engine.planner.warehouse.choice import planner_schema
from syncline.engine.planner.warehouse.owner import check_owner
from syncline.engine.planner.warehouse.session import open_session
from syncline.engine.planner.warehouse.sql import PlannerSQL
from syncline.errors import SynclineError

logger = logging.getLogger(__name__)


def distrust_sync_state(source: Source, sync_id: int, installation_id: str | None = None) -> bool:
    """Make every snapshot entry of a sync unknown, as the local planner's
    :func:`~syncline.engine.planner.store.restart_snapshot` does (a killed run's journal
    stays for the next run); False when the source keeps no tables of the sync.

    A schema another installation owns is refused, as for dropping the tables.
    """
    if planner_schema(source) is None:
        return False
    session = open_session(source)
    try:
        check_owner(session, installation_id)
        sql = PlannerSQL(session.dialect, session.schema, sync_id)
        if int(session.fetch(sql.table_exists("snapshot"))[0][0]) == 0:
            return False
        with session.transaction():
            for statement in sql.distrust():
                session.execute(statement)
    finally:
        session.close()
    logger.info("sync %s: every row it delivered is to be sent again or removed", sync_id)
    return True


def restart_sync_state(
    source: Source | None, sync_id: int, installation_id: str | None = None
) -> bool:
    """:func:`distrust_sync_state`, logging instead of raising; False when it failed.

    ``source`` is None for a sync on the local planner, which has nothing here (True).
    """
    if source is None:
        return True
    try:
        distrust_sync_state(source, sync_id, installation_id)
    except SynclineError as exc:
        logger.warning(
            "sync %s moved to another model, but its warehouse planner tables could not be "
            "marked to send every row again (%s): its next run sends only the rows that "
            "differ from what it delivered, and removes those the new model lacks",
            sync_id,
            exc,
        )
        return False
    finally:
        source.close()
    return True
