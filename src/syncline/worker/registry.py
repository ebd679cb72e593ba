"""The worker registry: who serves the run queue, and whether each is still alive.

Every worker process has a row in the ``workers`` table that it refreshes on each
heartbeat. Two live processes may not share a name (the name is how ``syncline
worker --check`` finds this machine's worker). On a SQLite catalog only one process
may serve the queue at all: an OS lock on a file beside the database enforces it,
and the kernel drops that lock when its process dies, so a crashed worker never
blocks the next one.
"""

from __future__ import annotations

import fcntl
import logging
import os
import socket
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import IO, Self

from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError
from sqlalchemy.orm import Session

from syncline.catalog import Catalog
from syncline.catalog.engine import READ_ONLY, make_engine
from syncline.catalog.tables import WorkerRecord
from syncline.catalog.types import utcnow
from syncline.errors import UserError
from syncline.settings import Settings

logger = logging.getLogger(__name__)


def default_worker_name(settings: Settings) -> str:
    """This machine's worker name: ``SYNCLINE_WORKER_NAME``, else the host name."""
    return settings.worker_name or socket.gethostname()


def register(catalog: Catalog, name: str, concurrency: int, stale_after: timedelta) -> None:
    """Record this process as the live worker ``name``.

    Raises:
        UserError: another live process already serves under this name.
    """
    for _ in range(2):
        try:
            with catalog.session() as session:
                _claim_name(session.orm, name, concurrency, stale_after)
            return
        except IntegrityError:
            # Another process registered the same new name at the same moment; look again.
            logger.debug("worker %s: registration raced another process", name)
    raise UserError(
        f"another process registered as worker {name!r} at the same moment; give this "
        "worker another name with SYNCLINE_WORKER_NAME",
        code="WORKER_NAME_TAKEN",
    )


def _claim_name(orm: Session, name: str, concurrency: int, stale_after: timedelta) -> None:
    now = utcnow()
    record = orm.scalar(select(WorkerRecord).where(WorkerRecord.name == name).with_for_update())
    host, pid = socket.gethostname(), os.getpid()
    if record is None:
        record = WorkerRecord(name=name, host=host, pid=pid)
        orm.add(record)
    elif _alive(record, stale_after) and (record.host, record.pid) != (host, pid):
        raise UserError(
            f"worker {name!r} is already running (pid {record.pid} on {record.host}, last "
            f"heartbeat {record.heartbeat_at.isoformat(timespec='seconds')}); stop it first, "
            "or give this worker another name with SYNCLINE_WORKER_NAME",
            code="WORKER_NAME_TAKEN",
        )
    record.host, record.pid = host, pid
    record.concurrency = concurrency
    record.started_at = now
    record.heartbeat_at = now
    record.stopped_at = None
    orm.flush()
    logger.info("worker %s registered (pid %s, %s slots)", name, pid, concurrency)


def _alive(record: WorkerRecord, stale_after: timedelta) -> bool:
    """True when the record shows a process that may still be running."""
    if record.stopped_at is not None or record.heartbeat_at < utcnow() - stale_after:
        return False
    if record.host == socket.gethostname():
        return process_running(record.pid)
    return True


def process_running(pid: int) -> bool:
    """Whether process ``pid`` of this host is still running.

    A process that exited but was not reaped yet (a zombie: a worker killed with SIGKILL
    whose parent has not waited for it) still answers signal 0, yet it runs nothing and
    holds no lock, so it counts as gone; its state is read from ``/proc`` where there is
    one. A process of another user, which signal 0 may not reach, counts as running.
    """
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return True
    # The state letter follows the command name, which is in parentheses.
    _, _, after_name = stat.rpartition(")")
    return after_name[1:2] != "Z"


def beat(catalog: Catalog, name: str) -> None:
    """Refresh the heartbeat of worker ``name``."""
    with catalog.session() as session:
        record = session.orm.scalar(select(WorkerRecord).where(WorkerRecord.name == name))
        if record is not None:
            record.heartbeat_at = utcnow()


def unregister(catalog: Catalog, name: str) -> None:
    """Record that worker ``name`` stopped, so liveness checks see it at once."""
    with catalog.session() as session:
        record = session.orm.scalar(select(WorkerRecord).where(WorkerRecord.name == name))
        if record is not None and record.pid == os.getpid():
            record.stopped_at = utcnow()
    logger.info("worker %s stopped", name)


@dataclass(frozen=True)
class Liveness:
    """Whether a worker is alive, and a line saying why for a person."""

    alive: bool
    reason: str


