"""Run one tool as a child process and measure what that process alone cost.

Wall time, peak resident memory and CPU time come from ``wait4``, so they belong to the run
and not to the benchmark around it.
"""

from __future__ import annotations

import logging
import os
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger(__name__)

LOG_TAIL_CHARS = 1500


@dataclass(frozen=True)
class ChildRun:
    """What one run of a tool took, measured from outside the tool."""

    wall_s: float
    """Wall time of the whole process, interpreter start-up included."""
    peak_rss: int
    """Peak resident memory in bytes; 0 when not measured (the floor)."""
    cpu_s: float
    """User plus system CPU time of the process, all its threads."""
    exit_code: int
    source_bytes: int | None = None
    """Bytes the source sent to the tool, when counted (see ``tools/proxy.py``)."""
    log_tail: str = ""
    """The end of the process's output, kept to explain a failure."""
    run_s: float | None = None
    """The run's own duration as the tool recorded it, when it records one."""

    @property
    def ok(self) -> bool:
        """The process exited with code 0."""
        return self.exit_code == 0


def run_child(command: Sequence[str], *, env: Mapping[str, str], cwd: Path, log: Path) -> ChildRun:
    """Run ``command`` to its end with its output in ``log``; measure it."""
    started = time.perf_counter()
    with log.open("ab") as output:
        child = subprocess.Popen(
            list(command), env=dict(env), cwd=cwd, stdout=output, stderr=subprocess.STDOUT
        )
        _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)

    return ChildRun(
        wall_s=wall,
        # ru_maxrss is in kilobytes on Linux.
        peak_rss=usage.ru_maxrss * 1024,
        cpu_s=usage.ru_utime + usage.ru_stime,
        exit_code=child.returncode,
        log_tail=_tail(log) if child.returncode != 0 else "",
    )


def _tail(log: Path) -> str:
    text = log.read_text(encoding="utf-8", errors="replace")
    return text[-LOG_TAIL_CHARS:].strip()
