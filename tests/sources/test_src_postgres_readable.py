"""PostgreSQL source: types ADBC cannot read arrive as the server prints them.

Composite values arrive as the JSON object of their fields whatever the rows before
them; ``inet``, ranges, ``timetz`` and the other types ADBC knows only by their binary
wire form arrive as their text; a multi-dimensional array is refused rather than read
as a flat list.
"""

from __future__ import annotations

import json
from typing import Any

import pyarrow as pa
import pytest
from source_helpers import pg_run

from syncline.connectors.sources.base import is_json_field
from syncline.connectors.sources.postgres import PostgresSource
from syncline.errors import TerminalError

pytestmark = pytest.mark.postgres

TYPES = (
    "CREATE TYPE pair AS (a int, b text)",
    "CREATE TYPE host AS (name text, addr inet, at timetz)",
    "CREATE DOMAIN address AS inet",
    "CREATE TYPE pair_of_float AS (x float8, y text)",
)


@pytest.fixture(scope="module")
def config(pg_config: dict[str, Any]) -> dict[str, Any]:
    pg_run(pg_config, *TYPES)
    return pg_config


def _read(config: dict[str, Any], query: str) -> pa.Table:
    source = PostgresSource.from_config(config)
    schema = pa.schema([column.field() for column in source.describe(query)])
    return pa.Table.from_batches(list(source.read(query)), schema=schema)


@pytest.mark.parametrize("order", ["id", "id DESC"])
def test_composite_values_arrive_whatever_the_rows_before_them(
    config: dict[str, Any], order: str
) -> None:
    query = (
        "SELECT * FROM (VALUES (1, NULL::pair, NULL::int[], NULL::pair[]), "
        "(2, '(1,x)'::pair, '{1,2}'::int[], ARRAY['(2,y)'::pair, NULL])) "
        f"v(id, c, a, cs) ORDER BY {order}"
    )
    table = _read(config, query)
    assert is_json_field(table.schema.field("c"))
    assert is_json_field(table.schema.field("cs"))
    rows = {row["id"]: row for row in table.to_pylist()}
    assert rows[1] == {"id": 1, "c": None, "a": None, "cs": None}
    assert json.loads(rows[2]["c"]) == {"a": 1, "b": "x"}
    assert json.loads(rows[2]["cs"]) == [{"a": 2, "b": "y"}, None]
    assert rows[2]["a"] == [1, 2]


@pytest.mark.parametrize(
    ("expression", "text"),
    [
        ("'2001:db8::1/64'::inet", "2001:db8::1/64"),
        # A host address prints without the /32 a cast to text would add, as psql shows it.
        ("'1.2.3.4'::inet", "1.2.3.4"),
        ("'10.0.0.0/8'::cidr", "10.0.0.0/8"),
        ("'192.168.0.1/24'::address", "192.168.0.1/24"),
        ("int4range(1, 5)", "[1,5)"),
        ("'[2024-01-01,2024-02-01)'::daterange", "[2024-01-01,2024-02-01)"),
        ("'{[1,3), [5,7)}'::int4multirange", "{[1,3),[5,7)}"),
        ("'12:00+02'::timetz", "12:00:00+02"),
        ("'08:00:2b:01:02:03'::macaddr", "08:00:2b:01:02:03"),
        ("'08:00:2b:01:02:03:04:05'::macaddr8", "08:00:2b:01:02:03:04:05"),
        ("'a fat cat'::tsvector", "'a' 'cat' 'fat'"),
        ("'fat & cat'::tsquery", "'fat' & 'cat'"),
        ("B'101'", "101"),
        ("B'10'::varbit", "10"),
        ("'(1,2)'::point", "(1,2)"),
        ("'((0,0),(1,1))'::box", "(1,1),(0,0)"),
        ("'<1,2,3>'::circle", "<(1,2),3>"),
        ("'<a>b</a>'::xml", "<a>b</a>"),
        ("'0/16B6C50'::pg_lsn", "0/16B6C50"),
    ],
)
def test_wire_only_types_arrive_as_their_text(
    config: dict[str, Any], expression: str, text: str
) -> None:
    table = _read(config, f"SELECT 1 AS id, {expression} AS v UNION ALL SELECT 2, NULL")
    assert table.schema.field("v").type == pa.string()
    assert table.column("v").to_pylist() == [text, None]


