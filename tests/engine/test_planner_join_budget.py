"""A snapshot too large for the join budget is joined narrow, under the budget, to the
same plan.

The one-pass join carries every model column through DuckDB's hash join; against a
large snapshot the planner joins only key, prefilter, position and id under the join
budget (DuckDB partitions and spills), and fingerprints the rows the prefilter does not
vouch for afterwards, their columns read back from the row file.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from syncline.connectors.sources.base import json_field
from syncline.engine.planner import local
from syncline.engine.planner.local import CURRENT, JOINED, LocalPlanner
from syncline.engine.report import Operation
from syncline.errors import ConfigError
from syncline.settings import DEFAULT_PLANNER_JOIN_MEMORY, load_settings, memory_bytes

ROWS = 200_000
"""Snapshot entries: enough that DuckDB's hash join needs to partition under the budget."""

BUDGET = "32MB"
"""A small join budget; DuckDB's partitioned join needs some tens of megabytes."""

SCHEMA = pa.schema(
    [("id", pa.string()), ("name", pa.string()), ("score", pa.float64()), json_field("doc")]
)


def _model(rows: list[tuple[Any, ...]]) -> pa.Table:
    return pa.Table.from_pylist(
        [dict(zip(SCHEMA.names, row, strict=True)) for row in rows], schema=SCHEMA
    )


BASE = [(f"k{i:06d}", f"name {i}", float(i), f'{{"n": {i}}}') for i in range(ROWS)]


def _changed() -> list[tuple[Any, ...]]:
    """BASE with every 50th row changed, every 97th gone, new keys and a NULL key."""
    rows: list[tuple[Any, ...]] = []
    for i, row in enumerate(BASE):
        if i % 97 == 0:
            continue
        if i % 50 == 0:
            row = (row[0], row[1] + "!", row[2], row[3])
        elif i % 75 == 0:
            # The same JSON document spelled differently is no change.
            row = (row[0], row[1], row[2], f'{{ "n" : {i} }}')
        rows.append(row)
    rows += [(f"new{i}", "new", 0.5, None) for i in range(300)]
    rows.append((None, "no key", 1.0, None))
    return rows


def _batches(table: pa.Table, seen: list[str] | None, planner: LocalPlanner) -> Iterator[Any]:
    """``table``'s batches; with ``seen``, record DuckDB's memory limit as the join reads."""
    for batch in table.to_batches(max_chunksize=4096):
        if seen is not None and not seen:
            cursor = planner.store.connection.cursor()
            try:
                row = cursor.execute("SELECT current_setting('memory_limit')").fetchone()
            finally:
                cursor.close()
            seen.append(str(row[0]) if row else "")
        yield batch


def _baseline(folder: Path, rows: list[tuple[Any, ...]]) -> None:
    """Make ``rows`` the snapshot of sync 1 in ``folder``, as a first run would."""
    planner = LocalPlanner(folder, 1, primary_key="id", id_column="id")
    try:
        first = _model(rows)
        planner.ingest(iter(first.to_batches(max_chunksize=4096)), SCHEMA, SCHEMA.names)
        planner.store.replace_baseline(CURRENT)
    finally:
        planner.close()


def _plan(folder: Path, join_memory: str, limits: list[str] | None = None) -> dict[str, Any]:
    """Make BASE the snapshot, ingest and diff the changed model; return what it planned."""
    _baseline(folder, BASE)
    planner = LocalPlanner(
        folder, 1, primary_key="id", id_column="id", memory_limit="1GB", join_memory=join_memory
    )
    try:
        second = _model(_changed())
        stats = planner.ingest(_batches(second, limits, planner), SCHEMA, SCHEMA.names)
        planner.check_unique_keys()
        plan = planner.diff()
        con = planner.store.connection
        joined = con.execute(
            f"SELECT _sl_key, _sl_fp, _sl_h, _sl_fresh, _sl_state, _sl_pos, _sl_id FROM {JOINED} "
            "ORDER BY _sl_key NULLS FIRST, _sl_pos NULLS FIRST"
        ).fetchall()
        planned = {
            operation: [
                row
                for batch in planner.planned_batches(operation, 1000)
                for row in batch.to_pylist()
            ]
            for operation in (Operation.ADDED, Operation.CHANGED, Operation.REMOVED)
        }
        # Removed rows have no model position and come in no particular order.
        planned[Operation.REMOVED].sort(key=lambda row: row["_sl_key"])
        return {
            "narrow": planner.narrow_join,
            "null_keys": stats.null_keys,
            "counts": plan.counts.as_api(),
            "joined": joined,
            "planned": planned,
        }
    finally:
        planner.close()


