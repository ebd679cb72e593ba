"""Test doubles of the source, destination and reporter contracts, held in memory."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar
from unittest import mock

import pyarrow as pa
from warehouse_doubles import LOCAL_VARIANTS, MODEL_QUERY, planner_kind, warehouse_source

from syncline.connectors.config import ConnectorConfig
from syncline.connectors.destinations.base import (
    BatchResult,
    Capabilities,
    Destination,
    RowFailure,
    SyncMode,
    WriteAction,
    WriteBatch,
    WriteContext,
)
from syncline.connectors.sources.base import Column, Source
from syncline.engine.config import SyncConfiguration
from syncline.engine.delivery import RetryPolicy
from syncline.engine.planner import local as local_planner
from syncline.engine.report import (
    InterruptedOutcome,
    RejectedRow,
    RunProgress,
    RunStatus,
    SucceededRows,
)
from syncline.engine.run import RunJob, RunResult, execute_run


class _NoConfig(ConnectorConfig):
    pass


class ArrowSource(Source):
    """A source whose model is whatever Arrow table the test sets; the query is ignored."""

    type_name = "arrow-test"
    config_model = _NoConfig
    dialect = "duckdb"

    def __init__(self, table: pa.Table, *, batch_rows: int = 3) -> None:
        super().__init__(_NoConfig())
        self.table = table
        self.batch_rows = batch_rows

    def test(self) -> None:
        return None

    def describe(self, query: str) -> list[Column]:
        return [Column.from_field(f, str(f.type)) for f in self.table.schema]

    def read(self, query: str, *, batch_rows: int = 65_536) -> Iterator[pa.RecordBatch]:
        yield from self.table.to_batches(max_chunksize=min(batch_rows, self.batch_rows))


RowPredicate = Callable[[WriteAction, dict[str, Any]], str | None]


class MemoryDestination(Destination):
    """Records by id, honouring each action's contract; can reject rows or raise."""

    type_name = "memory-test"
    config_model = _NoConfig
    capabilities: ClassVar[Capabilities] = Capabilities(
        modes=frozenset(SyncMode), max_batch_rows=4, max_concurrency=1
    )

    def __init__(
        self,
        *,
        modes: frozenset[SyncMode] | None = None,
        max_batch_rows: int = 4,
        max_concurrency: int = 1,
    ) -> None:
        super().__init__(_NoConfig())
        self.capabilities = Capabilities(  # type: ignore[misc]
            modes=modes or frozenset(SyncMode),
            max_batch_rows=max_batch_rows,
            max_concurrency=max_concurrency,
        )
        self.records: dict[Any, dict[str, Any]] = {}
        self.events: list[dict[str, Any]] = []
        self.batches: list[WriteBatch] = []
        self.context: WriteContext | None = None
        self.reject: RowPredicate | None = None
        """Return a reason to reject a row, None to accept it."""
        self.raise_on_batch: Callable[[int], Exception | None] | None = None
        """Given the 1-based number of a write_batch call, an exception to raise."""
        self.calls = 0
        self.finished = False
        self.closed = False
        self._lock = threading.Lock()

    def test(self) -> None:
        return None

    def open(self, context: WriteContext) -> None:
        self.context = context
        self.finished = False
        self.closed = False

    def write_batch(self, batch: WriteBatch) -> BatchResult:
        with self._lock:
            self.calls += 1
            if self.raise_on_batch is not None:
                error = self.raise_on_batch(self.calls)
                if error is not None:
                    raise error
            self.batches.append(batch)
            assert len(batch) <= self.capabilities.max_batch_rows
            assert self.context is not None
            id_field = self.context.id_field
            failures = []
            for index, row in enumerate(batch.records.to_pylist()):
                reason = self.reject(batch.action, row) if self.reject else None
                if reason is None:
                    reason = self._apply(batch.action, id_field, row)
                if reason is not None:
                    failures.append(RowFailure(index, reason))
            return BatchResult(failures)

    def _apply(self, action: WriteAction, id_field: str, row: dict[str, Any]) -> str | None:
        key = row.get(id_field)
        if action is WriteAction.APPEND:
            self.events.append(row)
        elif action is WriteAction.UPSERT:
            self.records[key] = {**self.records.get(key, {}), **row}
        elif action is WriteAction.UPDATE:
            if key not in self.records:
                return "record not found"
            self.records[key] = {**self.records[key], **row}
        elif action is WriteAction.INSERT:
            if key in self.records:
                return "record exists"
            self.records[key] = row
        elif action is WriteAction.DELETE:
            self.records.pop(key, None)
        return None

    def finish(self) -> None:
        self.finished = True

    def close(self) -> None:
        self.closed = True

    def sent_keys(self) -> list[str]:
        """Every primary key handed over, in order, across all batches."""
        return [key for batch in self.batches for key in batch.keys]


