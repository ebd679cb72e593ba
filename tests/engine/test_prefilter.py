"""The prefilter: a cheap hash that lets an unchanged row keep its stored fingerprint.

Every test here checks that the shortcut never hides a change and never keeps a
fingerprint the md5 would not give.
"""

from __future__ import annotations

import datetime as dt
import decimal
from pathlib import Path

import duckdb
import pyarrow as pa
from engine_doubles import Harness, people

from syncline.engine.planner.local import CURRENT, LocalPlanner
from syncline.engine.planner.store import PREFILTER_SCHEME, snapshot_path

ROWS = [(1, "ann", 1.0), (2, "bob", 2.0), (3, "cy", 3.0)]


def _snapshot(tmp_path: Path) -> list[tuple[str, int | None, int | None]]:
    """The snapshot's (key, fingerprint, prefilter) rows of the harness's sync."""
    connection = duckdb.connect(str(snapshot_path(tmp_path, 7)))
    try:
        rows = connection.execute("SELECT key, fp, h FROM snapshot ORDER BY key").fetchall()
    finally:
        connection.close()
    return [(str(key), fp, h) for key, fp, h in rows]


def _changed(harness: Harness) -> int:
    return harness.run().progress.planned.as_api()["changedCount"]


def _ingest(planner: LocalPlanner, table: pa.Table, salt: str = "") -> list[tuple[str, int, bool]]:
    """Ingest ``table``; return each row's key, fingerprint and whether it was computed."""
    planner.ingest(
        iter(table.to_batches(max_chunksize=2)), table.schema, table.schema.names, salt=salt
    )
    rows = planner.store.connection.execute(
        f"SELECT _sl_key, _sl_fp, _sl_fresh FROM {CURRENT} ORDER BY _sl_key"
    ).fetchall()
    return [(str(key), int(fp), bool(fresh)) for key, fp, fresh in rows]


def _fingerprints(table: pa.Table, salt: str = "") -> list[tuple[str, int, bool]]:
    """What an empty snapshot gives: every fingerprint computed with md5."""
    planner = LocalPlanner(Path("unused"), 1, primary_key="id", id_column="id", in_memory=True)
    try:
        return _ingest(planner, table, salt)
    finally:
        planner.close()


def test_unchanged_rows_take_the_stored_fingerprint_and_changed_rows_are_found(
    tmp_path: Path,
) -> None:
    table = people(ROWS)
    # Every row kept past the ingest, so that the unchanged ones can be looked at.
    planner = LocalPlanner(tmp_path, 1, primary_key="id", id_column="id", every_row=True)
    try:
        first = _ingest(planner, table)
        assert all(fresh for _, _, fresh in first)
        planner.store.replace_baseline(CURRENT)

        changed = people([(1, "ann", 1.0), (2, "bob", 2.5), (3, "cy", 3.0)])
        again = _ingest(planner, changed)
    finally:
        planner.close()

    assert [(key, fresh) for key, _, fresh in again] == [("1", False), ("2", True), ("3", False)]
    # Kept or computed, every fingerprint is the one md5 gives.
    assert again == [
        (key, fp, fresh)
        for (key, fp, _), (_, _, fresh) in zip(_fingerprints(changed), again, strict=True)
    ]
    assert again[1][1] != first[1][1]


def test_changes_are_found_run_after_run(tmp_path: Path) -> None:
    harness = Harness(tmp_path, people(ROWS), {"mode": "mirror", "object": "people"})
    harness.run()
    first = _snapshot(tmp_path)
    assert all(h is not None for _, _, h in first)

    harness.table = people([(1, "ann", 1.0), (2, "bob", 2.5), (3, "cy", 3.0)])
    assert _changed(harness) == 1
    # The changed row's new fingerprint came with its new prefilter.
    second = _snapshot(tmp_path)
    assert [h == old for (_, _, h), (_, _, old) in zip(second, first, strict=True)] == [
        True,
        False,
        True,
    ]
    assert all(h is not None for _, _, h in second)
    assert _changed(harness) == 0

    harness.table = people([(1, "ann", 1.0), (2, "bob", 2.0), (3, "cy", 3.0)])
    assert _changed(harness) == 1
    assert harness.destination.records[2]["score"] == 2.0
    assert _snapshot(tmp_path) == first


def test_a_missing_prefilter_is_computed_and_remembered(tmp_path: Path) -> None:
    harness = Harness(tmp_path, people(ROWS), {"mode": "mirror", "object": "people"})
    harness.run()
    first = _snapshot(tmp_path)
    connection = duckdb.connect(str(snapshot_path(tmp_path, 7)))
    connection.execute("UPDATE snapshot SET h = NULL WHERE key = '2'")
    connection.close()

    assert _changed(harness) == 0
    assert _snapshot(tmp_path) == first


