"""Run one sync now, in this process: queue, lease, build the connectors, execute, record.

This is the glue the command line (and later the API server and workers) calls. The
run record is written before any work starts, a background thread keeps its heartbeat
fresh, and the run is always finished in the catalog, also when building the
connectors fails.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from syncline.catalog import Catalog, CatalogSession, RunTrigger
from syncline.catalog.catalog import lost_connection
from syncline.catalog.tables import RUNNING_STATUSES, RunRecord, SyncRecord
from syncline.connectors import registry
from syncline.connectors.destinations.base import Destination
from syncline.connectors.sources.base import Source
from syncline.engine.config import SyncConfiguration
from syncline.engine.report import (
    InterruptedOutcome,
    RejectedRow,
    RunProgress,
    RunReporter,
    RunStatus,
    SucceededRows,
)
from syncline.engine.run import INTERNAL, RunJob, RunResult, execute_run
from syncline.errors import (
    CatalogConnectionLost,
    NotFoundError,
    StopSignal,
    SynclineError,
    UserError,
)
from syncline.numerals import whole_number
from syncline.security.files import (
    catalog_is_shared,
    confined_destination,
    confined_source,
    run_file_policy,
)
from syncline.settings import Settings, get_settings
from syncline.worker.recovery import queue_resumption, recover_abandoned

logger = logging.getLogger(__name__)

WAIT_SECONDS = 0.5
"""How often to look again while another run of the same sync is still going."""


@dataclass(frozen=True)
class ProgressEvent:
    """What the run reports to an ``on_progress`` listener: its stage and its counters."""

    status: RunStatus
    progress: RunProgress | None


ProgressListener = Callable[[ProgressEvent], None]
"""Called on every stage change and counter update, e.g. to drive a progress bar."""


def worker_name() -> str:
    """This process's worker name: host and process id."""
    return f"{socket.gethostname()}:{os.getpid()}"


def run_sync(
    catalog: Catalog,
    sync_ref: int | str,
    *,
    full_resync: bool = False,
    reset_cdc: bool = False,
    clear_and_fill: bool = False,
    dry_run: bool = False,
    on_progress: ProgressListener | None = None,
    workspace: int | str = "default",
    settings: Settings | None = None,
) -> dict[str, Any]:
    """Run the sync ``sync_ref`` (id or slug) to its end and return the run in API shape.

    Raises:
        NotFoundError: no such sync in the workspace.
        UserError: the sync is disabled; ``reset_cdc`` is set with ``full_resync`` or
            ``clear_and_fill``; or ``clear_and_fill`` is set and the sync's destination
            cannot empty its object.
    """
    if reset_cdc and (full_resync or clear_and_fill):
        asked = "a full resync" if full_resync else "a clear and fill"
        raise UserError(
            f"{asked} (send every row) and a CDC reset (send nothing) conflict; ask for one of them"
        )
    settings = settings or get_settings()
    worker = worker_name()
    trigger = RunTrigger(
        full_resync=full_resync, reset_cdc=reset_cdc, clear_and_fill=clear_and_fill,
        dry_run=dry_run,
    )  # fmt: skip

    with catalog.session(workspace, read_only=True) as session:
        sync = find_sync(session, sync_ref)
        if sync.disabled:
            raise UserError(
                f"sync {sync.slug!r} is disabled; set disabled: false in the project and "
                "apply it, then run it again"
            )
        if clear_and_fill:
            _check_clears(session, sync)
        sync_id = sync.id
    stale_after = timedelta(seconds=settings.worker_stale_seconds)
    # A run of this sync whose worker stopped is interrupted here and its resumption
    # queued, which the run queued next is (the queue holds one run per sync).
    recover_abandoned(catalog, stale_after)
    with catalog.session(workspace) as session:
        run_id = session.runs.enqueue(sync_id, trigger, triggered_by="cli").id

    if not _start_when_free(catalog, workspace, sync_id, run_id, worker, stale_after):
        # A worker service serving this catalog leased the run first: show its outcome.
        return _follow(catalog, workspace, run_id, on_progress)
    logger.info(
        "run %s of sync %s leased by %s", run_id, sync_id, worker, extra=_ids(sync_id, run_id)
    )
    try:
        # Alerts see this run too: a run started from cron is as unattended as a worker's,
        # and a trigger's state must follow every run, or a recovery goes unnoticed.
        execute_leased(catalog, run_id, settings, on_progress=on_progress)
    except KeyboardInterrupt as stop:
        # Acknowledged batches are committed; the next run resumes from them.
        how = stop.name if isinstance(stop, StopSignal) else "the user (Ctrl-C)"
        with catalog.session(workspace) as session:
            session.runs.finish(
                run_id, RunStatus.INTERRUPTED, error=f"stopped by {how}; the next run of "
                "this sync resumes where this one stopped",
            )  # fmt: skip
        raise

    with catalog.session(workspace, read_only=True) as session:
        return session.to_api(session.runs.get(run_id))


