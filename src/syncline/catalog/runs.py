"""The run queue: trigger, lease, stage, heartbeat and finish the runs of syncs.

A sync has at most one run that a worker executes (``querying``, ``processing``,
``reporting``) and at most one ``queued`` run behind it. Two partial unique indexes
make the database refuse anything else, so the rule holds for any number of API
processes and workers; the methods here turn those refusals into the documented
outcomes (a second trigger returns the queued run, a second claim finds nothing).

Methods a worker calls (:meth:`RunQueue.claim`, :meth:`RunQueue.start`,
:meth:`RunQueue.set_stage`, :meth:`RunQueue.heartbeat`, :meth:`RunQueue.report_progress`,
:meth:`RunQueue.finish`, :meth:`RunQueue.interrupt_stale`, :meth:`RunQueue.record_rows`,
:meth:`RunQueue.record_succeeded`, :meth:`RunQueue.settle_interrupted`)
address runs by id across workspaces; the others see only the session's workspace.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import exists, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased, object_session
from sqlalchemy.orm.attributes import flag_modified

from syncline.catalog import rows as row_results
from syncline.catalog.errors import ConflictError, QueuedRunConflict
from syncline.catalog.rows import RowOutcome, SucceededKept
from syncline.catalog.tables import RUNNING_STATUSES, RowResultRecord, RunRecord, SyncRecord
from syncline.catalog.types import utcnow
from syncline.engine.config import SyncConfiguration
from syncline.engine.mapping import referenced_columns
from syncline.engine.report import (
    InterruptedOutcome,
    RejectedRow,
    RowCounts,
    RunProgress,
    RunStatus,
    SucceededRows,
)
from syncline.errors import NotFoundError, Problem, RunError, SynclineError, ValidationError

logger = logging.getLogger(__name__)

_ENQUEUE_ATTEMPTS = 5

_RUN_ORDER = {
    "id": RunRecord.id,
    "createdAt": RunRecord.created_at,
    "startedAt": RunRecord.started_at,
    "finishedAt": RunRecord.finished_at,
}
"""The orders ListSyncRuns offers (API.md 3.2), by their API names."""


@dataclass(frozen=True)
class RunTrigger:
    """What a trigger asks of a run: the API's flags plus a dry run."""

    full_resync: bool = False
    """Send every row of the model as if it were the first run."""
    reset_cdc: bool = False
    """Take the current rows as the new baseline without sending anything."""
    clear_and_fill: bool = False
    """Empty the destination object, then send every row."""
    dry_run: bool = False
    """Plan and count, but write nothing and commit no snapshot."""

    @classmethod
    def from_api(cls, body: Mapping[str, Any]) -> RunTrigger:
        """Flags from a TriggerRunInput body (``fullResync``, ``resetCDC``, ...)."""
        return cls(
            full_resync=_flag(body.get("fullResync")),
            reset_cdc=_flag(body.get("resetCDC")),
            clear_and_fill=_flag(body.get("clearAndFill")),
            dry_run=_flag(body.get("dryRun")),
        )


def _flag(value: object) -> bool:
    # The API's defaults are the string "false", and form bodies carry strings.
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes")
    return bool(value)


def trigger_of(run: RunRecord) -> RunTrigger:
    """The trigger flags a run was queued with."""
    return RunTrigger(run.full_resync, run.reset_cdc, run.clear_and_fill, run.dry_run)


