"""Values a narrower column would store changed are found: doubles, integers and decimals
into float columns that round them, fractional seconds into coarser timestamps and times,
numbers into booleans."""

from __future__ import annotations

import datetime as dt
import decimal
import math

import pyarrow as pa
import pytest

from syncline.connectors.destinations.sql.booleans import refuse_non_booleans
from syncline.connectors.destinations.sql.floats import refuse_rounded_numbers
from syncline.connectors.destinations.sql.seconds import refuse_cut_seconds, seconds_column


@pytest.mark.parametrize(
    ("column_type", "dialect"),
    [("real", "postgres"), ("float", "mysql"), ("float unsigned", "mysql"), ("FLOAT", "duckdb")],
)
def test_doubles_single_precision_would_round_are_refused(column_type: str, dialect: str) -> None:
    values = [0.5, 0.1, 16777217.0, 1.0, 3.0, None, math.nan, -math.inf, 1e300, -2.75]
    records = pa.table({"r": pa.array(values, pa.float64())})

    reasons = refuse_rounded_numbers(records, {"r": column_type}, "t", dialect=dialect)

    assert sorted(reasons) == [1, 2, 8]
    assert all(f"column 'r' ({column_type}) of table t" in r for r in reasons.values())
    assert all("round the value" in r for r in reasons.values())


@pytest.mark.parametrize("column_type", ["double precision", "double", "DOUBLE", "numeric"])
def test_columns_holding_doubles_are_not_checked(column_type: str) -> None:
    records = pa.table({"r": pa.array([0.1], pa.float64())})

    assert refuse_rounded_numbers(records, {"r": column_type}, "t", dialect="mysql") == {}


def test_singles_into_a_single_precision_column_are_not_checked() -> None:
    records = pa.table({"r": pa.array([0.1], pa.float32())})

    assert refuse_rounded_numbers(records, {"r": "real"}, "t", dialect="postgres") == {}


_SINGLES_AND_DOUBLES = [
    ("real", "double precision", "postgres"),
    ("float", "double", "mysql"),
    ("FLOAT", "DOUBLE", "duckdb"),
    (None, "REAL", "sqlite"),
]
"""Each dialect's single- and double-precision column (SQLite's REAL holds eight bytes)."""


@pytest.mark.parametrize(("single", "double", "dialect"), _SINGLES_AND_DOUBLES)
@pytest.mark.parametrize("kind", [pa.int32(), pa.int64(), pa.uint32(), pa.uint64()])
def test_integers_a_float_column_would_round_are_refused(
    single: str | None, double: str, dialect: str, kind: pa.DataType
) -> None:
    top = 2 ** (kind.bit_width - (1 if pa.types.is_signed_integer(kind) else 0)) - 1
    values = [2**24, 2**24 + 1, 2**31 - 1, 2**53, 2**53 + 1, top, None, 3, 2**52]
    column = pa.array([v if v is None or v <= top else None for v in values], kind)
    records = pa.table({"s": column, "d": column})
    columns = {"d": double} if single is None else {"s": single, "d": double}

    reasons = refuse_rounded_numbers(records, columns, "t", dialect=dialect)

    # The type's largest value rounds up to a power of two in every float too narrow.
    beyond_double = {4, 5} if kind.bit_width == 64 else set()
    beyond_single = {1, 2, 5} | beyond_double if single is not None else set()
    assert sorted(reasons) == sorted(beyond_single | beyond_double)
    for row, reason in reasons.items():
        name = "s" if row in beyond_single else "d"
        assert f"column {name!r} ({columns[name]}) of table t" in reason
        precision = "single" if name == "s" else "double"
        assert f"a {precision}-precision float" in reason


@pytest.mark.parametrize(("single", "double", "dialect"), _SINGLES_AND_DOUBLES)
def test_integers_every_float_holds_are_not_checked(
    single: str | None, double: str, dialect: str
) -> None:
    wide = pa.array([2**53 + 1], pa.int64())
    records = pa.table({"s": pa.array([-32768], pa.int16()), "d": pa.array([2**31 - 1])})
    columns = {"s": single or double, "d": double}

    assert refuse_rounded_numbers(records, columns, "t", dialect=dialect) == {}
    # The same check over a type that does not fit finds the value.
    assert refuse_rounded_numbers(pa.table({"d": wide}), columns, "t", dialect=dialect)


@pytest.mark.parametrize(("single", "double", "dialect"), _SINGLES_AND_DOUBLES)
@pytest.mark.parametrize(
    "kind", [pa.decimal128(38, 1), pa.decimal256(41, 1), "text", "dictionary-text"]
)
def test_decimals_a_float_column_would_round_are_refused(
    single: str | None, double: str, dialect: str, kind: pa.DataType | str
) -> None:
    values = ["0.5", "0.1", "16777216", "16777217", "9007199254740992", "9007199254740993"]
    values += [str(10**39), "-2.5", None, "NaN", "Infinity"]
    field_type = pa.string() if isinstance(kind, str) else kind
    field = pa.field("v", field_type, metadata={b"syncline.logical": b"decimal"})
    if isinstance(kind, str):
        column = pa.array(values, pa.string())
        if kind == "dictionary-text":
            column = column.dictionary_encode()
            field = field.with_type(column.type)
    else:
        numbers = [None if v is None else decimal.Decimal(v) for v in values]
        fit = 10 ** (kind.precision - kind.scale)
        column = pa.array([n if n and n.is_finite() and n < fit else None for n in numbers], kind)
    records = pa.Table.from_arrays([column], schema=pa.schema([field]))

    into_double = refuse_rounded_numbers(records, {"v": double}, "t", dialect=dialect)
    assert sorted(into_double) == [5]
    assert "a double-precision float" in into_double[5]
    if single is None:
        return
    into_single = refuse_rounded_numbers(records, {"v": single}, "t", dialect=dialect)
    beyond = [] if kind == pa.decimal128(38, 1) else [6]  # past the largest single
    assert sorted(into_single) == [1, 3, 5, *beyond]
    assert all("widen the column (ALTER its type to " in r for r in into_single.values())


def test_plain_text_into_a_float_column_is_left_to_the_database() -> None:
    records = pa.table({"v": pa.array(["0.1", "16777217", "a word"])})

    assert refuse_rounded_numbers(records, {"v": "real"}, "t", dialect="postgres") == {}


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
