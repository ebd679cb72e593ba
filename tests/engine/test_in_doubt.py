"""Rows in doubt: a run killed after a batch was handed over, before its outcome was journaled.

A subprocess runs the sync against a destination that writes a batch and then dies
with ``os._exit`` (no cleanup, no ``finally``), saving what the destination held, so
the destination committed rows the engine never recorded. The next run, in this
process, must leave the destination equal to the model whatever the source did since.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import duckdb
import pytest
from engine_doubles import Harness, MemoryDestination, people

from syncline.connectors.destinations.base import SyncMode, WriteAction
from syncline.engine.planner.store import snapshot_path
from syncline.engine.report import RunStatus
from syncline.errors import TerminalError

ROWS = [(i, f"n{i}", float(i)) for i in range(1, 21)]

DYING_RUNS = textwrap.dedent(
    """
    import json, os, sys
    from pathlib import Path
    sys.path.insert(0, sys.argv[1])
    from engine_doubles import Harness, MemoryDestination, people

    spec = json.loads(Path(sys.argv[3]).read_text())
    state = Path(sys.argv[4])

    class Dying(MemoryDestination):
        die_on_call = None

        def write_batch(self, batch):
            if self.calls + 1 == self.die_on_call and not spec["write_before_dying"]:
                self._save_and_die()
            result = super().write_batch(batch)
            if self.calls == self.die_on_call:
                self._save_and_die()
            return result

        def _save_and_die(self):
            state.write_text(json.dumps(list(self.records.values())))
            os._exit(3)  # killed between the write and its acknowledgement

    destination = Dying(max_batch_rows=4)
    sync = Harness(Path(sys.argv[2]), people([]), spec["configuration"], "id", destination)
    for rows, die in spec["runs"]:
        sync.table = people([tuple(row) for row in rows])
        destination.die_on_call = None if die is None else destination.calls + die
        assert sync.run().status.value == "success"
    """
)


def run_then_die(
    tmp_path: Path,
    configuration: dict[str, Any],
    runs: list[tuple[list[tuple[Any, ...]], int | None]],
    *,
    write_before_dying: bool = True,
) -> MemoryDestination:
    """Run the sync once per ``(rows, die_on_call)`` in a subprocess that dies in the last.

    Returns a destination holding what the killed process's destination held.
    """
    script = tmp_path / "dying.py"
    script.write_text(DYING_RUNS)
    spec = tmp_path / "spec.json"
    spec.write_text(
        json.dumps(
            {
                "configuration": configuration,
                "runs": runs,
                "write_before_dying": write_before_dying,
            }
        )
    )
    state = tmp_path / "destination.json"
    process = subprocess.run(
        [
            sys.executable,
            str(script),
            str(Path(__file__).parent),
            str(tmp_path / "snapshots"),
            str(spec),
            str(state),
        ],
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert process.returncode == 3, process.stderr.decode()
    destination = MemoryDestination(max_batch_rows=4)
    destination.records = {row["id"]: row for row in json.loads(state.read_text())}
    return destination


def next_run(
    tmp_path: Path,
    destination: MemoryDestination,
    rows: list[tuple[Any, ...]],
    configuration: dict[str, Any],
) -> Harness:
    """A harness on the killed run's snapshot folder and destination, over ``rows``."""
    return Harness(tmp_path / "snapshots", people(rows), configuration, "id", destination)


def held(destination: MemoryDestination) -> list[tuple[Any, ...]]:
    """The destination's records as sorted (id, name, score) rows."""
    return sorted((r["id"], r["name"], r["score"]) for r in destination.records.values())


MIRROR = {"mode": "mirror", "object": "p"}


@pytest.mark.parametrize("write_before_dying", [True, False])
def test_case_a_rows_sent_then_deleted_in_the_source_are_removed(
    tmp_path: Path, write_before_dying: bool
) -> None:
    # The second batch (ids 5-8) is handed over; the process dies before its outcome.
    destination = run_then_die(tmp_path, MIRROR, [(ROWS, 2)], write_before_dying=write_before_dying)
    assert len(destination.records) == (8 if write_before_dying else 4)

    model = [row for row in ROWS if row[0] not in (5, 6, 7, 8)]
    sync = next_run(tmp_path, destination, model, MIRROR)
    result = sync.run()

    assert result.status is RunStatus.SUCCESS
    assert held(destination) == model
    # Those four keys were never acknowledged, so they are planned as removed; a
    # delete of a record the destination never got counts as success.
    assert result.progress.planned.removed == 4
    assert result.progress.successful.removed == 4
    assert result.progress.planned.added == 12
    assert sync.run().progress.planned.total == 0


def test_case_b_change_sent_then_reverted_in_the_source_is_sent_again(tmp_path: Path) -> None:
    changed = [(i, "changed" if 5 <= i <= 8 else n, s) for i, n, s in ROWS]
    # Run 1 delivers everything; run 2 writes the four changed rows and dies.
    destination = run_then_die(tmp_path, MIRROR, [(ROWS, None), (changed, 1)])
    assert {r["name"] for r in destination.records.values()} >= {"changed"}

    sync = next_run(tmp_path, destination, ROWS, MIRROR)
    result = sync.run()

    assert result.status is RunStatus.SUCCESS
    assert held(destination) == ROWS
    assert result.progress.planned.changed == 4
    assert sync.sent() == ["5", "6", "7", "8"]
    assert sync.run().progress.planned.total == 0


