"""PostgreSQL source: money, time 24:00 and far-future timestamps read exactly or refused."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pytest

from syncline.connectors.sources.base import is_decimal_field
from syncline.connectors.sources.far_years import calendar_text
from syncline.connectors.sources.infinity import TIMESTAMP_INFINITY, python_values
from syncline.connectors.sources.postgres import PostgresSource
from syncline.errors import TerminalError

_DAYS_2000 = (dt.date(2000, 1, 1) - dt.date(1970, 1, 1)).days
_CYCLE_DAYS = 146_097  # days in 400 Gregorian years
_DAY_MICROS = 86_400_000_000


def _read(config: dict[str, Any], query: str) -> pa.Table:
    source = PostgresSource.from_config(config)
    schema = pa.schema([column.field() for column in source.describe(query)])
    return pa.Table.from_batches(list(source.read(query)), schema=schema)


def _micros_of_year(year: int) -> int:
    """Microseconds from 1970 to January 1st of ``year`` (a multiple of 400 after 2000)."""
    cycles = (year - 2000) // 400
    return (_DAYS_2000 + cycles * _CYCLE_DAYS) * _DAY_MICROS


@pytest.mark.postgres
def test_money_is_an_exact_decimal(pg_config: dict[str, Any]) -> None:
    query = (
        "SELECT m::money AS m FROM (VALUES ('12.34'), ('-92233720368547758.08'), "
        "('92233720368547758.07'), ('0.01'), (NULL)) v(m)"
    )

    table = _read(pg_config, query)

    assert table.schema.field("m").type == pa.decimal128(19, 2)
    assert table.column("m").to_pylist() == [
        Decimal("12.34"),
        Decimal("-92233720368547758.08"),
        Decimal("92233720368547758.07"),
        Decimal("0.01"),
        None,
    ]


@pytest.mark.postgres
def test_arrays_hold_their_elements_as_the_columns_of_that_type_read(
    pg_config: dict[str, Any],
) -> None:
    query = (
        "SELECT ARRAY['12.34'::money, NULL] AS cash, ARRAY[1.50, 2]::numeric[] AS nums, "
        "ARRAY['6c1a1f04-5b0e-4a53-9a39-2c4f6d3c1a10'::uuid] AS tags, "
        """ARRAY['{"b": 1, "a": 2}'::jsonb] AS docs, NULL::money[] AS none_, """
        "'{}'::numeric[] AS empty"
    )

    table = _read(pg_config, query)

    assert table.schema.field("cash").type == pa.list_(pa.field("item", pa.decimal128(19, 2)))
    assert table.column("cash").to_pylist() == [[Decimal("12.34"), None]]
    assert table.column("nums").to_pylist() == [["1.50", "2"]]
    assert is_decimal_field(table.schema.field("nums").type.value_field)
    assert table.column("tags").to_pylist() == [["6c1a1f04-5b0e-4a53-9a39-2c4f6d3c1a10"]]
    assert table.column("docs").to_pylist() == [['{"a": 2, "b": 1}']]
    assert table.column("none_").to_pylist() == [None]
    assert table.column("empty").to_pylist() == [[]]


@pytest.mark.postgres
def test_time_before_midnight_is_exact(pg_config: dict[str, Any]) -> None:
    table = _read(pg_config, "SELECT time '23:59:59.999999' AS t, time '00:00' AS z")

    assert table.column("t").to_pylist() == [dt.time(23, 59, 59, 999_999)]
    assert table.column("z").to_pylist() == [dt.time(0, 0)]


@pytest.mark.postgres
def test_time_24_00_is_refused_naming_the_column(pg_config: dict[str, Any]) -> None:
    source = PostgresSource.from_config(pg_config)
    query = "SELECT * FROM (VALUES (time '12:00'), (time '24:00:00')) v(closes_at)"

    with pytest.raises(TerminalError) as caught:
        list(source.read(query))

    message = str(caught.value)
    assert "'closes_at'" in message
    assert "24:00:00" in message
    assert "closes_at::text" in message


@pytest.mark.postgres
def test_far_future_timestamps_that_fit_arrow_are_exact(pg_config: dict[str, Any]) -> None:
    query = (
        "SELECT * FROM (VALUES "
        "(timestamptz '100000-01-01 00:00:00+00', timestamp '200000-01-01'), "
        "('294247-01-10 04:00:54.775806+00', '4714-11-24 00:00:00 BC'), "
        "('infinity', '-infinity')) v(tz, ts)"
    )

    table = _read(pg_config, query)

    tz = table.column("tz").combine_chunks().view(pa.int64()).to_pylist()
    ts = table.column("ts").combine_chunks().view(pa.int64()).to_pylist()
    assert tz == [_micros_of_year(100_000), TIMESTAMP_INFINITY - 1, TIMESTAMP_INFINITY]
    assert ts[0] == _micros_of_year(200_000)
    assert ts[2] == -TIMESTAMP_INFINITY
    assert python_values(table.column("tz")) == [
        "100000-01-01 00:00:00.000000Z",
        "294247-01-10 04:00:54.775806Z",
        "infinity",
    ]
    assert python_values(table.column("ts"))[:2] == [
        "200000-01-01 00:00:00.000000",
        "-4713-11-24 00:00:00.000000",
    ]


@pytest.mark.postgres
@pytest.mark.parametrize(
    "literal",
    [
        "timestamptz '294276-12-31 23:59:59+00'",
        "timestamp '294247-01-10 04:00:54.775808'",
        "timestamp '294247-01-10 04:00:54.775807'",
    ],
)
def test_timestamps_beyond_arrow_are_refused_naming_the_column(
    pg_config: dict[str, Any], literal: str
) -> None:
    source = PostgresSource.from_config(pg_config)
    query = f"SELECT * FROM (VALUES (timestamp '2024-01-01'), ({literal})) v(expires_at)"

    with pytest.raises(TerminalError) as caught:
        list(source.read(query))

    message = str(caught.value)
    assert "'expires_at'" in message
    assert "294247-01-10" in message
    assert "expires_at::text" in message


@pytest.mark.postgres
def test_far_dates_are_exact_and_shown_exactly(pg_config: dict[str, Any]) -> None:
    query = "SELECT * FROM (VALUES (date '5874897-12-31'), ('4713-01-01 BC')) v(d)"

    table = _read(pg_config, query)

    assert python_values(table.column("d")) == ["5874897-12-31", "-4712-01-01"]


@pytest.mark.parametrize(
    ("unit", "ticks", "text"),
    [
        ("s", 3_093_527_980_800, "100000-01-01 00:00:00"),
        ("ms", -1, "1969-12-31 23:59:59.999"),
        ("ns", 1_500_000_001, "1970-01-01 00:00:01.500000001"),
    ],
)
def test_far_years_are_shown_exactly_in_every_unit(unit: str, ticks: int, text: str) -> None:
    column = pa.array([ticks, None], pa.int64()).view(pa.timestamp(unit))

    assert calendar_text(column) == [text, None]