def _check_clears(session: CatalogSession, sync: SyncRecord) -> None:
    """Refuse a clear and fill, before it is queued, at a destination that cannot clear."""
    destination = session.destinations.get(sync.destination_id)
    if not registry.destination_class(destination.type).capabilities.clears_objects:
        raise UserError(
            f"destination {destination.slug!r} ({destination.type}) of sync {sync.slug!r} "
            "cannot empty its object, so it cannot clear and fill; run a full resync "
            "(--full-resync, or fullResync in the API) instead",
            code="CLEAR_NOT_SUPPORTED",
        )


def execute_leased(
    catalog: Catalog,
    run_id: int,
    settings: Settings,
    *,
    on_progress: ProgressListener | None = None,
    stop_requested: Callable[[], bool] | None = None,
    alerts: bool = True,
) -> RunStatus:
    """Execute a run this process has already leased, finish it, and return its status.

    This is the one way a leased run is executed, by ``syncline run`` and by workers
    alike: a background thread keeps the run's heartbeat fresh, the run is finished in
    the catalog also when its connectors cannot be built, and alert policies are then
    evaluated (unless ``alerts`` is false). When ``stop_requested`` turns true (the
    worker is shutting down) the run stops at its next batch boundary, ends
    ``interrupted`` and a new run is queued that resumes its work. The lease is asked
    of the catalog before the first write and before every batch: a run whose lease was
    lost (recovery presumed this process stopped, say while it was paused) sends
    nothing more and keeps the outcome recovery gave it. Such a process holds the
    sync's snapshot file until it stops, and the resuming run waits for the file (up
    to ``snapshot_lock_wait_seconds``, else it ends ``interrupted`` and is queued
    again), so two processes never write the same sync at once.
    """
    workspace_id, sync_id = catalog.retrying(
        lambda session: _owner_of(session, run_id),
        f"looking up run {run_id}",
        idempotent=True,
        read_only=True,
    )

    heartbeat = _Heartbeat(catalog, workspace_id, run_id, settings.worker_heartbeat_seconds)
    heartbeat.start()
    lease = _Lease(catalog, workspace_id, run_id, heartbeat.lease_lost, stop_requested)
    try:
        result = _execute(catalog, workspace_id, sync_id, run_id, settings, on_progress, lease)
    finally:
        heartbeat.stop()

    # The lease is checked once more under a lock: one lost during the last batch too.
    try:
        status, stored, finished = catalog.retrying(
            lambda session: _record_outcome(session, run_id, result, heartbeat.lease_lost),
            f"recording how run {run_id} ended",
            idempotent=False,
            workspace=workspace_id,
        )
    except CatalogConnectionLost as exc:
        # Whether the outcome was stored is unknown: if not, recovery interrupts the run
        # once its heartbeat is stale and queues a run that resumes from the snapshot.
        logger.warning("run %s: %s", run_id, exc, extra=_ids(sync_id, run_id))
        return result.status
    if not finished:
        return status
    _log_outcome(run_id, sync_id, status, stored, result, shown=on_progress is not None)
    if alerts:
        _notify_alerts(catalog, run_id)
    _prune_row_results(catalog, sync_id, settings)
    return status


def _record_outcome(
    session: CatalogSession, run_id: int, result: RunResult, lease_lost: threading.Event
) -> tuple[RunStatus, str | None, bool]:
    """Finish the run with its outcome, unless recovery ended it first; the status and
    error stored, and whether this process finished it."""
    current = session.orm.scalars(
        select(RunRecord).where(RunRecord.id == run_id).with_for_update()
    ).one()
    if current.status not in RUNNING_STATUSES:
        # Recovery presumed this process stopped, interrupted the run and queued its
        # resumption: that outcome stands, and this process writes nothing more. The
        # batches answered after recovery are in the snapshot, not on the record, which
        # counts them now so that the run's and its resumption's counts add up.
        session.runs.credit_late_batches(run_id, result.progress)
        logger.warning(
            "run %s is %s in the catalog: this worker lost its lease and leaves it so "
            "(%s rows were acknowledged after all and count in the run; the resuming "
            "run does not send them again)",
            run_id,
            current.status,
            result.progress.successful.total,
        )
        return RunStatus(current.status), current.error, False
    status, error, resume = _outcome(result, current, lease_lost.is_set())
    given_up = 0
    if current.reset_cdc and status == RunStatus.SUCCESS:
        # Asked before the run is finished, while those rows still count as failing.
        given_up = session.runs.still_failing_count(current.sync_id)
    run = session.runs.finish(run_id, status, result.progress, error)
    run.rejected_given_up = given_up
    if resume:
        queue_resumption(session, run)
    return RunStatus(run.status), run.error, True


