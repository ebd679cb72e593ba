"""SQLite values of another kind than their column's: read exactly, or refused by name.

SQLite lets any column hold integers, reals, text and BLOBs side by side. A column
whose values mix kinds is read as text, each number in its exact text form; a BLOB
has no text form, so it is refused, never decoded into replacement characters.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from sync_runs import sync_once

from syncline.connectors.sources.sqlite import SQLiteSource
from syncline.engine.report import RunStatus
from syncline.errors import TerminalError


def _file_with(tmp_path: Path, declared: str, *values: object) -> SQLiteSource:
    path = tmp_path / "kinds.db"
    with sqlite3.connect(path) as connection:
        connection.execute(f"CREATE TABLE t (id INTEGER PRIMARY KEY, v {declared})")
        connection.executemany("INSERT INTO t (v) VALUES (?)", [(value,) for value in values])
    connection.close()
    return SQLiteSource.from_config({"path": str(path)})


def _read(source: SQLiteSource, query: str = "SELECT v FROM t ORDER BY id") -> pa.Table:
    return pa.Table.from_batches(list(source.read(query)))


def _refusal(source: SQLiteSource, query: str = "SELECT v FROM t ORDER BY id") -> str:
    with pytest.raises(TerminalError) as caught:
        list(source.read(query))
    return str(caught.value)


def test_an_untyped_column_mixing_numbers_and_text_reads_each_value_as_its_exact_text(
    tmp_path: Path,
) -> None:
    source = _file_with(tmp_path, "", 42, "text", 1.5, None, 2**62 + 1, 1e-7)

    table = _read(source)

    assert table.schema.field("v").type == pa.string()
    assert table.column("v").to_pylist() == ["42", "text", "1.5", None, str(2**62 + 1), "1e-07"]
    assert [c.arrow_type for c in source.describe("SELECT v FROM t")] == [pa.string()]


def test_a_blob_among_other_kinds_is_refused_naming_the_column_and_the_fix(
    tmp_path: Path,
) -> None:
    source = _file_with(tmp_path, "", 42, "text", 1.5, b"\xff\x00")

    message = _refusal(source)

    assert "column 'v'" in message
    assert "BLOB" in message
    assert "hex(col)" in message
    assert "CAST(col AS BLOB)" in message


def test_the_fix_reads_a_mixed_column_as_exact_bytes(tmp_path: Path) -> None:
    source = _file_with(tmp_path, "", 42, "text", b"\xff\x00")

    table = _read(source, "SELECT CAST(v AS BLOB) AS v FROM t ORDER BY id")

    assert table.column("v").to_pylist() == [b"42", b"text", b"\xff\x00"]


def test_an_untyped_column_of_blobs_reads_them_byte_for_byte(tmp_path: Path) -> None:
    source = _file_with(tmp_path, "", b"\xff\x00", b"", None)

    table = _read(source)

    assert table.schema.field("v").type == pa.binary()
    assert table.column("v").to_pylist() == [b"\xff\x00", b"", None]


@pytest.mark.parametrize(
    ("declared", "values"),
    [
        ("TEXT", ["a", b"\xff\x00"]),
        ("BLOB", [b"\x01", 42]),
        ("INTEGER", [1, 1.5]),
        ("", [1] * 1_000 + [1.5]),
        ("", [1.5, 2**53 + 1]),
        ("REAL", [1.5, " 1_000 "]),
        ("JSON", ['{"a": 1}', b"\xff\x00"]),
    ],
)
def test_a_value_its_column_cannot_hold_exactly_is_refused_not_changed(
    tmp_path: Path, declared: str, values: list[Any]
) -> None:
    source = _file_with(tmp_path, declared, *values)

    message = _refusal(source)

    assert "column 'v'" in message
    assert "CAST" in message or "hex(" in message or "json(" in message


def test_a_mixed_column_plans_nothing_unchanged_and_one_row_per_changed_value(
    tmp_path: Path,
) -> None:
    source = _file_with(tmp_path, "", 42, "text", 1.5)
    query = "SELECT id, v FROM t"

    first = sync_once(source, query, tmp_path / "sync")
    again = sync_once(source, query, tmp_path / "sync")
    with sqlite3.connect(tmp_path / "kinds.db") as connection:
        connection.execute("UPDATE t SET v = 43 WHERE v = 42")
    connection.close()
    changed = sync_once(source, query, tmp_path / "sync")

    assert first.status is RunStatus.SUCCESS, first.error
    assert first.progress.planned.added == 3
    assert again.progress.planned.total == 0
    assert (changed.progress.planned.total, changed.progress.planned.changed) == (1, 1)
    assert (tmp_path / "sync" / "out" / "out.csv").read_text().splitlines() == [
        '"id","v"',
        '"1","43"',
        '"2","text"',
        '"3","1.5"',
    ]
