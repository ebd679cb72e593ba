"""DuckDB's extreme values into every table destination: exact, or refused by name.

The 128-bit integers at both ends, the unsigned 64-bit maximum, ``TIME '24:00:00'`` and
nanosecond timestamps come from an in-memory DuckDB source, as model SQL makes them,
and must arrive unaltered; a second run over the same model plans nothing.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import psycopg
import pymysql
import pytest
from table_backends import POSTGRES_ADMIN

from engine_runs import QuietReporter, run_sync
from syncline.connectors.registry import destination_class, source_class
from syncline.engine.report import RunStatus
from syncline.engine.run import RunResult

UHUGEINT_MAX = 2**128 - 1
HUGEINT_MAX = 2**127 - 1
HUGEINT_MIN = -(2**127)
UBIGINT_MAX = 2**64 - 1


class Target:
    """One destination's database, named for these tests and dropped after them."""

    def __init__(self, kind: str, folder: Path) -> None:
        self.kind = kind
        self.name = f"duckvals_{uuid.uuid4().hex[:10]}"
        self.folder = folder
        if kind == "postgres":
            with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as admin:
                admin.execute(f'CREATE DATABASE "{self.name}"')
            self.config: dict[str, Any] = {"host": "127.0.0.1", "database": self.name}
        elif kind == "mysql":
            self._mysql(f"CREATE DATABASE `{self.name}`", database=None)
            self.config = {"host": "127.0.0.1", "user": "root", "database": self.name}
        elif kind == "sqlite":
            self.config = {"path": str(folder / "out.sqlite")}
        else:
            self.config = {"path": str(folder / "out.duckdb")}

    def _mysql(self, statement: str, database: str | None) -> list[tuple[Any, ...]]:
        conn = pymysql.connect(host="127.0.0.1", user="root", database=database)
        try:
            with conn.cursor() as cursor:
                cursor.execute(statement)
                return list(cursor.fetchall())
        finally:
            conn.close()

    def text(self, table: str, column: str) -> str | None:
        """The one stored value of ``column``, as the database prints it."""
        query = f"SELECT CAST({column} AS {'CHAR' if self.kind == 'mysql' else 'TEXT'}) "
        query += f"FROM {table}"
        if self.kind == "postgres":
            info = f"host=127.0.0.1 user=postgres dbname={self.name}"
            with psycopg.connect(info) as conn:
                rows = conn.execute(query).fetchall()
        elif self.kind == "mysql":
            rows = self._mysql(query, self.name)
        elif self.kind == "sqlite":
            with sqlite3.connect(self.config["path"]) as conn:
                rows = conn.execute(query).fetchall()
        else:
            with duckdb.connect(self.config["path"]) as conn:
                rows = conn.execute(query).fetchall()
        assert len(rows) == 1
        value = rows[0][0]
        return None if value is None else str(value)

    def drop(self) -> None:
        if self.kind == "postgres":
            with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        elif self.kind == "mysql":
            self._mysql(f"DROP DATABASE IF EXISTS `{self.name}`", database=None)


@pytest.fixture(
    scope="module",
    params=[
        pytest.param("postgres", marks=pytest.mark.postgres),
        pytest.param("mysql", marks=pytest.mark.mariadb),
        "sqlite",
        "duckdb",
    ],
)
def target(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Target]:
    made = Target(request.param, tmp_path_factory.mktemp(request.param))
    try:
        yield made
    finally:
        made.drop()


def run(
    target: Target, query: str, table: str, snapshots: Path, run_id: int, *, refused: int = 0
) -> RunResult:
    reporter = QuietReporter()
    result = run_sync(
        source_class("duckdb").from_config({}),
        query,
        {"mode": "mirror", "object": table, "createObject": True},
        destination_class(target.kind).from_config(target.config),
        snapshots,
        run_id=run_id,
        reporter=reporter,
    )
    if not refused:
        assert not reporter.rejected_rows, reporter.rejected_rows[0].reason
    else:
        assert len(reporter.rejected_rows) == refused
        reason = reporter.rejected_rows[0].reason
        assert "field 'v'" in reason
        assert "CAST it to text" in reason
    return result


def planned(result: RunResult) -> dict[str, int]:
    counts = result.progress.planned.as_api()
    return {name: count for name, count in counts.items() if count}


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        (f"{UHUGEINT_MAX}::UHUGEINT", str(UHUGEINT_MAX)),
        (f"{HUGEINT_MAX}::HUGEINT", str(HUGEINT_MAX)),
        (f"({HUGEINT_MIN + 1})::HUGEINT - 1", str(HUGEINT_MIN)),
        (f"{UBIGINT_MAX}::UBIGINT", str(UBIGINT_MAX)),
        ("0::UHUGEINT", "0"),
    ],
)
def test_integer_extremes_arrive_exact_and_plan_nothing_again(
    target: Target, tmp_path: Path, expression: str, expected: str
) -> None:
    table = f"t_{uuid.uuid4().hex[:10]}"
    query = f"SELECT 1 AS id, {expression} AS v"
    if target.kind == "sqlite" and expected == str(UBIGINT_MAX):
        # SQLite's integers are signed 64-bit: the row is refused, naming field and fix.
        refusal = run(target, query, table, tmp_path, 1, refused=1)
        assert refusal.status is RunStatus.WARNING, refusal.error
        return

    first = run(target, query, table, tmp_path, 1)
    assert first.status is RunStatus.SUCCESS, first.error
    assert target.text(table, "v") == expected

    again = run(target, query, table, tmp_path, 2)
    assert again.status is RunStatus.SUCCESS, again.error
    assert planned(again) == {}


def test_midnight_at_the_end_of_the_day_arrives(target: Target, tmp_path: Path) -> None:
    table = f"t_{uuid.uuid4().hex[:10]}"
    query = "SELECT 1 AS id, TIME '24:00:00' AS t"

    first = run(target, query, table, tmp_path, 1)
    assert first.status is RunStatus.SUCCESS, first.error
    stored = target.text(table, "t")
    assert stored is not None
    assert stored.startswith("24:00:00")

    again = run(target, query, table, tmp_path, 2)
    assert again.status is RunStatus.SUCCESS, again.error
    assert planned(again) == {}
