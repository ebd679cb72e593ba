"""fields(): a maintained file that exists tells its fields; other files cannot."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from file_helpers import batch, context, run

from syncline.connectors.destinations.base import Destination, SyncMode, WriteAction
from syncline.errors import TerminalError

ROWS = [{"id": 1, "name": "Ada"}, {"id": 2, "name": "Bob"}]


def test_a_written_maintained_file_lists_its_fields(
    kind: str, make: Callable[[], Destination]
) -> None:
    run(make(), context("users", SyncMode.UPSERT), [batch(WriteAction.UPSERT, ROWS)])

    found = make().fields("users")

    if kind == "jsonl":
        assert found is None  # JSON Lines declares no fields: each line has its own keys
        return
    assert found is not None
    assert [f.name for f in found] == ["id", "name"]
    expected = ["text", "text"] if kind == "csv" else ["int64", "string"]
    assert [f.type for f in found] == expected


def test_a_missing_or_per_run_file_has_no_fields(
    make: Callable[[], Destination], tmp_path: Path
) -> None:
    run(make(), context("runs/{run_id}", SyncMode.UPSERT), [batch(WriteAction.UPSERT, ROWS)])

    assert make().fields("users") is None
    assert make().fields("runs/{run_id}") is None


def test_a_name_that_leaves_the_folder_is_refused(make: Callable[[], Destination]) -> None:
    with pytest.raises(TerminalError, match="relative path inside the destination folder"):
        make().fields("../secrets")


@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_a_file_that_is_not_of_its_format_is_a_terminal_error(
    make: Callable[[], Destination], tmp_path: Path
) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "users").write_bytes(b"\xff\xfe not this format \x00\x01")

    with pytest.raises(TerminalError, match="cannot be read as"):
        make().fields("users")
