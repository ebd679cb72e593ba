"""The command line on the sample project: init, validate, apply, run, and every exit code."""

from __future__ import annotations

import json
import sqlite3
from datetime import timedelta
from pathlib import Path

import duckdb
import pytest
from cli_harness import Invoke

from syncline.catalog import Catalog, RunRecord
from syncline.catalog.types import utcnow
from syncline.cli.exitcodes import ExitCode
from syncline.settings import load_settings

ACTIVE_CUSTOMERS = 429
"""Active customers in the sample warehouse (500, every seventh inactive)."""


def init_and_apply(syncline: Invoke) -> None:
    assert syncline("init", "proj", "--workspace", "default").code == ExitCode.OK
    applied = syncline("apply", "--project", "proj")
    assert applied.code == ExitCode.OK, applied.err


def test_init_validate_apply_run_and_reapply(syncline: Invoke, workdir: Path) -> None:
    created = syncline("init", "proj", "--workspace", "default")
    assert created.code == ExitCode.OK
    assert (workdir / "proj" / "warehouse.duckdb").exists()

    validated = syncline("validate", "--project", "proj")
    assert validated.code == ExitCode.OK
    assert "1 source, 1 model, 2 destinations, 2 syncs" in validated.out

    planned = syncline("plan", "--project", "proj")
    assert "+ create sync 'customers-to-crm'" in planned.out
    assert "6 to create, 0 to change, 0 to delete" in planned.out

    applied = syncline("apply", "--project", "proj")
    assert applied.code == ExitCode.OK
    assert "Applied: 6 to create" in applied.out

    ran = syncline("run", "customers-to-crm")
    assert ran.code == ExitCode.OK, ran.err
    assert f"Rows queried: {ACTIVE_CUSTOMERS}" in ran.out
    assert "Status: success" in ran.out
    with sqlite3.connect(workdir / "proj" / "output" / "crm.sqlite") as db:
        assert db.execute("SELECT count(*) FROM contacts").fetchone() == (ACTIVE_CUSTOMERS,)

    again = syncline("apply", "--project", "proj")
    assert "No changes" in again.out

    history = syncline("runs", "customers-to-crm")
    assert history.code == ExitCode.OK
    assert f"{ACTIVE_CUSTOMERS}/0/0" in history.out

    listed = syncline("syncs", "list")
    assert "customers-to-crm" in listed.out
    assert "success" in listed.out


def test_validation_errors_exit_2_with_one_problem_a_line(syncline: Invoke, workdir: Path) -> None:
    assert syncline("init", "proj", "--workspace", "default").code == ExitCode.OK
    syncs = workdir / "proj" / "syncs.yml"
    text = (
        syncs.read_text()
        .replace("mode: mirror", "mod: mirror")
        .replace("model: active", "model: x")
    )
    syncs.write_text(text)

    result = syncline("validate", "--project", "proj")

    assert result.code == ExitCode.USER_ERROR
    lines = result.err.strip().splitlines()
    assert lines[0].startswith("error: ")
    assert any(line.strip().startswith("- syncs.yml:") and "'mod'" in line for line in lines)
    assert any("model 'x-customers' is not declared" in line for line in lines)
    assert "Traceback" not in result.err


def test_an_unknown_sync_exits_2_and_debug_shows_the_traceback(syncline: Invoke) -> None:
    init_and_apply(syncline)

    plain = syncline("run", "no-such-sync")
    assert plain.code == ExitCode.USER_ERROR
    assert plain.err.startswith("error: sync 'no-such-sync' does not exist")
    assert "Traceback" not in plain.err

    debug = syncline("--debug", "run", "no-such-sync")
    assert debug.code == ExitCode.USER_ERROR
    assert "Traceback" in debug.err


def test_a_failing_run_exits_1(syncline: Invoke, workdir: Path) -> None:
    init_and_apply(syncline)
    models = workdir / "proj" / "models.yml"
    models.write_text(models.read_text().replace("FROM customers", "FROM no_such_table"))
    assert syncline("apply", "--project", "proj").code == ExitCode.OK

    result = syncline("run", "customers-to-crm")

    assert result.code == ExitCode.RUN_FAILED
    assert "Status: failed" in result.out
    assert "no_such_table" in result.err
    assert len(result.err.strip().splitlines()) == 1


