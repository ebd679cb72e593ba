"""Which installation a planner schema belongs to, so that two never share one.

Planner tables are named by sync ids, and a sync id means something only in the catalog
that gave it: two installations planning in one schema of one warehouse would read,
overwrite and drop each other's snapshots. The first installation to plan in a schema
marks it with its id (see :class:`~syncline.catalog.tables.InstallationRecord`); any
other is refused, and told to give its source a ``plannerSchema`` of its own.
"""

from __future__ import annotations

import logging

from syncline.engine.planner.warehouse.session import OWNER_TABLE, WarehouseSession
from syncline.engine.planner.warehouse.sql import literal, quote
from syncline.errors import ConfigError

logger = logging.getLogger(__name__)

__all__ = ["OWNER_TABLE", "check_owner", "claim_schema"]


def claim_schema(session: WarehouseSession, installation_id: str | None) -> None:
    """Mark the session's schema as this installation's, or refuse one another owns.

    ``installation_id`` is None where no catalog is involved (the engine on its own),
    and then nothing is marked or checked.
    """
    if installation_id is None:
        return
    table = _owner_table(session)
    session.execute(f"CREATE TABLE IF NOT EXISTS {table} (id VARCHAR(36) PRIMARY KEY)")
    owners = _owners(session, table)
    if not owners:
        session.execute(f"INSERT INTO {table} (id) VALUES ({literal(installation_id)})")
        logger.info(
            "planner schema %r now belongs to this installation (%s)",
            session.schema,
            installation_id,
        )
        owners = _owners(session, table)
    _check(session, owners, installation_id)


def check_owner(session: WarehouseSession, installation_id: str | None) -> None:
    """Refuse to touch a schema another installation owns; an unmarked schema passes."""
    if installation_id is None:
        return
    found = session.fetch(
        "SELECT 1 FROM information_schema.tables "
        f"WHERE table_schema = {literal(session.schema)} AND table_name = {literal(OWNER_TABLE)}"
    )
    if found:
        _check(session, _owners(session, _owner_table(session)), installation_id)


def _owner_table(session: WarehouseSession) -> str:
    return f"{quote(session.schema)}.{quote(OWNER_TABLE)}"


def _owners(session: WarehouseSession, table: str) -> list[str]:
    return [str(row[0]) for row in session.fetch(f"SELECT id FROM {table} ORDER BY id")]


def _check(session: WarehouseSession, owners: list[str], installation_id: str) -> None:
    others = [owner for owner in owners if owner != installation_id]
    if others:
        raise ConfigError(
            f"planner schema {session.schema!r} of this source belongs to another Syncline "
            f"installation ({others[0]}); its tables are that installation's snapshots. Set "
            "'plannerSchema' of this source to a schema of this installation's own",
            code="PLANNER_SCHEMA_OWNED",
        )