def _outcome(
    result: RunResult, run: RunRecord, lease_lost: bool
) -> tuple[RunStatus, str | None, bool]:
    """The status and error to finish a run with, and whether a new run must resume it.

    A run stopped by anything but a user's cancel (its worker stopping) ends
    ``interrupted`` and is resumed, and so does one that could not have its snapshot
    file in time (another process still holds it): nothing it owed is dropped. A cancel
    that arrives after the last batch was sent still ends the run ``cancelled``, with
    every row it wrote counted, so that a cancel is never silently dropped.
    """
    status, error = result.status, result.error
    if status == RunStatus.INTERRUPTED and run.cancel_requested:
        return RunStatus.CANCELLED, f"cancelled by a user; {error}", False
    if status == RunStatus.INTERRUPTED:
        # queue_resumption queues none for a dry run, which wrote nothing to carry on.
        follow = "run it again" if run.dry_run else "a new run is queued to resume the work"
        return status, f"{error}; {follow}", True
    if status == RunStatus.CANCELLED and not run.cancel_requested:
        why = "its lease was lost" if lease_lost else "its worker stopped"
        error = (
            f"stopped at a batch boundary because {why}; batches sent so far are kept and "
            "a new run resumes the rest"
        )
        return RunStatus.INTERRUPTED, error, True
    if status == RunStatus.CANCELLED:
        return status, "cancelled by a user; rows sent before the cancel are kept", False
    if run.cancel_requested and status in (RunStatus.SUCCESS, RunStatus.WARNING):
        return (
            RunStatus.CANCELLED,
            "cancelled by a user after every row had been sent; the rows written are "
            "counted and kept",
            False,
        )
    return status, error, False


REPORTED_BY_CALLER = "reported_by_caller"
"""The ``extra`` key of an outcome record that the command running the run prints itself
(``syncline run``); the command line's text log leaves such records out."""


def _log_outcome(
    run_id: int, sync_id: int, status: RunStatus, error: str | None, result: RunResult, *,
    shown: bool,
) -> None:  # fmt: skip
    """Log a run that failed or was interrupted, once, for whoever watches the worker.

    The error is the one stored on the run: connector secrets are already masked and no
    row values are in it. A bug is an error with its traceback; anything else a warning.
    """
    if status not in (RunStatus.FAILED, RunStatus.INTERRUPTED):
        return
    code = result.code if status is result.status else None
    extra = {**_ids(sync_id, run_id), "code": code, REPORTED_BY_CALLER: shown}
    level = logging.ERROR if result.exception is not None else logging.WARNING
    logger.log(
        level,
        "run %s of sync %s ended %s%s: %s",
        run_id,
        sync_id,
        status.value,
        f" [{code}]" if code else "",
        error,
        exc_info=result.exception,
        extra=extra,
    )


def _owner_of(session: CatalogSession, run_id: int) -> tuple[int, int]:
    """The workspace and sync of a run, found across workspaces."""
    row = session.orm.execute(
        select(SyncRecord.workspace_id, SyncRecord.id)
        .join(RunRecord, RunRecord.sync_id == SyncRecord.id)
        .where(RunRecord.id == run_id)
    ).first()
    if row is None:
        raise NotFoundError("sync run", run_id)
    return row[0], row[1]


ALERTS_MODULE = "syncline.alerts"
"""Where alert policies are evaluated; imported on first use so a worker starts without it."""


def _notify_alerts(catalog: Catalog, run_id: int) -> None:
    """Let alert policies see the finished run; an alert problem never fails the worker."""
    try:
        if importlib.util.find_spec(ALERTS_MODULE) is None:
            return
        notify = getattr(importlib.import_module(ALERTS_MODULE), "notify_run_finished", None)
        if notify is not None:
            notify(catalog, run_id)
    except Exception:  # noqa: BLE001 - alerting must never end a worker or change a run
        logger.exception("run %s: evaluating alert policies failed", run_id)


