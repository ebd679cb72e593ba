"""The plan is read out in windows that each sort within a share of the planner's budget.

A model with keys of hundreds of bytes used to run out of DuckDB memory on its first
run, when every row is planned and was sorted at once, and when it counted the distinct
keys; the windows are sized by the bytes of the planned rows, removed rows are streamed
unsorted and keys are counted by their hashes, so that first run, and a run removing
every such row, fit a budget smaller than the plan.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import pyarrow as pa
import pytest

from syncline.engine.planner import local
from syncline.engine.planner.local import CURRENT, LocalPlanner
from syncline.engine.planner.windows import RANGES, Window, cuts, plan_windows, range_width
from syncline.engine.report import Operation
from syncline.settings import DEFAULT_PLANNER_JOIN_MEMORY, memory_bytes

SCHEMA = pa.schema([("id", pa.string()), ("name", pa.string())])

SHORT_ROWS = 20_000
WIDE_ROWS = 280_000
KEY_BYTES = 520
"""20,000 short keys, then 280,000 of 520 bytes: sorted at once, they needed over 400 MiB
of DuckDB memory; a sample of the first rows took them all for short."""

BUDGET = "160MiB"
"""A join budget below the default, and about half of what the plan of every such row
holds (each key twice, as key and as id: some 300 MB)."""


def small_windows(monkeypatch: pytest.MonkeyPatch, window_bytes: int) -> None:
    """Make the default budget's windows ``window_bytes`` each, and measure any plan."""
    share = memory_bytes(DEFAULT_PLANNER_JOIN_MEMORY) // window_bytes
    monkeypatch.setattr(local, "BUDGET_SHARE", share)
    monkeypatch.setattr(local, "FEW_ROWS", 0)


def test_a_window_ends_with_the_range_that_fills_it() -> None:
    # Ranges of 10 positions; windows of 100 bytes.
    ranges = [(0, 60), (1, 30), (2, 30), (3, 500), (5, 10), (6, 95)]
    assert cuts(ranges, 10, 100) == [20, 30, 50, 60]
    # A range alone over the size still makes one window; nothing is cut before it.
    assert cuts([(0, 500)], 10, 100) == []


def test_positions_make_at_most_so_many_ranges() -> None:
    assert range_width(0) == 1
    assert range_width(RANGES - 1) == 1
    assert range_width(RANGES) == 2
    assert range_width(10_000_000) * RANGES >= 10_000_001


def test_windows_between_cuts_cover_every_position_and_every_row_without_one() -> None:
    assert plan_windows("pos", [500, 250, 750]) == [
        Window("pos < ?", (250,)),
        Window("pos >= ? AND pos < ?", (250, 500)),
        Window("pos >= ? AND pos < ?", (500, 750)),
        Window("pos >= ?", (750,)),
        # The rows without a position (removed ones) last, in no order: nothing is sorted.
        Window("pos IS NULL", in_order=False),
    ]
    assert plan_windows("pos", []) == [
        Window("pos IS NOT NULL"),
        Window("pos IS NULL", in_order=False),
    ]


def _model(count: int) -> Iterator[pa.RecordBatch]:
    """The first ``count`` rows of the model: SHORT_ROWS short keys, then long ones."""
    pad = "k" * (KEY_BYTES - 8)
    for start in range(0, count, 10_000):
        numbers = range(start, min(start + 10_000, count))
        keys = [f"s{n:08d}" if n < SHORT_ROWS else f"{pad}{n:08d}" for n in numbers]
        yield pa.record_batch([pa.array(keys), pa.array([f"n{n}" for n in numbers])], SCHEMA)


def _planned_ids(planner: LocalPlanner, operation: Operation) -> list[str]:
    return [
        key
        for batch in planner.planned_batches(operation, 5000)
        for key in batch.column("id").to_pylist()
    ]


