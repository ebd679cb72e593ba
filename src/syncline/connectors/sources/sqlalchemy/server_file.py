"""The server file a SQLAlchemy URL opens, so the file roots can hold it like a path.

SQLite and DuckDB open a file on the Syncline server itself, named in the URL's
database part; an in-memory database, and every dialect that reaches a server over
the network, name none. :func:`syncline.security.files.path_problems` checks the file
found here exactly as it checks the ``sqlite`` source's ``path``.
"""

from __future__ import annotations

import logging

from syncline.connectors.sources.sqlalchemy.sqlite_file import file_name

logger = logging.getLogger(__name__)

DUCKDB_SERVICES = ("md:", "motherduck:")
"""Prefixes of a DuckDB database name that reach MotherDuck's service, not a file."""


def server_file(url: str) -> str | None:
    """The file ``url`` opens on this server, as the URL writes it; None when none.

    A URL SQLAlchemy cannot parse, or whose port or host cannot be read, names none:
    validating its configuration refuses it, and connecting to it fails before any
    file is opened.
    """
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        return None

    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return file_name(parsed)
    if backend == "duckdb":
        name = parsed.database or ""
        in_memory = name == "" or name.startswith(":memory:")
        return None if in_memory or name.startswith(DUCKDB_SERVICES) else name
    return None
