"""Hold a sync's snapshot file from another process, as a paused or running worker does."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def held_snapshot(
    path: Path, *, release_after: float | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """Another process that opens the snapshot file, and closes it after ``release_after``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    script = (
        "import duckdb, sys, time\n"
        "c = duckdb.connect(sys.argv[1])\n"
        "print('held', flush=True)\n"
        "if sys.argv[2]:\n"
        "    time.sleep(float(sys.argv[2]))\n"
        "    c.close()\n"
        "    print('released', flush=True)\n"
        "time.sleep(120)\n"
    )
    after = "" if release_after is None else str(release_after)
    holder = subprocess.Popen(
        [sys.executable, "-c", script, str(path), after], stdout=subprocess.PIPE
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == b"held"
        yield holder
    finally:
        holder.kill()
        holder.wait(timeout=30)
        if holder.stdout is not None:
            holder.stdout.close()
