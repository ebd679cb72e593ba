"""The snapshot file: an incompatible fingerprint scheme, and a file another run holds."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb
from engine_doubles import Harness, people

from syncline.engine.planner.store import snapshot_path
from syncline.engine.report import RunStatus

ROWS = [(1, "ann", 1.0), (2, "bob", 2.0)]


def test_incompatible_snapshot_needs_reset_cdc(tmp_path: Path) -> None:
    sync = Harness(tmp_path, people(ROWS), {"mode": "mirror", "object": "p"})
    sync.run()
    connection = duckdb.connect(str(snapshot_path(tmp_path, 7)))
    connection.execute("UPDATE meta SET value = 'old-scheme' WHERE name = 'fingerprint'")
    connection.close()

    refused = sync.run()
    assert refused.status is RunStatus.FAILED
    assert refused.error is not None
    assert "'old-scheme'" in refused.error
    assert "resetCDC" in refused.error

    assert sync.run(reset_cdc=True).status is RunStatus.SUCCESS
    assert sync.run().progress.planned.total == 0


def test_snapshot_held_by_another_process_fails_the_run(tmp_path: Path) -> None:
    sync = Harness(tmp_path, people(ROWS), {"mode": "mirror", "object": "p"})
    sync.run()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time\n"
            "c = duckdb.connect(sys.argv[1])\n"
            "print('held', flush=True)\n"
            "time.sleep(60)\n",
            str(snapshot_path(tmp_path, 7)),
        ],
        stdout=subprocess.PIPE,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == b"held"
        result = sync.run()
    finally:
        holder.kill()
        holder.wait(timeout=30)
        if holder.stdout is not None:
            holder.stdout.close()
    assert result.status is RunStatus.FAILED
    assert result.error is not None
    assert "another run of this sync may hold it" in result.error
    assert sync.run().status is RunStatus.SUCCESS


def test_planner_limits(tmp_path: Path) -> None:
    sync = Harness(tmp_path, people(ROWS), {"mode": "mirror", "object": "p"})
    refused = sync.run(memory_limit="lots")
    assert refused.status is RunStatus.FAILED
    assert refused.error is not None
    assert "'lots'" in refused.error
    limited = sync.run(memory_limit="256MB", threads=1)
    assert limited.status is RunStatus.SUCCESS
    assert limited.progress.successful.added == 2
