"""PyMySQL driver errors mapped to the error taxonomy, in one place."""

from __future__ import annotations

import re

from syncline.connectors.destinations.sql.bisect import RowDataError
from syncline.errors import TerminalError, TransientError

_DATA_ERRORS = {
    1048,  # column cannot be null
    1062,  # duplicate entry
    1264,  # out of range value
    1265,  # data truncated
    1292,  # incorrect (datetime, ...) value
    1366,  # incorrect (integer, string, ...) value
    1367,  # illegal value
    1364,  # field has no default value
    1406,  # data too long
    1411,  # incorrect value for function
    1644,  # a trigger's SIGNAL (SQLSTATE 45000 and other user states) refused the row
    1451,  # foreign key: row is referenced
    1452,  # foreign key: parent row missing
    1690,  # value out of range
    3140,  # invalid JSON text (MySQL)
    3819,  # check constraint violated (MySQL)
    4025,  # check constraint failed (MariaDB)
}

_TRANSIENT_ERRORS = {
    1040,  # too many connections
    1053,  # server shutdown in progress
    1205,  # lock wait timeout
    1213,  # deadlock
    1317,  # query interrupted
    1927,  # connection killed (MariaDB)
    1969,  # statement timeout (MariaDB)
    2002,  # cannot connect (socket)
    2003,  # cannot connect
    2006,  # server has gone away
    2013,  # lost connection during query
    2055,  # lost connection
    3024,  # max execution time exceeded (MySQL)
}

_CREDENTIAL_ERRORS = {1044, 1045, 1049, 1698}

_STAGED_WORDS = (
    (re.compile(r"`[^`]*`\.`_syncline_stage\w*`\.(`[^`]*`)"), r"\1"),
    (re.compile(r"`_syncline_stage\w*\.([^`]*)`"), r"`\1`"),
    (re.compile(r" for `[^`]*`\.`_syncline_stage\w*`"), ""),
    (re.compile(r" at row \d+$"), ""),
)
"""What a row's reason says of the staging table the row was refused in, and how to say
it of the column alone: the table is internal, and its row number (always 1 once the
batch is bisected) is not the row's."""


def _row_reason(message: str) -> str:
    for pattern, replacement in _STAGED_WORDS:
        message = pattern.sub(replacement, message)
    return message


def map_error(exc: Exception, where: str) -> Exception | None:
    """The taxonomy error for a PyMySQL error at ``where`` (host, port, database), or None.

    Errors about a row's values or constraints, and a trigger's ``SIGNAL`` refusing a
    row, become :class:`RowDataError` so the batch is bisected; lost connections,
    deadlocks and lock waits are transient; the rest (access denied, unknown table or
    column, read-only server) is terminal.
    """
    import pymysql

    if not isinstance(exc, pymysql.MySQLError):
        return None

    code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else 0
    message = str(exc.args[1]) if len(exc.args) > 1 else str(exc)
    if code in _DATA_ERRORS:
        return RowDataError(_row_reason(message))

    text = f"MySQL destination {where}: {message or 'connection closed'}"
    if code in _TRANSIENT_ERRORS or isinstance(exc, pymysql.err.InterfaceError):
        return TransientError(text, connector="mysql", code="DESTINATION_UNAVAILABLE")
    if code in _CREDENTIAL_ERRORS:
        return TerminalError(
            f"{text}; check the destination's user, password and database",
            connector="mysql",
            code="DESTINATION_INVALID_CREDENTIALS",
        )
    return TerminalError(text, connector="mysql", code="DESTINATION_ERROR")