def liveness(catalog: Catalog, name: str, stale_after: timedelta) -> Liveness:
    """How the catalog sees worker ``name``: alive when its heartbeat is fresh."""
    with catalog.session(read_only=True) as session:
        return _judge(_record(session.orm, name), name, stale_after)


def probe(catalog_url: str, name: str, stale_after: timedelta) -> Liveness:
    """:func:`liveness` for a liveness probe: only reads, and never waits for a writer.

    Opening a :class:`Catalog` migrates and may write, which could wait behind a hung
    worker holding SQLite's write lock; a probe must answer at once instead.
    """
    url = make_url(catalog_url)
    if url.get_backend_name() == "sqlite" and not Path(url.database or "").is_file():
        return Liveness(False, f"no catalog at {url.database}, so no worker has registered")
    engine = make_engine(catalog_url).execution_options(**{READ_ONLY: True})
    try:
        with Session(engine) as orm:
            return _judge(_record(orm, name), name, stale_after)
    except (OperationalError, ProgrammingError) as exc:
        reason = " ".join(str(exc.orig or exc).split())
        return Liveness(False, f"the catalog cannot be read: {reason}")
    finally:
        engine.dispose()


def _record(orm: Session, name: str) -> WorkerRecord | None:
    return orm.scalar(select(WorkerRecord).where(WorkerRecord.name == name))


def _judge(record: WorkerRecord | None, name: str, stale_after: timedelta) -> Liveness:
    if record is None:
        return Liveness(False, f"no worker named {name!r} has registered")
    seen = record.heartbeat_at.isoformat(timespec="seconds")
    if record.stopped_at is not None:
        stopped = record.stopped_at.isoformat(timespec="seconds")
        return Liveness(False, f"worker {name!r} stopped at {stopped}")
    age = (utcnow() - record.heartbeat_at).total_seconds()
    if age > stale_after.total_seconds():
        return Liveness(
            False,
            f"worker {name!r} last sent a heartbeat at {seen} ({age:.0f} s ago, more "
            f"than the {stale_after.total_seconds():g} s SYNCLINE_WORKER_STALE_SECONDS)",
        )
    return Liveness(True, f"worker {name!r} is alive (pid {record.pid}, heartbeat {seen})")


class SqliteWorkerLock:
    """An exclusive OS lock beside a SQLite catalog, held while a worker serves its queue."""

    suffix = ".worker.lock"
    """What the lock file's name adds to the catalog file's."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: IO[str] | None = None

    @classmethod
    def for_catalog(cls, catalog_url: str) -> Self | None:
        """The lock of a SQLite catalog file; None for PostgreSQL or an in-memory catalog."""
        url = make_url(catalog_url)
        if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
            return None
        database = Path(url.database or "").resolve()
        return cls(database.with_name(database.name + cls.suffix))

    def refusal(self, holder: str) -> UserError:
        """The error for a process that finds the lock held by ``holder``."""
        return UserError(
            f"a worker is already serving this SQLite catalog ({holder}); a SQLite "
            "catalog has one worker process, so stop that one first, or raise its "
            "SYNCLINE_WORKER_CONCURRENCY, or move the catalog to PostgreSQL "
            "(SYNCLINE_DATABASE_URL) to run several workers",
            code="WORKER_ALREADY_RUNNING",
        )

    def acquire(self) -> None:
        """Take the lock, or raise UserError naming the process that holds it."""
        handle = self.path.open("a+", encoding="utf-8")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise self.refusal(holder) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()} on {socket.gethostname()}\n")
        handle.flush()
        self._file = handle

    def release(self) -> None:
        """Drop the lock (the kernel also drops it if this process dies)."""
        if self._file is None:
            return
        fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
        self._file.close()
        self._file = None


class SqliteServeLock(SqliteWorkerLock):
    """An exclusive OS lock beside a SQLite catalog, held while ``syncline serve`` runs.

    A SQLite catalog is one machine's file, served by one process: its scheduler always
    leads (see :mod:`syncline.scheduling.leader`), so a second ``serve`` would schedule
    every sync twice.
    """

    suffix = ".serve.lock"

    def refusal(self, holder: str) -> UserError:
        """The error for a second ``syncline serve`` of the catalog."""
        return UserError(
            f"syncline serve is already serving this SQLite catalog ({holder}); a SQLite "
            "catalog is served by one process, so stop that one first, or move the "
            "catalog to PostgreSQL (SYNCLINE_DATABASE_URL) to serve it from several",
            code="SERVE_ALREADY_RUNNING",
        )
