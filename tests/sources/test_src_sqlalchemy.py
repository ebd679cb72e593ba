"""The SQLAlchemy fallback source on a SQLite file and on the real PostgreSQL server."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pyarrow as pa
import pytest
from source_helpers import closed_port, mysql_run, pg_run
from sync_runs import sync_once

from syncline.connectors.sources.base import is_json_field
from syncline.connectors.sources.sqlalchemy import SQLAlchemySource
from syncline.connectors.sources.sqlalchemy.server_file import server_file
from syncline.connectors.sources.sqlite import SQLiteSource
from syncline.errors import ConnectorError, TerminalError, TransientError


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A SQLAlchemy URL of a SQLite file holding 2,500 rows."""
    path = tmp_path / "fallback.db"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE people (id INTEGER PRIMARY KEY, name TEXT, score REAL)")
        connection.executemany(
            "INSERT INTO people VALUES (?, ?, ?)",
            [(n, None if n % 10 == 0 else f"näme {n}", n / 4) for n in range(1, 2501)],
        )
    connection.close()
    return f"sqlite:///{path}"


@pytest.fixture(scope="module")
def pg_url(pg_config: dict[str, Any]) -> str:
    """A SQLAlchemy URL of the module's PostgreSQL database, with a table of many types."""
    pg_run(
        pg_config,
        "CREATE TABLE events (id int PRIMARY KEY, amount numeric(12, 3), at timestamptz, "
        "local_at timestamp, doc jsonb, note text)",
        "INSERT INTO events VALUES "
        "(1, 12.5, '2024-02-03 04:05:06+01', '2024-02-03 04:05:06', '{\"k\": [1]}', '100%'), "
        "(2, NULL, NULL, NULL, NULL, '')",
    )
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{pg_config['database']}"


def test_sqlite_rows_stream_in_batches_with_inferred_types(sqlite_url: str) -> None:
    source = SQLAlchemySource.from_config({"url": sqlite_url})
    source.test()

    batches = list(source.read("SELECT id, name, score FROM people ORDER BY id", batch_rows=1000))

    assert [b.num_rows for b in batches] == [1000, 1000, 500]
    schema = batches[0].schema
    assert [f.type for f in schema] == [pa.int64(), pa.string(), pa.float64()]
    assert all(b.schema == schema for b in batches)
    table = pa.Table.from_batches(batches)
    assert table.column("id").to_pylist() == list(range(1, 2501))
    assert table.column("name").to_pylist()[9] is None
    assert table.column("name").to_pylist()[0] == "näme 1"


def test_sqlite_empty_result_yields_nothing(sqlite_url: str) -> None:
    source = SQLAlchemySource.from_config({"url": sqlite_url})

    assert list(source.read("SELECT * FROM people WHERE id < 0")) == []
    assert [c.name for c in source.describe("SELECT * FROM people WHERE id < 0")] == [
        "id",
        "name",
        "score",
    ]


@pytest.mark.postgres
def test_postgres_url_keeps_decimals_zones_and_json(pg_url: str) -> None:
    source = SQLAlchemySource.from_config({"url": pg_url})

    columns = source.describe("SELECT * FROM events ORDER BY id")
    table = pa.Table.from_batches(list(source.read("SELECT * FROM events ORDER BY id")))

    assert pa.schema([c.field() for c in columns]).equals(table.schema, check_metadata=True)
    assert table.schema.field("amount").type == pa.decimal128(12, 3)
    assert table.schema.field("at").type == pa.timestamp("us", tz="UTC")
    assert table.schema.field("local_at").type == pa.timestamp("us")
    assert is_json_field(table.schema.field("doc"))
    first, second = table.to_pylist()
    assert first["amount"] == Decimal("12.500")
    assert first["at"] == dt.datetime(2024, 2, 3, 3, 5, 6, tzinfo=dt.UTC)
    assert json.loads(first["doc"]) == {"k": [1]}
    assert first["note"] == "100%"
    assert (second["note"], second["doc"]) == ("", None)


@pytest.mark.postgres
def test_postgres_login_failure_hides_the_password(pg_url: str) -> None:
    url = pg_url.replace("postgres@", "syncline_nobody:Secret-Pw-77@")

    with pytest.raises(TerminalError) as caught:
        SQLAlchemySource.from_config({"url": url}).test()

    assert "syncline_nobody" in str(caught.value)
    assert "Secret-Pw-77" not in str(caught.value)


