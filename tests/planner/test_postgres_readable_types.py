"""Types the PostgreSQL source has the server print plan alike on both planners.

Composite values (read as JSON), ``inet``, ranges, ``timetz`` and the other types ADBC
knows only by their wire form (read as text), arrays of them, and JSONB nested deeper
than Python's own JSON parser reaches: both planners send every value as read, plan
nothing on an unchanged re-run, and plan exactly one changed row for a one-value
change. A composite that follows a NULL one is no longer lost, on either planner.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import psycopg
import pytest
from engine_doubles import MemoryDestination
from test_postgres_types import _plans_on_both, _run

pytestmark = pytest.mark.postgres

COLUMNS = (
    "id bigint PRIMARY KEY, c pair, cs pair[], net inet, block cidr, span int4range, "
    "spans int4range[], at timetz, mac macaddr, words tsvector, bits varbit, pt point, "
    "doc xml, lsn pg_lsn, nets inet[], deep jsonb"
)

ROWS = (
    "(1, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, "
    "NULL, NULL), "
    "(2, '(1,x)', '{\"(2,y)\",NULL}', '2001:db8::1/64', '10.0.0.0/8', '[1,5)', "
    "'{\"[1,5)\"}', '12:00+02', '08:00:2b:01:02:03', 'a cat', B'101', '(1,2)', "
    "'<a>b</a>', '0/16B6C50', '{1.2.3.4/24}', "
    "(repeat('[', 2000) || repeat(']', 2000))::jsonb)"
)

EXPECTED = {
    "c": {"a": 1, "b": "x"},
    "cs": [{"a": 2, "b": "y"}, None],
    "net": "2001:db8::1/64",
    "block": "10.0.0.0/8",
    "span": "[1,5)",
    "spans": ["[1,5)"],
    "at": "12:00:00+02",
    "mac": "08:00:2b:01:02:03",
    "words": "'a' 'cat'",
    "bits": "101",
    "pt": "(1,2)",
    "doc": "<a>b</a>",
    "lsn": "0/16B6C50",
    "nets": ["1.2.3.4/24"],
}

CHANGES = {
    "c": "'(1,z)'",
    "cs": "'{\"(2,z)\",NULL}'",
    "net": "'2001:db8::2/64'",
    "block": "'10.0.0.0/16'",
    "span": "'[1,6)'",
    "spans": "'{\"[1,6)\"}'",
    "at": "'12:00+03'",
    "mac": "'08:00:2b:01:02:04'",
    "words": "'a dog'",
    "bits": "B'100'",
    "pt": "'(1,3)'",
    "doc": "'<a>c</a>'",
    "lsn": "'0/16B6C51'",
    "nets": "'{1.2.3.5/24}'",
    "deep": "(repeat('[', 2001) || repeat(']', 2001))::jsonb",
}


JSON_COLUMNS = ("c", "cs")


def _value(name: str, value: Any) -> Any:
    return json.loads(value) if name in JSON_COLUMNS and isinstance(value, str) else value


def test_printed_types_plan_alike_on_both_planners(
    make_postgres_database: Any, tmp_path: Path
) -> None:
    database = make_postgres_database().rsplit("/", 1)[-1]
    admin = psycopg.connect(f"host=127.0.0.1 user=postgres dbname={database}", autocommit=True)
    admin.execute("CREATE TYPE pair AS (a int, b text)")
    admin.execute(f"CREATE TABLE model ({COLUMNS})")
    admin.execute(f"INSERT INTO model VALUES {ROWS}")
    # Row 2 moves to the end of the table, after row 1's NULL composite.
    admin.execute("UPDATE model SET c = c WHERE id = 2")
    destinations = {"local": MemoryDestination(), "warehouse": MemoryDestination()}

    try:
        first = _plans_on_both(database, destinations, tmp_path)
        assert first["local"] == first["warehouse"]
        assert first["local"]["addedCount"] == 2
        for destination in destinations.values():
            record = {k: _value(k, v) for k, v in destination.records[2].items()}
            assert {name: record[name] for name in EXPECTED} == EXPECTED
            assert record["deep"] == "[" * 2000 + "]" * 2000
            assert all(v is None for k, v in destination.records[1].items() if k != "id")

        again = _plans_on_both(database, destinations, tmp_path)
        assert again["local"] == again["warehouse"]
        assert again["local"]["changedCount"] == 0
        assert again["local"]["addedCount"] == 0

        for column, value in CHANGES.items():
            admin.execute(f"UPDATE model SET {column} = {value} WHERE id = 2")
            changed = _plans_on_both(database, destinations, tmp_path)
            assert changed["local"] == changed["warehouse"], column
            assert changed["local"]["changedCount"] == 1, column
            assert changed["local"]["addedCount"] == 0, column
    finally:
        admin.close()

    assert destinations["local"].records == destinations["warehouse"].records


def test_array_shapes_plan_alike_on_both_planners(
    make_postgres_database: Any, tmp_path: Path
) -> None:
    database = make_postgres_database().rsplit("/", 1)[-1]
    admin = psycopg.connect(f"host=127.0.0.1 user=postgres dbname={database}", autocommit=True)
    admin.execute("CREATE TABLE grids (id bigint PRIMARY KEY, grid int[])")
    admin.execute("INSERT INTO grids VALUES (1, '{{1,2},{3,4}}'), (2, '{1,2}')")
    destinations = {"local": MemoryDestination(), "warehouse": MemoryDestination()}

    def both(query: str) -> dict[str, Any]:
        results = {}
        for sync_id, (planner, destination) in enumerate(destinations.items(), start=1):
            results[planner] = _run(database, planner, sync_id, destination, tmp_path, query)
        return results

    try:
        # Read as a flat list the grid would lose its shape: both planners refuse it.
        flat = both("SELECT * FROM grids")
        for result in flat.values():
            assert result.status.value == "failed"
            assert "column 'grid'" in str(result.error)
            assert "multi-dimensional" in str(result.error)

        # Read as JSON it keeps its shape, and a change of shape is a change on both.
        query = "SELECT id, to_jsonb(grid) AS grid FROM grids"
        first = both(query)
        assert {p: r.progress.planned.as_api()["addedCount"] for p, r in first.items()} == {
            "local": 2,
            "warehouse": 2,
        }
        admin.execute("UPDATE grids SET grid = '{1,2,3,4}' WHERE id = 1")
        changed = both(query)
        plans = {p: r.progress.planned.as_api() for p, r in changed.items()}
        assert plans["local"] == plans["warehouse"]
        assert plans["local"]["changedCount"] == 1
    finally:
        admin.close()
    assert destinations["local"].records == destinations["warehouse"].records
    assert json.loads(destinations["local"].records[1]["grid"]) == [1, 2, 3, 4]
