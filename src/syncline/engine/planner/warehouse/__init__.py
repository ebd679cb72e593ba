"""The in-warehouse planner: snapshots kept in a schema of the source, diffs run there.

Only :func:`planner_schema` is loaded with the package: a run on the local planner asks it
and needs nothing else, so the rest (the SQL renderer, the drivers' sessions) is loaded
when first named.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from syncline.engine.planner.warehouse.choice import planner_schema

if TYPE_CHECKING:
    from syncline.engine.planner.warehouse.cleanup import (
        drop_sync_state,
        forget_sync_state,
        orphan_syncs,
        warehouse_sources,
    )
    from syncline.engine.planner.warehouse.planner import WarehousePlanner, check_single_query
    from syncline.engine.planner.warehouse.restart import restart_sync_state

_HOMES = {
    "WarehousePlanner": "planner",
    "check_single_query": "planner",
    "drop_sync_state": "cleanup",
    "forget_sync_state": "cleanup",
    "orphan_syncs": "cleanup",
    "restart_sync_state": "restart",
    "warehouse_sources": "cleanup",
}

__all__ = [
    "WarehousePlanner",
    "check_single_query",
    "drop_sync_state",
    "forget_sync_state",
    "orphan_syncs",
    "planner_schema",
    "restart_sync_state",
    "warehouse_sources",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{home}"), name)
