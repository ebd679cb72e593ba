"""What the command line says: one line per error, readable problems, notes on runs."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from cli_harness import Invoke

from syncline.catalog import Catalog, engine
from syncline.cli.exitcodes import ExitCode
from syncline.settings import load_settings


def init_and_apply(syncline: Invoke) -> None:
    assert syncline("init", "proj", "--workspace", "default").code == ExitCode.OK
    applied = syncline("apply", "--project", "proj")
    assert applied.code == ExitCode.OK, applied.err


def test_a_run_that_cannot_start_prints_one_error_line(syncline: Invoke) -> None:
    init_and_apply(syncline)
    catalog = Catalog.open(load_settings())
    with catalog.session() as session:
        # A stored configuration the destination refuses: the run cannot start.
        session.destinations.update("crm", configuration={"path": "x.sqlite", "colour": "red"})
    catalog.close()

    result = syncline("run", "customers-to-crm")

    assert result.code == ExitCode.RUN_FAILED
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, result.err
    assert lines[0].startswith("error: run ")
    assert "colour" in lines[0]


def test_logs_of_a_run_that_cannot_start_stay_available_at_info(
    syncline: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    init_and_apply(syncline)
    catalog = Catalog.open(load_settings())
    with catalog.session() as session:
        session.destinations.update("crm", configuration={"path": "x.sqlite", "colour": "red"})
    catalog.close()
    monkeypatch.setenv("SYNCLINE_LOG_LEVEL", "INFO")

    result = syncline("run", "customers-to-crm")

    assert "WARNING syncline.worker.execute: run 1 of sync 1 ended failed [" in result.err
    assert "colour" in result.err


def test_problems_read_message_then_fix(syncline: Invoke, workdir: Path) -> None:
    project = workdir / "proj"
    project.mkdir()
    (project / "sources.yml").write_text(
        "sources:\n"
        "  - slug: 7\n    type: duckdb\n    configuration: {path: a.duckdb}\n"
        "  - slug: wh\n    type: duckdb\n    configuration: {path: '${NO_SUCH_VARIABLE}'}\n"
    )

    result = syncline("validate", "--project", "proj")

    assert result.code == ExitCode.USER_ERROR
    assert "2 problems found:" in result.err
    assert "the slug must be text, not int (7). Fix: put it in quotes" in result.err
    assert "'NO_SUCH_VARIABLE' is not set. Fix: set NO_SUCH_VARIABLE" in result.err
    assert "invalid slug" not in result.err


def test_pydantic_value_error_prefix_is_not_shown(syncline: Invoke, workdir: Path) -> None:
    assert syncline("init", "proj", "--workspace", "default").code == ExitCode.OK
    syncs = workdir / "proj" / "syncs.yml"
    twice = "- {type: standard, from: plan, to: plan}\n        - {from: email, to: plan}"
    syncs.write_text(syncs.read_text().replace("- {type: standard, from: plan, to: plan}", twice))

    result = syncline("validate", "--project", "proj")

    assert result.code == ExitCode.USER_ERROR
    assert "two mappings write the field 'plan'" in result.err
    assert "Value error" not in result.err


def test_validate_counts_in_singular_and_plural(syncline: Invoke, workdir: Path) -> None:
    assert syncline("init", "proj", "--workspace", "default").code == ExitCode.OK

    result = syncline("validate", "--project", "proj")

    assert "1 source, 1 model, 2 destinations, 2 syncs" in result.out


def test_full_resync_and_reset_cdc_together_are_refused(syncline: Invoke) -> None:
    init_and_apply(syncline)

    result = syncline("run", "customers-to-crm", "--full-resync", "--reset-cdc")

    assert result.code == ExitCode.USER_ERROR
    assert "--full-resync and --reset-cdc conflict" in result.err
    assert "has not run yet" in syncline("runs", "customers-to-crm").out


def test_dry_runs_are_marked_in_the_run_history(syncline: Invoke) -> None:
    init_and_apply(syncline)

    assert syncline("run", "customers-to-csv", "--dry-run").code == ExitCode.OK
    assert syncline("run", "customers-to-csv").code == ExitCode.OK
    history = syncline("runs", "customers-to-csv")

    rows = [line for line in history.out.splitlines() if "success" in line]
    assert len(rows) == 2
    newest, oldest = rows
    assert "dry run" not in newest
    assert "dry run" in oldest


def test_rows_skipped_for_a_null_primary_key_are_shown(syncline: Invoke, workdir: Path) -> None:
    assert syncline("init", "proj", "--workspace", "default").code == ExitCode.OK
    models = workdir / "proj" / "models.yml"
    models.write_text(
        models.read_text().replace(
            "SELECT id AS customer_id",
            "SELECT CASE WHEN id <= 3 THEN NULL ELSE id END AS customer_id",
        )
    )
    assert syncline("apply", "--project", "proj").code == ExitCode.OK

    ran = syncline("run", "customers-to-csv")
    history = syncline("runs", "customers-to-csv")

    assert ran.code == ExitCode.OK, ran.err
    assert "3 rows skipped: NULL primary key" in ran.out
    assert "3 rows skipped: NULL primary key" in history.out


def test_validate_prints_warnings_and_still_passes(syncline: Invoke, workdir: Path) -> None:
    assert syncline("init", "proj", "--workspace", "default").code == ExitCode.OK
    syncs = workdir / "proj" / "syncs.yml"
    syncs.write_text(syncs.read_text().replace("object: contacts", "object: customers.csv", 1))
    syncs.write_text(syncs.read_text().replace("destination: crm", "destination: exports"))

    result = syncline("validate", "--project", "proj")

    assert result.code == ExitCode.OK, result.err
    assert result.err.startswith("warning: syncs.yml:")
    assert "all write 'customers.csv' of the destination 'exports'" in result.err


def test_validate_reports_a_broken_template(syncline: Invoke, workdir: Path) -> None:
    assert syncline("init", "proj", "--workspace", "default").code == ExitCode.OK
    syncs = workdir / "proj" / "syncs.yml"
    syncs.write_text(syncs.read_text().replace('"{{ plan | upper }} customer"', '"{{ a "'))

    result = syncline("validate", "--project", "proj")

    assert result.code == ExitCode.USER_ERROR
    assert "syncs.yml:14 (syncs[0].configuration.mappings[4].template)" in result.err


def test_a_decimal_error_in_a_template_is_listed_in_words(syncline: Invoke, workdir: Path) -> None:
    assert syncline("init", "proj", "--workspace", "default").code == ExitCode.OK
    syncs = workdir / "proj" / "syncs.yml"
    template = '"{{ plan | upper }} customer"'
    syncs.write_text(syncs.read_text().replace(template, '"{{ lifetime_value / 0 }}"'))
    assert syncline("apply", "--project", "proj").code == ExitCode.OK
    assert syncline("run", "customers-to-crm").code == ExitCode.ROWS_REJECTED

    listed = syncline("rows", "customers-to-crm")

    assert "template of field 'segment' failed: division by zero" in listed.out
    assert "<class" not in listed.out


@pytest.mark.mariadb
def test_source_test_shows_the_type_as_written(syncline: Invoke, workdir: Path) -> None:
    project = workdir / "proj"
    project.mkdir()
    (project / "sources.yml").write_text(
        "sources:\n  - slug: shop\n    type: mariadb\n"
        "    configuration: {host: 127.0.0.1, port: 3306, user: root, database: test}\n"
    )
    assert syncline("apply", "--project", "proj").code == ExitCode.OK

    tested = syncline("sources", "test", "shop")

    assert tested.code == ExitCode.OK, tested.err
    assert "Source 'shop' (mariadb): connection OK." in tested.out


def test_a_catalog_locked_by_another_process_is_named_with_its_usual_cause(
    syncline: Invoke, workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    init_and_apply(syncline)
    monkeypatch.setattr(engine, "SQLITE_BUSY_TIMEOUT_MS", 200)
    holder = sqlite3.connect(workdir / "home" / "syncline.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # as a process paused inside a write transaction
    try:
        result = syncline("run", "customers-to-crm")
    finally:
        holder.execute("ROLLBACK")
        holder.close()

    assert result.code == ExitCode.RUN_FAILED
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, result.err
    assert "database is locked" in lines[0]
    assert "paused or hung syncline process" in lines[0]
    assert "kill -CONT" in lines[0]
    assert "SYNCLINE_HOME is writable" not in lines[0]


def test_apply_on_a_locked_catalog_exits_with_the_code_the_readme_gives_it(
    syncline: Invoke, workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    init_and_apply(syncline)
    monkeypatch.setattr(engine, "SQLITE_BUSY_TIMEOUT_MS", 200)
    holder = sqlite3.connect(workdir / "home" / "syncline.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        result = syncline("apply", "--project", "proj")
    finally:
        holder.execute("ROLLBACK")
        holder.close()

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    codes = " ".join(readme.split("Exit codes: ", 1)[1].split("\n\n", 1)[0].split())
    assert result.code == ExitCode.RUN_FAILED
    assert "`1` the run failed" in codes
    assert "catalog database could not be used" in codes, codes
    assert len(result.err.strip().splitlines()) == 1, result.err


def test_a_full_resync_names_the_records_it_leaves_in_the_destination(
    syncline: Invoke, workdir: Path
) -> None:
    init_and_apply(syncline)
    assert syncline("run", "customers-to-csv").code == ExitCode.OK
    models = workdir / "proj" / "models.yml"
    models.write_text(models.read_text().replace("WHERE is_active", "WHERE is_active AND id > 3"))
    assert syncline("apply", "--project", "proj").code == ExitCode.OK

    planned = syncline("run", "customers-to-csv", "--full-resync", "--dry-run")
    resynced = syncline("run", "customers-to-csv", "--full-resync")
    history = syncline("runs", "customers-to-csv")

    for shown in (planned, resynced):
        assert shown.code == ExitCode.OK, shown.err
        assert "3 records left in the destination" in shown.out
        assert "clearAndFill" in shown.out
        assert "--clear-and-fill" in shown.out
    assert "3 records left in the destination" in history.out


def test_clear_and_fill_empties_the_table_and_sends_every_row(
    syncline: Invoke, workdir: Path
) -> None:
    init_and_apply(syncline)
    assert syncline("run", "customers-to-crm").code == ExitCode.OK
    with sqlite3.connect(workdir / "proj" / "output" / "crm.sqlite") as db:
        sent = db.execute("SELECT count(*) FROM contacts").fetchone()[0]
        db.execute("INSERT INTO contacts (id, email) VALUES (-1, 'stray@example.com')")

    result = syncline("run", "customers-to-crm", "--clear-and-fill")

    assert result.code == ExitCode.OK, result.err
    with sqlite3.connect(workdir / "proj" / "output" / "crm.sqlite") as db:
        assert db.execute("SELECT count(*) FROM contacts").fetchone()[0] == sent
    assert "clear and fill" in syncline("runs", "customers-to-crm").out


def test_clear_and_fill_is_refused_with_reset_cdc(syncline: Invoke) -> None:
    init_and_apply(syncline)

    reset = syncline("run", "customers-to-crm", "--clear-and-fill", "--reset-cdc")

    assert reset.code == ExitCode.USER_ERROR
    assert "--clear-and-fill and --reset-cdc conflict" in reset.err
    assert "has not run yet" in syncline("runs", "customers-to-crm").out


def test_clear_and_fill_empties_a_maintained_file_of_records_the_model_lacks(
    syncline: Invoke, workdir: Path
) -> None:
    init_and_apply(syncline)
    assert syncline("run", "customers-to-csv").code == ExitCode.OK
    exported = workdir / "proj" / "output" / "customers.csv"
    sent = exported.read_text()
    with exported.open("a") as stray:
        stray.write('"-1","stray@example.com","pro",\n')

    result = syncline("run", "customers-to-csv", "--clear-and-fill")

    assert result.code == ExitCode.OK, result.err
    assert exported.read_text() == sent