def test_refused_port_is_transient_and_hides_the_password() -> None:
    url = f"postgresql+psycopg://u:Secret-Pw-88@127.0.0.1:{closed_port()}/db"

    with pytest.raises(TransientError) as caught:
        SQLAlchemySource.from_config({"url": url}).test()

    assert "Secret-Pw-88" not in str(caught.value)
    assert "127.0.0.1" in str(caught.value)


@pytest.mark.parametrize("name", ["password", "PASSWORD", "sslpassword"])
def test_a_password_in_the_url_query_is_hidden(name: str) -> None:
    url = f"postgresql+psycopg://127.0.0.1:{closed_port()}/nodb1?user=u&{name}=QuerySecret55"

    with pytest.raises(ConnectorError) as caught:
        SQLAlchemySource.from_config({"url": url}).test()

    assert "QuerySecret55" not in str(caught.value)
    assert "nodb1" in str(caught.value)


def test_unusable_url_is_terminal_without_echoing_it() -> None:
    for url in ("nodialect://u:Secret-Pw-99@127.0.0.1/db", "not a url Secret-Pw-99"):
        with pytest.raises(TerminalError, match="'url'") as caught:
            SQLAlchemySource.from_config({"url": url}).test()
        assert "Secret-Pw-99" not in str(caught.value)


@pytest.mark.parametrize(
    "url", ["sqlite:///missing2.sqlite", "sqlite:///file:missing2.sqlite?mode=rwc&uri=true"]
)
def test_missing_sqlite_file_is_named_with_the_fix_and_never_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, url: str
) -> None:
    monkeypatch.chdir(tmp_path)
    source = SQLAlchemySource.from_config({"url": url})
    uses = {
        "test": source.test,
        "describe": lambda: source.describe("SELECT * FROM t"),
        "read": lambda: list(source.read("SELECT * FROM t")),
    }

    for use in uses.values():
        with pytest.raises(TerminalError) as caught:
            use()
        message = str(caught.value)
        assert "SQLite file 'missing2.sqlite' named in the source setting 'url'" in message
        assert f"working directory, {Path.cwd()}, as {Path.cwd() / 'missing2.sqlite'}" in message
        assert "does not exist" in message

    assert list(tmp_path.iterdir()) == []


def test_missing_sqlite_file_at_an_absolute_path_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "gone" / "data.db"

    with pytest.raises(TerminalError) as caught:
        SQLAlchemySource.from_config({"url": f"sqlite:///{missing}"}).test()

    assert f"SQLite file {str(missing)!r} named in the source setting 'url' does not exist" in (
        str(caught.value)
    )
    assert "working directory" not in str(caught.value)
    assert not missing.parent.exists()


@pytest.mark.parametrize(
    ("url", "file"),
    [
        ("sqlite:///data/app.db", "data/app.db"),
        ("sqlite:////srv/app.db", "/srv/app.db"),
        ("sqlite+pysqlite:////srv/a%20b.db?timeout=5", "/srv/a b.db"),
        ("sqlite:///file:/srv/app.db?mode=ro&uri=true", "/srv/app.db"),
        ("sqlite:///file:app%2520x.db?uri=true", "app x.db"),
        ("sqlite:///file:/srv/app.db?mode=memory", "file:/srv/app.db"),  # no uri: a name
        # The file's own query holds mode=ro, and the URL's mode=memory is appended to it
        # as the value of z: SQLite opens the file.
        ("sqlite:///file:/srv/app.db%3Fmode%3Dro%26z%3D?mode=memory&uri=true", "/srv/app.db"),
        ("sqlite+pysqlcipher://:pass@//srv/secret.db", "/srv/secret.db"),
        ("duckdb:////srv/warehouse.duckdb", "/srv/warehouse.duckdb"),
        ("duckdb:///local.duckdb?threads=2", "local.duckdb"),
    ],
)
def test_a_url_names_the_server_file_sqlite_or_duckdb_would_open(url: str, file: str) -> None:
    assert server_file(url) == file


@pytest.mark.parametrize(
    "url",
    [
        "sqlite://",
        "sqlite:///:memory:",
        "sqlite:///file::memory:?uri=true",
        "sqlite:///file:/srv/app.db?mode=memory&uri=true",
        "sqlite:///file:shared?mode=memory&cache=shared&uri=true",
        "duckdb://",
        "duckdb:///:memory:",
        "duckdb:///md:analytics",
        "postgresql+psycopg://user:pw@127.0.0.1/app.db",
        "not a url",
    ],
)
def test_in_memory_and_network_urls_name_no_server_file(url: str) -> None:
    assert server_file(url) is None


