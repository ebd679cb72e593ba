"""Records matched on an external id: a removed row never deletes a record a current row holds."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from engine_doubles import Harness

from syncline.connectors.registry import destination_class
from syncline.engine.report import RunStatus

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
    assert second.progress.planned.as_api() == {
        "addedCount": 1,
        "changedCount": 0,
        "removedCount": 0,
    }
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

    # Bob takes over the address Ann's account gave up.
    harness.table = contacts((2, "a@x", "bob"))
    second = harness.run()

    assert second.status is RunStatus.SUCCESS, second.error
    assert second.progress.planned.as_api() == {
        "addedCount": 0,
        "changedCount": 1,
        "removedCount": 0,
    }
    assert ("a@x", "bob") in _records(database)
    assert harness.run().progress.planned.total == 0


def test_a_removed_row_whose_external_id_no_row_holds_is_still_deleted(tmp_path: Path) -> None:
    harness, database = _table_harness(tmp_path, {"mode": "mirror"})
    harness.table = contacts((1, "a@x", "ann"), (2, "b@x", "bob"))
    harness.run()

    harness.table = contacts((2, "b@x", "bob"), (3, "c@x", "cy"))
    second = harness.run()

    assert second.progress.planned.as_api() == {
        "addedCount": 1,
        "changedCount": 0,
        "removedCount": 1,
    }
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
    assert second.progress.planned.total == 0
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

    assert dry.progress.planned.as_api() == {
        "addedCount": 1,
        "changedCount": 0,
        "removedCount": 0,
    }
    assert _records(database) == [("a@x", "ann")]
