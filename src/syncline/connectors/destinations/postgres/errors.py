"""PostgreSQL driver errors mapped to the error taxonomy, in one place."""

from __future__ import annotations

from syncline.connectors.destinations.sql.bisect import RowDataError
from syncline.errors import TerminalError, TransientError

_TRANSIENT_STATES = {
    "40001",  # serialization_failure
    "40P01",  # deadlock_detected
    "55P03",  # lock_not_available
    "57014",  # query_canceled (statement timeout)
    "57P01",  # admin_shutdown, also pg_terminate_backend
    "57P02",  # crash_shutdown
    "57P03",  # cannot_connect_now
}

_TRANSIENT_FATALS = ("starting up", "shutting down", "too many", "recovery mode")

_RAISED_STATES = {
    "P0001",  # raise_exception: RAISE EXCEPTION in a trigger, without an errcode
    "P0004",  # assert_failure: ASSERT in a trigger
}
"""States a table's own trigger raises to refuse the row it is given."""


def map_error(exc: Exception, where: str) -> Exception | None:
    """The taxonomy error for a psycopg error at ``where`` (host, port, database), or None.

    Data errors (classes 22 and 23: bad values, constraint violations; an id repeated
    within one upsert) and a trigger's refusal of a row (``RAISE EXCEPTION``, ``ASSERT``)
    become :class:`RowDataError` so the batch is bisected; connection loss, deadlocks, lock and
    statement timeouts are transient; the rest (auth, missing objects, privileges) is
    terminal.
    """
    import psycopg

    if not isinstance(exc, psycopg.Error):
        return None

    state = exc.sqlstate or ""
    message = (exc.diag.message_primary if state else None) or str(exc).strip()
    # 21000: one statement would upsert the same id twice (a batch repeating an id).
    if state[:2] in ("22", "23") or state == "21000" or state in _RAISED_STATES:
        return RowDataError(message)

    text = f"PostgreSQL destination {where}: {message}"
    if state in _TRANSIENT_STATES or state[:2] in ("08", "53"):
        return TransientError(text, connector="postgres", code="DESTINATION_UNAVAILABLE")
    if isinstance(exc, psycopg.InterfaceError):
        return TransientError(text, connector="postgres", code="DESTINATION_UNAVAILABLE")
    if isinstance(exc, psycopg.OperationalError) and not state:
        if "FATAL" in message and not any(s in message for s in _TRANSIENT_FATALS):
            return TerminalError(
                f"{text}; check the destination's user, password and database",
                connector="postgres",
                code="DESTINATION_INVALID_CREDENTIALS",
            )
        return TransientError(text, connector="postgres", code="DESTINATION_UNAVAILABLE")
    if state[:2] == "28" or state == "3D000":
        return TerminalError(
            f"{text}; check the destination's user, password and database",
            connector="postgres",
            code="DESTINATION_INVALID_CREDENTIALS",
        )
    return TerminalError(text, connector="postgres", code="DESTINATION_ERROR")