def test_sqlite_file_is_opened_read_only(sqlite_url: str) -> None:
    source = SQLAlchemySource.from_config({"url": sqlite_url})

    with pytest.raises(TerminalError, match="readonly"):
        list(source.read("DELETE FROM people RETURNING id"))

    assert sum(b.num_rows for b in source.read("SELECT id FROM people")) == 2500


def test_a_mode_hidden_in_the_file_name_still_opens_it_read_only(
    sqlite_url: str, tmp_path: Path
) -> None:
    path = sqlite_url.removeprefix("sqlite:///")
    # SQLite reads "file:...?mode=rw&z=?mode=memory": the last mode, rw, would win.
    hidden = "%3Fmode%3Drw{c}%26z%3D?mode=memory&uri=true"
    source = SQLAlchemySource.from_config({"url": f"sqlite:///file:{path}{hidden.format(c='')}"})
    made = tmp_path / "made.db"
    missing = SQLAlchemySource.from_config({"url": f"sqlite:///file:{made}{hidden.format(c='c')}"})

    with pytest.raises(TerminalError, match="readonly"):
        list(source.read("DELETE FROM people RETURNING id"))
    with pytest.raises(TerminalError, match="does not exist"):
        missing.test()
    assert not made.exists()


def test_sqlite_uri_url_reads_the_file(sqlite_url: str) -> None:
    path = sqlite_url.removeprefix("sqlite:///")
    source = SQLAlchemySource.from_config({"url": f"sqlite:///file:{path}?uri=true"})

    assert sum(b.num_rows for b in source.read("SELECT id FROM people")) == 2500


def test_bad_sql_is_terminal(sqlite_url: str) -> None:
    source = SQLAlchemySource.from_config({"url": sqlite_url})

    with pytest.raises(TerminalError, match="syntax error"):
        source.describe("SELEC 1")
    with pytest.raises(TerminalError, match="no such table: nope"):
        list(source.read("SELECT * FROM nope"))


@pytest.mark.mariadb
def test_table_models_are_quoted_for_the_dialect(mysql_config: dict[str, Any]) -> None:
    mysql_run(mysql_config, "CREATE TABLE `order` (id INT)", "INSERT INTO `order` VALUES (1), (2)")
    url = f"mysql+pymysql://root@127.0.0.1:3306/{mysql_config['database']}"
    source = SQLAlchemySource.from_config({"url": url})

    query = source.table_query("order")
    total = sum(batch.num_rows for batch in source.read(query))

    assert query == "SELECT * FROM `order`"
    assert total == 2


@pytest.mark.parametrize(
    "query",
    ["SELECT id FROM people WHERE id = 1;;", "SELECT id FROM people WHERE id = 1 ; -- one"],
)
def test_sqlite_takes_trailing_semicolons_its_driver_refuses(sqlite_url: str, query: str) -> None:
    source = SQLAlchemySource.from_config({"url": sqlite_url})

    assert [c.name for c in source.describe(query)] == ["id"]
    assert [b.num_rows for b in source.read(query)] == [1]


@pytest.mark.postgres
def test_postgres_second_statement_is_refused_naming_it(pg_url: str) -> None:
    source = SQLAlchemySource.from_config({"url": pg_url})

    with pytest.raises(TerminalError, match=r"second statement .*'SELECT 2'"):
        source.describe("SELECT $$;$$ AS a; SELECT 2")


def test_sqlite_attach_is_refused_so_no_other_file_is_made(sqlite_url: str, tmp_path: Path) -> None:
    source = SQLAlchemySource.from_config({"url": sqlite_url})
    other = tmp_path / "other.db"

    with pytest.raises(TerminalError, match="not authorized"):
        source.describe(f"ATTACH '{other}' AS other")
    with pytest.raises(TerminalError, match="not authorized"):
        list(source.read(f"ATTACH '{other}' AS other"))

    assert not other.exists()


