"""A sync pointed at a new target starts afresh, so the new target receives every row."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from cli_harness import Invoke

from syncline.cli.exitcodes import ExitCode

ACTIVE_CUSTOMERS = 429
"""Active customers in the sample warehouse (500, every seventh inactive)."""


def test_changing_a_syncs_object_sends_every_row_to_the_new_object(
    syncline: Invoke, workdir: Path
) -> None:
    assert syncline("init", "proj", "--workspace", "default").code == ExitCode.OK
    assert syncline("apply", "--project", "proj").code == ExitCode.OK
    assert syncline("run", "customers-to-crm").code == ExitCode.OK

    syncs = workdir / "proj" / "syncs.yml"
    syncs.write_text(syncs.read_text().replace("object: contacts", "object: people", 1))
    applied = syncline("apply", "--project", "proj")
    assert applied.code == ExitCode.OK, applied.err
    ran = syncline("run", "customers-to-crm")

    assert ran.code == ExitCode.OK, ran.err
    with sqlite3.connect(workdir / "proj" / "output" / "crm.sqlite") as db:
        assert db.execute("SELECT count(*) FROM people").fetchone() == (ACTIVE_CUSTOMERS,)
        assert db.execute("SELECT count(*) FROM contacts").fetchone() == (ACTIVE_CUSTOMERS,)
