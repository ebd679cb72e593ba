"""Both planners plan the same rows on the same data, representation noise included.

One sync per planner (local, warehouse on DuckDB, warehouse on PostgreSQL) runs over
the same sequence of models; after every run each must have planned the same counts
and sent the same keys with the same actions, and its destination must equal the
model.
"""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pyarrow as pa
import pytest
from engine_doubles import Harness
from psycopg import sql
from warehouse_doubles import DATABASE, PLANNER, SCHEMA

UTC = dt.UTC
PARIS = dt.timezone(dt.timedelta(hours=1))


def model(
    rows: list[dict[str, Any]], *, amount_scale: int = 2, float_score: bool = False
) -> pa.Table:
    """Rows of (id, name, score, amount, at, flag, note) with the types a step picks."""
    schema = pa.schema(
        [
            ("id", pa.int64()),
            ("name", pa.string()),
            ("score", pa.float64() if float_score else pa.int64()),
            ("amount", pa.decimal128(12, amount_scale)),
            ("at", pa.timestamp("us", tz="UTC")),
            ("flag", pa.bool_()),
            ("note", pa.string()),
        ]
    )
    return pa.Table.from_pylist(rows, schema=schema)


def row(
    ident: int, name: str, score: int, amount: str, note: str | None = "", **extra: Any
) -> dict[str, Any]:
    return {
        "id": ident,
        "name": name,
        "score": score,
        "amount": decimal.Decimal(amount),
        "at": extra.get("at", dt.datetime(2024, 5, 1, 12, ident, tzinfo=UTC)),
        "flag": extra.get("flag", ident % 2 == 0),
        "note": note,
    }


BASE = [row(i, f"n{i}", i, f"{i}.50") for i in range(1, 9)]

STEPS: list[pa.Table] = [
    model(BASE),
    # Noise only: a wider decimal scale, integral floats for integers, another zone.
    model(
        [{**r, "score": float(r["score"]), "at": r["at"].astimezone(PARIS)} for r in BASE],
        amount_scale=4,
        float_score=True,
    ),
    # Real changes beside noise: a name, '' to NULL, a flag, one row gone, one new.
    model(
        [row(1, "n1", 1, "1.5"), row(2, "N2", 2, "2.5"), row(3, "n3", 3, "3.50", note=None)]
        + [row(4, "n4", 4, "4.50", flag=False), row(5, "n5", 5, "5.5000")]
        + [row(6, "n6", 6, "6.50"), row(7, "n7", 7, "7.50"), row(9, "n9", 9, "9.00")]
    ),
    # NULL back to '', a microsecond, an amount's last digit.
    model(
        [row(1, "n1", 1, "1.5"), row(2, "N2", 2, "2.5"), row(3, "n3", 3, "3.50", note="")]
        + [row(4, "n4", 4, "4.51", flag=False), row(5, "n5", 5, "5.5")]
        + [row(6, "n6", 6, "6.50", at=dt.datetime(2024, 5, 1, 12, 6, 0, 1, tzinfo=UTC))]
        + [row(7, "n7", 7, "7.50"), row(9, "n9", 9, "9")]
    ),
]

EXPECTED = [(8, 0, 0), (0, 0, 0), (1, 3, 1), (0, 3, 0)]
"""(added, changed, removed) per step: the plans agree, and agree with what changed."""


@pytest.fixture
def postgres_prefix(postgres_database: str) -> Iterator[tuple[str, str]]:
    """A database and a schema prefix of this test's own, dropped afterwards."""
    database = postgres_database.rsplit("/", 1)[-1]
    prefix = f"t_{uuid.uuid4().hex[:12]}"
    yield database, prefix
    with psycopg.connect(f"host=127.0.0.1 user=postgres dbname={database}", autocommit=True) as c:
        for schema in (f"{prefix}_model", f"{prefix}_planner"):
            c.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


@pytest.mark.postgres
def test_local_and_warehouse_planners_plan_the_same_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, postgres_prefix: tuple[str, str]
) -> None:
    database, prefix = postgres_prefix
    monkeypatch.setenv(DATABASE, database)
    monkeypatch.setenv(SCHEMA, prefix)
    configuration = {"mode": "mirror", "object": "things"}
    syncs = {
        kind: Harness(tmp_path / kind, STEPS[0], dict(configuration))
        for kind in ("local", "duckdb", "postgres")
    }

    for step, (table, expected) in enumerate(zip(STEPS, EXPECTED, strict=True)):
        plans = {}
        for kind, sync in syncs.items():
            monkeypatch.setenv(PLANNER, kind)
            sync.table = table
            result = sync.run()
            assert result.status.value == "success", (kind, step, result.error)
            counts = result.progress.planned
            sent = sorted(
                (batch.action.value, key)
                for batch in sync.destination.batches
                for key in batch.keys
            )
            sync.destination.batches.clear()
            plans[kind] = ((counts.added, counts.changed, counts.removed), sent)
            assert sorted(sync.destination.records) == sorted(table.column("id").to_pylist())
        assert plans["local"][0] == expected, step
        assert plans["duckdb"] == plans["local"], step
        assert plans["postgres"] == plans["local"], step


def floats(kind: pa.DataType, values: list[float]) -> pa.Table:
    """Rows of (id, r) with ``r`` of the float type ``kind``, each value as ``kind`` holds it."""
    single = pa.array(values, type=pa.float32())
    return pa.table({"id": pa.array(range(1, len(values) + 1)), "r": single.cast(kind)})


FLOAT_STEPS = [
    floats(pa.float32(), [0.1, 1.5, 3.0, 16777217.0]),
    # Widened to double precision: the same values, printed with more digits.
    floats(pa.float64(), [0.1, 1.5, 3.0, 16777217.0]),
    # Narrowed back, exactly.
    floats(pa.float32(), [0.1, 1.5, 3.0, 16777217.0]),
    # A real change.
    floats(pa.float32(), [0.2, 1.5, 3.0, 16777217.0]),
]


@pytest.mark.postgres
def test_a_float_widened_or_narrowed_exactly_is_no_change_on_both_planners(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, postgres_prefix: tuple[str, str]
) -> None:
    database, prefix = postgres_prefix
    monkeypatch.setenv(DATABASE, database)
    monkeypatch.setenv(SCHEMA, prefix)
    syncs = {
        kind: Harness(tmp_path / kind, FLOAT_STEPS[0], {"mode": "mirror", "object": "things"})
        for kind in ("local", "duckdb", "postgres")
    }

    for step, table in enumerate(FLOAT_STEPS):
        for kind, sync in syncs.items():
            monkeypatch.setenv(PLANNER, kind)
            sync.table = table
            result = sync.run()
            assert result.status.value == "success", (kind, step, result.error)
            counts = result.progress.planned
            expected = [(4, 0, 0), (0, 0, 0), (0, 0, 0), (0, 1, 0)][step]
            assert (counts.added, counts.changed, counts.removed) == expected, (kind, step)
