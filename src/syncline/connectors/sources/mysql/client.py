"""The MySQL and MariaDB source: an unbuffered cursor read in chunks into Arrow columns."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator, Sequence
from typing import Any

import pyarrow as pa

from syncline.connectors.sources._errors import connected, translated
from syncline.connectors.sources._rows import ColumnPlan, batches_from_rows, require_columns
from syncline.connectors.sources.base import DEFAULT_BATCH_ROWS, Column, Source
from syncline.connectors.sources.mysql.config import MySQLConfig
from syncline.connectors.sources.mysql.errors import map_error
from syncline.connectors.sources.mysql.types import BINARY_CHARSET, TEXTS, plan_column
from syncline.connectors.sources.statements import single_statement
from syncline.errors import ConnectorError, TerminalError

logger = logging.getLogger(__name__)


class MySQLSource(Source):
    """Models on a MySQL or MariaDB database, read with PyMySQL's unbuffered cursor."""

    type_name = "mysql"
    config_model = MySQLConfig
    dialect = "mysql"
    config: MySQLConfig

    def test(self) -> None:
        """Connect and run ``SELECT 1``."""
        with connected(self._connect, self._map_error) as connection, connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchall()

    def describe(self, query: str) -> list[Column]:
        """Names and types of ``query``'s columns, with the server returning no row."""
        query = single_statement(query, self.dialect, connector="mysql")
        with connected(self._connect, self._map_error) as connection:
            plans = self._plans(connection, query)
        return [plan.column() for plan in plans]

    def read(self, query: str, *, batch_rows: int = DEFAULT_BATCH_ROWS) -> Iterator[pa.RecordBatch]:
        """Stream ``query``'s rows from an unbuffered cursor in chunks of ``batch_rows``."""
        import pymysql.cursors

        query = single_statement(query, self.dialect, connector="mysql")
        connection = self._connect()
        cursor = connection.cursor(pymysql.cursors.SSCursor)
        try:
            with translated(self._map_error):
                plans = self._plans(connection, query)
                cursor.execute(exact_floats(query, plans))
                _check_same_columns(plans, cursor.description or ())
                yield from batches_from_rows(cursor.fetchmany, plans, batch_rows)
        finally:
            _abandon(cursor)
            connection.close()

    def table_query(self, table: str) -> str:
        """A query selecting every column of ``table``, quoted with MySQL's backticks."""
        parts = [p for p in table.split(".") if p]
        return "SELECT * FROM " + ".".join("`" + p.replace("`", "``") + "`" for p in parts)

    def _connect(self) -> Any:
        import pymysql

        logger.debug(
            "connecting to MySQL at %s:%s as %s",
            self.config.host,
            self.config.port,
            self.config.user,
        )
        with translated(self._map_error):
            connection = pymysql.connect(**self.config.connect_kwargs())
            # Every transaction of the session is read-only, so neither a model's query
            # nor its column check can change the database.
            with connection.cursor() as cursor:
                cursor.execute("SET SESSION TRANSACTION READ ONLY")
            return connection

    def _plans(self, connection: Any, query: str) -> list[ColumnPlan]:
        """Column plans from the result's column definitions, fetched with no rows."""
        with connection.cursor() as cursor:
            # The session row limit makes the server return the header only, and unlike
            # a LIMIT 0 wrapper it keeps each column's table, which the JSON check needs.
            cursor.execute("SET SESSION sql_select_limit = 0")
            try:
                cursor.execute(query)
                fields = list(getattr(cursor._result, "fields", None) or ())
            finally:
                cursor.execute("SET SESSION sql_select_limit = DEFAULT")

            require_columns([f.name for f in fields], "mysql")
            json_columns = _mariadb_json_columns(connection, cursor, fields)

        return [plan_column(f, is_json=_origin(f) in json_columns) for f in fields]

    def _map_error(self, exc: Exception) -> ConnectorError:
        return map_error(exc, self.config)


def _origin(field: Any) -> tuple[str, str, str]:
    """The database, table and column a result column was read from ('' when computed)."""
    return (_text(field.db), _text(field.org_table), _text(field.org_name))


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value or "")


