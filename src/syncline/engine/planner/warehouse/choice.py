"""Which planner a source's syncs use, and where the in-warehouse planner keeps its tables.

Kept apart from the planner itself so that a run on the local planner can ask without
loading the warehouse planner's SQL renderer and drivers.
"""

from __future__ import annotations

from syncline.connectors.sources.base import Source

DEFAULT_SCHEMA = "syncline_planner"
"""The schema of the source that holds the planner's tables unless the source names one."""


def planner_schema(source: Source) -> str | None:
    """The schema a source's syncs keep their planner tables in; None for the local planner."""
    if getattr(source.config, "planner", "local") != "warehouse":
        return None
    return str(getattr(source.config, "planner_schema", DEFAULT_SCHEMA))