def _prune_row_results(catalog: Catalog, sync_id: int, settings: Settings) -> None:
    """Delete the sync's row results past retention; a failure never changes the run."""
    try:
        catalog.prune_row_results(settings.row_results_retention, sync_id=sync_id)
    except Exception:  # noqa: BLE001 - the next run, or a worker's sweep, prunes them
        logger.warning("sync %s: pruning old row results failed", sync_id, exc_info=True)


def _execute(
    catalog: Catalog,
    workspace: int | str,
    sync_id: int,
    run_id: int,
    settings: Settings,
    on_progress: ProgressListener | None,
    lease: _Lease,
) -> RunResult:
    try:
        job = catalog.retrying(
            lambda session: _build_job(session, session.syncs.get(sync_id), run_id, settings),
            f"reading run {run_id}'s sync",
            idempotent=True,
            workspace=workspace,
            read_only=True,
        )
    except SynclineError as exc:
        error = " ".join(str(exc).split())
        return RunResult(RunStatus.FAILED, RunProgress(), error, exc.code)
    except Exception as exc:
        # The run record must not stay "querying" because a connector failed to build.
        error = f"internal error: {exc!r}"
        return RunResult(RunStatus.FAILED, RunProgress(), error, INTERNAL, exc)

    reporter = _TeeReporter(catalog.reporter(run_id), on_progress, lease)
    try:
        return execute_run(job, reporter)
    finally:
        job.source.close()
        job.destination.close()


def _build_job(
    session: CatalogSession, sync: SyncRecord, run_id: int, settings: Settings
) -> RunJob:
    run = session.runs.get(run_id)
    model = session.models.get(sync.model_id)
    source_record = session.sources.get(model.source_id)
    destination_record = session.destinations.get(sync.destination_id)

    # Where API keys or web users may have written the configuration (or the operator
    # set SYNCLINE_FILE_ROOTS), a run keeps its files and DuckDB SQL inside the roots.
    shared = catalog_is_shared(session.orm)
    files = run_file_policy(settings, session.workspace.slug, shared=shared)
    source: Source = confined_source(
        source_record.type, session.sources.plain_configuration(source_record), files
    )
    destination: Destination = confined_destination(
        destination_record.type, session.destinations.plain_configuration(destination_record), files
    )
    query = model.sql if model.query_type == "raw_sql" else None
    if query is None:
        query = source.table_query(model.table_name or "")

    return RunJob(
        sync_id=sync.id,
        sync_slug=sync.slug,
        run_id=run_id,
        source=source,
        model_query=query,
        primary_key=sync.primary_key,
        configuration=SyncConfiguration.parse(sync.configuration),
        destination=destination,
        snapshot_dir=settings.snapshot_dir,
        full_resync=run.full_resync,
        reset_cdc=run.reset_cdc,
        clear_and_fill=run.clear_and_fill,
        dry_run=run.dry_run,
        memory_limit=settings.planner_memory_limit,
        join_memory=settings.planner_join_memory,
        threads=settings.planner_threads,
        snapshot_lock_wait=settings.snapshot_lock_wait_seconds,
        installation_id=session.installation_id,
        succeeded_rows_limit=settings.succeeded_rows_per_run,
    )


def _start_when_free(
    catalog: Catalog,
    workspace: int | str,
    sync_id: int,
    run_id: int,
    worker: str,
    stale_after: timedelta,
) -> bool:
    """Lease the queued run once its sync is free; False when a worker leased it first."""
    waited = False
    while True:
        with catalog.session(workspace) as session:
            sync = session.syncs.get(sync_id)
            if session.runs.get(run_id).status != RunStatus.QUEUED:
                return False
            running = session.syncs.running_run(sync_id)
            if running is None:
                session.runs.start(run_id, worker)
                return True
            if not waited:
                logger.warning(
                    "sync %s: run %s is still going; run %s waits for it",
                    sync.slug,
                    running.id,
                    run_id,
                )
                waited = True
        recover_abandoned(catalog, stale_after)
        time.sleep(WAIT_SECONDS)


def _follow(
    catalog: Catalog, workspace: int | str, run_id: int, on_progress: ProgressListener | None
) -> dict[str, Any]:
    """Wait for another process's run to end, reporting its stages; the run in API shape."""
    logger.info("run %s is executed by a worker; waiting for its outcome", run_id)
    seen: str | None = None
    while True:
        with catalog.session(workspace, read_only=True) as session:
            run = session.runs.get(run_id)
            if run.status != seen and on_progress is not None:
                on_progress(ProgressEvent(RunStatus(run.status), None))
            seen = run.status
            if RunStatus(run.status).terminal:
                return session.to_api(run)
        time.sleep(WAIT_SECONDS)


