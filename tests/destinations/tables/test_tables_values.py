"""Conformance: values of every common type come back exactly as they were written."""

from __future__ import annotations

import datetime as dt
import decimal
import json
import math
from zoneinfo import ZoneInfo

import pyarrow as pa
import pytest
from table_backends import Backend, OpenDestination

from syncline.connectors.destinations.base import FieldSpec, SyncMode, WriteAction, WriteBatch

NEW_YORK = ZoneInfo("America/New_York")

# name: (Arrow type, logical type, how the backend reader decodes it, values of rows 1-4)
COLUMNS: dict[str, tuple[pa.DataType, str | None, str, list[object]]] = {
    "big": (pa.int64(), None, "int", [2**62 + 1, -(2**63), 0, None]),
    "ratio": (pa.float64(), None, "float", [0.1, 1e300, -2.5e-300, None]),
    "amount": (
        pa.decimal128(38, 9),
        None,
        "decimal",
        [
            decimal.Decimal("12345678901234567890.123456789"),
            decimal.Decimal("-0.000000001"),
            decimal.Decimal("1.100000000"),
            None,
        ],
    ),
    "flag": (pa.bool_(), None, "bool", [True, False, None, True]),
    "label": (pa.string(), None, "str", ["héllo wörld ✓ 𝄞 日本", "", None, "NULL"]),
    "happened": (
        pa.timestamp("us", "America/New_York"),
        None,
        "timestamptz",
        [
            dt.datetime(2024, 3, 10, 1, 59, 59, 999999, tzinfo=NEW_YORK),
            dt.datetime(1999, 12, 31, 23, 0, 0, 1, tzinfo=NEW_YORK),
            None,
            dt.datetime(2024, 11, 3, 1, 30, tzinfo=dt.UTC),
        ],
    ),
    "day": (pa.date32(), None, "date", [dt.date(2024, 2, 29), dt.date(1, 1, 1), None, None]),
    "doc": (
        pa.string(),
        "json",
        "json",
        ['{"b": 1, "a": [1, 2.5, {"c": null}], "s": "ü"}', "[]", None, '"text"'],
    ),
    "tags": (
        pa.list_(pa.struct([("k", pa.string()), ("n", pa.int64())])),
        None,
        "nested",
        [[{"k": "a", "n": 1}, {"k": "é", "n": None}], [], None, [{"k": "", "n": -1}]],
    ),
    "lapse": (
        pa.duration("us"),
        None,
        "duration",
        [
            dt.timedelta(days=1, microseconds=5),
            dt.timedelta(0),
            None,
            -dt.timedelta(hours=3, seconds=1),
        ],
    ),
    "payload": (pa.binary(), None, "binary", [b"\x00\xff\x10", b"", None, b"\\x00"]),
}


def test_values_round_trip_exactly_by_type(
    backend: Backend, table: str, open_destination: OpenDestination
) -> None:
    fields = (FieldSpec("id", pa.int64()),) + tuple(
        FieldSpec(name, arrow_type, logical)
        for name, (arrow_type, logical, _, _) in COLUMNS.items()
    )
    records = pa.table(
        {"id": pa.array([1, 2, 3, 4], pa.int64())}
        | {
            name: pa.array(values, arrow_type)
            for name, (arrow_type, _, _, values) in COLUMNS.items()
        }
    )
    destination = open_destination(fields)

    result = destination.write_batch(WriteBatch(WriteAction.UPSERT, records, ["1", "2", "3", "4"]))

    assert result.failures == []
    names = ", ".join(COLUMNS)
    rows = backend.sql(f"SELECT {names} FROM {table} ORDER BY id")
    for position, row in enumerate(rows):
        for (name, (_, _, kind, values)), value in zip(COLUMNS.items(), row, strict=True):
            expected = values[position]
            if kind == "json" and expected is not None:
                expected = json.loads(str(expected))
            if kind == "timestamptz" and expected is not None:
                expected = expected.astimezone(dt.UTC)  # type: ignore[attr-defined]
            assert backend.decode(kind, value) == expected, (name, position, value)


