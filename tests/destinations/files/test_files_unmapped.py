"""Fields of a maintained file that the sync does not map keep their values.

A table keeps the columns a sync does not write; a file record must too: a changed
record gets its mapped fields replaced and keeps its other fields as they were.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from file_helpers import SCHEMA, batch, context, read_csv_text, read_records, run

from engine_runs import run_sync
from syncline.connectors.destinations.base import Destination, SyncMode, WriteAction
from syncline.connectors.registry import destination_class
from syncline.connectors.sources.duckdb.client import DuckDBSource
from syncline.engine.report import RunStatus
from syncline.engine.run import RunResult

Make = Callable[[], Destination]

ID_ONLY = pa.schema([pa.field("id", pa.int64())])


def _pre_file(kind: str, path: Path) -> None:
    """A file written by someone else: ids 99 and 1, with a field 'foo' no sync maps."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if kind == "csv":
        path.write_text("id,foo\n99,bar\n1,old\n")
    elif kind == "jsonl":
        # The number's own spelling (1.10) must survive a rewrite of the record.
        path.write_text('{"id":99,"foo":"bar"}\n{"id":1,"foo":"old","n":1.10}\n')
    else:
        table = pa.table({"id": pa.array([99, 1], pa.int64()), "foo": ["bar", "old"]})
        pq.write_table(table, path)


@pytest.mark.parametrize(
    ("mode", "action"),
    [
        (SyncMode.UPSERT, WriteAction.UPSERT),
        (SyncMode.UPDATE, WriteAction.UPDATE),
        (SyncMode.MIRROR, WriteAction.UPSERT),
    ],
)
def test_a_changed_record_keeps_the_fields_the_sync_does_not_map(
    make: Make, kind: str, tmp_path: Path, mode: SyncMode, action: WriteAction
) -> None:
    path = tmp_path / "out" / f"pre.{kind}"
    _pre_file(kind, path)

    results = run(
        make(),
        context(f"pre.{kind}", mode),
        [batch(action, [{"id": 1, "name": "ada"}])],
    )

    assert results[0].failures == []
    records = {r["id"]: r for r in read_records(kind, path)}
    assert records[1]["foo"] == "old"
    assert records[1]["name"] == "ada"
    assert records[99]["foo"] == "bar"
    if kind == "jsonl":
        assert path.read_text().splitlines()[1] == '{"id":1,"name":"ada","foo":"old","n":1.10}'


def test_a_sync_mapping_only_the_id_changes_no_other_field(
    make: Make, kind: str, tmp_path: Path
) -> None:
    path = tmp_path / "out" / f"pre.{kind}"
    _pre_file(kind, path)

    run(
        make(),
        context(f"pre.{kind}", SyncMode.UPSERT, schema=ID_ONLY),
        [batch(WriteAction.UPSERT, [{"id": 1}, {"id": 2}], ID_ONLY)],
    )

    records = {r["id"]: r for r in read_records(kind, path)}
    assert records[1]["foo"] == "old"
    assert records[99]["foo"] == "bar"
    assert records[2].get("foo") is None


def test_a_mapped_field_set_to_null_is_null_and_the_others_stay(
    make: Make, kind: str, tmp_path: Path
) -> None:
    path = tmp_path / "out" / f"pre.{kind}"
    _pre_file(kind, path)
    ctx = context(f"pre.{kind}", SyncMode.UPSERT)
    run(make(), ctx, [batch(WriteAction.UPSERT, [{"id": 1, "name": "ada"}])])

    run(
        make(),
        context(f"pre.{kind}", SyncMode.UPSERT, run_id=2),
        [batch(WriteAction.UPSERT, [{"id": 1, "name": None}], SCHEMA)],
    )

    records = {r["id"]: r for r in read_records(kind, path)}
    assert records[1]["name"] is None
    assert records[1]["foo"] == "old"


def test_an_engine_upsert_into_a_file_of_others_keeps_their_field_and_plans_exactly(
    tmp_path: Path,
) -> None:
    database = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(database)) as connection:
        connection.execute("CREATE TABLE people AS SELECT 1 AS id, 'ada' AS name")
    source = DuckDBSource.from_config({"path": str(database)})
    out = tmp_path / "out"
    out.mkdir()
    (out / "pre.csv").write_text("id,foo\n99,bar\n1,old\n")
    sync = {
        "mode": "upsert",
        "object": "pre.csv",
        "mappings": [
            {"type": "standard", "from": "id", "to": "id"},
            {"type": "standard", "from": "name", "to": "name"},
        ],
    }

    def sync_once(run_id: int) -> RunResult:
        destination = destination_class("csv").from_config({"directory": str(out)})
        query = "SELECT * FROM people"
        return run_sync(source, query, sync, destination, tmp_path / "state", run_id=run_id)

    first = sync_once(1)
    again = sync_once(2)
    with duckdb.connect(str(database)) as connection:
        connection.execute("UPDATE people SET name = 'ada l.'")
    changed = sync_once(3)

    assert first.status is RunStatus.SUCCESS, first.error
    assert again.progress.planned.total == 0
    assert (changed.progress.planned.total, changed.progress.planned.changed) == (1, 1)
    assert read_csv_text(out / "pre.csv") == [
        {"id": "99", "name": None, "foo": "bar"},
        {"id": "1", "name": "ada l.", "foo": "old"},
    ]
