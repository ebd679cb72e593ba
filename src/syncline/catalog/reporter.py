"""A run reporter that writes a run's stages, counters and rejected rows into the catalog."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from syncline.engine.report import RejectedRow, RunProgress, RunStatus

if TYPE_CHECKING:
    from syncline.catalog.catalog import Catalog

logger = logging.getLogger(__name__)


class CatalogRunReporter:
    """Implements :class:`~syncline.engine.report.RunReporter` on the catalog's run record.

    Every call commits in its own short transaction, so the API and the UI see the
    run move while it moves, and a worker that dies loses nothing it reported.
    """

    def __init__(self, catalog: Catalog, run_id: int) -> None:
        self.catalog = catalog
        self.run_id = run_id

    def stage(self, status: RunStatus) -> None:
        """Set the run's status to the stage it entered."""
        with self.catalog.session() as session:
            session.runs.set_stage(self.run_id, status)

    def progress(self, progress: RunProgress) -> None:
        """Store the run's counters and completion ratio; also counts as a heartbeat."""
        with self.catalog.session() as session:
            session.runs.report_progress(self.run_id, progress)

    def rejected(self, rows: list[RejectedRow]) -> None:
        """Store the rows of a batch the destination rejected."""
        if not rows:
            return
        with self.catalog.session() as session:
            session.runs.record_rows(self.run_id, rows)
        logger.debug("run %s: %d rows rejected in a batch", self.run_id, len(rows))

    def cancel_requested(self) -> bool:
        """True when a user asked to cancel the run."""
        with self.catalog.session(read_only=True) as session:
            return session.runs.cancel_requested(self.run_id)
