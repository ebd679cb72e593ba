"""NUMERIC read as the server's text: the same values ADBC's own decoding gives."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import adbc_driver_postgresql.dbapi
import pyarrow as pa
import pytest
from sync_runs import sync_once

from syncline.connectors.sources.postgres import PostgresSource
from syncline.connectors.sources.postgres.config import PostgresConfig

pytestmark = pytest.mark.postgres

VALUES = (
    "('NaN'), ('Infinity'), ('-Infinity'), (0), (0.000), (-0.5), (1.50), (100), "
    "(1e30), (1e-30), (12345678901234567890.123456789), (-98765.4321), (NULL)"
)


def _read(config: dict[str, Any], query: str) -> pa.Table:
    source = PostgresSource.from_config(config)
    return pa.Table.from_batches(list(source.read(query)))


def _adbc_text(config: dict[str, Any], query: str) -> list[Any]:
    """What ADBC itself makes of the query's one NUMERIC column: its text."""
    conninfo = PostgresConfig.model_validate(config).conninfo()
    connection = adbc_driver_postgresql.dbapi.connect(conninfo)
    try:
        with connection.cursor() as cursor:
            cursor.execute(query)
            column = cursor.fetch_arrow_table().column(0).combine_chunks()
    finally:
        connection.close()
    return column.storage.to_pylist()


def test_unbounded_numeric_text_is_spelled_as_adbc_spells_it(pg_config: dict[str, Any]) -> None:
    query = f"SELECT v::numeric AS amount FROM (VALUES {VALUES}) AS t(v)"
    read = _read(pg_config, query).column("amount").to_pylist()
    assert read == _adbc_text(pg_config, query)
    assert read[:3] == ["nan", "inf", "-inf"]
    assert read[4] == "0.000"


def test_bounded_numeric_reads_exact_decimals(pg_config: dict[str, Any]) -> None:
    query = "SELECT v::numeric(12, 4) AS amount FROM (VALUES (1.5), (-0.0001), (NULL)) AS t(v)"
    table = _read(pg_config, query)
    assert table.schema.field("amount").type == pa.decimal128(12, 4)
    assert [str(v) if v is not None else None for v in table.column("amount").to_pylist()] == [
        "1.5000",
        "-0.0001",
        None,
    ]


def test_any_column_names_and_order_survive(pg_config: dict[str, Any]) -> None:
    query = 'SELECT 2 AS "we""ird name", 1.25::numeric AS "Mixed", \'x\' AS t -- trailing'
    table = _read(pg_config, query)
    assert table.schema.names == ['we"ird name', "Mixed", "t"]
    assert table.to_pylist() == [{'we"ird name': 2, "Mixed": "1.25", "t": "x"}]


def test_repeated_column_names_are_read_as_the_query_gives_them(
    pg_config: dict[str, Any],
) -> None:
    table = _read(pg_config, "SELECT 1.5::numeric AS a, 2.5::numeric AS a")
    assert table.schema.names == ["a", "a"]
    assert [column.to_pylist() for column in table.columns] == [["1.5"], ["2.5"]]


def test_numeric_specials_are_written_as_float_specials_are(
    pg_config: dict[str, Any], tmp_path: Path
) -> None:
    query = (
        "SELECT n AS id, v::numeric AS amount, v::float8 AS score "
        "FROM (VALUES (1, 'NaN'), (2, 'Infinity'), (3, '-Infinity')) AS t(n, v)"
    )

    result = sync_once(PostgresSource.from_config(pg_config), query, tmp_path)

    assert result.progress.planned.added == 3
    assert (tmp_path / "out" / "out.csv").read_text().splitlines()[1:] == [
        '"1","NaN","NaN"',
        '"2","Infinity","Infinity"',
        '"3","-Infinity","-Infinity"',
    ]
