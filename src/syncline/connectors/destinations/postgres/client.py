"""The PostgreSQL destination: psycopg 3, CSV COPY into a staging table, set-based writes.

A first load skips the staging table: while the target held no row when it was opened,
an upsert batch is copied straight into it, one transaction per batch. A key that is
already there (or any row the table refuses) makes that COPY fail as a whole; the batch
is then written the staged way, which finds the rows, and so is every later batch.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from typing import Any, ClassVar

import pyarrow as pa
import pyarrow.compute as pc

from syncline.connectors.destinations.base import (
    Capabilities,
    FieldSpec,
    RowFailure,
    WriteAction,
    WriteBatch,
    WriteContext,
)
from syncline.connectors.destinations.postgres.calendar import refuse_out_of_range
from syncline.connectors.destinations.postgres.config import PostgresDestinationConfig
from syncline.connectors.destinations.postgres.errors import map_error
from syncline.connectors.destinations.postgres.keys import (
    INDEX_COLLATION_SQL,
    KEY_COMPARISON_SQL,
    index_collation_error,
    key_comparison_error,
)
from syncline.connectors.destinations.postgres.reasons import KEY_COLUMNS_SQL, explain
from syncline.connectors.destinations.sql.bisect import isolate_failures
from syncline.connectors.destinations.sql.identifiers import TableName, quote, quote_table
from syncline.connectors.destinations.sql.precision import decimal_column
from syncline.connectors.destinations.sql.reasons import row_values
from syncline.connectors.destinations.sql.table import (
    KEYED_MODES,
    TABLE_CAPABILITIES,
    TableDestination,
)
from syncline.connectors.destinations.sql.types import column_type
from syncline.connectors.destinations.sql.values import ROW_COLUMN, csv_for_copy
from syncline.errors import TerminalError

logger = logging.getLogger(__name__)

_COLUMNS_SQL = """
SELECT a.attname, format_type(a.atttypid, a.atttypmod)
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = %s AND c.relname = %s AND c.relkind IN ('r', 'p')
  AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum
"""

_ID_INDEXES = """
SELECT 1
FROM pg_index i
JOIN pg_class c ON c.oid = i.indrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_class ic ON ic.oid = i.indexrelid
JOIN pg_am am ON am.oid = ic.relam
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = i.indkey[0]
WHERE n.nspname = %s AND c.relname = %s AND a.attname = %s
  AND i.indpred IS NULL AND i.indexprs IS NULL
"""
"""The table's indexes whose first key is the id column, on the column itself."""

_UNIQUE_SQL = _ID_INDEXES + "  AND i.indisunique AND i.indnkeyatts = 1\n"
"""Whether the id column alone is unique: keyed modes need it to match rows."""

_ID_INDEX_SQL = _ID_INDEXES + "  AND am.amname IN ('btree', 'hash') AND i.indisvalid\n"
"""Whether an index of the table looks rows up by the id column alone (its first key)."""

_INDEX_LOOKUPS = ("SET LOCAL enable_hashjoin = off", "SET LOCAL enable_mergejoin = off")
"""A batch's transaction on a table with an id index: joins of the staged batch to the
table become lookups in that index. Left free, the server may hash the batch and read the
whole table instead, which makes each batch cost as much as the table is large. Without
such an index, hashing is the right plan and is left alone."""

_SESSION_SETTINGS = (
    # Zone-less timestamp text (how instants are staged) is read in the session zone.
    ("TimeZone", "UTC"),
    # JIT compiling only slows a batch's short statements.
    ("jit", "off"),
)
"""Settings of every destination session, given to the server when it connects."""


POSTGRES_CAPABILITIES: Capabilities = replace(
    TABLE_CAPABILITIES,
    max_batch_rows=PostgresDestinationConfig.max_batch_rows,
    max_concurrency=PostgresDestinationConfig.max_concurrency,
)
"""Batches of 50,000 rows: a batch's fixed costs (transaction, statements, journal) stay
small beside its rows, while its CSV stays a few megabytes. Up to four in flight, each
on a connection of its own: the server stages and applies one batch while the next is
fetched and mapped, and a run's added, changed and removed rows (distinct keys, so no
two batches wait on each other's rows) are written side by side."""


MAX_IDENTIFIER_BYTES = 63
"""PostgreSQL keeps this many bytes of a longer name and drops the rest."""


