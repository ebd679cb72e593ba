"""Canonical forms of decimal text and of infinite timestamps and dates."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from engine_doubles import Harness, MemoryDestination

from syncline.connectors.destinations.base import BatchResult, WriteBatch
from syncline.connectors.sources.base import decimal_field
from syncline.engine.canonical import canonical_json_array, is_json_canonical
from syncline.engine.report import RunStatus

D = decimal_field("v")

# The values Syncline uses for +infinity and -infinity (DuckDB's own).
TS_INFINITY = 2**63 - 1
DATE_INFINITY = 2**31 - 1


class _BatchesOnly(MemoryDestination):
    """Keeps the batches without reading values Python cannot hold (year 294247)."""

    def write_batch(self, batch: WriteBatch) -> BatchResult:
        self.batches.append(batch)
        return BatchResult()


def _model(field: pa.Field, value: Any) -> pa.Table:
    schema = pa.schema([pa.field("id", pa.int64()), field])
    return pa.table([pa.array([1]), pa.array([value], field.type)], schema=schema)


def _changes(tmp_path: Path, before: tuple[pa.Field, Any], after: tuple[pa.Field, Any]) -> int:
    """Sync the model with ``before``, then with ``after``; return the changed count."""
    harness = Harness(tmp_path, _model(*before), destination=_BatchesOnly())
    first = harness.run()
    assert first.status is RunStatus.SUCCESS, first.error
    harness.table = _model(*after)
    second = harness.run()
    assert second.status is RunStatus.SUCCESS, second.error
    return second.progress.planned.changed


NOISE = {
    "trailing zero": ((D, "10.50"), (D, "10.5")),
    "zero scale": ((D, "0.00"), (D, "0")),
    "integral": ((D, "7"), (D, "7.000")),
    "negative zero": ((D, "-0.0"), (D, "0")),
    "text vs decimal128": ((D, "12.340"), (pa.field("v", pa.decimal128(10, 2)), Decimal("12.34"))),
    "text vs int": ((D, "42.0"), (pa.field("v", pa.int64()), 42)),
}

CHANGES = {
    "last digit": ((D, "10.50"), (D, "10.51")),
    "wide last digit": ((D, "1" + "0" * 50 + ".5"), (D, "1" + "0" * 50 + ".6")),
    "sign": ((D, "1.5"), (D, "-1.5")),
    "null to zero": ((D, None), (D, "0")),
}


@pytest.mark.parametrize("case", sorted(NOISE))
def test_decimal_text_noise_is_no_change(tmp_path: Path, case: str) -> None:
    before, after = NOISE[case]
    assert _changes(tmp_path, before, after) == 0


@pytest.mark.parametrize("case", sorted(CHANGES))
def test_decimal_text_change_is_a_change(tmp_path: Path, case: str) -> None:
    before, after = CHANGES[case]
    assert _changes(tmp_path, before, after) == 1


def test_decimal_text_is_canonicalised_column_wise_like_python() -> None:
    values = ["10.50", "-0.00", "100", "1E+5", "NaN", None, "0.000100", "-12.3400"]
    assert is_json_canonical(D)
    out = canonical_json_array(pa.array(values), pa.string()).to_pylist()
    assert out == ["10.5", "0", "100", "100000", '"nan"', None, "0.0001", "-12.34"]


@pytest.mark.parametrize(
    ("before", "after"),
    [
        (TS_INFINITY, None),
        (TS_INFINITY, -TS_INFINITY),
        (-TS_INFINITY, 0),
    ],
)
def test_infinite_timestamp_is_distinct_from_null_and_other_values(
    tmp_path: Path, before: int, after: int | None
) -> None:
    field = pa.field("v", pa.timestamp("us", "UTC"))
    assert _changes(tmp_path, (field, before), (field, after)) == 1


def test_infinite_timestamp_and_date_are_stable(tmp_path: Path) -> None:
    field = pa.field("v", pa.timestamp("us", "UTC"))
    assert _changes(tmp_path, (field, TS_INFINITY), (field, TS_INFINITY)) == 0
    day = pa.field("v", pa.date32())
    assert _changes(tmp_path / "d", (day, DATE_INFINITY), (day, -DATE_INFINITY)) == 1
    assert _changes(tmp_path / "e", (day, DATE_INFINITY), (day, DATE_INFINITY)) == 0


def test_decimal_text_passes_its_logical_type_to_the_destination(tmp_path: Path) -> None:
    harness = Harness(tmp_path, _model(D, "10.50"))
    result = harness.run()
    assert result.status is RunStatus.SUCCESS, result.error
    context = harness.destination.context
    assert context is not None
    fields = {spec.name: spec for spec in context.fields}
    assert fields["v"].logical == "decimal"
