"""The MySQL source against the real MariaDB server on 127.0.0.1:3306, in a database of its own."""

from __future__ import annotations

import datetime as dt
import time
import uuid
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pytest
from source_helpers import closed_port, mysql_admin, mysql_run

from syncline.connectors.sources.base import is_json_field
from syncline.connectors.sources.mysql import MySQLSource
from syncline.errors import TerminalError, TransientError

pytestmark = pytest.mark.mariadb

TYPES_TABLE = """
CREATE TABLE accounts (
    id BIGINT PRIMARY KEY, tiny TINYINT, name VARCHAR(40), bio TEXT,
    balance DECIMAL(14, 4), credit DECIMAL(10, 2) UNSIGNED, big BIGINT UNSIGNED,
    opened TIMESTAMP NULL, local_time DATETIME(6), day DATE, settings JSON, avatar BLOB,
    flags BIT(4), score DOUBLE, kind ENUM('a', 'b')
)
"""

TYPES_ROWS = """
INSERT INTO accounts VALUES
  (1, -5, 'Ünïcødé ☃ 𝄞', 'long', 1234567890.1234, 99999999.99, 18446744073709551615,
   '2024-06-01 10:00:00', '2024-06-01 12:00:00.500000', '2024-06-01',
   '{"b": 1, "a": [true, null]}', X'DEADBEEF', b'1010', 1.5, 'b'),
  (2, NULL, '', '', -0.0001, 0, 0, NULL, NULL, NULL, 'null', X'', NULL, NULL, NULL),
  (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)
"""


@pytest.fixture(scope="module")
def config(mysql_config: dict[str, Any]) -> dict[str, Any]:
    """The module's database with one table of many types and one of many rows."""
    mysql_run(
        mysql_config,
        TYPES_TABLE,
        TYPES_ROWS,
        "CREATE TABLE numbers (n INT PRIMARY KEY)",
        "INSERT INTO numbers SELECT seq FROM seq_1_to_120000",
    )
    return mysql_config


def test_reads_types_exactly(config: dict[str, Any]) -> None:
    source = MySQLSource.from_config(config)

    table = pa.Table.from_batches(list(source.read("SELECT * FROM accounts ORDER BY id")))

    schema = table.schema
    assert schema.field("id").type == pa.int64()
    assert schema.field("tiny").type == pa.int64()
    assert schema.field("balance").type == pa.decimal128(14, 4)
    assert schema.field("credit").type == pa.decimal128(10, 2)
    assert schema.field("big").type == pa.uint64()
    assert schema.field("opened").type == pa.timestamp("us", tz="UTC")
    assert schema.field("local_time").type == pa.timestamp("us")
    assert schema.field("day").type == pa.date32()
    assert schema.field("avatar").type == pa.binary()
    assert is_json_field(schema.field("settings"))
    assert not is_json_field(schema.field("bio"))

    first, second, third = table.to_pylist()
    assert first["name"] == "Ünïcødé ☃ 𝄞"
    assert (second["name"], third["name"]) == ("", None)
    assert first["balance"] == Decimal("1234567890.1234")
    assert second["balance"] == Decimal("-0.0001")
    assert first["credit"] == Decimal("99999999.99")
    assert first["big"] == 2**64 - 1
    assert first["opened"] == dt.datetime(2024, 6, 1, 10, tzinfo=dt.UTC)
    assert first["local_time"] == dt.datetime(2024, 6, 1, 12, 0, 0, 500000)
    assert first["settings"] == '{"b": 1, "a": [true, null]}'
    assert second["settings"] == "null"
    assert third["settings"] is None
    assert (first["avatar"], second["avatar"]) == (b"\xde\xad\xbe\xef", b"")
    assert first["flags"] == 0b1010
    assert first["kind"] == "b"


def test_decimals_wider_than_28_digits_are_read_exactly(config: dict[str, Any]) -> None:
    source = MySQLSource.from_config(config)
    query = (
        "SELECT CAST(12345678901234567890123456789 AS DECIMAL(29, 0)) AS d29, "
        "CAST('12345678901234567890.0123456789' AS DECIMAL(30, 10)) AS d30, "
        "CAST('-12345678901234567890123456.789012345678' AS DECIMAL(38, 12)) AS d38, "
        "CAST(1 AS DECIMAL(65, 30)) AS d65"
    )

    table = pa.Table.from_batches(list(source.read(query)))

    assert table.schema.field("d29").type == pa.decimal128(29, 0)
    assert table.to_pylist() == [
        {
            "d29": Decimal("12345678901234567890123456789"),
            "d30": Decimal("12345678901234567890.0123456789"),
            "d38": Decimal("-12345678901234567890123456.789012345678"),
            "d65": "1.000000000000000000000000000000",
        }
    ]


def test_timestamp_is_read_in_utc_whatever_the_server_zone(config: dict[str, Any]) -> None:
    source = MySQLSource.from_config(config)

    rows = pa.Table.from_batches(
        list(
            source.read("SELECT opened, UNIX_TIMESTAMP(opened) AS epoch FROM accounts WHERE id = 1")
        )
    ).to_pylist()

    assert rows[0]["opened"].timestamp() == float(rows[0]["epoch"])


def test_describe_gives_the_read_schema_without_rows(config: dict[str, Any]) -> None:
    source = MySQLSource.from_config(config)
    query = "SELECT id, balance, credit, settings, bio FROM accounts"

    columns = source.describe(query)

    assert [c.type for c in columns] == [
        "bigint",
        "decimal(14,4)",
        "decimal(10,2) unsigned",
        "json",
        "text",
    ]
    batch = next(iter(source.read(query)))
    assert pa.schema([c.field() for c in columns]).equals(batch.schema, check_metadata=True)


