"""The four table destinations as test backends: a config, an admin connection, a way to
break the destination's connection, and readers that bring values back to Python types.

PostgreSQL and MariaDB are the real servers on loopback, each in a database of its own
that is dropped at the end; SQLite and DuckDB are files in a temporary folder.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import os
import sqlite3
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import psycopg
import pymysql
import pytest

from syncline.connectors.destinations.sql.table import TableDestination

OpenDestination = Callable[..., TableDestination]
"""The ``open_destination`` fixture: open the backend's destination on the test's table."""

POSTGRES_ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres connect_timeout=5"


def _database_name() -> str:
    """A new database name; SYNCLINE_TEST_DATABASE_PREFIX tells apart test runs sharing a
    server, as for the other test databases."""
    prefix = os.environ.get("SYNCLINE_TEST_DATABASE_PREFIX", "")
    return f"{prefix}syncline_tables_{uuid.uuid4().hex[:10]}"


class Backend(ABC):
    """One destination type under test, with the database it writes to."""

    kind: str
    json_decoded = False
    """Whether the driver already turns JSON columns into Python values."""

    @property
    @abstractmethod
    def config(self) -> dict[str, Any]:
        """The destination configuration pointing at this backend's database."""

    @abstractmethod
    def sql(self, statement: str) -> list[tuple[Any, ...]]:
        """Run ``statement`` on the database outside the destination (autocommit)."""

    @contextmanager
    @abstractmethod
    def broken_connection(self) -> Iterator[None]:
        """While inside, the destination's next write fails as the driver would in trouble."""

    def close(self) -> None:
        """Drop the database or file."""
        return None

    def decode(self, kind: str, value: Any) -> Any:
        """A value read back from a column written from Arrow type ``kind``, as Python."""
        if value is None:
            return None
        if kind == "json":
            return value if self.json_decoded else json.loads(value)
        if kind == "nested":
            return json.loads(value) if isinstance(value, str) else value
        if kind == "bool":
            return bool(value)
        if kind == "decimal":
            return decimal.Decimal(value) if isinstance(value, str) else value
        if kind == "timestamptz":
            if isinstance(value, str):
                value = dt.datetime.fromisoformat(value)
            if value.tzinfo is None:
                value = value.replace(tzinfo=dt.UTC)
            return value.astimezone(dt.UTC)
        if kind == "date" and isinstance(value, str):
            return dt.date.fromisoformat(value)
        if kind == "duration" and isinstance(value, int):
            return dt.timedelta(microseconds=value)
        if kind == "duration" and not isinstance(value, dt.timedelta):
            months, days, nanoseconds = value  # DuckDB's INTERVAL, read through Arrow
            assert months == 0
            return dt.timedelta(days=days, microseconds=nanoseconds // 1000)
        if kind == "binary":
            return bytes(value)
        return value


class PostgresBackend(Backend):
    """A database of its own on the PostgreSQL server."""

    kind = "postgres"
    json_decoded = True

    def __init__(self) -> None:
        self.database = _database_name()
        with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{self.database}"')
        self.conn = psycopg.connect(
            f"host=127.0.0.1 port=5432 user=postgres dbname={self.database}", autocommit=True
        )

    @property
    def config(self) -> dict[str, Any]:
        return {"host": "127.0.0.1", "port": "5432", "user": "postgres", "database": self.database}

    def sql(self, statement: str) -> list[tuple[Any, ...]]:
        cursor = self.conn.execute(statement)
        return cursor.fetchall() if cursor.description else []

    @contextmanager
    def broken_connection(self) -> Iterator[None]:
        self.sql(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            f"WHERE datname = '{self.database}' AND pid <> pg_backend_pid()"
        )
        yield

    def close(self) -> None:
        self.conn.close()
        with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')


@pytest.fixture(scope="module", name="backend")
def own_postgres_backend() -> Iterator[PostgresBackend]:
    """A PostgreSQL database of the module's own, so that its sessions and table
    statistics are the module's; a module imports it in place of the shared ``backend``."""
    made = PostgresBackend()
    try:
        yield made
    finally:
        made.close()


class MariaDBBackend(Backend):
    """A database of its own on the MariaDB server."""

    kind = "mysql"

    def __init__(self) -> None:
        self.database = _database_name()
        self.conn = pymysql.connect(host="127.0.0.1", port=3306, user="root", autocommit=True)
        self.sql(f"CREATE DATABASE `{self.database}`")
        self.conn.select_db(self.database)

    @property
    def config(self) -> dict[str, Any]:
        return {"host": "127.0.0.1", "port": 3306, "user": "root", "database": self.database}

    def sql(self, statement: str) -> list[tuple[Any, ...]]:
        with self.conn.cursor() as cursor:
            cursor.execute(statement)
            return list(cursor.fetchall()) if cursor.description else []

    @contextmanager
    def broken_connection(self) -> Iterator[None]:
        rows = self.sql(
            "SELECT ID FROM information_schema.PROCESSLIST "
            f"WHERE DB = '{self.database}' AND ID <> CONNECTION_ID()"
        )
        for (ident,) in rows:
            self.sql(f"KILL {int(ident)}")
        yield

    def close(self) -> None:
        self.sql(f"DROP DATABASE IF EXISTS `{self.database}`")
        self.conn.close()


class SQLiteBackend(Backend):
    """An SQLite file; trouble is another writer holding the lock."""

    kind = "sqlite"

    def __init__(self, folder: Path) -> None:
        self.path = str(folder / "destination.sqlite")

    @property
    def config(self) -> dict[str, Any]:
        return {"path": self.path, "timeout": 0.05}

    def sql(self, statement: str) -> list[tuple[Any, ...]]:
        with sqlite3.connect(self.path, isolation_level=None) as conn:
            return conn.execute(statement).fetchall()

    @contextmanager
    def broken_connection(self) -> Iterator[None]:
        conn = sqlite3.connect(self.path, isolation_level=None)
        conn.execute("BEGIN EXCLUSIVE")
        try:
            yield
        finally:
            conn.execute("ROLLBACK")
            conn.close()


class DuckDBBackend(Backend):
    """A DuckDB file; trouble is another transaction writing the same rows."""

    kind = "duckdb"

    def __init__(self, folder: Path) -> None:
        self.path = str(folder / "destination.duckdb")

    @property
    def config(self) -> dict[str, Any]:
        return {"path": self.path}

    def sql(self, statement: str) -> list[tuple[Any, ...]]:
        with duckdb.connect(self.path) as conn:
            cursor = conn.execute(statement)
            if not cursor.description:
                return []
            return [tuple(row.values()) for row in cursor.to_arrow_table().to_pylist()]

    @contextmanager
    def broken_connection(self) -> Iterator[None]:
        # An open transaction that updated every row of every table makes the
        # destination's write a conflict, as a concurrent writer in production would.
        conn = duckdb.connect(self.path)
        conn.execute("BEGIN")
        columns = conn.execute(
            "SELECT table_name, column_name FROM duckdb_columns() "
            "WHERE NOT internal AND column_index = 2"
        ).fetchall()
        for table, column in columns:
            conn.execute(f'UPDATE "{table}" SET "{column}" = NULL')
        try:
            yield
        finally:
            conn.execute("ROLLBACK")
            conn.close()
