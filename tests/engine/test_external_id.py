"""Records matched on an external id: a removed row never deletes a record a current row holds."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from engine_doubles import Harness

from syncline.connectors.destinations.base import WriteAction
from syncline.connectors.registry import destination_class
from syncline.engine.report import RunStatus
from syncline.engine.run import RunResult
from syncline.errors import TerminalError

SCHEMA = pa.schema([("id", pa.int64()), ("email", pa.string()), ("name", pa.string())])


def contacts(*rows: tuple[int, str, str]) -> pa.Table:
    """A model of (id, email, name) rows, keyed by id."""
    return pa.Table.from_pylist(
        [{"id": id_, "email": email, "name": name} for id_, email, name in rows], schema=SCHEMA
    )


def _table_harness(tmp_path: Path, configuration: dict[str, Any]) -> tuple[Harness, Path]:
    """A sync of contacts into a SQLite table whose records are keyed by email."""
    database = tmp_path / "destination.db"
    configuration = {
        "object": "contacts",
        "mappings": [{"type": "standard", "from": "name", "to": "name"}],
        "externalIdMapping": {"from": "email", "to": "email"},
        **configuration,
    }
    harness = Harness(tmp_path / "snapshots", contacts(), configuration)
    harness.destination = destination_class("sqlite").from_config({"path": str(database)})
    return harness, database


def _mirror_by_email(tmp_path: Path, table: pa.Table) -> Harness:
    """A mirror sync of ``table`` into the in-memory destination, records keyed by email."""
    configuration = {
        "mode": "mirror",
        "object": "contacts",
        "mappings": [{"type": "standard", "from": "name", "to": "name"}],
        "externalIdMapping": {"from": "email", "to": "email"},
    }
    return Harness(tmp_path / "snapshots", table, configuration)


def _row_nine_takes_rows_four_id(tmp_path: Path) -> tuple[Harness, Path]:
    """A mirror by email after row 9 took the email d@x that unchanged row 4 holds."""
    harness, database = _table_harness(tmp_path, {"mode": "mirror"})
    harness.table = contacts((4, "d@x", "di"), (9, "o@x", "ok9"))
    harness.run()
    harness.table = contacts((4, "d@x", "di"), (9, "d@x", "ok9"))
    harness.run()
    return harness, database


def _planned(result: RunResult) -> tuple[int, int, int]:
    """A run's planned (added, changed, removed) rows."""
    planned = result.progress.planned
    return planned.added, planned.changed, planned.removed


def _records(database: Path) -> list[tuple[object, ...]]:
    with sqlite3.connect(database) as connection:
        return connection.execute("SELECT email, name FROM contacts ORDER BY email").fetchall()


REMOVING = [
    pytest.param({"mode": "mirror"}, id="mirror"),
    pytest.param({"mode": "upsert", "deleteBehavior": "delete"}, id="upsert-delete"),
]


@pytest.mark.parametrize("configuration", REMOVING)
def test_a_new_row_taking_a_removed_rows_external_id_keeps_the_record(
    tmp_path: Path, configuration: dict[str, Any]
) -> None:
    harness, database = _table_harness(tmp_path, configuration)
    harness.table = contacts((1, "a@x", "ann"), (2, "b@x", "bob"))
    assert harness.run().status is RunStatus.SUCCESS

    # Ann deletes her account and signs up again: a new id, the same email.
    harness.table = contacts((2, "b@x", "bob"), (3, "a@x", "ann again"))
    second = harness.run()

    assert second.status is RunStatus.SUCCESS, second.error
    assert _records(database) == [("a@x", "ann again"), ("b@x", "bob")]
    # Id 1 is settled without a delete: it is neither planned nor sent as removed.
    assert _planned(second) == (1, 0, 0)
    assert second.progress.successful.removed == 0

    third = harness.run()
    assert third.status is RunStatus.SUCCESS, third.error
    assert third.progress.planned.total == 0
    assert _records(database) == [("a@x", "ann again"), ("b@x", "bob")]


def test_a_changed_row_taking_a_removed_rows_external_id_keeps_the_record(
    tmp_path: Path,
) -> None:
    harness, database = _table_harness(tmp_path, {"mode": "mirror"})
    harness.table = contacts((1, "a@x", "ann"), (2, "b@x", "bob"))
    harness.run()

    # Bob takes over the address Ann's account gave up; his own old address goes.
    harness.table = contacts((2, "a@x", "bob"))
    second = harness.run()

    assert second.status is RunStatus.SUCCESS, second.error
    assert _planned(second) == (0, 1, 1)
    assert _records(database) == [("a@x", "bob")]
    assert harness.run().progress.planned.total == 0


def test_a_removed_row_whose_external_id_no_row_holds_is_still_deleted(tmp_path: Path) -> None:
    harness, database = _table_harness(tmp_path, {"mode": "mirror"})
    harness.table = contacts((1, "a@x", "ann"), (2, "b@x", "bob"))
    harness.run()

    harness.table = contacts((2, "b@x", "bob"), (3, "c@x", "cy"))
    second = harness.run()

    assert _planned(second) == (1, 0, 1)
    assert _records(database) == [("b@x", "bob"), ("c@x", "cy")]