class RunQueue:
    """Runs of the syncs of one workspace, and the queue workers lease them from."""

    def __init__(self, session: Session, workspace_id: int) -> None:
        self.session = session
        self.workspace_id = workspace_id

    # -- what users and the scheduler call -------------------------------------------

    def enqueue(
        self,
        sync: SyncRecord | int | str,
        trigger: RunTrigger | None = None,
        *,
        triggered_by: str = "manual",
    ) -> RunRecord:
        """Queue a run of ``sync``, or return the run already queued for it.

        A disabled sync raises ValidationError: disabling cancels its queued run, and
        the sync's row lock keeps a trigger from slipping one in behind that.

        A trigger never weakens the queued run: ``fullResync``, ``resetCDC`` and
        ``clearAndFill`` are added to it. A trigger that contradicts the queued run's
        flags (see :func:`trigger_conflicts`), such as a run that writes behind a queued
        dry run, raises QueuedRunConflict naming that run.
        """
        sync_record = self._sync(sync)
        trigger = trigger or RunTrigger()
        if self._lock_sync(sync_record.id):
            raise ValidationError(
                [
                    Problem(
                        "sync",
                        f"sync {sync_record.slug!r} is disabled, so no run of it is queued",
                        fix="enable the sync, then trigger it",
                        value=sync_record.id,
                    )
                ]
            )

        for _ in range(_ENQUEUE_ATTEMPTS):
            queued = self._queued(sync_record.id)
            if queued is not None:
                _merge(queued, trigger)
                self.session.flush()
                return queued

            run = RunRecord(
                sync_id=sync_record.id,
                status=RunStatus.QUEUED.value,
                triggered_by=triggered_by,
                full_resync=trigger.full_resync,
                reset_cdc=trigger.reset_cdc,
                clear_and_fill=trigger.clear_and_fill,
                dry_run=trigger.dry_run,
                created_at=utcnow(),
            )
            try:
                with self.session.begin_nested():
                    self.session.add(run)
            except IntegrityError:
                # Another session queued a run first; loop to take that one.
                logger.debug("sync %s: another trigger queued a run first", sync_record.id)
                continue
            logger.info("queued run %s of sync %s (%s)", run.id, sync_record.id, triggered_by)
            return run

        raise RunError(
            f"could not queue a run of sync {sync_record.slug!r}: the queue kept changing; "
            "try again",
            sync_id=sync_record.id,
        )

    def get(self, run_id: int, *, sync: SyncRecord | int | str | None = None) -> RunRecord:
        """The run with this id in this workspace (and of ``sync`` when given)."""
        in_workspace = (
            select(RunRecord)
            .join(SyncRecord, SyncRecord.id == RunRecord.sync_id)
            .where(RunRecord.id == run_id, SyncRecord.workspace_id == self.workspace_id)
        )
        if sync is None:
            run = self.session.scalar(in_workspace)
            if run is None:
                raise NotFoundError("sync run", run_id)
            return run
        record = self._sync(sync)
        run = self.session.scalar(in_workspace.where(RunRecord.sync_id == record.id))
        if run is None:
            # Say so when the id is a run of another sync of this workspace.
            other = self.session.scalar(
                select(SyncRecord.slug)
                .join(RunRecord, RunRecord.sync_id == SyncRecord.id)
                .where(RunRecord.id == run_id, SyncRecord.workspace_id == self.workspace_id)
            )
            elsewhere = None
            if other is not None:
                elsewhere = (
                    f"sync run {run_id} is a run of sync {other!r}, not of sync {record.slug!r}"
                )
            raise NotFoundError("sync run", run_id, message=elsewhere)
        return run

    def list_runs(
        self,
        sync: SyncRecord | int | str,
        *,
        run_id: int | None = None,
        after: datetime | None = None,
        before: datetime | None = None,
        offset: int = 0,
        limit: int | None = None,
        newest_first: bool = False,
        order_by: str = "id",
    ) -> list[RunRecord]:
        """Runs of ``sync``, ascending by ``order_by`` (descending ids with ``newest_first``).

        ``order_by`` is ``id``, ``createdAt``, ``startedAt`` or ``finishedAt``; runs whose
        time is not known yet come last, and ties go by id. ``after`` and ``before``
        compare when a run started, or for a run still queued when it was requested.
        """
        column = _RUN_ORDER.get(order_by)
        if column is None:
            raise ValueError(f"cannot order runs by {order_by!r}; use one of {list(_RUN_ORDER)}")
        started = func.coalesce(RunRecord.started_at, RunRecord.created_at)
        query = select(RunRecord).where(RunRecord.sync_id == self._sync(sync).id)
        if run_id is not None:
            query = query.where(RunRecord.id == run_id)
        if after is not None:
            query = query.where(started > after)
        if before is not None:
            query = query.where(started < before)
        if newest_first:
            query = query.order_by(RunRecord.id.desc())
        else:
            query = query.order_by(column.is_(None), column, RunRecord.id)
        query = query.offset(offset)
        if limit is not None:
            query = query.limit(limit)
        return list(self.session.scalars(query))

    def request_cancel(self, run_id: int) -> RunRecord:
        """Cancel a queued run now, or ask the worker of a running run to stop."""
        run = self.get(run_id)
        if run.status == RunStatus.QUEUED:
            run.status = RunStatus.CANCELLED.value
            run.finished_at = utcnow()
            run.error = "cancelled by a user before it started"
        elif run.status in RUNNING_STATUSES:
            run.cancel_requested = True
        self.session.flush()
        return run

    def cancel_queued(self, sync: SyncRecord, reason: str) -> list[RunRecord]:
        """Cancel the sync's queued run (when it has one) with ``reason`` as its error;
        the reason says that the run was cancelled and why, and is logged as it is."""
        query = select(RunRecord).where(
            RunRecord.sync_id == sync.id, RunRecord.status == RunStatus.QUEUED.value
        )
        cancelled = list(self.session.scalars(query.with_for_update()))
        for run in cancelled:
            run.status = RunStatus.CANCELLED.value
            run.finished_at = utcnow()
            run.error = reason
            logger.info(
                "run %s of sync %s: %s",
                run.id,
                sync.id,
                reason,
                extra={"sync_id": sync.id, "run_id": run.id},
            )
        self.session.flush()
        return cancelled

    def failed_rows(
        self, sync: SyncRecord | int | str, run_id: int | None = None
    ) -> list[RowResultRecord]:
        """Rejected rows of one run, or with no run the rows of the sync still failing."""
        sync_record = self._sync(sync)
        if run_id is not None:
            self.get(run_id, sync=sync_record)
        return row_results.failed_rows(self.session, sync_record.id, run_id)

    def still_failing_count(self, sync: SyncRecord | int | str) -> int:
        """How many keys of the sync are still failing: the rows its next run retries."""
        return row_results.count_still_failing(self.session, self._sync(sync).id)

    def row_results(
        self,
        run_id: int,
        *,
        status: str | None = None,
        operation: str | None = None,
        offset: int = 0,
        limit: int | None = None,
    ) -> list[RowResultRecord]:
        """Row results of a run, optionally only ``failed``/``succeeded`` or one operation."""
        self.get(run_id)
        return row_results.of_run(
            self.session, run_id, status=status, operation=operation, offset=offset, limit=limit
        )

    def succeeded_kept(self, run_id: int, operation: str | None = None) -> SucceededKept:
        """How many succeeded rows of a run are kept to list, of how many (of ``operation``)."""
        return row_results.succeeded_kept(self.session, self.get(run_id), operation)

    # -- what workers call -------------------------------------------------------------

    def claim(self, worker: str, *, sync_id: int | None = None) -> RunRecord | None:
        """Lease the oldest queued run whose sync is enabled and has no running run, or None."""
        other = aliased(RunRecord)
        busy = exists().where(
            other.sync_id == RunRecord.sync_id, other.status.in_(RUNNING_STATUSES)
        )
        query = (
            select(RunRecord)
            .join(SyncRecord, SyncRecord.id == RunRecord.sync_id)
            .where(
                RunRecord.status == RunStatus.QUEUED.value,
                SyncRecord.disabled.is_(False),
                ~busy,
            )
        )
        if sync_id is not None:
            query = query.where(RunRecord.sync_id == sync_id)
        query = query.order_by(RunRecord.created_at, RunRecord.id).limit(1)

        # The lease also writes the sync (last_run_at). Locking its row here, skipping it
        # when taken, keeps the lock order of whoever holds the sync and then queues a
        # run (the scheduler) from deadlocking with a lease that holds the run.
        locked = query.with_for_update(skip_locked=True, of=[RunRecord, SyncRecord])
        run = self.session.scalar(locked)
        if run is None:
            return None
        try:
            self._begin(run, worker)
        except ConflictError:
            return None
        return run

    def start(self, run_id: int, worker: str) -> RunRecord:
        """Lease this queued run for ``worker``; RunError when it is not queued or its sync
        is disabled."""
        sync_id = self.session.scalar(select(RunRecord.sync_id).where(RunRecord.id == run_id))
        if sync_id is None:
            raise NotFoundError("sync run", run_id)
        disabled = self._lock_sync(sync_id)
        run = self._load(run_id, lock=True)
        if disabled:
            raise RunError(
                f"run {run_id} is of sync {sync_id}, which is disabled, so it does not start; "
                "enable the sync, then trigger it",
                sync_id=sync_id,
                run_id=run_id,
            )
        if run.status != RunStatus.QUEUED:
            raise RunError(
                f"run {run_id} is {run.status}, not queued; only a queued run can start",
                sync_id=run.sync_id,
                run_id=run_id,
            )
        self._begin(run, worker)
        return run

    def set_stage(self, run_id: int, status: RunStatus | str) -> RunRecord:
        """Move a running run to ``querying``, ``processing`` or ``reporting``."""
        stage = RunStatus(status)
        if stage.value not in RUNNING_STATUSES:
            raise ValueError(f"{stage.value!r} is not a stage; use finish() to end a run")
        run = self._running(run_id)
        run.status = stage.value
        run.heartbeat_at = utcnow()
        self.session.flush()
        return run

    def heartbeat(self, run_id: int) -> RunRecord:
        """Record that the run's worker is alive; the run's status tells it whether to go on."""
        run = self._load(run_id)
        if run.status in RUNNING_STATUSES:
            run.heartbeat_at = utcnow()
            self.session.flush()
        return run

    def report_progress(self, run_id: int, progress: RunProgress) -> RunRecord:
        """Store the run's counters; completion is 0 while querying (API.md 9.1)."""
        run = self._running(run_id)
        _store_progress(run, progress)
        if run.status == RunStatus.QUERYING:
            run.completion_ratio = 0.0
        run.heartbeat_at = utcnow()
        self.session.flush()
        return run

    def finish(
        self,
        run_id: int,
        status: RunStatus | str,
        progress: RunProgress | None = None,
        error: str | None = None,
    ) -> RunRecord:
        """End the run with a terminal status; ``success`` with rejected rows becomes warning.

        A run already marked ``interrupted`` may still be finished by its worker, whose
        outcome is the truth; any other finished run raises RunError.
        """
        outcome = RunStatus(status)
        if not outcome.terminal:
            raise ValueError(f"{outcome.value!r} is not terminal; use set_stage()")
        run = self._load(run_id, lock=True)
        current = RunStatus(run.status)
        if current.terminal and current != RunStatus.INTERRUPTED:
            raise RunError(
                f"run {run_id} already finished as {current.value}",
                sync_id=run.sync_id,
                run_id=run_id,
            )

        if progress is not None:
            _store_progress(run, progress)
            if outcome == RunStatus.SUCCESS and progress.failed.total > 0:
                outcome = RunStatus.WARNING
        run.status = outcome.value
        run.completion_ratio = _finished_ratio(run)
        run.error = error
        run.finished_at = utcnow()
        self.session.flush()
        logger.info("run %s of sync %s finished: %s", run.id, run.sync_id, outcome.value)
        return run

    def interrupt_stale(
        self, older_than: timedelta, *, now: datetime | None = None
    ) -> list[RunRecord]:
        """Mark running runs whose worker has not sent a heartbeat for ``older_than``."""
        now = now or utcnow()
        cutoff = now - older_than
        query = select(RunRecord).where(
            RunRecord.status.in_(RUNNING_STATUSES), RunRecord.heartbeat_at < cutoff
        )
        stale = list(self.session.scalars(query.with_for_update(skip_locked=True)))
        for run in stale:
            last = run.heartbeat_at.isoformat() if run.heartbeat_at else "never"
            run.status = RunStatus.INTERRUPTED.value
            run.completion_ratio = _finished_ratio(run)
            run.finished_at = now
            run.error = (
                f"worker {run.worker or '(unknown)'} stopped sending heartbeats "
                f"(last at {last}); the next run of this sync resumes where this one stopped"
            )
            logger.warning("run %s of sync %s interrupted: worker stopped", run.id, run.sync_id)
        self.session.flush()
        return stale

    def record_rows(self, run_id: int, rows: Iterable[RowOutcome | RejectedRow]) -> int:
        """Store the fate of rows of a run; returns how many were stored."""
        run = self._load(run_id)
        return row_results.record(self.session, run.sync_id, run.id, rows)

    def record_succeeded(self, run_id: int, rows: SucceededRows) -> int:
        """Store a batch's acknowledged rows (already cut to the run's limit)."""
        run = self._load(run_id)
        return row_results.record_succeeded(self.session, run.sync_id, run.id, rows)

    def settle_interrupted(self, outcome: InterruptedOutcome, *, resumed_by: int) -> bool:
        """Make the killed run's record count what its snapshot journal says it delivered.

        The engine journals a batch's outcome before it reports it here, so a run killed
        in between was credited with fewer rows than it delivered; the journal is the
        truth, so its counts replace the record's (never added to them, so a batch the run
        did report counts once) and its rejected rows missing from the run's row results
        are recorded, without payload. ``resumed_by`` is the run that found the journal:
        a record of another sync is left alone. Returns whether the record was settled.
        """
        run = self.session.scalar(
            select(RunRecord).where(RunRecord.id == outcome.run_id).with_for_update()
        )
        resuming = self._load(resumed_by)
        if run is None or run.sync_id != resuming.sync_id:
            logger.warning(
                "run %s of sync %s found a journal of run %s, which is not a run of that "
                "sync; its counts are not settled",
                resumed_by,
                resuming.sync_id,
                outcome.run_id,
            )
            return False
        _count_delivered(run, outcome.successful, outcome.failed)

        recorded = {
            (key, operation)
            for key, operation in self.session.execute(
                select(RowResultRecord.primary_key, RowResultRecord.operation).where(
                    RowResultRecord.run_id == run.id, RowResultRecord.status == row_results.FAILED
                )
            )
        }
        missing = [
            row for row in outcome.rejected if (row.key, row.operation.value) not in recorded
        ]
        row_results.record(self.session, run.sync_id, run.id, missing)
        self.session.flush()
        logger.info(
            "run %s of sync %s settled from its journal by run %s: %s rows succeeded, "
            "%s rejected (%s of them not recorded before)",
            run.id,
            run.sync_id,
            resumed_by,
            outcome.successful.total,
            outcome.failed.total,
            len(missing),
        )
        return True

    def credit_late_batches(self, run_id: int, progress: RunProgress) -> bool:
        """Make a run interrupted under its worker count every row that worker delivered.

        A worker presumed stopped (paused past the staleness limit) still accounts for
        the batches it had handed over when it wakes, but its record no longer takes
        progress reports, and the resuming run finds those outcomes already folded into
        the snapshot. The worker's own counters are then the truth of what the run
        delivered: they replace the record's, as a journal's do (see
        :meth:`settle_interrupted`). Returns whether the record changed.
        """
        run = self._load(run_id, lock=True)
        if run.status != RunStatus.INTERRUPTED.value:
            return False
        recorded = sum(
            getattr(run, f"{kind}_{operation}")
            for kind in ("successful", "failed")
            for operation in ("added", "changed", "removed")
        )
        delivered = progress.successful.total + progress.failed.total
        if delivered <= recorded:
            return False
        _count_delivered(run, progress.successful, progress.failed)
        self.session.flush()
        logger.info(
            "run %s of sync %s now counts the %s rows its worker delivered after losing its "
            "lease (%s before)",
            run.id,
            run.sync_id,
            delivered,
            recorded,
        )
        return True

    def cancel_requested(self, run_id: int) -> bool:
        """True when a user asked this run to stop."""
        return bool(self._load(run_id).cancel_requested)

    # -- helpers ----------------------------------------------------------------------

    def _begin(self, run: RunRecord, worker: str) -> None:
        now = utcnow()
        try:
            with self.session.begin_nested():
                run.status = RunStatus.QUERYING.value
                run.worker = worker
                run.started_at = now
                run.heartbeat_at = now
                self.session.flush()
        except IntegrityError:
            self.session.expire(run)
            raise ConflictError(
                f"sync {run.sync_id} already has a running run; run {run.id} stays queued"
            ) from None

        # A dry run writes nothing, the sync's lastRunAt included (its status skips it too).
        sync = self.session.get(SyncRecord, run.sync_id)
        if sync is not None and not run.dry_run:
            sync.last_run_at = now
            _not_an_edit(sync)
        self.session.flush()
        logger.info("run %s of sync %s started by %s", run.id, run.sync_id, worker)

    def _sync(self, sync: SyncRecord | int | str) -> SyncRecord:
        from syncline.catalog.syncs import SyncRepository

        ident = sync.id if isinstance(sync, SyncRecord) else sync
        return SyncRepository(self.session, self.workspace_id).get(ident)

    def _lock_sync(self, sync_id: int) -> bool:
        """Lock the sync's row and say whether it is disabled now.

        Whoever locks a sync and one of its runs locks the sync first (the scheduler,
        the queue, disabling), so they wait for each other instead of deadlocking.
        """
        query = select(SyncRecord.disabled).where(SyncRecord.id == sync_id)
        return bool(self.session.scalar(query.with_for_update()))

    def _queued(self, sync_id: int) -> RunRecord | None:
        query = select(RunRecord).where(
            RunRecord.sync_id == sync_id, RunRecord.status == RunStatus.QUEUED.value
        )
        return self.session.scalar(query.with_for_update())

    def _load(self, run_id: int, *, lock: bool = False) -> RunRecord:
        query = select(RunRecord).where(RunRecord.id == run_id)
        run = self.session.scalar(query.with_for_update() if lock else query)
        if run is None:
            raise NotFoundError("sync run", run_id)
        return run

    def _running(self, run_id: int) -> RunRecord:
        run = self._load(run_id)
        if run.status not in RUNNING_STATUSES:
            raise RunError(
                f"run {run_id} is {run.status}; it is not running any more"
                + (" (its worker was presumed stopped)" if run.status == "interrupted" else ""),
                sync_id=run.sync_id,
                run_id=run_id,
            )
        return run