def test_a_postgres_url_reads_in_read_only_sessions(pg_url: str, pg_config: dict[str, Any]) -> None:
    """A sequence moves even in a transaction that rolls back: only a read-only session
    keeps a model (or its column check) from changing one."""
    pg_run(pg_config, "CREATE SEQUENCE IF NOT EXISTS ticket")
    source = SQLAlchemySource.from_config({"url": pg_url})

    with pytest.raises(ConnectorError, match="read-only"):
        list(source.read("SELECT nextval('ticket') AS n"))

    with psycopg.connect(
        f"host=127.0.0.1 port=5432 user=postgres dbname={pg_config['database']}"
    ) as connection:
        row = connection.execute("SELECT last_value, is_called FROM ticket").fetchone()
    assert row == (1, False)


@pytest.mark.postgres
def test_postgres_url_keeps_json_null_and_json_strings_as_json_text(
    pg_url: str, pg_config: dict[str, Any], tmp_path: Path
) -> None:
    pg_run(
        pg_config,
        "CREATE TABLE docs (id int PRIMARY KEY, j jsonb)",
        "INSERT INTO docs VALUES (3, 'null'), (4, '\"str\"'), (5, NULL)",
    )
    source = SQLAlchemySource.from_config({"url": pg_url})
    query = "SELECT * FROM docs ORDER BY id"

    table = pa.Table.from_batches(list(source.read(query)))
    first = sync_once(source, query, tmp_path)
    pg_run(pg_config, "UPDATE docs SET j = NULL WHERE id = 3")
    second = sync_once(source, query, tmp_path)

    assert is_json_field(table.schema.field("j"))
    assert table.column("j").to_pylist() == ["null", '"str"', None]
    assert first.progress.planned.added == 3
    assert (second.progress.planned.total, second.progress.planned.changed) == (1, 1)


@pytest.mark.postgres
def test_postgres_url_types_columns_from_the_server(pg_url: str, pg_config: dict[str, Any]) -> None:
    pg_run(
        pg_config,
        "CREATE TABLE kinds (id int PRIMARY KEY, r real, d double precision, b boolean, "
        "day date, v varchar(20), t timestamp(3), j json, u uuid, n numeric)",
        "INSERT INTO kinds VALUES (1, 0.1, 0.1, true, '2024-02-29', 'a', "
        "'2024-02-29 01:02:03.456', '{\"b\": 1, \"a\": 2}', "
        "'12345678-1234-5678-1234-567812345678', 'NaN')",
    )
    source = SQLAlchemySource.from_config({"url": pg_url})

    columns = {c.name: c for c in source.describe("SELECT * FROM kinds")}
    [row] = pa.Table.from_batches(list(source.read("SELECT * FROM kinds"))).to_pylist()

    assert {name: c.type for name, c in columns.items()} == {
        "id": "int4",
        "r": "float4",
        "d": "float8",
        "b": "bool",
        "day": "date",
        "v": "varchar(20)",
        "t": "timestamp(3)",
        "j": "json",
        "u": "uuid",
        "n": "numeric",
    }
    assert columns["r"].arrow_type == pa.float32()
    assert columns["b"].arrow_type == pa.bool_()
    assert columns["day"].arrow_type == pa.date32()
    assert columns["j"].logical == "json"
    assert columns["n"].logical == "decimal"
    assert row["j"] == '{"b": 1, "a": 2}'
    assert row["u"] == "12345678-1234-5678-1234-567812345678"
    assert row["n"] == "NaN"


def test_sqlite_url_types_columns_as_the_sqlite_source_does(tmp_path: Path) -> None:
    path = tmp_path / "typed.db"
    with sqlite3.connect(path) as connection:
        connection.execute(
            "CREATE TABLE t (id INTEGER PRIMARY KEY, price DECIMAL(10,2), flag BOOLEAN, "
            "day DATE, at TIMESTAMP, doc JSON, note TEXT)"
        )
        connection.execute(
            "INSERT INTO t VALUES (1, 1.00, 1, '2024-02-29 00:00:00', '2024-02-29T01:02:03', "
            "'{\"b\": 1,  \"a\": 2}', 'x')"
        )
    connection.close()
    fallback = SQLAlchemySource.from_config({"url": f"sqlite:///{path}"})
    dedicated = SQLiteSource.from_config({"path": str(path)})
    query = "SELECT * FROM t"

    described = fallback.describe(query)
    read = pa.Table.from_batches(list(fallback.read(query)))

    assert described == dedicated.describe(query)
    assert read.equals(pa.Table.from_batches(list(dedicated.read(query))), check_metadata=True)
    assert read.column("price").to_pylist() == [Decimal("1.00")]
    assert read.column("day").to_pylist() == [dt.date(2024, 2, 29)]
