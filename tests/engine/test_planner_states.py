"""The join at ingest gives every row its state; the key check and the diff read it.

The check for repeated keys counts instead of grouping every key: these tests repeat a
key the snapshot already holds, unchanged or changed, and a key it does not, and check
that each repeat still fails the run before anything is written.
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from engine_doubles import Harness, people

from syncline.connectors.sources.base import json_field
from syncline.engine.planner import local
from syncline.engine.planner.local import CURRENT, JOINED, LocalPlanner
from syncline.engine.planner.windows import Window
from syncline.engine.report import Operation, RunStatus

BASE = [(1, "ann", 1.0), (2, "bob", 2.0), (3, "cy", 3.0)]


def _mirror(tmp_path: Path) -> Harness:
    harness = Harness(tmp_path, people(BASE), {"mode": "mirror", "object": "people"})
    assert harness.run().status is RunStatus.SUCCESS
    return harness


def _fails_on_repeat(harness: Harness, rows: list[tuple[object, ...]], example: str) -> None:
    calls = harness.destination.calls
    harness.table = people(rows)
    result = harness.run()
    assert result.status is RunStatus.FAILED
    assert result.error is not None
    assert "NON_UNIQUE_PRIMARY_KEY" in result.error
    assert f"{example!r} (2 rows)" in result.error
    assert harness.destination.calls == calls


def test_an_unchanged_key_of_the_snapshot_repeated_fails_the_run(tmp_path: Path) -> None:
    harness = _mirror(tmp_path)
    _fails_on_repeat(harness, [*BASE, (2, "bob", 2.0)], "2")


def test_a_changed_key_of_the_snapshot_repeated_fails_the_run(tmp_path: Path) -> None:
    harness = _mirror(tmp_path)
    _fails_on_repeat(harness, [*BASE, (3, "cy", 9.0)], "3")


def test_a_new_key_repeated_fails_the_run(tmp_path: Path) -> None:
    harness = _mirror(tmp_path)
    _fails_on_repeat(harness, [*BASE, (4, "di", 4.0), (4, "di", 4.5)], "4")


def test_a_repeat_among_removed_keys_is_no_repeat(tmp_path: Path) -> None:
    harness = _mirror(tmp_path)
    harness.table = people([(1, "ann", 1.0), (4, "di", 4.0)])
    result = harness.run()
    assert result.status is RunStatus.SUCCESS
    assert result.progress.planned.as_api() == {
        "addedCount": 1,
        "changedCount": 0,
        "removedCount": 2,
    }


def _second_ingest(tmp_path: Path, *, every_row: bool) -> tuple[list[Any], list[Any], Any]:
    """Ingest BASE, take it as the snapshot, then ingest a changed model; return the
    current keys, every joined row's key and state, and the plan's counts."""
    first = people(BASE)
    planner = LocalPlanner(tmp_path, 1, primary_key="id", id_column="id", every_row=every_row)
    try:
        planner.ingest(iter(first.to_batches(max_chunksize=2)), first.schema, first.schema.names)
        planner.store.replace_baseline(CURRENT)

        second = people([(1, "ann", 1.0), (3, "cy", 3.5), (None, "x", 0.0), (5, "ed", 5.0)])
        stats = planner.ingest(
            iter(second.to_batches(max_chunksize=2)), second.schema, second.schema.names
        )
        assert stats.null_keys == 1
        con = planner.store.connection
        current = con.execute(f"SELECT _sl_key FROM {CURRENT} ORDER BY _sl_key").fetchall()
        states = con.execute(
            f"SELECT _sl_key, _sl_state FROM {JOINED} ORDER BY _sl_key NULLS LAST"
        ).fetchall()
        planner.check_unique_keys()
        plan = planner.diff(every_row=every_row)
    finally:
        planner.close()
    return current, states, plan.counts


def test_joined_rows_leave_out_unchanged_rows_and_hold_the_lost_keys(tmp_path: Path) -> None:
    current, states, counts = _second_ingest(tmp_path, every_row=False)

    assert current == [("3",), ("5",), (None,)]
    # removed, changed, added, no key; the unchanged row 1 is left out
    assert states == [("2", 4), ("3", 2), ("5", 1), (None, 5)]
    assert (counts.added, counts.changed, counts.removed) == (1, 1, 1)


def test_a_planner_for_every_row_keeps_the_unchanged_rows(tmp_path: Path) -> None:
    current, states, counts = _second_ingest(tmp_path, every_row=True)

    assert current == [("1",), ("3",), ("5",), (None,)]
    assert states == [("1", 0), ("2", 4), ("3", 2), ("5", 1), (None, 5)]
    assert (counts.added, counts.changed, counts.removed) == (1, 2, 1)


def test_schema_of_planned_rows_is_the_models(tmp_path: Path) -> None:
    table = people(BASE)
    planner = LocalPlanner(tmp_path, 1, primary_key="id", id_column="id")
    try:
        planner.ingest(iter(table.to_batches()), table.schema, table.schema.names)
        planner.check_unique_keys()
        planner.diff()
        batches = list(planner.planned_batches(Operation.ADDED, 2))
    finally:
        planner.close()
    assert [batch.num_rows for batch in batches] == [2, 1]
    for name in table.schema.names:
        assert batches[0].schema.field(name).type == table.schema.field(name).type
    assert pa.Table.from_batches(batches).column("name").to_pylist() == ["ann", "bob", "cy"]


def test_a_json_key_repeated_in_another_spelling_fails_the_run(tmp_path: Path) -> None:
    schema = pa.schema([json_field("id"), ("name", pa.string())])
    rows = [('{"a": 1, "b": 2}', "ann"), ('{"a": 2}', "bob")]
    harness = Harness(tmp_path, people(rows, schema), {"mode": "mirror", "object": "people"})
    assert harness.run().status is RunStatus.SUCCESS

    harness.table = people([*rows, ('{"b":2,"a":1}', "ann")], schema)
    result = harness.run()
    assert result.status is RunStatus.FAILED
    assert result.error is not None
    assert '\'{"a":1,"b":2}\' (2 rows)' in result.error


def test_planned_rows_come_in_model_order_across_windows_of_positions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Windows of about four planned rows.
    monkeypatch.setattr(local, "BUDGET_SHARE", (192 << 20) // 600)
    monkeypatch.setattr(local, "FEW_ROWS", 0)
    windows: list[int] = []
    cut_at = local.plan_windows

    def counted(position: str, at: Sequence[int]) -> list[Window]:
        windows.append(len(at))
        return cut_at(position, at)

    monkeypatch.setattr(local, "plan_windows", counted)
    first = people([(k, f"n{k}", 1.0) for k in range(20)])
    second = people([(k, f"m{k}", 1.0) for k in reversed(range(7, 20))])
    planner = LocalPlanner(tmp_path, 1, primary_key="id", id_column="id")
    try:
        planner.ingest(iter(first.to_batches(max_chunksize=5)), first.schema, first.schema.names)
        planner.store.replace_baseline(CURRENT)
        planner.ingest(iter(second.to_batches(max_chunksize=5)), second.schema, second.schema.names)
        planner.check_unique_keys()
        planner.diff()
        changed = list(planner.planned_batches(Operation.CHANGED, 5))
        removed = list(planner.planned_batches(Operation.REMOVED, 5))
    finally:
        planner.close()

    # 13 changed rows over several windows of positions, regrouped in batches of 5.
    assert windows[0] >= 2
    assert [batch.num_rows for batch in changed] == [5, 5, 3]
    ids = pa.Table.from_batches(changed).column("id").to_pylist()
    assert ids == list(reversed(range(7, 20)))
    # The removed rows, which have no position, each once.
    gone = pa.Table.from_batches(removed).column("id").to_pylist()
    assert sorted(gone) == list(range(7))


def _changed_rows(tmp_path: Path, schema: pa.Schema, before: list[Any], after: list[Any]) -> Any:
    """Plan ``after`` against a snapshot of ``before``; the changed rows as planned."""
    planner = LocalPlanner(tmp_path, 1, primary_key="id", id_column="id")
    try:
        first = pa.Table.from_pylist(before, schema)
        planner.ingest(iter(first.to_batches()), schema, schema.names)
        planner.store.replace_baseline(CURRENT)
        second = pa.Table.from_pylist(after, schema)
        planner.ingest(iter(second.to_batches()), schema, schema.names)
        planner.check_unique_keys()
        planner.diff()
        carried = bool(planner._carried)
        batches = list(planner.planned_batches(Operation.CHANGED, 10))
    finally:
        planner.close()
    return carried, pa.Table.from_batches(batches)


@pytest.mark.parametrize(
    ("kind", "old", "new", "carried"),
    [
        (pa.timestamp("us", tz="UTC"), dt.datetime(2024, 1, 1, tzinfo=dt.UTC), None, True),
        (pa.decimal128(15, 2), decimal.Decimal("1.50"), decimal.Decimal("-0.01"), True),
        (json_field("v").type, '{"a": 1}', '{"a": 2}', True),
        (
            pa.month_day_nano_interval(),
            pa.MonthDayNano([1, 0, 0]),
            pa.MonthDayNano([0, 30, 0]),
            False,
        ),
    ],
)
def test_changed_rows_keep_the_models_types_and_values(
    tmp_path: Path, kind: pa.DataType, old: object, new: object, carried: bool
) -> None:
    field = json_field("v") if kind == pa.string() else pa.field("v", kind)
    schema = pa.schema([pa.field("id", pa.int64()), field])
    before = [{"id": 1, "v": old}, {"id": 2, "v": old}]
    after = [{"id": 1, "v": old}, {"id": 2, "v": new}]

    took_duckdb, changed = _changed_rows(tmp_path, schema, before, after)

    # Types DuckDB returns exactly ride along in it; others come from the row file.
    assert took_duckdb is carried
    assert changed.schema.field("v") == field
    assert changed.schema.field("v").metadata == field.metadata
    assert changed.column("id").to_pylist() == [2]
    assert changed.column("v").to_pylist() == pa.array([new], kind).to_pylist()


def test_a_plan_of_every_row_is_a_view_and_a_later_plan_a_table(tmp_path: Path) -> None:
    table = people(BASE)
    planner = LocalPlanner(tmp_path, 1, primary_key="id", id_column="id")
    try:
        planner.ingest(iter(table.to_batches()), table.schema, table.schema.names)
        planner.check_unique_keys()
        assert planner.diff().counts.added == 3
        first = list(planner.planned_batches(Operation.ADDED, 10))
        planner.store.replace_baseline(CURRENT)

        changed = people([(1, "ann", 1.0), (2, "bob", 2.5)])
        planner.ingest(iter(changed.to_batches()), changed.schema, changed.schema.names)
        planner.check_unique_keys()
        plan = planner.diff()
        kinds = planner.store.connection.execute(
            "SELECT table_name FROM duckdb_tables() WHERE table_name = 'plan'"
        ).fetchall()
    finally:
        planner.close()
    assert pa.Table.from_batches(first).column("id").to_pylist() == [1, 2, 3]
    assert (plan.counts.added, plan.counts.changed, plan.counts.removed) == (0, 1, 1)
    assert kinds == [("plan",)]
