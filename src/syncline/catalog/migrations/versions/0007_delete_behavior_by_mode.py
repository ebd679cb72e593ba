"""Drop ``deleteBehavior`` from stored syncs where it is the default or was ignored.

Syncs were stored with ``deleteBehavior: nothing`` whatever their mode, and mirror,
insert and append syncs ignored the setting. The sync configuration now refuses a
setting its mode would not follow, and leaves an unset one out; so a stored
``nothing`` (what unset means) and an ignored setting are removed. What the syncs do
is unchanged, and changing one's mode later is not refused for a setting nobody gave.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_IGNORING = {"mirror", "insert", "append"}


def upgrade() -> None:
    """Remove ``deleteBehavior: nothing``, and the ignored ``deleteBehavior`` of mirror,
    insert and append syncs."""
    syncs = sa.table("syncs", sa.column("id", sa.Integer), sa.column("configuration", sa.JSON))
    connection = op.get_bind()
    for sync_id, configuration in connection.execute(sa.select(syncs.c.id, syncs.c.configuration)):
        if not isinstance(configuration, dict) or "deleteBehavior" not in configuration:
            continue
        mode = configuration.get("mode", "upsert")
        behaviour = configuration["deleteBehavior"]
        if behaviour != "nothing" and mode not in _IGNORING:
            continue
        if mode == "mirror" and behaviour == "delete":
            continue  # what mirror does, and still accepted
        kept = {key: value for key, value in configuration.items() if key != "deleteBehavior"}
        connection.execute(syncs.update().where(syncs.c.id == sync_id).values(configuration=kept))


def downgrade() -> None:
    """Nothing to undo: the removed settings were never followed."""
