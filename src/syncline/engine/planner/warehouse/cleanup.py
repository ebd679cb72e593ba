"""Dropping the planner tables of syncs that are gone, one by one or as orphans."""

from __future__ import annotations

import logging
import re
from collections.abc import Collection

from syncline.connectors.sources.base import Source
from syncline.engine.planner.warehouse.session import open_session, planner_schema
from syncline.engine.planner.warehouse.sql import PlannerSQL, literal

logger = logging.getLogger(__name__)

_TABLE = re.compile(r"^sync_(\d+)_(snapshot|failed|journal|current|plan)$")


def drop_sync_state(source: Source, sync_id: int) -> bool:
    """Drop a sync's planner tables from its source; False when the source keeps none.

    A source on the local planner has nothing in the warehouse: the call does nothing.
    """
    if planner_schema(source) is None:
        return False
    session = open_session(source)
    try:
        for statement in PlannerSQL(session.dialect, session.schema, sync_id).drop_tables():
            session.execute(statement)
    finally:
        session.close()
    logger.info("dropped the warehouse planner tables of sync %s", sync_id)
    return True


def planner_syncs(source: Source) -> set[int]:
    """The ids of the syncs that have planner tables in ``source``'s planner schema."""
    if planner_schema(source) is None:
        return set()
    session = open_session(source)
    try:
        rows = session.fetch(
            "SELECT table_name FROM information_schema.tables "
            f"WHERE table_schema = {literal(session.schema)}"
        )
    finally:
        session.close()
    found = set()
    for (name,) in rows:
        matched = _TABLE.match(str(name))
        if matched:
            found.add(int(matched.group(1)))
    return found


def orphan_syncs(source: Source, known: Collection[int]) -> list[int]:
    """Syncs with planner tables in ``source`` that are not among ``known`` sync ids."""
    return sorted(planner_syncs(source) - set(known))
