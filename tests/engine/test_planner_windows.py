"""The plan is read out in windows that each sort within a share of the planner's budget.

A model with keys of hundreds of bytes used to run out of DuckDB memory on its first
run, when every row is planned and was sorted at once; the windows are sized by the
bytes of the planned rows, and removed rows are streamed unsorted, so that first run,
and a run removing every such row, fit the default budget.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa

from syncline.engine.planner.local import CURRENT, LocalPlanner
from syncline.engine.planner.windows import (
    MAX_POSITIONS,
    MIN_ROWS,
    Window,
    plan_windows,
    window_rows,
)
from syncline.engine.report import Operation

SCHEMA = pa.schema([("id", pa.string()), ("name", pa.string())])

WIDE_ROWS = 300_000
KEY_BYTES = 520
"""300,000 keys of 520 bytes: their sort at once needed over 400 MiB of DuckDB memory."""


def _windows(**counts: int) -> list[Window]:
    return plan_windows(position="pos", **counts)


def test_wide_rows_make_small_windows_and_narrow_rows_large_ones() -> None:
    budget = 192 << 20
    assert window_rows(1100, budget) == budget // (4 * 1100)
    assert window_rows(60, budget) == budget // (4 * 60)
    # However wide the rows, a window holds a floor of rows.
    assert window_rows(10_000_000, budget) == MIN_ROWS


def test_windows_cover_every_position_and_every_row_without_one() -> None:
    windows = _windows(rows_read=1000, placed=1000, rows_per_window=300)
    assert [w.parameters for w in windows[:-1]] == [(0, 250), (250, 500), (500, 750), (750, 1000)]
    assert all(w.in_order for w in windows[:-1])
    # The rows without a position (removed ones) last, in no order, so nothing is sorted.
    assert windows[-1] == Window("pos IS NULL", in_order=False)


def test_few_planned_rows_over_many_positions_take_one_window() -> None:
    windows = _windows(rows_read=500_000, placed=800, rows_per_window=50_000)
    assert [w.parameters for w in windows] == [(0, 500_000), ()]


def test_a_window_never_spans_more_positions_than_the_cap() -> None:
    rows_read = 3 * MAX_POSITIONS
    windows = _windows(rows_read=rows_read, placed=10, rows_per_window=1000)
    ranges = [w.parameters for w in windows[:-1]]
    assert ranges == [(n * MAX_POSITIONS, (n + 1) * MAX_POSITIONS) for n in range(3)]


def _model(count: int) -> Iterator[pa.RecordBatch]:
    pad = "k" * (KEY_BYTES - 8)
    for start in range(0, count, 10_000):
        numbers = range(start, min(start + 10_000, count))
        yield pa.record_batch(
            [pa.array([f"{pad}{n:08d}" for n in numbers]), pa.array([f"n{n}" for n in numbers])],
            schema=SCHEMA,
        )


def _planned_ids(planner: LocalPlanner, operation: Operation) -> list[str]:
    return [
        key
        for batch in planner.planned_batches(operation, 5000)
        for key in batch.column("id").to_pylist()
    ]


def test_a_model_of_long_keys_is_planned_whole_and_removed_whole_under_the_default_budget(
    tmp_path: Path,
) -> None:
    planner = LocalPlanner(tmp_path, 1, primary_key="id", id_column="id")
    try:
        planner.ingest(_model(WIDE_ROWS), SCHEMA, SCHEMA.names)
        planner.check_unique_keys()
        planner.diff()
        added = _planned_ids(planner, Operation.ADDED)
        planner.store.replace_baseline(CURRENT)
    finally:
        planner.close()
    assert len(added) == len(set(added)) == WIDE_ROWS
    # In model order.
    assert added == sorted(added)

    planner = LocalPlanner(tmp_path, 1, primary_key="id", id_column="id")
    try:
        planner.ingest(_model(10), SCHEMA, SCHEMA.names)
        planner.check_unique_keys()
        planner.diff()
        removed = _planned_ids(planner, Operation.REMOVED)
    finally:
        planner.close()
    assert len(removed) == len(set(removed)) == WIDE_ROWS - 10
    assert min(removed).endswith("00000010")
