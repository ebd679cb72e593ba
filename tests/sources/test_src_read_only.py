"""A model's query, its column check included, can never change the database it reads."""

from __future__ import annotations

import contextlib
from typing import Any

import psycopg
import pytest
from source_helpers import mysql_admin

from syncline.connectors.sources.mysql import MySQLSource
from syncline.connectors.sources.postgres import PostgresSource
from syncline.errors import TerminalError


def test_postgres_column_check_and_read_cannot_write(pg_config: dict[str, Any]) -> None:
    conninfo = f"host=127.0.0.1 user=postgres dbname={pg_config['database']}"
    with psycopg.connect(conninfo, autocommit=True) as admin:
        admin.execute("CREATE TABLE kept (id int)")
    source = PostgresSource.from_config(pg_config)

    # The column check only plans the statement; whatever it answers, nothing is written.
    with contextlib.suppress(TerminalError):
        source.describe("INSERT INTO kept VALUES (1) RETURNING id")
    with pytest.raises(TerminalError, match="read-only transaction"):
        list(source.read("INSERT INTO kept VALUES (2) RETURNING id"))

    with psycopg.connect(conninfo) as admin:
        assert admin.execute("SELECT count(*) FROM kept").fetchone() == (0,)


def test_mysql_column_check_and_read_cannot_write(mysql_config: dict[str, Any]) -> None:
    database = mysql_config["database"]
    with mysql_admin() as admin, admin.cursor() as cursor:
        cursor.execute(f"CREATE TABLE `{database}`.kept (id int) ENGINE=InnoDB")
    source = MySQLSource.from_config(mysql_config)

    with pytest.raises(TerminalError, match="READ ONLY transaction"):
        source.describe("INSERT INTO kept VALUES (1)")
    with pytest.raises(TerminalError, match="READ ONLY transaction"):
        list(source.read("CREATE TABLE made (id int)"))

    with mysql_admin() as admin, admin.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM `{database}`.kept")
        assert cursor.fetchone() == (0,)
        cursor.execute(f"SHOW TABLES FROM `{database}` LIKE 'made'")
        assert cursor.fetchone() is None
