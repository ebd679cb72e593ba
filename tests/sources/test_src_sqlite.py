"""The SQLite source on real SQLite files: declared types, inference, batching, errors."""

from __future__ import annotations

import datetime as dt
import sqlite3
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest

from syncline.connectors.sources.base import is_json_field
from syncline.connectors.sources.sqlite import SQLiteSource
from syncline.errors import TerminalError


@pytest.fixture
def database(tmp_path: Path) -> Path:
    """A SQLite file with declared types of every kind the source maps."""
    path = tmp_path / "shop.db"
    with sqlite3.connect(path) as connection:
        connection.execute(
            """
            CREATE TABLE orders (
                id INTEGER PRIMARY KEY, email TEXT, total DECIMAL(10, 2), amount NUMERIC,
                placed_at TIMESTAMP, paid_at TIMESTAMPTZ, ship_on DATE, gift BOOLEAN,
                meta JSON, receipt BLOB, score REAL
            )
            """
        )
        connection.executemany(
            "INSERT INTO orders VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (1, "ä@x.io", 19.99, 7, "2024-01-02 03:04:05", "2024-01-02T03:04:05+02:00",
                 "2024-01-05", 1, '{"a": [1, 2]}', b"\x01\x02", 0.5),
                (2, "", None, None, None, None, None, 0, None, None, None),
                (3, None, 0.1, 2.5, "2024-01-02T03:04:05.250000", "2024-01-02 01:04:05",
                 "2024-01-06", None, "{}", b"", -1),
            ],
        )  # fmt: skip
        connection.executemany(
            "INSERT INTO orders (id, email) VALUES (?, ?)",
            [(n, f"{n}@x.io") for n in range(4, 1001)],
        )
    connection.close()
    return path


def test_declared_types_map_to_exact_arrow_types(database: Path) -> None:
    source = SQLiteSource.from_config({"path": str(database)})

    table = pa.Table.from_batches(list(source.read("SELECT * FROM orders WHERE id <= 3")))

    schema = table.schema
    assert schema.field("id").type == pa.int64()
    assert schema.field("total").type == pa.decimal128(10, 2)
    assert schema.field("amount").type == pa.string()
    assert schema.field("placed_at").type == pa.timestamp("us")
    assert schema.field("paid_at").type == pa.timestamp("us", tz="UTC")
    assert schema.field("ship_on").type == pa.date32()
    assert schema.field("gift").type == pa.bool_()
    assert is_json_field(schema.field("meta"))
    assert schema.field("receipt").type == pa.binary()
    assert schema.field("score").type == pa.float64()

    first, second, third = table.to_pylist()
    assert first["email"] == "ä@x.io"
    assert second["email"] == ""
    assert third["email"] is None
    assert first["total"] == Decimal("19.99")
    assert third["total"] == Decimal("0.10")
    assert first["amount"] == "7"
    assert first["paid_at"] == dt.datetime(2024, 1, 2, 1, 4, 5, tzinfo=dt.UTC)
    assert third["paid_at"] == dt.datetime(2024, 1, 2, 1, 4, 5, tzinfo=dt.UTC)
    assert third["placed_at"] == dt.datetime(2024, 1, 2, 3, 4, 5, 250000)
    assert (first["gift"], second["gift"], third["gift"]) == (True, False, None)
    assert first["meta"] == '{"a": [1, 2]}'
    assert third["score"] == -1.0


def test_undeclared_columns_are_inferred_the_same_in_describe_and_read(database: Path) -> None:
    source = SQLiteSource.from_config({"path": str(database)})
    query = "SELECT id, id * 2 AS twice, upper(email) AS shout, NULL AS blank FROM orders;"

    columns = source.describe(query)
    batches = list(source.read(query, batch_rows=300))

    assert [(c.name, c.arrow_type) for c in columns] == [
        ("id", pa.int64()),
        ("twice", pa.int64()),
        ("shout", pa.string()),
        ("blank", pa.string()),
    ]
    assert all(b.schema == pa.schema([c.field() for c in columns]) for b in batches)


def test_result_larger_than_batch_rows_arrives_in_several_batches(database: Path) -> None:
    source = SQLiteSource.from_config({"path": str(database)})

    batches = list(source.read("SELECT id FROM orders ORDER BY id", batch_rows=300))

    assert [b.num_rows for b in batches] == [300, 300, 300, 100]
    assert pa.Table.from_batches(batches).column("id").to_pylist() == list(range(1, 1001))


def test_empty_result_yields_nothing_and_describe_still_types_it(database: Path) -> None:
    source = SQLiteSource.from_config({"path": str(database)})
    query = "SELECT id, total, meta FROM orders WHERE id < 0"

    assert list(source.read(query)) == []
    columns = source.describe(query)
    assert [c.arrow_type for c in columns] == [pa.int64(), pa.decimal128(10, 2), pa.string()]
    assert columns[2].logical == "json"


def test_file_is_opened_read_only(database: Path) -> None:
    source = SQLiteSource.from_config({"path": str(database)})

    with pytest.raises(TerminalError, match="readonly"):
        list(source.read("DELETE FROM orders RETURNING id"))


