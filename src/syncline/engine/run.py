"""One sync run: query the model, plan the changes, deliver them, report the outcome.

:func:`execute_run` never raises for a run that fails on purpose (a user error, a
connector error, a guard, duplicate keys): it returns a failed :class:`RunResult`
whose one-line error names the cause and the fix. A run that could not have its
snapshot file, because another run still holds it, returns ``interrupted``: it
touched nothing, and a later run does its work.
"""

from __future__ import annotations

import itertools
import json
import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa

from syncline.connectors.destinations.base import (
    RESERVED_FIELD_FIX,
    Destination,
    SyncMode,
    WriteContext,
    field_name_problems,
    reserved_field_problem,
)
from syncline.connectors.sources.base import ROW_HASH_COLUMN, Source, TwoPassReader
from syncline.connectors.sources.interruptible import stopped_by
from syncline.engine.actions import Step, plan_steps
from syncline.engine.config import SyncConfiguration
from syncline.engine.delivery import Delivery, RetryPolicy
from syncline.engine.guards import check_guards
from syncline.engine.mapping import (
    RecordMapper,
    check_columns,
    check_unique_columns,
    referenced_columns,
)
from syncline.engine.planner.base import Planner, PlannerStore, may_replace
from syncline.engine.planner.local import IngestStats, LocalPlanner
from syncline.engine.planner.prefetch import close_now, prefetched
from syncline.engine.planner.store import (
    CLEAR_AND_FILL,
    DEFAULT_LOCK_WAIT_SECONDS,
    FULL_RESYNC,
    delete_snapshot,
    discard_snapshot_file,
    drop_full_load_request,
    request_full_load,
    requested_full_load,
    snapshot_path,
    strays_note,
    strays_path,
)
from syncline.engine.planner.switch import (
    mark_warehouse,
    marked_schema,
    take_local_snapshot,
    take_schema_snapshot,
    take_warehouse_snapshot,
)
from syncline.engine.planner.warehouse import planner_schema
from syncline.engine.planner.warehouse.choice import DEFAULT_SCHEMA
from syncline.engine.report import Operation, RowCounts, RunProgress, RunReporter, RunStatus
from syncline.errors import (
    ConnectorError,
    PlannerOutOfMemory,
    RunCancelled,
    SnapshotLocked,
    StopSignal,
    SynclineError,
    UserError,
)
from syncline.settings import DEFAULT_PLANNER_JOIN_MEMORY, DEFAULT_SUCCEEDED_ROWS_PER_RUN

__all__ = [
    "RetryPolicy",
    "RunJob",
    "RunResult",
    "delete_snapshot",
    "execute_run",
    "referenced_columns",
]

logger = logging.getLogger(__name__)


@dataclass
class RunJob:
    """Everything one run needs: the sync's parts and the flags it was triggered with."""

    sync_id: int
    run_id: int
    source: Source
    model_query: str
    primary_key: str
    configuration: SyncConfiguration
    destination: Destination
    snapshot_dir: Path
    full_resync: bool = False
    reset_cdc: bool = False
    clear_and_fill: bool = False
    """Empty the destination object, then send every row as a full resync does."""
    dry_run: bool = False
    """Plan and report counts; write nothing and commit nothing.

    A journal left by a killed run is still settled on that run's record and folded
    into the snapshot first, which changes nothing the snapshot records (see
    :mod:`syncline.engine.planner.store`): acknowledged rows stay acknowledged, and rows
    in doubt become unknown entries, the same fact in the snapshot's own form. A dry run
    journals no doubt of its own.
    """
    memory_limit: str | None = None
    join_memory: str | None = None
    """The local planner's join budget (see :attr:`Settings.planner_join_memory`)."""
    threads: int | None = None
    snapshot_lock_wait: float = DEFAULT_LOCK_WAIT_SECONDS
    """Seconds to wait for a snapshot file another run holds before the run ends
    ``interrupted`` (see :attr:`Settings.snapshot_lock_wait_seconds`)."""
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    """Backoff for batches that fail transiently."""
    installation_id: str | None = None
    """The catalog's installation id; the in-warehouse planner marks its schema with it."""
    sync_slug: str | None = None
    """The sync's slug, by which people know it: errors name the sync with it."""
    succeeded_rows_limit: int = DEFAULT_SUCCEEDED_ROWS_PER_RUN
    """The most acknowledged rows the run reports for the user to list, the first ones
    delivered (see :attr:`Settings.succeeded_rows_per_run`); 0 reports none."""

    @property
    def sync_name(self) -> str:
        """How errors for people name the sync: ``'slug' (id 7)``, or the id alone."""
        if self.sync_slug is None:
            return str(self.sync_id)
        return f"{self.sync_slug!r} (id {self.sync_id})"


