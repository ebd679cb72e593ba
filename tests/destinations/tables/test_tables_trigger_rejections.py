"""A trigger that raises for one row rejects that row alone, with the trigger's message.

PostgreSQL's ``RAISE EXCEPTION`` (SQLSTATE P0001 unless the trigger names another) and
MariaDB's ``SIGNAL SQLSTATE '45000'`` are how a table's owner refuses a row; the rest of
the batch is written and the row is retried by the next run, as for a check constraint.
"""

from __future__ import annotations

import pyarrow as pa
import pytest
from table_backends import Backend, OpenDestination

from syncline.connectors.destinations.base import WriteAction, WriteBatch

FIELDS = {"id": pa.int64(), "name": pa.string()}


def _batch(ids: list[int]) -> WriteBatch:
    records = pa.table({"id": pa.array(ids, pa.int64()), "name": [f"n{i}" for i in ids]})
    return WriteBatch(WriteAction.UPSERT, records, [str(i) for i in ids])


def _refuse_id_2(backend: Backend, table: str) -> None:
    """Make ``table`` with a trigger that raises, in the server's own way, for id 2."""
    if backend.kind == "postgres":
        backend.sql(f"CREATE TABLE {table} (id bigint PRIMARY KEY, name text)")
        backend.sql(
            f"CREATE FUNCTION {table}_refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "IF NEW.id = 2 THEN RAISE EXCEPTION 'id 2 is frozen'; END IF; RETURN NEW; END $$"
        )
        backend.sql(
            f"CREATE TRIGGER refuse BEFORE INSERT OR UPDATE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION {table}_refuse()"
        )
    elif backend.kind == "mysql":
        backend.sql(f"CREATE TABLE {table} (id bigint PRIMARY KEY, name text)")
        backend.sql(
            f"CREATE TRIGGER {table}_refuse BEFORE INSERT ON {table} FOR EACH ROW "
            "BEGIN IF NEW.id = 2 THEN SIGNAL SQLSTATE '45000' "
            "SET MESSAGE_TEXT = 'id 2 is frozen'; END IF; END"
        )
    else:
        pytest.skip(f"{backend.kind} has no triggers that raise a message of their own")


def test_a_row_a_trigger_refuses_is_rejected_alone_with_its_message(
    backend: Backend, table: str, open_destination: OpenDestination
) -> None:
    _refuse_id_2(backend, table)
    destination = open_destination(FIELDS, create=False)

    result = destination.write_batch(_batch([1, 2, 3]))

    assert [failure.index for failure in result.failures] == [1]
    assert "id 2 is frozen" in result.failures[0].reason
    assert backend.sql(f"SELECT id FROM {table} ORDER BY id") == [(1,), (3,)]