def test_a_dry_run_leaves_the_listed_status_and_last_run(syncline: Invoke, workdir: Path) -> None:
    init_and_apply(syncline)
    models = workdir / "proj" / "models.yml"
    working = models.read_text()
    models.write_text(working.replace("FROM customers", "FROM no_such_table"))
    assert syncline("apply", "--project", "proj").code == ExitCode.OK
    assert syncline("run", "customers-to-crm").code == ExitCode.RUN_FAILED
    before = _listed(syncline)["customers-to-crm"]
    models.write_text(working)
    assert syncline("apply", "--project", "proj").code == ExitCode.OK

    dry = syncline("run", "customers-to-crm", "--dry-run")

    assert dry.code == ExitCode.OK, dry.err
    after = _listed(syncline)["customers-to-crm"]
    assert after["status"] == "failed", "a dry run writes nothing, the sync's status included"
    assert after["last run (UTC)"] == before["last run (UTC)"]
    assert "dry run" in syncline("runs", "customers-to-crm").out


def _listed(syncline: Invoke) -> dict[str, dict[str, str]]:
    """The rows of ``syncline syncs list`` by slug, each as {column: value}."""
    lines = syncline("syncs", "list").out.splitlines()
    header = next(line for line in lines if "┃" in line)
    names = [cell.strip() for cell in header.split("┃")[1:-1]]
    rows = [[cell.strip() for cell in line.split("│")[1:-1]] for line in lines if "│" in line]
    return {row[1]: dict(zip(names, row, strict=True)) for row in rows}


def refuse_enterprise_customers(workdir: Path) -> list[str]:
    """Make the CRM table refuse enterprise customers; returns their keys, sorted."""
    with sqlite3.connect(workdir / "proj" / "output" / "crm.sqlite") as db:
        db.execute(
            "CREATE TABLE contacts (id INTEGER PRIMARY KEY, email TEXT, name TEXT,"
            " plan TEXT CHECK (plan <> 'enterprise'), lifetime_value NUMERIC, segment TEXT)"
        )
    warehouse = duckdb.connect(str(workdir / "proj" / "warehouse.duckdb"), read_only=True)
    enterprise = sorted(
        str(row[0])
        for row in warehouse.execute(
            "SELECT id FROM customers WHERE is_active AND plan = 'enterprise'"
        ).fetchall()
    )
    warehouse.close()
    return enterprise


def test_rejected_rows_exit_3_and_are_listed(syncline: Invoke, workdir: Path) -> None:
    init_and_apply(syncline)
    enterprise = refuse_enterprise_customers(workdir)

    result = syncline("run", "customers-to-crm")

    assert result.code == ExitCode.ROWS_REJECTED, result.err
    assert "Status: warning" in result.out
    with sqlite3.connect(workdir / "proj" / "output" / "crm.sqlite") as db:
        stored = db.execute("SELECT count(*) FROM contacts").fetchone()[0]
    assert stored == ACTIVE_CUSTOMERS - len(enterprise)

    rows = syncline("rows", "customers-to-crm", "--failed")
    assert rows.code == ExitCode.OK
    listed = [line for line in rows.out.splitlines() if "CHECK" in line.upper()]
    assert sorted(line.split("│")[1].strip() for line in listed) == enterprise
    assert all("added" in line for line in listed)

    run_id = result.out.split("Run ")[1].split(":")[0]
    of_run = syncline("rows", "customers-to-crm", "--failed", "--run", run_id)
    assert of_run.out.upper().count("CHECK") == len(enterprise)
    missing = syncline("rows", "customers-to-crm", "--run", "999")
    assert missing.code == ExitCode.USER_ERROR
    assert "not a run of sync" not in missing.err
    elsewhere = syncline("rows", "customers-to-csv", "--run", run_id)
    assert elsewhere.code == ExitCode.USER_ERROR
    assert f"sync run {run_id} does not exist; it is not a run of sync 'customers-to-csv'" in (
        elsewhere.err
    )


