"""Value spellings in CSV and JSON Lines, and exact round trips through Parquet."""

from __future__ import annotations

import datetime as dt
import decimal
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import pytest
from file_helpers import context, run

from syncline.connectors.destinations.base import SyncMode, WriteAction, WriteBatch
from syncline.connectors.destinations.files import (
    CSVDestination,
    JSONLinesDestination,
    ParquetDestination,
)
from syncline.connectors.sources.base import json_field
from syncline.errors import TerminalError

SCHEMA = pa.schema(
    [
        pa.field("id", pa.int64()),
        pa.field("text", pa.string()),
        pa.field("at", pa.timestamp("us", "UTC")),
        pa.field("local", pa.timestamp("us")),
        pa.field("amount", pa.decimal128(12, 2)),
        json_field("payload"),
        pa.field("flag", pa.bool_()),
        pa.field("day", pa.date32()),
    ]
)

ROWS = [
    {
        "id": 1,
        "text": "",
        "at": dt.datetime(2024, 5, 1, 12, 30, 0, 250000, tzinfo=dt.UTC),
        "local": dt.datetime(2024, 5, 1, 8, 0),
        "amount": decimal.Decimal("12.50"),
        "payload": '{"b": [1, 2], "a": {"c": null}}',
        "flag": True,
        "day": dt.date(2024, 5, 1),
    },
    {
        "id": 2,
        "text": None,
        "at": None,
        "local": None,
        "amount": decimal.Decimal("-0.01"),
        "payload": None,
        "flag": False,
        "day": None,
    },
    {
        "id": 3,
        "text": 'say "hi",\nthen go',
        "at": dt.datetime(2024, 5, 1, 23, 0, tzinfo=dt.timezone(dt.timedelta(hours=2))),
        "local": None,
        "amount": decimal.Decimal("99999999.99"),
        "payload": "[]",
        "flag": None,
        "day": None,
    },
]


def _batch(rows: list[dict[str, object]] = ROWS) -> WriteBatch:
    table = pa.Table.from_pylist(rows, schema=SCHEMA)
    return WriteBatch(WriteAction.UPSERT, table, [str(r["id"]) for r in rows])


def _ctx() -> object:
    return context("values.out", SyncMode.UPSERT, schema=SCHEMA)


def test_csv_quotes_every_value_and_leaves_null_empty(tmp_path: Path) -> None:
    destination = CSVDestination.from_config({"directory": str(tmp_path)})
    run(destination, context("v.csv", SyncMode.UPSERT, schema=SCHEMA), [_batch()])

    assert (tmp_path / "v.csv").read_text() == (
        '"id","text","at","local","amount","payload","flag","day"\n'
        '"1","","2024-05-01T12:30:00.250000+00:00","2024-05-01T08:00:00.000000","12.50",'
        '"{""b"": [1, 2], ""a"": {""c"": null}}","true","2024-05-01"\n'
        '"2",,,,"-0.01",,"false",\n'
        '"3","say ""hi"",\nthen go","2024-05-01T21:00:00.000000+00:00",,"99999999.99",'
        '"[]",,\n'
    )


def test_csv_reads_back_null_apart_from_empty_with_the_documented_options(
    tmp_path: Path,
) -> None:
    destination = CSVDestination.from_config({"directory": str(tmp_path)})
    run(destination, context("v.csv", SyncMode.UPSERT, schema=SCHEMA), [_batch()])

    table = pa_csv.read_csv(
        tmp_path / "v.csv",
        parse_options=pa_csv.ParseOptions(newlines_in_values=True),
        convert_options=pa_csv.ConvertOptions(
            column_types={"text": pa.string()},
            strings_can_be_null=True,
            quoted_strings_can_be_null=False,
        ),
    )
    assert table.column("text").to_pylist() == ["", None, 'say "hi",\nthen go']


def test_csv_merge_keeps_every_cell_exactly_as_written(tmp_path: Path) -> None:
    destination = CSVDestination.from_config({"directory": str(tmp_path)})
    ctx = context("v.csv", SyncMode.UPSERT, schema=SCHEMA)
    run(destination, ctx, [_batch()])
    before = (tmp_path / "v.csv").read_text().splitlines(keepends=True)

    changed = {**ROWS[1], "text": "now set"}
    run(destination, ctx, [_batch([changed])])

    after = (tmp_path / "v.csv").read_text().splitlines(keepends=True)
    assert after[0:2] == before[0:2]
    assert after[2] == '"2","now set",,,"-0.01",,"false",\n'
    assert after[3:] == before[3:]


def test_csv_honours_delimiter_and_header_options(tmp_path: Path) -> None:
    destination = CSVDestination.from_config(
        {"directory": str(tmp_path), "delimiter": ";", "header": False}
    )
    ctx = context("v.csv", SyncMode.UPSERT)
    rows = pa.table({"id": [1, 2], "name": ["a;b", None]})
    run(destination, ctx, [WriteBatch(WriteAction.UPSERT, rows, ["1", "2"])])
    run(
        destination,
        ctx,
        [WriteBatch(WriteAction.UPSERT, pa.table({"id": [2], "name": ["c"]}), ["2"])],
    )

    assert (tmp_path / "v.csv").read_text() == '"1";"a;b"\n"2";"c"\n'


