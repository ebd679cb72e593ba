"""Conformance: a value an existing column is narrower than is refused, never stored changed.

A float column (a single-precision one, or a double one for integers past 2**53 and
long decimals), a timestamp or time column with fewer fractional digits, and a boolean
column each store some values of a wider type altered, without an error.
Each such row is rejected naming the column, its type and the fix; values the column
holds exactly are written.
"""

from __future__ import annotations

import datetime as dt
import decimal

import pyarrow as pa
from table_backends import Backend, OpenDestination

from syncline.connectors.destinations.base import WriteAction, WriteBatch
from syncline.connectors.destinations.sql.table import TableDestination


def _write(destination: TableDestination, records: pa.Table) -> dict[int, str]:
    """Upsert ``records`` and return the reasons of the rejected rows, by position."""
    keys = [str(i) for i in records.column("id").to_pylist()]
    result = destination.write_batch(WriteBatch(WriteAction.UPSERT, records, keys))
    return {f.index: f.reason for f in result.failures}


_SINGLE = {"postgres": "real", "mysql": "float", "duckdb": "FLOAT", "sqlite": "REAL"}
"""Each backend's single-precision float column (SQLite's REAL holds eight bytes)."""


def test_a_double_a_single_precision_column_would_round_is_refused(
    backend: Backend, table: str, open_destination: OpenDestination
) -> None:
    backend.sql(f"CREATE TABLE {table} (id BIGINT PRIMARY KEY, r {_SINGLE[backend.kind]})")
    destination = open_destination({"id": pa.int64(), "r": pa.float64()}, create=False)
    values = [0.5, 0.1, 16777217.0, 1.0, 3.0, None, -2.75]
    records = pa.table({"id": range(1, 8), "r": pa.array(values, pa.float64())})

    reasons = _write(destination, records)

    if backend.kind == "sqlite":
        assert reasons == {}
        return
    assert sorted(reasons) == [1, 2]
    for reason in reasons.values():
        assert "field 'r'" in reason
        assert f"column 'r' ({_SINGLE[backend.kind]}" in reason
        assert "widen the column" in reason
        assert "round the value" in reason
    rows = backend.sql(f"SELECT id, r FROM {table} ORDER BY id")
    assert rows == [(1, 0.5), (4, 1.0), (5, 3.0), (6, None), (7, -2.75)]


_DOUBLE = {"postgres": "double precision", "mysql": "double", "duckdb": "DOUBLE", "sqlite": "REAL"}


def test_integers_and_decimals_a_float_column_would_round_are_refused(
    backend: Backend, table: str, open_destination: OpenDestination
) -> None:
    single, double = _SINGLE[backend.kind], _DOUBLE[backend.kind]
    backend.sql(
        f"CREATE TABLE {table} (id BIGINT PRIMARY KEY, bigr {single}, bigd {double}, "
        f"decr {single}, textr {single})"
    )
    fields = {"id": pa.int64(), "bigr": pa.int64(), "bigd": pa.int64()}
    destination = open_destination({**fields, "decr": pa.decimal128(5, 1)}, create=False)
    # Row 1 holds only values the columns keep; rows 2-5 each one a column rounds.
    exact_text = pa.field("textr", pa.string(), metadata={b"syncline.logical": b"decimal"})
    schema = pa.schema(
        [*(pa.field(n, t) for n, t in fields.items()), ("decr", pa.decimal128(5, 1)), exact_text]
    )
    records = pa.Table.from_pydict(
        {
            "id": [1, 2, 3, 4, 5],
            "bigr": [2**24, 2**24 + 1, 3, 3, 3],
            "bigd": [2**53, 3, 2**53 + 1, 3, 3],
            "decr": [decimal.Decimal("0.5"), None, None, decimal.Decimal("0.1"), None],
            "textr": ["16777216", None, None, None, "16777217"],
        },
        schema=schema,
    )

    reasons = _write(destination, records)

    # SQLite's REAL holds eight bytes: only the integer past 2**53 is rounded there.
    refused = (
        {2: "bigd"} if backend.kind == "sqlite" else {1: "bigr", 2: "bigd", 3: "decr", 4: "textr"}
    )
    assert sorted(reasons) == sorted(refused)
    for row, name in refused.items():
        assert f"field {name!r}" in reasons[row]
        kind = double if name == "bigd" else single
        assert f"column {name!r} ({kind}" in reasons[row]
        assert "widen the column" in reasons[row]
    # MariaDB prints a FLOAT with six digits; as a DOUBLE with every one.
    floats = ", ".join(
        f"CAST({name} AS DOUBLE)" if backend.kind == "mysql" else name
        for name in ("bigr", "bigd", "decr", "textr")
    )
    kept = sorted(backend.sql(f"SELECT id, {floats} FROM {table}"))
    assert kept[0] == (1, 2**24, 2**53, 0.5, 2**24)
    assert [row[0] for row in kept] == sorted({1, 2, 3, 4, 5} - {i + 1 for i in refused})


_COARSE = {
    "postgres": {
        "ts": "timestamp(3) without time zone",
        "tz": "timestamp(0) with time zone",
        "tm": "time(2) without time zone",
    },
    "mysql": {"ts": "datetime(3)", "tz": "timestamp", "tm": "time"},
    "duckdb": {"ts": "TIMESTAMP_MS", "tz": "TIMESTAMP_S", "tm": "TIME"},
}
"""Columns holding fewer fractional digits than the values sent to them."""