INTERNAL = "INTERNAL"
"""The code of a run ended by a bug in Syncline rather than by anything the user can fix."""


@dataclass
class RunResult:
    """How a run ended: its terminal status, its counters and, when it failed, why."""

    status: RunStatus
    progress: RunProgress
    error: str | None = None
    code: str | None = None
    """The error's code from :mod:`syncline.errors` (``INTERNAL`` for a bug), if known."""
    exception: BaseException | None = None
    """The unexpected exception behind an internal error, whose traceback the worker logs."""


def execute_run(job: RunJob, reporter: RunReporter) -> RunResult:
    """Run one sync end to end and return its terminal status; never raises for a failure."""
    progress = RunProgress(succeeded_rows_limit=job.succeeded_rows_limit)
    logger.info(
        "sync %s run %s started (mode %s%s%s%s%s)",
        job.sync_id,
        job.run_id,
        job.configuration.mode.value,
        ", full resync" if job.full_resync else "",
        ", clear and fill" if job.clear_and_fill else "",
        ", reset CDC" if job.reset_cdc else "",
        ", dry run" if job.dry_run else "",
        extra=_context(job),
    )
    try:
        status = _Run(job, reporter, progress).execute()
    except SnapshotLocked as exc:
        return _locked_out(job, progress, exc)
    except RunCancelled:
        # Asked to stop while the model's query ran, which was cancelled, or while the
        # destination waited to open its object: nothing was sent.
        logger.info(
            "sync %s run %s stopped before it sent anything",
            job.sync_id,
            job.run_id,
            extra=_context(job),
        )
        return RunResult(status=RunStatus.CANCELLED, progress=progress)
    except Exception as exc:
        if _interrupted_query(exc):
            # DuckDB answers Ctrl-C (or SIGTERM) during a query with an error of its own
            # and drops the interrupt; raised again, the run ends interrupted, not failed.
            raise (StopSignal.received or KeyboardInterrupt()) from exc
        # The worker that executes the run logs how it ended, once (a bug with its traceback).
        if isinstance(exc, SynclineError):
            return _failed(progress, _describe(exc), exc.code)
        if isinstance(exc, OSError):
            return _failed(progress, _describe(exc), "OS_ERROR")
        if isinstance(exc, duckdb.OutOfMemoryException):
            return _failed(progress, _out_of_memory(job, exc), PlannerOutOfMemory.code)
        message = (
            f"internal error: {type(exc).__name__}: {exc}; this is a bug in Syncline, "
            "please report it with the worker's log"
        )
        return _failed(progress, message, INTERNAL, exc)

    # A run stopped early may have been cancelled by a user or stopped with its worker;
    # only the worker knows which, and logs the run's final status when it records it.
    ended = "stopped at a batch boundary" if status == RunStatus.CANCELLED else status.value
    logger.info(
        "sync %s run %s %s: %s rows read, planned %s, succeeded %s, rejected %s",
        job.sync_id,
        job.run_id,
        ended,
        progress.query_size,
        progress.planned.as_api(),
        progress.successful.as_api(),
        progress.failed.as_api(),
        extra=_context(job),
    )
    return RunResult(status=status, progress=progress)


def _interrupted_query(exc: BaseException) -> bool:
    """Whether ``exc`` (or an error it was raised from) is a DuckDB query stopped by a
    signal: ``RuntimeError('Query interrupted')`` or DuckDB's own InterruptException."""
    seen: BaseException | None = exc
    while seen is not None:
        if type(seen) is RuntimeError and str(seen) == "Query interrupted":
            return True
        if isinstance(seen, duckdb.InterruptException):
            return True
        seen = seen.__cause__
    return False


def _context(job: RunJob) -> dict[str, object]:
    """Fields that make a run's log lines queryable in JSON output."""
    return {
        "sync_id": job.sync_id,
        "run_id": job.run_id,
        "destination": job.destination.type_name,
    }


def _failed(
    progress: RunProgress, message: str, code: str, exception: BaseException | None = None
) -> RunResult:
    return RunResult(RunStatus.FAILED, progress, message, code, exception)


