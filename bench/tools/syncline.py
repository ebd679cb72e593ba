"""Syncline, driven as a user would: a YAML project, ``syncline apply``, ``syncline run``.

One Syncline home per planner: the planner is a setting of the PostgreSQL source
(``planner: warehouse`` plans inside the warehouse, in the schema ``plannerSchema``; without
it the local planner diffs the model in the run process). Each home holds one source, one
model and one sync per mode, each into its own destination schema.

A second home per planner runs the same syncs with its source connection through a counting
relay (``tools/proxy.py``): those runs tell how many bytes the source sent, while the timed
runs talk to the server directly.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from tools.child import ChildRun, run_child
from tools.job import KEY_COLUMN, MODES, PASSWORD_VARIABLE, Server, destination_schema
from tools.proxy import CountingRelay

logger = logging.getLogger(__name__)

WAREHOUSE_PLANNER_SCHEMA = "syncline_planner"

SOURCE = """\
sources:
  - slug: bench-pg
    name: Benchmark PostgreSQL
    type: postgres
    configuration:
{connection}{planner}
models:
  - slug: orders
    name: TPC-H orders
    source: bench-pg
    primaryKey: {key}
    raw:
      sql: select * from {source_schema}.orders
destinations:
"""

DESTINATION = """\
  - slug: target-{mode}
    name: Benchmark PostgreSQL, schema {schema}
    type: postgres
    configuration:
{connection}      schema: {schema}
"""

SYNC = """\
  - slug: orders-{mode}
    model: orders
    destination: target-{mode}
    configuration:
      mode: {mode}
      object: orders
      createObject: true
    schedule: null
"""


class SynclineTool:
    """Syncline with one planner, both modes in one home folder."""

    def __init__(
        self,
        server: Server,
        source_schema: str,
        *,
        warehouse: bool,
        relay: CountingRelay | None = None,
    ) -> None:
        self.server = server
        self.source_schema = source_schema
        self.warehouse = warehouse
        self.relay = relay
        """Where the source connection goes instead of the server, to count its bytes."""
        self.key = "syncline_warehouse" if warehouse else "syncline_local"
        self.label = "Syncline, warehouse planner" if warehouse else "Syncline, local planner"
        # Two homes must not share a planner schema: the warehouse planner names its tables
        # there by the sync's id in its own catalog, and both homes number their syncs alike.
        self.planner_schema = WAREHOUSE_PLANNER_SCHEMA
        if relay is not None:
            self.key += "_counted"
            self.label += " (bytes counted)"
            self.planner_schema += "_counted"
        self.setup = (
            f"source setting planner: warehouse (plannerSchema {self.planner_schema})"
            if warehouse
            else "default local planner (DuckDB in the run process)"
        )
        self.syncline = Path(sys.executable).parent / "syncline"
        self.home = Path()
        self.env: dict[str, str] = {}
        self.last_run_ids: dict[str, int] = {}

    def prepare(self, workdir: Path) -> str | None:
        """Write and apply the project; a refused project means this planner is missing."""
        self.home = workdir / self.key
        project = self.home / "project"
        project.mkdir(parents=True)
        self.env = {
            **os.environ,
            **self.server.env(),
            "SYNCLINE_HOME": str(self.home),
            "SYNCLINE_LOG_LEVEL": "WARNING",
        }
        self.env.pop("SYNCLINE_DATABASE_URL", None)
        (project / "bench.yml").write_text(self._project(), encoding="utf-8")

        applied = subprocess.run(
            [str(self.syncline), "apply", "--project", str(project)],
            env=self.env,
            capture_output=True,
            text=True,
        )
        if applied.returncode != 0:
            reason = (applied.stderr or applied.stdout).strip().splitlines()
            return "syncline apply refused the project: " + (reason[-1] if reason else "?")
        return None

    def run(self, mode: str) -> ChildRun:
        """Run the sync of ``mode`` once; the run's own duration comes from its record."""
        before = self.relay.to_client if self.relay else 0
        measure = run_child(
            [str(self.syncline), "run", f"orders-{mode}"],
            env=self.env,
            cwd=self.home,
            log=self.home / f"run-{mode}.log",
        )
        if self.relay is not None:
            moved = self.relay.settle() - before
            measure = dataclasses.replace(measure, source_bytes=moved)
        record = self._latest_run(f"orders-{mode}")
        if record is None:
            return dataclasses.replace(measure, exit_code=measure.exit_code or 1)
        if record["status"] != "success":
            tail = f"run {record['status']}: {record.get('error')}\n{measure.log_tail}"
            return dataclasses.replace(measure, exit_code=measure.exit_code or 1, log_tail=tail)
        return dataclasses.replace(measure, run_s=_duration(record))

    def _project(self) -> str:
        indent = " " * 6
        connection = self._connection(self.server.host, self.server.port)
        source = connection
        if self.relay is not None:
            source = self._connection("127.0.0.1", self.relay.port)
        planner = (
            f"{indent}planner: warehouse\n{indent}plannerSchema: {self.planner_schema}"
            if self.warehouse
            else ""
        )
        text = SOURCE.format(
            connection=source.rstrip("\n"),
            planner="\n" + planner if planner else "",
            key=KEY_COLUMN,
            source_schema=self.source_schema,
        )
        for mode in MODES:
            text += DESTINATION.format(
                mode=mode, schema=destination_schema(self.key, mode), connection=connection
            )
        text += "syncs:\n" + "".join(SYNC.format(mode=mode) for mode in MODES)
        return text

    def _connection(self, host: str, port: int) -> str:
        """The YAML lines that log in to the database through ``host:port``."""
        indent = " " * 6
        lines = [
            f'host: "{host}"',
            f"port: {port}",
            f'user: "{self.server.user}"',
            f'database: "{self.server.database}"',
        ]
        if self.server.password:
            lines.append(f"password: ${{{PASSWORD_VARIABLE}}}")
        return "".join(f"{indent}{line}\n" for line in lines)

    def _latest_run(self, slug: str) -> dict[str, Any] | None:
        """The record of the run the last ``syncline run`` made; None when it made none."""
        from syncline.catalog import Catalog
        from syncline.settings import Settings

        catalog = Catalog.open(Settings(home=self.home))
        try:
            with catalog.session(read_only=True) as session:
                runs = session.runs.list_runs(slug, newest_first=True, limit=1)
                if not runs or runs[0].id == self.last_run_ids.get(slug):
                    return None
                self.last_run_ids[slug] = runs[0].id
                record: dict[str, Any] = session.to_api(runs[0])
                return record
        finally:
            catalog.close()


def _duration(record: dict[str, Any]) -> float | None:
    started, finished = record.get("startedAt"), record.get("finishedAt")
    if not started or not finished:
        return None
    return (datetime.fromisoformat(finished) - datetime.fromisoformat(started)).total_seconds()
