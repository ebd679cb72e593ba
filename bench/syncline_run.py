"""Drive Syncline the way a user would: a YAML project, ``syncline apply``, ``syncline run``.

Every run is a child process of its own, so its wall time and peak resident memory
(``ru_maxrss`` from ``wait4``) belong to that run alone and not to the benchmark around it.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from psycopg.conninfo import conninfo_to_dict

logger = logging.getLogger(__name__)

SYNC_SLUG = "orders-mirror"
MODEL_SQL = "select * from {schema}.orders"
PASSWORD_VARIABLE = "SYNCLINE_BENCH_PG_PASSWORD"

PROJECT = """\
sources:
  - slug: bench-pg
    name: Benchmark PostgreSQL
    type: postgres
    configuration:
      host: "{host}"
      port: {port}
      user: "{user}"
      database: "{database}"{password}
models:
  - slug: orders
    name: TPC-H orders
    source: bench-pg
    primaryKey: o_orderkey
    raw:
      sql: select * from {source_schema}.orders
destinations:
  - slug: bench-pg-target
    name: Benchmark PostgreSQL, another schema
    type: postgres
    configuration:
      host: "{host}"
      port: {port}
      user: "{user}"
      database: "{database}"{password}
      schema: {target_schema}
syncs:
  - slug: {sync}
    model: orders
    destination: bench-pg-target
    configuration:
      mode: mirror
      object: orders
      createObject: true
    schedule: null
"""


@dataclass(frozen=True)
class RunMeasure:
    """What one ``syncline run`` process took and what its run record says."""

    wall_s: float
    """Wall time of the whole process, interpreter start-up included."""
    peak_rss: int
    """Peak resident memory of the process, in bytes."""
    exit_code: int
    status: str
    counts: tuple[int, int, int]
    """Successful (added, changed, removed) rows."""
    failed: int
    """Rejected rows of the run."""
    run_s: float | None
    """The run's own duration from its record (started to finished), when known."""
    error: str | None
    cpu_s: float = 0.0
    """CPU time of the process, user plus system, all its threads: what other work on a
    busy machine inflates least."""

    @property
    def seconds(self) -> float:
        """The run's own duration when recorded, else the process's wall time."""
        return self.run_s if self.run_s is not None else self.wall_s

    @property
    def ok(self) -> bool:
        """The run finished with status success."""
        return self.exit_code == 0 and self.status == "success"


