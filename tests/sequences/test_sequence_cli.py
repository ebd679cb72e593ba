"""``syncline sequences run``: the sample project's two syncs, one after another, end to end."""

from __future__ import annotations

import csv
import sqlite3
from pathlib import Path

from sequence_fixtures import SEQUENCE_YAML, Invoke

from syncline.cli.exitcodes import ExitCode

ACTIVE_CUSTOMERS = 429
"""Active customers in the sample warehouse."""


def _apply(syncline: Invoke, tmp_path: Path, rule: str) -> Path:
    assert syncline("init", "proj", "--workspace", "default").code == ExitCode.OK
    (tmp_path / "proj" / "sequences.yml").write_text(SEQUENCE_YAML.format(rule=rule))
    applied = syncline("apply", "--project", "proj")
    assert applied.code == ExitCode.OK, applied.err
    return tmp_path / "proj"


def _reject_enterprise_rows(folder: Path) -> None:
    # A CHECK constraint makes the CRM table refuse some rows: the run ends in warning.
    with sqlite3.connect(folder / "output" / "crm.sqlite") as db:
        db.execute(
            "CREATE TABLE contacts (id INTEGER PRIMARY KEY, email TEXT, name TEXT,"
            " plan TEXT CHECK (plan <> 'enterprise'), lifetime_value NUMERIC, segment TEXT)"
        )


def test_run_executes_every_step_in_order(syncline: Invoke, tmp_path: Path) -> None:
    folder = _apply(syncline, tmp_path, "fatal")

    result = syncline("sequences", "run", "nightly")

    assert result.code == ExitCode.OK, result.err
    out = result.out
    crm = out.index("Step 1/2: sync 'customers-to-crm'")
    exports = out.index("Step 2/2: sync 'customers-to-csv'")
    assert crm < out.index("Status: success") < exports < out.rindex("Status: success")
    assert out.count("Status: success") == 2
    assert "Sequence 'nightly' run" in out
    assert out.rstrip().endswith(": done")
    with sqlite3.connect(folder / "output" / "crm.sqlite") as db:
        assert db.execute("SELECT count(*) FROM contacts").fetchone() == (ACTIVE_CUSTOMERS,)
    with open(folder / "output" / "customers.csv", newline="") as exported:
        assert len(list(csv.DictReader(exported))) == ACTIVE_CUSTOMERS

    listed = syncline("sequences", "list")
    assert "done" in listed.out
    runs = syncline("runs", "customers-to-crm")
    assert f"{ACTIVE_CUSTOMERS}/0/0" in runs.out


def test_rejected_rows_stop_a_fatal_or_rejected_step(syncline: Invoke, tmp_path: Path) -> None:
    folder = _apply(syncline, tmp_path, "fatal_or_rejected")
    _reject_enterprise_rows(folder)

    result = syncline("sequences", "run", "nightly")

    assert result.code == ExitCode.RUN_FAILED
    assert "Status: warning" in result.out
    assert "Step 2/2" not in result.out, "the second sync never ran"
    assert not (folder / "output" / "customers.csv").exists()
    assert result.out.rstrip().endswith(": failed")
    assert "had rejected rows" in result.err


def test_rejected_rows_do_not_stop_a_fatal_step(syncline: Invoke, tmp_path: Path) -> None:
    folder = _apply(syncline, tmp_path, "fatal")
    _reject_enterprise_rows(folder)

    result = syncline("sequences", "run", "nightly")

    assert result.code == ExitCode.ROWS_REJECTED, result.err
    assert "Status: warning" in result.out
    assert "Step 2/2: sync 'customers-to-csv'" in result.out
    assert result.out.count("Status: success") == 1
    assert (folder / "output" / "customers.csv").exists()
    assert result.out.rstrip().endswith(": done")


def test_a_failing_step_fails_the_sequence(syncline: Invoke, tmp_path: Path) -> None:
    folder = _apply(syncline, tmp_path, "fatal")
    models = folder / "models.yml"
    models.write_text(models.read_text().replace("FROM customers", "FROM no_such_table"))
    assert syncline("apply", "--project", "proj").code == ExitCode.OK

    result = syncline("sequences", "run", "nightly")

    assert result.code == ExitCode.RUN_FAILED
    assert "Status: failed" in result.out
    assert "Step 2/2" not in result.out
    assert "no_such_table" in result.err


def test_unknown_and_empty(syncline: Invoke, tmp_path: Path) -> None:
    assert "No sync sequences in workspace 'default'" in syncline("sequences", "list").out
    missing = syncline("sequences", "run", "nope")
    assert missing.code == ExitCode.USER_ERROR
    assert "sync sequence 'nope' does not exist" in missing.err
