"""PostgreSQL URLs of the SQLAlchemy source: every session is read-only, JSON read as text.

A model's transaction is rolled back, but some changes outlive a rollback (a sequence's
``nextval``, work done through ``dblink``); a read-only session refuses them as the
``postgres`` source's sessions do, so that neither a model nor its column check writes.

psycopg parses JSON documents by default, which makes JSON ``null`` Python's None, as
SQL NULL is, and strips a JSON string's quotes; its sessions keep each document's text.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from syncline.connectors.sources.sqlalchemy.types import json_as_text

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine


def guard_postgres(engine: Engine) -> None:
    """Make every session ``engine`` opens to PostgreSQL read-only."""
    from sqlalchemy import event

    if engine.dialect.name != "postgresql":
        return

    def read_only(connection: Any, _record: Any) -> None:
        cursor = connection.cursor()
        try:
            cursor.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
        finally:
            cursor.close()
        # The driver may have begun a transaction for the statement; end it, so the
        # session's default applies to the model's own.
        connection.commit()

    event.listen(engine, "connect", read_only)


def keep_json_text(engine: Engine) -> None:
    """Make psycopg sessions of ``engine`` read JSON and JSONB documents as their text."""
    from sqlalchemy import event

    if engine.dialect.name != "postgresql" or engine.dialect.driver != "psycopg":
        return

    def json_text(connection: Any, _record: Any) -> None:
        from psycopg.types.json import set_json_loads

        set_json_loads(json_as_text, connection)

    event.listen(engine, "connect", json_text)
