"""The SQLAlchemy source: a streamed result read in chunks into Arrow columns."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from syncline.connectors.sources._errors import translated
from syncline.connectors.sources._rows import (
    INFER_ROWS,
    ColumnPlan,
    batches_from_rows,
    infer_plan,
)
from syncline.connectors.sources.base import DEFAULT_BATCH_ROWS, Column, Source
from syncline.connectors.sources.sqlalchemy.config import SQLAlchemyConfig
from syncline.connectors.sources.sqlalchemy.errors import map_error
from syncline.connectors.sources.sqlalchemy.mysql_session import MYSQL_BACKENDS, guard_mysql
from syncline.connectors.sources.sqlalchemy.postgres_session import guard_postgres, keep_json_text
from syncline.connectors.sources.sqlalchemy.sqlite_file import read_only_url, refuse_attach
from syncline.connectors.sources.sqlalchemy.types import (
    mysql_fields,
    mysql_plans,
    postgres_plans,
)
from syncline.connectors.sources.sqlite.client import column_plans, declared_types
from syncline.connectors.sources.statements import single_statement
from syncline.errors import ConnectorError

logger = logging.getLogger(__name__)

SCANNED_BACKENDS = {
    "postgresql": "postgres",
    "mysql": "mysql",
    "mariadb": "mysql",
    "sqlite": "sqlite",
    "duckdb": "duckdb",
}
"""Backends whose SQL loses its trailing semicolons, by the quoting they are scanned with.

