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
from syncline.engine.planner.windows import (
    MIN_ROWS,
    Window,
    plan_windows,
    window_count,
    window_rows,
)
from syncline.engine.report import Operation

SCHEMA = pa.schema([("id", pa.string()), ("name", pa.string())])

WIDE_ROWS = 300_000
KEY_BYTES = 520
"""300,000 keys of 520 bytes: their sort at once needed over 400 MiB of DuckDB memory."""

BUDGET = "160MiB"
"""A join budget below the default, and about half of what the plan of every such row
holds (each key twice, as key and as id: some 310 MB)."""


def test_wide_rows_make_small_windows_and_narrow_rows_large_ones() -> None:
    budget = 192 << 20
    assert window_rows(1100, budget) == budget // (4 * 1100)
    assert window_rows(60, budget) == budget // (4 * 60)
    # However wide the rows, a window holds a floor of rows.
    assert window_rows(10_000_000, budget) == MIN_ROWS
    assert window_count(100_000, 45_000) == 3
    assert window_count(0, 45_000) == window_count(45_000, 45_000) == 1


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


def test_a_model_of_long_keys_is_planned_whole_and_removed_whole_under_a_smaller_budget(
    tmp_path: Path,
) -> None:
    planner = LocalPlanner(tmp_path, 1, primary_key="id", id_column="id", join_memory=BUDGET)
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

    planner = LocalPlanner(tmp_path, 1, primary_key="id", id_column="id", join_memory=BUDGET)
    try:
        planner.ingest(_model(10), SCHEMA, SCHEMA.names)
        planner.check_unique_keys()
        planner.diff()
        removed = _planned_ids(planner, Operation.REMOVED)
    finally:
        planner.close()
    assert len(removed) == len(set(removed)) == WIDE_ROWS - 10
    assert min(removed).endswith("00000010")


def test_rows_crowded_at_the_end_of_the_model_are_cut_as_finely_as_spread_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Windows of four rows, sized from a sample of two.
    monkeypatch.setattr(local, "_SAMPLE_ROWS", 2)
    monkeypatch.setattr(local, "window_rows", lambda row_bytes, budget_bytes: 4)
    cuts: list[list[int]] = []

    def cut_at(position: str, at: Sequence[int]) -> list[Window]:
        cuts.append(list(at))
        return plan_windows(position, at)

    monkeypatch.setattr(local, "plan_windows", cut_at)
    old = pa.table({"id": [f"k{n:03d}" for n in range(80)], "name": ["a"] * 80}, SCHEMA)
    new = pa.table({"id": [f"k{n:03d}" for n in range(100)], "name": ["a"] * 100}, SCHEMA)
    planner = LocalPlanner(tmp_path, 1, primary_key="id", id_column="id")
    try:
        planner.ingest(iter(old.to_batches()), SCHEMA, SCHEMA.names)
        planner.store.replace_baseline(CURRENT)
        planner.ingest(iter(new.to_batches(max_chunksize=7)), SCHEMA, SCHEMA.names)
        planner.check_unique_keys()
        planner.diff()
        added = _planned_ids(planner, Operation.ADDED)
    finally:
        planner.close()

    assert added == [f"k{n:03d}" for n in range(80, 100)]
    # Twenty new rows at positions 80 to 99: five windows, all cut among them.
    assert len(cuts) == 1
    assert len(cuts[0]) == 4
    assert all(80 < at < 100 for at in cuts[0])
