"""The warehouse planner's own session: a connection that may write to its schema.

Source sessions are read-only, so that a model cannot change the warehouse; the
planner's session writes, but only statements of :mod:`.sql` to tables of its schema,
with the model's SQL set in as a subquery. One class per engine that runs the SQL:
PostgreSQL through psycopg, DuckDB in process. Planned rows are read back through the
source's own reader, so they reach the destination in the types a local run gives.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any, Protocol

import pyarrow as pa
from duckdb.func import FunctionNullHandling, PythonUDFType

from syncline.connectors.sources.base import Source
from syncline.connectors.sources.duckdb import DuckDBSource
from syncline.connectors.sources.postgres import PostgresSource
from syncline.engine.canonical import canonical_json_array
from syncline.engine.planner.warehouse.sql import CANONICAL_JSON_FUNCTION, DEFAULT_SCHEMA, literal
from syncline.errors import ConfigError, SynclineError, TerminalError

logger = logging.getLogger(__name__)

INSUFFICIENT_PRIVILEGE = "42501"

UNIQUE_VIOLATION = "23505"

WORK_MEM = "256MB"
"""PostgreSQL's memory per sort or hash of the planner's statements, in its session only."""


def _timed(action: Any, sql: str) -> Any:
    """Run ``action`` and log at DEBUG how long ``sql`` took, to see where a run's time goes."""
    if not logger.isEnabledFor(logging.DEBUG):
        return action()
    started = time.perf_counter()
    try:
        return action()
    finally:
        logger.debug("%.3f s: %s", time.perf_counter() - started, " ".join(sql.split())[:300])


class WarehouseSession(Protocol):
    """What the planner needs of a connection: run SQL, fetch, load rows, read Arrow."""

    dialect: str
    schema: str

    def execute(self, sql: str) -> None: ...

    def fetch(self, sql: str) -> list[tuple[Any, ...]]: ...

    def insert(self, table: str, columns: Sequence[str], rows: pa.Table) -> None: ...

    def transaction(self) -> AbstractContextManager[None]: ...

    def read(self, sql: str, batch_rows: int) -> Iterator[pa.RecordBatch]: ...

    def create_schema(self, statement: str) -> None: ...

    def close(self) -> None: ...


def planner_schema(source: Source) -> str | None:
    """The schema a source's syncs keep their planner tables in; None for the local planner."""
    if getattr(source.config, "planner", "local") != "warehouse":
        return None
    return str(getattr(source.config, "planner_schema", DEFAULT_SCHEMA))


def open_session(source: Source) -> WarehouseSession:
    """A write session to ``source`` for the warehouse planner."""
    schema = planner_schema(source) or DEFAULT_SCHEMA
    if isinstance(source, PostgresSource):
        return PostgresSession(source, schema)
    if isinstance(source, DuckDBSource):
        return DuckDBSession(source, schema)
    raise ConfigError(
        f"source type {source.type_name!r} has no warehouse planner yet (postgres and duckdb "
        "have one); set 'planner: local'"
    )


