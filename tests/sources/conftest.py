"""Fixtures of the source tests: own PostgreSQL and MariaDB databases, dropped afterwards."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pymysql
import pytest
from psycopg import sql

PG_ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres connect_timeout=5"


def closed_port() -> int:
    """A loopback TCP port that nothing listens on: bound, never listened to, then freed."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def pg_config() -> Iterator[dict[str, Any]]:
    """Source configuration of a fresh PostgreSQL database of this module."""
    name = f"syncline_src_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield {"host": "127.0.0.1", "port": 5432, "user": "postgres", "database": name}
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def pg_run(config: dict[str, Any], *statements: str) -> None:
    """Run ``statements`` in the database of ``config``, committed."""
    conninfo = f"host=127.0.0.1 port=5432 user=postgres dbname={config['database']}"
    with psycopg.connect(conninfo, autocommit=True) as connection:
        for statement in statements:
            connection.execute(statement.encode())


@pytest.fixture(scope="module")
def mysql_config() -> Iterator[dict[str, Any]]:
    """Source configuration of a fresh MariaDB database of this module."""
    name = f"syncline_src_{uuid.uuid4().hex[:12]}"
    with _mysql_admin() as admin, admin.cursor() as cursor:
        cursor.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
    try:
        yield {"host": "127.0.0.1", "port": 3306, "user": "root", "database": name}
    finally:
        with _mysql_admin() as admin, admin.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")


def mysql_run(config: dict[str, Any], *statements: str) -> None:
    """Run ``statements`` in the database of ``config``, committed."""
    with _mysql_admin(config["database"]) as connection, connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)
        connection.commit()


def _mysql_admin(database: str | None = None) -> pymysql.Connection[Any]:
    return pymysql.connect(
        host="127.0.0.1", port=3306, user="root", password="", database=database, charset="utf8mb4"
    )