def test_fractional_seconds_a_coarser_column_would_cut_are_refused(
    backend: Backend, table: str, open_destination: OpenDestination
) -> None:
    if backend.kind == "sqlite":
        return  # timestamps and times are text there, kept with every digit
    kinds = _COARSE[backend.kind]
    backend.sql(
        f"CREATE TABLE {table} (id BIGINT PRIMARY KEY, "
        + ", ".join(f"{name} {kind}" for name, kind in kinds.items())
        + ")"
    )
    fields = {
        "id": pa.int64(),
        "ts": pa.timestamp("us"),
        "tz": pa.timestamp("us", "UTC"),
        "tm": pa.time64("ns" if backend.kind == "duckdb" else "us"),
    }
    destination = open_destination(fields, create=False)
    # Row 0 has no digits its columns lack; rows 1-3 each have one value with more.
    at = dt.datetime(2024, 5, 1, 12, 30, 15, 250000)
    ts = [at, at.replace(microsecond=250001), at, at]
    whole = at.replace(microsecond=0)
    tz = [whole, whole, at.replace(microsecond=500000), whole]
    if backend.kind == "duckdb":
        # DuckDB's TIME holds microseconds: a nanosecond is what it cuts.
        times: list[object] = [45015 * 10**9 + n for n in (0, 0, 0, 1)]
    else:
        times = [dt.time(12, 30, 15, 10 if row == 3 else 0) for row in range(4)]
    records = pa.table(
        {
            "id": [1, 2, 3, 4],
            "ts": pa.array(ts, fields["ts"]),
            "tz": pa.array([t.replace(tzinfo=dt.UTC) for t in tz], fields["tz"]),
            "tm": pa.array(times, fields["tm"]),
        }
    )

    reasons = _write(destination, records)

    refused = {1: "ts", 2: "tz", 3: "tm"}
    assert sorted(reasons) == sorted(refused)
    for row, name in refused.items():
        assert f"field {name!r}" in reasons[row]
        assert f"column {name!r} ({kinds[name]}" in reasons[row]
        assert "widen the column" in reasons[row]
    assert backend.sql(f"SELECT id FROM {table}") == [(1,)]


def test_nanoseconds_a_microsecond_column_would_cut_are_refused(
    backend: Backend, table: str, open_destination: OpenDestination
) -> None:
    kind = {"postgres": "timestamp without time zone", "mysql": "datetime(6)"}.get(
        backend.kind, "TIMESTAMP"
    )
    backend.sql(f"CREATE TABLE {table} (id BIGINT PRIMARY KEY, ts {kind})")
    destination = open_destination({"id": pa.int64(), "ts": pa.timestamp("ns")}, create=False)
    at = 1_714_566_615_123_456_000
    records = pa.table({"id": [1, 2, 3], "ts": pa.array([at, at + 1, None], pa.timestamp("ns"))})

    reasons = _write(destination, records)

    if backend.kind == "sqlite":
        assert reasons == {}
        stored = backend.sql(f"SELECT ts FROM {table} WHERE id = 2")
        assert stored == [("2024-05-01 12:30:15.123456001",)]  # text, with every digit
        return
    assert sorted(reasons) == [1]
    assert "field 'ts'" in reasons[1]
    assert f"column 'ts' ({kind}" in reasons[1]
    assert sorted(backend.sql(f"SELECT id FROM {table}")) == [(1,), (3,)]


def test_nanoseconds_are_kept_by_a_nanosecond_column(
    backend: Backend, table: str, open_destination: OpenDestination
) -> None:
    if backend.kind != "duckdb":
        return
    backend.sql(f"CREATE TABLE {table} (id BIGINT PRIMARY KEY, ts TIMESTAMP_NS)")
    destination = open_destination({"id": pa.int64(), "ts": pa.timestamp("ns")}, create=False)
    at = 1_714_566_615_123_456_789
    records = pa.table({"id": [1], "ts": pa.array([at], pa.timestamp("ns"))})

    assert _write(destination, records) == {}


def test_an_integer_a_boolean_column_would_change_is_refused(
    backend: Backend, table: str, open_destination: OpenDestination
) -> None:
    backend.sql(f"CREATE TABLE {table} (id BIGINT PRIMARY KEY, b BOOLEAN)")
    destination = open_destination({"id": pa.int64(), "b": pa.int64()}, create=False)
    records = pa.table({"id": [1, 2, 3, 4, 5], "b": pa.array([0, 1, 2, -1, None], pa.int64())})

    reasons = _write(destination, records)

    rows = backend.sql(f"SELECT id, b FROM {table} ORDER BY id")
    if backend.kind in ("mysql", "sqlite"):
        # An integer column (TINYINT(1), or numeric affinity) keeps 2 and -1 as they are.
        assert reasons == {}
        assert [(i, None if b is None else int(b)) for i, b in rows] == [
            (1, 0),
            (2, 1),
            (3, 2),
            (4, -1),
            (5, None),
        ]
        return
    assert sorted(reasons) == [2, 3]
    if backend.kind == "postgres":
        # PostgreSQL refuses them itself, row by row.
        assert all("type boolean" in r for r in reasons.values())
    else:
        assert all("field 'b'" in r and "column 'b' (BOOLEAN)" in r for r in reasons.values())
    assert [(i, None if b is None else bool(b)) for i, b in rows] == [
        (1, False),
        (2, True),
        (5, None),
    ]
