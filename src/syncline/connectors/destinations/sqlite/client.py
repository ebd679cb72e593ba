"""The SQLite destination: stdlib sqlite3, a staging table, set-based statements."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Any, ClassVar

from syncline.connectors.destinations.base import (
    FieldSpec,
    ObjectField,
    RowFailure,
    WriteBatch,
)
from syncline.connectors.destinations.local_paths import database_file_problem
from syncline.connectors.destinations.sql.floats import refuse_rounded_numbers
from syncline.connectors.destinations.sql.identifiers import TableName, quote, quote_table
from syncline.connectors.destinations.sql.table import TableDestination
from syncline.connectors.destinations.sql.types import column_type
from syncline.connectors.destinations.sql.values import (
    ROW_COLUMN,
    python_rows,
    refuse_unbindable,
    refuse_wide_integers,
)
from syncline.connectors.destinations.sqlite.config import SQLiteDestinationConfig
from syncline.connectors.destinations.sqlite.errors import map_error
from syncline.connectors.destinations.sqlite.keys import key_comparison_error
from syncline.errors import TerminalError

logger = logging.getLogger(__name__)


def _q(name: str) -> str:
    return quote(name, "sqlite")


class SQLiteDestination(TableDestination):
    """Writes a sync's changes into a table of an SQLite file."""

    type_name = "sqlite"
    folds_field_case = True
    config_model = SQLiteDestinationConfig
    dialect: ClassVar[str] = "sqlite"
    placeholder: ClassVar[str] = "?"
    # IMMEDIATE takes the write lock up front (waiting up to ``timeout``), so a batch never
    # fails halfway on a lock another writer took after its first read.
    begin_sql: ClassVar[str] = "BEGIN IMMEDIATE"
    config: SQLiteDestinationConfig

    def __init__(self, config: SQLiteDestinationConfig) -> None:
        super().__init__(config)
        self._conn: sqlite3.Connection | None = None

    @property
    def default_schema(self) -> str:
        """SQLite's main database."""
        return "main"

    def _connect(self) -> None:
        self._disconnect()
        self._check_path()
        # isolation_level=None: the destination issues BEGIN and COMMIT itself, one
        # transaction per batch; the engine may call from a worker thread.
        self._conn = sqlite3.connect(
            self.config.path,
            timeout=self.config.timeout,
            isolation_level=None,
            check_same_thread=False,
        )
        logger.debug("opened SQLite destination %s", self.config.path)

    def _map_error(self, exc: Exception) -> Exception | None:
        return map_error(exc, self.config.path)

    def _execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        assert self._conn is not None
        return self._conn.execute(sql, tuple(params)).fetchall()

    def _check_path(self) -> None:
        problem = database_file_problem(Path(self.config.path))
        if problem is not None:
            raise TerminalError(
                f"SQLite destination {self.config.path}: {problem}", connector=self.type_name
            )

    def test(self) -> None:
        """Check the file (or, when it does not exist yet, its folder) is writable."""
        self._check_path()
        if not Path(self.config.path).exists():
            return  # creating it here would leave an empty database behind

        try:
            self._guard(self._connect)
            self._guard(lambda: self._execute("BEGIN IMMEDIATE"))
            self._guard(lambda: self._execute("ROLLBACK"))
        finally:
            self._disconnect()

    def fields(self, object_name: str) -> list[ObjectField] | None:
        """As for every table; None, without creating the file, while the file is missing."""
        if not Path(self.config.path).exists():
            return None
        return super().fields(object_name)

    def _merging_key(self, table: TableName, id_field: str) -> TerminalError | None:
        """See :mod:`syncline.connectors.destinations.sqlite.keys`."""
        return self._guard(lambda: key_comparison_error(self._execute, table, id_field))

    def _describe(self, table: TableName) -> dict[str, str] | None:
        return {row[1]: row[2] for row in self._describe_rows(table)} or None

    def _has_unique_key(self, table: TableName, column: str) -> bool:
        schema = _q(table.schema)
        keys = [row[1] for row in self._describe_rows(table) if row[5]]
        if keys == [column]:
            return True
        for _, name, unique, _, partial in self._execute(
            f"PRAGMA {schema}.index_list({_q(table.name)})"
        ):
            if unique and not partial:
                info = self._execute(f"PRAGMA {schema}.index_info({_q(name)})")
                if [row[2] for row in info] == [column]:
                    return True
        return False

    def _unique_index_sql(self, table: TableName, column: str) -> str:
        # SQLite qualifies the index, not the table: the index lives in the table's schema.
        name = _q(f"{table.name}_{column}_key"[:60])
        return f"CREATE UNIQUE INDEX {_q(table.schema)}.{name} ON {_q(table.name)} ({_q(column)})"

    def _describe_rows(self, table: TableName) -> list[tuple[Any, ...]]:
        return self._execute(f"PRAGMA {_q(table.schema)}.table_info({_q(table.name)})")

    def _create(self, table: TableName, fields: Sequence[FieldSpec], id_field: str) -> None:
        columns = [f"{_q(f.name)} {column_type('sqlite', f.arrow_type)}" for f in fields]
        if self._creates_primary_key():
            columns.append(f"PRIMARY KEY ({_q(id_field)})")
        self._execute(f"CREATE TABLE {quote_table(table, 'sqlite')} ({', '.join(columns)})")

    def _refuse(self, batch: WriteBatch) -> dict[int, str]:
        # Column types are only affinities here: no precision or scale rounds a value,
        # and a DATE column keeps the time. Ids turned into numbers can merge, and a
        # REAL column turns integers and decimal text into doubles.
        reasons = self._refuse_keys(batch)
        rounded = refuse_rounded_numbers(
            batch.records, self._columns, str(self._table), dialect=self.dialect
        )
        for row, reason in rounded.items():
            reasons.setdefault(row, reason)
        return reasons

    def _stage(self, batch: WriteBatch, skip: Collection[int]) -> list[RowFailure]:
        # Untyped staging columns keep each value's storage class; the target column's
        # affinity applies when the set-based statement copies it over.
        assert self._conn is not None
        names = [ROW_COLUMN, *batch.records.column_names]
        self._execute(f"DROP TABLE IF EXISTS temp.{self.stage_name}")
        self._execute(
            f"CREATE TEMP TABLE {self.stage_name} "
            f"({_q(ROW_COLUMN)} INTEGER PRIMARY KEY, {', '.join(_q(n) for n in names[1:])})"
        )
        records, refused = refuse_unbindable(batch.records, "a SQLite table")
        for row, reason in refuse_wide_integers(records, "a SQLite table").items():
            refused.setdefault(row, reason)
        rows = python_rows(records, "sqlite")
        left_out = refused.keys() | skip
        marks = ", ".join("?" * len(names))
        self._conn.executemany(
            f"INSERT INTO temp.{self.stage_name} ({', '.join(map(_q, names))}) VALUES ({marks})",
            [row for row in rows if row[0] not in left_out] if left_out else rows,
        )
        return [RowFailure(i, reason, retryable=False) for i, reason in refused.items()]

    def _unstage(self) -> None:
        if self._conn is not None:
            self._quietly(f"DROP TABLE IF EXISTS temp.{self.stage_name}")
