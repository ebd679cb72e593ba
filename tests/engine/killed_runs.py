"""A sync run in a child process that is killed mid-delivery, for the resume tests.

The child runs the 20-row people sync (mirror, object ``p``, batches as the harness
makes them) with a destination that logs every acknowledged batch's keys and, once
armed, kills the process (``os._exit``: no cleanup, no ``finally``) at one of two points
of its third batch: ``"write"``, as the batch is handed over, or ``"report"``, right
after the batch's outcome is journaled in the snapshot store and before the run reports
its counts and rejected rows, the two steps no transaction spans.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

_SCRIPT = """
import os, sys
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from engine_doubles import Harness, {destination}, people

log = open(sys.argv[3], "a")

class Crashing({destination}):
    armed = False

    def write_batch(self, batch):
        if self.armed and self.calls == 2 and KILL_AT == "write":
            os._exit(3)  # killed mid-run: no cleanup, no finally
        result = super().write_batch(batch)
        log.write("\\n".join(batch.keys) + "\\n")
        log.flush()
        return result

KILL_AT = {kill_at!r}

def dies_once_journaled(record):
    def journal_then_die(store, *args, **kwargs):
        record(store, *args, **kwargs)
        if KILL_AT == "report" and sync.destination.armed and sync.destination.calls == 3:
            os._exit(3)  # the outcome is journaled, the run's record never hears of it
    return journal_then_die

from syncline.engine.planner.store import SnapshotStore
from syncline.engine.planner.warehouse.store import WarehouseStore
for store in (SnapshotStore, WarehouseStore):
    store.record = dies_once_journaled(store.record)

rows = [(i, f"n{{i}}", float(i)) for i in range(1, 21)]
sync = Harness(Path(sys.argv[2]), people(rows), {{"mode": "mirror", "object": "p"}},
               "id", Crashing())
{steps}
"""


def killed_run(
    tmp_path: Path, steps: str, destination: str = "MemoryDestination", kill_at: str = "write"
) -> list[str]:
    """Run ``steps`` (statements on ``sync``; the one to kill is run after
    ``sync.destination.armed = True``) in a child process with snapshots in
    ``tmp_path / "snapshots"``, killed at ``kill_at`` (see the module's docstring);
    return the keys the destination answered for before the kill, in order."""
    log = tmp_path / "acked.txt"
    script = tmp_path / "crash.py"
    script.write_text(
        _SCRIPT.format(destination=destination, steps=textwrap.dedent(steps), kill_at=kill_at)
    )
    here = str(Path(__file__).parent)
    process = subprocess.run(
        [sys.executable, str(script), here, str(tmp_path / "snapshots"), str(log)],
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert process.returncode == 3, process.stderr.decode()
    return log.read_text().split()
