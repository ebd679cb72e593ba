"""Shared database fixtures: fresh PostgreSQL databases, and catalogs on SQLite and PostgreSQL.

PostgreSQL runs on 127.0.0.1:5432 (user ``postgres``, trust authentication). Every
database made here has a unique name and is dropped when its fixture ends.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator

import psycopg
import pytest
from cryptography.fernet import Fernet
from psycopg import sql

from syncline.catalog import Catalog
from syncline.catalog.tables import Base
from syncline.security.secrets import SecretBox

POSTGRES_ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres connect_timeout=5"
"""Where test databases are created and dropped from."""


def _create_database(prefix: str) -> str:
    # SYNCLINE_TEST_DATABASE_PREFIX tells apart the databases of test runs that share a server.
    prefix = os.environ.get("SYNCLINE_TEST_DATABASE_PREFIX", "") + prefix
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return name


def _drop_database(name: str) -> None:
    with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as admin:
        admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def postgres_url(name: str) -> str:
    """The SQLAlchemy URL of a database on the test server."""
    return f"postgresql://postgres@127.0.0.1:5432/{name}"


@pytest.fixture
def make_postgres_database() -> Iterator[Callable[[], str]]:
    """A factory of empty PostgreSQL databases (returns URLs), all dropped after the test."""
    made: list[str] = []

    def make() -> str:
        made.append(_create_database("syncline_test"))
        return postgres_url(made[-1])

    yield make
    for name in made:
        _drop_database(name)


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A PostgreSQL database of this test session (its URL), dropped at the end."""
    name = _create_database("syncline_session")
    try:
        yield postgres_url(name)
    finally:
        _drop_database(name)


@pytest.fixture
def secret_box() -> SecretBox:
    """A secret box with a key of its own."""
    return SecretBox(Fernet.generate_key())


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def catalog(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, secret_box: SecretBox
) -> Iterator[Catalog]:
    """An empty, migrated catalog: a SQLite file, or the session's PostgreSQL database.

    The PostgreSQL catalog is emptied (ids restarting at 1) after each test.
    """
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("catalog") / "syncline.db"
        url = f"sqlite:///{path}"
    else:
        url = request.getfixturevalue("postgres_database")

    catalog = Catalog.from_url(url, secrets=secret_box)
    try:
        yield catalog
    finally:
        if request.param == "postgres":
            # The installation's id stays, as the catalog's own identity.
            tables = ", ".join(
                table.name for table in Base.metadata.sorted_tables if table.name != "installation"
            )
            with catalog.engine.begin() as connection:
                connection.exec_driver_sql(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
        catalog.close()


def pytest_addoption(parser: pytest.Parser) -> None:
    """``--run-slow`` also runs the soak and benchmark tests marked ``slow``."""
    parser.addoption("--run-slow", action="store_true", default=False, help="run tests marked slow")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip tests marked ``slow`` unless ``--run-slow`` was given."""
    if config.getoption("--run-slow"):
        return
    skip = pytest.mark.skip(reason="a long soak or benchmark; run it with --run-slow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)
