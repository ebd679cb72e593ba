"""Move sequence runs forward: start them, queue each step's sync run, judge its outcome.

:func:`advance` never waits and never executes a sync: workers do that. Each call looks
at every ``pending`` and ``running`` sequence run once and moves it as far as it can
go now:

* a ``pending`` run starts when its sequence has no ``running`` run;
* a run with no step started yet queues its first step's sync run
  (``triggered_by="sequence"``);
* when the current step's sync run has ended, the step's ``stopOn`` rule decides:

  ===========  ===============  =====================  =========
  sync run     ``fatal``        ``fatal_or_rejected``  ``never``
  ===========  ===============  =====================  =========
  success      go on            go on                  go on
  warning      go on            stop: failed           go on
  failed       stop: failed     stop: failed           go on
  interrupted  stop: failed     stop: failed           go on
  cancelled    stop: cancelled  stop: cancelled        go on
  ===========  ===============  =====================  =========

  An interrupted sync run (its worker stopped) is not an outcome yet: workers queue a
  run that resumes its work, and the step follows that run instead (the step's
  ``syncRunId`` becomes the new run's). Only when no later run of the sync exists
  does it count as fatal, since running the next syncs would read data the step never
  delivered. A sync run a person cancelled ends the sequence as ``cancelled``, not
  ``failed``, since nothing went wrong.
* after the last step the run is ``done``.

A step whose sync is disabled is not run; it counts as a failed step. A step whose
sync has a dry run queued waits until that run starts, since a sync queues one run
and a dry run never turns into one that writes. Any number of
processes may call :func:`advance` at once: each sequence run is moved under a row
lock that others skip (``FOR UPDATE SKIP LOCKED`` on PostgreSQL; SQLite serialises
writers), and the database allows one running run per sequence.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from syncline.catalog import Catalog, CatalogSession
from syncline.catalog.errors import QueuedRunConflict
from syncline.catalog.sequences import SequenceStatus, StopOn
from syncline.catalog.tables import (
    RunRecord,
    SequenceRecord,
    SequenceRunRecord,
    SequenceRunStepRecord,
    SequenceStepRecord,
    SyncRecord,
)
from syncline.catalog.types import utcnow
from syncline.engine.report import RunStatus

logger = logging.getLogger(__name__)

_ACTIVE = (SequenceStatus.PENDING.value, SequenceStatus.RUNNING.value)

_REPORTED_WAITS: set[tuple[str, int]] = set()
"""Sequence runs and the dry runs their step waits for, already logged: logged once."""


def advance(catalog: Catalog) -> None:
    """Move every active sequence run one step, in the order they were triggered.

    A run that cannot be moved (a database error, a broken definition) is logged and
    left for the next call; it never stops the others.
    """
    with catalog.session(read_only=True) as session:
        active = session.orm.execute(
            select(SequenceRunRecord.id, SequenceRecord.workspace_id)
            .join(SequenceRecord, SequenceRecord.id == SequenceRunRecord.sequence_id)
            .where(SequenceRunRecord.status.in_(_ACTIVE))
            .order_by(SequenceRunRecord.created_at, SequenceRunRecord.id)
        ).all()

    for run_id, workspace_id in active:
        try:
            advance_run(catalog, run_id, workspace_id)
        except Exception:
            logger.exception("sequence run %s could not be advanced; trying again later", run_id)


def advance_run(catalog: Catalog, run_id: str, workspace: int | str) -> SequenceStatus | None:
    """Move one sequence run as far as it can go now; its status, or None when locked.

    None means another process is moving this run at this moment.
    """
    with catalog.session(workspace) as session:
        query = select(SequenceRunRecord).where(SequenceRunRecord.id == run_id)
        run = session.orm.scalar(query.with_for_update(skip_locked=True))
        if run is None:
            return None
        _Mover(session, run).move()
        return SequenceStatus(run.status)


@dataclass(frozen=True)
class _Verdict:
    status: SequenceStatus
    reason: str


class _Mover:
    """Moves one locked sequence run within one catalog session."""

    def __init__(self, session: CatalogSession, run: SequenceRunRecord) -> None:
        self.session = session
        self.orm = session.orm
        self.run = run
        sequence = self.orm.get(SequenceRecord, run.sequence_id)
        assert sequence is not None  # the foreign key cascades deletes
        self.sequence = sequence

    def move(self) -> None:
        if self.run.status == SequenceStatus.PENDING and not self._start():
            return
        if self.run.status != SequenceStatus.RUNNING:
            return
        if self.run.cancel_requested:
            self._cancel()
            return

        steps = self.session.sequences.steps(self.sequence)
        started = self.session.sequences.run_steps(self.run)
        if not started:
            self._start_step(steps, 0)
            return

        current, sync_run = started[-1]
        outcome = RunStatus(sync_run.status)
        if not outcome.terminal:
            return
        if outcome == RunStatus.INTERRUPTED and self._follow_resumption(current, sync_run):
            return
        rule = next((s.stop_on for s in steps if s.position == current.position), None)
        verdict = _judge(outcome, StopOn(rule or StopOn.FATAL))
        if verdict is not None:
            sync = self.orm.get(SyncRecord, current.sync_id)
            name = sync.slug if sync is not None else current.sync_id
            self._finish(
                verdict.status,
                f"step {current.position + 1} (sync {name!r}): run {sync_run.id} "
                f"{verdict.reason}" + (f": {sync_run.error}" if sync_run.error else ""),
            )
            return
        self._start_step(steps, current.position + 1)

    def _follow_resumption(self, step: SequenceRunStepRecord, interrupted: RunRecord) -> bool:
        """Point the step at the run that resumes ``interrupted``; False when there is none."""
        if interrupted.dry_run:
            return False  # a dry run is never resumed
        follow_up = self.orm.scalar(
            select(RunRecord)
            .where(
                RunRecord.sync_id == interrupted.sync_id,
                RunRecord.id > interrupted.id,
                RunRecord.dry_run.is_(False),
            )
            .order_by(RunRecord.id)
            .limit(1)
        )
        if follow_up is None:
            return False
        step.run_id = follow_up.id
        self.orm.flush()
        logger.info(
            "sequence %s: run %s step %d: sync run %s was interrupted; following run %s",
            self.sequence.slug, self.run.id, step.position + 1, interrupted.id, follow_up.id,
        )  # fmt: skip
        return True

    def _start(self) -> bool:
        busy = self.orm.scalar(
            select(SequenceRunRecord.id).where(
                SequenceRunRecord.sequence_id == self.run.sequence_id,
                SequenceRunRecord.status == SequenceStatus.RUNNING.value,
            )
        )
        if busy is not None:
            return False
        try:
            with self.orm.begin_nested():
                self.run.status = SequenceStatus.RUNNING.value
                self.run.started_at = utcnow()
                self.orm.flush()
        except IntegrityError:
            # Another process started a run of this sequence first; this one waits.
            self.orm.refresh(self.run)
            return False
        logger.info("sequence %s: run %s started", self.sequence.slug, self.run.id)
        return True

    def _start_step(self, steps: list[SequenceStepRecord], position: int) -> None:
        """Queue the sync run of the first runnable step from ``position``, or finish."""
        while position < len(steps):
            step = steps[position]
            sync = self.orm.get(SyncRecord, step.sync_id)
            assert sync is not None  # steps restrict deleting their sync
            if not sync.disabled:
                try:
                    sync_run = self.session.runs.enqueue(sync, triggered_by="sequence")
                except QueuedRunConflict as conflict:
                    self._wait_for(sync, position, conflict.run_id)
                    return
                self.orm.add(
                    SequenceRunStepRecord(
                        sequence_run_id=self.run.id,
                        position=position,
                        sync_id=sync.id,
                        run_id=sync_run.id,
                    )
                )
                self.run.heartbeat_at = utcnow()
                self.orm.flush()
                logger.info(
                    "sequence %s: run %s step %d queued run %s of sync %s",
                    self.sequence.slug, self.run.id, position + 1, sync_run.id, sync.slug,
                )  # fmt: skip
                return
            if step.stop_on != StopOn.NEVER:
                self._finish(
                    SequenceStatus.FAILED,
                    f"step {position + 1}: sync {sync.slug!r} is disabled; enable it, or "
                    "set the step's stopOn to never to skip it",
                )
                return
            logger.warning(
                "sequence %s: skipping step %d, sync %s is disabled",
                self.sequence.slug, position + 1, sync.slug,
            )  # fmt: skip
            position += 1
        self._finish(SequenceStatus.DONE, None)

    def _wait_for(self, sync: SyncRecord, position: int, queued_run: int) -> None:
        """The step's run cannot join the sync's queued dry run; the next call tries again."""
        reported = (self.run.id, queued_run)
        if reported in _REPORTED_WAITS:
            return
        _REPORTED_WAITS.add(reported)
        logger.info(
            "sequence %s: run %s step %d waits for dry run %s of sync %s to start",
            self.sequence.slug, self.run.id, position + 1, queued_run, sync.slug,
        )  # fmt: skip

    def _cancel(self) -> None:
        started = self.session.sequences.run_steps(self.run)
        if started:
            _, sync_run = started[-1]
            if not RunStatus(sync_run.status).terminal:
                self.session.runs.request_cancel(sync_run.id)
        self._finish(SequenceStatus.CANCELLED, "cancelled by a user")

    def _finish(self, status: SequenceStatus, error: str | None) -> None:
        self.run.status = status.value
        self.run.error = error
        self.run.finished_at = utcnow()
        self.orm.flush()
        level = logging.INFO if status == SequenceStatus.DONE else logging.WARNING
        logger.log(
            level, "sequence %s: run %s %s%s",
            self.sequence.slug, self.run.id, status.value, f" ({error})" if error else "",
        )  # fmt: skip


def _judge(outcome: RunStatus, rule: StopOn) -> _Verdict | None:
    """Whether a step's finished sync run ends the sequence, and how (see the module table)."""
    if rule == StopOn.NEVER or outcome == RunStatus.SUCCESS:
        return None
    if outcome == RunStatus.WARNING:
        if rule == StopOn.FATAL_OR_REJECTED:
            return _Verdict(SequenceStatus.FAILED, "had rejected rows")
        return None
    if outcome == RunStatus.CANCELLED:
        return _Verdict(SequenceStatus.CANCELLED, "was cancelled")
    return _Verdict(SequenceStatus.FAILED, outcome.value)
