"""Sources: infinite dates and timestamps, and decimals no Arrow decimal holds."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pyarrow as pa
import pytest

from syncline.connectors.sources.base import is_decimal_field
from syncline.connectors.sources.infinity import DATE_INFINITY, TIMESTAMP_INFINITY, python_values
from syncline.connectors.sources.mysql import MySQLSource
from syncline.connectors.sources.postgres import PostgresSource


def _read(source: Any, query: str) -> pa.Table:
    return pa.Table.from_batches(list(source.read(query)), schema=_schema(source, query))


def _schema(source: Any, query: str) -> pa.Schema:
    return pa.schema([column.field() for column in source.describe(query)])


@pytest.mark.postgres
def test_postgres_infinity_is_syncline_infinity(pg_config: dict[str, Any]) -> None:
    source = PostgresSource.from_config(pg_config)
    table = _read(
        source,
        "SELECT * FROM (VALUES "
        "('infinity'::timestamptz, 'infinity'::timestamp, 'infinity'::date), "
        "('-infinity', '-infinity', '-infinity'), "
        "('2024-01-01 00:00:00+00', '2024-01-01', '2024-01-01'), "
        "(NULL, NULL, NULL)) v(tz, ts, d)",
    )

    for name in ("tz", "ts"):
        numbers = table.column(name).combine_chunks().view(pa.int64()).to_pylist()
        assert numbers == [TIMESTAMP_INFINITY, -TIMESTAMP_INFINITY, 1_704_067_200_000_000, None]
    days = table.column("d").combine_chunks().view(pa.int32()).to_pylist()
    assert days == [DATE_INFINITY, -DATE_INFINITY, 19_723, None]
    assert table.column("d")[2].as_py() == dt.date(2024, 1, 1)


@pytest.mark.postgres
def test_postgres_unbounded_numeric_is_marked_decimal_text(pg_config: dict[str, Any]) -> None:
    source = PostgresSource.from_config(pg_config)
    query = (
        "SELECT 10.50::numeric AS n, sum(x) AS total, 1.5::numeric(60, 2) AS wide, "
        "2.5::numeric(10, 2) AS narrow FROM (VALUES (1.25), (2.00)) v(x)"
    )
    table = _read(source, query)

    assert is_decimal_field(table.schema.field("n"))
    assert is_decimal_field(table.schema.field("total"))
    assert is_decimal_field(table.schema.field("wide"))
    assert table.schema.field("narrow").type == pa.decimal128(10, 2)
    assert not is_decimal_field(table.schema.field("narrow"))
    assert table.select(["n", "total", "wide"]).to_pylist() == [
        {"n": "10.50", "total": "3.25", "wide": "1.50"}
    ]
    assert [c.logical for c in source.describe(query)] == ["decimal", "decimal", "decimal", None]


@pytest.mark.mariadb
def test_mysql_decimal_wider_than_38_digits_is_marked_decimal_text(
    mysql_config: dict[str, Any],
) -> None:
    source = MySQLSource.from_config(mysql_config)
    query = "SELECT CAST(12345678901234567890123456789012345.5 AS DECIMAL(65, 2)) AS big"
    table = _read(source, query)

    assert is_decimal_field(table.schema.field("big"))
    assert table.column("big").to_pylist() == ["12345678901234567890123456789012345.50"]


def test_python_values_show_infinity_and_far_years_readably() -> None:
    moment = pa.array([TIMESTAMP_INFINITY, -TIMESTAMP_INFINITY, 0, None], pa.int64())
    shown = python_values(moment.view(pa.timestamp("us", "UTC")))
    assert shown[:2] == ["infinity", "-infinity"]
    assert shown[2] == dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    assert shown[3] is None

    far = pa.array([253_402_300_800_000_000, None], pa.int64()).view(pa.timestamp("us"))
    assert python_values(far) == ["10000-01-01 00:00:00.000000", None]
