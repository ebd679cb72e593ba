"""Recovery of runs whose worker stopped: mark them interrupted and queue their resumption.

Any live worker does this on every heartbeat. A run is abandoned when its heartbeat
is older than ``SYNCLINE_WORKER_STALE_SECONDS``, or at once when its worker was a
process of this host that no longer exists. The new run resumes the work: the
planner's snapshot holds every batch the destination acknowledged, and its in-doubt
journal the batches that were in flight, so nothing is lost or sent twice.
"""

from __future__ import annotations

import logging
import os
import socket
from datetime import timedelta

from sqlalchemy import select

from syncline.catalog import Catalog, CatalogSession
from syncline.catalog.errors import QueuedRunConflict
from syncline.catalog.runs import RunQueue
from syncline.catalog.tables import RUNNING_STATUSES, RunRecord, SyncRecord, WorkerRecord
from syncline.catalog.types import utcnow
from syncline.engine.report import RunStatus
from syncline.numerals import whole_number
from syncline.worker.registry import process_running

logger = logging.getLogger(__name__)

RESUME_TRIGGER = "resume"
"""``triggered_by`` of a run queued to carry on the work of an interrupted one."""


def recover_abandoned(catalog: Catalog, stale_after: timedelta) -> list[int]:
    """Interrupt every abandoned run and queue a run to resume each; returns their ids.

    This is the one recovery path: workers call it on every heartbeat, ``syncline run``
    before it queues its run, so an interrupted run is always followed by a resumption.
    """
    with catalog.session() as session:
        interrupted = session.runs.interrupt_stale(stale_after)
        interrupted += _interrupt_dead_local(session)
        for run in interrupted:
            queue_resumption(session, run)
        return [run.id for run in interrupted]


def _interrupt_dead_local(session: CatalogSession) -> list[RunRecord]:
    """Runs whose worker was a process of this host that is gone: no need to wait."""
    running = session.orm.scalars(
        select(RunRecord)
        .where(RunRecord.status.in_(RUNNING_STATUSES))
        .with_for_update(skip_locked=True)
    )
    dead: list[RunRecord] = []
    for run in list(running):
        if not worker_is_dead(session, run):
            continue
        session.runs.finish(
            run.id,
            RunStatus.INTERRUPTED,
            error=(
                f"worker {run.worker} stopped (its process is gone); a new run resumes "
                "where this one stopped"
            ),
        )
        logger.warning("run %s of sync %s interrupted: its process is gone", run.id, run.sync_id)
        dead.append(run)
    return dead


def queue_resumption(session: CatalogSession, run: RunRecord) -> None:
    """Queue a run of ``run``'s sync that carries on its work (none for a dry run)."""
    sync = session.orm.get(SyncRecord, run.sync_id)
    if sync is None or run.dry_run:
        return  # a dry run wrote nothing, so there is nothing to resume
    # Read the switch under the sync's lock, as the queue does: a sync disabled a moment
    # ago gets no run.
    session.orm.refresh(sync, attribute_names=["disabled"], with_for_update=True)
    if sync.disabled:
        logger.info(
            "sync %s is disabled; interrupted run %s resumes when it is next run", sync.id, run.id
        )
        return
    try:
        follow_up = RunQueue(session.orm, sync.workspace_id).enqueue(
            sync, triggered_by=RESUME_TRIGGER
        )
    except QueuedRunConflict as conflict:
        # The sync's one queued run is a dry run, which must stay dry: the work resumes
        # with the sync's next run that writes, as after any interrupted run.
        logger.warning(
            "sync %s: interrupted run %s is not resumed now: dry run %s is queued and a run "
            "that writes cannot join it; trigger the sync once that run has started",
            sync.id, run.id, conflict.run_id,
            extra={"sync_id": sync.id, "run_id": run.id},
        )  # fmt: skip
        return
    logger.info("run %s of sync %s queued to resume run %s", follow_up.id, sync.id, run.id)


def is_abandoned(session: CatalogSession, run: RunRecord, stale_after: timedelta) -> bool:
    """True when a running run's worker stopped: a stale heartbeat or a dead local process.

    Reads only; :func:`recover_abandoned` is what interrupts such a run and resumes it.
    """
    if run.status not in RUNNING_STATUSES:
        return False
    if run.heartbeat_at is None or run.heartbeat_at < utcnow() - stale_after:
        return True
    return worker_is_dead(session, run)


def worker_is_dead(session: CatalogSession, run: RunRecord) -> bool:
    """True when the run's worker is a process of this host that no longer exists.

    A worker service's runs name its registered worker (whose host and pid the
    ``workers`` table holds); a ``syncline run`` names ``host:pid`` itself.
    """
    name = run.worker or ""
    registered = session.orm.scalar(select(WorkerRecord).where(WorkerRecord.name == name))
    if registered is not None:
        host, pid = registered.host, str(registered.pid)
    else:
        host, _, pid = name.rpartition(":")
    number = whole_number(pid)
    if host != socket.gethostname() or number is None:
        return False
    if number == os.getpid():
        return False
    return not process_running(number)
