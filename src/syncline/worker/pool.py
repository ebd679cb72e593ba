"""A worker pool: background threads that lease queued runs and execute them.

Each of the pool's slots leases the oldest queued run whose sync has no running run
(runs of every workspace), executes it with
:func:`~syncline.worker.execute.execute_leased`, and leases the next. One more thread
keeps the worker's registry row fresh and, on each beat, recovers runs whose worker
stopped, and hourly prunes row results past ``SYNCLINE_ROW_RESULTS_RETENTION_DAYS``.
Several pools may serve one PostgreSQL catalog from any number of machines; the
catalog's lease (``FOR UPDATE SKIP LOCKED`` and a unique index on a sync's running run)
gives each run to exactly one of them. A SQLite catalog has one pool, enforced with an
OS file lock.

Usage::

    pool = WorkerPool(catalog, settings, concurrency=4)
    pool.start()          # returns at once
    ...
    pool.stop()           # runs stop at their next batch boundary, resumed later
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import timedelta

from syncline.catalog import Catalog
from syncline.catalog.catalog import lost_connection
from syncline.engine.report import RunStatus
from syncline.errors import UserError
from syncline.settings import Settings
from syncline.worker import registry
from syncline.worker.execute import execute_leased
from syncline.worker.recovery import queue_resumption, recover_abandoned

logger = logging.getLogger(__name__)

POLL_SECONDS = 0.5
"""How long an idle slot waits before it looks at the queue again."""

RETRY_SECONDS = 5.0
"""How long a slot waits after the catalog could not be reached."""

PRUNE_SECONDS = 3600.0
"""How often a worker deletes the row results of every sync that are past retention."""

PRUNE_CHUNKS_PER_BEAT = 20
"""Chunks a heartbeat prunes at most; a larger backlog goes on at the next beats, so
pruning never delays a beat for long."""


class WorkerPool:
    """Serves the run queue of a catalog with ``concurrency`` runs at a time."""

    def __init__(
        self,
        catalog: Catalog,
        settings: Settings,
        *,
        concurrency: int | None = None,
        name: str | None = None,
        poll_seconds: float = POLL_SECONDS,
    ) -> None:
        self.catalog = catalog
        self.settings = settings
        self.concurrency = settings.worker_concurrency if concurrency is None else concurrency
        if self.concurrency < 1:
            raise UserError(
                f"worker concurrency must be at least 1, not {self.concurrency}; set "
                "--concurrency or SYNCLINE_WORKER_CONCURRENCY to a positive number"
            )
        self.name = name or registry.default_worker_name(settings)
        self.poll_seconds = poll_seconds
        self.stale_after = timedelta(seconds=settings.worker_stale_seconds)
        self._stopping = threading.Event()
        """Set when the pool stops: no slot leases another run."""
        self._stop_runs = threading.Event()
        """Set when running runs must stop at their next batch boundary."""
        self._beating = threading.Event()
        self._prune_at = 0.0
        """When (``time.monotonic()``) the heartbeat thread next prunes row results."""
        self._threads: list[threading.Thread] = []
        self._heart: threading.Thread | None = None
        self._active: dict[int, int] = {}
        self._active_lock = threading.Lock()
        self._lock = registry.SqliteWorkerLock.for_catalog(str(catalog.engine.url))
        self._started = False
        self._finished = False

    # -- lifecycle ----------------------------------------------------------------------

    def start(self) -> None:
        """Register this worker, recover abandoned runs and start the slots; returns at once.

        Raises:
            UserError: another process already serves this SQLite catalog, or a live
                worker already has this name.
        """
        if self._started:
            raise RuntimeError(f"worker pool {self.name!r} was already started")
        if self._lock is not None:
            self._lock.acquire()
        try:
            # Recover first: runs of a crashed process of this name are still recorded
            # under its pid, which registering replaces with this process's.
            self._recover()
            registry.register(self.catalog, self.name, self.concurrency, self.stale_after)
        except BaseException:
            if self._lock is not None:
                self._lock.release()
            raise
        self._started = True

        self._heart = threading.Thread(
            target=self._beat, name=f"syncline-worker-{self.name}-heartbeat", daemon=True
        )
        self._heart.start()
        for slot in range(self.concurrency):
            thread = threading.Thread(
                target=self._serve, args=(slot,), name=f"syncline-worker-{slot}", daemon=True
            )
            self._threads.append(thread)
            thread.start()
        logger.info("worker %s serving with %s slots", self.name, self.concurrency)

    def request_stop(self) -> None:
        """Stop leasing and ask running runs to stop at their next batch; returns at once."""
        self._stopping.set()
        self._stop_runs.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait up to ``timeout`` seconds for every slot to end; True when they have."""
        deadline = None if timeout is None else time.monotonic() + timeout
        for thread in self._threads:
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            thread.join(remaining)
        return all(not thread.is_alive() for thread in self._threads)

    def stop(self, graceful: bool = True, timeout: float | None = None) -> bool:
        """Stop leasing; running runs stop at their next batch boundary and are resumed.

        A run stopped this way ends ``interrupted`` and a queued run resumes it, on this
        or any other worker. ``graceful`` waits (up to ``timeout`` seconds, else as long
        as it takes) for the slots to record that; otherwise, or when the wait runs out,
        the runs still going are marked interrupted at once, and the process should then
        exit. Returns True when every slot ended.
        """
        if not self._started or self._finished:
            return True
        self.request_stop()
        ended = self.wait(timeout if graceful else 0.0)
        if not ended:
            self._abandon_active()

        self._beating.set()
        if self._heart is not None:
            self._heart.join(timeout=5)
        try:
            registry.unregister(self.catalog, self.name)
        except Exception:  # noqa: BLE001 - its heartbeat ages out instead
            logger.warning("worker %s: could not record that it stopped", self.name, exc_info=True)
        if self._lock is not None and ended:
            self._lock.release()
        self._finished = True
        return ended

    @property
    def running_runs(self) -> list[int]:
        """Ids of the runs this pool is executing now."""
        with self._active_lock:
            return sorted(self._active.values())

    # -- the slots ----------------------------------------------------------------------

    def _serve(self, slot: int) -> None:
        while not self._stopping.is_set():
            try:
                run_id = self._lease()
            except Exception as exc:  # noqa: BLE001 - a catalog outage must not end the slot
                self._warn_failed("leasing a run", exc)
                self._stopping.wait(RETRY_SECONDS)
                continue
            if run_id is None:
                self._stopping.wait(self.poll_seconds)
                continue
            with self._active_lock:
                self._active[slot] = run_id
            try:
                execute_leased(
                    self.catalog, run_id, self.settings, stop_requested=self._stop_runs.is_set
                )
            except Exception:  # noqa: BLE001 - the run is recovered once its heartbeat ages
                logger.exception("worker %s: run %s could not be recorded", self.name, run_id)
            finally:
                with self._active_lock:
                    self._active.pop(slot, None)

    def _lease(self) -> int | None:
        with self.catalog.session() as session:
            run = session.runs.claim(self.name)
            return None if run is None else run.id

    # -- heartbeat and recovery ---------------------------------------------------------

    def _beat(self) -> None:
        while not self._beating.wait(self.settings.worker_heartbeat_seconds):
            try:
                registry.beat(self.catalog, self.name)
                self._recover()
            except Exception as exc:  # noqa: BLE001 - a missed beat must not end the worker
                self._warn_failed("heartbeat", exc)
            self._prune()

    def _warn_failed(self, what: str, exc: Exception) -> None:
        """Log that ``what`` failed: in one line when the catalog's server ended the
        connection (no bug, the next try takes a fresh one), else with the traceback."""
        if lost_connection(exc):
            logger.warning(
                "worker %s: %s failed: lost the connection to the catalog", self.name, what
            )
        else:
            logger.warning("worker %s: %s failed", self.name, what, exc_info=exc)

    def _prune(self) -> None:
        """Delete row results past retention when due; a backlog goes a bounded part a beat."""
        now = time.monotonic()
        if now < self._prune_at:
            return
        # Due again in an hour also when this fails, so an outage logs once an hour.
        self._prune_at = now + PRUNE_SECONDS
        try:
            pruning = self.catalog.prune_row_results(
                self.settings.row_results_retention, max_chunks=PRUNE_CHUNKS_PER_BEAT
            )
        except Exception:  # noqa: BLE001 - results are pruned at a later sweep
            logger.warning("worker %s: pruning row results failed", self.name, exc_info=True)
            return
        if not pruning.done:
            self._prune_at = now

    def _recover(self) -> None:
        recovered = recover_abandoned(self.catalog, self.stale_after)
        if recovered:
            logger.warning(
                "worker %s interrupted abandoned runs %s and queued their resumption",
                self.name,
                ", ".join(map(str, recovered)),
            )

    def _abandon_active(self) -> None:
        """Mark the runs still going interrupted now, each resumed by a queued run."""
        for run_id in self.running_runs:
            try:
                with self.catalog.session() as session:
                    run = session.runs.finish(
                        run_id,
                        RunStatus.INTERRUPTED,
                        error=(
                            f"worker {self.name} was stopped at once; batches acknowledged "
                            "so far are kept and a new run resumes the rest"
                        ),
                    )
                    queue_resumption(session, run)
            except Exception:  # noqa: BLE001 - its heartbeat ages out instead
                logger.warning("run %s could not be marked interrupted", run_id, exc_info=True)
