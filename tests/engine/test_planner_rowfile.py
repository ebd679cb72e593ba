"""The planner's row file gives back exactly the rows asked for, and leaves nothing behind."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from syncline.engine.planner.rowfile import RowFile, remove_stale

SCHEMA = pa.schema([("id", pa.int64()), ("name", pa.string()), ("tags", pa.list_(pa.string()))])


def _batch(ids: list[int]) -> pa.RecordBatch:
    names = [None if i % 4 == 1 else f"n{i}" for i in ids]
    tags = [[f"t{i}"] * (i % 3) for i in ids]
    return pa.record_batch([pa.array(ids, pa.int64()), names, tags], schema=SCHEMA)


@pytest.fixture
def rows(tmp_path: Path) -> RowFile:
    made = RowFile(SCHEMA, tmp_path, label="sync-1")
    for ids in ([0, 1, 2], [], [3, 4, 5, 6], [7, 8]):
        made.append(_batch(ids))
    return made


def test_rows_come_back_in_the_order_asked_with_nulls_for_missing_positions(
    rows: RowFile,
) -> None:
    taken = rows.take(pa.array([8, None, 0, 4, 3, None, 7], pa.int64()))

    expected = _batch([8, 0, 4, 3, 7]).to_pylist()
    nulls = {"id": None, "name": None, "tags": None}
    assert taken.to_pylist() == [
        expected[0], nulls, expected[1], expected[2], expected[3], nulls, expected[4]
    ]  # fmt: skip
    assert taken.schema == SCHEMA
    rows.close()


def test_every_row_and_no_row(rows: RowFile) -> None:
    assert rows.size == 9
    every = rows.take(pa.array(range(9), pa.int64()))
    assert every.to_pylist() == _batch(list(range(9))).to_pylist()
    assert rows.take(pa.array([], pa.int64())).num_rows == 0
    assert (
        rows.take(pa.array([None, None], pa.int64())).to_pylist()
        == [{"id": None, "name": None, "tags": None}] * 2
    )
    rows.close()


def test_closing_deletes_the_file(tmp_path: Path, rows: RowFile) -> None:
    assert list(tmp_path.iterdir())
    rows.close()
    assert list(tmp_path.iterdir()) == []


def test_files_left_by_a_killed_run_are_removed_only_for_that_sync(tmp_path: Path) -> None:
    RowFile(SCHEMA, tmp_path, label="sync-1")  # never closed: its process "died"
    other = RowFile(SCHEMA, tmp_path, label="sync-2")

    remove_stale(tmp_path, "sync-1")

    assert [path.name.startswith(".rows-sync-2-") for path in tmp_path.iterdir()] == [True]
    other.close()
