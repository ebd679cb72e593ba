"""A sync run in a child process that is killed mid-delivery, for the resume tests.

The child runs the 20-row people sync (mirror, object ``p``, batches as the harness
makes them) with a destination that logs every acknowledged batch's keys and kills the
process (``os._exit``: no cleanup, no ``finally``) at its third write once armed.
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
        if self.armed and self.calls == 2:
            os._exit(3)  # killed mid-run: no cleanup, no finally
        result = super().write_batch(batch)
        log.write("\\n".join(batch.keys) + "\\n")
        log.flush()
        return result

rows = [(i, f"n{{i}}", float(i)) for i in range(1, 21)]
sync = Harness(Path(sys.argv[2]), people(rows), {{"mode": "mirror", "object": "p"}},
               "id", Crashing())
{steps}
"""


def killed_run(tmp_path: Path, steps: str, destination: str = "MemoryDestination") -> list[str]:
    """Run ``steps`` (statements on ``sync``; the one to kill is run after
    ``sync.destination.armed = True``) in a child process with snapshots in
    ``tmp_path / "snapshots"``; return the keys acknowledged before the kill, in order."""
    log = tmp_path / "acked.txt"
    script = tmp_path / "crash.py"
    script.write_text(_SCRIPT.format(destination=destination, steps=textwrap.dedent(steps)))
    here = str(Path(__file__).parent)
    process = subprocess.run(
        [sys.executable, str(script), here, str(tmp_path / "snapshots"), str(log)],
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert process.returncode == 3, process.stderr.decode()
    return log.read_text().split()
