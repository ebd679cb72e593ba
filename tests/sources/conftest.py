"""Fixtures of the source tests: own PostgreSQL and MariaDB databases, dropped afterwards."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from psycopg import sql
from source_helpers import PG_ADMIN, mysql_admin


def _database_name() -> str:
    """A new database name; SYNCLINE_TEST_DATABASE_PREFIX tells apart test runs sharing a
    server, as for the other test databases."""
    prefix = os.environ.get("SYNCLINE_TEST_DATABASE_PREFIX", "")
    return f"{prefix}syncline_src_{uuid.uuid4().hex[:12]}"


@pytest.fixture(scope="module")
def pg_config() -> Iterator[dict[str, Any]]:
    """Source configuration of a fresh PostgreSQL database of this module."""
    name = _database_name()
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield {"host": "127.0.0.1", "port": 5432, "user": "postgres", "database": name}
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


@pytest.fixture(scope="module")
def mysql_config() -> Iterator[dict[str, Any]]:
    """Source configuration of a fresh MariaDB database of this module."""
    name = _database_name()
    with mysql_admin() as admin, admin.cursor() as cursor:
        cursor.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
    try:
        yield {"host": "127.0.0.1", "port": 3306, "user": "root", "database": name}
    finally:
        with mysql_admin() as admin, admin.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")
