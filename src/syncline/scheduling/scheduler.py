"""The scheduler: queue a run of every enabled sync whose schedule is due.

Each tick reads the scheduled syncs, and for each one whose ``next_run_at`` has passed
queues one run (``triggered_by="schedule"``) and stores the next due time, in the same
transaction, so a crash either did both or neither. A scheduler that was down queues
one catch-up run per sync, not one per missed due time, and says how many it skipped.

Only the scheduler holding the lock schedules (see :mod:`syncline.scheduling.leader`);
the others tick as standbys.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from syncline.catalog.catalog import Catalog
from syncline.catalog.tables import SyncRecord
from syncline.catalog.types import utcnow
from syncline.errors import SynclineError
from syncline.scheduling.dbt_watch import POLL_SECONDS, DbtCloudWatch
from syncline.scheduling.leader import Leadership
from syncline.scheduling.schedules import (
    CLOCK_TYPES,
    count_due,
    latest_due,
    next_due,
    schedule_key,
    schedule_type,
)
from syncline.scheduling.state import pause_idle_states, sync_state
from syncline.settings import Settings

logger = logging.getLogger(__name__)

TICK_SECONDS = 5.0
"""How often the background thread ticks; a due run is queued at most this late."""

MISSED_COUNT_LIMIT = 100_000
"""Missed due times are counted up to this many for the catch-up warning."""

Clock = Callable[[], datetime]


@dataclass(frozen=True)
class _Scheduled:
    workspace_id: int
    sync_id: int
    slug: str
    kind: str


class Scheduler:
    """Queues scheduled runs of syncs; call :meth:`tick` directly or :meth:`start` a thread."""

    def __init__(
        self,
        catalog: Catalog,
        settings: Settings,
        *,
        clock: Clock | None = None,
        tick_seconds: float = TICK_SECONDS,
        dbt_poll_seconds: float = POLL_SECONDS,
    ) -> None:
        self.catalog = catalog
        self.settings = settings
        self.clock = clock or utcnow
        self.tick_seconds = tick_seconds
        self.leadership = Leadership(catalog.engine)
        self.dbt_cloud = DbtCloudWatch(catalog, settings, poll_seconds=dbt_poll_seconds)
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._broken: set[str] = set()
        """Schedule keys already reported as unreadable, so each is logged once."""
        self._standing_by = False

    # -- lifecycle --------------------------------------------------------------------

    def start(self) -> None:
        """Tick in a background thread until :meth:`stop`; returns at once."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._stopping.clear()
        self._thread = threading.Thread(target=self._loop, name="syncline-scheduler", daemon=True)
        self._thread.start()
        logger.info("scheduler started (tick every %ss)", self.tick_seconds)

    def stop(self, timeout: float | None = None) -> None:
        """Stop ticking, wait for the current tick, and give up the lock."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        self.leadership.release()
        logger.info("scheduler stopped")

    def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                self.tick(self.clock())
            except Exception:
                # A tick that failed (catalog unreachable, a bug) must not end scheduling;
                # the next tick tries again.
                logger.exception("scheduler tick failed; retrying in %ss", self.tick_seconds)
            self._stopping.wait(self.tick_seconds)

    # -- one tick ---------------------------------------------------------------------

    def tick(self, now: datetime) -> list[int]:
        """Queue the runs due at ``now``; returns the ids of the runs queued."""
        if now.tzinfo is None:
            raise ValueError("the scheduler's clock must give timezone-aware times")
        if not self._lead():
            return []

        with self.catalog.session() as session:
            pause_idle_states(session.orm)
        queued: list[int] = []
        for item in self._scheduled():
            try:
                if item.kind in CLOCK_TYPES:
                    run_id = self._clock_schedule(item, now)
                elif item.kind == "dbt":
                    run_id = self.dbt_cloud.check(item.workspace_id, item.sync_id, now)
                else:
                    continue
            except SynclineError as error:
                logger.error("sync %s: could not schedule a run: %s", item.slug, error)
                continue
            if run_id is not None:
                queued.append(run_id)
        return queued

    def _lead(self) -> bool:
        leading = self.leadership.acquire()
        if not leading and not self._standing_by:
            logger.info("another scheduler holds the lock; this one stands by")
        self._standing_by = not leading
        return leading

    def _scheduled(self) -> list[_Scheduled]:
        with self.catalog.session(read_only=True) as session:
            rows = session.orm.execute(
                select(SyncRecord.workspace_id, SyncRecord.id, SyncRecord.slug, SyncRecord.schedule)
                .where(SyncRecord.disabled.is_(False), SyncRecord.schedule.is_not(None))
                .order_by(SyncRecord.id)
            ).all()
        return [
            _Scheduled(workspace_id, sync_id, slug, schedule_type(schedule) or "")
            for workspace_id, sync_id, slug, schedule in rows
        ]

    def _clock_schedule(self, item: _Scheduled, now: datetime) -> int | None:
        with self.catalog.session(item.workspace_id) as session:
            sync = session.orm.get(SyncRecord, item.sync_id, with_for_update=True)
            if sync is None or sync.disabled or sync.schedule is None:
                return None
            key = schedule_key(sync.schedule)
            try:
                state = sync_state(session.orm, sync, lock=True)
                if state.next_run_at is None:
                    state.next_run_at = next_due(sync.schedule, now)
                    return None
                if state.next_run_at > now:
                    return None

                due = state.next_run_at
                latest = latest_due(sync.schedule, due, now)
                upcoming = next_due(sync.schedule, now)
            except SynclineError as error:
                if key not in self._broken:
                    self._broken.add(key)
                    logger.error(
                        "sync %s: its schedule cannot be read, so it is not scheduled: %s; "
                        "fix the schedule or set it to manual",
                        sync.slug,
                        error,
                    )
                return None

            missed = count_due(sync.schedule, due, now, limit=MISSED_COUNT_LIMIT)
            if missed:
                logger.warning(
                    "sync %s missed %s%s scheduled run(s) between %s and %s while no scheduler "
                    "was running; queuing one catch-up run",
                    sync.slug,
                    "at least " if missed >= MISSED_COUNT_LIMIT else "",
                    missed,
                    due.isoformat(),
                    latest.isoformat(),
                    extra={"sync_id": sync.id, "missed_runs": missed},
                )

            run = session.runs.enqueue(sync, triggered_by="schedule")
            state.last_due_at = latest
            state.next_run_at = upcoming
            session.flush()
            logger.info(
                "sync %s: queued scheduled run %s (due %s; next %s)",
                sync.slug,
                run.id,
                latest.isoformat(),
                upcoming.isoformat() if upcoming else "never",
                extra={"sync_id": sync.id, "run_id": run.id},
            )
            return run.id