class LastingDestination(MemoryDestination):
    """A memory destination whose records live in one object, as a table or a maintained
    file holds them: a run creates the object when it is missing, and a test can drop it."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.exists = False
        self.created = 0
        """How many times a run created the object."""

    def find_object(self, object_name: str, *, sync_id: int) -> bool | None:
        return self.exists

    def open(self, context: WriteContext) -> None:
        super().open(context)
        if not self.exists:
            self.exists = True
            self.created += 1

    def drop(self) -> None:
        """Drop the object and every record in it, out of band."""
        self.records.clear()
        self.exists = False


@dataclass
class Reporter:
    """Collects what a run reports; can ask to cancel after some progress calls."""

    stages: list[RunStatus] = field(default_factory=list)
    rejected_rows: list[RejectedRow] = field(default_factory=list)
    succeeded_rows: list[SucceededRows] = field(default_factory=list)
    progress_calls: int = 0
    cancel_after_progress: int | None = None
    last: RunProgress | None = None
    interrupted: list[InterruptedOutcome] = field(default_factory=list)
    """What killed runs' journals held, as the run settled it on their records."""

    def stage(self, status: RunStatus) -> None:
        self.stages.append(status)

    def progress(self, progress: RunProgress) -> None:
        self.progress_calls += 1
        self.last = progress

    def rejected(self, rows: list[RejectedRow]) -> None:
        self.rejected_rows.extend(rows)

    def succeeded(self, rows: SucceededRows) -> None:
        self.succeeded_rows.append(rows)

    def settle_interrupted(self, outcome: InterruptedOutcome) -> None:
        self.interrupted.append(outcome)

    def cancel_requested(self) -> bool:
        limit = self.cancel_after_progress
        return limit is not None and self.progress_calls >= limit


@dataclass
class Harness:
    """One sync: a source table, a destination and a snapshot folder, run repeatedly."""

    snapshot_dir: Path
    table: pa.Table
    configuration: dict[str, Any] = field(
        default_factory=lambda: {"mode": "upsert", "object": "people"}
    )
    primary_key: str = "id"
    destination: MemoryDestination = field(default_factory=MemoryDestination)
    run_id: int = 0
    reporter: Reporter = field(default_factory=Reporter)

    def run(self, **flags: Any) -> RunResult:
        """Run the sync once over the current table, on the planner the environment names
        (see :mod:`warehouse_doubles`)."""
        self.run_id += 1
        self.reporter = Reporter(cancel_after_progress=flags.pop("cancel_after", None))
        source: Source = ArrowSource(self.table)
        if planner_kind() not in LOCAL_VARIANTS:
            source = warehouse_source(self.table, self.snapshot_dir)
        job = RunJob(
            sync_id=7,
            run_id=self.run_id,
            source=source,
            model_query=MODEL_QUERY,
            primary_key=self.primary_key,
            configuration=SyncConfiguration.parse(self.configuration),
            destination=self.destination,
            snapshot_dir=self.snapshot_dir,
            retry=RetryPolicy(retries=2, base_delay=0.001, max_delay=0.002),
            **flags,
        )
        if planner_kind() != "narrow":
            return execute_run(job, self.reporter)
        # Every snapshot counts as too large for the join budget: the narrow join runs.
        with mock.patch.object(local_planner, "_JOIN_BYTES_PER_ENTRY", 1 << 50):
            return execute_run(job, self.reporter)

    def sent(self) -> list[str]:
        """Keys sent since the last call."""
        keys = self.destination.sent_keys()
        self.destination.batches.clear()
        return sorted(keys)


def people(rows: Sequence[tuple[Any, ...]], schema: pa.Schema | None = None) -> pa.Table:
    """A model table of (id, name, score) rows, or rows of ``schema``."""
    schema = schema or pa.schema(
        [("id", pa.int64()), ("name", pa.string()), ("score", pa.float64())]
    )
    columns: list[Sequence[Any]] = list(zip(*rows, strict=True)) if rows else [[] for _ in schema]
    return pa.Table.from_arrays(
        [pa.array(list(col), f.type) for col, f in zip(columns, schema, strict=True)],
        schema=schema,
    )
