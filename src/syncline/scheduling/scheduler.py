"""The scheduler: queue a run of every enabled sync and sequence whose schedule is due.

Each tick reads the scheduled syncs and sequences, and for each one whose
``next_run_at`` has passed queues one run (``triggered_by="schedule"``) and stores the
next due time, in the same transaction, so a crash either did both or neither. The
first due time of a new, re-enabled or edited schedule counts from that change, so the
``nextRunAt`` the API showed then is kept however late the first tick comes. A
scheduler that was down queues one catch-up run each, not one per missed due time, and
says how many due times it folded together. A run that comes due while a dry run is
queued for its sync waits until that dry run starts: a sync queues one run behind the
running one, and a dry run never becomes a run that writes. Every tick also moves
running sequence runs on (:func:`syncline.scheduling.sequences.advance`).

Only the scheduler holding the lock schedules (see :mod:`syncline.scheduling.leader`);
the others tick as standbys.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

from syncline.catalog.catalog import Catalog
from syncline.catalog.errors import QueuedRunConflict
from syncline.catalog.types import utcnow
from syncline.errors import SynclineError
from syncline.scheduling import sequences
from syncline.scheduling.dbt_watch import POLL_SECONDS, DbtCloudWatch
from syncline.scheduling.leader import Leadership
from syncline.scheduling.schedules import (
    CLOCK_TYPES,
    count_due,
    latest_due,
    next_due,
    schedule_key,
)
from syncline.scheduling.state import first_due, pause_idle_states, schedule_state
from syncline.scheduling.targets import Target, scheduled_targets
from syncline.settings import Settings

logger = logging.getLogger(__name__)

TICK_SECONDS = 5.0
"""How often the background thread ticks; a due run is queued at most this late."""

MISSED_COUNT_LIMIT = 100_000
"""Missed due times are counted up to this many for the catch-up warning."""

Clock = Callable[[], datetime]


class Scheduler:
    """Queues scheduled runs of syncs and sequences; call :meth:`tick` or :meth:`start`."""

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
        self._waiting: dict[str, int] = {}
        """Targets whose due run waits for a queued dry run, by that run's id: logged once."""
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
            if self._thread.is_alive():
                # The tick still uses the lock's connection; the process exit frees it.
                logger.warning("scheduler tick still running after %ss; not waiting", timeout)
                return
            self._thread = None
        self.leadership.release()
        logger.info("scheduler stopped")

    def _loop(self) -> None:
        failing = False
        while not self._stopping.is_set():
            try:
                self.tick(self.clock())
            except Exception:
                # A tick that failed (catalog unreachable, a bug) must not end scheduling;
                # the next tick tries again. The first failure of a streak gets a traceback.
                if not failing:
                    logger.exception("scheduler tick failed; retrying every %ss", self.tick_seconds)
                else:
                    logger.debug("scheduler tick failed again", exc_info=True)
                failing = True
            else:
                if failing:
                    logger.info("scheduler ticks again after failures")
                failing = False
            self._stopping.wait(self.tick_seconds)

    # -- one tick ---------------------------------------------------------------------

    def tick(self, now: datetime) -> list[int | str]:
        """Queue the runs due at ``now`` and move sequence runs on; returns the ids of the
        sync runs and sequence runs queued."""
        if now.tzinfo is None:
            raise ValueError("the scheduler's clock must give timezone-aware times")
        if not self._lead():
            return []

        pause_idle_states(self.catalog)
        queued: list[int | str] = []
        for target in scheduled_targets(self.catalog):
            try:
                if target.schedule_type in CLOCK_TYPES:
                    run_id = self._clock_schedule(target, now)
                elif target.schedule_type == "dbt":
                    run_id = self.dbt_cloud.check(target, now)
                else:
                    continue
            except SynclineError as error:
                logger.error("%s %s: could not queue a run: %s", target.kind, target.slug, error)
                continue
            except Exception:
                # One target's fault must not keep the others from their runs.
                logger.exception(
                    "%s %s: could not queue a run (a bug in Syncline; other schedules go on)",
                    target.kind,
                    target.slug,
                )
                continue
            if run_id is not None:
                queued.append(run_id)

        sequences.advance(self.catalog)
        return queued

    def _lead(self) -> bool:
        leading = self.leadership.acquire()
        if not leading and not self._standing_by:
            logger.info("another scheduler holds the lock; this one stands by")
        self._standing_by = not leading
        return leading

    def _clock_schedule(self, target: Target, now: datetime) -> int | str | None:
        if target.waiting_until is not None and target.waiting_until > now:
            return None
        with self.catalog.session(target.workspace_id) as session:
            record = target.load(session, lock=True)
            if record is None:
                return None
            schedule = record.schedule
            try:
                state = schedule_state(session.orm, record, lock=True)
                if state.next_run_at is None:
                    # Timed from the sync's last change, not from now: a tick landing
                    # after the time the API already showed must still queue that run.
                    state.next_run_at = first_due(record, state, now)
                    if state.next_run_at is None:
                        self._report_never_due(target, schedule_key(schedule))
                        return None
                if state.next_run_at > now:
                    return None

                due = state.next_run_at
                latest = latest_due(schedule, due, now)
                upcoming = next_due(schedule, now)
            except SynclineError as error:
                self._report_unreadable(target, schedule_key(schedule), error)
                return None

            try:
                run_id = target.start(session, record)
            except QueuedRunConflict as conflict:
                # A queued dry run holds the sync's one place in the queue and must stay
                # dry; the due time stays stored, so a later tick queues this run once
                # the dry run has started.
                self._report_waiting(target, due, conflict.run_id)
                return None
            self._waiting.pop(target.key, None)
            self._warn_missed(target, schedule, due, latest, now)
            state.last_due_at = latest
            state.next_run_at = upcoming
            session.flush()
            logger.info(
                "%s %s: queued scheduled run %s (due %s; next %s)",
                target.kind,
                target.slug,
                run_id,
                latest.isoformat(),
                upcoming.isoformat() if upcoming else "never",
                extra=target.log_extra(run_id=run_id),
            )
            return run_id

    def _warn_missed(
        self,
        target: Target,
        schedule: dict[str, Any] | None,
        due: datetime,
        latest: datetime,
        now: datetime,
    ) -> None:
        skipped = count_due(schedule, due, now, limit=MISSED_COUNT_LIMIT)
        if not skipped:
            return
        logger.warning(
            "%s %s: %s%s scheduled runs were due from %s to %s while no scheduler was "
            "running; queued one catch-up run for them",
            target.kind,
            target.slug,
            "more than " if skipped >= MISSED_COUNT_LIMIT else "",
            skipped + 1,
            due.isoformat(),
            latest.isoformat(),
            extra=target.log_extra(missed_runs=skipped + 1),
        )

    def _report_waiting(self, target: Target, due: datetime, queued_run: int) -> None:
        if self._waiting.get(target.key) == queued_run:
            return
        self._waiting[target.key] = queued_run
        logger.info(
            "%s %s: the run due %s waits for dry run %s, queued before it; it is queued "
            "once that run starts",
            target.kind,
            target.slug,
            due.isoformat(),
            queued_run,
            extra=target.log_extra(run_id=queued_run),
        )

    def _report_never_due(self, target: Target, key: str) -> None:
        if key in self._broken:
            return
        self._broken.add(key)
        logger.warning(
            "%s %s: its schedule names no time that ever comes, so it never runs; "
            "choose at least one day and time",
            target.kind,
            target.slug,
        )

    def _report_unreadable(self, target: Target, key: str, error: SynclineError) -> None:
        if key in self._broken:
            return
        self._broken.add(key)
        logger.error(
            "%s %s: its schedule cannot be read, so it is not scheduled: %s; fix the schedule "
            "or set it to manual",
            target.kind,
            target.slug,
            error,
        )
