"""One engine run of a model into a real destination, and the reporters such runs take.

The source, destination and file tests all drive :func:`~syncline.engine.run.execute_run`
the same way; this module holds that one way, so a test names only what it varies.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from syncline.connectors.destinations.base import Destination
from syncline.connectors.sources.base import Source
from syncline.engine.config import SyncConfiguration
from syncline.engine.report import (
    InterruptedOutcome,
    RejectedRow,
    RunProgress,
    RunReporter,
    RunStatus,
    SucceededRows,
)
from syncline.engine.run import RunJob, RunResult, execute_run


class QuietReporter:
    """A reporter that keeps the rejected rows and the last progress, and never cancels.

    ``on_progress`` runs once, at the first progress call: after the run looked for its
    destination object and before it opens it.
    """

    def __init__(self, on_progress: Callable[[], object] | None = None) -> None:
        self.rejected_rows: list[RejectedRow] = []
        self.last = RunProgress()
        self.on_progress = on_progress

    def stage(self, status: RunStatus) -> None:
        return None

    def progress(self, progress: RunProgress) -> None:
        self.last = progress
        if self.on_progress is not None:
            self.on_progress()
            self.on_progress = None

    def rejected(self, rows: list[RejectedRow]) -> None:
        self.rejected_rows.extend(rows)

    def succeeded(self, rows: SucceededRows) -> None:
        return None

    def settle_interrupted(self, outcome: InterruptedOutcome) -> None:
        return None

    def cancel_requested(self) -> bool:
        return False


class StrictReporter(QuietReporter):
    """A quiet reporter that fails the test on the first rejected row."""

    def rejected(self, rows: list[RejectedRow]) -> None:
        raise AssertionError(f"rows rejected: {[row.reason for row in rows]}")


def run_sync(
    source: Source,
    query: str,
    sync: dict[str, Any],
    destination: Destination,
    snapshot_dir: Path,
    *,
    run_id: int = 1,
    sync_id: int = 1,
    reporter: RunReporter | None = None,
) -> RunResult:
    """One run of ``query``'s rows, keyed by ``id``, as the sync settings ``sync`` say.

    Runs that share ``snapshot_dir`` and ``sync_id`` are successive runs of one sync.
    """
    job = RunJob(
        sync_id=sync_id,
        run_id=run_id,
        source=source,
        model_query=query,
        primary_key="id",
        configuration=SyncConfiguration.parse(sync),
        destination=destination,
        snapshot_dir=snapshot_dir,
    )
    return execute_run(job, reporter or QuietReporter())
