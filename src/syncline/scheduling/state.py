"""Where each schedule stands, kept in ``schedule_states`` so a restart resumes it.

Syncs and sync sequences each keep one state. A state belongs to one schedule: its
``schedule_key`` is the digest of the schedule it was computed for, and a schedule edit
starts a fresh state. A state's ``next_run_at`` is cleared while its owner is disabled
or manual, so turning it back on never counts the quiet time as missed runs.

Until the scheduler has stored a ``next_run_at``, the first due time counts from when the
owner was last changed (made, enabled, its schedule edited), not from when the scheduler
first looks: the API shows that time at once, and a scheduler ticking a few seconds
after it must still queue that run (:func:`first_due`).
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.orm import Session

from syncline.catalog.tables import ScheduleStateRecord, SequenceRecord, SyncRecord
from syncline.catalog.types import utcnow
from syncline.errors import ConfigError
from syncline.scheduling.schedules import CLOCK_TYPES, next_due, schedule_key, schedule_type

if TYPE_CHECKING:
    # Only for annotations: the catalog imports this module (through its API shapes).
    from syncline.catalog.catalog import Catalog

logger = logging.getLogger(__name__)


def schedule_state(
    session: Session, owner: SyncRecord | SequenceRecord, *, lock: bool = False
) -> ScheduleStateRecord:
    """The schedule state of a sync or sequence, made or reset when it belongs to another
    schedule."""
    query = select(ScheduleStateRecord).where(_owned_by(owner))
    state = session.scalar(query.with_for_update() if lock else query)
    key = schedule_key(owner.schedule)
    if state is None:
        if isinstance(owner, SyncRecord):
            state = ScheduleStateRecord(sync_id=owner.id, schedule_key=key)
        else:
            state = ScheduleStateRecord(sequence_id=owner.id, schedule_key=key)
        session.add(state)
        session.flush()
    elif state.schedule_key != key:
        logger.info("%s: the schedule changed, so it starts afresh", owner.slug)
        state.schedule_key = key
        state.next_run_at = None
        state.last_due_at = None
        state.watermark = None
    return state


def pause_idle_states(catalog: Catalog) -> None:
    """Clear the next due time of disabled and manual syncs and sequences.

    Looks first and writes only when there is something to clear, so that an idle
    scheduler does not take SQLite's write lock on every tick.
    """
    idle_syncs = select(SyncRecord.id).where(
        SyncRecord.disabled.is_(True) | SyncRecord.schedule.is_(None)
    )
    idle_sequences = select(SequenceRecord.id).where(
        SequenceRecord.disabled.is_(True) | SequenceRecord.schedule.is_(None)
    )
    idle = (
        ScheduleStateRecord.sync_id.in_(idle_syncs)
        | ScheduleStateRecord.sequence_id.in_(idle_sequences)
    ) & ScheduleStateRecord.next_run_at.is_not(None)

    with catalog.session(read_only=True) as session:
        found = session.orm.scalar(select(ScheduleStateRecord.id).where(idle).limit(1))
    if found is None:
        return
    with catalog.session() as session:
        session.orm.execute(
            update(ScheduleStateRecord)
            .where(idle)
            .values(next_run_at=None)
            .execution_options(synchronize_session=False)
        )


def next_run_at(
    session: Session, owner: SyncRecord | SequenceRecord, now: datetime | None = None
) -> datetime | None:
    """When a sync or sequence runs next by its clock schedule; None when manual, disabled,
    dbt Cloud or unreadable.

    The scheduler's stored time wins; before the scheduler has timed the schedule, it is
    the :func:`first_due` time the scheduler will take.
    """
    if owner.disabled or schedule_type(owner.schedule) not in CLOCK_TYPES:
        return None
    state = session.scalar(select(ScheduleStateRecord).where(_owned_by(owner)))
    if state is not None and state.schedule_key != schedule_key(owner.schedule):
        state = None  # kept for an older schedule: the scheduler starts it afresh
    if state is not None and state.next_run_at is not None:
        return state.next_run_at
    try:
        return first_due(owner, state, now or utcnow())
    except ConfigError:
        return None


def first_due(
    owner: SyncRecord | SequenceRecord, state: ScheduleStateRecord | None, now: datetime
) -> datetime | None:
    """The first due time of a schedule with no stored ``next_run_at`` yet.

    It is the first due time after the owner's last change, or after ``now`` when that
    stamp lies ahead of it, so the time the API showed when the sync was made or turned
    on is the one that runs, even when the scheduler first looks after it. It is always
    after the last due time ``state`` queued, so no due time runs twice. ConfigError when
    the schedule cannot be read.
    """
    since = min(owner.updated_at or now, now)
    if state is not None and state.last_due_at is not None:
        since = max(since, state.last_due_at)
    return next_due(owner.schedule, since)


def _owned_by(owner: SyncRecord | SequenceRecord) -> ColumnElement[bool]:
    if isinstance(owner, SyncRecord):
        return ScheduleStateRecord.sync_id == owner.id
    return ScheduleStateRecord.sequence_id == owner.id
