"""Canonical forms: representation noise is never a change, a real change always is."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from engine_doubles import Harness

from syncline.connectors.sources.base import json_field
from syncline.engine.canonical import (
    canonical_json_array,
    canonical_json_text,
    canonical_json_value,
)
from syncline.engine.report import RunStatus

UTC = dt.UTC
BERLIN = dt.timezone(dt.timedelta(hours=1))


def _model(field: pa.Field, value: Any) -> pa.Table:
    schema = pa.schema([pa.field("id", pa.int64()), field])
    return pa.Table.from_pylist([{"id": 1, "v": value}], schema=schema)


def _changes(tmp_path: Path, before: tuple[pa.Field, Any], after: tuple[pa.Field, Any]) -> int:
    """Sync the model with ``before``, then with ``after``; return the changed count."""
    harness = Harness(tmp_path, _model(*before))
    first = harness.run()
    assert first.status is RunStatus.SUCCESS, first.error
    assert first.progress.planned.added == 1
    harness.table = _model(*after)
    second = harness.run()
    assert second.status is RunStatus.SUCCESS, second.error
    return second.progress.planned.changed


def f(kind: pa.DataType) -> pa.Field:
    return pa.field("v", kind)


J = json_field("v")

NOISE = {
    "int vs integral float": ((f(pa.int64()), 1), (f(pa.float64()), 1.0)),
    "int vs decimal scale": ((f(pa.int32()), 1), (f(pa.decimal128(10, 3)), Decimal("1.000"))),
    "decimal scale": (
        (f(pa.decimal128(10, 2)), Decimal("1.50")),
        (f(pa.decimal128(12, 4)), Decimal("1.5000")),
    ),
    "decimal vs float": ((f(pa.decimal128(10, 3)), Decimal("0.100")), (f(pa.float64()), 0.1)),
    "float32 vs float64 integral": ((f(pa.float32()), 3.0), (f(pa.float64()), 3.0)),
    "negative zero": ((f(pa.float64()), -0.0), (f(pa.int64()), 0)),
    "zone of same instant": (
        (f(pa.timestamp("us", tz="UTC")), dt.datetime(2024, 1, 1, 10, tzinfo=UTC)),
        (f(pa.timestamp("ns", tz="+01:00")), dt.datetime(2024, 1, 1, 11, tzinfo=BERLIN)),
    ),
    "naive is UTC": (
        (f(pa.timestamp("us", tz="UTC")), dt.datetime(2024, 1, 1, 10, tzinfo=UTC)),
        (f(pa.timestamp("s")), dt.datetime(2024, 1, 1, 10)),
    ),
    "precision": (
        (f(pa.timestamp("ms")), dt.datetime(2024, 1, 1, 10, 0, 0, 5000)),
        (f(pa.timestamp("us")), dt.datetime(2024, 1, 1, 10, 0, 0, 5000)),
    ),
    "json key order and spaces": (
        (J, '{"a": 1, "b": [1, 2]}'),
        (J, '{ "b":[1,2],"a":1 }'),
    ),
    "json number forms": ((J, '{"a": 1.0, "b": 0.50}'), (J, '{"b": 0.5, "a": 1}')),
    "json text vs struct": (
        (J, '{"b": 2, "a": "x"}'),
        (f(pa.struct([("a", pa.string()), ("b", pa.int64())])), {"a": "x", "b": 2}),
    ),
    "dictionary encoding": (
        (f(pa.string()), "x"),
        (f(pa.dictionary(pa.int32(), pa.string())), "x"),
    ),
    "bool": ((f(pa.bool_()), True), (f(pa.bool_()), True)),
}

CHANGES = {
    "int": ((f(pa.int64()), 1), (f(pa.int64()), 2)),
    "fraction": ((f(pa.float64()), 1.5), (f(pa.float64()), 1.25)),
    "last float digit": ((f(pa.float64()), 0.1), (f(pa.float64()), 0.10000000000000002)),
    "decimal digit": (
        (f(pa.decimal128(10, 3)), Decimal("1.000")),
        (f(pa.decimal128(10, 3)), Decimal("1.001")),
    ),
    "one microsecond": (
        (f(pa.timestamp("us", tz="UTC")), dt.datetime(2024, 1, 1, tzinfo=UTC)),
        (f(pa.timestamp("us", tz="UTC")), dt.datetime(2024, 1, 1, 0, 0, 0, 1, tzinfo=UTC)),
    ),
    "same wall clock other zone": (
        (f(pa.timestamp("us", tz="UTC")), dt.datetime(2024, 1, 1, 10, tzinfo=UTC)),
        (f(pa.timestamp("us", tz="+01:00")), dt.datetime(2024, 1, 1, 10, tzinfo=BERLIN)),
    ),
    "null to empty": ((f(pa.string()), None), (f(pa.string()), "")),
    "empty to null": ((f(pa.string()), ""), (f(pa.string()), None)),
    "null to the string NULL": ((f(pa.string()), None), (f(pa.string()), "NULL")),
    "empty to space": ((f(pa.string()), ""), (f(pa.string()), " ")),
    "text": ((f(pa.string()), "a"), (f(pa.string()), "b")),
    "bool": ((f(pa.bool_()), True), (f(pa.bool_()), False)),
    "null to false": ((f(pa.bool_()), None), (f(pa.bool_()), False)),
    "json value": ((J, '{"a": 1}'), (J, '{"a": 2}')),
    "json number to string": ((J, '{"a": 1}'), (J, '{"a": "1"}')),
    "json array order": ((J, "[1, 2]"), (J, "[2, 1]")),
    "json null to empty object": ((J, None), (J, "{}")),
    "struct field": (
        (f(pa.struct([("a", pa.int64())])), {"a": 1}),
        (f(pa.struct([("a", pa.int64())])), {"a": 2}),
    ),
    "binary": ((f(pa.binary()), b"\x00"), (f(pa.binary()), b"\x01")),
}


@pytest.mark.parametrize("case", sorted(NOISE))
def test_representation_noise_is_no_change(tmp_path: Path, case: str) -> None:
    before, after = NOISE[case]
    assert _changes(tmp_path, before, after) == 0


@pytest.mark.parametrize("case", sorted(CHANGES))
def test_real_change_is_a_change(tmp_path: Path, case: str) -> None:
    before, after = CHANGES[case]
    assert _changes(tmp_path, before, after) == 1


def test_null_empty_and_null_text_are_three_values(tmp_path: Path) -> None:
    schema = pa.schema([("id", pa.int64()), ("a", pa.string()), ("b", pa.string())])
    # Shifting values between adjacent columns must not collide either.
    rows = [
        {"id": 1, "a": None, "b": ""},
        {"id": 2, "a": "", "b": None},
        {"id": 3, "a": "NULL", "b": None},
        {"id": 4, "a": "ab", "b": ""},
        {"id": 5, "a": "a", "b": "b"},
    ]
    harness = Harness(tmp_path, pa.Table.from_pylist(rows, schema=schema))
    harness.run()
    swapped = [
        {"id": 1, "a": "", "b": None},
        {"id": 2, "a": None, "b": ""},
        {"id": 3, "a": None, "b": "NULL"},
        {"id": 4, "a": "", "b": "ab"},
        {"id": 5, "a": "ab", "b": ""},
    ]
    harness.table = pa.Table.from_pylist(swapped, schema=schema)
    assert harness.run().progress.planned.changed == 5


def test_integer_and_string_keys_match(tmp_path: Path) -> None:
    harness = Harness(tmp_path, _model(f(pa.string()), "x"))
    harness.run()
    schema = pa.schema([("id", pa.string()), ("v", pa.string())])
    harness.table = pa.Table.from_pylist([{"id": "1", "v": "x"}], schema=schema)
    result = harness.run()
    assert result.progress.planned.as_api() == {
        "addedCount": 0,
        "changedCount": 0,
        "removedCount": 0,
    }


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"b": 1, "a": [true, null]}', '{"a":[true,null],"b":1}'),
        ('{"x": 1.50, "y": 2.0, "z": 1e2}', '{"x":1.5,"y":2,"z":100}'),
        ('"caf\\u00e9"', '"café"'),
        ("not json", "not json"),
    ],
)
def test_canonical_json_text(text: str, expected: str) -> None:
    assert canonical_json_text(text) == expected


def test_deeply_nested_json_is_canonical_without_recursion() -> None:
    deep = "[" * 400 + '{"b": 1.50, "a": null}' + "]" * 400
    assert canonical_json_text(deep) == "[" * 400 + '{"a":null,"b":1.5}' + "]" * 400
    nested: list[object] = []
    for _ in range(5_000):
        nested = [nested]
    assert canonical_json_value(nested) == "[" * 5_001 + "]" * 5_001


DOCUMENTS = [
    '{"b": [1.50, -0.0, 1e2, 12345678901234567890], "a": {"z": null, "y": true}}',
    '{"k\\u00e9y": "line\\nbreak \\"quoted\\" \\\\ \\u2603", "": [], "e": {}}',
    '  [ false , "x" , {"a": [ {} , [ ] ]} ]  ',
    '"just text"',
    "-7",
]


@pytest.mark.parametrize("document", DOCUMENTS)
def test_json_deeper_than_pythons_parser_is_canonical_as_any_other(document: str) -> None:
    depth = 5_000
    deep = "[" * depth + document + "]" * depth
    expected = "[" * depth + (canonical_json_text(document) or "") + "]" * depth
    assert canonical_json_text(deep) == expected
    assert canonical_json_array(pa.array([deep, None]), pa.string()).to_pylist() == [
        expected,
        None,
    ]


@pytest.mark.parametrize(
    "document", ['{"a" 1}', "[1,]", '{"a": 1,}', "[1 2]", '{"a": 1}}', "[}", "01", "{1: 2}"]
)
def test_invalid_json_deeper_than_pythons_parser_is_kept_as_text(document: str) -> None:
    deep = "[" * 5_000 + document + "]" * 5_000
    assert canonical_json_text(deep) == deep
