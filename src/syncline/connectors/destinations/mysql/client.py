"""The MySQL / MariaDB destination: PyMySQL, a staging table, set-based statements."""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from dataclasses import replace
from typing import Any, ClassVar

import pyarrow as pa
import pyarrow.compute as pc

from syncline.connectors.destinations.base import (
    FieldSpec,
    RowFailure,
    SyncMode,
    WriteBatch,
    WriteContext,
)
from syncline.connectors.destinations.mysql.config import MySQLDestinationConfig
from syncline.connectors.destinations.mysql.errors import map_error
from syncline.connectors.destinations.mysql.keys import (
    UNIQUE_KEYS_SQL,
    UniqueKey,
    can_match_others,
    collided_key,
    collision_reason,
    other_keys,
    unique_keys,
)
from syncline.connectors.destinations.mysql.reasons import explain
from syncline.connectors.destinations.sql.bisect import RowDataError, isolate_failures
from syncline.connectors.destinations.sql.identifiers import TableName, quote, quote_table
from syncline.connectors.destinations.sql.statements import Statements
from syncline.connectors.destinations.sql.table import TableDestination
from syncline.connectors.destinations.sql.types import column_type
from syncline.connectors.destinations.sql.values import (
    ROW_COLUMN,
    python_rows,
    refuse_non_finite,
    refuse_unbindable,
)
from syncline.errors import TerminalError

logger = logging.getLogger(__name__)

_COLUMNS_SQL = """
SELECT COLUMN_NAME, COLUMN_TYPE, COLLATION_NAME, EXTRA
FROM information_schema.COLUMNS
WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s
ORDER BY ORDINAL_POSITION
"""

_BINARY_COLLATIONS_SQL = """
SELECT COLLATION_NAME FROM information_schema.COLLATIONS
WHERE COLLATION_NAME IN ('utf8mb4_nopad_bin', 'utf8mb4_0900_bin')
"""

# Strict mode turns silent truncation and zero dates into errors, so a bad value is a
# rejected row rather than quietly changed data; UTC makes TIMESTAMP columns exact.
_SESSION = "SET time_zone = '+00:00', sql_mode = CONCAT(@@sql_mode, ',STRICT_ALL_TABLES')"


def _q(name: str) -> str:
    return quote(name, "mysql")


def _folds_case(collation: str) -> bool:
    """Whether ``collation`` compares 'abc' equal to 'ABC' (or 'é' to 'e')."""
    return "_ci" in collation or "_ai" in collation


def _pads(collation: str) -> bool:
    """Whether ``collation`` ignores trailing spaces ('abc' equal to 'abc ')."""
    return "nopad" not in collation and "_0900_" not in collation


MAX_COLUMN_NAME = 64
"""The longest column name (in characters) MySQL and MariaDB take."""


