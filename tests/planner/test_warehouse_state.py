"""The warehouse planner's own tables after runs that failed, were dry or reset CDC.

The engine suites check what reaches the destination on both planners; these tests
look into the planner tables of a DuckDB source, as the local planner's tests look
into its snapshot file.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from engine_doubles import Harness, MemoryDestination, people
from warehouse_doubles import PLANNER

from syncline.engine.report import RunStatus
from syncline.errors import TerminalError

ROWS = [(i, f"n{i}", float(i)) for i in range(1, 21)]
MIRROR = {"mode": "mirror", "object": "p"}


@pytest.fixture(autouse=True)
def on_duckdb(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PLANNER, "duckdb")


def planner_rows(folder: Path, query: str) -> list[tuple[object, ...]]:
    """Rows of ``query`` over the planner tables of the sync the harness runs (7)."""
    with duckdb.connect(str(folder / "warehouse.duckdb"), read_only=True) as con:
        return con.execute(query.replace("{t}", "syncline_planner.sync_7")).fetchall()


def unknown_keys(folder: Path) -> list[str]:
    rows = planner_rows(folder, "SELECT key FROM {t}_snapshot WHERE doubt IS NOT NULL ORDER BY key")
    return [str(key) for (key,) in rows]


def test_batch_that_failed_with_a_bug_stays_in_doubt(tmp_path: Path) -> None:
    sync = Harness(tmp_path, people(ROWS), MIRROR, "id", MemoryDestination(max_batch_rows=4))
    sync.destination.raise_on_batch = lambda n: RuntimeError("oops") if n == 2 else None
    assert sync.run().status is RunStatus.FAILED
    assert unknown_keys(tmp_path) == ["5", "6", "7", "8"]
    assert planner_rows(tmp_path, "SELECT count(*) FROM {t}_journal") == [(0,)]

    sync.destination.raise_on_batch = None
    sync.table = people([row for row in ROWS if row[0] != 6])
    resumed = sync.run()
    assert resumed.status is RunStatus.SUCCESS
    assert (resumed.progress.planned.added, resumed.progress.planned.removed) == (15, 1)
    assert unknown_keys(tmp_path) == []
    assert sorted(sync.destination.records) == [row[0] for row in ROWS if row[0] != 6]


def test_batch_the_destination_refused_leaves_no_doubt(tmp_path: Path) -> None:
    sync = Harness(tmp_path, people(ROWS), MIRROR, "id", MemoryDestination(max_batch_rows=4))
    sync.destination.raise_on_batch = lambda n: TerminalError("gone") if n == 2 else None
    assert sync.run().status is RunStatus.FAILED
    assert unknown_keys(tmp_path) == []
    assert planner_rows(tmp_path, "SELECT count(*) FROM {t}_snapshot") == [(4,)]


def test_reset_cdc_makes_the_model_the_baseline_and_clears_failed_rows(tmp_path: Path) -> None:
    sync = Harness(tmp_path, people(ROWS[:4]), MIRROR)
    sync.destination.reject = lambda action, row: "no" if row["id"] == 1 else None
    sync.run()
    assert planner_rows(tmp_path, "SELECT key FROM {t}_failed") == [("1",)]

    sync.destination.reject = None
    sync.table = people([(2, "BOB", 2.0), (3, "cy", 3.0), (6, "fi", 6.0)])
    calls = sync.destination.calls
    result = sync.run(reset_cdc=True)
    assert result.status is RunStatus.SUCCESS
    assert result.progress.planned.total == 0
    assert sync.destination.calls == calls
    assert planner_rows(tmp_path, "SELECT key FROM {t}_snapshot ORDER BY key") == [
        ("2",),
        ("3",),
        ("6",),
    ]
    assert planner_rows(tmp_path, "SELECT count(*) FROM {t}_failed") == [(0,)]
    assert sync.run().progress.planned.total == 0


def test_dry_run_plans_but_journals_and_sends_nothing(tmp_path: Path) -> None:
    sync = Harness(tmp_path, people(ROWS[:4]), MIRROR)
    sync.run()
    sync.table = people([(1, "ann", 1.0), (2, "n2", 2.0), (5, "ed", 5.0)])
    calls = sync.destination.calls

    dry = sync.run(dry_run=True)
    assert dry.progress.planned.as_api() == {
        "addedCount": 1,
        "changedCount": 1,
        "removedCount": 2,
    }
    assert sync.destination.calls == calls
    assert planner_rows(tmp_path, "SELECT count(*) FROM {t}_journal") == [(0,)]
    assert planner_rows(tmp_path, "SELECT count(*) FROM {t}_snapshot") == [(4,)]
    assert sync.run().progress.planned.as_api() == dry.progress.planned.as_api()


def planner_tables(folder: Path) -> list[str]:
    with duckdb.connect(str(folder / "warehouse.duckdb"), read_only=True) as con:
        rows = con.execute(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = 'syncline_planner' ORDER BY table_name"
        ).fetchall()
    return [str(name) for (name,) in rows]


def test_dry_run_of_a_new_sync_leaves_no_planner_tables(tmp_path: Path) -> None:
    sync = Harness(tmp_path, people(ROWS[:4]), MIRROR)
    dry = sync.run(dry_run=True)
    assert dry.status is RunStatus.SUCCESS
    assert dry.progress.planned.added == 4
    assert sync.destination.calls == 0
    assert planner_tables(tmp_path) == []

    assert sync.run().progress.planned.added == 4
    assert planner_tables(tmp_path) == [
        "sync_7_failed",
        "sync_7_journal",
        "sync_7_meta",
        "sync_7_snapshot",
    ]
    assert sync.run(dry_run=True).progress.planned.total == 0
    assert planner_tables(tmp_path) == [
        "sync_7_failed",
        "sync_7_journal",
        "sync_7_meta",
        "sync_7_snapshot",
    ]
