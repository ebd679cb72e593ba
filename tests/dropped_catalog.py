"""Cut a catalog's connection to PostgreSQL as ``pg_terminate_backend`` does, at a chosen
statement, for tests of how Syncline survives a catalog that drops its connections.

Only the backend of the test's own catalog connection is terminated.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from sqlalchemy import event

from syncline.catalog import Catalog

ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres connect_timeout=5"
"""Where a test terminates the backends of its own catalog database from."""


@contextmanager
def dropped_connection(catalog: Catalog, at: str, times: int = 1) -> Iterator[list[str]]:
    """Terminate the catalog connection's backend, as ``pg_terminate_backend`` does, just
    before the next ``times`` statements starting with ``at`` (in any case; "COMMIT": before
    a commit) run; yields the statements it cut off."""
    cut: list[str] = []

    def terminate(connection: Any) -> None:
        pid = connection.connection.dbapi_connection.info.backend_pid
        with psycopg.connect(ADMIN, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s, 5000)", [pid])

    def before_statement(connection: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if len(cut) < times and statement.lstrip().upper().startswith(at.upper()):
            cut.append(statement)
            terminate(connection)

    def before_commit(connection: Any) -> None:
        if len(cut) < times and at == "COMMIT":
            cut.append(at)
            terminate(connection)

    event.listen(catalog.engine, "before_cursor_execute", before_statement)
    event.listen(catalog.engine, "commit", before_commit)
    try:
        yield cut
    finally:
        event.remove(catalog.engine, "before_cursor_execute", before_statement)
        event.remove(catalog.engine, "commit", before_commit)
