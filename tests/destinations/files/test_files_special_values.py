"""Files: infinity, NaN and intervals are written by one documented rule, or refused."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
from file_helpers import context, run

from syncline.connectors.destinations.base import SyncMode, WriteAction, WriteBatch
from syncline.connectors.destinations.files import (
    CSVDestination,
    JSONLinesDestination,
    ParquetDestination,
)

INFINITY_US = 2**63 - 1

SCHEMA = pa.schema(
    [
        pa.field("id", pa.int64()),
        pa.field("moment", pa.timestamp("us", "UTC")),
        pa.field("day", pa.date32()),
        pa.field("ratio", pa.float64()),
        pa.field("lapse", pa.month_day_nano_interval()),
        pa.field("wait", pa.duration("us")),
    ]
)


def _batch() -> WriteBatch:
    moment = pa.array([INFINITY_US, 0, -INFINITY_US, None], pa.int64())
    day = pa.array([19_723, -(2**31 - 1), None, 19_723], pa.int32())
    table = pa.table(
        [
            pa.array([1, 2, 3, 4]),
            moment.view(pa.timestamp("us", "UTC")),
            day.view(pa.date32()),
            pa.array([1.5, float("nan"), float("inf"), -float("inf")]),
            pa.array(
                [pa.MonthDayNano([14, 2, 3_600_000_000_000]), None, None, None],
                pa.month_day_nano_interval(),
            ),
            pa.array([90_000_000, None, None, -1], pa.duration("us")),
        ],
        schema=SCHEMA,
    )
    return WriteBatch(WriteAction.UPSERT, table, ["1", "2", "3", "4"])


def test_csv_spells_infinity_nan_and_intervals(tmp_path: Path) -> None:
    destination = CSVDestination.from_config({"directory": str(tmp_path)})
    [result] = run(destination, context("v.csv", SyncMode.UPSERT, schema=SCHEMA), [_batch()])

    assert result.failures == []
    assert (tmp_path / "v.csv").read_text().splitlines() == [
        '"id","moment","day","ratio","lapse","wait"',
        '"1","infinity","2024-01-01","1.5","P1Y2M2DT1H","PT1M30S"',
        '"2","1970-01-01T00:00:00.000000+00:00","-infinity","NaN",,',
        '"3","-infinity",,"Infinity",,',
        '"4",,"2024-01-01","-Infinity",,"PT-0.000001S"',
    ]


def test_json_lines_refuse_nan_and_spell_infinity_and_intervals(tmp_path: Path) -> None:
    destination = JSONLinesDestination.from_config({"directory": str(tmp_path)})
    [result] = run(destination, context("v.jsonl", SyncMode.UPSERT, schema=SCHEMA), [_batch()])

    reasons = {f.index: f.reason for f in result.failures}
    assert sorted(reasons) == [1, 2, 3]
    assert "'ratio' holds NaN, which JSON cannot hold" in reasons[1]
    assert "'ratio' holds Infinity" in reasons[2]
    assert "'ratio' holds -Infinity" in reasons[3]

    lines = (tmp_path / "v.jsonl").read_text().splitlines()
    assert [json.loads(line) for line in lines] == [
        {
            "id": 1,
            "moment": "infinity",
            "day": "2024-01-01",
            "ratio": 1.5,
            "lapse": "P1Y2M2DT1H",
            "wait": "PT1M30S",
        }
    ]


def test_parquet_keeps_infinity_as_duckdb_reads_it_and_intervals_as_text(
    tmp_path: Path,
) -> None:
    destination = ParquetDestination.from_config({"directory": str(tmp_path)})
    [result] = run(destination, context("v.parquet", SyncMode.UPSERT, schema=SCHEMA), [_batch()])

    assert result.failures == []
    path = tmp_path / "v.parquet"
    table = pq.read_table(path)
    assert table.column("lapse").to_pylist() == ["P1Y2M2DT1H", None, None, None]
    rows = duckdb.sql(
        f"SELECT CAST(moment AS VARCHAR), CAST(day AS VARCHAR) FROM '{path}' ORDER BY id"
    ).fetchall()
    assert rows[0][0] == "infinity"
    assert rows[1][1] == "-infinity"
    assert rows[2][0] == "-infinity"


def test_json_lines_refuse_nan_inside_lists_structs_and_maps(tmp_path: Path) -> None:
    schema = pa.schema(
        [
            pa.field("id", pa.int64()),
            pa.field("xs", pa.list_(pa.float64())),
            pa.field("s", pa.struct([("a", pa.float64())])),
            pa.field("m", pa.map_(pa.string(), pa.float64())),
        ]
    )
    table = pa.table(
        [
            pa.array([1, 2, 3, 4]),
            pa.array([[1.5, float("nan")], [2.0], None, [2.5]], schema.field("xs").type),
            pa.array([{"a": 1.0}, {"a": float("inf")}, None, {"a": 2.0}], schema.field("s").type),
            pa.array([[("k", 1.0)], [], None, [("z", -float("inf"))]], schema.field("m").type),
        ],
        schema=schema,
    )
    destination = JSONLinesDestination.from_config({"directory": str(tmp_path)})
    batch = WriteBatch(WriteAction.UPSERT, table, ["1", "2", "3", "4"])
    [result] = run(destination, context("v.jsonl", SyncMode.UPSERT, schema=schema), [batch])

    reasons = {f.index: f.reason for f in result.failures}
    assert sorted(reasons) == [0, 1, 3]
    assert "'xs' holds NaN or infinity inside it" in reasons[0]
    assert "'s' holds NaN or infinity inside it" in reasons[1]
    assert "'m' holds NaN or infinity inside it" in reasons[3]
    lines = (tmp_path / "v.jsonl").read_text().splitlines()
    assert [json.loads(line)["id"] for line in lines] == [3]


def test_text_formats_spell_years_beyond_9999_exactly() -> None:
    from syncline.connectors.destinations.files.values import to_text

    year_100000 = 3_093_527_980_800  # seconds from 1970-01-01 to 100000-01-01
    records = pa.table(
        {
            "at": pa.array([year_100000 * 1_000_000, 0], pa.timestamp("us", "UTC")),
            "local": pa.array([year_100000 * 1_000_000, 0], pa.timestamp("us")),
            "day": pa.array([year_100000 // 86_400, 0], pa.date32()),
        }
    )

    rows = to_text(records).to_pylist()

    assert rows[0] == {
        "at": "100000-01-01T00:00:00.000000+00:00",
        "local": "100000-01-01T00:00:00.000000",
        "day": "100000-01-01",
    }
    assert rows[1] == {
        "at": "1970-01-01T00:00:00.000000+00:00",
        "local": "1970-01-01T00:00:00.000000",
        "day": "1970-01-01",
    }
