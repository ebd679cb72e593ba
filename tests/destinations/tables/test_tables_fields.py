"""Conformance: fields() lists an existing table's columns, and None for a missing one."""

from __future__ import annotations

from pathlib import Path

import pytest
from table_backends import Backend

from syncline.connectors.destinations.base import ObjectField
from syncline.connectors.registry import destination_class
from syncline.errors import ConnectorError


def _fields(backend: Backend, object_name: str) -> list[ObjectField] | None:
    destination = destination_class(backend.kind).from_config(backend.config)
    try:
        return destination.fields(object_name)
    finally:
        destination.close()


def test_fields_are_the_table_s_columns_in_order_with_their_types(
    backend: Backend, table: str
) -> None:
    backend.sql(f"CREATE TABLE {table} (id BIGINT PRIMARY KEY, email VARCHAR(100), note TEXT)")

    found = _fields(backend, table)

    assert found is not None
    assert [f.name for f in found] == ["id", "email", "note"]
    kinds = [f.type.lower() for f in found]
    assert kinds[0] in ("bigint", "bigint(20)")
    assert "char" in kinds[1]
    assert "100" in kinds[1] or backend.kind == "duckdb"  # DuckDB keeps no length
    assert kinds[2] in ("text", "varchar")


def test_fields_of_a_table_not_created_yet_are_unknown(backend: Backend, table: str) -> None:
    assert _fields(backend, table) is None


def test_fields_follow_the_schema_the_object_names(backend: Backend, table: str) -> None:
    schema = {"postgres": "public", "mysql": None, "sqlite": "main", "duckdb": "main"}[backend.kind]
    schema = schema or str(backend.config["database"])
    backend.sql(f"CREATE TABLE {table} (code INTEGER)")

    assert _fields(backend, f"{schema}.{table}") == _fields(backend, table)
    if backend.kind == "sqlite":
        # A schema in SQLite is an attached database file: naming another is a mistake.
        with pytest.raises(ConnectorError, match="no_such_schema"):
            _fields(backend, f"no_such_schema.{table}")
    else:
        assert _fields(backend, f"no_such_schema.{table}") is None


@pytest.mark.parametrize("kind", ["sqlite", "duckdb"])
def test_a_missing_database_file_has_no_fields_and_is_not_created(
    tmp_path: Path, kind: str
) -> None:
    path = tmp_path / f"later.{kind}"
    destination = destination_class(kind).from_config({"path": str(path)})

    assert destination.fields("customers") is None
    assert not path.exists()


@pytest.mark.postgres
def test_an_unreachable_server_is_a_connector_error_naming_it() -> None:
    # Port 1 on loopback: nothing listens there, so the connection is refused at once.
    config = {"host": "127.0.0.1", "port": 1, "user": "postgres", "database": "none"}
    destination = destination_class("postgres").from_config(config)

    with pytest.raises(ConnectorError) as caught:
        destination.fields("customers")
    assert "127.0.0.1" in str(caught.value)
