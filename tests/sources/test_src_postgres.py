"""The PostgreSQL source against the real server on 127.0.0.1:5432, in a database of its own."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from source_helpers import RejectingPostgres, closed_port, pg_run

from syncline.connectors.sources.base import is_json_field
from syncline.connectors.sources.postgres import PostgresSource
from syncline.errors import TerminalError, TransientError, ValidationError

pytestmark = pytest.mark.postgres

TYPES_TABLE = """
CREATE TABLE sales.accounts (
    id bigint PRIMARY KEY, small smallint, name text, code varchar(8),
    balance numeric(14, 4), ratio numeric, opened timestamptz, local_time timestamp,
    day date, active boolean, settings jsonb, raw json, avatar bytea, ref uuid, score float8
)
"""

TYPES_ROWS = """
INSERT INTO sales.accounts VALUES
  (1, 7, 'Ünïcødé ☃', 'A1', 1234567890.1234, 0.000000000000000000012345,
   '2024-06-01 12:00:00+02', '2024-06-01 12:00:00.5', '2024-06-01', true,
   '{"b": 1, "a": [true, null]}', '{"z":1,  "y":2}', '\\xdeadbeef',
   'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', 1.5),
  (2, NULL, '', NULL, -0.0001, NULL, NULL, NULL, NULL, false, 'null', NULL, '\\x', NULL, NULL),
  (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)
"""


@pytest.fixture(scope="module")
def config(pg_config: dict[str, Any]) -> dict[str, Any]:
    """The module's database with a ``sales`` schema holding one table of many types."""
    pg_run(pg_config, "CREATE SCHEMA sales", TYPES_TABLE, TYPES_ROWS)
    return pg_config


def test_reads_types_exactly(config: dict[str, Any]) -> None:
    source = PostgresSource.from_config(config)

    table = pa.Table.from_batches(list(source.read("SELECT * FROM sales.accounts ORDER BY id")))

    schema = table.schema
    assert schema.field("id").type == pa.int64()
    assert schema.field("small").type == pa.int64()
    assert schema.field("balance").type == pa.decimal128(14, 4)
    assert schema.field("ratio").type == pa.string()
    assert schema.field("opened").type == pa.timestamp("us", tz="UTC")
    assert schema.field("local_time").type == pa.timestamp("us")
    assert schema.field("day").type == pa.date32()
    assert schema.field("avatar").type == pa.binary()
    assert schema.field("ref").type == pa.string()
    assert is_json_field(schema.field("settings"))
    assert is_json_field(schema.field("raw"))
    assert not is_json_field(schema.field("name"))

    first, second, third = table.to_pylist()
    assert first["name"] == "Ünïcødé ☃"
    assert second["name"] == ""
    assert third["name"] is None
    assert first["balance"] == Decimal("1234567890.1234")
    assert second["balance"] == Decimal("-0.0001")
    assert first["ratio"] == "0.000000000000000000012345"
    assert first["opened"] == dt.datetime(2024, 6, 1, 10, tzinfo=dt.UTC)
    assert first["local_time"] == dt.datetime(2024, 6, 1, 12, 0, 0, 500000)
    assert json.loads(first["settings"]) == {"a": [True, None], "b": 1}
    assert first["raw"] == '{"z":1,  "y":2}'
    assert second["settings"] == "null"
    assert third["settings"] is None
    assert first["avatar"] == b"\xde\xad\xbe\xef"
    assert second["avatar"] == b""
    assert first["ref"] == "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"
    assert (first["active"], second["active"], third["active"]) == (True, False, None)


def test_describe_gives_the_read_schema_without_rows(config: dict[str, Any]) -> None:
    source = PostgresSource.from_config(config)
    query = "SELECT id, balance, opened, settings FROM sales.accounts WHERE false"

    columns = source.describe(query)

    assert [c.type for c in columns] == ["int8", "numeric(14,4)", "timestamptz", "jsonb"]
    assert [c.logical for c in columns] == [None, None, None, "json"]
    assert list(source.read(query)) == []
    full = next(iter(source.read(query.replace("WHERE false", ""))))
    assert pa.schema([c.field() for c in columns]).equals(full.schema, check_metadata=True)


