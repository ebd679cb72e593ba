"""JSON in the warehouse planner's SQL is equal exactly when the local planner's is."""

from __future__ import annotations

import itertools
from pathlib import Path

import psycopg
import pytest

from syncline.connectors.sources.base import json_field
from syncline.connectors.sources.duckdb import DuckDBConfig, DuckDBSource
from syncline.engine.canonical import canonical_json_text
from syncline.engine.planner.warehouse.session import DuckDBSession
from syncline.engine.planner.warehouse.sql import canonical_expression

DOCUMENTS = [
    '{"a": -0.0, "b": "-0", "c": [-0, -0.000, -0.5, -10, 0.0, -0.10e1]}',
    '{"c": [0, 0, -0.5, -10, 0, -1], "b": "-0", "a": 0}',
    '{"c": [0, 0, -0.5, -10, 0, -1], "b": "0", "a": 0}',
    '{"x-0": -0.01, "y": 2.50}',
    '{"y": 2.5, "x-0": -0.01}',
    '{"y": 2.5, "x-0": 0.01}',
    "[1.50, 2.0, 1e2, -1e-2]",
    "[1.5, 2, 100, -0.01]",
    "-0.0",
    "0",
    '"-0"',
    '{"a": "1.0"}',
    '{"a": "1"}',
]


def _same_pairs(canonical: list[str | None]) -> set[tuple[int, int]]:
    """The pairs of documents that print alike."""
    pairs = itertools.combinations(range(len(canonical)), 2)
    return {(i, j) for i, j in pairs if canonical[i] == canonical[j]}


def _query(dialect: str) -> str:
    expression = canonical_expression("v", json_field("v"), dialect)
    values = ", ".join("('" + text.replace("'", "''") + "')" for text in DOCUMENTS)
    return f"SELECT {expression} FROM (VALUES {values}) AS t(v)"


LOCAL = _same_pairs([canonical_json_text(text) for text in DOCUMENTS])


def test_the_documents_hold_noise_and_changes() -> None:
    assert {(0, 1), (3, 4), (6, 7), (8, 9)} <= LOCAL
    assert not {(1, 2), (4, 5), (11, 12)} & LOCAL


@pytest.mark.postgres
def test_postgres_json_equality_is_the_local_planners(postgres_database: str) -> None:
    database = postgres_database.rsplit("/", 1)[-1]
    with psycopg.connect(f"host=127.0.0.1 user=postgres dbname={database}") as con:
        rows = con.execute(_query("postgres")).fetchall()
    assert _same_pairs([row[0] for row in rows]) == LOCAL


def test_duckdb_json_equality_is_the_local_planners(tmp_path: Path) -> None:
    source = DuckDBSource(DuckDBConfig(path=tmp_path / "w.duckdb", planner="warehouse"))
    session = DuckDBSession(source, "syncline_planner")
    try:
        rows = session.fetch(_query("duckdb"))
    finally:
        session.close()
    assert _same_pairs([row[0] for row in rows]) == LOCAL
