"""PostgreSQL sessions: one prepared while the model is read, one per batch in flight."""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pyarrow as pa
import pytest
from table_backends import (
    Backend,
    PostgresBackend,
    own_postgres_backend,  # noqa: F401 - the module's backend fixture
)

from syncline.connectors.destinations.base import (
    FieldSpec,
    SyncMode,
    WriteAction,
    WriteBatch,
    WriteContext,
)
from syncline.connectors.destinations.postgres.client import PostgresDestination
from syncline.connectors.registry import destination_class
from syncline.errors import ConnectorError

pytestmark = pytest.mark.postgres

FIELDS = {"id": pa.int64(), "name": pa.string()}


def _destination(config: dict[str, object]) -> PostgresDestination:
    destination = destination_class("postgres").from_config(config)
    assert isinstance(destination, PostgresDestination)
    return destination


def _context(table: str) -> WriteContext:
    return WriteContext(
        sync_id=1,
        run_id=1,
        object=table,
        mode=SyncMode.MIRROR,
        id_field="id",
        fields=tuple(FieldSpec(name, kind) for name, kind in FIELDS.items()),
        create_object=True,
    )


def _upsert(ids: list[int], names: list[str]) -> WriteBatch:
    records = pa.table({"id": pa.array(ids, pa.int64()), "name": pa.array(names, pa.string())})
    return WriteBatch(WriteAction.UPSERT, records, [str(i) for i in ids])


def _sessions(backend: Backend) -> int:
    """Sessions on the module's database besides the backend's own."""
    assert isinstance(backend, PostgresBackend)
    rows = backend.sql(
        "SELECT count(*) FROM pg_stat_activity "
        f"WHERE datname = '{backend.database}' AND pid <> pg_backend_pid()"
    )
    return int(rows[0][0])


def _sessions_end(backend: Backend) -> bool:
    """Whether every session but the backend's is gone within a few seconds (a server
    process leaves pg_stat_activity a moment after its client closed it)."""
    deadline = time.monotonic() + 10
    while _sessions(backend) and time.monotonic() < deadline:
        time.sleep(0.05)
    return _sessions(backend) == 0


def test_open_takes_the_prepared_session_and_close_ends_it(backend: Backend) -> None:
    table = f"t_{uuid.uuid4().hex[:10]}"
    destination = _destination(backend.config)
    try:
        destination.prepare()
        assert _sessions(backend) == 1
        destination.open(_context(table))
        destination.write_batch(_upsert([1], ["one"]))
        assert _sessions(backend) == 1
    finally:
        destination.close()
    assert _sessions_end(backend)
    assert backend.sql(f"SELECT id, name FROM {table}") == [(1, "one")]


def test_a_failed_preparation_is_reported_by_open(backend: Backend) -> None:
    config = {**backend.config, "database": f"missing_{uuid.uuid4().hex[:8]}"}
    destination = _destination(config)
    try:
        destination.prepare()
        with pytest.raises(ConnectorError, match="missing_"):
            destination.open(_context("t_never"))
    finally:
        destination.close()


def test_batches_in_flight_are_written_in_sessions_of_their_own(backend: Backend) -> None:
    table = f"t_{uuid.uuid4().hex[:10]}"
    destination = _destination(backend.config)
    assert destination.write_concurrency > 1
    assert isinstance(backend, PostgresBackend)
    try:
        destination.open(_context(table))
        destination.write_batch(_upsert([1, 2], ["one", "two"]))
        with (
            psycopg.connect(
                host="127.0.0.1", port=5432, user="postgres", dbname=backend.database
            ) as locker,
            ThreadPoolExecutor(2) as pool,
        ):
            locker.execute(f"SELECT * FROM {table} WHERE id = 1 FOR UPDATE")
            blocked = pool.submit(destination.write_batch, _upsert([1], ["ONE"]))
            while not _waiting_on_a_lock(backend):
                assert not blocked.done()
                time.sleep(0.05)
            # On a session shared with the blocked batch this would wait for the lock too.
            free = pool.submit(destination.write_batch, _upsert([2], ["TWO"]))
            assert free.result(timeout=20).failures == []
            assert backend.sql(f"SELECT name FROM {table} WHERE id = 2") == [("TWO",)]
            assert not blocked.done()
            locker.rollback()
            assert blocked.result(timeout=20).failures == []
    finally:
        destination.close()
    assert backend.sql(f"SELECT id, name FROM {table} ORDER BY id") == [(1, "ONE"), (2, "TWO")]
    assert _sessions_end(backend)


def _waiting_on_a_lock(backend: Backend) -> bool:
    assert isinstance(backend, PostgresBackend)
    rows = backend.sql(
        "SELECT count(*) FROM pg_stat_activity "
        f"WHERE datname = '{backend.database}' AND wait_event_type = 'Lock'"
    )
    return int(rows[0][0]) > 0