def test_a_new_row_taking_a_removed_rows_external_id_is_not_cleared(tmp_path: Path) -> None:
    harness, database = _table_harness(tmp_path, {"mode": "upsert", "deleteBehavior": "clear"})
    harness.table = contacts((1, "a@x", "ann"))
    harness.run()

    harness.table = contacts((3, "a@x", "ann again"))
    second = harness.run()

    assert second.status is RunStatus.SUCCESS, second.error
    assert second.progress.planned.removed == 0
    assert _records(database) == [("a@x", "ann again")]
    assert harness.run().progress.planned.total == 0


def test_an_unchanged_row_sharing_a_removed_rows_external_id_keeps_the_record(
    tmp_path: Path,
) -> None:
    harness, database = _table_harness(tmp_path, {"mode": "mirror"})
    # Two accounts share an address; the record holds what both say.
    harness.table = contacts((1, "a@x", "ann"), (3, "a@x", "ann"), (4, "d@x", "di"))
    harness.run()

    # One of them goes; the other, unchanged, is not planned but still holds a@x.
    harness.table = contacts((3, "a@x", "ann"), (4, "d@x", "di"))
    second = harness.run()

    assert second.status is RunStatus.SUCCESS, second.error
    # The holding row is sent again, as the record holds what the departed row sent last.
    assert _planned(second) == (0, 1, 0)
    assert _records(database) == [("a@x", "ann"), ("d@x", "di")]
    assert harness.run().progress.planned.total == 0
    assert _records(database) == [("a@x", "ann"), ("d@x", "di")]


def test_a_taken_over_record_does_not_count_toward_the_removal_guard(tmp_path: Path) -> None:
    harness, database = _table_harness(
        tmp_path, {"mode": "mirror", "guards": {"maxRemovedShare": 0.4}}
    )
    harness.table = contacts((1, "a@x", "ann"), (2, "b@x", "bob"))
    harness.run()

    # Both accounts are replaced by new ones with the same addresses: nothing is removed.
    harness.table = contacts((3, "a@x", "ann"), (4, "b@x", "bob"))
    second = harness.run()

    assert second.status is RunStatus.SUCCESS, second.error
    assert _records(database) == [("a@x", "ann"), ("b@x", "bob")]


def test_a_dry_run_plans_no_removal_of_a_taken_over_record(tmp_path: Path) -> None:
    harness, database = _table_harness(tmp_path, {"mode": "mirror"})
    harness.table = contacts((1, "a@x", "ann"))
    harness.run()

    harness.table = contacts((3, "a@x", "ann again"))
    dry = harness.run(dry_run=True)

    assert _planned(dry) == (1, 0, 0)
    assert _records(database) == [("a@x", "ann")]


@pytest.mark.parametrize("configuration", REMOVING)
def test_a_row_whose_external_id_changes_removes_the_record_under_the_old_one(
    tmp_path: Path, configuration: dict[str, Any]
) -> None:
    harness, database = _table_harness(tmp_path, configuration)
    harness.table = contacts((1, "a@x", "ann"), (9, "u9@x", "uma"))
    harness.run()

    harness.table = contacts((1, "a@x", "ann"), (9, "u9new@x", "uma"))
    second = harness.run()

    assert second.status is RunStatus.SUCCESS, second.error
    assert _records(database) == [("a@x", "ann"), ("u9new@x", "uma")]
    assert _planned(second) == (0, 1, 1)
    assert second.progress.successful.removed == 1
    assert harness.run().progress.planned.total == 0


def test_a_changed_external_id_clears_the_old_record_with_delete_behavior_clear(
    tmp_path: Path,
) -> None:
    harness, database = _table_harness(tmp_path, {"mode": "upsert", "deleteBehavior": "clear"})
    harness.table = contacts((9, "u9@x", "uma"))
    harness.run()

    harness.table = contacts((9, "u9new@x", "uma"))
    assert harness.run().status is RunStatus.SUCCESS

    assert _records(database) == [("u9@x", None), ("u9new@x", "uma")]


@pytest.mark.parametrize(
    "configuration",
    [{"mode": "upsert"}, {"mode": "update"}, {"mode": "insert"}],
    ids=["upsert", "update", "insert"],
)
def test_a_changed_external_id_removes_nothing_where_the_sync_removes_nothing(
    tmp_path: Path, configuration: dict[str, Any]
) -> None:
    harness, database = _table_harness(tmp_path, {"mode": "upsert"})
    harness.table = contacts((9, "u9@x", "uma"))
    harness.run()
    harness.configuration = {**harness.configuration, **configuration}

    harness.table = contacts((9, "u9new@x", "uma"))
    second = harness.run()

    assert second.progress.planned.removed == 0
    assert ("u9@x", "uma") in _records(database)


