"""clearAndFill: the destination object is emptied, then every model row is sent again."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from engine_doubles import Harness, people

from syncline.connectors.registry import destination_class
from syncline.engine.report import RunStatus

ROWS = [(1, "ada", 1.0), (2, "bob", 2.0), (3, "cy", 3.0)]


def _table_harness(tmp_path: Path) -> tuple[Harness, Path]:
    database = tmp_path / "destination.db"
    destination = destination_class("sqlite").from_config({"path": str(database)})
    harness = Harness(tmp_path / "snapshots", people(ROWS))
    harness.destination = destination
    return harness, database


def _rows(database: Path) -> list[tuple[object, ...]]:
    with sqlite3.connect(database) as connection:
        return connection.execute("SELECT id, name FROM people ORDER BY id").fetchall()


def test_clear_and_fill_replaces_the_table_with_exactly_the_model(tmp_path: Path) -> None:
    harness, database = _table_harness(tmp_path)
    assert harness.run().status is RunStatus.SUCCESS
    with sqlite3.connect(database) as connection:
        connection.execute("INSERT INTO people (id, name, score) VALUES (99, 'stray', 0)")
    harness.table = people(ROWS[:2])

    result = harness.run(clear_and_fill=True)

    assert result.status is RunStatus.SUCCESS, result.error
    # The stray row and the row that left the model are gone with the clear; no delete
    # was planned for them, and every model row was sent as added.
    assert _rows(database) == [(1, "ada"), (2, "bob")]
    assert result.progress.planned.as_api() == {
        "addedCount": 2,
        "changedCount": 0,
        "removedCount": 0,
    }
    assert result.progress.successful.added == 2

    # The snapshot now matches the table: the next run has nothing to send.
    after = harness.run()
    assert after.progress.planned.total == 0


def test_a_destination_that_cannot_clear_fails_the_run_before_writing(tmp_path: Path) -> None:
    harness = Harness(tmp_path, people(ROWS))
    assert harness.run().status is RunStatus.SUCCESS
    harness.sent()

    result = harness.run(clear_and_fill=True)

    assert result.status is RunStatus.FAILED
    assert "cannot clear and fill" in (result.error or "")
    assert harness.sent() == []


def test_the_empty_model_guard_stops_a_clear_before_it_empties_the_table(
    tmp_path: Path,
) -> None:
    harness, database = _table_harness(tmp_path)
    assert harness.run().status is RunStatus.SUCCESS
    harness.table = people([])

    result = harness.run(clear_and_fill=True)

    assert result.status is RunStatus.FAILED
    assert "allowEmpty" in (result.error or "")
    assert _rows(database) == [(1, "ada"), (2, "bob"), (3, "cy")]
