"""Bring a catalog database to the newest schema, programmatically, without alembic.ini.

Opening a catalog that is already at the newest revision costs one small query: Alembic
(whose import and script scan take most of a second) is loaded only when the database
is behind or unknown.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, inspect, text

from syncline.errors import ConfigError

if TYPE_CHECKING:
    from alembic.config import Config

logger = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).parent / "migrations"

HEAD_REVISION = "0010"
"""The newest revision in ``migrations/versions``; a test keeps it equal to Alembic's head."""

VERSION_TABLE = "alembic_version"
"""The table in which Alembic records a database's revision."""

_PG_LOCK_ID = 7_361_540_212
"""Advisory lock that keeps two processes from migrating one PostgreSQL catalog at once."""


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic configuration pointing at the migrations shipped in this package."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest revision the shipped migrations define, as Alembic finds it."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "the catalog ships at least one migration"
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision the database at ``engine`` is at; None when it was never migrated."""
    with engine.connect() as connection:
        if not inspect(connection).has_table(VERSION_TABLE):
            return None
        revisions = connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}"))
        found = [str(revision) for revision in revisions.scalars()]
    # Several rows would mean branches, which the shipped migrations never make.
    return found[0] if len(found) == 1 else None


def _check_known(revision: str | None) -> None:
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    if revision is None:
        return
    try:
        ScriptDirectory.from_config(alembic_config()).get_revision(revision)
    except CommandError:
        raise ConfigError(
            f"the catalog database is at schema revision {revision!r}, which this version "
            "of Syncline does not know: a newer Syncline migrated it. Upgrade Syncline, or "
            "point SYNCLINE_DATABASE_URL at another database.",
            code="CATALOG_TOO_NEW",
        ) from None


def upgrade(engine: Engine) -> None:
    """Migrate the database at ``engine`` to the newest revision; a no-op when it is there."""
    current = current_revision(engine)
    if current == HEAD_REVISION:
        return

    from alembic import command
    from alembic.runtime.migration import MigrationContext

    head = head_revision()
    if current == head:
        return
    _check_known(current)

    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _PG_LOCK_ID})
        before = MigrationContext.configure(connection).get_current_revision()
        command.upgrade(alembic_config(connection), "head")

    if before is None:
        logger.info("catalog created at schema revision %s", head)
        return
    # One way only: older versions refuse the catalog from now on (see _check_known).
    logger.warning(
        "catalog upgraded from schema revision %s to %s; older versions of Syncline refuse "
        "it from now on, so keep a backup taken before the upgrade if you may go back",
        before,
        head,
    )
