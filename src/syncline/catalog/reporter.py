"""A run reporter that writes a run's stages, counters and row outcomes into the catalog."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from syncline.engine.report import (
    InterruptedOutcome,
    RejectedRow,
    RunProgress,
    RunStatus,
    SucceededRows,
)

if TYPE_CHECKING:
    from syncline.catalog.catalog import Catalog

logger = logging.getLogger(__name__)


class CatalogRunReporter:
    """Implements :class:`~syncline.engine.report.RunReporter` on the catalog's run record.

    Every call commits in its own short transaction, so the API and the UI see the
    run move while it moves, and a worker that dies loses nothing it reported. A batch's
    succeeded rows wait for the batch's progress and commit with it: one transaction
    fewer per batch, and the rows kept never run ahead of the counters.
    """

    def __init__(self, catalog: Catalog, run_id: int) -> None:
        self.catalog = catalog
        self.run_id = run_id
        self._succeeded: list[SucceededRows] = []

    def stage(self, status: RunStatus) -> None:
        """Set the run's status to the stage it entered."""
        with self.catalog.session() as session:
            session.runs.set_stage(self.run_id, status)

    def progress(self, progress: RunProgress) -> None:
        """Store the run's counters and completion ratio, and the succeeded rows reported
        since the last call; also counts as a heartbeat."""
        with self.catalog.session() as session:
            for rows in self._succeeded:
                session.runs.record_succeeded(self.run_id, rows)
            session.runs.report_progress(self.run_id, progress)
        if self._succeeded:
            kept = sum(len(rows.keys) for rows in self._succeeded)
            logger.debug("run %s: %d succeeded rows of a batch kept", self.run_id, kept)
            self._succeeded.clear()

    def rejected(self, rows: list[RejectedRow]) -> None:
        """Store the rows of a batch the destination rejected."""
        if not rows:
            return
        with self.catalog.session() as session:
            session.runs.record_rows(self.run_id, rows)
        logger.debug("run %s: %d rows rejected in a batch", self.run_id, len(rows))

    def succeeded(self, rows: SucceededRows) -> None:
        """Hold the rows of a batch the destination acknowledged until the batch's progress,
        which stores them in one statement."""
        if rows.keys:
            self._succeeded.append(rows)

    def settle_interrupted(self, outcome: InterruptedOutcome) -> None:
        """Make a killed run's record count what its journal says it delivered."""
        with self.catalog.session() as session:
            session.runs.settle_interrupted(outcome, resumed_by=self.run_id)

    def cancel_requested(self) -> bool:
        """True when a user asked to cancel the run."""
        with self.catalog.session(read_only=True) as session:
            return session.runs.cancel_requested(self.run_id)
