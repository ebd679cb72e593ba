"""A scriptable destination and a one-sync project that alert tests run for real."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, ClassVar

import yaml

from syncline.catalog import Catalog
from syncline.connectors.config import ConnectorConfig
from syncline.connectors.destinations.base import (
    BatchResult,
    Capabilities,
    Destination,
    RowFailure,
    SyncMode,
    WriteBatch,
    WriteContext,
)
from syncline.project.apply import apply_project
from syncline.project.loader import load_project
from syncline.settings import Settings
from syncline.worker.execute import run_sync


class ProbeConfig(ConnectorConfig):
    """The probe needs no settings; tests steer it through :class:`ProbeDestination`."""


class ProbeDestination(Destination):
    """Accepts rows except the keys in ``reject``, after waiting ``delay`` seconds."""

    type_name = "alert-probe"
    config_model = ProbeConfig
    capabilities: ClassVar[Capabilities] = Capabilities(modes=frozenset({SyncMode.UPSERT}))
    reject: ClassVar[set[str]] = set()
    delay: ClassVar[float] = 0.0

    def test(self) -> None:
        """Nothing to reach."""

    def open(self, context: WriteContext) -> None:
        """Wait as long as the test asked, to make a run slow."""
        time.sleep(self.delay)

    def write_batch(self, batch: WriteBatch) -> BatchResult:
        """Reject the rows whose keys the test listed."""
        return BatchResult(
            [RowFailure(i, "refused by the probe") for i, k in enumerate(batch.keys)
             if k in self.reject]
        )  # fmt: skip


class Workbench:
    """A project with one sync of a CSV file into the probe; alerts set per test."""

    def __init__(self, root: Path, catalog: Catalog, settings: Settings) -> None:
        self.root = root
        self.catalog = catalog
        self.settings = settings
        self.rows_file = root / "rows.csv"
        self.rows(10)

    def rows(self, count: int) -> None:
        """Make the model return ``count`` rows (ids 1..count)."""
        lines = ["id,email", *(f"{i},user{i}@example.org" for i in range(1, count + 1))]
        self.rows_file.write_text("\n".join(lines) + "\n")

    def break_source(self) -> None:
        """Make the next run fail: the model's file is gone."""
        self.rows_file.unlink()

    def apply(
        self,
        destination_alerts: Any = None,
        sync_alerts: Any = None,
        env: dict[str, str] | None = None,
    ) -> None:
        """Write the project with these alert policies and apply it."""
        destination: dict[str, Any] = {"slug": "probe", "type": "alert-probe", "configuration": {}}
        sync: dict[str, Any] = {
            "slug": "people-sync",
            "model": "people",
            "destination": "probe",
            "configuration": {
                "mode": "upsert",
                "object": "people",
                "mappings": [{"from": "email", "to": "email"}],
            },
        }
        if destination_alerts is not None:
            destination["alerts"] = destination_alerts
        if sync_alerts is not None:
            sync["alerts"] = sync_alerts
        project = {
            "sources": [{"slug": "files", "type": "duckdb", "configuration": {}}],
            "models": [
                {
                    "slug": "people",
                    "source": "files",
                    "primaryKey": "id",
                    "raw": {"sql": f"SELECT * FROM read_csv('{self.rows_file}')"},
                }
            ],
            "destinations": [destination],
            "syncs": [sync],
        }
        folder = self.root / "project"
        folder.mkdir(exist_ok=True)
        (folder / "syncline.yml").write_text(yaml.safe_dump(project, sort_keys=False))
        apply_project(self.catalog, load_project(folder, env=env or {}), self.settings)

    def run(self) -> dict[str, Any]:
        """Run the sync to its end, as ``syncline run`` does; returns the run's API shape."""
        return run_sync(self.catalog, "people-sync", settings=self.settings)
