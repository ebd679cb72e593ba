"""One engine run of a source's query into a CSV file, to count what each run plans."""

from __future__ import annotations

from pathlib import Path

from syncline.connectors.registry import destination_class
from syncline.connectors.sources.base import Source
from syncline.engine.config import SyncConfiguration
from syncline.engine.report import (
    InterruptedOutcome,
    RejectedRow,
    RunProgress,
    RunStatus,
    SucceededRows,
)
from syncline.engine.run import RunJob, RunResult, execute_run


class _Reporter:
    def stage(self, status: RunStatus) -> None:
        return None

    def progress(self, progress: RunProgress) -> None:
        return None

    def rejected(self, rows: list[RejectedRow]) -> None:
        return None

    def succeeded(self, rows: SucceededRows) -> None:
        return None

    def settle_interrupted(self, outcome: InterruptedOutcome) -> None:
        return None

    def cancel_requested(self) -> bool:
        return False


def sync_once(source: Source, query: str, folder: Path) -> RunResult:
    """One upsert run of ``query``'s rows, keyed by ``id``, into ``folder/out/out.csv``.

    The snapshot lives in ``folder`` too, so each call is the next run of one sync.
    """
    runs = folder / "runs"
    runs.mkdir(parents=True, exist_ok=True)
    run_id = len(list(runs.iterdir())) + 1
    (runs / str(run_id)).touch()
    job = RunJob(
        sync_id=3,
        run_id=run_id,
        source=source,
        model_query=query,
        primary_key="id",
        configuration=SyncConfiguration.parse({"mode": "upsert", "object": "out.csv"}),
        destination=destination_class("csv").from_config({"directory": str(folder / "out")}),
        snapshot_dir=folder / "snapshots",
    )
    return execute_run(job, _Reporter())