def test_describe_shows_the_sizes_of_sized_types(config: dict[str, Any]) -> None:
    source = PostgresSource.from_config(config)
    query = (
        "SELECT CAST('a' AS varchar(20)) AS v, CAST('b' AS char(3)) AS c, "
        "CAST(now() AS timestamp(3)) AS t, CAST(now() AS timestamptz(0)) AS tz, "
        "CAST('a' AS varchar) AS unsized, CAST(1.5 AS numeric(5,1)) AS n"
    )

    columns = source.describe(query)

    assert [c.type for c in columns] == [
        "varchar(20)",
        "bpchar(3)",
        "timestamp(3)",
        "timestamptz(0)",
        "varchar",
        "numeric(5,1)",
    ]


def test_schema_setting_sets_the_search_path(config: dict[str, Any]) -> None:
    source = PostgresSource.from_config({**config, "schema": "sales"})
    source.test()

    rows = pa.Table.from_batches(list(source.read("SELECT count(*) AS n FROM accounts")))

    assert rows.to_pylist() == [{"n": 3}]


def read_only_setting(source: PostgresSource) -> str:
    rows = pa.Table.from_batches(
        list(source.read("SELECT current_setting('default_transaction_read_only') AS ro"))
    )
    return str(rows.to_pylist()[0]["ro"])


@pytest.mark.parametrize("separator", [" ", "\t", "\n", "\r", "\v", "\f"])
def test_schema_cannot_add_server_settings_to_the_session(
    config: dict[str, Any], separator: str
) -> None:
    schema = separator.join(["public", "-c", "default_transaction_read_only=off"])
    parsed = PostgresSource.from_config(config).config
    # Past validation (which refuses control characters), escaping alone keeps the
    # schema one word of the session's options: the server gets it whole as the
    # search_path, which it refuses, rather than as a setting of its own.
    source = PostgresSource(parsed.model_copy(update={"schema_name": schema}))
    if separator == "\v":
        # The one whitespace a search_path may hold inside a name: the session starts.
        assert read_only_setting(source) == "on"
        return
    with pytest.raises(TerminalError, match='invalid value for parameter "search_path"'):
        read_only_setting(source)


def test_schema_with_a_backslash_keeps_the_session_read_only(config: dict[str, Any]) -> None:
    schema = "odd\\name"
    pg_run(config, f'CREATE SCHEMA "{schema}"', f'CREATE TABLE "{schema}".t (x int)')
    source = PostgresSource.from_config({**config, "schema": schema})
    source.test()
    assert read_only_setting(source) == "on"
    rows = pa.Table.from_batches(list(source.read("SELECT count(*) AS n FROM t")))
    assert rows.to_pylist() == [{"n": 0}]


def test_schema_and_planner_schema_refuse_control_characters(config: dict[str, Any]) -> None:
    for setting in ("schema", "plannerSchema"):
        with pytest.raises(ValidationError, match="control characters"):
            PostgresSource.from_config({**config, setting: "public\t-c\tx=y"})


@pytest.mark.parametrize("name", ["pg_temp", "pg_catalog", "pg_mine"])
def test_planner_schema_refuses_names_postgresql_reserves(
    config: dict[str, Any], name: str
) -> None:
    with pytest.raises(ValidationError, match="reserved by PostgreSQL"):
        PostgresSource.from_config({**config, "planner": "warehouse", "plannerSchema": name})


@pytest.mark.parametrize("name", ["p" * 64, "é" * 32])
def test_planner_schema_refuses_names_postgresql_would_truncate(
    config: dict[str, Any], name: str
) -> None:
    # PostgreSQL would create the schema under the name's first 63 bytes, then find no
    # schema by the whole name; "é" * 32 is 32 characters but 64 bytes.
    with pytest.raises(ValidationError, match="63 bytes"):
        PostgresSource.from_config({**config, "planner": "warehouse", "plannerSchema": name})
    PostgresSource.from_config({**config, "planner": "warehouse", "plannerSchema": "p" * 63})


def test_missing_schema_fails_the_connection_test(config: dict[str, Any]) -> None:
    with pytest.raises(TerminalError, match="schema 'nowhere'.*'schema'"):
        PostgresSource.from_config({**config, "schema": "nowhere"}).test()


