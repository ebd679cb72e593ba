"""Which scheduler schedules: one at a time, whatever the number of processes.

On PostgreSQL the active scheduler holds a session-level advisory lock on a
connection of its own; a standby scheduler tries to take it on every tick, so it takes
over within a tick of the active one stopping or losing its connection. A SQLite
catalog is one machine's file, served by one process, so its scheduler always leads.
"""

from __future__ import annotations

import logging

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError

logger = logging.getLogger(__name__)

LOCK_KEY = 0x53594E435343  # "SYNCSC": the advisory lock id of Syncline's scheduler
"""The PostgreSQL advisory lock key every Syncline scheduler competes for."""


class Leadership:
    """The scheduler's claim to be the one that schedules."""

    def __init__(self, engine: Engine, key: int = LOCK_KEY) -> None:
        self.engine = engine
        self.key = key
        self._connection: Connection | None = None
        self._shared = engine.dialect.name != "postgresql"

    @property
    def held(self) -> bool:
        """Whether this scheduler led at its last :meth:`acquire`."""
        return self._shared or self._connection is not None

    def acquire(self) -> bool:
        """True when this scheduler may schedule now: it holds, or just took, the lock."""
        if self._shared:
            return True
        if self._connection is not None:
            if self._alive(self._connection):
                return True
            logger.warning("scheduler lost its lock connection to the catalog; trying again")
            self._drop()

        connection = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            taken = connection.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": self.key})
        except DBAPIError:
            connection.close()
            raise
        if not taken:
            connection.close()
            return False
        self._connection = connection
        logger.info("this scheduler is now the active one (advisory lock %s)", self.key)
        return True

    def release(self) -> None:
        """Give the lock up so a standby scheduler takes over at its next tick."""
        if self._connection is None:
            return
        try:
            self._connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": self.key})
        except DBAPIError:
            # The connection is gone, and the lock with it.
            logger.debug("scheduler lock connection was already closed")
        self._drop()

    def _alive(self, connection: Connection) -> bool:
        try:
            connection.execute(text("SELECT 1"))
        except DBAPIError:
            return False
        return True

    def _drop(self) -> None:
        connection, self._connection = self._connection, None
        if connection is None:
            return
        try:
            # Never hand a connection that may still hold the lock back to the pool.
            connection.invalidate()
            connection.close()
        except DBAPIError:
            logger.debug("closing the scheduler lock connection failed", exc_info=True)
