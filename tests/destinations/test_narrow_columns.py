"""Values a narrower column would store changed are found: doubles into single-precision
floats, fractional seconds into coarser timestamps and times, numbers into booleans."""

from __future__ import annotations

import datetime as dt
import math

import pyarrow as pa
import pytest

from syncline.connectors.destinations.sql.booleans import refuse_non_booleans
from syncline.connectors.destinations.sql.seconds import refuse_cut_seconds, seconds_column
from syncline.connectors.destinations.sql.singles import refuse_rounded_doubles


@pytest.mark.parametrize(
    ("column_type", "dialect"),
    [("real", "postgres"), ("float", "mysql"), ("float unsigned", "mysql"), ("FLOAT", "duckdb")],
)
def test_doubles_single_precision_would_round_are_refused(column_type: str, dialect: str) -> None:
    values = [0.5, 0.1, 16777217.0, 1.0, 3.0, None, math.nan, -math.inf, 1e300, -2.75]
    records = pa.table({"r": pa.array(values, pa.float64())})

    reasons = refuse_rounded_doubles(records, {"r": column_type}, "t", dialect=dialect)

    assert sorted(reasons) == [1, 2, 8]
    assert all(f"column 'r' ({column_type}) of table t" in r for r in reasons.values())
    assert all("round the value" in r for r in reasons.values())


@pytest.mark.parametrize("column_type", ["double precision", "double", "DOUBLE", "numeric"])
def test_columns_holding_doubles_are_not_checked(column_type: str) -> None:
    records = pa.table({"r": pa.array([0.1], pa.float64())})

    assert refuse_rounded_doubles(records, {"r": column_type}, "t", dialect="mysql") == {}


def test_singles_into_a_single_precision_column_are_not_checked() -> None:
    records = pa.table({"r": pa.array([0.1], pa.float32())})

    assert refuse_rounded_doubles(records, {"r": "real"}, "t", dialect="postgres") == {}


@pytest.mark.parametrize(
    ("type_name", "dialect", "digits", "time"),
    [
        ("timestamp without time zone", "postgres", 6, False),
        ("timestamp(3) with time zone", "postgres", 3, False),
        ("time(0) without time zone", "postgres", 0, True),
        ("datetime", "mysql", 0, False),
        ("timestamp", "mysql", 0, False),
        ("datetime(6)", "mysql", 6, False),
        ("time(3)", "mysql", 3, True),
        ("TIMESTAMP_MS", "duckdb", 3, False),
        ("TIMESTAMP WITH TIME ZONE", "duckdb", 6, False),
        ("TIMESTAMP_NS", "duckdb", 9, False),
        ("TIME", "duckdb", 6, True),
    ],
)
def test_the_fractional_digits_of_each_column_type(
    type_name: str, dialect: str, digits: int, time: bool
) -> None:
    column = seconds_column(type_name, dialect)

    assert column is not None
    assert (column.digits, column.time) == (digits, time)


def test_types_without_fractional_seconds_are_no_seconds_columns() -> None:
    assert seconds_column("date", "postgres") is None
    assert seconds_column("interval", "postgres") is None
    assert seconds_column("DATE", "duckdb") is None


@pytest.mark.parametrize(
    ("values", "column_type", "dialect", "refused"),
    [
        (
            pa.array(
                [
                    dt.datetime(2024, 1, 1, 12, 0, 0, 500000),
                    dt.datetime(2024, 1, 1, 12, 0, 0, 500001),
                    dt.datetime(1969, 12, 31, 23, 59, 59, 1000),
                    dt.datetime(1969, 12, 31, 23, 59, 59, 1001),
                    None,
                ],
                pa.timestamp("us", "UTC"),
            ),
            "timestamp(3) with time zone",
            "postgres",
            [1, 3],
        ),
        (
            pa.array([dt.datetime(2024, 1, 1), dt.datetime(2024, 1, 1, 0, 0, 0, 1)]),
            "datetime",
            "mysql",
            [1],
        ),
        (pa.array([1000, 1001, -1000, -1], pa.timestamp("ns")), "TIMESTAMP", "duckdb", [1, 3]),
        (pa.array([1000, 1001], pa.timestamp("ns")), "TIMESTAMP_NS", "duckdb", []),
        # Infinite timestamps are left to the checks of infinity.
        (pa.array([2**63 - 1, -(2**63 - 1)], pa.timestamp("ns")), "TIMESTAMP", "duckdb", []),
        (pa.array([dt.time(1, 2, 3), dt.time(1, 2, 3, 4)], pa.time64("us")), "time", "mysql", [1]),
        (pa.array([1000, 1500], pa.time32("ms")), "time(0) without time zone", "postgres", [1]),
        (pa.array([10**6, 10**6 + 1], pa.duration("us")), "time", "mysql", [1]),
        # A value of the other kind is left to the database.
        (pa.array([dt.time(1, 2, 3, 4)], pa.time64("us")), "datetime", "mysql", []),
        (pa.array([dt.datetime(2024, 1, 1, 0, 0, 0, 4)]), "time", "mysql", []),
    ],
)
def test_fractional_seconds_a_coarser_column_would_cut_are_refused(
    values: pa.Array, column_type: str, dialect: str, refused: list[int]
) -> None:
    reasons = refuse_cut_seconds(pa.table({"s": values}), {"s": column_type}, "t", dialect=dialect)

    assert sorted(reasons) == refused
    assert all(f"column 's' ({column_type}) of table t" in r for r in reasons.values())


@pytest.mark.parametrize(
    ("column_type", "dialect", "fix"),
    [
        ("datetime", "mysql", "whole seconds in the model's SQL (or to microseconds after"),
        ("TIMESTAMP", "duckdb", "ALTER its type to TIMESTAMP_NS) or round the value to micro"),
        ("timestamp without time zone", "postgres", "round the value to microseconds in"),
        ("timestamp(3) with time zone", "postgres", "ALTER its type to timestamp(6) with time"),
    ],
)
def test_the_reason_offers_the_widest_type_that_helps(
    column_type: str, dialect: str, fix: str
) -> None:
    values = pa.array([1_000_000_001], pa.timestamp("ns"))

    reasons = refuse_cut_seconds(pa.table({"s": values}), {"s": column_type}, "t", dialect=dialect)

    assert fix in reasons[0]


@pytest.mark.parametrize(
    "values",
    [
        pa.array([0, 1, 2, -1, None], pa.int64()),
        pa.array([0, 1, 2, 255, None], pa.uint8()),
        pa.array([-0.0, 1.0, 0.5, math.nan, None], pa.float64()),
    ],
)
def test_numbers_other_than_zero_and_one_into_a_boolean_column_are_refused(
    values: pa.Array,
) -> None:
    reasons = refuse_non_booleans(pa.table({"b": values}), {"b": "BOOLEAN"}, "t")

    assert sorted(reasons) == [2, 3]
    assert all("column 'b' (BOOLEAN) of table t" in r for r in reasons.values())


def test_columns_other_than_booleans_keep_their_numbers() -> None:
    records = pa.table({"b": pa.array([2], pa.int64())})

    assert refuse_non_booleans(records, {"b": "tinyint(1)"}, "t") == {}
