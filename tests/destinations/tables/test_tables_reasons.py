"""A row PostgreSQL or MariaDB/MySQL refuses is rejected with a reason naming its field and
the fix: widen the column, or change or filter the value in the model."""

from __future__ import annotations

import pyarrow as pa
import pytest
from table_backends import Backend, OpenDestination

from syncline.connectors.destinations.base import WriteAction, WriteBatch

FIELDS = {"id": pa.int64(), "code": pa.string(), "n": pa.int64(), "email": pa.string()}


@pytest.fixture
def strict_table(backend: Backend, table: str) -> str:
    """A table narrower than the model: a short code, a small number, a unique e-mail."""
    if backend.kind not in ("postgres", "mysql"):
        pytest.skip("the database's own words are explained for PostgreSQL and MariaDB/MySQL")
    backend.sql(
        f"CREATE TABLE {table} (id bigint PRIMARY KEY, code varchar(8), n smallint, "
        f"email varchar(64), CONSTRAINT {table}_email_key UNIQUE (email))"
    )
    backend.sql(f"INSERT INTO {table} VALUES (1, 'a', 1, 'taken@example.com')")
    return table


def _reasons(open_destination: OpenDestination, row: dict[str, object]) -> str:
    destination = open_destination(FIELDS, create=False)
    records = pa.table({name: pa.array([row[name]], kind) for name, kind in FIELDS.items()})
    failures = destination.write_batch(WriteBatch(WriteAction.UPSERT, records, ["2"])).failures
    assert len(failures) == 1
    return failures[0].reason


def test_a_value_too_long_names_the_field_and_the_fix(
    strict_table: str, open_destination: OpenDestination
) -> None:
    row = {"id": 2, "code": "ABCDEFGHIJ", "n": 1, "email": "b@example.com"}

    reason = _reasons(open_destination, row)

    assert "field 'code'" in reason
    assert "8" in reason
    assert "widen the column" in reason
    assert "in the model" in reason
    assert "ABCDEFGHIJ" not in reason


def test_a_number_out_of_range_names_the_field_and_the_fix(
    strict_table: str, open_destination: OpenDestination
) -> None:
    row = {"id": 2, "code": "b", "n": 40000, "email": "b@example.com"}

    reason = _reasons(open_destination, row)

    assert "field 'n'" in reason
    assert "smallint" in reason
    assert "widen the column" in reason
    assert "in the model" in reason


def test_a_unique_key_taken_by_another_record_names_its_fields_and_the_fix(
    strict_table: str, open_destination: OpenDestination
) -> None:
    row = {"id": 2, "code": "b", "n": 1, "email": "taken@example.com"}

    reason = _reasons(open_destination, row)

    assert "field 'email'" in reason
    assert f"{strict_table}_email_key" in reason
    assert "in the model" in reason
