"""Decimal text is positional at the column's scale, never Arrow's scientific form."""

from __future__ import annotations

import decimal

import pyarrow as pa
import pytest

from syncline.connectors.destinations.decimals import decimal_text

D = decimal.Decimal


@pytest.mark.parametrize(
    ("arrow_type", "values", "expected"),
    [
        (
            pa.decimal128(38, 18),
            [D("-0.000000000000000001"), D(0), D("1.5"), None, D("-1.23E-16")],
            [
                "-0.000000000000000001",
                "0.000000000000000000",
                "1.500000000000000000",
                None,
                "-0.000000000000000123",
            ],
        ),
        (
            pa.decimal128(10, 7),
            [D(0), D("1E-7"), D("-0.0000123")],
            ["0.0000000", "0.0000001", "-0.0000123"],
        ),
        (pa.decimal128(10, -2), [D(100), D(0), D(-12300)], ["100", "0", "-12300"]),
        (pa.decimal256(60, 40), [D(0)], ["0." + "0" * 40]),
        (pa.decimal128(6, 2), [D("12.50"), D("-0.01")], ["12.50", "-0.01"]),
    ],
)
def test_every_row_is_positional_with_the_column_scale(
    arrow_type: pa.DataType, values: list[object], expected: list[str | None]
) -> None:
    array = pa.array(values, arrow_type)
    chunked = pa.chunked_array([array[:1], array[1:]])

    assert decimal_text(array).to_pylist() == expected
    assert decimal_text(chunked).to_pylist() == expected