_SENDS_EVERY_ROW = {"full_resync": "fullResync", "clear_and_fill": "clearAndFill"}
"""Flags that send every row, which a run that sends nothing (resetCDC) contradicts."""


def flag_names(trigger: RunTrigger) -> list[str]:
    """The API names of the flags ``trigger`` sets, e.g. ``["fullResync"]``."""
    names = {
        "full_resync": "fullResync",
        "reset_cdc": "resetCDC",
        "clear_and_fill": "clearAndFill",
        "dry_run": "dryRun",
    }
    return [api for attribute, api in names.items() if getattr(trigger, attribute)]


def trigger_conflicts(queued: RunTrigger, trigger: RunTrigger) -> list[str]:
    """Why ``trigger`` cannot join a run queued with ``queued``; empty when it can.

    A trigger may add to a queued run (a full resync on top of a plain run), but not
    turn it into its opposite: a reset sends nothing while a full resync or a clear
    and fill sends every row, and a dry run and a run that writes never share a run,
    in either order: a dry run must write nothing, and a run asked to write must.
    """
    reasons = []
    for attribute, name in _SENDS_EVERY_ROW.items():
        if trigger.reset_cdc and getattr(queued, attribute):
            reasons.append(f"resetCDC (send nothing) contradicts the queued {name}")
        if queued.reset_cdc and getattr(trigger, attribute):
            reasons.append(f"{name} (send every row) contradicts the queued resetCDC")
    if trigger.dry_run and not queued.dry_run:
        reasons.append("dryRun asks for a run that writes nothing, but the queued run writes")
    if queued.dry_run and not trigger.dry_run:
        reasons.append("a run that writes cannot join the queued dry run, which writes nothing")
    return reasons