def test_null_and_empty_string_stay_distinct_through_updates(
    backend: Backend, table: str, open_destination: OpenDestination
) -> None:
    destination = open_destination({"id": pa.int64(), "label": pa.string()})

    first = pa.table({"id": [1, 2], "label": ["", None]})
    destination.write_batch(WriteBatch(WriteAction.UPSERT, first, ["1", "2"]))
    second = pa.table({"id": [1, 2], "label": [None, ""]})
    destination.write_batch(WriteBatch(WriteAction.UPSERT, second, ["1", "2"]))

    assert backend.sql(f"SELECT id, label FROM {table} ORDER BY id") == [(1, None), (2, "")]


def test_non_finite_floats_are_kept_or_rejected_never_changed(
    backend: Backend, table: str, open_destination: OpenDestination
) -> None:
    destination = open_destination({"id": pa.int64(), "ratio": pa.float64()})
    values = [1.5, math.nan, math.inf, -math.inf]
    records = pa.table({"id": [1, 2, 3, 4], "ratio": pa.array(values, pa.float64())})

    result = destination.write_batch(WriteBatch(WriteAction.UPSERT, records, ["1", "2", "3", "4"]))

    rows = dict(backend.sql(f"SELECT id, ratio FROM {table}"))
    if backend.kind == "mysql":
        # MySQL cannot store NaN or infinity: those rows are rejected, not nulled, with a
        # reason naming the field and the fix (not the staging table's column).
        assert [f.index for f in result.failures] == [1, 2, 3]
        reasons = [f.reason for f in result.failures]
        assert "field 'ratio' holds NaN" in reasons[0]
        assert "field 'ratio' holds Infinity" in reasons[1]
        assert "field 'ratio' holds -Infinity" in reasons[2]
        assert all("turn it into NULL" in r and "_syncline" not in r for r in reasons)
        assert rows == {1: 1.5}
        return
    assert result.failures == []
    assert rows[1] == 1.5
    assert rows[3] == math.inf
    assert rows[4] == -math.inf
    assert rows[2] is not None
    assert math.isnan(float(rows[2]))


@pytest.mark.parametrize("action", [WriteAction.UPSERT, WriteAction.UPDATE])
def test_a_negative_zero_float_keeps_its_sign(
    backend: Backend, table: str, open_destination: OpenDestination, action: WriteAction
) -> None:
    destination = open_destination({"id": pa.int64(), "ratio": pa.float64(), "f": pa.float32()})
    zeros = {"ratio": pa.array([-0.0, 0.0]), "f": pa.array([-0.0, 0.0], pa.float32())}
    if action is WriteAction.UPDATE:
        ones = pa.table({"id": [1, 2], "ratio": [1.0, 1.0], "f": pa.array([1, 1], pa.float32())})
        destination.write_batch(WriteBatch(WriteAction.UPSERT, ones, ["1", "2"]))
    records = pa.table({"id": [1, 2], **zeros})

    result = destination.write_batch(WriteBatch(action, records, ["1", "2"]))

    rows = {key: (ratio, f) for key, ratio, f in backend.sql(f"SELECT id, ratio, f FROM {table}")}
    assert result.failures == []
    if backend.kind in ("mysql", "sqlite"):
        return  # MariaDB and SQLite REAL columns store no negative zero: -0 reads back as 0
    signs = [math.copysign(1.0, float(value)) for key in (1, 2) for value in rows[key]]
    assert signs == [-1.0, -1.0, 1.0, 1.0]


def test_a_json_field_gets_a_json_column_that_refuses_text_that_is_not_json(
    backend: Backend, table: str, open_destination: OpenDestination
) -> None:
    destination = open_destination(
        (FieldSpec("id", pa.int64()), FieldSpec("doc", pa.string(), "json"))
    )
    records = pa.table({"id": [1, 2], "doc": ['{"a": 1}', "{not json"]})

    result = destination.write_batch(WriteBatch(WriteAction.UPSERT, records, ["1", "2"]))

    stored = dict(backend.sql(f"SELECT id, doc FROM {table}"))
    if backend.kind == "sqlite":
        # SQLite has no JSON type: the text is stored as it came.
        assert result.failures == []
        assert stored[2] == "{not json"
        return
    assert [f.index for f in result.failures] == [1]
    assert backend.decode("json", stored[1]) == {"a": 1}
    assert 2 not in stored