class PostgresDestination(TableDestination):
    """Writes a sync's changes into a PostgreSQL table."""

    type_name = "postgres"
    capabilities = POSTGRES_CAPABILITIES
    config_model = PostgresDestinationConfig
    dialect: ClassVar[str] = "postgres"
    config: PostgresDestinationConfig

    def __init__(self, config: PostgresDestinationConfig) -> None:
        # Set before the base class's __init__, which assigns _conn through the property.
        self._local = threading.local()
        self._made: list[Any] = []
        """Every connection this destination opened, whichever thread uses it."""
        self._made_lock = threading.Lock()
        self._ready: Any = None
        """The connection :meth:`prepare` opened, until a thread's :meth:`_connect` takes it."""
        super().__init__(config)
        self._copy_into_target = False
        self._id_indexed = False
        """Whether the open table has an index on the id column (see _INDEX_LOOKUPS)."""
        self._keys: dict[str, list[str]] = {}
        """The columns of the table's unique keys that refused rows, by key name."""

    @classmethod
    def field_name_problem(cls, name: str) -> tuple[str, str] | None:
        """A column name longer than PostgreSQL keeps would be cut short when the table is
        created, and the run could not find its column afterwards."""
        size = len(name.encode())
        if size <= MAX_IDENTIFIER_BYTES:
            return None
        message = (
            f"field {name[:20]!r}... is {size} bytes long; PostgreSQL keeps only the first "
            f"{MAX_IDENTIFIER_BYTES} of a column name"
        )
        return message, "map it to a shorter field name"

    @property
    def _conn(self) -> Any:
        """This thread's connection: batches in flight at once are written by threads of
        their own, each in its own session (and so with its own staging tables)."""
        return getattr(self._local, "conn", None)

    @_conn.setter
    def _conn(self, value: Any) -> None:
        self._local.conn = value
        if value is not None:
            with self._made_lock:
                self._made.append(value)

    @property
    def _stages(self) -> dict[tuple[str, ...], str]:
        """Staging table names of this thread's session, by column set."""
        stages: dict[tuple[str, ...], str] | None = getattr(self._local, "stages", None)
        if stages is None:
            stages = self._local.stages = {}
        return stages

    @_stages.setter
    def _stages(self, value: dict[tuple[str, ...], str]) -> None:
        self._local.stages = value

    @property
    def default_schema(self) -> str:
        """The configured schema, ``public`` unless set."""
        return self.config.schema_

    @property
    def _where(self) -> str:
        return f"{self.config.host}:{self.config.port}/{self.config.database}"

    def prepare(self) -> None:
        """Load psycopg (a fifth of a second) and connect while the model is read; the
        next :meth:`_connect`, on whichever thread, takes this connection."""
        try:
            connection = self._guard(self._new_connection)
        except Exception:  # noqa: BLE001 - open() connects again and reports the cause
            logger.debug("preparing the PostgreSQL destination failed", exc_info=True)
            return
        with self._made_lock:
            self._made.append(connection)
            self._ready = connection

    def _connect(self) -> None:
        self._disconnect()
        self._stages = {}
        with self._made_lock:
            ready, self._ready = self._ready, None
        if ready is not None and not ready.closed and not ready.broken:
            self._conn = ready
            return
        self._conn = self._new_connection()
        logger.debug("connected to PostgreSQL destination %s", self._where)

    def _new_connection(self) -> Any:
        import psycopg

        password = self.config.password
        connection = psycopg.connect(
            host=self.config.host,
            port=self.config.port,
            user=self.config.user,
            dbname=self.config.database,
            password=password.get_secret_value() if password else None,
            sslmode=self.config.sslmode,
            connect_timeout=self.config.connect_timeout,
            application_name="syncline",
            autocommit=True,
            # Set by the server as the session starts: no round trip of their own.
            options=" ".join(f"-c {name}={value}" for name, value in _SESSION_SETTINGS),
        )
        return connection

    def close(self) -> None:
        """Close every connection: this thread's, the writer threads' and an unused one."""
        super().close()
        with self._made_lock:
            made, self._made, self._ready = self._made, [], None
        for connection in made:
            try:
                connection.close()
            except Exception:  # noqa: BLE001 - a failed close leaves nothing to do
                logger.debug("closing a PostgreSQL connection failed", exc_info=True)

    def _disconnect(self) -> None:
        connection = self._conn
        super()._disconnect()
        if connection is not None:
            # Forgotten once closed, so that a destination that connects often (the API
            # listing a table's fields) does not keep every closed connection.
            with self._made_lock:
                self._made = [made for made in self._made if made is not connection]

    def _connected(self) -> bool:
        conn = self._conn
        return conn is not None and not conn.closed and not conn.broken

    def _map_error(self, exc: Exception) -> Exception | None:
        return map_error(exc, self._where)

    def _explain(self, reason: str, records: pa.Table, index: int) -> str:
        assert self._table is not None
        assert self._context is not None
        return explain(
            reason,
            row_values(records, index),
            self._columns,
            str(self._table),
            id_field=self._context.id_field,
            key_columns=self._key_columns,
        )

    def _key_columns(self, key: str) -> list[str]:
        """The columns of the table's unique key ``key``; none when they cannot be read."""
        assert self._table is not None
        if key not in self._keys:
            target = quote_table(self._table, "postgres")
            try:
                rows = self._execute(KEY_COLUMNS_SQL, (target, key))
            except Exception:  # noqa: BLE001 - the reason then names the key alone
                logger.debug("reading the columns of key %s failed", key, exc_info=True)
                return []
            self._keys[key] = [name for (name,) in rows]
        return self._keys[key]

    def _execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._conn.cursor() as cursor:
            cursor.execute(sql, params or None)
            return cursor.fetchall() if cursor.description else []

    def test(self) -> None:
        """Connect, and check the server accepts writes and the schema can be used."""
        schema = self.config.schema_
        try:
            self._guard(self._connect)
            rows = self._guard(
                lambda: self._execute(
                    "SELECT current_setting('transaction_read_only'), "
                    "EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = %s), "
                    "CASE WHEN EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = %s) "
                    "THEN has_schema_privilege(%s, 'USAGE') "
                    "ELSE has_database_privilege(current_database(), 'CREATE') END, "
                    "has_database_privilege(current_database(), 'TEMP')",
                    (schema, schema, schema),
                )
            )
        finally:
            self._disconnect()

        read_only, schema_exists, allowed, temporary = rows[0]
        if read_only == "on":
            raise TerminalError(
                f"PostgreSQL destination {self._where} is read-only (a standby?); "
                "point it at the primary server",
                connector=self.type_name,
            )
        if not temporary:
            raise TerminalError(
                f"PostgreSQL user {self.config.user!r} may not create temporary tables in "
                f"{self._where}, which staging a batch needs; GRANT TEMP ON DATABASE "
                f"{self.config.database} TO {self.config.user}",
                connector=self.type_name,
            )
        if not allowed:
            need = "USAGE on schema" if schema_exists else "CREATE on the database to create schema"
            raise TerminalError(
                f"PostgreSQL user {self.config.user!r} lacks {need} {schema!r} in "
                f"{self._where}; grant it or choose another schema",
                connector=self.type_name,
            )

    def open(self, context: WriteContext) -> None:
        """Open the table; an empty table with a unique id takes upserts by plain COPY."""
        super().open(context)
        self._keys = {}
        assert self._table is not None
        key = (self._table.schema, self._table.name, context.id_field)
        target = quote_table(self._table, "postgres")
        empty = self._guard(lambda: self._execute(f"SELECT NOT EXISTS (SELECT 1 FROM {target})"))
        # Keyed modes checked the unique id, which turns any repeated key into an error.
        self._copy_into_target = context.mode in KEYED_MODES and bool(empty[0][0])
        self._id_indexed = bool(self._guard(lambda: self._execute(_ID_INDEX_SQL, key)))

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        with super()._transaction():
            if self._id_indexed:
                for setting in _INDEX_LOOKUPS:
                    self._execute(setting)
            yield

    def _write(self, batch: WriteBatch) -> list[RowFailure]:
        if self._copy_into_target and batch.action is WriteAction.UPSERT:
            # A batch with refused rows goes the staged way, which leaves them out.
            if not self._refuse(batch) and self._copied(batch):
                return []
        return super()._write(batch)

    def _refuse(self, batch: WriteBatch) -> dict[int, str]:
        refused = refuse_out_of_range(batch.records, self._columns, str(self._table))
        return {**super()._refuse(batch), **refused}

    def _copied(self, batch: WriteBatch) -> bool:
        """COPY ``batch`` straight into the target; False, having written nothing, if refused."""
        assert self._table is not None
        names = ", ".join(quote(name, "postgres") for name in batch.records.column_names)
        sql = f"COPY {quote_table(self._table, 'postgres')} ({names}) FROM STDIN (FORMAT csv)"
        data = csv_for_copy(self._for_copy(batch.records), 0, len(batch), positions=False)
        try:
            with self._transaction():
                self._copy(sql, data)
        except Exception as exc:  # noqa: BLE001 - the staged write reports the real cause
            self._copy_into_target = False
            logger.info(
                "COPY into %s refused a batch (%s); writing it and later batches staged",
                self._table,
                type(exc).__name__,
            )
            return False
        return True

    def _merging_key(self, table: TableName, id_field: str) -> TerminalError | None:
        """A ``citext`` id column, or one under a nondeterministic collation (its own, or a
        unique index's on it); see :mod:`syncline.connectors.destinations.postgres.keys`."""
        key = (table.schema, table.name, id_field)
        rows = self._guard(lambda: self._execute(KEY_COMPARISON_SQL, key))
        error = key_comparison_error(rows, table, id_field)
        if error is None:
            indexes = self._guard(lambda: self._execute(INDEX_COLLATION_SQL, key))
            error = index_collation_error(indexes, table, id_field)
        return error

    def _describe(self, table: TableName) -> dict[str, str] | None:
        rows = self._execute(_COLUMNS_SQL, (table.schema, table.name))
        return {name: kind for name, kind in rows} or None

    def _has_unique_key(self, table: TableName, column: str) -> bool:
        return bool(self._execute(_UNIQUE_SQL, (table.schema, table.name, column)))

    def _create(self, table: TableName, fields: Sequence[FieldSpec], id_field: str) -> None:
        columns = [
            f"{quote(f.name, 'postgres')} "
            f"{column_type('postgres', f.arrow_type, logical=f.logical, key=f.name == id_field)}"
            for f in fields
        ]
        if self._creates_primary_key():
            columns.append(f"PRIMARY KEY ({quote(id_field, 'postgres')})")

        with self._transaction():
            if not self._execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (table.schema,)):
                self._execute(f"CREATE SCHEMA {quote(table.schema, 'postgres')}")
            self._execute(f"CREATE TABLE {quote_table(table, 'postgres')} ({', '.join(columns)})")

    def _stage_table(self, batch: WriteBatch) -> str:
        # One staging table per column set (an UPSERT and a DELETE batch differ), made once
        # per connection and emptied by each commit: no catalog churn per batch.
        names = tuple(batch.records.column_names)
        if names not in self._stages:
            self._stages[names] = f"{self.stage_name}_{len(self._stages)}"
        return self._stages[names]

    def _stage(self, batch: WriteBatch, skip: Collection[int]) -> list[RowFailure]:
        names = batch.records.column_names
        stage = self._stage_table(batch)
        columns = [f"{quote(ROW_COLUMN, 'postgres')} integer"]
        columns += [f"{quote(name, 'postgres')} {self._columns[name]}" for name in names]
        self._execute(
            f"CREATE TEMP TABLE IF NOT EXISTS {stage} ({', '.join(columns)}) ON COMMIT DELETE ROWS"
        )

        targets = ", ".join(quote(n, "postgres") for n in [ROW_COLUMN, *names])
        copy_sql = f"COPY {stage} ({targets}) FROM STDIN (FORMAT csv)"

        records = self._for_copy(batch.records)

        def copy(lo: int, hi: int) -> None:
            data = csv_for_copy(records, lo, hi, skip=skip)
            with self._atomic():
                self._guard(lambda: self._copy(copy_sql, data))

        return isolate_failures(0, len(batch), copy)

    def _for_copy(self, records: pa.Table) -> pa.Table:
        """``records`` with decimals bound for an integer column written as whole numbers.

        PostgreSQL's integer input refuses ``2.00``; a decimal with a fraction was refused
        already (see :meth:`_refuse`), so dropping the scale changes no value written.
        """
        for index, name in enumerate(records.column_names):
            values = records.column(index)
            target = decimal_column(name, self._columns.get(name, ""))
            if target is None or not target.integer or not pa.types.is_decimal(values.type):
                continue
            whole = pa.decimal128(values.type.precision, 0)
            if values.type.precision > 38:
                whole = pa.decimal256(values.type.precision, 0)
            records = records.set_column(index, name, pc.cast(values, whole, safe=False))
        return records

    def _copy(self, sql: str, data: bytes) -> None:
        with self._conn.cursor() as cursor, cursor.copy(sql) as copy:
            copy.write(data)
