"""Helpers of the end-to-end tests: the real ``syncline`` command, its runs, its snapshot."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import psycopg

SYNCLINE = Path(sys.executable).with_name("syncline")
"""The console script installed beside this interpreter."""

TABLE_WIDTH = "400"
"""Terminal width for the command's tables, so that no cell wraps onto a second line."""


def syncline_env(home: Path) -> dict[str, str]:
    """This process's environment with its own ``SYNCLINE_HOME`` and an embedded catalog."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNCLINE_")}
    env["SYNCLINE_HOME"] = str(home)
    env["COLUMNS"] = TABLE_WIDTH
    return env


def syncline(
    env: dict[str, str], *args: str, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run ``syncline ARGS`` to its end and return what it printed."""
    return subprocess.run(
        [str(SYNCLINE), *args], env=env, capture_output=True, text=True, timeout=timeout
    )


def start_syncline(env: dict[str, str], *args: str, log: Path) -> subprocess.Popen[bytes]:
    """Start ``syncline ARGS`` in the background, its output going to ``log``."""
    with log.open("wb") as out:
        return subprocess.Popen([str(SYNCLINE), *args], env=env, stdout=out, stderr=out)


def wait_until(condition: Callable[[], bool], *, timeout: float, every: float = 0.02) -> bool:
    """Poll ``condition`` until it holds (True) or ``timeout`` seconds pass (False)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(every)
    return False


@dataclass(frozen=True)
class RunRow:
    """One line of ``syncline runs``: id, status, planned and succeeded a/c/r, error."""

    id: int
    status: str
    planned: str
    succeeded: str
    error: str


def list_runs(env: dict[str, str], sync: str) -> dict[int, RunRow]:
    """The runs of ``sync`` as ``syncline runs`` prints them, by run id.

    Cells are found by their column heading, so a new column does not shift them.
    """
    result = syncline(env, "runs", sync, timeout=30)
    assert result.returncode == 0, result.stderr
    found: dict[int, RunRow] = {}
    heading: dict[str, int] = {}
    for line in result.stdout.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("│┃").replace("┃", "│").split("│")]
        if "run" in cells and "status" in cells:
            heading = {name: i for i, name in enumerate(cells)}
            continue
        if not heading or len(cells) != len(heading) or not cells[0].isdigit():
            continue
        found[int(cells[0])] = RunRow(
            id=int(cells[0]),
            status=cells[heading["status"]],
            planned=cells[heading["planned a/c/r"]],
            succeeded=cells[heading["succeeded a/c/r"]],
            error=cells[heading["error"]],
        )
    return found


def acknowledged_keys(snapshot_file: Path) -> set[str]:
    """Keys the engine committed as delivered: its snapshot plus its journal's acknowledgements.

    Opened read-only, so the file (and the write-ahead log a killed run left) stays as the
    next run will find it.
    """
    with duckdb.connect(str(snapshot_file), read_only=True) as con:
        rows = con.execute(
            "SELECT key FROM snapshot UNION ALL SELECT key FROM journal WHERE kind = 'ack'"
        ).fetchall()
    return {str(key) for (key,) in rows}


def other_sessions(conn: psycopg.Connection[tuple[Any, ...]]) -> int:
    """How many server sessions other than ``conn`` are connected to its database."""
    row = conn.execute(
        "SELECT count(*) FROM pg_stat_activity "
        "WHERE datname = current_database() AND pid <> pg_backend_pid()"
    ).fetchone()
    assert row is not None
    return int(row[0])