HEADERLESS = pa.schema([("id", pa.int64()), ("name", pa.string()), ("note", pa.string())])
REORDERED = pa.schema([("id", pa.int64()), ("note", pa.string()), ("name", pa.string())])


def _headerless(tmp_path: Path) -> CSVDestination:
    return CSVDestination.from_config({"directory": str(tmp_path), "header": False})


def test_a_csv_without_header_keeps_its_column_order_when_the_model_reorders(
    tmp_path: Path,
) -> None:
    rows = pa.table({"id": [1, 2], "name": ["ada", "bob"], "note": ["x", "y"]})
    ctx = context("v.csv", SyncMode.UPSERT, schema=HEADERLESS)
    run(_headerless(tmp_path), ctx, [WriteBatch(WriteAction.UPSERT, rows, ["1", "2"])])

    # The model now returns note before name: one row changes.
    changed = pa.table({"id": [2], "note": ["z"], "name": ["bobby"]})
    ctx = context("v.csv", SyncMode.UPSERT, schema=REORDERED, run_id=2)
    run(_headerless(tmp_path), ctx, [WriteBatch(WriteAction.UPSERT, changed, ["2"])])

    assert (tmp_path / "v.csv").read_text() == '"1","ada","x"\n"2","bobby","z"\n'


def test_appending_in_another_column_order_to_a_csv_without_header_is_refused(
    tmp_path: Path,
) -> None:
    rows = pa.table({"id": [1], "name": ["ada"], "note": ["x"]})
    ctx = context("e.csv", SyncMode.APPEND, schema=HEADERLESS)
    run(_headerless(tmp_path), ctx, [WriteBatch(WriteAction.APPEND, rows, ["1"])])

    destination = _headerless(tmp_path)
    with pytest.raises(TerminalError, match=r"has no header and holds the columns \['id', 'name'"):
        destination.open(context("e.csv", SyncMode.APPEND, schema=REORDERED, run_id=2))


def test_jsonl_embeds_json_and_writes_decimals_as_exact_strings(tmp_path: Path) -> None:
    destination = JSONLinesDestination.from_config({"directory": str(tmp_path)})
    run(destination, context("v.jsonl", SyncMode.UPSERT, schema=SCHEMA), [_batch()])

    lines = (tmp_path / "v.jsonl").read_text().splitlines()
    assert [json.loads(line) for line in lines] == [
        {
            "id": 1,
            "text": "",
            "at": "2024-05-01T12:30:00.250000+00:00",
            "local": "2024-05-01T08:00:00.000000",
            "amount": "12.50",
            "payload": {"b": [1, 2], "a": {"c": None}},
            "flag": True,
            "day": "2024-05-01",
        },
        {
            "id": 2,
            "text": None,
            "at": None,
            "local": None,
            "amount": "-0.01",
            "payload": None,
            "flag": False,
            "day": None,
        },
        {
            "id": 3,
            "text": 'say "hi",\nthen go',
            "at": "2024-05-01T21:00:00.000000+00:00",
            "local": None,
            "amount": "99999999.99",
            "payload": [],
            "flag": None,
            "day": None,
        },
    ]


def test_jsonl_refuses_a_row_whose_json_field_is_not_json(tmp_path: Path) -> None:
    destination = JSONLinesDestination.from_config({"directory": str(tmp_path)})
    rows = [ROWS[0], {**ROWS[1], "payload": "{not json"}, ROWS[2]]
    [result] = run(destination, context("v.jsonl", SyncMode.UPSERT, schema=SCHEMA), [_batch(rows)])

    assert [(f.index, f.retryable) for f in result.failures] == [(1, False)]
    assert "payload" in result.failures[0].reason
    ids = [json.loads(line)["id"] for line in (tmp_path / "v.jsonl").read_text().splitlines()]
    assert ids == [1, 3]


def test_parquet_keeps_types_values_and_the_json_mark(tmp_path: Path) -> None:
    destination = ParquetDestination.from_config(
        {"directory": str(tmp_path), "compression": "snappy"}
    )
    run(destination, context("v.parquet", SyncMode.UPSERT, schema=SCHEMA), [_batch()])

    table = pq.read_table(tmp_path / "v.parquet")
    assert table.schema == SCHEMA
    assert table.schema.field("payload").metadata == {b"syncline.logical": b"json"}
    assert table.to_pylist() == pa.Table.from_pylist(ROWS, schema=SCHEMA).to_pylist()
    assert pq.ParquetFile(tmp_path / "v.parquet").metadata.row_group(0).column(0).compression == (
        "SNAPPY"
    )


def test_jsonl_bytes_of_a_sliced_batch_are_only_its_own_lines() -> None:
    from syncline.connectors.destinations.files.formats import JSONLinesFormat

    fmt = JSONLinesFormat()
    form = fmt.encode(pa.table({"id": [1, 2, 3, 4]})).form.slice(1, 2)

    assert fmt.append_bytes(form, new_file=False) == b'{"id":2}\n{"id":3}\n'


