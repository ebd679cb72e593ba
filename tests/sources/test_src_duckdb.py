"""The DuckDB source on real .duckdb files, and on Parquet and CSV files through DuckDB SQL."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.csv
import pyarrow.parquet
import pytest

from syncline.connectors.sources.base import is_decimal_field, is_json_field
from syncline.connectors.sources.duckdb import DuckDBSource
from syncline.errors import TerminalError, TransientError


@pytest.fixture
def database(tmp_path: Path) -> Path:
    """A .duckdb file with one table of every type the source maps."""
    path = tmp_path / "models.duckdb"
    with duckdb.connect(str(path)) as connection:
        connection.execute("SET TimeZone = 'America/New_York'")
        connection.execute(
            """
            CREATE TABLE customers (
                id INTEGER PRIMARY KEY, name VARCHAR, price DECIMAL(12, 2),
                seen TIMESTAMPTZ, born TIMESTAMP, day DATE, active BOOLEAN,
                profile JSON, photo BLOB, big HUGEINT
            )
            """
        )
        connection.execute(
            """
            INSERT INTO customers VALUES
              (1, 'Zoë ✓', 1234567890.12, '2024-03-10 12:00:00+02', '2024-03-10 12:00:00',
               '2024-03-10', true, '{"tier": "gold"}', '\\x00\\xff'::BLOB, 12345678901234567890),
              (2, '', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
              (3, NULL, -0.01, '1999-12-31 23:59:59.123456+00', NULL, NULL, false, '[]', NULL, 0)
            """
        )
    return path


def test_reads_every_type_exactly(database: Path) -> None:
    source = DuckDBSource.from_config({"path": str(database)})

    batches = list(source.read("SELECT * FROM customers ORDER BY id"))
    table = pa.Table.from_batches(batches)

    assert table.schema.field("id").type == pa.int64()
    assert table.schema.field("price").type == pa.decimal128(12, 2)
    assert table.schema.field("seen").type == pa.timestamp("us", tz="UTC")
    assert table.schema.field("born").type == pa.timestamp("us")
    assert table.schema.field("day").type == pa.date32()
    assert is_json_field(table.schema.field("profile"))
    rows = table.to_pylist()
    assert rows[0]["name"] == "Zoë ✓"
    assert rows[1]["name"] == ""
    assert rows[2]["name"] is None
    assert rows[0]["price"] == Decimal("1234567890.12")
    assert rows[2]["price"] == Decimal("-0.01")
    assert rows[0]["seen"] == dt.datetime(2024, 3, 10, 10, tzinfo=dt.UTC)
    assert rows[2]["seen"] == dt.datetime(1999, 12, 31, 23, 59, 59, 123456, tzinfo=dt.UTC)
    assert rows[0]["born"] == dt.datetime(2024, 3, 10, 12)
    assert rows[0]["profile"] == '{"tier": "gold"}'
    assert rows[0]["photo"] == b"\x00\xff"
    # 128-bit integers travel as exact decimal text: no Arrow type holds all of them.
    assert is_decimal_field(table.schema.field("big"))
    assert rows[0]["big"] == "12345678901234567890"


@pytest.mark.parametrize(
    "expression",
    [
        f"{2**128 - 1}::UHUGEINT",
        f"{2**127 - 1}::HUGEINT",
        f"({-(2**127) + 1})::HUGEINT - 1",
        "0::UHUGEINT",
    ],
)
def test_128_bit_integer_extremes_read_exactly(expression: str) -> None:
    source = DuckDBSource.from_config({})
    query = f"SELECT {expression} AS v, 1 AS id"

    (batch,) = source.read(query)

    assert is_decimal_field(batch.schema.field("v"))
    assert batch.column(0).to_pylist() == [str(duckdb.sql(f"SELECT {expression}").fetchone()[0])]
    described = source.describe(query)
    assert [c.name for c in described] == ["v", "id"]
    assert described[0].type.upper() in ("HUGEINT", "UHUGEINT")


def test_describe_matches_read_and_reads_no_rows(database: Path) -> None:
    source = DuckDBSource.from_config({"path": str(database)})
    query = "SELECT id, price, seen, profile FROM customers"

    columns = source.describe(query)
    read_schema = next(iter(source.read(query))).schema

    assert [c.name for c in columns] == ["id", "price", "seen", "profile"]
    assert [c.type for c in columns] == [
        "INTEGER",
        "DECIMAL(12,2)",
        "TIMESTAMP WITH TIME ZONE",
        "JSON",
    ]
    assert pa.schema([c.field() for c in columns]).equals(read_schema, check_metadata=True)


def test_large_result_arrives_in_batches_of_batch_rows(database: Path) -> None:
    source = DuckDBSource.from_config({})

    sizes = [
        b.num_rows for b in source.read("SELECT range AS n FROM range(25000)", batch_rows=10_000)
    ]

    assert sizes == [10_000, 10_000, 5_000]


def test_empty_result_yields_no_batches_but_describe_gives_schema(database: Path) -> None:
    source = DuckDBSource.from_config({"path": str(database)})
    query = "SELECT id, name FROM customers WHERE id < 0"

    assert list(source.read(query)) == []
    assert [c.arrow_type for c in source.describe(query)] == [pa.int64(), pa.string()]


def test_in_memory_source_reads_parquet_and_csv_files(tmp_path: Path) -> None:
    table = pa.table({"id": [1, 2, 3], "email": ["a@x.io", None, "c@x.io"]})
    pyarrow.parquet.write_table(table, tmp_path / "people.parquet")
    pyarrow.csv.write_csv(table, tmp_path / "people.csv")
    source = DuckDBSource.from_config({})

    from_parquet = source.read(f"SELECT * FROM read_parquet('{tmp_path / 'people.parquet'}')")
    from_csv = source.read(f"SELECT * FROM read_csv('{tmp_path / 'people.csv'}') ORDER BY id")

    assert pa.Table.from_batches(list(from_parquet)).to_pylist() == table.to_pylist()
    assert pa.Table.from_batches(list(from_csv)).to_pylist() == table.to_pylist()


def test_read_only_by_default_so_models_cannot_write(database: Path) -> None:
    source = DuckDBSource.from_config({"path": str(database)})

    # Refused before DuckDB runs it; the read-only connection would refuse it as well.
    with pytest.raises(TerminalError, match="one SELECT query; DuckDB reads it as: DELETE"):
        list(source.read("DELETE FROM customers RETURNING id"))


def test_bad_sql_and_unknown_table_are_terminal(database: Path) -> None:
    source = DuckDBSource.from_config({"path": str(database)})

    with pytest.raises(TerminalError, match="syntax error"):
        source.describe("SELEC 1")
    with pytest.raises(TerminalError, match="nope"):
        list(source.read("SELECT * FROM nope"))


def test_missing_file_is_terminal_naming_the_path_setting(tmp_path: Path) -> None:
    source = DuckDBSource.from_config({"path": str(tmp_path / "absent.duckdb")})

    with pytest.raises(TerminalError, match="'path'"):
        source.test()


def test_file_locked_by_a_writer_is_transient(database: Path) -> None:
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('ready', flush=True);"
            " time.sleep(30)",
            str(database),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None
    try:
        assert holder.stdout.readline().strip() == "ready"
        started = time.monotonic()

        with pytest.raises(TransientError, match="locked"):
            DuckDBSource.from_config({"path": str(database)}).test()

        assert time.monotonic() - started < 10
    finally:
        holder.kill()
        holder.wait()
        holder.stdout.close()


def test_describe_does_not_run_the_query() -> None:
    source = DuckDBSource.from_config({})
    query = "SELECT error('boom') AS broken"

    assert [c.name for c in source.describe(query)] == ["broken"]
    with pytest.raises(TerminalError, match="boom"):
        list(source.read(query))


@pytest.mark.parametrize(
    "query",
    ["SELECT 1 AS a;", "SELECT 1 AS a; -- the answer", "SELECT 1 AS a ; ; /* the answer */"],
)
def test_trailing_semicolons_and_comments_are_taken_by_duckdb_itself(query: str) -> None:
    # DuckDB's own statement splitter reads the SQL, so this source needs no stripping.
    source = DuckDBSource.from_config({})

    assert [c.name for c in source.describe(query)] == ["a"]
    assert [b.num_rows for b in source.read(query)] == [1]


def test_confined_reads_of_one_file_run_side_by_side_in_one_process(database: Path) -> None:
    # DuckDB shares one instance per file within a process, and the sandbox locks that
    # instance's configuration: later connections must find it confined, not fail to SET.
    source = DuckDBSource.from_config({"path": str(database)})
    source.confine_files([database.parent])
    results: list[object] = []

    def read() -> None:
        try:
            batches = list(source.read("SELECT count(*) AS n FROM customers"))
            results.append(batches[0].column("n")[0].as_py())
        except Exception as exc:  # noqa: BLE001 - the test reports every failure
            results.append(exc)

    with ThreadPoolExecutor(max_workers=4) as pool:
        for _ in range(8):
            pool.submit(read)

    assert results == [3] * 8


def test_a_shared_instance_keeps_the_sandbox(database: Path, tmp_path: Path) -> None:
    outside = tmp_path.parent / f"{tmp_path.name}-outside.csv"
    outside.write_text("a\n1\n")
    source = DuckDBSource.from_config({"path": str(database)})
    source.confine_files([database.parent])
    first = source.read("SELECT 1")
    next(first)  # holds a connection open, so the next one shares its instance

    try:
        with pytest.raises(TerminalError, match="Permission Error"):
            list(source.read(f"SELECT * FROM read_csv('{outside}')"))
    finally:
        first.close()
        outside.unlink()


_INTERRUPTED_READS = """
import os, signal, sys, threading, time
from syncline.connectors.sources.duckdb import DuckDBSource

source = DuckDBSource.from_config({"path": sys.argv[1]})
# The window needs every row before the first comes out: DuckDB works inside one call.
query = "SELECT x, count(*) OVER () AS n FROM range(40000000000) t(x) WHERE hash(x) % 1000 = 0"
for attempt in range(3):
    threading.Timer(0.5 + attempt / 2, lambda: os.kill(os.getpid(), signal.SIGINT)).start()
    started = time.monotonic()
    try:
        for _ in source.read(query):
            pass
    except KeyboardInterrupt:
        print(f"stopped after {time.monotonic() - started:.1f} s", flush=True)
"""


def test_ctrl_c_stops_a_read_that_has_not_yet_given_its_first_row(database: Path) -> None:
    finished = subprocess.run(
        [sys.executable, "-c", _INTERRUPTED_READS, str(database)],
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert finished.returncode == 0, finished.stderr
    assert finished.stdout.count("stopped after") == 3, finished.stdout
