"""An id column that treats distinct ids as one is refused when the table is opened.

A PostgreSQL ``citext`` or nondeterministically collated key, an SQLite key collated
``NOCASE`` or ``RTRIM``, or a DuckDB key collated ``NOCASE`` or ``NOACCENT``, would let
model rows ``'abc'`` and ``'ABC'`` overwrite each other (and mirror then delete a row
still in the model). As MariaDB already does, the run fails
before writing, with ``OBJECT_KEY_COLLATION`` and a statement that fixes the table; the
statement is run here to show that it does, after which the two rows stay two records.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pyarrow as pa
import pytest
from table_backends import Backend, OpenDestination, SQLiteBackend

from syncline.connectors.destinations.base import (
    FieldSpec,
    SyncMode,
    WriteAction,
    WriteBatch,
    WriteContext,
)
from syncline.connectors.registry import destination_class
from syncline.errors import TerminalError

FIELDS = {"k": pa.string(), "v": pa.string()}

KEYS = {
    "postgres": ["citext PRIMARY KEY", "text COLLATE ci PRIMARY KEY"],
    "sqlite": ["text PRIMARY KEY COLLATE NOCASE", "text COLLATE RTRIM PRIMARY KEY"],
    "duckdb": ["VARCHAR COLLATE NOCASE PRIMARY KEY", "VARCHAR COLLATE NOACCENT.NOCASE UNIQUE"],
}


def _make(backend: Backend, table: str, key: str) -> None:
    if backend.kind == "postgres":
        backend.sql("CREATE EXTENSION IF NOT EXISTS citext")
        backend.sql(
            "DO $$ BEGIN CREATE COLLATION ci (provider = icu, locale = 'und-u-ks-level2', "
            "deterministic = false); EXCEPTION WHEN duplicate_object THEN NULL; END $$"
        )
    backend.sql(f"CREATE TABLE {table} (k {key}, v text)")


def _run_fix(backend: Backend, message: str) -> None:
    """Run the statements the message tells the user to run, as a script would."""
    script = message.split("run: ", 1)[1]
    if isinstance(backend, SQLiteBackend):
        with closing(sqlite3.connect(backend.path, isolation_level=None)) as connection:
            connection.executescript(script)
    else:
        backend.sql(script)


@pytest.mark.parametrize("index", [0, 1], ids=["case-insensitive-type", "collation"])
@pytest.mark.parametrize("mode", [SyncMode.MIRROR, SyncMode.INSERT])
def test_a_key_column_that_merges_ids_is_refused_with_a_fix_that_runs(
    backend: Backend, table: str, open_destination: OpenDestination, index: int, mode: SyncMode
) -> None:
    if backend.kind not in KEYS:
        pytest.skip(
            f"{backend.kind}: its case-insensitive key columns are tested in "
            "test_tables_mysql_collation.py"
        )
    _make(backend, table, KEYS[backend.kind][index])
    if backend.kind == "duckdb":
        backend.sql(f"CREATE INDEX {table}_v ON {table} (v)")
        backend.sql(f"INSERT INTO {table} VALUES ('kept', 'before')")

    with pytest.raises(TerminalError) as refused:
        open_destination(FIELDS, mode=mode, create=False, id_field="k")

    assert refused.value.code == "OBJECT_KEY_COLLATION"
    assert "'k'" in str(refused.value)
    _run_fix(backend, str(refused.value))
    destination = open_destination(FIELDS, mode=mode, create=False, id_field="k")
    records = pa.table({"k": ["abc", "ABC", "abc "], "v": ["lower", "upper", "spaced"]})
    action = WriteAction.INSERT if mode is SyncMode.INSERT else WriteAction.UPSERT
    result = destination.write_batch(WriteBatch(action, records, ["abc", "ABC", "abc "]))
    assert result.failures == []
    kept = [("kept", "before")] if backend.kind == "duckdb" else []
    assert sorted(backend.sql(f"SELECT k, v FROM {table}")) == [
        ("ABC", "upper"),
        ("abc", "lower"),
        ("abc ", "spaced"),
        *kept,
    ]
    if backend.kind == "duckdb":
        # The rebuild made the table's other index again.
        assert backend.sql(
            f"SELECT count(*) FROM duckdb_indexes() WHERE index_name = '{table}_v'"
        ) == [(1,)]


@pytest.mark.parametrize("mode", [SyncMode.MIRROR, SyncMode.INSERT])
def test_a_postgres_unique_index_collated_nondeterministically_is_refused_with_a_fix_that_runs(
    backend: Backend, table: str, open_destination: OpenDestination, mode: SyncMode
) -> None:
    if backend.kind != "postgres":
        pytest.skip("only PostgreSQL indexes a column under a collation of their own")
    if backend.sql("SELECT count(*) FROM pg_collation WHERE collprovider = 'i'")[0][0] == 0:
        pytest.skip("the server has no ICU collations, so no nondeterministic one")
    _make(backend, table, "text")
    backend.sql(f"CREATE UNIQUE INDEX ON {table} (k COLLATE ci)")

    with pytest.raises(TerminalError) as refused:
        open_destination(FIELDS, mode=mode, create=False, id_field="k")

    assert refused.value.code == "OBJECT_KEY_COLLATION"
    assert "'k'" in str(refused.value)
    assert "collation ci" in str(refused.value)
    _run_fix(backend, str(refused.value))
    destination = open_destination(FIELDS, mode=mode, create=False, id_field="k")
    records = pa.table({"k": ["abc", "ABC"], "v": ["lower", "upper"]})
    action = WriteAction.INSERT if mode is SyncMode.INSERT else WriteAction.UPSERT
    result = destination.write_batch(WriteBatch(action, records, ["abc", "ABC"]))
    assert result.failures == []
    assert sorted(backend.sql(f"SELECT k, v FROM {table}")) == [
        ("ABC", "upper"),
        ("abc", "lower"),
    ]


def test_append_mode_matches_no_ids_and_is_not_refused(
    backend: Backend, table: str, open_destination: OpenDestination
) -> None:
    if backend.kind not in KEYS:
        pytest.skip(
            f"{backend.kind}: its case-insensitive key columns are tested in "
            "test_tables_mysql_collation.py"
        )
    _make(backend, table, KEYS[backend.kind][0])

    open_destination(FIELDS, mode=SyncMode.APPEND, create=False, id_field="k")


def test_the_sqlite_rebuild_keeps_other_columns_indexes_and_rows(tmp_path: Path) -> None:
    backend = SQLiteBackend(tmp_path)
    backend.sql("CREATE TABLE t (k text COLLATE NOCASE, v text COLLATE NOCASE, PRIMARY KEY (k))")
    backend.sql("CREATE INDEX t_v ON t (v)")
    backend.sql("INSERT INTO t VALUES ('abc', 'kept')")
    destination = destination_class("sqlite").from_config(backend.config)
    fields = tuple(FieldSpec(name, kind) for name, kind in FIELDS.items())
    context = WriteContext(1, 1, "t", SyncMode.UPSERT, "k", fields, create_object=False)

    with pytest.raises(TerminalError) as refused:
        destination.open(context)
    destination.close()
    _run_fix(backend, str(refused.value))

    assert backend.sql("SELECT k, v FROM t") == [("abc", "kept")]
    assert backend.sql("SELECT count(*) FROM t WHERE v = 'KEPT'") == [(1,)]
    assert backend.sql("SELECT name FROM sqlite_master WHERE type = 'index' AND name = 't_v'")
    destination.open(context)
    destination.close()
