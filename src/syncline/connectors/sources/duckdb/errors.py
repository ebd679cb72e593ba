"""The one translation of DuckDB errors into Syncline's error taxonomy."""

from __future__ import annotations

import logging

from syncline.connectors.sources._errors import first_line
from syncline.connectors.sources.duckdb.config import DuckDBConfig
from syncline.errors import ConnectorError, TerminalError, TransientError

logger = logging.getLogger(__name__)


def map_error(exc: Exception, config: DuckDBConfig) -> ConnectorError:
    """The taxonomy error for a DuckDB exception, naming the setting or the query to fix."""
    import duckdb

    reason = first_line(exc)
    where = f"DuckDB file {str(config.path)!r}" if config.path else "in-memory DuckDB"

    if isinstance(exc, duckdb.IOException) and "lock" in reason.lower():
        # Another process holds the file's write lock; it is released when that process ends.
        return TransientError(f"{where} is locked by another process: {reason}", connector="duckdb")

    if isinstance(exc, duckdb.IOException) and config.path and str(config.path) in reason:
        return TerminalError(
            f"cannot open {where}: {reason}; fix the source setting 'path'", connector="duckdb"
        )

    if isinstance(exc, duckdb.InterruptException):
        return TransientError(f"query on {where} was interrupted: {reason}", connector="duckdb")

    return TerminalError(f"query on {where} failed: {reason}", connector="duckdb")
