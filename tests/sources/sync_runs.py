"""One engine run of a source's query into a CSV file, to count what each run plans."""

from __future__ import annotations

from pathlib import Path

from engine_runs import run_sync
from syncline.connectors.registry import destination_class
from syncline.connectors.sources.base import Source
from syncline.engine.run import RunResult


def sync_once(source: Source, query: str, folder: Path) -> RunResult:
    """One upsert run of ``query``'s rows, keyed by ``id``, into ``folder/out/out.csv``.

    The snapshot lives in ``folder`` too, so each call is the next run of one sync.
    """
    runs = folder / "runs"
    runs.mkdir(parents=True, exist_ok=True)
    run_id = len(list(runs.iterdir())) + 1
    (runs / str(run_id)).touch()
    return run_sync(
        source,
        query,
        {"mode": "upsert", "object": "out.csv"},
        destination_class("csv").from_config({"directory": str(folder / "out")}),
        folder / "snapshots",
        run_id=run_id,
    )
