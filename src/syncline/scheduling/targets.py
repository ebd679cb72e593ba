"""What a schedule starts: a run of a sync, or a run of a sync sequence.

Both carry a ``schedule`` and a ``disabled`` flag and keep one row of
``schedule_states``; a :class:`Target` hides which of the two the scheduler is handling.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from syncline.catalog.catalog import Catalog, CatalogSession
from syncline.catalog.tables import ScheduleStateRecord, SequenceRecord, SyncRecord
from syncline.scheduling.schedules import schedule_key, schedule_type

Scheduled = SyncRecord | SequenceRecord


@dataclass(frozen=True)
class Target:
    """One enabled, scheduled sync or sequence, as read at the start of a tick."""

    kind: str
    """``sync`` or ``sync sequence``: also how log lines name it."""
    workspace_id: int
    ident: int | str
    slug: str
    schedule_type: str
    waiting_until: datetime | None = None
    """The stored next due time of this very schedule, when there is one: before it,
    nothing needs a write."""

    @property
    def key(self) -> str:
        """Names this target among syncs and sequences alike, e.g. ``sync:7``."""
        return f"{self.kind}:{self.ident}"

    @property
    def is_sync(self) -> bool:
        """Whether this is a sync (else a sync sequence)."""
        return self.kind == "sync"

    def load(self, session: CatalogSession, *, lock: bool = False) -> Scheduled | None:
        """The record, or None when it was deleted, disabled or made manual meanwhile."""
        record: Scheduled | None
        if self.is_sync:
            record = session.orm.get(SyncRecord, self.ident, with_for_update=lock)
        else:
            record = session.orm.get(SequenceRecord, self.ident, with_for_update=lock)
        if record is None or record.disabled or record.schedule is None:
            return None
        return record

    def start(self, session: CatalogSession, record: Scheduled) -> int | str:
        """Queue a run (``triggered_by="schedule"``); the id of the run queued or joined."""
        if isinstance(record, SyncRecord):
            return session.runs.enqueue(record, triggered_by="schedule").id
        return session.sequences.trigger(record.id, triggered_by="schedule").id

    def log_extra(self, **more: Any) -> dict[str, Any]:
        """``extra`` for log records about this target."""
        key = "sync_id" if self.is_sync else "sequence_id"
        return {key: self.ident, **more}


def scheduled_targets(catalog: Catalog) -> list[Target]:
    """Every enabled sync and sequence that has a schedule, syncs first."""
    targets: list[Target] = []
    with catalog.session(read_only=True) as session:
        for kind, table, owner in (
            ("sync", SyncRecord, ScheduleStateRecord.sync_id),
            ("sync sequence", SequenceRecord, ScheduleStateRecord.sequence_id),
        ):
            rows = session.orm.execute(
                select(
                    table.workspace_id,
                    table.id,
                    table.slug,
                    table.schedule,
                    ScheduleStateRecord.schedule_key,
                    ScheduleStateRecord.next_run_at,
                )
                .outerjoin(ScheduleStateRecord, owner == table.id)
                .where(table.disabled.is_(False), table.schedule.is_not(None))
                .order_by(table.id)
            ).all()
            targets += [
                Target(
                    kind,
                    workspace_id,
                    ident,
                    slug,
                    schedule_type(schedule) or "",
                    waiting_until=next_run if key == schedule_key(schedule) else None,
                )
                for workspace_id, ident, slug, schedule, key, next_run in rows
            ]
    return targets
