"""The diff and the run around it: operations, retries, keys, guards and run flags."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import pyarrow as pa
import pytest
from engine_doubles import ArrowSource, Harness, MemoryDestination, Reporter, people

from syncline.connectors.destinations.base import SyncMode, WriteAction
from syncline.engine.config import SyncConfiguration
from syncline.engine.planner.store import SnapshotStore, snapshot_path
from syncline.engine.report import RunStatus
from syncline.engine.run import RunJob, RunResult, delete_snapshot, execute_run
from syncline.errors import TerminalError, TransientError

BASE = [(1, "ann", 1.0), (2, "bob", 2.0), (3, "cy", 3.0), (4, "di", 4.0)]


def counts(result: RunResult) -> dict[str, int]:
    return result.progress.planned.as_api()


def mirror(tmp_path: Path, rows: Sequence[tuple[object, ...]] = BASE) -> Harness:
    return Harness(tmp_path, people(rows), {"mode": "mirror", "object": "people"})


def test_first_run_adds_every_row_then_nothing_changes(tmp_path: Path) -> None:
    harness = mirror(tmp_path)
    first = harness.run()
    assert first.status is RunStatus.SUCCESS
    assert counts(first) == {"addedCount": 4, "changedCount": 0, "removedCount": 0}
    assert first.progress.successful.added == 4
    assert first.progress.query_size == 4
    assert harness.reporter.stages == [
        RunStatus.QUERYING,
        RunStatus.PROCESSING,
        RunStatus.REPORTING,
    ]
    assert harness.destination.records[2] == {"id": 2, "name": "bob", "score": 2.0}
    assert harness.destination.finished
    assert harness.destination.closed

    harness.sent()
    second = harness.run()
    assert counts(second) == {"addedCount": 0, "changedCount": 0, "removedCount": 0}
    assert harness.sent() == []


def test_added_changed_removed(tmp_path: Path) -> None:
    harness = mirror(tmp_path)
    harness.run()
    harness.sent()
    harness.table = people([(1, "ann", 1.0), (2, "bob", 2.5), (3, "cy", 3.0), (5, "ed", 5.0)])
    result = harness.run()
    assert counts(result) == {"addedCount": 1, "changedCount": 1, "removedCount": 1}
    assert result.progress.successful.as_api() == counts(result)
    assert harness.sent() == ["2", "4", "5"]
    assert sorted(harness.destination.records) == [1, 2, 3, 5]
    assert harness.destination.records[2]["score"] == 2.5


def test_change_in_unmapped_column_is_no_change(tmp_path: Path) -> None:
    configuration = {
        "mode": "upsert",
        "object": "people",
        "mappings": [{"type": "standard", "from": "name", "to": "full_name"}],
    }
    harness = Harness(tmp_path, people(BASE), configuration)
    harness.run()
    harness.table = people([(1, "ann", 9.0), (2, "bob", 9.0), (3, "CY", 3.0), (4, "di", 4.0)])
    result = harness.run()
    assert counts(result)["changedCount"] == 1
    assert harness.destination.records[3] == {"id": 3, "full_name": "CY"}


def test_changed_row_rejected_is_retried_until_it_succeeds(tmp_path: Path) -> None:
    harness = mirror(tmp_path)
    harness.run()
    harness.table = people([(1, "ann", 1.0), (2, "BOB", 2.0), (3, "cy", 3.0), (4, "di", 4.0)])
    harness.destination.reject = lambda action, row: "locked" if row["id"] == 2 else None
    rejected = harness.run()
    assert rejected.status is RunStatus.WARNING
    assert rejected.progress.failed.changed == 1
    [row] = harness.reporter.rejected_rows
    assert (row.key, row.operation.value, row.reason, row.attempts) == ("2", "changed", "locked", 1)
    assert row.payload is not None
    assert '"BOB"' in row.payload

    # Unchanged since, but the rejected row keeps its old fingerprint: it is sent again.
    again = harness.run()
    assert counts(again) == {"addedCount": 0, "changedCount": 1, "removedCount": 0}
    assert harness.reporter.rejected_rows[0].attempts == 2

    harness.destination.reject = None
    harness.sent()
    fixed = harness.run()
    assert fixed.status is RunStatus.SUCCESS
    assert harness.sent() == ["2"]
    assert harness.destination.records[2]["name"] == "BOB"
    assert harness.run().progress.planned.total == 0


def test_failed_row_retried_even_when_its_value_went_back(tmp_path: Path) -> None:
    harness = mirror(tmp_path)
    harness.run()
    harness.table = people([(1, "ann", 1.0), (2, "BOB", 2.0), (3, "cy", 3.0), (4, "di", 4.0)])
    harness.destination.reject = lambda action, row: "locked" if row["id"] == 2 else None
    harness.run()
    harness.destination.reject = None
    harness.table = people(BASE)
    harness.sent()
    result = harness.run()
    assert harness.sent() == ["2"]
    assert result.status is RunStatus.SUCCESS
    assert harness.run().progress.planned.total == 0


def test_update_mode_record_not_found_is_retried(tmp_path: Path) -> None:
    harness = Harness(tmp_path, people(BASE[:2]), {"mode": "update", "object": "people"})
    harness.destination.records[1] = {"id": 1, "name": "old", "score": 0.0}
    first = harness.run()
    assert first.status is RunStatus.WARNING
    assert first.progress.successful.added == 1
    assert [r.reason for r in harness.reporter.rejected_rows] == ["record not found"]

    harness.destination.records[2] = {"id": 2, "name": "old", "score": 0.0}
    second = harness.run()
    assert second.status is RunStatus.SUCCESS
    assert counts(second)["addedCount"] == 1
    assert harness.destination.records[2]["name"] == "bob"


def test_removed_row_whose_delete_failed_is_deleted_next_run(tmp_path: Path) -> None:
    harness = mirror(tmp_path)
    harness.run()
    harness.table = people(BASE[:3])

    def refuse_delete(action: WriteAction, row: dict[str, object]) -> str | None:
        return "busy" if action is WriteAction.DELETE else None

    harness.destination.reject = refuse_delete
    failed = harness.run()
    assert failed.progress.failed.removed == 1
    assert 4 in harness.destination.records

    harness.destination.reject = None
    retried = harness.run()
    assert counts(retried)["removedCount"] == 1
    assert 4 not in harness.destination.records
    assert harness.run().progress.planned.total == 0


def test_null_keys_are_counted_and_skipped(tmp_path: Path) -> None:
    harness = mirror(tmp_path, [(1, "ann", 1.0), (None, "ghost", 0.0), (None, "x", 1.0)])
    result = harness.run()
    assert result.status is RunStatus.SUCCESS
    assert result.progress.skipped_null_keys == 2
    assert result.progress.query_size == 3
    assert list(harness.destination.records) == [1]


def test_duplicate_keys_fail_with_examples_before_any_write(tmp_path: Path) -> None:
    rows = [(k, "n", 0.0) for k in [1, 2, 2, 3, 3, 3, 4, 5, 5, 6, 6, 7, 7, 8, 8]]
    harness = mirror(tmp_path, rows)
    result = harness.run()
    assert result.status is RunStatus.FAILED
    assert result.error is not None
    assert "NON_UNIQUE_PRIMARY_KEY" in result.error
    assert "6 keys repeat" in result.error
    assert "'2' (2 rows)" in result.error
    assert "'3' (3 rows)" in result.error
    assert "'8'" not in result.error
    assert harness.destination.calls == 0


def test_missing_column_is_a_user_error_listing_the_model_columns(tmp_path: Path) -> None:
    configuration = {
        "mode": "upsert",
        "object": "people",
        "mappings": [{"type": "standard", "from": "email", "to": "email"}],
    }
    result = Harness(tmp_path, people(BASE), configuration).run()
    assert result.status is RunStatus.FAILED
    assert result.error is not None
    assert "'email'" in result.error
    assert "id, name, score" in result.error


def test_unsupported_mode_fails_before_reading(tmp_path: Path) -> None:
    harness = mirror(tmp_path)
    harness.destination = MemoryDestination(modes=frozenset({SyncMode.UPSERT}))
    result = harness.run()
    assert result.status is RunStatus.FAILED
    assert result.error is not None
    assert "'mirror'" in result.error
    assert "upsert" in result.error
    assert harness.reporter.stages == []


def test_removed_share_guard_trips_before_any_write(tmp_path: Path) -> None:
    harness = mirror(tmp_path)
    harness.configuration["guards"] = {"maxRemovedShare": 0.25}
    harness.run()
    calls = harness.destination.calls
    harness.table = people([*BASE[:2], (9, "new", 9.0)])
    result = harness.run()
    assert result.status is RunStatus.FAILED
    assert result.error is not None
    assert "maxRemovedShare" in result.error
    assert "2 of 4" in result.error
    assert harness.destination.calls == calls

    # One removed row of four is within the limit; the snapshot was not touched.
    harness.table = people([*BASE[:3], (9, "new", 9.0)])
    allowed = harness.run()
    assert counts(allowed) == {"addedCount": 1, "changedCount": 0, "removedCount": 1}


def test_empty_model_guard(tmp_path: Path) -> None:
    harness = mirror(tmp_path, [])
    assert harness.run().status is RunStatus.SUCCESS  # first run: nothing to wipe
    harness.table = people(BASE)
    harness.run()
    harness.table = people([])
    tripped = harness.run()
    assert tripped.status is RunStatus.FAILED
    assert tripped.error is not None
    assert "allowEmpty" in tripped.error
    assert len(harness.destination.records) == 4

    harness.configuration["guards"] = {"allowEmpty": True}
    allowed = harness.run()
    assert allowed.status is RunStatus.SUCCESS
    assert harness.destination.records == {}


def test_full_resync_sends_every_row_and_skips_removed(tmp_path: Path) -> None:
    harness = mirror(tmp_path)
    harness.run()
    harness.sent()
    harness.table = people([(1, "ann", 1.0), (2, "BOB", 2.0), (5, "ed", 5.0)])
    result = harness.run(full_resync=True)
    assert counts(result) == {"addedCount": 3, "changedCount": 0, "removedCount": 0}
    assert harness.sent() == ["1", "2", "5"]
    assert sorted(harness.destination.records) == [1, 2, 3, 4, 5]
    # The old snapshot was replaced: rows 3 and 4 are forgotten, not removed later.
    assert harness.run().progress.planned.total == 0


def test_reset_cdc_sends_nothing_and_makes_a_new_baseline(tmp_path: Path) -> None:
    harness = mirror(tmp_path)
    harness.destination.reject = lambda action, row: "no" if row["id"] == 1 else None
    harness.run()
    harness.destination.reject = None
    harness.table = people([(2, "BOB", 2.0), (3, "cy", 3.0), (6, "fi", 6.0)])
    result = harness.run(reset_cdc=True)
    assert result.status is RunStatus.SUCCESS
    assert result.progress.planned.total == 0
    assert harness.destination.calls == 1
    assert harness.run().progress.planned.total == 0
    store = SnapshotStore(tmp_path, 7)
    assert store.snapshot_size() == 3
    assert store.failed_size() == 0
    store.close()


def test_dry_run_reports_the_plan_and_commits_nothing(tmp_path: Path) -> None:
    harness = mirror(tmp_path)
    dry = harness.run(dry_run=True)
    assert counts(dry) == {"addedCount": 4, "changedCount": 0, "removedCount": 0}
    assert harness.destination.calls == 0
    assert not snapshot_path(tmp_path, 7).exists()

    harness.run()
    harness.table = people(BASE[1:])
    calls = harness.destination.calls
    dry = harness.run(dry_run=True)
    assert counts(dry) == {"addedCount": 0, "changedCount": 0, "removedCount": 1}
    assert harness.destination.calls == calls
    assert counts(harness.run()) == counts(dry)


@pytest.mark.parametrize(
    ("mode", "behavior", "expected"),
    [
        ("upsert", "nothing", {1: "ann", 2: "BOB", 3: "cy", 4: "di", 5: "ed"}),
        ("upsert", "delete", {1: "ann", 2: "BOB", 3: "cy", 5: "ed"}),
        ("upsert", "clear", {1: "ann", 2: "BOB", 3: "cy", 4: None, 5: "ed"}),
        ("insert", None, {1: "ann", 2: "bob", 3: "cy", 4: "di", 5: "ed"}),
        ("all", "nothing", {1: "ann", 2: "BOB", 3: "cy", 4: "di", 5: "ed"}),
    ],
)
def test_modes_and_delete_behaviour(
    tmp_path: Path, mode: str, behavior: str | None, expected: dict[int, str | None]
) -> None:
    configuration = {"mode": mode, "object": "people"}
    if behavior is not None:
        configuration["deleteBehavior"] = behavior
    harness = Harness(tmp_path, people(BASE), configuration)
    harness.run()
    harness.sent()
    harness.table = people([(1, "ann", 1.0), (2, "BOB", 2.0), (3, "cy", 3.0), (5, "ed", 5.0)])
    result = harness.run()
    assert result.status is RunStatus.SUCCESS, result.error
    assert {k: v["name"] for k, v in harness.destination.records.items()} == expected
    if mode == "all":
        assert harness.sent() == ["1", "2", "3", "5"]
    if mode == "insert":
        assert harness.sent() == ["5"]
        # The changed row was not sent, but the snapshot advanced past it.
        assert harness.run().progress.planned.total == 0


def test_append_mode_sends_only_new_rows_as_events(tmp_path: Path) -> None:
    harness = Harness(tmp_path, people(BASE[:2]), {"mode": "append", "object": "events"})
    harness.run()
    harness.table = people([(1, "ANN", 1.0), (3, "cy", 3.0)])
    harness.run()
    assert [e["id"] for e in harness.destination.events] == [1, 2, 3]
    assert harness.destination.records == {}


def test_delete_snapshot_forgets_everything(tmp_path: Path) -> None:
    harness = mirror(tmp_path)
    harness.run()
    delete_snapshot(tmp_path, 7)
    assert not snapshot_path(tmp_path, 7).exists()
    assert counts(harness.run())["addedCount"] == 4


def test_external_id_mapping_matches_and_deletes_by_external_id(tmp_path: Path) -> None:
    schema = pa.schema([("id", pa.int64()), ("email", pa.string()), ("name", pa.string())])
    rows = [{"id": 1, "email": "a@x", "name": "ann"}, {"id": 2, "email": "b@x", "name": "bob"}]
    configuration = {
        "mode": "mirror",
        "object": "contacts",
        "mappings": [{"type": "standard", "from": "name", "to": "Name"}],
        "externalIdMapping": {"from": "email", "to": "Email"},
    }
    harness = Harness(tmp_path, pa.Table.from_pylist(rows, schema=schema), configuration)
    harness.run()
    assert harness.destination.context is not None
    assert harness.destination.context.id_field == "Email"
    assert [f.name for f in harness.destination.context.fields] == ["Email", "Name"]
    assert harness.destination.records["b@x"] == {"Email": "b@x", "Name": "bob"}

    harness.table = pa.Table.from_pylist(rows[:1], schema=schema)
    harness.run()
    assert list(harness.destination.records) == ["a@x"]


def test_reserved_column_prefix_is_a_user_error(tmp_path: Path) -> None:
    schema = pa.schema([("id", pa.int64()), ("_sl_key", pa.string())])
    table = pa.Table.from_pylist([{"id": 1, "_sl_key": "x"}], schema=schema)
    result = Harness(tmp_path, table).run()
    assert result.status is RunStatus.FAILED
    assert result.error is not None
    assert "'_sl_'" in result.error


@pytest.mark.parametrize(
    ("error", "message"),
    [
        (TerminalError("permission denied for table people"), "permission denied"),
        (TransientError("connection reset"), "connection reset"),
    ],
)
def test_source_failing_mid_read_fails_the_run_with_its_error(
    tmp_path: Path, error: Exception, message: str
) -> None:
    class Failing(ArrowSource):
        def read(self, query: str, *, batch_rows: int = 65_536) -> Iterator[pa.RecordBatch]:
            yield from self.table.to_batches(max_chunksize=2)
            raise error

    harness = mirror(tmp_path)
    harness.run()
    result = execute_run(
        RunJob(
            7,
            9,
            Failing(people(BASE)),
            "q",
            "id",
            SyncConfiguration.parse({"mode": "mirror", "object": "people"}),
            harness.destination,
            tmp_path,
        ),
        Reporter(),
    )
    assert result.status is RunStatus.FAILED
    assert result.error is not None
    assert message in result.error
    assert "internal error" not in result.error
    assert harness.run().progress.planned.total == 0


def test_columns_differing_only_in_case_are_a_user_error(tmp_path: Path) -> None:
    schema = pa.schema([("id", pa.int64()), ("Email", pa.string()), ("email", pa.string())])
    table = pa.Table.from_pylist([{"id": 1, "Email": "A@x", "email": "a@x"}], schema=schema)
    result = Harness(tmp_path, table).run()
    assert result.status is RunStatus.FAILED
    assert result.error is not None
    assert "differ only in case" in result.error
