"""The runner glue: abandoned runs are interrupted, flags reach the engine, progress is teed."""

from __future__ import annotations

import socket
import sqlite3
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from cli_harness import Invoke

from syncline.catalog import Catalog, RunTrigger
from syncline.catalog.types import utcnow
from syncline.cli.exitcodes import ExitCode
from syncline.engine.report import RunStatus
from syncline.settings import load_settings
from syncline.worker.execute import ProgressEvent, run_sync


def applied_sample(syncline: Invoke) -> None:
    assert syncline("init", "proj", "--workspace", "default").code == ExitCode.OK
    assert syncline("apply", "--project", "proj").code == ExitCode.OK


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_run_left_by_a_dead_process_is_interrupted_and_the_next_run_goes_on(
    syncline: Invoke,
) -> None:
    applied_sample(syncline)
    settings = load_settings()
    catalog = Catalog.open(settings)
    with catalog.session() as session:
        abandoned = session.runs.enqueue("customers-to-crm")
        session.runs.start(abandoned.id, f"{socket.gethostname()}:{dead_pid()}")
    with catalog.session() as session:
        stale = session.runs.enqueue("customers-to-csv")
        session.runs.start(stale.id, "another-host:1")
        session.runs.get(stale.id).heartbeat_at = utcnow() - timedelta(minutes=5)

    events: list[ProgressEvent] = []
    record = run_sync(catalog, "customers-to-crm", on_progress=events.append, settings=settings)

    assert record["status"] == "success"
    assert record["id"] != abandoned.id
    with catalog.session(read_only=True) as session:
        for run_id in (abandoned.id, stale.id):
            run = session.runs.get(run_id)
            assert run.status == "interrupted"
            assert "resumes" in (run.error or "")
    stages = [e.status for e in events if e.progress is None]
    assert stages == [RunStatus.QUERYING, RunStatus.PROCESSING, RunStatus.REPORTING]
    last = [e.progress for e in events if e.progress is not None][-1]
    assert last.successful.added == record["successfulRows"]["addedCount"] == 429
    catalog.close()


def test_runs_points_out_a_run_whose_process_died_and_changes_nothing(
    syncline: Invoke,
) -> None:
    applied_sample(syncline)
    catalog = Catalog.open(load_settings())
    with catalog.session() as session:
        abandoned = session.runs.enqueue("customers-to-crm")
        session.runs.start(abandoned.id, f"{socket.gethostname()}:{dead_pid()}")

    listed = syncline("runs", "customers-to-crm")

    assert listed.code == ExitCode.OK, listed.err
    assert "abandoned" in listed.out
    # A listing only reads: recovery (a worker, or the next run) interrupts and resumes it.
    with catalog.session(read_only=True) as session:
        assert session.runs.get(abandoned.id).status == "querying"
        assert len(session.runs.list_runs("customers-to-crm")) == 1
    catalog.close()


def test_dry_run_writes_nothing_and_reset_cdc_sends_nothing(
    syncline: Invoke, workdir: Path
) -> None:
    applied_sample(syncline)
    crm = workdir / "proj" / "output" / "crm.sqlite"

    dry = syncline("run", "customers-to-crm", "--dry-run")
    assert dry.code == ExitCode.OK, dry.err
    assert "dry run: nothing was written" in dry.out
    assert "│ planned    │   429 │" in dry.out
    assert not crm.exists() or not _tables(crm)

    reset = syncline("run", "customers-to-crm", "--reset-cdc")
    assert reset.code == ExitCode.OK, reset.err
    assert not crm.exists() or not _tables(crm)

    # The rows were taken as synced, yet the table they would be in does not exist: the
    # next run sends them all rather than trust the snapshot.
    first = syncline("run", "customers-to-crm")
    assert first.code == ExitCode.OK, first.err
    assert "│ successful │   429 │" in first.out
    assert "is gone" in first.err

    reset = syncline("run", "customers-to-crm", "--reset-cdc")
    assert reset.code == ExitCode.OK, reset.err
    after = syncline("run", "customers-to-crm")
    assert after.code == ExitCode.OK
    assert "│ planned    │     0 │       0 │       0 │" in after.out

    resync = syncline("run", "customers-to-crm", "--full-resync")
    assert "│ successful │   429 │" in resync.out
    with sqlite3.connect(crm) as db:
        assert db.execute("SELECT count(*) FROM contacts").fetchone() == (429,)


def test_a_run_while_a_dry_run_is_queued_is_refused_with_exit_2(syncline: Invoke) -> None:
    applied_sample(syncline)
    catalog = Catalog.open(load_settings())
    with catalog.session() as session:
        running = session.runs.enqueue("customers-to-crm")
        session.runs.start(running.id, "another-host:1")
        dry = session.runs.enqueue("customers-to-crm", RunTrigger(dry_run=True))

    result = syncline("run", "customers-to-crm")

    assert result.code == ExitCode.USER_ERROR
    assert f"run {dry.id} is already queued" in result.err
    with catalog.session(read_only=True) as session:
        assert session.runs.get(dry.id).dry_run
    catalog.close()


def test_a_disabled_sync_is_refused_with_exit_2(syncline: Invoke, workdir: Path) -> None:
    applied_sample(syncline)
    syncs = workdir / "proj" / "syncs.yml"
    syncs.write_text(syncs.read_text().replace("    schedule: null", "    disabled: true"))
    assert syncline("apply", "--project", "proj").code == ExitCode.OK

    result = syncline("run", "customers-to-csv")

    assert result.code == ExitCode.USER_ERROR
    assert "is disabled" in result.err


def _tables(path: Path) -> list[str]:
    with sqlite3.connect(path) as db:
        return [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
