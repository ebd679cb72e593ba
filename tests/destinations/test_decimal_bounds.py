"""Values a bounded numeric column would round or refuse are found for every input type."""

from __future__ import annotations

import decimal
import math

import pyarrow as pa
import pytest

from syncline.connectors.destinations.sql.precision import decimal_column, refuse_inexact

D = decimal.Decimal


@pytest.mark.parametrize(
    ("values", "column_type", "refused"),
    [
        # Floats so large that rounding them overflows, and infinities, fail no batch.
        (
            pa.array([1e307, -1e308, 0.5, 1.005, None, math.inf], pa.float64()),
            "numeric(10,2)",
            [0, 1, 3, 5],
        ),
        (pa.array([2**64 - 1, 1, None], pa.uint64()), "decimal(20,2)", [0]),
        (pa.array([-(2**63), 2**63 - 1], pa.int64()), "DECIMAL(20,2)", [0, 1]),
        (pa.array([999, -1000, 1000], pa.int16()), "numeric(4,1)", [1, 2]),
        (
            pa.array([D("9.999"), D("1.990"), D("-99.5")], pa.decimal128(38, 3)),
            "numeric(3,2)",
            [0, 2],
        ),
        (
            pa.array(["1.2300", "-001.5", "1.234", "123", "abc", None], pa.string()),
            "numeric(4,2)",
            [2, 3],
        ),
        # An integer column is numeric(digits, 0); whole numbers' range is the database's.
        (
            pa.array([2.0, 2.7, math.nan, -math.inf, None], pa.float64()),
            "INTEGER",
            [1, 2, 3],
        ),
        (pa.array([D("2.00"), D("2.50")], pa.decimal128(6, 2)), "int(11) unsigned", [1]),
        (pa.array(["01", "1.50", "1.0", " -2 ", "x"], pa.string()), "bigint", [1]),
        (pa.array([2**63 - 1, -(2**63)], pa.int64()), "SMALLINT", []),
        # A scale above the precision, or an unbounded numeric, is left to the database.
        (pa.array([D("0.001")], pa.decimal128(10, 3)), "numeric(2,4)", []),
        (pa.array([D("1.2345")], pa.decimal128(10, 4)), "numeric", []),
    ],
)
def test_values_the_column_cannot_hold_exactly_are_refused(
    values: pa.Array, column_type: str, refused: list[int]
) -> None:
    records = pa.table({"amt": values})

    reasons = refuse_inexact(records, {"amt": column_type}, "s.t", keeps_nan=True)

    assert sorted(reasons) == refused
    assert all(f"column 'amt' ({column_type}) of table s.t" in r for r in reasons.values())


@pytest.mark.parametrize(
    "values",
    [
        pa.array([math.nan, 1.5, math.inf], pa.float64()),
        pa.array(["NaN", "1.5", " -Infinity"], pa.string()),
    ],
)
def test_nan_is_refused_only_where_the_column_cannot_hold_it_and_infinity_always(
    values: pa.Array,
) -> None:
    records = pa.table({"amt": values})

    kept = refuse_inexact(records, {"amt": "numeric(10,2)"}, "t", keeps_nan=True)
    assert list(kept) == [2]
    assert "holds Infinity" in kept[2]
    reasons = refuse_inexact(records, {"amt": "DECIMAL(10,2)"}, "t", keeps_nan=False)
    assert sorted(reasons) == [0, 2]
    assert "holds NaN" in reasons[0]


def test_only_bounded_numeric_and_integer_types_are_bounds() -> None:
    assert decimal_column("a", "decimal(10,2) unsigned") is not None
    unsigned = [decimal_column("a", t) for t in ("UBIGINT", "bigint(20) unsigned")]
    assert [(c.precision, c.scale, c.integer) for c in unsigned if c] == [(20, 0, True)] * 2
    assert decimal_column("a", "interval") is None
    assert decimal_column("a", "numeric(10,2)[]") is None
    assert decimal_column("a", "double precision") is None
