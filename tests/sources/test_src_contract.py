"""The shared parts of every source: registry names, configs, Arrow helpers, row building."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pyarrow as pa
import pytest

from syncline.connectors.registry import source_class
from syncline.connectors.sources._arrow import normal_type, rebatch
from syncline.connectors.sources._rows import batches_from_rows, infer_plan
from syncline.connectors.sources.base import Column, is_json_field, json_field
from syncline.connectors.sources.mysql import MySQLConfig
from syncline.connectors.sources.postgres import PostgresConfig
from syncline.connectors.sources.sqlalchemy import SQLAlchemyConfig
from syncline.errors import TerminalError, ValidationError


@pytest.mark.parametrize(
    ("name", "class_name"),
    [
        ("duckdb", "DuckDBSource"),
        ("sqlite", "SQLiteSource"),
        ("postgres", "PostgresSource"),
        ("postgresql", "PostgresSource"),
        ("mysql", "MySQLSource"),
        ("mariadb", "MySQLSource"),
        ("sqlalchemy", "SQLAlchemySource"),
    ],
)
def test_registry_finds_every_builtin_source(name: str, class_name: str) -> None:
    cls = source_class(name)
    assert cls.__name__ == class_name
    assert cls.type_name in name or name in ("postgresql", "mariadb")


def test_postgres_config_accepts_numeric_port_string_and_hides_password() -> None:
    config = PostgresConfig.parse(
        {"host": "127.0.0.1", "port": "6543", "user": "u", "database": "d", "password": "pw!"}
    )
    assert config.port == 6543
    assert "pw!" not in repr(config)
    assert PostgresConfig.secret_fields() == {"password"}
    assert "password='pw!'" in config.conninfo()


def test_postgres_config_quotes_conninfo_values_and_sets_search_path() -> None:
    config = PostgresConfig.parse(
        {"host": "h", "user": "u", "database": "my db", "password": "a'b\\c", "schema": "sales"}
    )
    conninfo = config.conninfo()
    assert "dbname='my db'" in conninfo
    assert "password='a\\'b\\\\c'" in conninfo
    assert (
        "options='-c default_transaction_read_only=on -c extra_float_digits=3 -c search_path=sales'"
    ) in conninfo


def test_config_rejects_unknown_keys_and_bad_ports_all_at_once() -> None:
    with pytest.raises(ValidationError) as caught:
        MySQLConfig.parse({"host": "h", "port": "abc", "user": "u", "database": "d", "pwd": "x"})
    locations = {problem.location for problem in caught.value.problems}
    assert locations == {"configuration.port", "configuration.pwd"}


def test_sqlalchemy_url_is_a_secret() -> None:
    config = SQLAlchemyConfig.parse({"url": "postgresql://u:hunter2@127.0.0.1/d"})
    assert "hunter2" not in repr(config)
    assert SQLAlchemyConfig.secret_fields() == {"url"}


def test_json_fields_are_marked_and_columns_keep_the_mark() -> None:
    field = json_field("payload")
    assert field.type == pa.string()
    assert is_json_field(field)
    assert not is_json_field(pa.field("payload", pa.string()))

    column = Column.from_field(field, "jsonb")
    assert column.logical == "json"
    assert column.field().equals(field, check_metadata=True)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (pa.int32(), pa.int64()),
        (pa.uint32(), pa.int64()),
        (pa.uint64(), pa.uint64()),
        (pa.timestamp("ms", tz="Europe/Berlin"), pa.timestamp("us", tz="UTC")),
        (pa.timestamp("s"), pa.timestamp("us")),
        (pa.large_string(), pa.string()),
        (pa.decimal128(10, 2), pa.decimal128(10, 2)),
    ],
)
def test_normal_type_widens_without_losing_values(
    given: pa.DataType, expected: pa.DataType
) -> None:
    assert normal_type(given) == expected


def test_rebatch_regroups_into_exact_sizes() -> None:
    parts = [pa.record_batch({"n": list(range(start, start + size))}) for start, size in
             [(0, 7), (7, 1), (8, 20), (28, 2)]]  # fmt: skip

    out = list(rebatch(parts, 8))

    assert [batch.num_rows for batch in out] == [8, 8, 8, 6]
    assert pa.Table.from_batches(out).column("n").to_pylist() == list(range(30))


def test_infer_plan_picks_exact_types_from_values() -> None:
    aware = dt.datetime(2024, 5, 1, 12, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    cases = {
        "i": ([1, None, 3], pa.int64()),
        "f": ([1, 2.5], pa.float64()),
        "b": ([True, False], pa.bool_()),
        "s": (["", None, "é"], pa.string()),
        "d": ([Decimal("1.50")], pa.string()),
        "t": ([aware], pa.timestamp("us", tz="UTC")),
        "n": ([dt.datetime(2024, 5, 1)], pa.timestamp("us")),
        "e": ([None, None], pa.string()),
        "m": ([1, "x"], pa.string()),
    }
    for name, (values, expected) in cases.items():
        assert infer_plan(name, values).field.type == expected, name

    assert infer_plan("j", [{"a": 1}]).field.metadata == json_field("j").metadata
    assert infer_plan("d", [Decimal("1.5")], decimal=(10, 2)).field.type == pa.decimal128(10, 2)


def test_rows_become_batches_of_one_schema_with_nulls_and_utc() -> None:
    aware = dt.datetime(2024, 5, 1, 12, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    rows = [(1, aware, {"k": "v"}), (2, None, None), (3, aware, [1, 2])]
    plans = [
        infer_plan("id", [1, 2, 3]),
        infer_plan("at", [aware]),
        infer_plan("doc", [{"k": "v"}, [1, 2]]),
    ]
    chunks = iter([rows[1:2], rows[2:], []])

    batches = list(batches_from_rows(lambda n: next(chunks), plans, 2, head=rows[:1]))

    assert [batch.num_rows for batch in batches] == [2, 1]
    assert batches[0].schema.equals(batches[1].schema, check_metadata=True)
    table = pa.Table.from_batches(batches)
    assert table.column("at").to_pylist()[0] == aware.astimezone(dt.UTC)
    assert table.column("at").to_pylist()[1] is None
    assert [json.loads(v) if v else v for v in table.column("doc").to_pylist()] == [
        {"k": "v"},
        None,
        [1, 2],
    ]


def test_value_that_does_not_fit_fails_naming_the_column_but_not_the_value() -> None:
    plans = [infer_plan("amount", [1, 2])]
    chunks = iter([[("secret-value-123",)], []])

    with pytest.raises(TerminalError) as caught:
        list(batches_from_rows(lambda n: next(chunks), plans, 10, head=[(1,)]))

    assert "'amount'" in str(caught.value)
    assert "CAST" in str(caught.value)
    assert "secret-value-123" not in str(caught.value)