def test_missing_file_and_bad_sql_are_terminal(tmp_path: Path, database: Path) -> None:
    with pytest.raises(TerminalError, match="'path'"):
        SQLiteSource.from_config({"path": str(tmp_path / "absent.db")}).test()

    source = SQLiteSource.from_config({"path": str(database)})
    with pytest.raises(TerminalError, match="syntax error"):
        source.describe("SELEC id FROM orders")
    with pytest.raises(TerminalError, match="no such table: nope"):
        list(source.read("SELECT * FROM nope"))


def test_value_breaking_the_declared_type_fails_naming_the_column(tmp_path: Path) -> None:
    path = tmp_path / "loose.db"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE t (n INTEGER)")
        connection.execute("INSERT INTO t VALUES ('not a number')")
    connection.close()

    with pytest.raises(TerminalError, match="'n'.*CAST"):
        list(SQLiteSource.from_config({"path": str(path)}).read("SELECT n FROM t"))


@pytest.mark.parametrize(
    "query",
    [
        "SELECT id, email FROM orders;",
        "SELECT id, email FROM orders; -- first two",
        "SELECT id, email FROM orders ; ; -- first two",
        "SELECT id, email FROM orders -- first; two\n;",
    ],
)
def test_trailing_semicolons_and_comments_keep_the_declared_types(
    database: Path, query: str
) -> None:
    source = SQLiteSource.from_config({"path": str(database)})

    assert [(c.name, c.type) for c in source.describe(query)] == [
        ("id", "INTEGER"),
        ("email", "TEXT"),
    ]
    assert sum(b.num_rows for b in source.read(query)) == sum(
        b.num_rows for b in source.read("SELECT id, email FROM orders")
    )


def test_a_semicolon_in_quotes_stays_and_a_second_statement_is_refused(database: Path) -> None:
    source = SQLiteSource.from_config({"path": str(database)})

    quoted = "SELECT ';' AS \"a;\", [b;].id FROM orders AS [b;] WHERE id = 1; -- x"
    rows = pa.Table.from_batches(list(source.read(quoted))).to_pylist()
    with pytest.raises(TerminalError) as caught:
        source.describe("SELECT id FROM orders; DELETE FROM orders")

    assert rows == [{"a;": ";", "id": 1}]
    message = str(caught.value)
    assert "second statement after its ';' (line 1: 'DELETE FROM orders')" in message
    assert "remove the second statement" in message


def _file_with(tmp_path: Path, declared: str, *values: object) -> SQLiteSource:
    """A source on a new file whose table ``t`` holds ``values`` in column ``v declared``."""
    path = tmp_path / "values.db"
    with sqlite3.connect(path) as connection:
        connection.execute(f"CREATE TABLE t (id INTEGER PRIMARY KEY, v {declared})")
        connection.executemany("INSERT INTO t (v) VALUES (?)", [(value,) for value in values])
    connection.close()
    return SQLiteSource.from_config({"path": str(path)})


def test_boolean_column_reads_the_integers_0_and_1_exactly(tmp_path: Path) -> None:
    source = _file_with(tmp_path, "BOOLEAN", 1, 0, None)

    table = pa.Table.from_batches(list(source.read("SELECT v FROM t ORDER BY id")))

    assert table.schema.field("v").type == pa.bool_()
    assert table.column("v").to_pylist() == [True, False, None]


@pytest.mark.parametrize("value", ["false", "no", "f", "true", 2, -1, 0.5])
def test_boolean_column_holding_anything_but_0_or_1_fails_naming_the_column(
    tmp_path: Path, value: object
) -> None:
    # SQLite itself reads the text 'true' as 0 in a boolean test, so no text is a boolean.
    source = _file_with(tmp_path, "BOOLEAN", 1, value)

    with pytest.raises(TerminalError) as caught:
        list(source.read("SELECT v FROM t"))

    message = str(caught.value)
    assert "column 'v' (BOOLEAN)" in message
    assert "integers 0 and 1" in message


@pytest.mark.parametrize("value", [12.345, 1.005, "12.345", 0.30000000000000004])
def test_decimal_value_beyond_the_declared_scale_fails_instead_of_rounding(
    tmp_path: Path, value: object
) -> None:
    source = _file_with(tmp_path, "DECIMAL(10, 2)", 2.5, value)

    with pytest.raises(TerminalError) as caught:
        list(source.read("SELECT v FROM t"))

    message = str(caught.value)
    assert "column 'v' (DECIMAL(10, 2))" in message
    assert "more than 2 digits after the point" in message


def test_decimal_values_within_the_declared_scale_are_exact(tmp_path: Path) -> None:
    source = _file_with(tmp_path, "DECIMAL(10, 2)", 2.5, 3, "7.1", 12.34, 1.005e2)

    table = pa.Table.from_batches(list(source.read("SELECT v FROM t ORDER BY id")))

    assert table.column("v").to_pylist() == [
        Decimal("2.50"),
        Decimal("3.00"),
        Decimal("7.10"),
        Decimal("12.34"),
        Decimal("100.50"),
    ]