def test_case_c_delete_sent_then_row_back_unchanged_is_sent_again(tmp_path: Path) -> None:
    fewer = [row for row in ROWS if row[0] not in (5, 6, 7, 8)]
    # Run 1 delivers everything; run 2 deletes four records and dies.
    destination = run_then_die(tmp_path, MIRROR, [(ROWS, None), (fewer, 1)])
    assert len(destination.records) == 16

    sync = next_run(tmp_path, destination, ROWS, MIRROR)
    result = sync.run()

    assert result.status is RunStatus.SUCCESS
    assert held(destination) == ROWS
    assert result.progress.planned.changed == 4
    assert sync.sent() == ["5", "6", "7", "8"]


def test_insert_in_doubt_is_upserted_not_rejected_as_existing(tmp_path: Path) -> None:
    insert = {"mode": "insert", "object": "p"}
    destination = run_then_die(tmp_path, insert, [(ROWS, 2)])
    assert len(destination.records) == 8

    sync = next_run(tmp_path, destination, ROWS, insert)
    result = sync.run()

    assert result.status is RunStatus.SUCCESS
    assert result.progress.failed.total == 0
    assert result.progress.planned.added == 16
    assert held(destination) == ROWS
    actions = {key: batch.action for batch in destination.batches for key in batch.keys}
    assert {key for key, action in actions.items() if action is WriteAction.UPSERT} == {
        "5",
        "6",
        "7",
        "8",
    }
    assert set(actions.values()) == {WriteAction.UPSERT, WriteAction.INSERT}

    again = sync.run()
    assert again.progress.planned.total == 0
    assert again.status is RunStatus.SUCCESS


def test_insert_in_doubt_without_upsert_is_inserted_again(tmp_path: Path) -> None:
    insert = {"mode": "insert", "object": "p"}
    destination = run_then_die(tmp_path, insert, [(ROWS, 2)], write_before_dying=False)
    only_insert = MemoryDestination(max_batch_rows=4, modes=frozenset({SyncMode.INSERT}))
    only_insert.records = destination.records

    sync = next_run(tmp_path, only_insert, ROWS, insert)
    result = sync.run()

    # The batch never reached the destination, so inserting it again succeeds.
    assert result.status is RunStatus.SUCCESS
    assert held(only_insert) == ROWS
    assert {batch.action for batch in only_insert.batches} == {WriteAction.INSERT}


def test_dry_run_plans_rows_in_doubt_and_journals_nothing(tmp_path: Path) -> None:
    destination = run_then_die(tmp_path, MIRROR, [(ROWS, 2)])
    model = [row for row in ROWS if row[0] != 5]
    sync = next_run(tmp_path, destination, model, MIRROR)

    dry = sync.run(dry_run=True)

    assert dry.status is RunStatus.SUCCESS
    assert destination.batches == []
    assert (dry.progress.planned.added, dry.progress.planned.removed) == (15, 1)
    assert journal_kinds(tmp_path / "snapshots") == []
    assert unknown_keys(tmp_path / "snapshots") == ["5", "6", "7", "8"]

    sync.run()
    assert held(destination) == model
    assert unknown_keys(tmp_path / "snapshots") == []


def test_batch_the_destination_refused_leaves_no_doubt(tmp_path: Path) -> None:
    sync = Harness(tmp_path, people(ROWS), MIRROR, "id", MemoryDestination(max_batch_rows=4))
    sync.destination.raise_on_batch = lambda n: TerminalError("gone") if n == 2 else None
    assert sync.run().status is RunStatus.FAILED

    assert unknown_keys(tmp_path) == []
    sync.destination.raise_on_batch = None
    resumed = sync.run()
    assert (resumed.progress.planned.added, resumed.progress.planned.changed) == (16, 0)


def test_batch_that_failed_with_a_bug_stays_in_doubt(tmp_path: Path) -> None:
    sync = Harness(tmp_path, people(ROWS), MIRROR, "id", MemoryDestination(max_batch_rows=4))
    sync.destination.raise_on_batch = lambda n: RuntimeError("oops") if n == 2 else None
    failed = sync.run()
    assert failed.status is RunStatus.FAILED
    assert failed.error is not None
    assert "internal error" in failed.error

    # Outside the destination contract nothing says the batch was not written.
    assert unknown_keys(tmp_path) == ["5", "6", "7", "8"]
    sync.destination.raise_on_batch = None
    sync.table = people([row for row in ROWS if row[0] != 6])
    resumed = sync.run()
    assert resumed.status is RunStatus.SUCCESS
    assert (resumed.progress.planned.added, resumed.progress.planned.removed) == (15, 1)
    assert unknown_keys(tmp_path) == []


def journal_kinds(snapshot_dir: Path) -> list[str]:
    """The kinds of every journal entry the snapshot file holds."""
    with duckdb.connect(str(snapshot_path(snapshot_dir, 7)), read_only=True) as con:
        return [str(kind) for (kind,) in con.execute("SELECT kind FROM journal").fetchall()]


def unknown_keys(snapshot_dir: Path) -> list[str]:
    """Keys whose snapshot entry is unknown (sent, outcome never journaled)."""
    with duckdb.connect(str(snapshot_path(snapshot_dir, 7)), read_only=True) as con:
        rows = con.execute(
            "SELECT key FROM snapshot WHERE doubt IS NOT NULL ORDER BY key"
        ).fetchall()
    return [str(key) for (key,) in rows]


def test_snapshot_file_from_before_doubts_is_upgraded(tmp_path: Path) -> None:
    sync = Harness(tmp_path, people(ROWS), MIRROR, "id", MemoryDestination(max_batch_rows=4))
    sync.run()
    with duckdb.connect(str(snapshot_path(tmp_path, 7))) as con:
        con.execute("ALTER TABLE snapshot DROP COLUMN doubt")

    sync.table = people([row for row in ROWS if row[0] != 3])
    result = sync.run()

    assert result.status is RunStatus.SUCCESS
    assert result.progress.planned.total == 1
    assert unknown_keys(tmp_path) == []