class PostgresSession:
    """The planner's psycopg connection to a PostgreSQL source."""

    dialect = "postgres"

    def __init__(self, source: PostgresSource, schema: str) -> None:
        self.source = source
        self.schema = schema
        self.connection = source.planner_connection()
        self._guard(lambda: self.connection.execute("SET TimeZone = 'UTC'"))
        # The diff hashes the whole model against the whole snapshot; with the default
        # 4 MB its joins and groupings spill to disk in many batches.
        self._guard(lambda: self.connection.execute(f"SET work_mem = '{WORK_MEM}'"))
        # Compiling the diff's expressions costs more than it saves on a table this size.
        self._guard(lambda: self.connection.execute("SET jit = off"))

    def _guard(self, action: Any) -> Any:
        try:
            return action()
        except SynclineError:
            raise
        except Exception as exc:
            raise self.source.map_error(exc) from exc

    def execute(self, sql: str) -> None:
        _timed(lambda: self._guard(lambda: self.connection.execute(sql)), sql)

    def fetch(self, sql: str) -> list[tuple[Any, ...]]:
        return list(
            _timed(lambda: self._guard(lambda: self.connection.execute(sql).fetchall()), sql)
        )

    def succeeds_unless_unique_violated(self, sql: str) -> bool:
        """Run ``sql``; False when PostgreSQL refuses it for a repeated unique value."""
        try:
            _timed(lambda: self.connection.execute(sql), sql)
        except Exception as exc:
            if getattr(exc, "sqlstate", None) == UNIQUE_VIOLATION:
                return False
            raise self.source.map_error(exc) from exc
        return True

    def insert(self, table: str, columns: Sequence[str], rows: pa.Table) -> None:
        if rows.num_rows == 0:
            return

        def copy() -> None:
            names = ", ".join(columns)
            with self.connection.cursor() as cursor:
                with cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copying:
                    for row in zip(*(rows.column(c).to_pylist() for c in columns), strict=True):
                        copying.write_row(row)

        self._guard(copy)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        try:
            with self.connection.transaction():
                yield
        except SynclineError:
            raise
        except Exception as exc:
            raise self.source.map_error(exc) from exc

    def read(self, sql: str, batch_rows: int) -> Iterator[pa.RecordBatch]:
        return self.source.read(sql, batch_rows=batch_rows)

    def create_schema(self, statement: str) -> None:
        """Create the planner's schema, or say which grant would let us.

        PostgreSQL checks the grant before ``IF NOT EXISTS``, so a schema an admin made
        for the planner is looked up first.
        """
        exists = self.fetch(f"SELECT 1 FROM pg_namespace WHERE nspname = {literal(self.schema)}")
        if exists:
            return
        try:
            self.connection.execute(statement)
        except Exception as exc:
            if getattr(exc, "sqlstate", None) != INSUFFICIENT_PRIVILEGE:
                raise self.source.map_error(exc) from exc
            config = self.source.config
            raise TerminalError(
                f"user {config.user!r} may not create schema {self.schema!r} in database "
                f"{config.database!r} for the warehouse planner; run "
                f'GRANT CREATE ON DATABASE "{config.database}" TO "{config.user}", or '
                f'create the schema for it: CREATE SCHEMA "{self.schema}" '
                f'AUTHORIZATION "{config.user}"',
                connector="postgres",
                code="PLANNER_SCHEMA_DENIED",
            ) from None

    def close(self) -> None:
        self.connection.close()


class DuckDBSession:
    """The planner's read-write connection to a DuckDB source's file.

    DuckDB lets one process write a file and no other open it meanwhile, so while a run
    plans and delivers, readers in other processes (a preview, another worker) wait.
    """

    dialect = "duckdb"

    def __init__(self, source: DuckDBSource, schema: str) -> None:
        self.source = source
        self.schema = schema
        self.connection = source.planner_connection()
        try:
            self._register_canonical_json()
        except BaseException:
            self.connection.close()
            raise

    def _register_canonical_json(self) -> None:
        """Make the local planner's canonical JSON a SQL function of this connection.

        DuckDB has no JSON function that sorts keys or respells numbers, so the
        planner's statements call this one, which hands it whole Arrow columns.
        """

        def canonical(texts: pa.Array) -> pa.Array:
            return canonical_json_array(texts, pa.string())

        self._guard(
            lambda: self.connection.create_function(
                CANONICAL_JSON_FUNCTION,
                canonical,
                ["VARCHAR"],
                "VARCHAR",
                type=PythonUDFType.ARROW,
                null_handling=FunctionNullHandling.SPECIAL,
                side_effects=False,
            )
        )

    def _guard(self, action: Any) -> Any:
        try:
            return action()
        except SynclineError:
            raise
        except Exception as exc:
            raise self.source.map_error(exc) from exc

    def execute(self, sql: str) -> None:
        _timed(lambda: self._guard(lambda: self.connection.execute(sql)), sql)

    def fetch(self, sql: str) -> list[tuple[Any, ...]]:
        return list(
            _timed(lambda: self._guard(lambda: self.connection.execute(sql).fetchall()), sql)
        )

    def insert(self, table: str, columns: Sequence[str], rows: pa.Table) -> None:
        if rows.num_rows == 0:
            return
        names = ", ".join(columns)

        def load() -> None:
            self.connection.register("_sl_rows", rows.select(list(columns)))
            try:
                self.connection.execute(f"INSERT INTO {table} ({names}) SELECT * FROM _sl_rows")
            finally:
                self.connection.unregister("_sl_rows")

        self._guard(load)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        self.execute("BEGIN TRANSACTION")
        try:
            yield
        except BaseException:
            self.execute("ROLLBACK")
            raise
        self.execute("COMMIT")

    def read(self, sql: str, batch_rows: int) -> Iterator[pa.RecordBatch]:
        return self.source.read_on(self.connection.cursor(), sql, batch_rows=batch_rows)

    def create_schema(self, statement: str) -> None:
        self.execute(statement)

    def close(self) -> None:
        self.connection.close()
