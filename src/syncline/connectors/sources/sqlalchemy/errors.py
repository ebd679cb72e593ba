"""The one translation of SQLAlchemy and DB-API errors into Syncline's error taxonomy."""

from __future__ import annotations

import logging

from syncline.connectors.sources._errors import first_line
from syncline.errors import ConnectorError, TerminalError, TransientError
from syncline.security.masking import scrub

logger = logging.getLogger(__name__)

_UNREACHABLE = (
    "connection refused",
    "can't connect",
    "could not connect",
    "timeout",
    "timed out",
    "server closed the connection",
    "lost connection",
    "gone away",
    "too many",
    "database is locked",
    "deadlock",
    "the database system is",
)
_AUTH = ("password", "access denied", "authentication", "login failed", "role")


def map_error(
    exc: Exception, *, backend: str, secrets: tuple[str, ...], connecting: bool
) -> ConnectorError:
    """The taxonomy error for a SQLAlchemy exception, naming the setting or the query to fix.

    ``backend`` names the database without credentials; ``secrets`` are scrubbed from the
    message, since some drivers repeat parts of the URL; ``connecting`` says whether the
    error came while logging in rather than while running the query.
    """
    import sqlalchemy.exc

    if isinstance(exc, sqlalchemy.exc.ArgumentError | sqlalchemy.exc.NoSuchModuleError):
        # The parser's message quotes the whole URL, password included: never pass it on.
        return TerminalError(
            "the source setting 'url' is not a usable SQLAlchemy URL (unknown dialect, "
            "missing driver or bad syntax); write it as dialect+driver://user:password@host/db",
            connector="sqlalchemy",
        )

    original = exc.orig if isinstance(exc, sqlalchemy.exc.DBAPIError) else exc
    reason = scrub(first_line(original), *secrets)
    lowered = reason.lower()
    invalidated = isinstance(exc, sqlalchemy.exc.DBAPIError) and exc.connection_invalidated

    if invalidated or any(phrase in lowered for phrase in _UNREACHABLE):
        return TransientError(
            f"{backend} is unreachable or busy: {reason}; check host and port in 'url' "
            "if it persists",
            connector="sqlalchemy",
        )

    if connecting and any(word in lowered for word in _AUTH):
        return TerminalError(
            f"{backend} refused the login: {reason}; check the user and password in 'url'",
            connector="sqlalchemy",
        )

    if connecting:
        return TerminalError(
            f"cannot connect to {backend}: {reason}; fix the source setting 'url'",
            connector="sqlalchemy",
        )

    return TerminalError(f"query on {backend} failed: {reason}", connector="sqlalchemy")
