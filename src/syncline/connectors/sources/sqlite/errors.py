"""The one translation of sqlite3 errors into Syncline's error taxonomy."""

from __future__ import annotations

import logging
import sqlite3

from syncline.connectors.sources._errors import first_line
from syncline.connectors.sources.sqlite.config import SQLiteConfig
from syncline.errors import ConnectorError, TerminalError, TransientError

logger = logging.getLogger(__name__)


def map_error(exc: Exception, config: SQLiteConfig) -> ConnectorError:
    """The taxonomy error for a sqlite3 exception, naming the setting or the query to fix."""
    reason = first_line(exc)
    lowered = reason.lower()
    where = f"SQLite file {str(config.path)!r}"

    if "locked" in lowered or "busy" in lowered:
        # A writer holds the file; SQLite lets readers in again once it commits.
        return TransientError(f"{where} is locked by a writer: {reason}", connector="sqlite")

    if "unable to open" in lowered or "not a database" in lowered:
        return TerminalError(
            f"cannot open {where}: {reason}; fix the source setting 'path'", connector="sqlite"
        )

    if isinstance(exc, sqlite3.Error):
        return TerminalError(f"query on {where} failed: {reason}", connector="sqlite")

    return TerminalError(f"reading {where} failed: {reason}", connector="sqlite")
