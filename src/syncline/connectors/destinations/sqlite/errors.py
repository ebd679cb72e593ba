"""sqlite3 errors mapped to the error taxonomy, in one place."""

from __future__ import annotations

import sqlite3

from syncline.connectors.destinations.sql.bisect import RowDataError
from syncline.errors import TerminalError, TransientError

_TRANSIENT = ("SQLITE_BUSY", "SQLITE_LOCKED", "SQLITE_IOERR", "SQLITE_FULL")
_DATA = ("SQLITE_CONSTRAINT", "SQLITE_MISMATCH", "SQLITE_TOOBIG")


def map_error(exc: Exception, where: str) -> Exception | None:
    """The taxonomy error for a sqlite3 error on the file ``where``, or None.

    Constraint violations and values too big become :class:`RowDataError` so the batch
    is bisected; a lock held by another writer is transient; the rest (no such table,
    read-only file, file cannot be opened) is terminal.
    """
    if not isinstance(exc, sqlite3.Error):
        return None

    name = getattr(exc, "sqlite_errorname", "") or ""
    message = str(exc)
    if name.startswith(_DATA) or isinstance(exc, sqlite3.IntegrityError | sqlite3.DataError):
        return RowDataError(message)

    text = f"SQLite destination {where}: {message}"
    if name.startswith(_TRANSIENT) or "locked" in message:
        return TransientError(text, connector="sqlite", code="DESTINATION_UNAVAILABLE")
    return TerminalError(text, connector="sqlite", code="DESTINATION_ERROR")
