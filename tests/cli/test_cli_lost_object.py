"""The command line on the sample project: a dropped table and a deleted file come back whole."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

from cli_harness import Invoke

from syncline.catalog import Catalog, RunRecord
from syncline.cli.exitcodes import ExitCode
from syncline.settings import load_settings

ACTIVE_CUSTOMERS = 429
"""Active customers in the sample warehouse (500, every seventh inactive)."""


def _run_id(out: str) -> int:
    return int(out.split("Run ")[1].split(":")[0])


def _recorded_as_full_resync(run_id: int) -> bool:
    catalog = Catalog.open(load_settings())
    try:
        with catalog.session(read_only=True) as session:
            return bool(session.orm.get_one(RunRecord, run_id).full_resync)
    finally:
        catalog.close()


def test_a_dropped_table_is_filled_again_and_the_run_says_so(
    syncline: Invoke, workdir: Path
) -> None:
    assert syncline("init", "proj", "--workspace", "default").code == ExitCode.OK
    assert syncline("apply", "--project", "proj").code == ExitCode.OK
    first = syncline("run", "customers-to-crm")
    assert first.code == ExitCode.OK, first.err
    assert not _recorded_as_full_resync(_run_id(first.out))
    crm = workdir / "proj" / "output" / "crm.sqlite"
    with closing(sqlite3.connect(crm)) as db:
        db.execute("DROP TABLE contacts")

    again = syncline("run", "customers-to-crm")

    assert again.code == ExitCode.OK, again.err
    planned = next(line for line in again.out.splitlines() if "planned" in line)
    assert planned.split("│")[2].strip() == str(ACTIVE_CUSTOMERS)
    warning = [line for line in again.err.splitlines() if "WARNING" in line]
    assert len(warning) == 1
    assert "'contacts' is gone" in warning[0]
    assert "every model row" in warning[0]
    with closing(sqlite3.connect(crm)) as db:
        assert db.execute("SELECT count(*) FROM contacts").fetchone() == (ACTIVE_CUSTOMERS,)
    assert _recorded_as_full_resync(_run_id(again.out))
    history = syncline("runs", "customers-to-crm").out.splitlines()
    noted = {
        int(line.split("│")[1]): "full resync" in line for line in history if line.startswith("│")
    }
    assert noted == {_run_id(first.out): False, _run_id(again.out): True}


def test_a_deleted_csv_file_is_written_again_whole(syncline: Invoke, workdir: Path) -> None:
    assert syncline("init", "proj", "--workspace", "default").code == ExitCode.OK
    assert syncline("apply", "--project", "proj").code == ExitCode.OK
    assert syncline("run", "customers-to-csv").code == ExitCode.OK
    exported = workdir / "proj" / "output" / "customers.csv"
    exported.unlink()

    again = syncline("run", "customers-to-csv")

    assert again.code == ExitCode.OK, again.err
    assert "'customers.csv' is gone" in again.err
    lines = exported.read_text().splitlines()
    assert len(lines) == ACTIVE_CUSTOMERS + 1  # the header, then every customer