class MySQLDestination(TableDestination):
    """Writes a sync's changes into a MySQL or MariaDB table."""

    type_name = "mysql"
    folds_field_case = True
    config_model = MySQLDestinationConfig
    dialect: ClassVar[str] = "mysql"
    config: MySQLDestinationConfig

    def __init__(self, config: MySQLDestinationConfig) -> None:
        super().__init__(config)
        self._collations: dict[str, str | None] = {}
        self._generated: set[str] = set()
        """Columns whose values the server makes (auto-increment)."""
        self._other_keys: dict[str, UniqueKey] = {}
        """The table's unique keys without the id field, by name."""
        self._upserts_in_two = False
        """Whether a row could collide on one of them, so upserts update, then insert."""

    @classmethod
    def field_name_problem(cls, name: str) -> tuple[str, str] | None:
        """MySQL and MariaDB refuse a column name that ends with a space or is too long."""
        if name.endswith(" "):
            message = f"field {name!r} ends with a space, which MySQL and MariaDB refuse"
            return message, "remove the trailing space from the field name"
        if len(name) > MAX_COLUMN_NAME:
            message = (
                f"field {name[:20]!r}... is {len(name)} characters long; MySQL and MariaDB "
                f"take at most {MAX_COLUMN_NAME}"
            )
            return message, "map it to a shorter field name"
        return None

    @property
    def default_schema(self) -> str:
        """The configured database."""
        return self.config.database

    @property
    def _where(self) -> str:
        return f"{self.config.host}:{self.config.port}/{self.config.database}"

    def _connect(self) -> None:
        import pymysql

        self._disconnect()
        password = self.config.password
        self._conn = pymysql.connect(
            host=self.config.host,
            port=self.config.port,
            user=self.config.user,
            password=password.get_secret_value() if password else "",
            database=self.config.database,
            charset="utf8mb4",
            connect_timeout=self.config.connect_timeout,
            autocommit=True,
            init_command=_SESSION,
        )
        logger.debug("connected to MySQL destination %s", self._where)

    def _connected(self) -> bool:
        return self._conn is not None and bool(self._conn.open)

    def _map_error(self, exc: Exception) -> Exception | None:
        mapped = map_error(exc, self._where)
        if not isinstance(mapped, RowDataError) or self._context is None:
            return mapped
        key = collided_key(mapped.reason, self._other_keys)
        if key is None:
            return mapped
        reason = collision_reason(mapped.reason, key, str(self._table), self._context.id_field)
        return RowDataError(reason)

    def _explain(self, reason: str, records: pa.Table, index: int) -> str:
        return explain(reason, self._columns, str(self._table))

    def _execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._conn.cursor() as cursor:
            cursor.execute(sql, tuple(params) or None)
            return list(cursor.fetchall()) if cursor.description else []

    def test(self) -> None:
        """Connect, and check the server accepts writes and the user may stage batches."""
        probe = f"{self.stage_name}_probe"
        try:
            self._guard(self._connect)
            rows = self._guard(lambda: self._execute("SELECT @@read_only"))
            self._guard(lambda: self._execute(f"CREATE TEMPORARY TABLE {probe} (x INT)"))
            self._guard(lambda: self._execute(f"DROP TEMPORARY TABLE {probe}"))
        finally:
            self._disconnect()

        if rows and int(rows[0][0]):
            raise TerminalError(
                f"MySQL destination {self._where} is read-only (a replica?); "
                "point it at the primary server",
                connector=self.type_name,
            )

    def _describe(self, table: TableName) -> dict[str, str] | None:
        rows = self._execute(_COLUMNS_SQL, (table.schema, table.name))
        self._collations = {name: collation for name, _, collation, _ in rows}
        self._generated = {name for name, _, _, extra in rows if "auto_increment" in extra}
        return {name: kind for name, kind, _, _ in rows} or None

    def open(self, context: WriteContext) -> None:
        """Open as every table does; refuse an id column that merges distinct ids.

        Also find the table's unique keys besides the id's, on which a row must never
        match a record.
        """
        super().open(context)
        assert self._table is not None
        table = self._table
        if context.mode is SyncMode.APPEND:
            self._other_keys = {}
        else:
            keys = self._guard(lambda: self._unique_keys(table))
            self._other_keys = other_keys(keys, context.id_field)
        written = [f.name for f in context.fields]
        self._upserts_in_two = can_match_others(self._other_keys, written, self._generated)

        collation = self._collations.get(context.id_field)
        if context.mode is SyncMode.APPEND or collation is None or not _folds_case(collation):
            return
        kind = self._columns[context.id_field]
        raise TerminalError(
            f"the id column {context.id_field!r} of table {self._table} has collation "
            f"{collation}, which treats ids differing only in case or accents (and trailing "
            "spaces) as one, so distinct model rows would overwrite each other; make it "
            f"binary: ALTER TABLE {quote_table(self._table, 'mysql')} MODIFY "
            f"{_q(context.id_field)} {kind} CHARACTER SET utf8mb4 COLLATE "
            f"{self._binary_collation()} NOT NULL",
            connector=self.type_name,
            code="OBJECT_KEY_COLLATION",
        )

    def _binary_collation(self) -> str:
        """The server's exact utf8mb4 collation: byte-wise, trailing spaces significant."""
        rows = self._execute(_BINARY_COLLATIONS_SQL)
        names = sorted(str(row[0]) for row in rows)
        return names[-1] if names else "utf8mb4_bin"

    def _unique_keys(self, table: TableName) -> dict[str, UniqueKey]:
        return unique_keys(self._execute(UNIQUE_KEYS_SQL, (table.schema, table.name)))

    def _has_unique_key(self, table: TableName, column: str) -> bool:
        return any(key.columns == (column,) for key in self._unique_keys(table).values())

    def _statements(self, batch: WriteBatch) -> Statements:
        return replace(super()._statements(batch), other_unique_keys=self._upserts_in_two)

    def _create(self, table: TableName, fields: Sequence[FieldSpec], id_field: str) -> None:
        columns = [
            f"{_q(f.name)} "
            f"{column_type('mysql', f.arrow_type, logical=f.logical, key=f.name == id_field)}"
            for f in fields
        ]
        if self._creates_primary_key():
            columns.append(f"PRIMARY KEY ({_q(id_field)})")
        # A binary collation keeps ids (and every text value) that differ only in case,
        # accents or trailing spaces distinct; the server default would merge them.
        self._execute(
            f"CREATE TABLE {quote_table(table, 'mysql')} ({', '.join(columns)}) "
            f"ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE={self._binary_collation()}"
        )

    def _stage(self, batch: WriteBatch, skip: Collection[int]) -> list[RowFailure]:
        # The staging columns take the table's own types (and collations), so a value the
        # table cannot hold fails here, per row, and ids compare exactly as the table does.
        names = batch.records.column_names
        columns = [f"{_q(ROW_COLUMN)} INT NOT NULL PRIMARY KEY"]
        for name in names:
            collation = self._collations.get(name)
            suffix = f" COLLATE {collation}" if collation else ""
            columns.append(f"{_q(name)} {self._columns[name]}{suffix} NULL")
        self._execute(f"DROP TEMPORARY TABLE IF EXISTS {self.stage_name}")
        self._execute(
            f"CREATE TEMPORARY TABLE {self.stage_name} ({', '.join(columns)}) ENGINE=InnoDB"
        )

        # TODO(mysql-destination): PyMySQL escapes every value in Python, about half the
        # time of a batch (20-35k rows/s here); building the VALUES text column-wise in
        # Arrow would roughly double that, once its escaping is proven safe.
        records, unbindable = refuse_unbindable(batch.records, "a MySQL table")
        records, non_finite = refuse_non_finite(records, "a MySQL table")
        # Rows not to be written are never staged; each keeps its first reason.
        refused = {**self._padded_ids(batch), **non_finite, **unbindable}
        left_out = refused.keys() | skip
        rows = [row for row in python_rows(records, "mysql") if row[0] not in left_out]
        targets = ", ".join(_q(n) for n in [ROW_COLUMN, *names])
        marks = ", ".join(["%s"] * (len(names) + 1))
        sql = f"INSERT INTO {self.stage_name} ({targets}) VALUES ({marks})"

        def insert(lo: int, hi: int) -> None:
            with self._atomic():
                self._guard(lambda: self._insert_many(sql, rows[lo:hi]))

        failures = [
            RowFailure(rows[failure.index][0], failure.reason, failure.retryable)
            for failure in isolate_failures(0, len(rows), insert)
        ]
        return failures + [RowFailure(i, r, retryable=False) for i, r in refused.items()]

    def _padded_ids(self, batch: WriteBatch) -> dict[int, str]:
        """Rows whose id ends in a space when the id column ignores trailing spaces."""
        assert self._context is not None
        if self._context.mode is SyncMode.APPEND:
            return {}  # events are never matched by id
        ident = self._context.id_field
        collation = self._collations.get(ident)
        if collation is None or not _pads(collation) or ident not in batch.records.column_names:
            return {}
        ids = batch.records.column(ident)
        if not (pa.types.is_string(ids.type) or pa.types.is_large_string(ids.type)):
            return {}
        padded = pc.indices_nonzero(pc.fill_null(pc.ends_with(ids, " "), False)).to_pylist()
        if not padded:
            return {}

        reason = (
            f"id {{!r}} ends in a space, which column {ident!r} (collation {collation}) "
            f"ignores, so it would match another id; make the column binary without padding "
            f"(COLLATE {self._binary_collation()}) or trim the id in the model's SQL"
        )
        return {i: reason.format(ids[i].as_py()) for i in padded}

    def _insert_many(self, sql: str, rows: list[tuple[Any, ...]]) -> None:
        with self._conn.cursor() as cursor:
            cursor.executemany(sql, rows)

    def _unstage(self) -> None:
        if self._connected():
            self._quietly(f"DROP TEMPORARY TABLE IF EXISTS {self.stage_name}")
