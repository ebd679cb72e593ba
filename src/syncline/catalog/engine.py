"""The control-plane database engine: SQLite with WAL by default, PostgreSQL for teams."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url

from syncline.catalog.tables import declare_postgresql_options
from syncline.errors import ConfigError
from syncline.security.private import private_file, private_folder

logger = logging.getLogger(__name__)

SQLITE_BUSY_TIMEOUT_MS = 30_000
"""How long a SQLite writer waits for another writer before giving up."""


def catalog_url(url: str) -> URL:
    """The SQLAlchemy URL of a catalog, with the psycopg 3 driver for PostgreSQL."""
    try:
        parsed = make_url(url)
    except Exception:
        raise ConfigError(
            "SYNCLINE_DATABASE_URL is not a database URL; use postgresql://user@host/db "
            "or sqlite:///path/to/syncline.db",
            code="BAD_DATABASE_URL",
        ) from None

    if parsed.drivername in ("postgresql", "postgres"):
        return parsed.set(drivername="postgresql+psycopg")
    if parsed.drivername not in ("sqlite", "sqlite+pysqlite", "postgresql+psycopg"):
        raise ConfigError(
            f"catalog database {parsed.drivername!r} is not supported; use a "
            "postgresql:// URL or a sqlite:/// file",
            code="BAD_DATABASE_URL",
        )
    return parsed


def make_engine(url: str) -> Engine:
    """An engine for the catalog at ``url``, configured for many short transactions."""
    parsed = catalog_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(parsed)
    declare_postgresql_options()
    return create_engine(parsed, pool_pre_ping=True)


def _sqlite_engine(url: URL) -> Engine:
    if url.database and url.database != ":memory:":
        # Made by us, the file holds run errors and rejected rows: the owner's alone.
        # SQLite gives its -wal and -shm files the database file's mode.
        private_file(private_folder(Path(url.database).parent) / Path(url.database).name)

    engine = create_engine(url, connect_args={"check_same_thread": False})
    event.listen(engine, "connect", _sqlite_connect)
    event.listen(engine, "begin", _sqlite_begin)
    return engine


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # The driver's own transaction handling would defer BEGIN and break SAVEPOINT; we
    # issue BEGIN ourselves in _sqlite_begin.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


READ_ONLY = "syncline_read_only"
"""Execution option of an engine whose transactions only read."""


def _sqlite_begin(connection: Any) -> None:
    # IMMEDIATE takes the write lock at the start, so two transactions never both read
    # and then fail to upgrade to writing; the busy timeout queues them instead. Readers
    # need no lock: in WAL mode they see a consistent snapshot beside a writer.
    if connection.get_execution_options().get(READ_ONLY):
        connection.exec_driver_sql("BEGIN")
    else:
        connection.exec_driver_sql("BEGIN IMMEDIATE")
