"""DuckDB errors mapped to the error taxonomy, in one place."""

from __future__ import annotations

from syncline.connectors.destinations.sql.bisect import RowDataError
from syncline.errors import TerminalError, TransientError


def map_error(exc: Exception, where: str) -> Exception | None:
    """The taxonomy error for a DuckDB error on the file ``where``, or None.

    Constraint, conversion and range errors become :class:`RowDataError` so the batch is
    bisected; a write conflict, a file lock held by another process or a closed
    connection are transient; the rest (unknown table or column, permissions) is terminal.
    """
    import duckdb

    if not isinstance(exc, duckdb.Error):
        return None

    message = str(exc)
    data_errors = (
        duckdb.ConstraintException,
        duckdb.ConversionException,
        duckdb.OutOfRangeException,
        duckdb.InvalidInputException,
    )
    if isinstance(exc, data_errors):
        return RowDataError(message)

    text = f"DuckDB destination {where}: {message}"
    transient = isinstance(exc, duckdb.TransactionException | duckdb.ConnectionException) or (
        isinstance(exc, duckdb.IOException) and "lock" in message
    )
    if transient:
        return TransientError(text, connector="duckdb", code="DESTINATION_UNAVAILABLE")
    return TerminalError(text, connector="duckdb", code="DESTINATION_ERROR")