def test_tiny_and_zero_decimals_are_stored_positionally_with_the_scale(
    backend: Backend, table: str, open_destination: OpenDestination
) -> None:
    amounts = pa.list_(pa.decimal128(38, 18))
    destination = open_destination(
        {"id": pa.int64(), "amount": pa.decimal128(38, 18), "amounts": amounts}
    )
    tiny, zero = decimal.Decimal("-0.000000000000000001"), decimal.Decimal(0)
    records = pa.table(
        {
            "id": [1, 2],
            "amount": pa.array([tiny, zero], pa.decimal128(38, 18)),
            "amounts": pa.array([[tiny], [zero]], amounts),
        }
    )

    result = destination.write_batch(WriteBatch(WriteAction.UPSERT, records, ["1", "2"]))

    assert result.failures == []
    rows = backend.sql(f"SELECT amount, amounts FROM {table} ORDER BY id")
    assert [backend.decode("decimal", amount) for amount, _ in rows] == [tiny, zero]
    if backend.kind == "sqlite":
        # SQLite keeps decimals as TEXT: the text itself must be the plain digits.
        zeros = "0.000000000000000000"
        assert rows == [
            ("-0.000000000000000001", '["-0.000000000000000001"]'),
            (zeros, f'["{zeros}"]'),
        ]


def test_dates_before_the_common_era_are_stored_or_refused_naming_the_field(
    backend: Backend, table: str, open_destination: OpenDestination
) -> None:
    day = 86_400_000_000
    # 0100-01-01 BC, 4714-11-24 BC (PostgreSQL's first day) and the day before it.
    days = [-755_687, -2_440_588, -2_440_589]
    destination = open_destination({"id": pa.int64(), "d": pa.date32(), "t": pa.timestamp("us")})
    records = pa.table(
        {
            "id": [1, 2, 3],
            "d": pa.array(days, pa.date32()),
            "t": pa.array([n * day + 500_000 for n in days], pa.timestamp("us")),
        }
    )

    result = destination.write_batch(WriteBatch(WriteAction.UPSERT, records, ["1", "2", "3"]))

    reasons = {f.index: f.reason for f in result.failures}
    if backend.kind == "postgres":
        assert sorted(reasons) == [2]
        assert "field 'd'" in reasons[2]
        assert "4714-11-24 BC" in reasons[2]
        assert backend.sql(f"SELECT d::text, t::text FROM {table} ORDER BY id") == [
            ("0100-01-01 BC", "0100-01-01 00:00:00.5 BC"),
            ("4714-11-24 BC", "4714-11-24 00:00:00.5 BC"),
        ]
    elif backend.kind == "duckdb":
        assert reasons == {}
        assert backend.sql(f"SELECT count(*) FROM {table}") == [(3,)]
    else:
        assert sorted(reasons) == [0, 1, 2]
        assert all("field 'd'" in r and "1-9999" in r for r in reasons.values())


