"""Helpers of the source tests: run SQL on the test servers, find a closed port."""

from __future__ import annotations

import socket
from typing import Any

import psycopg
import pymysql

PG_ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres connect_timeout=5"
"""Where the PostgreSQL test databases are created and dropped from."""


def closed_port() -> int:
    """A loopback TCP port that nothing listens on: bound, never listened on, then freed."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def pg_run(config: dict[str, Any], *statements: str) -> None:
    """Run ``statements`` in the PostgreSQL database of ``config``, committed."""
    conninfo = f"host=127.0.0.1 port=5432 user=postgres dbname={config['database']}"
    with psycopg.connect(conninfo, autocommit=True) as connection:
        for statement in statements:
            connection.execute(statement.encode())


def mysql_run(config: dict[str, Any], *statements: str) -> None:
    """Run ``statements`` in the MariaDB database of ``config``, committed."""
    with mysql_admin(config["database"]) as connection, connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)
        connection.commit()


def mysql_admin(database: str | None = None) -> pymysql.Connection[Any]:
    """A root connection to the MariaDB test server."""
    return pymysql.connect(
        host="127.0.0.1", port=3306, user="root", password="", database=database, charset="utf8mb4"
    )
