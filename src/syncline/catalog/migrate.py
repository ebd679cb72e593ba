"""Bring a catalog database to the newest schema, programmatically, without alembic.ini."""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Connection, Engine, text

from syncline.errors import ConfigError

logger = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).parent / "migrations"

_PG_LOCK_ID = 7_361_540_212
"""Advisory lock that keeps two processes from migrating one PostgreSQL catalog at once."""


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic configuration pointing at the migrations shipped in this package."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest revision the shipped migrations define."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "the catalog ships at least one migration"
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision the database at ``engine`` is at; None when it was never migrated."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def _check_known(revision: str | None) -> None:
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
    head = head_revision()
    current = current_revision(engine)
    if current == head:
        return
    _check_known(current)

    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _PG_LOCK_ID})
        before = MigrationContext.configure(connection).get_current_revision()
        command.upgrade(alembic_config(connection), "head")

    logger.info("catalog migrated from revision %s to %s", before or "(empty)", head)
