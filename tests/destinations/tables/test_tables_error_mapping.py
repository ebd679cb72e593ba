"""Each driver's errors land in the right branch of the taxonomy, decided in one place."""

from __future__ import annotations

import sqlite3

import duckdb
import psycopg
import psycopg.errors
import pymysql
import pytest

from syncline.connectors.destinations.duckdb.errors import map_error as duckdb_map
from syncline.connectors.destinations.mysql.errors import map_error as mysql_map
from syncline.connectors.destinations.postgres.errors import map_error as postgres_map
from syncline.connectors.destinations.sql.bisect import RowDataError
from syncline.connectors.destinations.sqlite.errors import map_error as sqlite_map
from syncline.errors import TerminalError, TransientError

CASES = [
    (postgres_map, psycopg.errors.DeadlockDetected("deadlock detected"), TransientError),
    (postgres_map, psycopg.errors.LockNotAvailable("lock timeout"), TransientError),
    (postgres_map, psycopg.errors.SerializationFailure("could not serialize"), TransientError),
    (postgres_map, psycopg.errors.AdminShutdown("terminating connection"), TransientError),
    (postgres_map, psycopg.OperationalError("connection refused"), TransientError),
    (postgres_map, psycopg.errors.UniqueViolation("duplicate key"), RowDataError),
    (postgres_map, psycopg.errors.NotNullViolation("null value"), RowDataError),
    (postgres_map, psycopg.errors.StringDataRightTruncation("value too long"), RowDataError),
    (postgres_map, psycopg.errors.InvalidTextRepresentation("bad integer"), RowDataError),
    (postgres_map, psycopg.errors.RaiseException("refused by a trigger"), RowDataError),
    (postgres_map, psycopg.errors.AssertFailure("assertion failed"), RowDataError),
    (postgres_map, psycopg.errors.UndefinedTable("no such table"), TerminalError),
    (postgres_map, psycopg.errors.InsufficientPrivilege("permission denied"), TerminalError),
    (
        postgres_map,
        psycopg.OperationalError('FATAL:  password authentication failed for user "x"'),
        TerminalError,
    ),
    (mysql_map, pymysql.err.OperationalError(1213, "Deadlock found"), TransientError),
    (mysql_map, pymysql.err.OperationalError(1205, "Lock wait timeout"), TransientError),
    (mysql_map, pymysql.err.OperationalError(2013, "Lost connection"), TransientError),
    (mysql_map, pymysql.err.InterfaceError(0, ""), TransientError),
    (mysql_map, pymysql.err.IntegrityError(1048, "Column 'x' cannot be null"), RowDataError),
    (mysql_map, pymysql.err.DataError(1406, "Data too long for column 'x'"), RowDataError),
    (mysql_map, pymysql.err.OperationalError(1644, "refused by a trigger"), RowDataError),
    (mysql_map, pymysql.err.OperationalError(1045, "Access denied"), TerminalError),
    (mysql_map, pymysql.err.ProgrammingError(1146, "Table 'x' doesn't exist"), TerminalError),
    (sqlite_map, sqlite3.OperationalError("database is locked"), TransientError),
    (sqlite_map, sqlite3.IntegrityError("NOT NULL constraint failed: t.x"), RowDataError),
    (sqlite_map, sqlite3.OperationalError("no such table: t"), TerminalError),
    (sqlite_map, sqlite3.OperationalError("attempt to write a readonly database"), TerminalError),
    (duckdb_map, duckdb.TransactionException("Conflict on update"), TransientError),
    (duckdb_map, duckdb.IOException("Could not set lock on file"), TransientError),
    (duckdb_map, duckdb.ConstraintException("NOT NULL constraint failed"), RowDataError),
    (duckdb_map, duckdb.ConversionException("Could not convert"), RowDataError),
    (duckdb_map, duckdb.CatalogException("Table does not exist"), TerminalError),
]


@pytest.mark.parametrize(
    ("map_error", "error", "expected"),
    CASES,
    ids=[f"{m.__module__.split('.')[-2]}-{type(e).__name__}" for m, e, _ in CASES],
)
def test_driver_errors_map_to_the_taxonomy(
    map_error: object, error: Exception, expected: type[Exception]
) -> None:
    mapped = map_error(error, "where")  # type: ignore[operator]

    assert type(mapped) is expected


def test_errors_from_elsewhere_are_left_alone() -> None:
    for map_error in (postgres_map, mysql_map, sqlite_map, duckdb_map):
        assert map_error(ValueError("not a driver error"), "where") is None


def test_credential_errors_name_the_settings_to_check() -> None:
    mapped = mysql_map(pymysql.err.OperationalError(1045, "Access denied for user"), "h:1/d")

    assert isinstance(mapped, TerminalError)
    assert "user, password and database" in str(mapped)
    assert "h:1/d" in str(mapped)


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        (
            "Incorrect date value: 'x' for column `db`.`_syncline_stage`.`d` at row 1",
            "Incorrect date value: 'x' for column `d`",
        ),
        (
            "CONSTRAINT `_syncline_stage.doc` failed for `db`.`_syncline_stage`",
            "CONSTRAINT `doc` failed",
        ),
        ("Data truncated for column 'n' at row 3", "Data truncated for column 'n'"),
    ],
)
def test_mysql_row_reasons_name_the_column_not_the_staging_table(message: str, reason: str) -> None:
    mapped = mysql_map(pymysql.err.DataError(1292, message), "h:1/d")

    assert isinstance(mapped, RowDataError)
    assert mapped.reason == reason