def test_large_result_arrives_in_batches_of_batch_rows(config: dict[str, Any]) -> None:
    source = PostgresSource.from_config(config)

    batches = list(source.read("SELECT g FROM generate_series(1, 250000) AS g", batch_rows=100_000))

    assert [b.num_rows for b in batches] == [100_000, 100_000, 50_000]
    assert sum(pa.compute.sum(b.column("g")).as_py() for b in batches) == 250000 * 250001 // 2


def test_unknown_user_is_terminal_and_never_shows_the_password(config: dict[str, Any]) -> None:
    # The server trusts loopback logins, so a wrong password alone is accepted; an unknown
    # role is the login failure this server can produce.
    source = PostgresSource.from_config(
        {**config, "user": "syncline_nobody", "password": "Pa55-word-that-must-not-leak"}
    )

    with pytest.raises(TerminalError) as caught:
        source.test()

    message = str(caught.value)
    assert "syncline_nobody" in message
    assert "'password'" in message
    assert "Pa55-word-that-must-not-leak" not in message
    assert "Pa55-word-that-must-not-leak" not in repr(caught.value.__cause__)


def test_unknown_database_is_terminal_naming_the_setting(config: dict[str, Any]) -> None:
    with pytest.raises(TerminalError, match="'database'"):
        PostgresSource.from_config({**config, "database": "syncline_absent_db"}).test()


def test_refused_port_is_transient(config: dict[str, Any]) -> None:
    source = PostgresSource.from_config({**config, "port": closed_port(), "password": "pw-x"})

    with pytest.raises(TransientError, match="Connection refused") as caught:
        source.test()

    assert "pw-x" not in str(caught.value)


def test_bad_sql_and_unknown_table_are_terminal(config: dict[str, Any]) -> None:
    source = PostgresSource.from_config(config)

    with pytest.raises(TerminalError, match="syntax error"):
        source.describe("SELEC 1")
    with pytest.raises(TerminalError, match='relation "nope" does not exist'):
        list(source.read("SELECT * FROM nope"))


def test_numeric_value_that_decimal_cannot_hold_fails_naming_the_column(
    config: dict[str, Any],
) -> None:
    source = PostgresSource.from_config(config)

    with pytest.raises(TerminalError, match="'amount'.*CAST"):
        list(source.read("SELECT 'NaN'::numeric(6, 2) AS amount"))


