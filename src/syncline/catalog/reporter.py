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
    from syncline.catalog.catalog import Catalog, CatalogSession

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
        self.catalog.retrying(
            lambda session: session.runs.set_stage(self.run_id, status),
            f"recording run {self.run_id}'s stage",
            idempotent=True,
        )

    def progress(self, progress: RunProgress) -> None:
        """Store the run's counters and completion ratio, and the succeeded rows reported
        since the last call; also counts as a heartbeat.

        The counters are set, not added to, so they are stored again on a fresh
        connection whatever became of a cut commit; the succeeded rows are added, so
        they are not (see :meth:`Catalog.retrying`)."""

        def store(session: CatalogSession) -> None:
            for rows in self._succeeded:
                session.runs.record_succeeded(self.run_id, rows)
            session.runs.report_progress(self.run_id, progress)

        self.catalog.retrying(
            store, f"recording run {self.run_id}'s progress", idempotent=not self._succeeded
        )
        if self._succeeded:
            kept = sum(len(rows.keys) for rows in self._succeeded)
            logger.debug("run %s: %d succeeded rows of a batch kept", self.run_id, kept)
            self._succeeded.clear()

    def rejected(self, rows: list[RejectedRow]) -> None:
        """Store the rows of a batch the destination rejected."""
        if not rows:
            return
        self.catalog.retrying(
            lambda session: session.runs.record_rows(self.run_id, rows),
            f"recording run {self.run_id}'s rejected rows",
            idempotent=False,
        )
        logger.debug("run %s: %d rows rejected in a batch", self.run_id, len(rows))

    def succeeded(self, rows: SucceededRows) -> None:
        """Hold the rows of a batch the destination acknowledged until the batch's progress,
        which stores them in one statement."""
        if rows.keys:
            self._succeeded.append(rows)

    def settle_interrupted(self, outcome: InterruptedOutcome) -> None:
        """Make a killed run's record count what its journal says it delivered."""
        self.catalog.retrying(
            lambda session: session.runs.settle_interrupted(outcome, resumed_by=self.run_id),
            f"settling an interrupted run's outcome for run {self.run_id}",
            idempotent=False,
        )

    def cancel_requested(self) -> bool:
        """True when a user asked to cancel the run."""
        return self.catalog.retrying(
            lambda session: session.runs.cancel_requested(self.run_id),
            f"asking whether run {self.run_id} was cancelled",
            idempotent=True,
            read_only=True,
        )