def test_a_snapshot_over_the_budget_is_joined_narrow_to_the_same_plan(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The snapshot's entries are counted large enough to outgrow the budget.
    monkeypatch.setattr(local, "_JOIN_BYTES_PER_ENTRY", 1024)
    limits: list[str] = []
    narrow = _plan(tmp_path / "narrow", BUDGET, limits)
    wide_limits: list[str] = []
    wide = _plan(tmp_path / "wide", "512MB", wide_limits)

    assert narrow["narrow"] is True
    assert wide["narrow"] is False
    # The narrow join read the model under the budget, the one-pass join at the cap.
    assert limits == ["30.5 MiB"]
    assert wide_limits == ["953.6 MiB"]
    assert (
        narrow["counts"]
        == wide["counts"]
        == {
            "addedCount": 300,
            "changedCount": len([i for i in range(ROWS) if i % 50 == 0 and i % 97]),
            "removedCount": len(range(0, ROWS, 97)),
        }
    )
    assert narrow["null_keys"] == wide["null_keys"] == 1
    assert narrow["joined"] == wide["joined"]
    assert narrow["planned"] == wide["planned"]


def test_a_repeated_key_is_found_after_a_narrow_join(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(local, "_JOIN_BYTES_PER_ENTRY", 1024)
    _baseline(tmp_path, BASE)
    planner = LocalPlanner(tmp_path, 1, primary_key="id", id_column="id", join_memory=BUDGET)
    try:
        second = _model([*BASE, BASE[7]])
        planner.ingest(iter(second.to_batches(max_chunksize=4096)), SCHEMA, SCHEMA.names)
        assert planner.narrow_join
        with pytest.raises(Exception, match="k000007"):
            planner.check_unique_keys()
    finally:
        planner.close()


def _limit(planner: LocalPlanner) -> str:
    row = planner.store.connection.execute("SELECT current_setting('memory_limit')").fetchone()
    return str(row[0]) if row else ""


def _limits(folder: Path, cap: str, budget: str) -> tuple[str, str, str]:
    """DuckDB's memory limit as a planner opens, inside ``at_cap()`` and after it."""
    planner = LocalPlanner(
        folder, 1, primary_key="id", id_column="id", memory_limit=cap, join_memory=budget
    )
    try:
        opened = _limit(planner)
        with planner.store.at_cap():
            inside = _limit(planner)
        return opened, inside, _limit(planner)
    finally:
        planner.close()


def test_duckdb_works_under_the_budget_and_reaches_the_cap_only_when_let(tmp_path: Path) -> None:
    limits = _limits(tmp_path, cap="1GB", budget="100MB")

    assert limits == ("95.3 MiB", "953.6 MiB", "95.3 MiB")


def test_the_join_budget_is_never_above_the_cap(tmp_path: Path) -> None:
    opened, inside, _ = _limits(tmp_path, cap="100MB", budget="1GB")

    assert opened == inside == "95.3 MiB"


def test_the_join_budget_has_a_fixed_default_and_an_environment_name(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("SYNCLINE_PLANNER_JOIN_MEMORY", raising=False)
    assert load_settings().planner_join_memory == DEFAULT_PLANNER_JOIN_MEMORY
    monkeypatch.setenv("SYNCLINE_PLANNER_JOIN_MEMORY", "1GiB")
    assert load_settings().planner_join_memory == "1GiB"
    monkeypatch.setenv("SYNCLINE_PLANNER_JOIN_MEMORY", "lots")
    with pytest.raises(ConfigError, match="SYNCLINE_PLANNER_JOIN_MEMORY"):
        load_settings()
    monkeypatch.setenv("SYNCLINE_PLANNER_JOIN_MEMORY", "32MB")
    with pytest.raises(ConfigError, match="at least 64MiB"):
        load_settings()


@pytest.mark.parametrize(
    ("size", "expected"),
    [("512MB", 512 * 10**6), ("1.5GiB", 3 * 2**29), ("2G", 2 * 10**9), ("100", 100)],
)
def test_memory_sizes_read_as_duckdb_reads_them(size: str, expected: int) -> None:
    assert memory_bytes(size) == expected
