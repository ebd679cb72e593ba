"""`syncline run` stopped by Ctrl-C or SIGTERM: the run ends interrupted, resumable.

The model is a DuckDB query slow enough to be mid-query when the signal comes, where
DuckDB answers the signal with an error of its own.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from syncline.catalog import Catalog
from syncline.settings import Settings

SYNCLINE = Path(sys.executable).parent / "syncline"

PROJECT = """\
sources:
  - slug: wh
    type: duckdb
    configuration: {path: wh.duckdb@PLANNER@}
models:
  - slug: slow
    source: wh
    primaryKey: id
    raw:
      sql: >-
        select x as id, count(*) over () as n from range(40000000000) t(x)
        where hash(x) % 1000000 = 0
destinations:
  - slug: out
    type: csv
    configuration: {directory: out}
syncs:
  - slug: slow-out
    model: slow
    destination: out
    configuration: {mode: upsert, object: slow.csv}
"""


# Early, the signal finds DuckDB planning the query; later, running it before its first
# row (the window needs every row), where DuckDB does not stop for a signal by itself.
WAREHOUSE = ", read_only: false, planner: warehouse"
"""The source's settings that plan in the DuckDB file, where the model runs in a statement."""


@pytest.mark.parametrize(
    ("after", "planner"),
    [(0.5, ""), (2.0, ""), (2.0, WAREHOUSE)],
    ids=["early", "later", "later-in-the-warehouse"],
)
@pytest.mark.parametrize(
    ("sent", "code", "how"),
    [(signal.SIGINT, 130, "the user (Ctrl-C)"), (signal.SIGTERM, 143, "SIGTERM")],
    ids=["ctrl-c", "sigterm"],
)
def test_a_signal_during_a_query_leaves_the_run_interrupted(
    tmp_path: Path, sent: signal.Signals, code: int, how: str, after: float, planner: str
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "syncline.yml").write_text(PROJECT.replace("@PLANNER@", planner), encoding="utf-8")
    duckdb.connect(str(project / "wh.duckdb")).close()
    home = tmp_path / "home"
    env = {**os.environ, "SYNCLINE_HOME": str(home), "SYNCLINE_LOG_LEVEL": "WARNING"}
    env.pop("SYNCLINE_DATABASE_URL", None)
    applied = subprocess.run(
        [str(SYNCLINE), "apply", "--project", str(project)],
        env=env, cwd=project, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert applied.returncode == 0, applied.stderr

    process = subprocess.Popen(
        [str(SYNCLINE), "run", "slow-out", "--project", str(project)],
        env=env, cwd=project, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    catalog = Catalog.open(Settings(home=home))
    try:
        deadline = time.monotonic() + 60
        while _status(catalog) != "querying":
            assert time.monotonic() < deadline, "the run never started its query"
            assert process.poll() is None, process.communicate()
            time.sleep(0.05)
        time.sleep(after)
        process.send_signal(sent)
        _, err = process.communicate(timeout=60)

        assert process.returncode == code, err
        assert "internal error" not in err
        assert f"error: stopped by {how}" in err
        with catalog.session(read_only=True) as session:
            [run] = session.runs.list_runs("slow-out")
            assert run.status == "interrupted"
            assert run.error is not None
            assert run.error.startswith(f"stopped by {how}")
    finally:
        if process.poll() is None:
            process.kill()
        catalog.close()


def _status(catalog: Catalog) -> str | None:
    with catalog.session(read_only=True) as session:
        runs = session.runs.list_runs("slow-out")
        return str(runs[0].status) if runs else None
