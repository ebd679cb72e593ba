"""Where each sync's schedule stands, kept in ``schedule_states`` so a restart resumes it.

A state belongs to one schedule: its ``schedule_key`` is the digest of the schedule it
was computed for, and a schedule edit starts a fresh state. A state's ``next_run_at`` is
cleared while its sync is disabled or manual, so turning a sync back on never counts
the quiet time as missed runs.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from syncline.catalog.tables import ScheduleStateRecord, SyncRecord
from syncline.catalog.types import utcnow
from syncline.errors import ConfigError
from syncline.scheduling.schedules import CLOCK_TYPES, next_due, schedule_key, schedule_type

logger = logging.getLogger(__name__)


def sync_state(session: Session, sync: SyncRecord, *, lock: bool = False) -> ScheduleStateRecord:
    """The sync's schedule state, made or reset when it belongs to another schedule."""
    query = select(ScheduleStateRecord).where(ScheduleStateRecord.sync_id == sync.id)
    state = session.scalar(query.with_for_update() if lock else query)
    key = schedule_key(sync.schedule)
    if state is None:
        state = ScheduleStateRecord(sync_id=sync.id, schedule_key=key)
        session.add(state)
    elif state.schedule_key != key:
        logger.info("sync %s: schedule changed; its schedule starts afresh", sync.slug)
        state.schedule_key = key
        state.next_run_at = None
        state.last_due_at = None
        state.watermark = None
    return state


def pause_idle_states(session: Session) -> int:
    """Clear the next due time of disabled and manual syncs; returns how many were cleared."""
    idle = select(SyncRecord.id).where(
        SyncRecord.disabled.is_(True) | SyncRecord.schedule.is_(None)
    )
    result = session.execute(
        update(ScheduleStateRecord)
        .where(ScheduleStateRecord.sync_id.in_(idle), ScheduleStateRecord.next_run_at.is_not(None))
        .values(next_run_at=None)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def next_run_at(session: Session, sync: SyncRecord, now: datetime | None = None) -> datetime | None:
    """When the sync runs next by its clock schedule; None when manual, disabled or dbt.

    The scheduler's stored time wins; before the scheduler has seen the schedule, the
    time is computed from now.
    """
    if sync.disabled or schedule_type(sync.schedule) not in CLOCK_TYPES:
        return None
    state = session.scalar(
        select(ScheduleStateRecord).where(ScheduleStateRecord.sync_id == sync.id)
    )
    if (
        state is not None
        and state.schedule_key == schedule_key(sync.schedule)
        and state.next_run_at is not None
    ):
        return state.next_run_at
    try:
        return next_due(sync.schedule, now or utcnow())
    except ConfigError:
        return None