Drivers differ on a trailing ``;`` (SQLite's refuses ``;;``), so it goes where the
scan knows the backend's quoting; any other backend's SQL is sent as written rather
than risk reading its quoting wrong.
"""


class SQLAlchemySource(Source):
    """Models on any database SQLAlchemy reaches, when no dedicated source exists.

    DB-API drivers do not declare result types in a portable way, so each column's
    type comes from what the backend tells (see :mod:`.types`); a column it says
    nothing of takes its type from its first
    :data:`~syncline.connectors.sources._rows.INFER_ROWS` values, in ``describe``
    (which therefore runs the query and reads those rows) and ``read`` alike. Cast
    columns in the model's SQL to pin a type.
    """

    type_name = "sqlalchemy"
    config_model = SQLAlchemyConfig
    dialect = "sqlalchemy"
    config: SQLAlchemyConfig

    def test(self) -> None:
        """Connect, which runs the dialect's own handshake queries."""
        with self._connection():
            pass

    def describe(self, query: str) -> list[Column]:
        """Names and types of ``query``'s columns: as the backend tells, else as its first
        rows show."""
        query = self._single_statement(query)
        with self._connection() as connection, translated(self._map_query_error):
            declared = _declared(connection, query)
            result = _stream(connection, query, INFER_ROWS)
            try:
                told = _told(result, declared)
                head = result.fetchmany(INFER_ROWS)
                plans = _plans(result.dialect.name, told, head)
            finally:
                result.close()
        return [plan.column() for plan in plans]

    def read(self, query: str, *, batch_rows: int = DEFAULT_BATCH_ROWS) -> Iterator[pa.RecordBatch]:
        """Stream ``query``'s rows with a server-side cursor, in chunks of ``batch_rows``."""
        query = self._single_statement(query)
        with self._connection() as connection, translated(self._map_query_error):
            declared = _declared(connection, query)
            result = _stream(connection, query, max(batch_rows, INFER_ROWS))
            try:
                told = _told(result, declared)
                head = result.fetchmany(INFER_ROWS)
                plans = _plans(result.dialect.name, told, head)
                yield from batches_from_rows(result.fetchmany, plans, batch_rows, head)
            finally:
                result.close()

    def table_query(self, table: str) -> str:
        """A query selecting every column of ``table``, quoted the way the dialect quotes."""
        engine = self._engine()
        try:
            quote = engine.dialect.identifier_preparer.quote
            return "SELECT * FROM " + ".".join(quote(p) for p in table.split(".") if p)
        finally:
            engine.dispose()

    @contextmanager
    def _connection(self) -> Iterator[Any]:
        """A connection on an engine without a pool; both are closed on exit."""
        engine = self._engine()
        try:
            with translated(self._map_connect_error):
                connection = engine.connect()
            try:
                yield connection
            finally:
                connection.close()
        finally:
            engine.dispose()

    def _engine(self) -> Any:
        """An engine without a pool on the URL, opening its database read-only.

        A SQLite file is opened read-only with ATTACH refused; a MySQL or MariaDB session
        is read-only and cannot read the client's files (see ``mysql_session``); a
        PostgreSQL session is read-only (see ``postgres_session``).
        """
        import sqlalchemy
        from sqlalchemy.engine import make_url
        from sqlalchemy.pool import NullPool

        with translated(self._map_connect_error):
            url = read_only_url(make_url(self.config.url.get_secret_value()))
            engine = sqlalchemy.create_engine(url, poolclass=NullPool)
        if engine.dialect.name == "sqlite":
            refuse_attach(engine)
        guard_mysql(engine)
        guard_postgres(engine)
        keep_json_text(engine)
        return engine

    def _single_statement(self, query: str) -> str:
        """``query`` without trailing semicolons, where the backend's quoting is known."""
        if ";" not in query:
            return query
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            backend = make_url(self.config.url.get_secret_value()).get_backend_name()
        except ArgumentError:
            return query  # connecting reports the bad URL
        dialect = SCANNED_BACKENDS.get(backend)
        if dialect is None:
            return query
        return single_statement(query, dialect, connector="sqlalchemy")

    def _backend(self) -> str:
        """The URL without its password, to name the database in messages."""
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            url = make_url(self.config.url.get_secret_value())
        except ArgumentError:
            return "the database in 'url'"
        return "database " + url.render_as_string(hide_password=True)

    def _secrets(self) -> tuple[str, ...]:
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        raw = self.config.url.get_secret_value()
        try:
            password = make_url(raw).password
        except ArgumentError:
            password = None
        return tuple(str(s) for s in (password, raw) if s)

    def _map_connect_error(self, exc: Exception) -> ConnectorError:
        return map_error(exc, backend=self._backend(), secrets=self._secrets(), connecting=True)

    def _map_query_error(self, exc: Exception) -> ConnectorError:
        return map_error(exc, backend=self._backend(), secrets=self._secrets(), connecting=False)


def _stream(connection: Any, query: str, buffer_rows: int) -> Any:
    """Run ``query`` on a server-side cursor where the dialect has one."""
    # Without parameters the driver sends the SQL as written: a '%' stays a '%'.
    options = connection.execution_options(
        no_parameters=True, stream_results=True, max_row_buffer=buffer_rows
    )
    return options.exec_driver_sql(query)


def _declared(connection: Any, query: str) -> list[str] | None:
    """The types a SQLite file declares for the query's columns; None on other backends.

    Read before the query runs: the temporary view they are read from cannot be dropped
    while the query's statement is open.
    """
    if connection.dialect.name != "sqlite":
        return None
    return declared_types(connection.connection.dbapi_connection, query)


@dataclass(frozen=True)
class _Told:
    """What the database and its driver tell of a result's columns."""

    columns: list[tuple[str, tuple[int, int] | None]]
    """Each column's name and, when the driver reports it, decimal precision and scale."""
    description: Any
    """The DB-API cursor description, if any."""
    mysql_fields: list[Any] | None
    """PyMySQL's column definitions, if the driver is PyMySQL."""
    declared: list[str] | None
    """The types a SQLite file declares (see :func:`_declared`)."""


def _told(result: Any, declared: list[str] | None) -> _Told:
    """What the driver tells of ``result``'s columns.

    Read before any row: a result that runs out of rows may close its cursor.
    """
    cursor = result.cursor
    description = cursor.description if cursor is not None else None
    columns = []
    for index, name in enumerate(result.keys()):
        decimal = None
        if description is not None:
            precision, scale = description[index][4], description[index][5]
            if isinstance(precision, int) and isinstance(scale, int) and 0 <= scale <= precision:
                decimal = (precision, scale)
        columns.append((name, decimal))
    fields = mysql_fields(cursor) if cursor is not None else None
    return _Told(columns, description, fields, declared)


def _plans(dialect: str, told: _Told, head: Sequence[Sequence[Any]]) -> list[ColumnPlan]:
    """One plan per result column, from what the backend tells, else from its first values."""
    if told.declared is not None:
        return column_plans([name for name, _ in told.columns], told.declared, head)
    if dialect == "postgresql" and told.description is not None:
        return postgres_plans(told.description, told.columns, head)
    if dialect in MYSQL_BACKENDS and told.mysql_fields is not None:
        return mysql_plans(told.mysql_fields)
    return [
        infer_plan(name, [row[index] for row in head], decimal=decimal)
        for index, (name, decimal) in enumerate(told.columns)
    ]
