"""The one translation of PyMySQL errors into Syncline's error taxonomy."""

from __future__ import annotations

import logging

from syncline.connectors.sources._errors import first_line
from syncline.connectors.sources.mysql.config import MySQLConfig
from syncline.errors import ConnectorError, TerminalError, TransientError
from syncline.security.masking import scrub

logger = logging.getLogger(__name__)

# Server and client error numbers that a later attempt may get past: cannot connect,
# lost connection, too many connections, lock wait timeout, deadlock, shutdown, killed.
_TRANSIENT_CODES = frozenset(
    {2002, 2003, 2006, 2013, 2055, 1040, 1053, 1077, 1205, 1213, 1927, 1969, 3024}
)
_AUTH_CODES = frozenset({1045, 1698, 1251})
_DATABASE_CODES = frozenset({1044, 1049})


def map_error(exc: Exception, config: MySQLConfig) -> ConnectorError:
    """The taxonomy error for a PyMySQL exception, naming the setting or the query to fix."""
    secret = config.password.get_secret_value() if config.password else None
    code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else None
    reason = first_line(exc.args[1]) if code is not None and len(exc.args) > 1 else first_line(exc)
    reason = scrub(reason, secret)
    server = f"MySQL at {config.host}:{config.port}"
    label = str(code) if code is not None else None

    if code in _AUTH_CODES:
        return TerminalError(
            f"{server} refused user {config.user!r}: {reason}; "
            "check the source settings 'user' and 'password'",
            connector="mysql",
            code=label,
        )

    if code in _DATABASE_CODES:
        return TerminalError(
            f"{server} does not let user {config.user!r} use database {config.database!r}: "
            f"{reason}; fix the source setting 'database'",
            connector="mysql",
            code=label,
        )

    if code == 2005:
        return TerminalError(
            f"host {config.host!r} is unknown: {reason}; fix the source setting 'host'",
            connector="mysql",
            code=label,
        )

    if code in _TRANSIENT_CODES or isinstance(exc, ConnectionError | TimeoutError):
        return TransientError(
            f"{server} is unreachable or busy: {reason}; check 'host' and 'port' if it persists",
            connector="mysql",
            code=label,
        )

    return TerminalError(f"query on {server} failed: {reason}", connector="mysql", code=label)
