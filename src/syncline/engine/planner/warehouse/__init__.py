"""The in-warehouse planner: snapshots kept in a schema of the source, diffs run there."""

from syncline.engine.planner.warehouse.cleanup import (
    drop_sync_state,
    forget_sync_state,
    orphan_syncs,
    warehouse_sources,
)
from syncline.engine.planner.warehouse.planner import WarehousePlanner, check_single_query
from syncline.engine.planner.warehouse.session import planner_schema

__all__ = [
    "WarehousePlanner",
    "check_single_query",
    "drop_sync_state",
    "forget_sync_state",
    "orphan_syncs",
    "planner_schema",
    "warehouse_sources",
]
