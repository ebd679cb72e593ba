"""The SQLite source: rows fetched in chunks and built into Arrow columns."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator, Sequence
from typing import Any

import pyarrow as pa

from syncline.connectors.sources._errors import connected, translated
from syncline.connectors.sources._rows import (
    INFER_ROWS,
    ColumnPlan,
    batches_from_rows,
    require_columns,
)
from syncline.connectors.sources.base import DEFAULT_BATCH_ROWS, Column, Source
from syncline.connectors.sources.sqlite.config import SQLiteConfig
from syncline.connectors.sources.sqlite.errors import map_error
from syncline.connectors.sources.sqlite.types import declared_plan, inferred_plan
from syncline.connectors.sources.statements import single_statement
from syncline.errors import ConnectorError

logger = logging.getLogger(__name__)

_DESCRIBE_VIEW = "_syncline_describe"


class SQLiteSource(Source):
    """Models on a SQLite file, opened read-only.

    Column types come from the types the tables declare. A column without one (an
    expression such as ``count(*)``) takes its type from its first
    :data:`~syncline.connectors.sources._rows.INFER_ROWS` values, in ``describe``
    and ``read`` alike; one mixing kinds is text. A value its column cannot hold
    exactly fails the read naming the column.
    """

    type_name = "sqlite"
    config_model = SQLiteConfig
    dialect = "sqlite"
    config: SQLiteConfig

    def test(self) -> None:
        """Open the file and read its schema version."""
        with connected(self._connect, self._map_error) as connection:
            connection.execute("PRAGMA schema_version").fetchone()

    def describe(self, query: str) -> list[Column]:
        """Names and types of ``query``'s columns; undeclared ones peek at the first rows."""
        with connected(self._connect, self._map_error) as connection:
            declared = declared_types(connection, query)
            cursor = connection.execute(_strip(query))
            head = cursor.fetchmany(INFER_ROWS)
            plans = column_plans(_names(cursor), declared, head)
        return [plan.column() for plan in plans]

    def read(self, query: str, *, batch_rows: int = DEFAULT_BATCH_ROWS) -> Iterator[pa.RecordBatch]:
        """Stream ``query``'s rows in chunks of ``batch_rows``, built into Arrow columns."""
        with connected(self._connect, self._map_error) as connection:
            declared = declared_types(connection, query)
            cursor = connection.execute(_strip(query))
            head = cursor.fetchmany(INFER_ROWS)
            plans = column_plans(_names(cursor), declared, head)
            yield from batches_from_rows(cursor.fetchmany, plans, batch_rows, head)

    def _connect(self) -> sqlite3.Connection:
        uri = self.config.path.resolve().as_uri() + "?mode=ro"
        # A read may be consumed on another thread than the one that opened it; the
        # connection is never shared between threads at the same time.
        with translated(self._map_error):
            connection = sqlite3.connect(uri, uri=True, check_same_thread=False)
        connection.set_authorizer(refuse_attach)
        return connection

    def _map_error(self, exc: Exception) -> ConnectorError:
        return map_error(exc, self.config)


_REFUSED_ACTIONS = frozenset({sqlite3.SQLITE_ATTACH, sqlite3.SQLITE_DETACH})
"""ATTACH would open (or create) any other file on the server; the file is read-only,
but an attached one would not be."""


def refuse_attach(action: int, *_args: object) -> int:
    """sqlite3 authorizer: refuse ATTACH and DETACH, allow the rest of a read-only file."""
    return sqlite3.SQLITE_DENY if action in _REFUSED_ACTIONS else sqlite3.SQLITE_OK


def _strip(query: str) -> str:
    """The query without trailing semicolons and comments, so it can be wrapped in a view.

    Raises:
        TerminalError: the SQL holds a second statement.
    """
    return single_statement(query.strip(), "sqlite", connector="sqlite")


def declared_types(connection: sqlite3.Connection, query: str) -> list[str]:
    """Declared types of the query's columns, read from a temporary view of it.

    sqlite3 does not expose a result column's declared type; a view's column list
    does, and a temporary view works on a read-only file too. Empty when the
    query cannot be a view; every column's type is then inferred.
    """
    try:
        connection.execute(f"CREATE TEMP VIEW {_DESCRIBE_VIEW} AS {_strip(query)}")
    except sqlite3.Error:
        # Not a plain SELECT: running the query itself gives the error worth reporting.
        return []
    try:
        info = connection.execute(f"PRAGMA temp.table_info({_DESCRIBE_VIEW})").fetchall()
    finally:
        connection.execute(f"DROP VIEW temp.{_DESCRIBE_VIEW}")
    return [str(row[2] or "") for row in info]


def _names(cursor: sqlite3.Cursor) -> list[str]:
    return [item[0] for item in cursor.description or ()]


def column_plans(
    names: Sequence[str], declared: list[str], head: Sequence[Sequence[Any]]
) -> list[ColumnPlan]:
    """One plan per result column: from its declared type, else from its first values."""
    require_columns(names, "sqlite")
    if len(declared) != len(names):
        declared = [""] * len(names)

    plans = []
    for index, name in enumerate(names):
        plan = declared_plan(name, declared[index])
        if plan is None:
            plan = inferred_plan(name, [row[index] for row in head], declared[index])
        plans.append(plan)
    return plans