def test_two_million_rows_stream_in_bounded_memory(config: dict[str, Any]) -> None:
    probe = Path(__file__).with_name("stream_probe.py")

    finished = subprocess.run(
        [sys.executable, str(probe), json.dumps(config), "2000000"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    report = json.loads(finished.stdout)

    assert report["rows"] == 2_000_000
    assert report["batches"] == -(-2_000_000 // 65_536)
    assert report["bytes"] > 200_000_000
    # Holding the result would grow the process by at least its Arrow size.
    assert report["growth_bytes"] < 0.4 * report["bytes"]


@pytest.mark.parametrize(
    "query",
    [
        "SELECT 1 AS a;",
        "SELECT 1 AS a ;\n\n",
        "SELECT 1 AS a -- the answer",
        "SELECT 1 AS a\n",
        "SELECT 1 AS a; -- the answer",
        "SELECT 1 AS a; /* the answer */",
        "SELECT 1 AS a -- the answer\n;",
        "SELECT 1 AS a ; ;\n-- first; second\n/* third; */ ;",
    ],
)
def test_trailing_semicolons_and_comments_are_accepted(config: dict[str, Any], query: str) -> None:
    source = PostgresSource.from_config(config)

    assert [c.name for c in source.describe(query)] == ["a"]
    assert [b.num_rows for b in source.read(query)] == [1]


@pytest.mark.parametrize(
    ("query", "value"),
    [
        ("SELECT ';' AS a; -- x", ";"),
        ("SELECT 'it''s; fine' AS a;", "it's; fine"),
        ("SELECT E'\\';' AS a; -- x", "';"),
        ('SELECT 1 AS ";"; -- x', 1),
        ("SELECT $$;$$ AS a;", ";"),
        ("SELECT $tag$ $$; $tag$ AS a; -- x", " $$; "),
        ("SELECT /* ; /* ; */ ; */ 'b' AS a; -- ;", "b"),
        ("SELECT 'c' AS a -- ;\n; -- x", "c"),
    ],
)
def test_a_semicolon_in_quotes_or_comments_stays(
    config: dict[str, Any], query: str, value: object
) -> None:
    source = PostgresSource.from_config(config)

    columns = source.describe(query)
    rows = pa.Table.from_batches(list(source.read(query))).to_pylist()

    assert len(columns) == 1
    assert rows == [{columns[0].name: value}]


@pytest.mark.parametrize(
    ("query", "second"),
    [
        ("SELECT 1 AS a; SELECT 2 AS b", "line 1: 'SELECT 2 AS b'"),
        ("SELECT 1 AS a; -- the answer\nDELETE FROM sales.accounts", "line 2: 'DELETE FROM"),
        ("SELECT ';' AS a; SELECT $$;$$", "line 1: 'SELECT $$;$$'"),
    ],
)
def test_a_second_statement_is_refused_naming_it_and_the_fix(
    config: dict[str, Any], query: str, second: str
) -> None:
    source = PostgresSource.from_config(config)

    with pytest.raises(TerminalError) as described:
        source.describe(query)
    with pytest.raises(TerminalError) as read:
        list(source.read(query))

    for caught in (described, read):
        message = str(caught.value)
        assert "holds a second statement" in message
        assert second in message
        assert "remove the second statement" in message
    counted = source.read("SELECT count(*) AS n FROM sales.accounts")
    assert pa.Table.from_batches(list(counted)).to_pylist() == [{"n": 3}]


def test_wrong_password_is_terminal_naming_the_settings_without_leaking_it() -> None:
    with RejectingPostgres() as server:
        source = PostgresSource.from_config(
            {
                "host": "127.0.0.1",
                "port": server.port,
                "user": "analyst",
                "database": "warehouse",
                "password": "Wrong-Pass-42",
            }
        )

        with pytest.raises(TerminalError) as caught:
            source.test()

    assert server.received_password == "Wrong-Pass-42"
    message = str(caught.value)
    assert "password authentication failed" in message
    assert "'analyst'" in message
    assert "'password'" in message
    assert "Wrong-Pass-42" not in message


def test_describe_plans_the_query_without_running_it(config: dict[str, Any]) -> None:
    source = PostgresSource.from_config(config)
    query = "SELECT 1 / 0 AS broken"

    assert [c.name for c in source.describe(query)] == ["broken"]
    with pytest.raises(TerminalError, match="division by zero"):
        list(source.read(query))


_INTERRUPTED_READS = """
import json, os, signal, sys, threading, time
from syncline.connectors.sources.postgres import PostgresSource

source = PostgresSource.from_config(json.loads(sys.argv[1]))
# The server sleeps before its first row: the read waits inside the driver.
query = "SELECT g AS id FROM generate_series(1, 3) AS g, pg_sleep(30)"
for sent in (signal.SIGINT, signal.SIGTERM):
    threading.Timer(1.0, lambda: os.kill(os.getpid(), sent)).start()
    started = time.monotonic()
    try:
        for _ in source.read(query):
            pass
    except KeyboardInterrupt:
        print(f"stopped after {time.monotonic() - started:.1f} s", flush=True)
"""

_STOP_ON_SIGTERM = """
import signal
def stop(number, frame):
    raise KeyboardInterrupt
signal.signal(signal.SIGTERM, stop)
"""


def test_a_signal_stops_a_read_waiting_for_its_first_row(pg_config: dict[str, Any]) -> None:
    # Stopped as the command line stops a run: Ctrl-C, or SIGTERM raising in the main thread.
    finished = subprocess.run(
        [sys.executable, "-c", _STOP_ON_SIGTERM + _INTERRUPTED_READS, json.dumps(pg_config)],
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert finished.returncode == 0, finished.stderr
    lines = finished.stdout.split("\n")
    assert [line.startswith("stopped after") for line in lines[:2]] == [True, True], lines
    assert all(float(line.split()[2]) < 10 for line in lines[:2]), lines