def test_a_prefilter_made_under_another_signature_is_replaced(tmp_path: Path) -> None:
    # A float column widened to double keeps its values and fingerprints, but every
    # prefilter changes with the column's type: the next run must fingerprint every row
    # once and keep the new prefilters, not again on every run after it (the old ones,
    # kept, would vouch for no row).
    def scores(kind: pa.DataType) -> pa.Table:
        schema = pa.schema([("id", pa.int64()), ("score", kind)])
        return people([(1, 1.5), (2, 2.25)], schema)

    harness = Harness(tmp_path, scores(pa.float32()), {"mode": "mirror", "object": "p"})
    harness.run()
    before = _snapshot(tmp_path)
    harness.table = scores(pa.float64())

    assert _changed(harness) == 0
    after = _snapshot(tmp_path)
    assert [fp for _, fp, _ in after] == [fp for _, fp, _ in before]
    pairs = zip(after, before, strict=True)
    assert all(h_after != h_before for (_, _, h_after), (_, _, h_before) in pairs)
    assert _changed(harness) == 0
    assert _snapshot(tmp_path) == after


def test_a_change_of_type_that_keeps_the_raw_value_is_a_change(tmp_path: Path) -> None:
    # DuckDB hashes decimal 1.50 (scale 2) and 15.0 (scale 1) alike: both are 150.
    def prices(kind: pa.DataType, value: str) -> pa.Table:
        schema = pa.schema([("id", pa.int64()), ("price", kind)])
        return people([(1, decimal.Decimal(value))], schema)

    harness = Harness(
        tmp_path, prices(pa.decimal128(9, 2), "1.50"), {"mode": "mirror", "object": "p"}
    )
    harness.run()
    harness.table = prices(pa.decimal128(9, 1), "15.0")
    assert _changed(harness) == 1
    harness.table = prices(pa.decimal128(9, 1), "1.5")
    assert _changed(harness) == 1


def test_intervals_that_duckdb_hashes_alike_are_told_apart(tmp_path: Path) -> None:
    # DuckDB's hash takes one month for 30 days; their canonical strings differ.
    schema = pa.schema([("id", pa.int64()), ("wait", pa.month_day_nano_interval())])
    month = people([(1, pa.MonthDayNano([1, 0, 0]))], schema)
    days = people([(1, pa.MonthDayNano([0, 30, 0]))], schema)

    harness = Harness(tmp_path, month, {"mode": "mirror", "object": "p"})
    harness.run()
    harness.table = days
    assert _changed(harness) == 1


def test_a_new_mapping_recomputes_every_fingerprint(tmp_path: Path) -> None:
    table = people(ROWS)
    planner = LocalPlanner(tmp_path, 1, primary_key="id", id_column="id")
    try:
        _ingest(planner, table, salt="map-a")
        planner.store.replace_baseline(CURRENT)
        again = _ingest(planner, table, salt="map-b")
    finally:
        planner.close()
    assert all(fresh for _, _, fresh in again)
    assert again == _fingerprints(table, salt="map-b")


def test_prefilters_of_another_duckdb_release_are_forgotten(tmp_path: Path) -> None:
    stamp = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    schema = pa.schema([("id", pa.int64()), ("at", pa.timestamp("us", tz="UTC"))])
    harness = Harness(
        tmp_path, people([(1, stamp), (2, stamp)], schema), {"mode": "mirror", "object": "p"}
    )
    harness.run()
    connection = duckdb.connect(str(snapshot_path(tmp_path, 7)))
    connection.execute(
        "UPDATE meta SET value = 'md5-upper64-lp-v2+duckdb-hash-0.0.1' WHERE name = 'prefilter'"
    )
    # A release whose hash differs: the stored prefilter now vouches for nothing.
    connection.execute("UPDATE snapshot SET h = 12345")
    connection.close()

    planner = LocalPlanner(tmp_path, 7, primary_key="id", id_column="id")
    try:
        meta = planner.store.connection.execute(
            "SELECT value FROM meta WHERE name = 'prefilter'"
        ).fetchone()
        stored = planner.store.connection.execute("SELECT count(h) FROM snapshot").fetchone()
    finally:
        planner.close()
    assert meta == (PREFILTER_SCHEME,)
    assert stored == (0,)

    harness.table = people([(1, stamp), (2, stamp + dt.timedelta(microseconds=1))], schema)
    assert _changed(harness) == 1
