"""The DuckDB destination: the batch as an Arrow view, set-based statements over it."""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar

import pyarrow as pa
import pyarrow.compute as pc

from syncline.connectors.destinations.base import (
    FieldSpec,
    ObjectField,
    RowFailure,
    WriteBatch,
)
from syncline.connectors.destinations.duckdb.config import DuckDBDestinationConfig
from syncline.connectors.destinations.duckdb.errors import map_error
from syncline.connectors.destinations.duckdb.keys import key_comparison_error
from syncline.connectors.destinations.local_paths import database_file_problem
from syncline.connectors.destinations.sql.booleans import refuse_non_booleans
from syncline.connectors.destinations.sql.identifiers import TableName, quote, quote_table
from syncline.connectors.destinations.sql.table import TableDestination
from syncline.connectors.destinations.sql.values import ROW_COLUMN
from syncline.errors import TerminalError

logger = logging.getLogger(__name__)

_COLUMNS_SQL = """
SELECT column_name, data_type
FROM duckdb_columns()
WHERE database_name = current_database() AND schema_name = ? AND table_name = ?
ORDER BY column_index
"""

_UNIQUE_SQL = """
SELECT 1
FROM duckdb_constraints()
WHERE database_name = current_database() AND schema_name = ? AND table_name = ?
  AND constraint_type IN ('PRIMARY KEY', 'UNIQUE')
  AND len(constraint_column_names) = 1 AND constraint_column_names[1] = ?
"""


def _q(name: str) -> str:
    return quote(name, "duckdb")


class DuckDBDestination(TableDestination):
    """Writes a sync's changes into a table of a DuckDB file.

    DuckDB has no savepoints, so each bisection attempt is its own transaction: a batch
    without bad rows is still one transaction, and a batch with bad rows commits its
    good rows range by range before :meth:`write_batch` returns.
    """

    type_name = "duckdb"
    folds_field_case = True
    config_model = DuckDBDestinationConfig
    dialect: ClassVar[str] = "duckdb"
    placeholder: ClassVar[str] = "?"
    config: DuckDBDestinationConfig

    @property
    def default_schema(self) -> str:
        """DuckDB's default schema."""
        return "main"

    def _connect(self) -> None:
        import duckdb

        self._disconnect()
        problem = database_file_problem(Path(self.config.path))
        if problem is not None:
            raise TerminalError(
                f"DuckDB destination {self.config.path}: {problem}", connector=self.type_name
            )
        self._conn = duckdb.connect(self.config.path)
        self._conn.execute("SET TimeZone = 'UTC'")
        logger.debug("opened DuckDB destination %s", self.config.path)

    def _map_error(self, exc: Exception) -> Exception | None:
        return map_error(exc, self.config.path)

    def _execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        cursor = self._conn.execute(sql, list(params) if params else None)
        return cursor.fetchall() if cursor.description else []

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        yield

    @contextmanager
    def _atomic(self) -> Iterator[None]:
        self._execute("BEGIN TRANSACTION")
        try:
            yield
        except BaseException:
            self._quietly("ROLLBACK")
            raise
        self._execute("COMMIT")

    def test(self) -> None:
        """Open the file read-write (which fails when it cannot be written or is locked)."""
        try:
            self._guard(self._connect)
            self._guard(lambda: self._execute("SELECT 1"))
        finally:
            self._disconnect()

    def fields(self, object_name: str) -> list[ObjectField] | None:
        """As for every table; None, without creating the file, while the file is missing."""
        if not Path(self.config.path).exists():
            return None
        return super().fields(object_name)

    def find_object(self, object_name: str, *, sync_id: int) -> bool | None:
        """As for every table, but the connection is closed at once; False, without
        creating the file, while the file is missing.

        A run may read its model again after looking (see the engine's run), maybe from
        this very file, and DuckDB refuses a read-only connection beside a writing one.
        """
        if not Path(self.config.path).exists():
            return False
        try:
            return super().find_object(object_name, sync_id=sync_id)
        finally:
            self._disconnect()

    def _merging_key(self, table: TableName, id_field: str) -> TerminalError | None:
        """See :mod:`syncline.connectors.destinations.duckdb.keys`."""
        return self._guard(lambda: key_comparison_error(self._execute, table, id_field))

    def _describe(self, table: TableName) -> dict[str, str] | None:
        rows = self._execute(_COLUMNS_SQL, (table.schema, table.name))
        return {name: kind for name, kind in rows} or None

    def _has_unique_key(self, table: TableName, column: str) -> bool:
        if self._execute(_UNIQUE_SQL, (table.schema, table.name, column)):
            return True
        # A unique index is no constraint in duckdb_constraints(), yet upserts use it: ask
        # DuckDB whether the column may be an upsert's conflict target (binds, writes nothing).
        import duckdb

        probe = (
            f"INSERT INTO {quote_table(table, 'duckdb')} ({_q(column)}) SELECT NULL WHERE false "
            f"ON CONFLICT ({_q(column)}) DO NOTHING"
        )
        try:
            self._execute(probe)
        except duckdb.BinderException:
            return False
        return True

    def _create(self, table: TableName, fields: Sequence[FieldSpec], id_field: str) -> None:
        # DuckDB names the type it gives each Arrow type.
        empty = pa.schema([pa.field(f.name, f.arrow_type) for f in fields]).empty_table()
        self._conn.register("_syncline_fields", empty)
        try:
            described = self._execute("DESCRIBE SELECT * FROM _syncline_fields")
        finally:
            self._conn.unregister("_syncline_fields")

        # JSON text gets the JSON type, and an all-null field text rather than INTEGER.
        overrides = {f.name: "JSON" for f in fields if f.logical == "json"}
        overrides |= {f.name: "VARCHAR" for f in fields if pa.types.is_null(f.arrow_type)}
        columns = [f"{_q(name)} {overrides.get(name, kind)}" for name, kind, *_ in described]
        if self._creates_primary_key():
            columns.append(f"PRIMARY KEY ({_q(id_field)})")
        self._execute(f"CREATE SCHEMA IF NOT EXISTS {_q(table.schema)}")
        self._execute(f"CREATE TABLE {quote_table(table, 'duckdb')} ({', '.join(columns)})")

    def _refuse(self, batch: WriteBatch) -> dict[int, str]:
        # DuckDB also casts any number but zero to true; PostgreSQL refuses those itself.
        reasons = super()._refuse(batch)
        booleans = refuse_non_booleans(batch.records, self._columns, str(self._table))
        for row, reason in booleans.items():
            reasons.setdefault(row, reason)
        return reasons

    def _stage(self, batch: WriteBatch, skip: Collection[int]) -> list[RowFailure]:
        records = batch.records
        positions = pa.array(range(records.num_rows), pa.int32())
        staged = records.add_column(0, ROW_COLUMN, positions)
        if skip:
            refused = pa.array(sorted(skip), pa.int32())
            staged = staged.filter(pc.invert(pc.is_in(positions, value_set=refused)))
        self._conn.register(self.stage_name, staged)
        return []

    def _unstage(self) -> None:
        if self._conn is not None:
            self._conn.unregister(self.stage_name)
