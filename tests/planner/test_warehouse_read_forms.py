"""A change of the form a source reads a column in re-sends its rows once, on both planners.

The PostgreSQL source once read ``inet``, composites and the other types ADBC knows only
by their wire form as that raw form; it now has the server print them (or read them as
JSON). The DuckDB source once read HUGEINT and UHUGEINT as ``decimal128(38, 0)``, which
wraps their 39-digit values; it now reads them as decimal text. The local planner re-sends
such rows once, as the column's Arrow type is in its fingerprint. The warehouse planner
computes fingerprints from the column itself, in SQL, which the new form does not change:
the values the new form changed are marked with it, so that it re-sends the same rows
once too, and every other row, of this sync or another, keeps its fingerprint.

A version before the change is played by reading with the old forms.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import psycopg
import pytest
from engine_doubles import MemoryDestination, Reporter
from test_postgres_types import _run

from syncline.connectors.sources.duckdb import DuckDBConfig, DuckDBSource
from syncline.connectors.sources.postgres import types as postgres_types
from syncline.engine.config import SyncConfiguration
from syncline.engine.run import RunJob, execute_run

PRINTED = "id bigint PRIMARY KEY, label text, c pair, net inet, nets inet[]"
PRINTED_ROWS = (
    "(1, 'a', '(1,x)', '10.0.0.1', '{10.0.0.2/24,NULL}'), (2, 'b', NULL, NULL, NULL), "
    "(3, 'c', '(2,y)', '2001:db8::1/64', '{}'), (4, 'd', NULL, NULL, '{NULL}'), "
    "(5, 'e', '(3,z)', NULL, NULL)"
)
PLAIN = "id bigint PRIMARY KEY, label text, amount numeric(10, 2), seen timestamptz"
PLAIN_ROWS = "(1, 'a', 1.50, '2024-01-01 10:00+00'), (2, NULL, NULL, NULL)"


def _read_as_before(monkeypatch: pytest.MonkeyPatch) -> None:
    """Have the PostgreSQL source read as before it printed any type but NUMERIC."""
    current = postgres_types.read_expression

    def before(exported: Any) -> str | None:
        return current(exported) if postgres_types.type_name_of(exported) == "numeric" else None

    monkeypatch.setattr(postgres_types, "read_expression", before)
    monkeypatch.setattr("syncline.connectors.sources.postgres.client.read_expression", before)


def _plans(
    database: str, syncs: dict[int, tuple[str, str, MemoryDestination]], snapshots: Path
) -> dict[int, dict[str, int]]:
    """One successful run of each sync (by id: planner, model, destination): its plan."""
    plans = {}
    for sync_id, (planner, query, destination) in syncs.items():
        result = _run(database, planner, sync_id, destination, snapshots, query)
        assert result.status.value == "success", (sync_id, result.error)
        planned = result.progress.planned.as_api()
        plans[sync_id] = {name: count for name, count in planned.items() if count}
    return plans


def _sent_ids(destination: MemoryDestination) -> list[int]:
    return sorted(i for batch in destination.batches for i in batch.records["id"].to_pylist())


@pytest.mark.postgres
def test_postgres_printed_columns_resend_once_after_the_read_changed(
    make_postgres_database: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = make_postgres_database().rsplit("/", 1)[-1]
    with psycopg.connect(
        f"host=127.0.0.1 user=postgres dbname={database}", autocommit=True
    ) as admin:
        admin.execute("CREATE TYPE pair AS (a int, b text)")
        admin.execute(f"CREATE TABLE printed ({PRINTED})")
        admin.execute(f"INSERT INTO printed VALUES {PRINTED_ROWS}")
        admin.execute(f"CREATE TABLE plain ({PLAIN})")
        admin.execute(f"INSERT INTO plain VALUES {PLAIN_ROWS}")
    syncs = {
        1: ("warehouse", "SELECT * FROM printed", MemoryDestination()),
        2: ("local", "SELECT * FROM printed", MemoryDestination()),
        3: ("warehouse", "SELECT * FROM plain", MemoryDestination()),
        # The same table without its printed columns.
        4: ("warehouse", "SELECT id, label FROM printed", MemoryDestination()),
    }

    with monkeypatch.context() as before:
        _read_as_before(before)
        first = _plans(database, syncs, tmp_path)
    assert first == {
        1: {"addedCount": 5},
        2: {"addedCount": 5},
        3: {"addedCount": 2},
        4: {"addedCount": 5},
    }
    assert isinstance(syncs[1][2].records[1]["net"], bytes)

    for _, _, destination in syncs.values():
        destination.batches.clear()
    upgraded = _plans(database, syncs, tmp_path)
    assert upgraded == {1: {"changedCount": 3}, 2: {"changedCount": 3}, 3: {}, 4: {}}
    # Rows whose printed columns hold only NULLs, or an array of NULLs, read as before.
    assert _sent_ids(syncs[1][2]) == _sent_ids(syncs[2][2]) == [1, 3, 5]
    for sync_id in (1, 2):
        record = syncs[sync_id][2].records[1]
        assert (record["net"], record["nets"]) == ("10.0.0.1", ["10.0.0.2/24", None])

    assert _plans(database, syncs, tmp_path) == {1: {}, 2: {}, 3: {}, 4: {}}
    assert syncs[1][2].records == syncs[2][2].records


def _duckdb_run(
    source: DuckDBSource, folder: Path, sync_id: int, query: str, destination: MemoryDestination
) -> Any:
    job = RunJob(
        sync_id=sync_id,
        run_id=1,
        source=source,
        model_query=query,
        primary_key="id",
        configuration=SyncConfiguration.parse({"mode": "mirror", "object": "things"}),
        destination=destination,
        snapshot_dir=folder / "snapshots",
    )
    result = execute_run(job, Reporter())
    assert result.status.value == "success", result.error
    return result


def test_duckdb_wide_integers_resend_once_after_the_read_changed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = str(tmp_path / "warehouse.duckdb")
    with duckdb.connect(path) as connection:
        connection.execute(
            f"CREATE TABLE wide AS SELECT 1 AS id, {2**128 - 1}::UHUGEINT AS v, 'a' AS label "
            f"UNION ALL SELECT 2, {10**38 - 1}::UHUGEINT, 'b' UNION ALL SELECT 3, NULL, 'c'"
        )
    source = DuckDBSource(DuckDBConfig.parse({"planner": "warehouse", "path": path}))
    syncs = {7: "SELECT * FROM wide", 8: "SELECT id, label FROM wide"}
    destinations = {sync_id: MemoryDestination() for sync_id in syncs}

    def plans() -> dict[int, dict[str, int]]:
        counts = {}
        for sync_id, query in syncs.items():
            result = _duckdb_run(source, tmp_path, sync_id, query, destinations[sync_id])
            planned = result.progress.planned.as_api()
            counts[sync_id] = {name: count for name, count in planned.items() if count}
        return counts

    with monkeypatch.context() as before:
        before.setattr("syncline.connectors.sources.duckdb.client._WIDE_INTEGERS", frozenset())
        assert plans() == {7: {"addedCount": 3}, 8: {"addedCount": 3}}
    wrapped = destinations[7].records[1]["v"]
    # Only the value of 39 digits was read otherwise.
    assert plans() == {7: {"changedCount": 1}, 8: {}}
    assert (wrapped, destinations[7].records[1]["v"]) == (-1, str(2**128 - 1))
    assert plans() == {7: {}, 8: {}}