def test_two_rows_swapping_external_ids_remove_no_record(tmp_path: Path) -> None:
    harness, database = _table_harness(tmp_path, {"mode": "mirror"})
    harness.table = contacts((1, "a@x", "ann"), (2, "b@x", "bob"))
    harness.run()

    harness.table = contacts((1, "b@x", "ann"), (2, "a@x", "bob"))
    second = harness.run()

    assert second.status is RunStatus.SUCCESS, second.error
    assert second.progress.planned.removed == 0
    assert len(_records(database)) == 2
    assert harness.run().progress.planned.total == 0


def test_a_rejected_removal_of_the_old_record_is_retried_next_run(tmp_path: Path) -> None:
    harness = _mirror_by_email(tmp_path, contacts((9, "u9@x", "uma")))
    harness.run()
    harness.destination.reject = lambda action, row: (
        "locked" if action is WriteAction.DELETE else None
    )

    harness.table = contacts((9, "u9new@x", "uma"))
    second = harness.run()

    assert second.progress.failed.removed == 1
    assert set(harness.destination.records) == {"u9@x", "u9new@x"}
    harness.destination.reject = None
    third = harness.run()
    assert third.status is RunStatus.SUCCESS, third.error
    assert third.progress.successful.removed == 1
    assert set(harness.destination.records) == {"u9new@x"}
    assert harness.run().progress.planned.total == 0


@pytest.mark.parametrize(
    "failure",
    [TerminalError("object locked"), RuntimeError("process died")],
    ids=["refused-batch", "died-in-doubt"],
)
def test_a_run_stopped_before_removing_the_old_record_leaves_it_to_the_next(
    tmp_path: Path, failure: Exception
) -> None:
    harness = _mirror_by_email(tmp_path, contacts((9, "u9@x", "uma")))
    harness.run()
    deletes = iter([failure])
    harness.destination.reject = None

    def fail_first_delete(action: WriteAction, row: dict[str, Any]) -> str | None:
        if action is WriteAction.DELETE:
            error = next(deletes, None)
            if error is not None:
                raise error
        return None

    harness.destination.reject = fail_first_delete
    harness.table = contacts((9, "u9new@x", "uma"))
    stopped = harness.run()

    # The row's change was acknowledged; the removal of its old record never was.
    assert stopped.status is RunStatus.FAILED
    assert set(harness.destination.records) == {"u9@x", "u9new@x"}
    resumed = harness.run()
    assert resumed.status is RunStatus.SUCCESS, resumed.error
    assert set(harness.destination.records) == {"u9new@x"}
    assert harness.run().progress.planned.total == 0


def test_a_row_leaving_an_id_another_row_holds_has_that_row_sent_again(tmp_path: Path) -> None:
    harness, database = _table_harness(tmp_path, {"mode": "mirror"})
    harness.table = contacts((7, "k@x", "K"), (9, "o@x", "ok9"))
    harness.run()
    # Row 9 takes k@x, which row 7 holds: the last write wins, o@x goes.
    harness.table = contacts((7, "k@x", "K"), (9, "k@x", "ok9"))
    harness.run()
    assert _records(database) == [("k@x", "ok9")]

    harness.table = contacts((7, "k@x", "K"), (9, "o@x", "ok9"))
    third = harness.run()

    assert third.status is RunStatus.SUCCESS, third.error
    # k@x is not removed (row 7 holds it) but gets row 7's values back.
    assert _planned(third) == (0, 2, 0)
    assert third.progress.successful.changed == 2
    assert _records(database) == [("k@x", "K"), ("o@x", "ok9")]
    assert harness.run().progress.planned.total == 0


def test_a_removed_row_whose_id_another_row_holds_has_that_row_sent_again(
    tmp_path: Path,
) -> None:
    harness, database = _row_nine_takes_rows_four_id(tmp_path)
    assert _records(database) == [("d@x", "ok9")]

    harness.table = contacts((4, "d@x", "di"))
    third = harness.run()

    assert third.status is RunStatus.SUCCESS, third.error
    assert _planned(third) == (0, 1, 0)
    assert _records(database) == [("d@x", "di")]
    assert harness.run().progress.planned.total == 0


def test_a_run_dying_before_the_holding_row_is_sent_leaves_it_to_the_next(
    tmp_path: Path,
) -> None:
    harness, database = _row_nine_takes_rows_four_id(tmp_path)

    def die(batch: object) -> None:
        raise RuntimeError("process died")

    harness.table = contacts((4, "d@x", "di"))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(harness.destination, "write_batch", die)
        assert harness.run().status is RunStatus.FAILED
    assert _records(database) == [("d@x", "ok9")]

    resumed = harness.run()
    assert resumed.status is RunStatus.SUCCESS, resumed.error
    assert resumed.progress.planned.changed == 1
    assert _records(database) == [("d@x", "di")]
    assert harness.run().progress.planned.total == 0
