"""The PostgreSQL source: ADBC streams query results as Arrow batches over COPY.

NUMERIC columns are read as the server's text: ADBC turning NUMERIC's binary digits
into text costs a third of a read of TPC-H ``orders``, while the server prints them
at a fraction of that, on a core of its own. The text is what ADBC would have made.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from typing import Any

import pyarrow as pa

from syncline.connectors.sources._arrow import rebatch
from syncline.connectors.sources._errors import translated
from syncline.connectors.sources.base import DEFAULT_BATCH_ROWS, Column, Source
from syncline.connectors.sources.interruptible import interruptible
from syncline.connectors.sources.postgres.config import PostgresConfig
from syncline.connectors.sources.postgres.errors import map_error
from syncline.connectors.sources.postgres.types import (
    MONEY_SCALE_QUERY,
    TYPE_KEY,
    ColumnPlan,
    plan_column,
)
from syncline.connectors.sources.statements import single_statement
from syncline.errors import ConnectorError, TerminalError

logger = logging.getLogger(__name__)


class PostgresSource(Source):
    """Models on a PostgreSQL database, read in bulk through ``adbc_driver_postgresql``."""

    type_name = "postgres"
    config_model = PostgresConfig
    dialect = "postgres"
    config: PostgresConfig

    def test(self) -> None:
        """Connect, and check that the configured schema exists."""
        connection = self._connect()
        try:
            with translated(self._map_error), connection.cursor() as cursor:
                cursor.execute("SELECT current_schema()")
                row = cursor.fetchone()
        finally:
            connection.close()

        if self.config.schema_name is not None and (row is None or row[0] is None):
            raise TerminalError(
                f"schema {self.config.schema_name!r} does not exist in database "
                f"{self.config.database!r}; fix the source setting 'schema'",
                connector="postgres",
            )

    def describe(self, query: str) -> list[Column]:
        """Names and types of ``query``'s columns; the server plans it, no row is read."""
        connection = self._connect()
        try:
            with translated(self._map_error), connection.cursor() as cursor:
                money_scale = _money_scale(cursor)
                exported = cursor.adbc_execute_schema(_copyable(query))
        finally:
            connection.close()
        return [plan_column(field, money_scale).column() for field in exported]

    def read(self, query: str, *, batch_rows: int = DEFAULT_BATCH_ROWS) -> Iterator[pa.RecordBatch]:
        """Stream ``query``'s rows as ADBC produces them, regrouped into ``batch_rows``."""
        connection = self._connect()
        try:
            with translated(self._map_error), connection.cursor() as cursor:
                # Asked first: no other statement may run while the result streams.
                money_scale = _money_scale(cursor)
                exported = cursor.adbc_execute_schema(_copyable(query))
                plans = [plan_column(field, money_scale) for field in exported]
                # The driver waits for the server inside single calls, and on its own turns
                # Ctrl-C into a failed query (SIGTERM it does not see): the calls that wait
                # for the query's first row are made so that a signal cancels the query
                # and is raised as itself.
                statement = _copyable(_numeric_as_text(query, exported))
                interruptible(lambda: cursor.execute(statement), cursor.adbc_cancel)
                reader = cursor.fetch_record_batch()
                schema = pa.schema([plan.field for plan in plans])
                batches = (
                    _finish(batch, plans, schema) for batch in _batches(reader, cursor.adbc_cancel)
                )
                yield from rebatch(batches, batch_rows)
        finally:
            connection.close()

    def planner_connection(self) -> Any:
        """A psycopg connection in autocommit mode whose transactions may write.

        Only the warehouse planner uses it, for the tables in its own schema; models are
        still read through the read-only sessions of :meth:`read`.
        """
        import psycopg

        with translated(self._map_error):
            return psycopg.connect(self.config.conninfo(read_only=False), autocommit=True)

    def map_error(self, exc: Exception) -> ConnectorError:
        """The taxonomy error for a driver error of this source's connections."""
        return self._map_error(exc)

    def _connect(self) -> Any:
        import adbc_driver_postgresql.dbapi

        logger.debug(
            "connecting to PostgreSQL at %s:%s as %s",
            self.config.host,
            self.config.port,
            self.config.user,
        )
        with translated(self._map_error):
            return adbc_driver_postgresql.dbapi.connect(self.config.conninfo())

    def _map_error(self, exc: Exception) -> ConnectorError:
        return map_error(exc, self.config)


def _batches(reader: pa.RecordBatchReader, cancel: Any) -> Iterator[pa.RecordBatch]:
    """The reader's batches, the first waited for so that a signal cancels the query.

    The wait before the first row is the long one (the server sorts, groups or sleeps);
    later batches arrive as the rows stream and are read in place, so that their memory
    stays with the reading thread's.
    """
    try:
        yield interruptible(reader.read_next_batch, cancel)
    except StopIteration:
        return
    yield from reader


def _money_scale(cursor: Any) -> int:
    """The fractional digits of ``money`` in this session (its ``lc_monetary``)."""
    cursor.execute(MONEY_SCALE_QUERY)
    row = cursor.fetchone()
    return int(row[0])


def _copyable(query: str) -> str:
    """``query`` as it can sit inside ``COPY (...) TO STDOUT``, which is how ADBC reads it.

    Trailing semicolons go, with any comment after them (see
    :func:`~syncline.connectors.sources.statements.single_statement`), and a final
    newline ends a trailing ``--`` comment that would otherwise swallow the closing
    parenthesis.

    Raises:
        TerminalError: the SQL holds a second statement.
    """
    return single_statement(query, "postgres", connector="postgres").rstrip() + "\n"


def _numeric_as_text(query: str, exported: pa.Schema) -> str:
    """``query`` with its NUMERIC columns cast to text by the server, or as it is when
    it has none or its column names do not tell the columns apart."""
    names = exported.names
    numeric = [_type_name(field) == "numeric" for field in exported]
    if not any(numeric) or len(set(names)) != len(names):
        return query
    columns = ", ".join(
        f"{_identifier(name)}::text AS {_identifier(name)}" if is_numeric else _identifier(name)
        for name, is_numeric in zip(names, numeric, strict=True)
    )
    return f"SELECT {columns} FROM (\n{_copyable(query)}) AS _syncline_model"


def _type_name(field: pa.Field) -> str:
    value: bytes = (field.metadata or {}).get(TYPE_KEY, b"")
    return value.decode()


def _identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _finish(
    batch: pa.RecordBatch, plans: Sequence[ColumnPlan], schema: pa.Schema
) -> pa.RecordBatch:
    """``batch`` in the schema ``read`` promises, converting the columns that need it."""
    arrays = []
    for column, plan in zip(batch.columns, plans, strict=True):
        try:
            arrays.append(plan.convert(column) if plan.convert else column)
        except (pa.ArrowException, ValueError) as exc:
            raise TerminalError(
                f"column {plan.field.name!r} ({plan.type_name}) holds a value that does not fit "
                f"Arrow type {plan.field.type} ({type(exc).__name__}); CAST it in the model's SQL",
                connector="postgres",
            ) from None
    return pa.RecordBatch.from_arrays(arrays, schema=schema)