def _merge(run: RunRecord, trigger: RunTrigger) -> None:
    conflicts = trigger_conflicts(trigger_of(run), trigger)
    if conflicts:
        queued_flags = ", ".join(flag_names(trigger_of(run))) or "no flags"
        raise QueuedRunConflict(
            [
                Problem(
                    "trigger",
                    f"run {run.id} is already queued for this sync ({queued_flags}) and a "
                    f"trigger joins it: {'; '.join(conflicts)}",
                    fix=f"cancel run {run.id} and trigger again, or trigger after it starts",
                    value=flag_names(trigger),
                )
            ],
            run_id=run.id,
            dry_run=run.dry_run,
        )
    # Both are dry runs or neither is (a conflict otherwise), so dry_run stays as it is.
    run.full_resync = run.full_resync or trigger.full_resync
    run.reset_cdc = run.reset_cdc or trigger.reset_cdc
    run.clear_and_fill = run.clear_and_fill or trigger.clear_and_fill


def _count_delivered(run: RunRecord, successful: RowCounts, failed: RowCounts) -> None:
    """Set a finished run's successful and failed counts, and its completion to match."""
    for kind, counts in (("successful", successful), ("failed", failed)):
        for operation in ("added", "changed", "removed"):
            setattr(run, f"{kind}_{operation}", getattr(counts, operation))
    run.completion_ratio = _finished_ratio(run)


