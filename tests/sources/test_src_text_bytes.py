"""Bytes are never read as text by guessing: text that is not UTF-8 fails, never altered.

Every source that builds text from driver values shares one conversion; a value with
invalid UTF-8 would otherwise become replacement characters without anyone knowing.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pyarrow as pa
import pytest

from syncline.connectors.sources._rows import UnfitValue, text
from syncline.connectors.sources.sqlalchemy import SQLAlchemySource
from syncline.errors import TerminalError


def test_utf8_bytes_read_as_their_text_and_other_bytes_are_refused() -> None:
    assert text(b"caf\xc3\xa9") == "café"
    assert text(memoryview(b"")) == ""
    with pytest.raises(UnfitValue, match="not UTF-8"):
        text(b"\xff\x00")


def test_a_blob_among_other_kinds_fails_the_sqlalchemy_read_naming_the_column(
    tmp_path: Path,
) -> None:
    path = tmp_path / "mixed.db"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, mixed)")
        connection.executemany(
            "INSERT INTO t (mixed) VALUES (?)", [(42,), ("text",), (1.5,), (b"\xff\x00",)]
        )
    connection.close()
    source = SQLAlchemySource.from_config({"url": f"sqlite:///{path}"})

    with pytest.raises(TerminalError) as caught:
        pa.Table.from_batches(list(source.read("SELECT mixed FROM t ORDER BY id")))

    # A SQLite file is read as the sqlite source reads it: a BLOB has no text form.
    message = str(caught.value)
    assert "column 'mixed'" in message
    assert "BLOB, which has no exact text form" in message
