"""The one translation of PostgreSQL (ADBC/libpq) errors into Syncline's error taxonomy."""

from __future__ import annotations

import logging

from syncline.connectors.sources._errors import first_line
from syncline.connectors.sources.postgres.config import PostgresConfig
from syncline.errors import ConnectorError, TerminalError, TransientError
from syncline.security.masking import scrub

logger = logging.getLogger(__name__)

# SQLSTATE classes and codes that a later attempt may get past.
_TRANSIENT_STATES = ("08", "53", "57P0", "57014", "40001", "40P01", "55P03", "58")

# Phrases libpq uses before the server has sent a SQLSTATE.
_UNREACHABLE = (
    "connection refused",
    "timeout expired",
    "timed out",
    "server closed the connection",
    "could not receive data",
    "could not send data",
    "the database system is",
    "too many clients",
    "no route to host",
    "network is unreachable",
)


def map_error(exc: Exception, config: PostgresConfig) -> ConnectorError:
    """The taxonomy error for a driver exception, naming the setting or the query to fix."""
    secret = config.password.get_secret_value() if config.password else None
    reason = scrub(_reason(exc), secret)
    lowered = reason.lower()
    server = f"PostgreSQL at {config.host}:{config.port}"
    state = str(getattr(exc, "sqlstate", None) or "")

    def terminal(message: str) -> TerminalError:
        return TerminalError(message, connector="postgres", code=state or None)

    role_missing = "role" in lowered and "does not exist" in lowered
    if "password authentication failed" in lowered or role_missing:
        return terminal(
            f"{server} refused user {config.user!r}: {reason}; "
            "check the source settings 'user' and 'password'"
        )

    if "no pg_hba.conf entry" in lowered or state.startswith("28"):
        return terminal(
            f"{server} does not let user {config.user!r} in: {reason}; check 'user', "
            "'password' and 'sslmode', or ask the database admin to allow this host"
        )

    if "database" in lowered and "does not exist" in lowered and state in ("", "3D000"):
        return terminal(
            f"{server} has no database {config.database!r}; fix the source setting 'database'"
        )

    if "could not translate host name" in lowered:
        return terminal(f"host {config.host!r} is unknown: {reason}; fix the source setting 'host'")

    if "ssl" in lowered and not state:
        return terminal(f"{server} TLS failed: {reason}; check the source setting 'sslmode'")

    if any(phrase in lowered for phrase in _UNREACHABLE) or state.startswith(_TRANSIENT_STATES):
        return TransientError(
            f"{server} is unreachable or busy: {reason}; check 'host' and 'port' if it persists",
            connector="postgres",
            code=state or None,
        )

    return terminal(f"query on {server} failed: {reason}")


def _reason(exc: Exception) -> str:
    """The server's reason without ADBC's status prefix or the echoed query."""
    line = first_line(exc)
    for prefix in ("IO: ", "INVALID_ARGUMENT: ", "NOT_FOUND: ", "INVALID_DATA: ", "[libpq] "):
        line = line.removeprefix(prefix)
    return line.replace("Failed to connect: ", "").strip()