def _finished_ratio(run: RunRecord) -> float:
    """A finished run's completion (API.md 9.1): 1 for a success or warning; otherwise the
    operations it attempted divided by those it planned, 0 when it planned none."""
    if run.status in (RunStatus.SUCCESS.value, RunStatus.WARNING.value):
        return 1.0
    planned = run.planned_added + run.planned_changed + run.planned_removed
    attempted = sum(
        getattr(run, f"{kind}_{operation}")
        for kind in ("successful", "failed")
        for operation in ("added", "changed", "removed")
    )
    return 0.0 if planned == 0 else min(1.0, attempted / planned)


def _store_progress(run: RunRecord, progress: RunProgress) -> None:
    # The columns are known from the first report that gives the query's size on: the
    # sync's columns are derived from them once, not again with every batch.
    if progress.model_columns is not None and run.query_size is None:
        _record_columns(run, progress.model_columns)
    run.query_size = progress.query_size
    run.skipped_null_keys = progress.skipped_null_keys
    run.left_in_destination = progress.left_in_destination
    # A run that found its destination's object gone resends every row: it shows as the
    # full resync it became. A trigger's flag is never taken back.
    run.full_resync = run.full_resync or progress.full_resync
    for kind in ("planned", "successful", "failed"):
        counts = getattr(progress, kind)
        for operation in ("added", "changed", "removed"):
            setattr(run, f"{kind}_{operation}", getattr(counts, operation))
    run.completion_ratio = progress.completion_ratio
    if progress.succeeded_rows_limit is not None:
        run.succeeded_rows_limit = progress.succeeded_rows_limit


def _not_an_edit(sync: SyncRecord) -> None:
    """Keep the sync's ``updatedAt`` through a change its runs make (``lastRunAt``, the
    columns read): it tells when someone last edited the sync. Written as it is, the
    column is not stamped again on flush."""
    flag_modified(sync, "updated_at")


def _record_columns(run: RunRecord, model_columns: list[str]) -> None:
    """Derive the sync's ``referencedColumns`` from the columns the run's query returned.

    Only the query knows a model's columns, and the source may change them without the
    catalog hearing of it (API.md 9.2: the columns runs use). The sync's configuration
    as it is now decides, so a change made during the run is not undone by it.
    """
    session = object_session(run)
    sync = session.get(SyncRecord, run.sync_id) if session is not None else None
    if sync is None:
        return
    try:
        configuration = SyncConfiguration.parse(sync.configuration)
        columns = referenced_columns(configuration, sync.primary_key, model_columns)
    except SynclineError:
        return  # a configuration runs refuse shows the columns it showed before
    if sync.referenced_columns != columns:
        sync.referenced_columns = columns
        _not_an_edit(sync)