def test_arrays_of_wire_only_types_arrive_as_text_arrays(config: dict[str, Any]) -> None:
    query = (
        "SELECT ARRAY['1.2.3.4/24'::inet, NULL, '5.6.7.8'] AS nets, "
        "ARRAY[int4range(1, 5)] AS spans, ARRAY['10.0.0.1/8'::address] AS own"
    )
    table = _read(config, query)
    assert table.schema.field("nets").type == pa.list_(pa.string())
    assert table.to_pylist() == [
        {"nets": ["1.2.3.4/24", None, "5.6.7.8"], "spans": ["[1,5)"], "own": ["10.0.0.1/8"]}
    ]


def test_composites_hold_their_fields_as_json_gives_them(config: dict[str, Any]) -> None:
    table = _read(config, "SELECT ROW('db', '10.0.0.1', '12:00+02')::host AS h")
    assert json.loads(table.column("h")[0].as_py()) == {
        "name": "db",
        "addr": "10.0.0.1",
        "at": "12:00:00+02",
    }


def test_describe_gives_the_read_schema_of_printed_types(config: dict[str, Any]) -> None:
    query = "SELECT '1.2.3.4'::inet AS n, '(1,x)'::pair AS c, ARRAY['1.2.3.4'::inet] AS ns"
    source = PostgresSource.from_config(config)
    described = [column.field() for column in source.describe(query)]
    assert pa.schema(described) == _read(config, query).schema
    assert [column.type for column in source.describe(query)] == ["inet", "pair", "_inet"]


def test_repeated_column_names_are_printed_apart(config: dict[str, Any]) -> None:
    table = _read(config, "SELECT '1.2.3.4'::inet AS n, 1.50::numeric AS n, 2 AS n")
    assert table.schema.names == ["n", "n", "n"]
    assert [column.to_pylist() for column in table.columns] == [["1.2.3.4"], ["1.50"], [2]]


@pytest.mark.parametrize("value", ["'{{1,2},{3,4}}'::int[]", "'{{1.2.3.4},{5.6.7.8}}'::inet[]"])
def test_multi_dimensional_arrays_are_refused_naming_the_column(
    config: dict[str, Any], value: str
) -> None:
    query = f"SELECT 1 AS id, '{{1}}'::int[] AS flat, {value} AS grid"
    with pytest.raises(TerminalError, match="column 'grid'.*multi-dimensional.*to_jsonb"):
        _read(config, query)


def test_a_multi_dimensional_array_read_as_json_keeps_its_shape(config: dict[str, Any]) -> None:
    table = _read(config, "SELECT to_jsonb('{{1,2},{3,4}}'::int[]) AS grid")
    assert json.loads(table.column("grid")[0].as_py()) == [[1, 2], [3, 4]]


def test_floats_the_server_prints_keep_every_digit_whatever_the_database_sets(
    config: dict[str, Any],
) -> None:
    # A database may round printed floats (extra_float_digits = 0): a composite read as
    # its JSON would then lose the last digits, and a change in them would go unseen.
    database = config["database"]
    pg_run(config, f'ALTER DATABASE "{database}" SET extra_float_digits = 0')
    try:
        table = _read(
            config,
            "SELECT ROW(0.30000000000000004::float8, 'p')::pair_of_float AS cp",
        )
    finally:
        pg_run(config, f'ALTER DATABASE "{database}" RESET extra_float_digits')

    assert json.loads(table.column("cp")[0].as_py()) == {"x": 0.30000000000000004, "y": "p"}
