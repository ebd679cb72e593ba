"""The model is read on while the planner opens its snapshot file, and the read stops with
the run whatever ends it."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest
from engine_doubles import ArrowSource, MemoryDestination, Reporter, people
from warehouse_doubles import MODEL_QUERY

from syncline.connectors.sources.base import ROW_HASH_COLUMN
from syncline.engine.config import SyncConfiguration
from syncline.engine.delivery import RetryPolicy
from syncline.engine.planner import local as local_planner
from syncline.engine.planner.local import LocalPlanner
from syncline.engine.report import RunStatus
from syncline.engine.run import RunJob, RunResult, execute_run
from syncline.errors import TransientError


class CountingSource(ArrowSource):
    """Yields one row per batch, counting the batches produced and noting its close."""

    def __init__(self, table: pa.Table) -> None:
        super().__init__(table, batch_rows=1)
        self.produced = 0
        self.closed_on: str | None = None

    def read(self, query: str, *, batch_rows: int = 65_536) -> Iterator[pa.RecordBatch]:
        try:
            for batch in self.table.to_batches(max_chunksize=1):
                self.produced += 1
                yield batch
        finally:
            self.closed_on = threading.current_thread().name


def _run(tmp_path: Path, source: CountingSource) -> RunResult:
    job = RunJob(
        sync_id=7,
        run_id=1,
        source=source,
        model_query=MODEL_QUERY,
        primary_key="id",
        configuration=SyncConfiguration.parse({"mode": "upsert", "object": "people"}),
        destination=MemoryDestination(),
        snapshot_dir=tmp_path,
        retry=RetryPolicy(retries=0),
    )
    return execute_run(job, Reporter())


def _no_reading_thread() -> bool:
    return not any(t.name == "syncline-prefetch" for t in threading.enumerate())


def test_batches_are_read_while_the_planner_opens(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = CountingSource(people([(i, f"n{i}", float(i)) for i in range(10)]))
    seen_at_open: list[int] = []
    opening = local_planner.LocalPlanner.__init__

    def slow_open(self: Any, *args: Any, **kwargs: Any) -> None:
        # Waits, as a log replay would, for the source to get ahead of the first batch.
        deadline = time.monotonic() + 2.0
        while source.produced < 3 and time.monotonic() < deadline:
            time.sleep(0.01)
        seen_at_open.append(source.produced)
        opening(self, *args, **kwargs)

    monkeypatch.setattr(local_planner.LocalPlanner, "__init__", slow_open)
    result = _run(tmp_path, source)

    assert result.status is RunStatus.SUCCESS
    assert result.progress.successful.added == 10
    assert seen_at_open[0] >= 3
    assert source.closed_on == "syncline-prefetch"
    assert _no_reading_thread()


def test_a_planner_that_fails_to_open_stops_the_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = CountingSource(people([(i, f"n{i}", float(i)) for i in range(1_000)]))

    def failing_open(self: Any, *args: Any, **kwargs: Any) -> None:
        raise RuntimeError("snapshot folder unreadable")

    monkeypatch.setattr(local_planner.LocalPlanner, "__init__", failing_open)
    result = _run(tmp_path, source)

    assert result.status is RunStatus.FAILED
    assert source.closed_on is not None
    assert source.produced < 1_000
    assert _no_reading_thread()


def test_a_streamed_join_reads_its_batches_before_duckdb_asks_for_them(tmp_path: Path) -> None:
    planner = local_planner.LocalPlanner(tmp_path, 1, primary_key="id", id_column="id")
    produced: list[int] = []

    def batches() -> Iterator[pa.RecordBatch]:
        for key in range(5):
            produced.append(key)
            yield pa.record_batch({"id": [key]})

    duckdb = planner.store.connection
    at_statement: list[int] = []

    class SlowToAsk:
        """The connection, but a statement on the stream starts as a join's long build
        side would: some time after it was handed over."""

        def __getattr__(self, name: str) -> Any:
            return getattr(duckdb, name)

        def execute(self, sql: str, *args: Any) -> Any:
            if sql.startswith("CREATE") and "_sl_incoming" in sql:
                deadline = time.monotonic() + 5.0
                while len(produced) < 3 and time.monotonic() < deadline:
                    time.sleep(0.01)
                at_statement.append(len(produced))
            return duckdb.execute(sql, *args)

    planner.store.connection = SlowToAsk()
    try:
        planner._join_stream(
            batches(),
            pa.schema([("id", pa.int64())]),
            "CREATE OR REPLACE TABLE scratch.streamed AS SELECT * FROM _sl_incoming",
            depth=16,
        )
        assert at_statement[0] >= 3
        assert duckdb.execute("SELECT count(*) FROM scratch.streamed").fetchone() == (5,)
    finally:
        planner.store.connection = duckdb
        planner.close()
    assert _no_reading_thread()


def test_a_source_failing_under_a_streamed_join_raises_its_own_error(tmp_path: Path) -> None:
    planner = local_planner.LocalPlanner(tmp_path, 1, primary_key="id", id_column="id")

    def batches() -> Iterator[pa.RecordBatch]:
        yield pa.record_batch({"id": [1]})
        yield pa.record_batch({"id": [2]})
        raise TransientError("the source's server closed the connection", connector="test")

    try:
        with pytest.raises(TransientError, match="closed the connection"):
            planner._join_stream(
                batches(),
                pa.schema([("id", pa.int64())]),
                "CREATE OR REPLACE TABLE scratch.streamed AS SELECT * FROM _sl_incoming",
            )
    finally:
        planner.close()
    assert _no_reading_thread()


def test_a_key_pass_that_fails_has_closed_its_read_when_the_planner_raises(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The read holds the source's cursor: closed later, by the garbage collector, it would
    # be closed on a connection the run had closed already (a crash in the driver).
    schema = pa.schema([("id", pa.string()), ("name", pa.string())])
    closed: list[str] = []

    def keys() -> Iterator[pa.RecordBatch]:
        try:
            for start in range(0, 100_000, 1000):
                ids = pa.array([f"k{n}" for n in range(start, start + 1000)])
                hashes = pa.array(range(start, start + 1000), pa.int64())
                yield pa.record_batch([ids, hashes], names=["id", ROW_HASH_COLUMN])
        finally:
            closed.append(threading.current_thread().name)

    # The key pass's statement fails once the read has started.
    monkeypatch.setattr(LocalPlanner, "_kept", lambda self, needed: " WHERE no_such_column")
    planner = LocalPlanner(tmp_path, 1, primary_key="id", id_column="id")
    closed_when_raised: list[str] | None = None
    try:
        planner.ingest_two_pass(keys(), lambda wanted: iter(()), schema, schema.names)
    except duckdb.BinderException:
        # Taken while the error (and the frames it holds) is still alive.
        closed_when_raised = list(closed)
    finally:
        planner.close()

    assert closed_when_raised == [threading.current_thread().name]