def test_a_decimal_the_column_cannot_hold_exactly_is_refused_naming_the_column(
    backend: Backend, table: str, open_destination: OpenDestination
) -> None:
    backend.sql(
        f"CREATE TABLE {table} (id BIGINT PRIMARY KEY, amt DECIMAL(10,2), "
        "txt DECIMAL(10,2), num DECIMAL(10,2), f DECIMAL(10,2))"
    )
    fields = {
        "id": pa.int64(),
        "amt": pa.decimal128(20, 4),
        "txt": pa.string(),
        "num": pa.int64(),
        "f": pa.float64(),
    }
    destination = open_destination(fields, create=False)
    # Row 0 fits; rows 1-4 each have one value the column would round or overflow.
    amounts = ["1.5000", "1.2345", "99999999.99", "1", "-12345678.9900"]
    records = pa.table(
        {
            "id": [1, 2, 3, 4, 5],
            "amt": pa.array([decimal.Decimal(a) for a in amounts], pa.decimal128(20, 4)),
            "txt": ["-0012.3400", "1", "1.001", "1", "1"],
            "num": [99_999_999, 1, 1, 123_456_789, 1],
            "f": [2.25, 1.0, 1.0, 1.0, 0.125],
        }
    )

    result = destination.write_batch(
        WriteBatch(WriteAction.UPSERT, records, ["1", "2", "3", "4", "5"])
    )

    reasons = {f.index: f.reason for f in result.failures}
    if backend.kind == "sqlite":
        # SQLite columns have no precision or scale: nothing is rounded or refused.
        assert reasons == {}
        return
    assert sorted(reasons) == [1, 2, 3, 4]
    assert "'amt'" in reasons[1]
    assert "scale" in reasons[1]
    assert "widen" in reasons[1]
    assert "'txt'" in reasons[2]
    assert "'num'" in reasons[3]
    assert "'f'" in reasons[4]
    assert all("(10,2)" in r.replace(" ", "") for r in reasons.values())
    rows = backend.sql(f"SELECT amt, txt, num, f FROM {table}")
    assert [tuple(backend.decode("decimal", v) for v in row) for row in rows] == [
        tuple(decimal.Decimal(v) for v in ("1.50", "-12.34", "99999999.00", "2.25"))
    ]


def test_non_finite_floats_into_a_decimal_column_are_kept_where_it_can_or_refused(
    backend: Backend, table: str, open_destination: OpenDestination
) -> None:
    backend.sql(f"CREATE TABLE {table} (id BIGINT PRIMARY KEY, amt DECIMAL(10,2))")
    destination = open_destination({"id": pa.int64(), "amt": pa.float64()}, create=False)
    records = pa.table({"id": [1, 2, 3], "amt": [1.5, math.nan, math.inf]})

    result = destination.write_batch(WriteBatch(WriteAction.UPSERT, records, ["1", "2", "3"]))

    reasons = {f.index: f.reason for f in result.failures}
    if backend.kind == "sqlite":
        assert reasons == {}
        return
    # PostgreSQL's numeric holds NaN, but no bounded numeric holds infinity.
    refused = [2] if backend.kind == "postgres" else [1, 2]
    assert sorted(reasons) == refused
    assert all("field 'amt'" in reasons[i] and "_syncline" not in reasons[i] for i in refused)
    assert "Infinity" in reasons[2]
    # A float column is a fix only where float columns hold NaN and infinities.
    offered = all("make the column a float" in reasons[i] for i in refused)
    assert offered == (backend.kind != "mysql")


def test_a_value_an_integer_or_date_column_would_change_is_refused_naming_the_column(
    backend: Backend, table: str, open_destination: OpenDestination
) -> None:
    backend.sql(
        f"CREATE TABLE {table} (id INTEGER PRIMARY KEY, qty INTEGER, score INTEGER, "
        "units INTEGER, placed_at DATE, due DATE)"
    )
    fields = {
        "id": pa.int64(),
        "qty": pa.decimal128(6, 2),
        "score": pa.float64(),
        "units": pa.string(),
        "placed_at": pa.timestamp("us"),
        "due": pa.string(),
    }
    destination = open_destination(fields, create=False)
    midnight, evening = dt.datetime(2024, 1, 1), dt.datetime(2024, 1, 1, 18, 30)
    # Row 0 differs from its columns only harmlessly; rows 1-5 each hold one value its
    # column would store rounded or cut.
    records = pa.table(
        {
            "id": [1, 2, 3, 4, 5, 6],
            "qty": pa.array([decimal.Decimal(q) for q in "2 2.5 2 2 2 2".split()], fields["qty"]),
            "score": [3.0, 3.0, 2.7, 3.0, 3.0, 3.0],
            "units": ["01", "1", "1", "1.50", "1", "1"],
            "placed_at": pa.array([midnight] * 4 + [evening, midnight], fields["placed_at"]),
            "due": ["2024-01-01"] * 5 + ["2024-01-01 18:30"],
        }
    )

    result = destination.write_batch(
        WriteBatch(WriteAction.UPSERT, records, ["1", "2", "3", "4", "5", "6"])
    )

    reasons = {f.index: f.reason for f in result.failures}
    if backend.kind == "sqlite":
        # SQLite's column types are affinities: each value is kept, as the number it is.
        assert reasons == {}
        return
    assert sorted(reasons) == [1, 2, 3, 4, 5]
    for row, column in enumerate(["qty", "score", "units", "placed_at", "due"], start=1):
        assert f"field {column!r}" in reasons[row]
        assert f"column {column!r} (" in reasons[row]
        assert "widen the column" in reasons[row]
        assert "CAST" in reasons[row]
    rows = backend.sql(f"SELECT id, qty, score, units, placed_at, due FROM {table}")
    day = dt.date(2024, 1, 1)
    assert [tuple(backend.decode("date", v) for v in row) for row in rows] == [
        (1, 2, 3, 1, day, day)
    ]


