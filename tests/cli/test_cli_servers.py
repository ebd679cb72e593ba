"""A YAML project on the real servers: PostgreSQL → MariaDB and MariaDB → PostgreSQL."""

from __future__ import annotations

import re
import textwrap
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pymysql
import pytest
from cli_harness import Invoke

from syncline.cli.exitcodes import ExitCode

pytestmark = [pytest.mark.postgres, pytest.mark.mariadb]

PROJECT = """
sources:
  - slug: analytics
    type: postgres
    configuration: {{host: 127.0.0.1, port: 5432, user: postgres, database: {pg}}}
  - slug: shop
    type: mariadb
    configuration: {{host: 127.0.0.1, port: 3306, user: root, database: {my}}}
models:
  - slug: paying-users
    source: analytics
    primaryKey: id
    raw: {{sql: "SELECT id, email, plan, mrr FROM users WHERE mrr > 0"}}
  - slug: orders
    source: shop
    primaryKey: id
    table: {{name: orders}}
destinations:
  - slug: crm
    type: mariadb
    configuration: {{host: 127.0.0.1, port: 3306, user: root, database: {my}}}
  - slug: reporting
    type: postgres
    configuration: {{host: 127.0.0.1, port: 5432, user: postgres, database: {pg}}}
syncs:
  - slug: users-to-crm
    model: paying-users
    destination: crm
    configuration:
      mode: mirror
      object: users_copy
      externalIdMapping: {{from: id, to: id}}
      mappings: [{{from: email, to: email}}, {{from: plan, to: plan}}, {{from: mrr, to: mrr}}]
  - slug: orders-to-reporting
    model: orders
    destination: reporting
    configuration: {{mode: mirror, object: orders_copy}}
"""


@pytest.fixture
def mariadb_database() -> Iterator[str]:
    """A fresh MariaDB database, dropped afterwards."""
    name = f"syncline_cli_{uuid.uuid4().hex[:12]}"
    admin = pymysql.connect(host="127.0.0.1", port=3306, user="root", autocommit=True)
    admin.cursor().execute(f"CREATE DATABASE `{name}`")
    try:
        yield name
    finally:
        admin.cursor().execute(f"DROP DATABASE IF EXISTS `{name}`")
        admin.close()


def pg(database: str) -> psycopg.Connection:
    return psycopg.connect(f"host=127.0.0.1 port=5432 user=postgres dbname={database}")


def my(database: str) -> pymysql.Connection:
    return pymysql.connect(host="127.0.0.1", user="root", database=database, autocommit=True)


def query_pg(database: str, sql: str) -> dict[object, tuple[object, ...]]:
    with pg(database) as connection:
        return {row[0]: tuple(row[1:]) for row in connection.execute(sql).fetchall()}


def query_my(database: str, sql: str) -> dict[object, tuple[object, ...]]:
    connection = my(database)
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql)
            return {row[0]: tuple(row[1:]) for row in cursor.fetchall()}
    finally:
        connection.close()


def planned(output: str) -> tuple[int, int, int]:
    match = re.search(r"planned\s*│\s*(\d+)\s*│\s*(\d+)\s*│\s*(\d+)", output)
    assert match, output
    return int(match[1]), int(match[2]), int(match[3])


def test_postgres_to_mariadb_and_back(
    syncline: Invoke,
    workdir: Path,
    make_postgres_database: Callable[[], str],
    mariadb_database: str,
) -> None:
    pg_name = make_postgres_database().rsplit("/", 1)[1]
    with pg(pg_name) as connection:
        connection.execute(
            "CREATE TABLE users (id integer PRIMARY KEY, email text, plan text, mrr numeric(10,2))"
        )
        connection.execute(
            "INSERT INTO users SELECT i, 'u' || i || '@example.com', 'basic', (i % 5) * 10.5"
            " FROM generate_series(1, 60) AS i"
        )
    shop = my(mariadb_database)
    with shop.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE orders (id bigint PRIMARY KEY, customer varchar(100),"
            " amount decimal(10,2), status varchar(20))"
        )
        cursor.executemany(
            "INSERT INTO orders VALUES (%s, %s, %s, %s)",
            [(i, f"c{i % 7}", f"{i * 3}.25", "open") for i in range(1, 31)],
        )
    project = workdir / "proj"
    project.mkdir()
    text = PROJECT.format(pg=pg_name, my=mariadb_database)
    (project / "project.yml").write_text(textwrap.dedent(text))

    assert syncline("validate", "--project", "proj").code == ExitCode.OK
    assert syncline("apply", "--project", "proj").code == ExitCode.OK
    first_users = syncline("run", "users-to-crm")
    first_orders = syncline("run", "orders-to-reporting")
    assert first_users.code == ExitCode.OK, first_users.err
    assert first_orders.code == ExitCode.OK, first_orders.err
    assert planned(first_users.out) == (48, 0, 0)
    assert planned(first_orders.out) == (30, 0, 0)

    model_users = "SELECT id, email, plan, mrr FROM users WHERE mrr > 0 ORDER BY id"
    copied_users = "SELECT id, email, plan, mrr FROM users_copy ORDER BY id"
    orders = "SELECT id, customer, amount, status FROM orders ORDER BY id"
    orders_copy = "SELECT id, customer, amount, status FROM orders_copy ORDER BY id"
    assert query_my(mariadb_database, copied_users) == query_pg(pg_name, model_users)
    assert query_pg(pg_name, orders_copy) == query_my(mariadb_database, orders)

    with pg(pg_name) as connection:
        connection.execute("UPDATE users SET plan = 'pro' WHERE id IN (1, 2)")
        connection.execute("UPDATE users SET mrr = 0 WHERE id = 3")
        connection.execute("INSERT INTO users VALUES (100, 'new@example.com', 'pro', 99.99)")
    with shop.cursor() as cursor:
        cursor.execute("UPDATE orders SET status = 'paid' WHERE id = 1")
        cursor.execute("DELETE FROM orders WHERE id IN (2, 3)")
        cursor.execute(
            "INSERT INTO orders VALUES (31, 'c9', 1.00, 'open'), (32, 'c9', 2.00, 'open')"
        )
    shop.close()

    second_users = syncline("run", "users-to-crm")
    second_orders = syncline("run", "orders-to-reporting")

    assert second_users.code == ExitCode.OK, second_users.err
    assert second_orders.code == ExitCode.OK, second_orders.err
    assert planned(second_users.out) == (1, 2, 1)
    assert planned(second_orders.out) == (2, 1, 2)
    assert query_my(mariadb_database, copied_users) == query_pg(pg_name, model_users)
    assert query_pg(pg_name, orders_copy) == query_my(mariadb_database, orders)
