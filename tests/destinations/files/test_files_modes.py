"""Each sync mode on a maintained file, for CSV, JSON Lines and Parquet, read back exactly."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pytest
from file_helpers import SCHEMA, batch, context, read_records, run

from syncline.connectors.destinations.base import (
    Destination,
    SyncMode,
    WriteAction,
    WriteBatch,
)
from syncline.errors import TerminalError

Make = Callable[[], Destination]

ROWS = [{"id": 1, "name": "ada"}, {"id": 2, "name": "bob"}, {"id": 3, "name": "cy"}]


def _file(tmp_path: Path, kind: str) -> Path:
    return tmp_path / "out" / f"people.{kind}"


def test_upsert_replaces_in_place_and_appends_new_records(
    make: Make, kind: str, tmp_path: Path
) -> None:
    ctx = context(f"people.{kind}", SyncMode.UPSERT)
    run(make(), ctx, [batch(WriteAction.UPSERT, ROWS)])

    changes = [{"id": 4, "name": "dee"}, {"id": 2, "name": "bobby"}]
    results = run(
        make(),
        context(f"people.{kind}", SyncMode.UPSERT, run_id=2),
        [batch(WriteAction.UPSERT, changes)],
    )

    assert results[0].failures == []
    assert read_records(kind, _file(tmp_path, kind)) == [
        {"id": 1, "name": "ada"},
        {"id": 2, "name": "bobby"},
        {"id": 3, "name": "cy"},
        {"id": 4, "name": "dee"},
    ]


def test_mirror_deletes_records_and_a_missing_one_is_a_success(
    make: Make, kind: str, tmp_path: Path
) -> None:
    ctx = context(f"people.{kind}", SyncMode.MIRROR)
    results = run(
        make(),
        ctx,
        [
            batch(WriteAction.UPSERT, ROWS),
            batch(WriteAction.DELETE, [{"id": 1}, {"id": 99}]),
        ],
    )

    assert [r.failures for r in results] == [[], []]
    assert read_records(kind, _file(tmp_path, kind)) == ROWS[1:]


def test_insert_rejects_an_existing_id_and_writes_the_rest(
    make: Make, kind: str, tmp_path: Path
) -> None:
    ctx = context(f"people.{kind}", SyncMode.INSERT)
    run(make(), ctx, [batch(WriteAction.INSERT, ROWS[:1])])

    results = run(make(), ctx, [batch(WriteAction.INSERT, [{"id": 1, "name": "x"}, ROWS[1]])])

    [failure] = results[0].failures
    assert (failure.index, failure.retryable) == (0, False)
    assert "already exists" in failure.reason
    assert read_records(kind, _file(tmp_path, kind)) == ROWS[:2]


def test_update_rejects_a_missing_record_as_retryable(
    make: Make, kind: str, tmp_path: Path
) -> None:
    run(make(), context(f"people.{kind}", SyncMode.UPSERT), [batch(WriteAction.UPSERT, ROWS)])

    results = run(
        make(),
        context(f"people.{kind}", SyncMode.UPDATE, run_id=2),
        [batch(WriteAction.UPDATE, [{"id": 5, "name": "eve"}, {"id": 3, "name": "cyd"}])],
    )

    assert [(f.index, f.retryable) for f in results[0].failures] == [(0, True)]
    assert read_records(kind, _file(tmp_path, kind)) == [*ROWS[:2], {"id": 3, "name": "cyd"}]


def test_null_and_repeated_ids_are_rejected_not_written(
    make: Make, kind: str, tmp_path: Path
) -> None:
    rows = [
        {"id": None, "name": "nobody"},
        {"id": 8, "name": "one"},
        {"id": 8, "name": "two"},
        {"id": 9, "name": "ok"},
    ]
    results = run(
        make(), context(f"people.{kind}", SyncMode.UPSERT), [batch(WriteAction.UPSERT, rows)]
    )

    assert [(f.index, f.retryable) for f in results[0].failures] == [
        (0, False),
        (1, False),
        (2, False),
    ]
    assert "NULL" in results[0].failures[0].reason
    assert read_records(kind, _file(tmp_path, kind)) == [{"id": 9, "name": "ok"}]


def test_all_mode_rewrites_every_record_without_deleting(
    make: Make, kind: str, tmp_path: Path
) -> None:
    ctx = context(f"people.{kind}", SyncMode.ALL)
    run(make(), ctx, [batch(WriteAction.UPSERT, ROWS)])
    run(make(), ctx, [batch(WriteAction.UPSERT, [{"id": 3, "name": "cy"}])])

    assert read_records(kind, _file(tmp_path, kind)) == ROWS


def test_append_mode_adds_rows_at_the_end_without_matching_ids(
    make: Make, kind: str, tmp_path: Path
) -> None:
    ctx = context(f"events.{kind}", SyncMode.APPEND)
    run(make(), ctx, [batch(WriteAction.APPEND, ROWS[:2])])
    run(
        make(),
        context(f"events.{kind}", SyncMode.APPEND, run_id=2),
        [batch(WriteAction.APPEND, [ROWS[0], ROWS[2]])],
    )

    path = tmp_path / "out" / f"events.{kind}"
    assert read_records(kind, path) == [ROWS[0], ROWS[1], ROWS[0], ROWS[2]]


def test_many_batches_in_one_run_accumulate(make: Make, kind: str, tmp_path: Path) -> None:
    batches = [
        batch(WriteAction.UPSERT, [{"id": i, "name": f"n{i}"} for i in range(s, s + 50)])
        for s in range(0, 500, 50)
    ]
    results = run(make(), context(f"people.{kind}", SyncMode.UPSERT), batches)

    assert all(r.failures == [] for r in results)
    records = read_records(kind, _file(tmp_path, kind))
    assert records == [{"id": i, "name": f"n{i}"} for i in range(500)]


def test_a_new_field_in_a_later_run_leaves_older_records_null(
    make: Make, kind: str, tmp_path: Path
) -> None:
    run(make(), context(f"people.{kind}", SyncMode.UPSERT), [batch(WriteAction.UPSERT, ROWS[:1])])

    wider = pa.schema([*SCHEMA, pa.field("team", pa.string())])
    ctx = context(f"people.{kind}", SyncMode.UPSERT, schema=wider, run_id=2)
    run(make(), ctx, [batch(WriteAction.UPSERT, [{"id": 2, "name": "bob", "team": "red"}], wider)])

    records = read_records(kind, _file(tmp_path, kind))
    if kind == "jsonl":
        # A JSON line holds the fields its record was written with.
        assert records == [ROWS[0], {"id": 2, "name": "bob", "team": "red"}]
    else:
        assert records == [{**ROWS[0], "team": None}, {"id": 2, "name": "bob", "team": "red"}]


def test_added_then_changed_batches_in_one_run(make: Make, kind: str, tmp_path: Path) -> None:
    # Added rows are appended where the format allows, changed rows rewrite the file;
    # both in one run must leave exactly the merged records.
    results = run(
        make(),
        context(f"people.{kind}", SyncMode.UPSERT),
        [
            batch(WriteAction.UPSERT, ROWS[:2]),
            batch(WriteAction.UPSERT, ROWS[2:]),
            batch(WriteAction.UPSERT, [{"id": 1, "name": "ada the second"}]),
        ],
    )

    assert all(r.failures == [] for r in results)
    assert read_records(kind, _file(tmp_path, kind)) == [
        {"id": 1, "name": "ada the second"},
        ROWS[1],
        ROWS[2],
    ]


def test_clear_empties_a_maintained_file_before_a_full_load(
    make: Make, kind: str, tmp_path: Path
) -> None:
    run(make(), context(f"people.{kind}", SyncMode.MIRROR), [batch(WriteAction.UPSERT, ROWS)])
    destination = make()
    assert destination.capabilities.clears_objects

    destination.open(context(f"people.{kind}", SyncMode.MIRROR, run_id=2))
    destination.clear()
    destination.write_batch(batch(WriteAction.UPSERT, ROWS[1:]))
    destination.finish()
    destination.close()

    assert read_records(kind, _file(tmp_path, kind)) == ROWS[1:]


def test_a_file_there_before_the_first_run_without_the_id_field_is_refused(
    make: Make, kind: str, tmp_path: Path
) -> None:
    others = pa.table({"name": ["ada", "bob"]})
    ctx = context(f"people.{kind}", SyncMode.APPEND, schema=others.schema)
    run(make(), ctx, [WriteBatch(WriteAction.APPEND, others, ["1", "2"])])
    before = _file(tmp_path, kind).read_bytes()

    destination = make()
    destination.open(context(f"people.{kind}", SyncMode.UPSERT, run_id=2))
    with pytest.raises(TerminalError, match="no record of .* has the id field 'id'"):
        destination.write_batch(batch(WriteAction.UPSERT, ROWS))
    destination.close()

    assert _file(tmp_path, kind).read_bytes() == before
