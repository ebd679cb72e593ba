"""Conformance: values that differ stay distinct, and special values never fail a run."""

from __future__ import annotations

import pyarrow as pa
from table_backends import Backend, OpenDestination

from syncline.connectors.destinations.base import FieldSpec, SyncMode, WriteAction, WriteBatch


def _batch(action: WriteAction, **columns: pa.Array) -> WriteBatch:
    records = pa.table(columns)
    return WriteBatch(action, records, [str(i) for i in range(records.num_rows)])


def test_append_table_takes_events_that_repeat_an_id(
    backend: Backend, table: str, open_destination: OpenDestination
) -> None:
    destination = open_destination({"id": pa.int64(), "v": pa.string()}, mode=SyncMode.APPEND)
    first = _batch(WriteAction.APPEND, id=pa.array([1, 2]), v=pa.array(["a", "b"]))
    again = _batch(WriteAction.APPEND, id=pa.array([1, 1]), v=pa.array(["c", "d"]))

    assert destination.write_batch(first).failures == []
    assert destination.write_batch(again).failures == []

    rows = backend.sql(f"SELECT id, v FROM {table} ORDER BY v")
    assert [tuple(r) for r in rows] == [(1, "a"), (2, "b"), (1, "c"), (1, "d")]


def test_decimal_text_is_stored_exactly_and_as_a_number_in_postgres(
    backend: Backend, table: str, open_destination: OpenDestination
) -> None:
    wide = "1" + "0" * 50 + ".25"
    fields = (FieldSpec("id", pa.int64()), FieldSpec("amount", pa.string(), "decimal"))
    destination = open_destination(fields)
    batch = _batch(
        WriteAction.UPSERT, id=pa.array([1, 2, 3]), amount=pa.array(["10.50", wide, None])
    )

    assert destination.write_batch(batch).failures == []

    rows = backend.sql(f"SELECT amount FROM {table} ORDER BY id")
    assert [None if r[0] is None else str(r[0]) for r in rows] == ["10.50", wide, None]
    if backend.kind == "postgres":
        kind = backend.sql(
            f"SELECT data_type FROM information_schema.columns "
            f"WHERE table_name = '{table}' AND column_name = 'amount'"
        )
        assert kind == [("numeric",)]


INFINITY_US = 2**63 - 1
INFINITY_DAYS = 2**31 - 1


def test_infinity_is_kept_where_the_table_can_hold_it_and_rejected_elsewhere(
    backend: Backend, table: str, open_destination: OpenDestination
) -> None:
    moment = pa.array([INFINITY_US, 1_704_067_200_000_000, -INFINITY_US], pa.int64())
    day = pa.array([19_723, -INFINITY_DAYS, 19_723], pa.int32())
    fields = {"id": pa.int64(), "moment": pa.timestamp("us", "UTC"), "day": pa.date32()}
    destination = open_destination(fields)
    batch = _batch(
        WriteAction.UPSERT,
        id=pa.array([1, 2, 3]),
        moment=moment.view(pa.timestamp("us", "UTC")),
        day=day.view(pa.date32()),
    )

    result = destination.write_batch(batch)

    if backend.kind in ("postgres", "duckdb"):
        assert result.failures == []
        rows = backend.sql(
            f"SELECT CAST(moment AS VARCHAR(40)), CAST(day AS VARCHAR(40)) FROM {table} ORDER BY id"
        )
        assert rows[0][0] == "infinity"
        assert rows[1][1] == "-infinity"
        assert rows[2][0] == "-infinity"
        assert rows[1][0].startswith("2024-01-01")
        assert rows[0][1] == "2024-01-01"
    else:
        reasons = {f.index: f.reason for f in result.failures}
        assert sorted(reasons) == [0, 1, 2]
        assert "'moment' holds infinity" in reasons[0]
        assert "'day' holds -infinity" in reasons[1]
        assert "'moment' holds -infinity" in reasons[2]
        assert backend.sql(f"SELECT count(*) FROM {table}")[0][0] == 0


def test_infinity_in_one_row_leaves_the_others_written(
    backend: Backend, table: str, open_destination: OpenDestination
) -> None:
    moment = pa.array([INFINITY_US, 1_704_067_200_000_000], pa.int64())
    destination = open_destination({"id": pa.int64(), "moment": pa.timestamp("us")})
    batch = _batch(WriteAction.UPSERT, id=pa.array([1, 2]), moment=moment.view(pa.timestamp("us")))

    result = destination.write_batch(batch)

    expected = 2 if backend.kind in ("postgres", "duckdb") else 1
    assert len(result.failures) == 2 - expected
    assert backend.sql(f"SELECT count(*) FROM {table} WHERE id = 2")[0][0] == 1
    assert backend.sql(f"SELECT count(*) FROM {table}")[0][0] == expected


def test_calendar_interval_is_stored_as_interval_or_iso_text(
    backend: Backend, table: str, open_destination: OpenDestination
) -> None:
    lapse = pa.array(
        [pa.MonthDayNano([14, 2, 3 * 3_600_000_000_000 + 4_000]), None],
        pa.month_day_nano_interval(),
    )
    destination = open_destination({"id": pa.int64(), "lapse": lapse.type})
    batch = _batch(WriteAction.UPSERT, id=pa.array([1, 2]), lapse=lapse)

    assert destination.write_batch(batch).failures == []

    if backend.kind == "postgres":
        rows = backend.sql(f"SELECT lapse::text FROM {table} ORDER BY id")
        assert rows == [("1 year 2 mons 2 days 03:00:00.000004",), (None,)]
    elif backend.kind == "duckdb":
        rows = backend.sql(f"SELECT CAST(lapse AS VARCHAR) FROM {table} ORDER BY id")
        assert rows == [("1 year 2 months 2 days 03:00:00.000004",), (None,)]
    else:
        rows = backend.sql(f"SELECT lapse FROM {table} ORDER BY id")
        assert [tuple(r) for r in rows] == [("P1Y2M2DT3H0.000004S",), (None,)]


def test_year_beyond_9999_is_a_rejected_row_where_the_driver_cannot_bind_it(
    backend: Backend, table: str, open_destination: OpenDestination
) -> None:
    far = 253_402_300_800_000_000  # 10000-01-01T00:00:00 UTC in microseconds
    moment = pa.array([far, 0], pa.int64()).view(pa.timestamp("us", "UTC"))
    destination = open_destination({"id": pa.int64(), "moment": moment.type})
    batch = _batch(WriteAction.UPSERT, id=pa.array([1, 2]), moment=moment)

    result = destination.write_batch(batch)

    if backend.kind in ("mysql", "sqlite"):
        assert [f.index for f in result.failures] == [0]
        assert "outside the years 1-9999" in result.failures[0].reason
        assert backend.sql(f"SELECT id FROM {table}") == [(2,)]
    else:
        assert result.failures == []
        assert backend.sql(f"SELECT count(*) FROM {table}")[0][0] == 2
