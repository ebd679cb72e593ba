"""dlt (``dlt`` on PyPI), in a virtual environment of its own, as a short pipeline script.

Configuration, following dlt's documentation for this job:

- source: ``sql_table`` with the ``pyarrow`` backend (rows stay in Arrow tables);
- destination: ``postgres``, loading CSV files with COPY (``loader_file_format="csv"``);
- upsert: ``write_disposition="merge"`` with ``primary_key="o_orderkey"``. TPC-H ``orders``
  has no column that tells what changed since the last run, so dlt's incremental cursor has
  nothing to follow: every run reads and merges the whole model;
- mirror: a merge cannot see a row that left the model (dlt deletes only rows that arrive
  flagged by a ``hard_delete`` column, and a model query returns no deleted rows), so the
  closest honest equivalent is ``write_disposition="replace"``: every run reloads the table.

Telemetry, on by default in dlt, is switched off through ``RUNTIME__DLTHUB_TELEMETRY``; the
pipeline's working folders live in a temporary folder.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from urllib.parse import quote

from tools.child import ChildRun, run_child
from tools.job import Server, destination_schema
from tools.venv import ensure_venv

logger = logging.getLogger(__name__)

REQUIREMENTS = ("dlt[postgres,sql-database]==1.31.0", "pyarrow")
JOB_SCRIPT = Path(__file__).resolve().parent / "dlt_job.py"


class DltTool:
    """dlt: merge on the key for upsert, replace for mirror."""

    key = "dlt"
    label = "dlt 1.31.0"
    setup = (
        "sql_table backend pyarrow, CSV loads; upsert: merge with primary_key; "
        "mirror: replace (merge never deletes rows that left the model)"
    )

    def __init__(self, server: Server) -> None:
        self.server = server
        self.python = Path()
        self.workdir = Path()
        self.env: dict[str, str] = {}

    def prepare(self, workdir: Path) -> str | None:
        """Install dlt if needed and set up the pipeline's folders and environment."""
        self.python = ensure_venv("dlt", REQUIREMENTS)
        self.workdir = workdir / "dlt"
        (self.workdir / "pipelines").mkdir(parents=True)
        url = _url(self.server)
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.workdir),
            "RUNTIME__DLTHUB_TELEMETRY": "false",
            "DO_NOT_TRACK": "1",
            # SQLAlchemy 2.1 reads postgresql:// with psycopg 3; dlt ships psycopg2.
            "BENCH_SOURCE_URL": url.replace("postgresql://", "postgresql+psycopg2://", 1),
            "BENCH_DESTINATION_URL": url,
            **self.server.env(),
        }
        return None

    def run(self, mode: str) -> ChildRun:
        """One pipeline run in ``mode``, into the dataset (schema) ``dlt_<mode>``."""
        return run_child(
            [
                # -I: isolated, so this folder (whose dlt.py is not dlt) is not on sys.path.
                str(self.python),
                "-I",
                str(JOB_SCRIPT),
                mode,
                destination_schema(self.key, mode),
                str(self.workdir / "pipelines"),
            ],
            env=self.env,
            cwd=self.workdir,
            log=self.workdir / f"run-{mode}.log",
        )


def _url(server: Server) -> str:
    """A postgresql:// URL without the password, which travels in the environment."""
    user, database = quote(server.user, safe=""), quote(server.database, safe="")
    return f"postgresql://{user}@{server.host}:{server.port}/{database}"