class _Heartbeat:
    """Refreshes a run's heartbeat from a background thread until stopped.

    When the catalog shows the run is no longer running while this process still
    executes it (it was presumed stopped), ``lease_lost`` is set.
    """

    def __init__(self, catalog: Catalog, workspace: int | str, run_id: int, every: float) -> None:
        self.catalog = catalog
        self.workspace = workspace
        self.run_id = run_id
        self.every = every
        self.lease_lost = threading.Event()
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"heartbeat-{run_id}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join()

    def _beat(self) -> None:
        while not self._stopped.wait(self.every):
            try:
                with self.catalog.session(self.workspace) as session:
                    run = session.runs.heartbeat(self.run_id)
                if run.status not in RUNNING_STATUSES:
                    logger.warning(
                        "run %s is %s in the catalog while this worker still runs it; "
                        "stopping it at the next batch",
                        self.run_id,
                        run.status,
                    )
                    self.lease_lost.set()
                    return
            except Exception as exc:  # noqa: BLE001 - a missed beat must not end the run
                # A dropped catalog connection is no bug: the next beat uses a fresh one.
                logger.warning(
                    "run %s: heartbeat failed: %s",
                    self.run_id,
                    "lost the connection to the catalog" if lost_connection(exc) else exc,
                    exc_info=not lost_connection(exc),
                )


class _Lease:
    """Whether this process may go on writing for a run, asked of the catalog each time."""

    def __init__(
        self,
        catalog: Catalog,
        workspace: int | str,
        run_id: int,
        lost: threading.Event,
        stop_requested: Callable[[], bool] | None = None,
    ) -> None:
        self.catalog = catalog
        self.workspace = workspace
        self.run_id = run_id
        self.lost = lost
        self.stop_requested = stop_requested

    def check(self) -> bool:
        """True when the run must stop: lease lost, worker stopping, or a user's cancel."""
        if self.lost.is_set() or (self.stop_requested is not None and self.stop_requested()):
            return True
        running, cancelled = self.catalog.retrying(
            self._state, f"asking whether run {self.run_id} may go on", idempotent=True,
            workspace=self.workspace, read_only=True,
        )  # fmt: skip
        if not running:
            logger.warning(
                "run %s is no longer running in the catalog; this worker stops writing", self.run_id
            )
            self.lost.set()
        return not running or cancelled

    def _state(self, session: CatalogSession) -> tuple[bool, bool]:
        """Whether the run is still running in the catalog, and whether it was cancelled."""
        run = session.runs.get(self.run_id)
        return run.status in RUNNING_STATUSES, bool(run.cancel_requested)


class _TeeReporter:
    """Reports to the catalog and, for the command line, to a progress listener."""

    def __init__(
        self, inner: RunReporter, listener: ProgressListener | None, lease: _Lease
    ) -> None:
        self.inner = inner
        self.listener = listener
        self.lease = lease
        self.status = RunStatus.QUEUED

    def stage(self, status: RunStatus) -> None:
        """Record the stage, then tell the listener."""
        self.inner.stage(status)
        self.status = status
        if self.listener is not None:
            self.listener(ProgressEvent(status, None))

    def progress(self, progress: RunProgress) -> None:
        """Record the counters, then tell the listener."""
        self.inner.progress(progress)
        if self.listener is not None:
            self.listener(ProgressEvent(self.status, progress))

    def rejected(self, rows: list[RejectedRow]) -> None:
        """Record rejected rows."""
        self.inner.rejected(rows)

    def succeeded(self, rows: SucceededRows) -> None:
        """Record acknowledged rows kept for listing."""
        self.inner.succeeded(rows)

    def settle_interrupted(self, outcome: InterruptedOutcome) -> None:
        """Settle a killed run's record from its journal."""
        self.inner.settle_interrupted(outcome)

    def cancel_requested(self) -> bool:
        """True when the worker is stopping, lost its lease, or a user cancelled the run.

        The engine asks before every batch it hands over, so a process that lost its
        lease (it was paused, and presumed stopped) writes nothing more once it wakes.
        """
        return self.lease.check()


def find_sync(session: CatalogSession, ref: int | str) -> SyncRecord:
    """The sync with this id or slug; a string of digits is tried as an id, then a slug."""
    number = whole_number(ref) if isinstance(ref, str) else None
    if number is not None:
        found = session.syncs.find(number)
        if found is not None:
            return found
    return session.syncs.get(ref)


def _ids(sync_id: int, run_id: int) -> dict[str, int]:
    return {"sync_id": sync_id, "run_id": run_id}