def test_a_text_key_the_key_column_would_store_in_another_form_is_refused(
    backend: Backend, table: str, open_destination: OpenDestination
) -> None:
    backend.sql(f"CREATE TABLE {table} (code INTEGER PRIMARY KEY, name VARCHAR(20))")
    fields = {"code": pa.string(), "name": pa.string()}
    destination = open_destination(fields, create=False, id_field="code", mode=SyncMode.MIRROR)
    records = pa.table({"code": ["1", "01", "7", " 7"], "name": ["one", "zero-one", "seven", ""]})

    result = destination.write_batch(
        WriteBatch(WriteAction.UPSERT, records, ["1", "01", "7", " 7"])
    )

    # '01' and ' 7' would land on the rows of keys '1' and '7'.
    reasons = {f.index: f.reason for f in result.failures}
    assert sorted(reasons) == [1, 3]
    assert all("'code'" in r and "CAST" in r for r in reasons.values())
    assert "int" in reasons[1].lower()
    assert sorted(backend.sql(f"SELECT code, name FROM {table}")) == [(1, "one"), (7, "seven")]

    # Deleting key '01' must not delete key '1'.
    gone = pa.table({"code": ["01"]})
    result = destination.write_batch(WriteBatch(WriteAction.DELETE, gone, ["01"]))

    assert [f.index for f in result.failures] == [0]
    assert sorted(backend.sql(f"SELECT code, name FROM {table}")) == [(1, "one"), (7, "seven")]


@pytest.mark.parametrize("kind", ["TEXT", "VARCHAR(40)"])
def test_floats_into_a_text_column_are_stored_as_their_shortest_exact_text(
    backend: Backend, table: str, open_destination: OpenDestination, kind: str
) -> None:
    backend.sql(f"CREATE TABLE {table} (id BIGINT PRIMARY KEY, r {kind}, s {kind})")
    destination = open_destination(
        {"id": pa.int64(), "r": pa.float64(), "s": pa.float32()}, create=False
    )
    doubles = [0.12345678901234566, 1e-300, 123456789012345678.0, math.nan, math.inf, -math.inf]
    singles = pa.array(
        [0.1, 3.4028234663852886e38, 1.5, math.nan, math.inf, -math.inf], pa.float32()
    )
    records = pa.table({"id": [1, 2, 3, 4, 5, 6], "r": doubles, "s": singles})

    result = destination.write_batch(WriteBatch(WriteAction.UPSERT, records, list("123456")))

    assert result.failures == []
    rows = backend.sql(f"SELECT id, r, s FROM {table} ORDER BY id")
    assert [(r, s) for _, r, s in rows] == [
        ("0.12345678901234566", "0.1"),
        ("1e-300", "3.4028235e+38"),
        ("1.2345678901234568e+17", "1.5"),
        ("NaN", "NaN"),
        ("Infinity", "Infinity"),
        ("-Infinity", "-Infinity"),
    ]
