"""Conformance: clear() empties the sync's table, for clearAndFill runs, on every backend."""

from __future__ import annotations

import pyarrow as pa
import pytest
from table_backends import Backend, OpenDestination

from syncline.connectors.destinations.base import WriteAction, WriteBatch
from syncline.connectors.registry import destination_class
from syncline.errors import TerminalError

FIELDS = {"id": pa.int64(), "name": pa.string()}


def _upsert(ids: list[int], names: list[str]) -> WriteBatch:
    return WriteBatch(WriteAction.UPSERT, pa.table({"id": ids, "name": names}), list(map(str, ids)))


def test_every_table_destination_declares_it_can_clear(backend: Backend) -> None:
    assert destination_class(backend.kind).capabilities.clears_objects


def test_clear_deletes_every_row_and_keeps_the_table_writable(
    backend: Backend, table: str, open_destination: OpenDestination
) -> None:
    destination = open_destination(FIELDS, create=True)
    assert destination.write_batch(_upsert([1, 2, 3], ["a", "b", "c"])).failures == []

    destination.clear()
    assert backend.sql(f"SELECT count(*) FROM {table}") == [(0,)]

    # The fill after the clear goes through the same open destination.
    assert destination.write_batch(_upsert([2], ["again"])).failures == []
    assert backend.sql(f"SELECT id, name FROM {table}") == [(2, "again")]


def test_clear_leaves_other_tables_alone(
    backend: Backend, table: str, open_destination: OpenDestination
) -> None:
    other = f"{table}_other"
    open_destination(FIELDS, create=True, object_name=other).write_batch(_upsert([7], ["kept"]))
    destination = open_destination(FIELDS, create=True)
    destination.write_batch(_upsert([1], ["gone"]))

    destination.clear()

    assert backend.sql(f"SELECT id, name FROM {other}") == [(7, "kept")]


def test_a_destination_that_cannot_clear_says_so_and_names_the_alternative() -> None:
    webhook = destination_class("webhook")
    assert not webhook.capabilities.clears_objects
    destination = webhook.from_config({"url": "http://127.0.0.1:9/hook"})

    with pytest.raises(TerminalError) as caught:
        destination.clear()

    assert caught.value.code == "CLEAR_NOT_SUPPORTED"
    assert "full resync" in str(caught.value)
