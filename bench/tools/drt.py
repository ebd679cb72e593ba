"""drt (``drt-core`` on PyPI), in a virtual environment of its own, as its CLI is used.

drt has no change detection of its own by default: every run upserts every model row. Its
``incremental_strategy: diff`` is the setting its documentation gives for a model without an
``updated_at`` column: each run snapshots the model into a table of drt's in the source
warehouse and diffs it against the previous snapshot in SQL there, so only added and changed
rows travel to the destination; ``mirror.strategy: diff`` deletes the keys that diff found
removed. That is the configuration used, in both modes. drt does not create destination
tables, so the benchmark creates them, keyed like the model.

The project (``drt_project.yml``, ``syncs/*.yml``) and the profile (``~/.drt/profiles.yml``,
under a ``HOME`` of the benchmark's own) go into a temporary folder. Telemetry is off by
default in drt; ``DO_NOT_TRACK=1`` keeps it off.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import psycopg

from tools.child import ChildRun, run_child
from tools.job import KEY_COLUMN, MODES, PASSWORD_VARIABLE, Server, destination_schema
from tools.venv import ensure_venv
from tpch_data import create_orders_table

logger = logging.getLogger(__name__)

REQUIREMENTS = ("drt-core[postgres]==1.2.1",)
STATE_SCHEMA = "drt_state"
# drt upserts in batches of this many rows; its default, 100, is sized for API destinations.
# A database destination takes larger batches, which only makes drt faster.
BATCH_SIZE = 10_000

PROFILE = """\
bench:
  type: postgres
  host: "{host}"
  port: {port}
  dbname: "{database}"
  user: "{user}"{password}
  managed_schema: {state_schema}
"""

PROJECT = """\
name: syncline_compare
version: "0.1"
profile: bench
"""

SYNC = """\
name: orders_{mode}
model: select * from {source_schema}.orders
destination:
  type: postgres
  host: "{host}"
  port: {port}
  dbname: "{database}"
  user: "{user}"{password}
  table: {schema}.orders
  upsert_key: [{key}]
sync:
  mode: {mode}
  incremental_strategy: diff
  batch_size: {batch_size}{mirror}
"""


class DrtTool:
    """drt with ``incremental_strategy: diff``, one sync per mode."""

    key = "drt"
    label = "drt (drt-core 1.2.1)"
    setup = (
        f"incremental_strategy: diff (snapshot diff in the source), batch_size {BATCH_SIZE:,}; "
        "mirror with mirror.strategy: diff"
    )

    def __init__(self, server: Server, source_schema: str) -> None:
        self.server = server
        self.source_schema = source_schema
        self.project = Path()
        self.env: dict[str, str] = {}
        self.drt = Path()

    def prepare(self, workdir: Path) -> str | None:
        """Install drt if needed, write its project and profile, create its tables."""
        python = ensure_venv("drt", REQUIREMENTS)
        self.drt = python.parent / "drt"
        home = workdir / "drt-home"
        self.project = workdir / "drt-project"
        (home / ".drt").mkdir(parents=True)
        (self.project / "syncs").mkdir(parents=True)

        server = self.server
        names = {
            "host": server.host,
            "port": server.port,
            "database": server.database,
            "user": server.user,
            "password": f"\n  password_env: {PASSWORD_VARIABLE}" if server.password else "",
        }
        (home / ".drt" / "profiles.yml").write_text(
            PROFILE.format(**names, state_schema=STATE_SCHEMA), encoding="utf-8"
        )
        (self.project / "drt_project.yml").write_text(PROJECT, encoding="utf-8")
        with psycopg.connect(server.dsn()) as conn:
            for mode in MODES:
                schema = destination_schema(self.key, mode)
                create_orders_table(conn, schema)
                mirror = "\n  mirror:\n    strategy: diff" if mode == "mirror" else ""
                (self.project / "syncs" / f"orders_{mode}.yml").write_text(
                    SYNC.format(
                        **names,
                        mode=mode,
                        source_schema=self.source_schema,
                        schema=schema,
                        key=KEY_COLUMN,
                        batch_size=BATCH_SIZE,
                        mirror=mirror,
                    ),
                    encoding="utf-8",
                )
            conn.commit()

        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(home),
            "DO_NOT_TRACK": "1",
            **server.env(),
        }
        return None

    def run(self, mode: str) -> ChildRun:
        """``drt run --select orders_<mode>`` in the project folder."""
        return run_child(
            [str(self.drt), "run", "--select", f"orders_{mode}"],
            env=self.env,
            cwd=self.project,
            log=self.project / f"run-{mode}.log",
        )