def _mariadb_json_columns(
    connection: Any, cursor: Any, fields: Sequence[Any]
) -> set[tuple[str, str, str]]:
    """Origins of MariaDB JSON columns among ``fields``.

    MariaDB's JSON is LONGTEXT with a ``json_valid`` check, and its protocol says only
    "text"; the check constraint in the catalog is what marks a JSON column.
    """
    if "mariadb" not in connection.get_server_info().lower():
        return set()

    origins = {
        _origin(f)
        for f in fields
        if f.type_code in TEXTS and f.charsetnr != BINARY_CHARSET and f.org_table and f.db
    }
    if not origins:
        return set()

    tables = sorted({(db, table) for db, table, _ in origins})
    condition = " OR ".join("(CONSTRAINT_SCHEMA = %s AND TABLE_NAME = %s)" for _ in tables)
    cursor.execute(
        "SELECT CONSTRAINT_SCHEMA, TABLE_NAME, CONSTRAINT_NAME"
        " FROM information_schema.CHECK_CONSTRAINTS"
        f" WHERE LEVEL = 'Column' AND CHECK_CLAUSE LIKE 'json_valid(%%' AND ({condition})",
        [value for pair in tables for value in pair],
    )
    checked = {(str(db), str(table), str(column)) for db, table, column in cursor.fetchall()}
    return origins & checked


def _abandon(cursor: Any) -> None:
    """Let go of an unbuffered result without reading the rows a consumer did not want.

    PyMySQL would otherwise read every remaining row when the cursor is closed or
    collected; closing the connection instead makes the server stop sending.
    """
    result = getattr(cursor, "_result", None)
    if result is not None:
        result.unbuffered_active = False


_FLOATS_ALIAS = "_syncline_exact_floats_"
"""Alias of the model's query in the projection that reads FLOAT columns exactly."""


def exact_floats(query: str, plans: Sequence[ColumnPlan]) -> str:
    """``query``, with every FLOAT column read as the DOUBLE of its exact value.

    The text protocol prints a MariaDB FLOAT with six significant digits: 16777216
    arrives as 16777200, and 1234567 and 1234568 both as 1234570, so a change would go
    unseen. A DOUBLE prints with every digit it needs, and each single-precision value
    is a double exactly; the column is then a float32 again. Multiplying by ``1E0``
    makes the DOUBLE on every MySQL and MariaDB release (``CAST AS DOUBLE`` is recent)
    and keeps each value, ``-0`` included. Without a FLOAT column the query is run as
    written. MariaDB ignores an ORDER BY without LIMIT inside a subquery, so a model
    with a FLOAT column is read in the server's order rather than its ORDER BY's.
    """
    singles = [pa.types.is_float32(plan.field.type) for plan in plans]
    if not any(singles):
        return query

    names = [plan.field.name for plan in plans]
    # A subquery's column names must be distinct, and they are case-insensitive.
    counts = Counter(name.casefold() for name in names)
    repeated = sorted({name for name in names if counts[name.casefold()] > 1})
    if repeated:
        raise TerminalError(
            f"the model's query returns column {', '.join(map(repr, repeated))} more than "
            "once, and its FLOAT columns are read through a subquery, which needs distinct "
            "names; give the columns distinct aliases (AS) in the model's SQL",
            connector="mysql",
        )

    columns = []
    for name, single in zip(names, singles, strict=True):
        quoted = "`" + name.replace("`", "``") + "`"
        columns.append(f"{quoted} * 1E0 AS {quoted}" if single else quoted)
    # The newline ends a comment that ends the query.
    return f"SELECT {', '.join(columns)} FROM ({query}\n) AS {_FLOATS_ALIAS}"


def _check_same_columns(plans: Sequence[ColumnPlan], description: Sequence[Any]) -> None:
    names = [item[0] for item in description]
    if names != [plan.field.name for plan in plans]:
        raise TerminalError(
            "the model's query returned different columns when run than when described; "
            "make it a single deterministic SELECT",
            connector="mysql",
        )