NESTED_SCHEMA = pa.schema(
    [
        pa.field("id", pa.int64()),
        pa.field("moments", pa.list_(pa.timestamp("us", "UTC"))),
        pa.field(
            "detail",
            pa.struct(
                [
                    ("amount", pa.decimal128(12, 2)),
                    ("raw", pa.binary()),
                    ("wait", pa.duration("us")),
                    ("day", pa.date32()),
                ]
            ),
        ),
        pa.field("prices", pa.map_(pa.string(), pa.decimal128(6, 2))),
    ]
)

NESTED_ROWS = [
    {"id": 1, "moments": [], "detail": None, "prices": []},
    {
        "id": 2,
        "moments": [dt.datetime(2024, 5, 1, 12, 30, 0, 250000, tzinfo=dt.UTC), None],
        "detail": {
            "amount": decimal.Decimal("12.50"),
            "raw": b"ab",
            "wait": dt.timedelta(seconds=5),
            "day": dt.date(2024, 5, 1),
        },
        "prices": [("a", decimal.Decimal("1.10")), ("b", None)],
    },
]


def _nested_batch() -> WriteBatch:
    # Sliced, as batches of a larger table are: nested offsets must follow the slice.
    padded = [{"id": 0, "moments": None, "detail": None, "prices": None}, *NESTED_ROWS]
    table = pa.Table.from_pylist(padded, schema=NESTED_SCHEMA).slice(1)
    return WriteBatch(WriteAction.UPSERT, table, ["1", "2"])


def test_csv_spells_values_inside_lists_structs_and_maps_as_in_their_own_column(
    tmp_path: Path,
) -> None:
    destination = CSVDestination.from_config({"directory": str(tmp_path)})
    ctx = context("n.csv", SyncMode.UPSERT, schema=NESTED_SCHEMA)
    run(destination, ctx, [_nested_batch()])

    table = pa_csv.read_csv(
        tmp_path / "n.csv",
        convert_options=pa_csv.ConvertOptions(column_types={"id": pa.int64()}),
    )
    cells = {row["id"]: row for row in table.to_pylist()}
    assert json.loads(cells[1]["moments"]) == []
    assert json.loads(cells[2]["moments"]) == ["2024-05-01T12:30:00.250000+00:00", None]
    assert json.loads(cells[2]["detail"]) == {
        "amount": "12.50",
        "raw": "YWI=",
        "wait": "PT5S",
        "day": "2024-05-01",
    }
    assert json.loads(cells[2]["prices"]) == {"a": "1.10", "b": None}


def test_jsonl_spells_values_inside_lists_structs_and_maps_as_in_their_own_column(
    tmp_path: Path,
) -> None:
    destination = JSONLinesDestination.from_config({"directory": str(tmp_path)})
    ctx = context("n.jsonl", SyncMode.UPSERT, schema=NESTED_SCHEMA)
    run(destination, ctx, [_nested_batch()])

    lines = [json.loads(line) for line in (tmp_path / "n.jsonl").read_text().splitlines()]
    assert lines == [
        {"id": 1, "moments": [], "detail": None, "prices": {}},
        {
            "id": 2,
            "moments": ["2024-05-01T12:30:00.250000+00:00", None],
            "detail": {"amount": "12.50", "raw": "YWI=", "wait": "PT5S", "day": "2024-05-01"},
            "prices": {"a": "1.10", "b": None},
        },
    ]


def test_tiny_and_zero_decimals_are_written_positionally_with_the_scale(
    tmp_path: Path,
) -> None:
    schema = pa.schema(
        [
            pa.field("id", pa.int64()),
            pa.field("amount", pa.decimal128(38, 18)),
            pa.field("amounts", pa.list_(pa.decimal128(38, 18))),
        ]
    )
    tiny, zero = decimal.Decimal("-0.000000000000000001"), decimal.Decimal(0)
    rows = pa.Table.from_pylist(
        [{"id": 1, "amount": tiny, "amounts": [zero]}, {"id": 2, "amount": zero, "amounts": []}],
        schema=schema,
    )
    batch = WriteBatch(WriteAction.UPSERT, rows, ["1", "2"])
    for destination, name in (
        (CSVDestination.from_config({"directory": str(tmp_path)}), "d.csv"),
        (JSONLinesDestination.from_config({"directory": str(tmp_path)}), "d.jsonl"),
    ):
        run(destination, context(name, SyncMode.UPSERT, schema=schema), [batch])

    zeros = "0.000000000000000000"
    assert (tmp_path / "d.csv").read_text().splitlines()[1:] == [
        f'"1","-0.000000000000000001","[""{zeros}""]"',
        f'"2","{zeros}","[]"',
    ]
    lines = (tmp_path / "d.jsonl").read_text().splitlines()
    assert [json.loads(line) for line in lines] == [
        {"id": 1, "amount": "-0.000000000000000001", "amounts": [zeros]},
        {"id": 2, "amount": zeros, "amounts": []},
    ]
