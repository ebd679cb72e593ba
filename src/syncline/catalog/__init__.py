"""The control plane: sources, models, destinations, syncs, runs and their row results.

Only this package knows the control-plane tables. Open it with
:meth:`Catalog.open` and work in :meth:`Catalog.session` units of work.
"""

from __future__ import annotations

from syncline.catalog.catalog import Catalog, CatalogSession
from syncline.catalog.errors import ConflictError, InUseError, SlugTakenError
from syncline.catalog.reporter import CatalogRunReporter
from syncline.catalog.repository import UNSET
from syncline.catalog.rows import RowOutcome
from syncline.catalog.runs import RunTrigger
from syncline.catalog.tables import (
    DestinationRecord,
    ModelRecord,
    RowResultRecord,
    RunRecord,
    SourceRecord,
    SyncRecord,
    WorkspaceRecord,
)
from syncline.catalog.workspaces import DEFAULT_WORKSPACE

__all__ = [
    "DEFAULT_WORKSPACE",
    "UNSET",
    "Catalog",
    "CatalogRunReporter",
    "CatalogSession",
    "ConflictError",
    "DestinationRecord",
    "InUseError",
    "ModelRecord",
    "RowOutcome",
    "RowResultRecord",
    "RunRecord",
    "RunTrigger",
    "SlugTakenError",
    "SourceRecord",
    "SyncRecord",
    "WorkspaceRecord",
]
