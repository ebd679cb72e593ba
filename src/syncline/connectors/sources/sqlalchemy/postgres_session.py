"""PostgreSQL URLs of the SQLAlchemy source: every session is read-only.

A model's transaction is rolled back, but some changes outlive a rollback (a sequence's
``nextval``, work done through ``dblink``); a read-only session refuses them as the
``postgres`` source's sessions do, so that neither a model nor its column check writes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

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