def _locked_out(job: RunJob, progress: RunProgress, exc: SnapshotLocked) -> RunResult:
    """End a run that could not have its snapshot file: it touched nothing, so a later run
    does its work. Stopped while waiting, it ends as a run stopped before a batch does."""
    message = f"{_describe(exc)} [{exc.code}]"
    # The store logged who holds the file and what to do (an error when the wait ran out).
    logger.info(
        "sync %s run %s ends without its snapshot file, held by %s",
        job.sync_id,
        job.run_id,
        exc.holder,
        extra=_context(job),
    )
    status = RunStatus.CANCELLED if exc.stopped else RunStatus.INTERRUPTED
    return RunResult(status=status, progress=progress, error=message, code=exc.code)


def _out_of_memory(job: RunJob, exc: duckdb.OutOfMemoryException) -> str:
    """What to do when the planner's DuckDB ran out of its memory: raise the budget."""
    said = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    budget = job.join_memory or DEFAULT_PLANNER_JOIN_MEMORY
    return (
        f"the local planner ran out of memory ({said}) under its budget of {budget}: "
        "set SYNCLINE_PLANNER_JOIN_MEMORY higher (e.g. 512MB; at most "
        "SYNCLINE_PLANNER_MEMORY_LIMIT) and run the sync again; models with long keys "
        "(hundreds of bytes) need the most"
    )


