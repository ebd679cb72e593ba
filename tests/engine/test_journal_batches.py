"""The snapshot journal numbers each batch's doubts and settles a fully acknowledged batch
in place, and still folds journals written before batches were numbered."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa

from syncline.engine.planner.store import SnapshotStore, snapshot_path

SYNC_ID = 3


def planned(keys: list[str], operation: str = "added") -> pa.RecordBatch:
    """A planned batch as the planner hands it to delivery: key, op, fp, ext, attempts."""
    return pa.RecordBatch.from_pydict(
        {
            "_sl_key": pa.array(keys, pa.string()),
            "_sl_op": pa.array([operation] * len(keys), pa.string()),
            "_sl_fp": pa.array([100 + int(key) for key in keys], pa.uint64()),
            "_sl_ext": pa.array([f"e{key}" for key in keys], pa.string()),
            "_sl_attempts": pa.array([0] * len(keys), pa.int64()),
        }
    )


def journal(store: SnapshotStore) -> list[tuple[str, str]]:
    """Every journal entry as (key, kind), sorted."""
    rows = store.connection.execute("SELECT key, kind FROM journal ORDER BY key, kind").fetchall()
    return [(str(key), str(kind)) for key, kind in rows]


def snapshot(store: SnapshotStore) -> list[tuple[str, int | None, str, str | None]]:
    """Every snapshot entry as (key, fp, ext, doubt), sorted by key."""
    rows = store.connection.execute(
        "SELECT key, fp, ext, doubt FROM snapshot ORDER BY key"
    ).fetchall()
    return [(str(k), None if f is None else int(f), str(e), d) for k, f, e, d in rows]


def test_fully_acknowledged_batch_turns_its_doubts_into_acknowledgements(tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path, SYNC_ID)
    batch = planned(["1", "2", "3"])

    number = store.record_doubt(batch, [0, 1, 2])
    assert number is not None
    assert journal(store) == [("1", "doubt"), ("2", "doubt"), ("3", "doubt")]
    store.record(batch, [0, 1, 2], [], batch=number)

    assert journal(store) == [("1", "ack"), ("2", "ack"), ("3", "ack")]
    store.merge()
    assert snapshot(store) == [
        ("1", 101, "e1", None),
        ("2", 102, "e2", None),
        ("3", 103, "e3", None),
    ]
    assert journal(store) == []
    store.close()


def test_partly_rejected_batch_journals_its_outcomes_beside_the_doubts(tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path, SYNC_ID)
    batch = planned(["1", "2", "3"])

    number = store.record_doubt(batch, [0, 1, 2])
    store.record(batch, [0, 2], [(1, "too long")], batch=number)
    store.merge()

    assert snapshot(store) == [("1", 101, "e1", None), ("3", 103, "e3", None)]
    assert store.failed_rows() == [("2", "added", "too long", 1)]
    assert store.unknown_size() == 0
    store.close()


def test_batch_without_an_outcome_stays_in_doubt_beside_a_settled_one(tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path, SYNC_ID)
    first, second = planned(["1", "2"]), planned(["3", "4"], "changed")

    number = store.record_doubt(first, [0, 1])
    second_number = store.record_doubt(second, [0, 1])
    store.record(first, [0, 1], [], batch=number)
    store.close()

    reopened = SnapshotStore(tmp_path, SYNC_ID)
    # Numbers continue after those a reopened journal holds, so batches never share one.
    assert second_number is not None
    later = reopened.record_doubt(planned(["5"]), [0])
    assert later is not None
    assert later > second_number
    reopened.merge()
    assert snapshot(reopened) == [
        ("1", 101, "e1", None),
        ("2", 102, "e2", None),
        ("3", None, "e3", "changed"),
        ("4", None, "e4", "changed"),
        ("5", None, "e5", "added"),
    ]
    reopened.close()


def test_journal_written_before_batches_were_numbered_is_folded(tmp_path: Path) -> None:
    path = snapshot_path(tmp_path, SYNC_ID)
    with duckdb.connect(str(path)) as con:
        con.execute(
            "CREATE TABLE journal (key VARCHAR, kind VARCHAR, operation VARCHAR, "
            "fp UBIGINT, ext VARCHAR, reason VARCHAR, attempts INTEGER)"
        )
        con.execute(
            "INSERT INTO journal VALUES "
            "('1', 'doubt', 'added', NULL, 'e1', NULL, 0), "
            "('1', 'ack', 'added', 101, 'e1', NULL, 0), "
            "('2', 'doubt', 'added', NULL, 'e2', NULL, 0)"
        )

    store = SnapshotStore(tmp_path, SYNC_ID)
    store.merge()

    assert snapshot(store) == [("1", 101, "e1", None), ("2", None, "e2", "added")]
    number = store.record_doubt(planned(["7"]), [0])
    store.record(planned(["7"]), [0], [], batch=number)
    assert journal(store) == [("7", "ack")]
    store.close()