def test_a_model_of_long_keys_is_planned_whole_and_removed_whole_under_a_smaller_budget(
    tmp_path: Path,
) -> None:
    total = SHORT_ROWS + WIDE_ROWS
    keys = [key for batch in _model(total) for key in batch.column(0).to_pylist()]
    planner = LocalPlanner(tmp_path, 1, primary_key="id", id_column="id", join_memory=BUDGET)
    try:
        planner.ingest(_model(total), SCHEMA, SCHEMA.names)
        planner.check_unique_keys()
        planner.diff()
        added = _planned_ids(planner, Operation.ADDED)
        planner.store.replace_baseline(CURRENT)
    finally:
        planner.close()
    # Every row once, in model order.
    assert added == keys

    planner = LocalPlanner(tmp_path, 1, primary_key="id", id_column="id", join_memory=BUDGET)
    try:
        planner.ingest(_model(10), SCHEMA, SCHEMA.names)
        planner.check_unique_keys()
        planner.diff()
        removed = _planned_ids(planner, Operation.REMOVED)
    finally:
        planner.close()
    assert len(removed) == len(set(removed)) == total - 10
    assert set(removed) == set(keys[10:])


def _window_starts(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Where the planner starts its read-out windows, as it cuts them from now on."""
    starts: list[int] = []

    def cut_at(position: str, at: Sequence[int]) -> list[Window]:
        starts.extend(at)
        return plan_windows(position, at)

    monkeypatch.setattr(local, "plan_windows", cut_at)
    return starts


def _added(
    folder: Path, model: pa.Table, *, before: pa.Table | None = None, rows_read: int = 0
) -> list[str]:
    """The ids of the rows a run of ``model`` adds, after one of ``before``; ``rows_read``
    stands in for the count of rows the first pass read."""
    planner = LocalPlanner(folder, 1, primary_key="id", id_column="id")
    try:
        if before is not None:
            planner.ingest(iter(before.to_batches()), SCHEMA, SCHEMA.names)
            planner.store.replace_baseline(CURRENT)
        planner.ingest(iter(model.to_batches(max_chunksize=7)), SCHEMA, SCHEMA.names)
        planner.check_unique_keys()
        planner.diff()
        if rows_read:
            planner._rows_read = rows_read
        return _planned_ids(planner, Operation.ADDED)
    finally:
        planner.close()


def test_rows_crowded_at_the_end_of_the_model_are_cut_as_finely_as_spread_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    small_windows(monkeypatch, 600)  # four or five of these rows
    starts = _window_starts(monkeypatch)
    old = pa.table({"id": [f"k{n:03d}" for n in range(80)], "name": ["a"] * 80}, SCHEMA)
    new = pa.table({"id": [f"k{n:03d}" for n in range(100)], "name": ["a"] * 100}, SCHEMA)

    assert _added(tmp_path, new, before=old) == [f"k{n:03d}" for n in range(80, 100)]
    # Twenty new rows at positions 80 to 99: several windows, all cut among them.
    assert len(starts) >= 3
    assert all(80 < at < 100 for at in starts)


def test_long_keys_after_short_ones_are_cut_by_their_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    small_windows(monkeypatch, 3000)
    starts = _window_starts(monkeypatch)
    pad = "k" * (KEY_BYTES - 8)
    keys = [f"s{n:03d}" for n in range(50)] + [f"{pad}{n:08d}" for n in range(50, 100)]

    assert _added(tmp_path, pa.table({"id": keys, "name": ["a"] * 100}, SCHEMA)) == keys
    # Fifty short rows fill a window or two; fifty rows of two long keys each, many.
    assert len([at for at in starts if at < 50]) <= 3
    assert len([at for at in starts if at >= 50]) >= 10


def test_rows_placed_past_the_count_of_the_first_pass_are_read_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A model whose second pass returns more rows than its first (rows of a NULL key
    # come and go between the two) places rows past the count the first pass read.
    small_windows(monkeypatch, 600)
    keys = [f"k{n:03d}" for n in range(40)]
    model = pa.table({"id": keys, "name": ["a"] * 40}, SCHEMA)

    assert _added(tmp_path, model, rows_read=25) == keys