def _describe(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    # Name the connector unless the message already starts with it.
    if isinstance(exc, ConnectorError) and exc.connector:
        if not text.lower().startswith(exc.connector.lower()):
            text = f"{exc.connector}: {text}"
    if isinstance(exc, SynclineError) and exc.code != type(exc).code:
        text = f"{text} [{exc.code}]"
    return text


class _Run:
    """The stages of one run, sharing the job, the reporter and the counters."""

    def __init__(self, job: RunJob, reporter: RunReporter, progress: RunProgress) -> None:
        self.job = job
        self.reporter = reporter
        self.progress = progress
        self.configuration = job.configuration
        external = job.configuration.external_id_mapping
        self.id_column = external.from_ if external else job.primary_key
        # A resync a stopped run was asked for but never began is this run's to do.
        requested = None if job.reset_cdc else requested_full_load(job.snapshot_dir, job.sync_id)
        self.full_resync = job.full_resync or requested == FULL_RESYNC
        self.clear_and_fill = job.clear_and_fill or requested == CLEAR_AND_FILL
        # Clearing the object leaves nothing to diff against: every row is sent again.
        self.full_load = self.full_resync or self.clear_and_fill
        self.clearing = self.clear_and_fill
        """Whether the destination object is emptied before the first batch: asked for,
        or left pending by an interrupted clear and fill (see :meth:`_resume_clear`)."""
        self.object_expected = False
        """Whether the run plans on the destination's object being there: it looked, and
        found it (see :meth:`_object_lost`)."""
        progress.full_resync = job.full_resync or requested is not None
        self._preparing: threading.Thread | None = None
        self._looked = False
        """Whether the destination may hold a connection from looking for its object,
        which :meth:`_deliver` hands to the run's writes and closes after them."""

    def execute(self) -> RunStatus:
        self._check_mode()
        # Parsing the templates now reports a broken one before the model is queried.
        referenced_columns(self.configuration, self.job.primary_key)
        self._warn_of_strays()
        if self.full_load and not self.job.dry_run:
            # Until its first batch makes the resync pending in the snapshot, a stop at any
            # point (a cancel, SIGTERM during the query) leaves it to the next run.
            request_full_load(self.job.snapshot_dir, self.job.sync_id, clear=self.clear_and_fill)

        self.reporter.stage(RunStatus.QUERYING)
        preparing = self._prepare_destination()
        try:
            if planner_schema(self.job.source) is not None:
                return self._plan_in_warehouse()
            # A source switched from the warehouse planner left the sync's snapshot there.
            take_warehouse_snapshot(
                self.job.source,
                self.job.snapshot_dir,
                self.job.sync_id,
                installation_id=self.job.installation_id,
                settle=self.reporter.settle_interrupted,
                lock_wait=self.job.snapshot_lock_wait,
                stop_waiting=self.reporter.cancel_requested,
            )
            two_pass = self.job.source.two_pass(self.job.model_query)
            if two_pass is not None:
                try:
                    return self._plan_two_pass(two_pass)
                finally:
                    two_pass.close()
            reader = iter(self.job.source.read(self.job.model_query))
            try:
                return self._plan_run(reader)
            finally:
                # Closing the source's generator releases its connection even on a failure.
                close_now(reader)
        finally:
            # Whatever ended the run, the destination is closed after its preparation.
            if preparing is not None:
                preparing.join()
            if self._looked:
                # The run ended between looking for the object and writing to it.
                self.job.destination.close()

    def _warn_of_strays(self) -> None:
        """Log, on every run until a clear and fill, that the object may hold records the
        sync delivered before its id field or primary key changed, which it cannot remove."""
        warning = strays_note(self.job.snapshot_dir, self.job.sync_id)
        if warning is None or self.clear_and_fill:
            return
        logger.warning("sync %s: %s", self.job.sync_id, warning, extra=_context(self.job))

    def _prepare_destination(self) -> threading.Thread | None:
        """Let the destination load its driver and connect while the model is read.

        Joined before the destination is opened (see :meth:`_deliver`); a dry run, which
        never opens it, does not prepare it.
        """
        if self.job.dry_run:
            return None
        thread = threading.Thread(
            target=self.job.destination.prepare, name="syncline-prepare", daemon=True
        )
        thread.start()
        self._preparing = thread
        return thread

    def _plan_run(self, reader: Iterator[pa.RecordBatch]) -> RunStatus:
        # The query runs until its first batch: a cancel meanwhile cancels the query.
        with stopped_by(self.reporter.cancel_requested):
            first = next(reader, None)
        if first is None:
            return self._plan_model(iter(()), self._described_schema())
        # The model's next batches are read while the planner opens its snapshot file
        # (which may replay a log or fold a killed run's journal); the first one was read
        # here, on this thread, where a signal can still cancel the query.
        rest = prefetched(reader, start=True)
        try:
            return self._plan_model(itertools.chain([first], rest), first.schema)
        finally:
            # Stops the reading thread, which closes the source's generator, before the
            # caller closes the source.
            rest.close()

    def _plan_model(self, batches: Iterator[pa.RecordBatch], schema: pa.Schema) -> RunStatus:
        columns = self._columns(schema)
        mapper = self._mapper(schema, columns)
        planner = self._open_planner()
        try:
            stats = planner.ingest(batches, schema, columns, salt=self._mapping_signature())
            if self._object_lost(planner.store) and not planner.keeps_every_row:
                stats = self._ingest_every_row(planner, schema, columns)
            return self._plan_ingested(planner, mapper, stats)
        finally:
            planner.close()

    def _plan_two_pass(self, source: TwoPassReader) -> RunStatus:
        """Plan from a source that can read the model in two passes: each row's key and
        the row hash its server computes, then whole only the rows whose hash does not
        vouch for their snapshot entry (see :meth:`LocalPlanner.ingest_two_pass`).

        A run that sends every row (a first run too), or a model whose rows the server
        cannot find by key without running it whole, reads it in one pass, with the row
        hashes, which the snapshot keeps for the next run's first pass.
        """
        schema = source.schema
        columns = self._columns(schema)
        mapper = self._mapper(schema, columns)
        planner = self._open_planner()
        try:
            salt = self._mapping_signature()
            compared, signature = planner.row_hash_signature(schema, columns, salt=salt)
            row_hash = source.row_hash(compared, signature)
            hashed = schema.append(pa.field(ROW_HASH_COLUMN, pa.int64()))
            key = self.job.primary_key
            # A first run has no snapshot entry a hash could vouch for: every row is read.
            if (
                planner.keeps_every_row
                or planner.store.snapshot_size() == 0
                or not source.fetchable(key)
            ):
                stats = planner.ingest(
                    self._started(source.read(row_hash)),
                    hashed,
                    columns,
                    salt=salt,
                    row_hashes=True,
                )
            else:
                stats = planner.ingest_two_pass(
                    self._started(source.read_keys(key, row_hash)),
                    lambda keys: (
                        source.read(row_hash)
                        if keys is None
                        else source.read_rows(key, keys, row_hash)
                    ),
                    schema,
                    columns,
                    salt=salt,
                    every_key=lambda: source.read_keys(key, row_hash),
                )
            if self._object_lost(planner.store) and not planner.keeps_every_row:
                planner.keep_every_row()
                stats = planner.ingest(
                    source.read(row_hash), hashed, columns, salt=salt, row_hashes=True
                )
            return self._plan_ingested(planner, mapper, stats)
        finally:
            planner.close()

    def _started(self, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        """``batches``, their first read here, where a cancel of the run stops the query
        while it runs (see :meth:`_plan_run`); closing the result closes ``batches``."""
        with stopped_by(self.reporter.cancel_requested):
            first = next(batches, None)

        def rest() -> Iterator[pa.RecordBatch]:
            try:
                if first is not None:
                    yield first
                    yield from batches
            finally:
                close_now(batches)

        return rest()

    def _ingest_every_row(
        self, planner: LocalPlanner, schema: pa.Schema, columns: list[str]
    ) -> IngestStats:
        """Read the model again, keeping every row: the first read kept only the rows
        that changed, and this run found out after it that it sends them all.

        Only a run whose destination lost its object reads the model twice; looking for
        the object once the model is read keeps the destination's connection apart from
        the source's (they may share a DuckDB file) and its preparation off the read.
        """
        planner.keep_every_row()
        reader = iter(self.job.source.read(self.job.model_query))
        try:
            return planner.ingest(reader, schema, columns, salt=self._mapping_signature())
        finally:
            close_now(reader)

    def _plan_in_warehouse(self) -> RunStatus:
        """Plan in the source: the model runs there, only planned rows are read out."""
        from syncline.engine.planner.warehouse import WarehousePlanner, check_single_query
        from syncline.engine.planner.warehouse.sql import PlannerSQL

        # Before the source describes it, so that a statement that is no query is named
        # as such rather than by the driver's error about it.
        check_single_query(self.job.model_query, self.job.source.dialect)
        described = self.job.source.describe(self.job.model_query)
        schema = pa.schema([column.field() for column in described])
        columns = self._columns(schema)
        mapper = self._mapper(schema, columns)
        # A source switched from the local planner left the sync's snapshot in its file.
        carried = take_local_snapshot(
            self.job.snapshot_dir,
            self.job.sync_id,
            settle=self.reporter.settle_interrupted,
            lock_wait=self.job.snapshot_lock_wait,
            stop_waiting=self.reporter.cancel_requested,
        )
        # A source that names another planner schema left the snapshot in the old one.
        moved_from = self._moved_schema() if carried is None else None
        if moved_from is not None:
            carried = take_schema_snapshot(
                self.job.source,
                moved_from,
                self.job.sync_id,
                installation_id=self.job.installation_id,
                settle=self.reporter.settle_interrupted,
            )
        planner = WarehousePlanner(
            self.job.source,
            self.job.sync_id,
            primary_key=self.job.primary_key,
            id_column=self.id_column,
            installation_id=self.job.installation_id,
            settle=self.reporter.settle_interrupted,
            carried=carried,
        )
        try:
            if carried is not None and moved_from is not None:
                # Only once the new schema holds the snapshot: should this fail, the run
                # fails before sending, and the next one takes the same snapshot over.
                # Through the planner's session: a second one to a DuckDB file would clash
                # with it. The schema's owner was checked as the snapshot was taken.
                dropped = PlannerSQL(planner.session.dialect, moved_from, self.job.sync_id)
                for statement in dropped.drop_tables():
                    planner.session.execute(statement)
                logger.info(
                    "sync %s: took its snapshot over from planner schema %r, which the source "
                    "no longer names; this run sends every row once and removes the records "
                    "the model lacks",
                    self.job.sync_id,
                    moved_from,
                    extra=_context(self.job),
                )
            elif carried is not None:
                discard_snapshot_file(self.job.snapshot_dir, self.job.sync_id)
                logger.info(
                    "sync %s: took its snapshot over from the local planner's file; this run "
                    "sends every row once and removes the records the model lacks",
                    self.job.sync_id,
                    extra=_context(self.job),
                )
            mark_warehouse(self.job.snapshot_dir, self.job.sync_id, planner.sql.schema)
            with stopped_by(self.reporter.cancel_requested):
                stats = planner.ingest(
                    self.job.model_query,
                    schema,
                    columns,
                    salt=self._mapping_signature(),
                    read_forms={c.name: c.read_as for c in described if c.read_as is not None},
                )
            # The warehouse keeps every model row: a run that sends them all plans from it.
            self._object_lost(planner.store)
            return self._plan_ingested(planner, mapper, stats)
        finally:
            planner.close()

    def _moved_schema(self) -> str | None:
        """The planner schema the sync's last warehouse run used, when the source now
        names another one; None otherwise."""
        marked = marked_schema(self.job.snapshot_dir, self.job.sync_id)
        now = planner_schema(self.job.source) or DEFAULT_SCHEMA
        return marked if marked is not None and marked != now else None

    def _mapper(self, schema: pa.Schema, columns: list[str]) -> RecordMapper:
        mapper = RecordMapper(
            self.configuration,
            self.job.primary_key,
            pa.schema([schema.field(name) for name in columns]),
            sync_id=self.job.sync_id,
            run_id=self.job.run_id,
            key_column="_sl_key",
        )
        # Checked here, before the model is planned: a sync without mappings gets its
        # fields from the model's columns, which only the run knows for sure.
        fields = [spec.name for spec in mapper.fields]
        problem = reserved_field_problem(
            type(self.job.destination), self.configuration.object, fields
        )
        if problem is not None:
            raise UserError(
                f"sync {self.job.sync_name}: {problem}; {RESERVED_FIELD_FIX}", code="FIELD_RESERVED"
            )
        refused = field_name_problems(type(self.job.destination), fields)
        if refused:
            _, message, fix = refused[0]
            raise UserError(
                f"sync {self.job.sync_name}: {message}; {fix}", code="FIELD_NAME_REFUSED"
            )
        return mapper

    def _plan_ingested(
        self, planner: Planner, mapper: RecordMapper, stats: IngestStats
    ) -> RunStatus:
        """Check keys, then diff and deliver (or set a new baseline) once rows are in."""
        self.progress.query_size = stats.query_size
        self.progress.skipped_null_keys = stats.null_keys
        self.reporter.progress(self.progress)
        planner.check_unique_keys()

        self.reporter.stage(RunStatus.PROCESSING)
        if self.job.reset_cdc:
            return self._reset_baseline(planner)
        self._resume_clear(planner)
        completed = self._plan_and_deliver(planner, mapper, stats.query_size - stats.null_keys)

        self.reporter.stage(RunStatus.REPORTING)
        if not completed:
            return RunStatus.CANCELLED
        if self.clearing and not self.job.dry_run:
            # The object was emptied and filled from the model: nothing stray is left.
            strays_path(self.job.snapshot_dir, self.job.sync_id).unlink(missing_ok=True)
        return RunStatus.WARNING if self.progress.failed.total else RunStatus.SUCCESS

    def _mapping_signature(self) -> str:
        """The mappings and external id as canonical JSON, hashed into every fingerprint."""
        dumped = self.configuration.dump()
        shape = {key: dumped.get(key) for key in ("mappings", "externalIdMapping")}
        return json.dumps(shape, sort_keys=True, separators=(",", ":"))

    def _check_mode(self) -> None:
        destination = self.job.destination
        if self.clear_and_fill and not self.job.clear_and_fill:
            self._check_owed_clear()
        if self.job.clear_and_fill and not destination.capabilities.clears_objects:
            raise UserError(
                f"destination {destination.type_name!r} cannot empty its object, so it "
                "cannot clear and fill; trigger a full resync instead",
                code="CLEAR_NOT_SUPPORTED",
            )
        mode = self.configuration.mode
        supported = self.job.destination.capabilities.modes
        if mode not in supported:
            names = ", ".join(sorted(m.value for m in supported))
            raise UserError(
                f"destination {self.job.destination.type_name!r} does not support mode "
                f"{mode.value!r} (it supports: {names}); change the sync's mode",
                code="MODE_NOT_SUPPORTED",
            )

    def _check_owed_clear(self) -> None:
        """Refuse to take over a clear and fill a stopped run owes when the destination
        (changed since) cannot empty its object."""
        destination = self.job.destination
        if destination.capabilities.clears_objects:
            return
        raise UserError(
            f"a stopped clear and fill of sync {self.job.sync_name} has still to empty the "
            f"object, but destination {destination.type_name!r} cannot; point the sync at a "
            "destination that can, or trigger resetCDC to give the clear up",
            code="CLEAR_NOT_SUPPORTED",
        )

    def _described_schema(self) -> pa.Schema:
        """The model's schema as the source describes it: for a model without rows."""
        described = self.job.source.describe(self.job.model_query)
        return pa.schema([column.field() for column in described])

    def _columns(self, schema: pa.Schema) -> list[str]:
        check_unique_columns(schema.names, f"the model of sync {self.job.sync_name}")
        if self.job.primary_key not in schema.names:
            raise UserError(
                f"the model's primary key column {self.job.primary_key!r} is not in the model "
                f"of sync {self.job.sync_name} (its columns: {', '.join(schema.names) or 'none'});"
                " set the model's primaryKey to one of them, or return the column from its query",
                code="PRIMARY_KEY_MISSING",
            )
        columns = referenced_columns(self.configuration, self.job.primary_key, schema.names)
        check_columns(columns, schema.names, f"the model of sync {self.job.sync_name}")
        self.progress.model_columns = list(schema.names)
        return columns

    def _open_planner(self) -> LocalPlanner:
        path = snapshot_path(self.job.snapshot_dir, self.job.sync_id)
        return LocalPlanner(
            self.job.snapshot_dir,
            self.job.sync_id,
            primary_key=self.job.primary_key,
            id_column=self.id_column,
            memory_limit=self.job.memory_limit,
            join_memory=self.job.join_memory,
            threads=self.job.threads,
            # A dry run of a sync that never ran must not leave a snapshot file behind.
            in_memory=self.job.dry_run and not path.exists(),
            rebuild=self.full_load or self.job.reset_cdc,
            every_row=self.configuration.mode is SyncMode.ALL,
            lock_wait=self.job.snapshot_lock_wait,
            # A stopping worker or a user's cancel ends the wait; so does a lost lease.
            stop_waiting=self.reporter.cancel_requested,
            # A journal left by a killed run is settled on that run's record, then folded.
            settle=self.reporter.settle_interrupted,
        )

    def _object_lost(self, store: PlannerStore) -> bool:
        """Whether the destination's object that the snapshot describes is gone (a table
        dropped, a maintained file deleted); if so, this run becomes a full resync.

        The snapshot then no longer tells what the destination holds, so the run sends
        every model row, its resync pending in the snapshot from before its first write
        until a run completes it, as for one that was asked for. Looked at after the
        model is read and before anything is planned or written; a first run (an empty
        snapshot) has nothing to lose, and a dry run does not look at the destination.
        """
        if self.full_load or self.job.reset_cdc or self.job.dry_run:
            return False
        delivered = store.snapshot_size()
        if delivered == 0:
            return False

        self._join_preparation()
        destination = self.job.destination
        self._looked = True
        found = destination.find_object(self.configuration.object, sync_id=self.job.sync_id)
        self.object_expected = found is True
        if found is not False:
            return False

        logger.warning(
            "sync %s: the %s destination's object %r is gone, though the snapshot holds %s "
            "rows sent to it; this run sends every model row again, as a full resync does",
            self.job.sync_id,
            destination.type_name,
            self.configuration.object,
            delivered,
            extra=_context(self.job),
        )
        self.full_load = True
        self.progress.full_resync = True
        return True

    def _join_preparation(self) -> None:
        """Wait for :meth:`Destination.prepare`, which must end before anything else."""
        if self._preparing is not None:
            self._preparing.join()

    def _resume_clear(self, planner: Planner) -> None:
        """Take over the clear an interrupted clear and fill left pending, if any.

        Its snapshot was emptied with the clear journaled, so this run plans every row
        as added; it must empty the object first, as that run was about to.
        """
        if self.clearing or self.job.dry_run or not planner.store.clear_pending():
            return
        destination = self.job.destination
        if not destination.capabilities.clears_objects:
            raise UserError(
                f"an interrupted clear and fill of sync {self.job.sync_name} has still to empty "
                f"the object, but destination {destination.type_name!r} cannot; point the "
                "sync at a destination that can, or trigger resetCDC to give the clear up",
                code="CLEAR_NOT_SUPPORTED",
            )
        logger.info(
            "sync %s: resuming an interrupted clear and fill: the object is emptied first",
            self.job.sync_id,
            extra=_context(self.job),
        )
        self.clearing = True

    def _reset_baseline(self, planner: Planner) -> RunStatus:
        if not self.job.dry_run and self.reporter.cancel_requested():
            return RunStatus.CANCELLED
        if not self.job.dry_run:
            planner.store.replace_baseline(planner.current_table)
            drop_full_load_request(self.job.snapshot_dir, self.job.sync_id)
            logger.info("sync %s: the current model rows are the new baseline", self.job.sync_id)
        self.reporter.progress(self.progress)
        self.reporter.stage(RunStatus.REPORTING)
        return RunStatus.SUCCESS

    def _plan_and_deliver(self, planner: Planner, mapper: RecordMapper, rows: int) -> bool:
        mode = self.configuration.mode
        upserts = SyncMode.UPSERT in self.job.destination.capabilities.modes
        steps = plan_steps(mode, self.configuration.removed_rows, upserts=upserts)
        # Whether the sync removes records decides whether the diff plans the records a
        # changed external id replaced (see planner.base.REPLACED_SEPARATOR).
        removes = any(step.operation is Operation.REMOVED and step.sends for step in steps)
        plan = planner.diff(
            every_row=mode is SyncMode.ALL, full_resync=self.full_load, removes=removes
        )
        self.progress.planned = _sent_counts(plan.counts, steps)
        if self.full_resync and not self.clear_and_fill:
            self._warn_of_records_left(planner, steps)
        check_guards(
            self.configuration.guards,
            sync_id=self.job.sync_id,
            model_rows=rows,
            snapshot_rows=plan.snapshot_size,
            removed_rows=plan.counts.removed,
        )
        self.reporter.progress(self.progress)
        if self.job.dry_run:
            return True
        if self.reporter.cancel_requested():
            # Asked before the first write, to the snapshot as much as to the destination:
            # a run presumed stopped while it planned (its worker paused) notes nothing.
            return False

        # Named before its first entry, so that a later run settles on this run's record
        # any outcome it journals but dies before reporting.
        planner.store.begin_journal(self.job.run_id)
        if self.full_load:
            # From here until a run completes, the resync is pending in the snapshot.
            planner.store.begin_full_load(
                planner.current_table,
                clear=self.clear_and_fill,
                forget=mode is SyncMode.INSERT,
            )
            drop_full_load_request(self.job.snapshot_dir, self.job.sync_id)
        for step in steps:
            if not step.sends:
                planner.store.record_unsent(planner.plan_table, step.operation)
        # A key whose record a model row holds now is forgotten: deleting or clearing
        # that record would take it from the row.
        planner.store.record_taken_over(planner.plan_table)
        if may_replace(
            removes=removes,
            full_resync=self.full_load,
            primary_key=self.job.primary_key,
            id_column=self.id_column,
        ):
            # A record a row's changed external id left behind is removed as a removed
            # row's, and planned again by later runs until the destination acknowledges it.
            planner.store.keep_replaced(planner.plan_table)
        completed = False
        try:
            completed = self._deliver(planner, mapper, steps)
        finally:
            planner.store.merge()
        if completed:
            planner.store.forget_absent(planner.current_table, snapshot=self.full_load)
        return completed

    def _warn_of_records_left(self, planner: Planner, steps: list[Step]) -> None:
        """Count, and warn of, the records a full resync leaves in the destination.

        A full resync processes no removals (as Hightouch's does), and it forgets the
        snapshot entries of keys the model lost, so no later run removes their records
        either. Only a sync that removes records (mirror mode, or a delete behavior that
        deletes or clears) would have; a clear and fill is what leaves none.
        """
        if not any(step.operation is Operation.REMOVED and step.sends for step in steps):
            return
        left = planner.store.absent_size(planner.current_table)
        self.progress.left_in_destination = left
        if left == 0:
            return
        one = left == 1
        logger.warning(
            "sync %s: this full resync processes no removals, so %s %s the last snapshot "
            "held for rows no longer in the model %s in the destination's object %r, and no "
            "later run removes %s; trigger a clear and fill (`syncline run SYNC "
            "--clear-and-fill`, or clearAndFill in the API) to remove %s",
            self.job.sync_id,
            left,
            "record" if one else "records",
            "stays" if one else "stay",
            self.configuration.object,
            "it" if one else "them",
            "it" if one else "them",
            extra=_context(self.job),
        )

    def _deliver(self, planner: Planner, mapper: RecordMapper, steps: list[Step]) -> bool:
        destination = self.job.destination
        context = WriteContext(
            sync_id=self.job.sync_id,
            run_id=self.job.run_id,
            object=self.configuration.object,
            mode=self.configuration.mode,
            id_field=mapper.id_field,
            fields=mapper.fields,
            create_object=self.configuration.create_object,
            object_expected=self.object_expected,
            logger=logging.getLogger("syncline.run").getChild(str(self.job.sync_id)),
            stop_requested=self.reporter.cancel_requested,
        )
        delivery = Delivery(
            planner,
            mapper,
            destination,
            self.reporter,
            self.progress,
            self.job.retry,
            succeeded_rows_limit=self.job.succeeded_rows_limit,
        )
        self._join_preparation()
        # From here the destination is closed below, whatever looking for it opened.
        self._looked = False
        try:
            destination.open(context)
            if self.clearing:
                destination.clear()
                planner.store.settle_clear()
            completed = delivery.run(steps)
            if completed:
                destination.finish()
        finally:
            destination.close()
        return completed


def _sent_counts(counts: RowCounts, steps: list[Step]) -> RowCounts:
    """The planned counts of operations that are sent, as the API reports plannedRows."""
    sent = RowCounts()
    # Insert mode splits added rows over two steps; the operation counts once.
    for operation in dict.fromkeys(step.operation for step in steps if step.sends):
        sent.add(operation, counts.of(operation))
    return sent