class BenchSync:
    """One Syncline home with the benchmark's project applied, ready to run the sync."""

    def __init__(
        self,
        home: Path,
        dsn: str,
        source_schema: str,
        target_schema: str,
        *,
        planner_memory_limit: str | None = None,
    ) -> None:
        self.home = home
        self.source_schema = source_schema
        self.target_schema = target_schema
        self.connection = _connection(dsn)
        self.syncline = Path(sys.executable).parent / "syncline"
        self.last_run_id: int | None = None

        self.env = {**os.environ, "SYNCLINE_HOME": str(home), "SYNCLINE_LOG_LEVEL": "WARNING"}
        self.env.pop("SYNCLINE_DATABASE_URL", None)
        if planner_memory_limit:
            self.env["SYNCLINE_PLANNER_MEMORY_LIMIT"] = planner_memory_limit
        password = conninfo_to_dict(dsn).get("password")
        if password:
            # The project names the variable; the password itself stays out of the files.
            self.env[PASSWORD_VARIABLE] = str(password)

    def prepare(self) -> None:
        """Write the YAML project into the home folder and apply it to the catalog."""
        project = self.home / "project"
        project.mkdir(parents=True)
        password = (
            f"\n      password: ${{{PASSWORD_VARIABLE}}}" if PASSWORD_VARIABLE in self.env else ""
        )
        (project / "bench.yml").write_text(
            PROJECT.format(
                **self.connection,
                password=password,
                source_schema=self.source_schema,
                target_schema=self.target_schema,
                sync=SYNC_SLUG,
            ),
            encoding="utf-8",
        )
        subprocess.run(
            [str(self.syncline), "apply", "--project", str(project)],
            env=self.env,
            check=True,
            stdout=subprocess.DEVNULL,
        )

    def source_read(self) -> float:
        """Seconds Syncline's own PostgreSQL source takes to stream the model as Arrow."""
        from syncline.connectors import registry

        configuration: dict[str, Any] = dict(self.connection)
        if PASSWORD_VARIABLE in self.env:
            configuration["password"] = self.env[PASSWORD_VARIABLE]
        source = registry.source_class("postgres").from_config(configuration)

        started = time.perf_counter()
        try:
            for _ in source.read(MODEL_SQL.format(schema=self.source_schema)):
                pass
        finally:
            source.close()
        return time.perf_counter() - started

    def run(self, profile: Path | None = None) -> RunMeasure:
        """Run the sync once in a child process and read back its run record.

        With ``profile`` the child runs under cProfile and writes its statistics there;
        that slows it down, so such timings are for finding hot spots, not for ratios.
        """
        command = [str(self.syncline), "run", SYNC_SLUG]
        if profile is not None:
            command = [sys.executable, "-m", "cProfile", "-o", str(profile), *command]

        started = time.perf_counter()
        child = subprocess.Popen(command, env=self.env, stdout=subprocess.DEVNULL)
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - started
        child.returncode = os.waitstatus_to_exitcode(status)

        # ru_maxrss is in kilobytes on Linux.
        measure = self._measure(wall, usage.ru_maxrss * 1024, child.returncode)
        return dataclasses.replace(measure, cpu_s=usage.ru_utime + usage.ru_stime)

    def _measure(self, wall: float, peak_rss: int, exit_code: int) -> RunMeasure:
        record = self._latest_run()
        if record is None:
            return RunMeasure(
                wall_s=wall,
                peak_rss=peak_rss,
                exit_code=exit_code,
                status="not recorded",
                counts=(0, 0, 0),
                failed=0,
                run_s=None,
                error="syncline run recorded no run; its error is printed above",
            )

        successful = record["successfulRows"]
        failed = record["failedRows"]
        return RunMeasure(
            wall_s=wall,
            peak_rss=peak_rss,
            exit_code=exit_code,
            status=str(record["status"]),
            counts=(
                successful["addedCount"],
                successful["changedCount"],
                successful["removedCount"],
            ),
            failed=failed["addedCount"] + failed["changedCount"] + failed["removedCount"],
            run_s=_duration(record),
            error=record.get("error"),
        )

    def _latest_run(self) -> dict[str, Any] | None:
        """The run the last ``syncline run`` made, in API shape; None when it made none."""
        from syncline.catalog import Catalog
        from syncline.settings import Settings

        catalog = Catalog.open(Settings(home=self.home))
        try:
            with catalog.session(read_only=True) as session:
                runs = session.runs.list_runs(SYNC_SLUG, newest_first=True, limit=1)
                if not runs or runs[0].id == self.last_run_id:
                    return None
                record: dict[str, Any] = session.to_api(runs[0])
                self.last_run_id = runs[0].id
                return record
        finally:
            catalog.close()


def _duration(record: dict[str, Any]) -> float | None:
    started, finished = record.get("startedAt"), record.get("finishedAt")
    if not started or not finished:
        return None
    elapsed = datetime.fromisoformat(finished) - datetime.fromisoformat(started)
    return elapsed.total_seconds()


def _connection(dsn: str) -> dict[str, Any]:
    """Host, port, user and database of ``dsn``, as both PostgreSQL connectors name them."""
    params = conninfo_to_dict(dsn)
    return {
        "host": params.get("host", "127.0.0.1"),
        "port": int(str(params.get("port") or 5432)),
        "user": params.get("user", "postgres"),
        "database": params["dbname"],
    }