def test_describe_shows_the_sizes_of_text_and_time_types(config: dict[str, Any]) -> None:
    mysql_run(
        config,
        "CREATE TABLE sized (id INT PRIMARY KEY, v VARCHAR(20), c CHAR(3), b VARBINARY(7), "
        "t TIMESTAMP(3) NULL, d DATETIME, tm TIME(2))",
    )
    source = MySQLSource.from_config(config)

    columns = source.describe("SELECT v, c, b, t, d, tm FROM sized")

    assert [c.type for c in columns] == [
        "varchar(20)",
        "char(3)",
        "varbinary(7)",
        "timestamp(3)",
        "datetime",
        "time(2)",
    ]


def test_empty_result_yields_no_batches(config: dict[str, Any]) -> None:
    source = MySQLSource.from_config(config)
    query = "SELECT id, settings FROM accounts WHERE id < 0"

    assert list(source.read(query)) == []
    assert [c.logical for c in source.describe(query)] == [None, "json"]


def test_large_result_arrives_in_batches_of_batch_rows(config: dict[str, Any]) -> None:
    source = MySQLSource.from_config(config)

    batches = list(source.read("SELECT n FROM numbers ORDER BY n", batch_rows=50_000))

    assert [b.num_rows for b in batches] == [50_000, 50_000, 20_000]
    assert pa.Table.from_batches(batches).column("n").to_pylist() == list(range(1, 120_001))


def test_stopping_early_does_not_read_the_rest(config: dict[str, Any]) -> None:
    source = MySQLSource.from_config(config)
    query = "SELECT a.n FROM numbers a CROSS JOIN numbers b"  # 14.4 billion rows
    started = time.monotonic()

    reader = source.read(query, batch_rows=1_000)
    first = next(reader)
    reader.close()

    assert first.num_rows == 1_000
    assert time.monotonic() - started < 10


def test_wrong_password_is_terminal_and_never_shown(config: dict[str, Any]) -> None:
    user = f"syncline_{uuid.uuid4().hex[:8]}"
    with mysql_admin() as admin, admin.cursor() as cursor:
        cursor.execute(f"CREATE USER '{user}'@'%' IDENTIFIED BY 'right-Pass-1'")
        cursor.execute(f"CREATE USER '{user}'@'localhost' IDENTIFIED BY 'right-Pass-1'")
        for host in ("%", "localhost"):
            cursor.execute(f"GRANT SELECT ON `{config['database']}`.* TO '{user}'@'{host}'")
    try:
        MySQLSource.from_config({**config, "user": user, "password": "right-Pass-1"}).test()
        source = MySQLSource.from_config({**config, "user": user, "password": "Wrong-Pass-42"})

        with pytest.raises(TerminalError) as caught:
            source.test()
    finally:
        with mysql_admin() as admin, admin.cursor() as cursor:
            cursor.execute(f"DROP USER IF EXISTS '{user}'@'%'")
            cursor.execute(f"DROP USER IF EXISTS '{user}'@'localhost'")

    message = str(caught.value)
    assert user in message
    assert "'password'" in message
    assert "Wrong-Pass-42" not in message


def test_refused_port_is_transient(config: dict[str, Any]) -> None:
    source = MySQLSource.from_config({**config, "port": closed_port()})

    with pytest.raises(TransientError, match="refused"):
        source.test()


def test_unknown_database_is_terminal_naming_the_setting(config: dict[str, Any]) -> None:
    with pytest.raises(TerminalError, match="'database'"):
        MySQLSource.from_config({**config, "database": "syncline_absent_db"}).test()


def test_bad_sql_and_unknown_table_are_terminal(config: dict[str, Any]) -> None:
    source = MySQLSource.from_config(config)

    with pytest.raises(TerminalError, match="SQL syntax"):
        source.describe("SELEC 1")
    with pytest.raises(TerminalError, match="nope' doesn't exist"):
        list(source.read("SELECT * FROM nope"))


def test_table_models_quote_with_backticks(config: dict[str, Any]) -> None:
    source = MySQLSource.from_config(config)

    query = source.table_query(f"{config['database']}.numbers")
    total = sum(batch.num_rows for batch in source.read(query))

    assert query.startswith("SELECT * FROM `")
    assert total == 120_000


def test_statement_without_result_columns_is_terminal(config: dict[str, Any]) -> None:
    with pytest.raises(TerminalError, match="no columns"):
        MySQLSource.from_config(config).describe("DO 1")


@pytest.mark.parametrize(
    "query",
    [
        "SELECT 1 AS a;",
        "SELECT 1 AS a; -- the answer",
        # The server itself refuses these two, which the source sends without their tail.
        "SELECT 1 AS a ; ; # the answer",
        "SELECT 1 AS a ; ; -- the answer",
        "SELECT 1 AS a -- the answer\n;",
    ],
)
def test_trailing_semicolons_and_comments_are_accepted(config: dict[str, Any], query: str) -> None:
    source = MySQLSource.from_config(config)

    assert [c.name for c in source.describe(query)] == ["a"]
    assert [b.num_rows for b in source.read(query)] == [1]


def test_a_semicolon_in_quotes_stays_and_a_second_statement_is_refused(
    config: dict[str, Any],
) -> None:
    source = MySQLSource.from_config(config)

    quoted = "SELECT 'it\\'s;' AS `a;`, \"b;\" AS b; # x"
    rows = pa.Table.from_batches(list(source.read(quoted))).to_pylist()
    with pytest.raises(TerminalError) as caught:
        source.describe("SELECT 1 AS a; # one\nSELECT 2")

    assert rows == [{"a;": "it's;", "b": "b;"}]
    message = str(caught.value)
    assert "second statement after its ';' (line 2: 'SELECT 2')" in message
    assert "remove the second statement" in message