def test_rows_succeeded_lists_what_a_run_kept_and_says_when_it_kept_fewer(
    syncline: Invoke, workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    init_and_apply(syncline)
    enterprise = refuse_enterprise_customers(workdir)
    first = syncline("run", "customers-to-crm")
    first_id = first.out.split("Run ")[1].split(":")[0]

    listed = syncline("rows", "customers-to-crm", "--succeeded")

    assert listed.code == ExitCode.OK, listed.err
    assert f"Succeeded rows of run {first_id}" in listed.out
    keys = [line.split("│")[1].strip() for line in listed.out.splitlines() if "│ added" in line]
    assert len(keys) == ACTIVE_CUSTOMERS - len(enterprise)
    assert not set(keys) & set(enterprise)
    assert "succeeded rows and" not in listed.out

    monkeypatch.setenv("SYNCLINE_SUCCEEDED_ROWS_PER_RUN", "5")
    assert syncline("run", "customers-to-crm", "--full-resync").code == ExitCode.ROWS_REJECTED
    few = syncline("rows", "customers-to-crm", "--succeeded")
    assert len([line for line in few.out.splitlines() if "│ added" in line]) == 5
    total = ACTIVE_CUSTOMERS - len(enterprise)
    assert f"had {total} succeeded rows and 5 are kept" in few.out
    assert "SYNCLINE_SUCCEEDED_ROWS_PER_RUN" in few.out
    of_first = syncline("rows", "customers-to-crm", "--succeeded", "--run", first_id)
    assert len([line for line in of_first.out.splitlines() if "│ added" in line]) == total

    dry = syncline("run", "customers-to-crm", "--dry-run")
    dry_id = dry.out.split("Run ")[1].split(":")[0]
    after_dry = syncline("rows", "customers-to-crm", "--succeeded")
    assert len([line for line in after_dry.out.splitlines() if "│ added" in line]) == 5
    of_dry = syncline("rows", "customers-to-crm", "--succeeded", "--run", dry_id)
    assert f"Run {dry_id} was a dry run: it sent no rows." in of_dry.out


def test_the_next_run_prunes_rejected_rows_past_retention_and_rows_says_so(
    syncline: Invoke, workdir: Path
) -> None:
    init_and_apply(syncline)
    enterprise = refuse_enterprise_customers(workdir)
    first = syncline("run", "customers-to-crm")
    assert first.code == ExitCode.ROWS_REJECTED, first.err
    first_id = int(first.out.split("Run ")[1].split(":")[0])
    catalog = Catalog.open(load_settings())
    with catalog.session() as session:
        session.orm.get_one(RunRecord, first_id).finished_at = utcnow() - timedelta(days=8)
    catalog.close()

    # The next run retries every rejected row, so the first run's results are settled.
    second = syncline("run", "customers-to-crm")
    assert second.code == ExitCode.ROWS_REJECTED, second.err

    of_first = syncline("rows", "customers-to-crm", "--run", str(first_id))
    assert of_first.code == ExitCode.OK
    assert (
        f"The rejected rows of run {first_id} were pruned: row results are kept 7 days"
        in of_first.out
    )
    still_failing = syncline("rows", "customers-to-crm", "--failed")
    listed = [line for line in still_failing.out.splitlines() if "CHECK" in line.upper()]
    assert sorted(line.split("│")[1].strip() for line in listed) == enterprise


def test_json_logs_carry_the_run_ids(syncline: Invoke, monkeypatch: pytest.MonkeyPatch) -> None:
    init_and_apply(syncline)
    monkeypatch.setenv("SYNCLINE_LOG_FORMAT", "json")
    monkeypatch.setenv("SYNCLINE_LOG_LEVEL", "INFO")

    result = syncline("run", "customers-to-csv")

    assert result.code == ExitCode.OK
    records = [json.loads(line) for line in result.err.splitlines() if line.strip()]
    assert records
    assert all({"time", "level", "logger", "message"} <= set(r) for r in records)
    leased = [r for r in records if "leased" in r["message"]]
    assert leased
    assert isinstance(leased[0]["sync_id"], int)
    assert isinstance(leased[0]["run_id"], int)


def test_model_preview_and_source_test(syncline: Invoke) -> None:
    init_and_apply(syncline)

    preview = syncline("models", "preview", "active-customers", "--limit", "3")
    assert preview.code == ExitCode.OK
    assert "lifetime_value" in preview.out
    assert "DECIMAL(10,2)" in preview.out
    assert "customer1@example.com" in preview.out
    assert "customer5@example.com" not in preview.out
    too_many = syncline("models", "preview", "active-customers", "--limit", "5000")
    assert too_many.code == ExitCode.USER_ERROR
    assert "1000" in too_many.err

    tested = syncline("sources", "test", "warehouse")
    assert tested.code == ExitCode.OK
    assert "connection OK" in tested.out


def test_a_source_that_cannot_connect_exits_1(syncline: Invoke, workdir: Path) -> None:
    project = workdir / "proj"
    project.mkdir()
    (project / "sources.yml").write_text(
        "sources:\n  - slug: down\n    type: postgres\n"
        "    configuration: {host: 127.0.0.1, port: 1, user: postgres, database: postgres}\n"
    )
    assert syncline("apply", "--project", "proj").code == ExitCode.OK

    result = syncline("sources", "test", "down")

    assert result.code == ExitCode.RUN_FAILED
    assert result.err.startswith("error: source 'down':")
    assert len(result.err.strip().splitlines()) == 1


def test_destinations_test_checks_a_destination(syncline: Invoke, workdir: Path) -> None:
    project = workdir / "proj"
    project.mkdir()
    (workdir / "blocker").write_text("a file, so no folder can be made beneath it\n")
    (project / "destinations.yml").write_text(
        "destinations:\n"
        "  - slug: exports\n    type: csv\n    configuration: {directory: out}\n"
        "  - slug: blocked\n    type: csv\n    configuration: {directory: blocker/out}\n"
    )
    assert syncline("apply", "--project", "proj").code == ExitCode.OK

    fine = syncline("destinations", "test", "exports")
    blocked = syncline("destinations", "test", "blocked")

    assert fine.code == ExitCode.OK, fine.err
    assert "Destination 'exports' (csv): connection OK." in fine.out
    assert blocked.code == ExitCode.RUN_FAILED
    assert blocked.err.startswith("error: destination 'blocked':")


def test_init_never_overwrites_and_bad_settings_exit_2(
    syncline: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert syncline("init", "proj", "--workspace", "default").code == ExitCode.OK

    again = syncline("init", "proj", "--workspace", "default")
    assert again.code == ExitCode.USER_ERROR
    assert "already exist" in again.err

    monkeypatch.setenv("SYNCLINE_LOG_LEVEL", "LOUD")
    bad = syncline("validate", "--project", "proj")
    assert bad.code == ExitCode.USER_ERROR
    assert "SYNCLINE_LOG_LEVEL='LOUD'" in bad.err


def test_a_cdc_reset_says_it_stopped_retrying_the_rejected_rows(
    syncline: Invoke, workdir: Path
) -> None:
    init_and_apply(syncline)
    enterprise = refuse_enterprise_customers(workdir)
    assert syncline("run", "customers-to-crm").code == ExitCode.ROWS_REJECTED

    reset = syncline("run", "customers-to-crm", "--reset-cdc")
    history = syncline("runs", "customers-to-crm", "--limit", "1")

    assert reset.code == ExitCode.OK, reset.err
    given_up = f"{len(enterprise)} rejected rows of earlier runs are no longer retried"
    assert "CDC reset" in reset.out
    assert given_up in reset.out
    assert "failed" not in reset.err
    assert "CDC reset" in history.out
    assert f"{len(enterprise)} rejected rows" in history.out
    catalog = Catalog.open(load_settings())
    with catalog.session(read_only=True) as session:
        (latest,) = session.runs.list_runs("customers-to-crm", newest_first=True, limit=1)
        assert latest.status == "success"
        assert latest.rejected_given_up == len(enterprise)
        # The run succeeded: the API's error stays empty, as Hightouch clients read it.
        assert session.to_api(latest).get("error") is None
    catalog.close()


def test_plan_fails_as_apply_does_on_a_deletion_the_catalog_refuses(
    syncline: Invoke, workdir: Path
) -> None:
    from syncline.project.workspace import project_workspace

    assert syncline("init", "proj", "--workspace", "default").code == ExitCode.OK
    assert syncline("apply", "--project", "proj").code == ExitCode.OK
    catalog = Catalog.open(load_settings())
    try:
        with catalog.session(project_workspace(workdir / "proj") or "default") as session:
            session.syncs.create(
                slug="api-sync", model="active-customers", destination="crm",
                configuration={"mode": "upsert", "object": "other"},
            )  # fmt: skip
    finally:
        catalog.close()
    # The project no longer declares destination crm nor the sync writing to it.
    for name, kept in (("destinations.yml", "  - slug: exports"), ("syncs.yml", "  - slug: c")):
        path = workdir / "proj" / name
        text = path.read_text()
        head = text.index("  - slug:")
        path.write_text(text[:head] + text[text.rindex(kept) :])

    planned = syncline("plan", "--project", "proj")
    applied = syncline("apply", "--project", "proj")

    assert planned.code == applied.code == ExitCode.USER_ERROR
    assert "destination 'crm' is used by syncs api-sync" in planned.err
    assert planned.err == applied.err
    assert "delete destination" not in planned.out
