"""Each run records how many records a full resync of it left in the destination.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add ``sync_runs.left_in_destination``; runs from before left none that they knew of."""
    op.add_column(
        "sync_runs",
        sa.Column("left_in_destination", sa.Integer(), nullable=False, server_default="0"),
    )


def downgrade() -> None:
    """Drop ``sync_runs.left_in_destination``."""
    with op.batch_alter_table("sync_runs") as batch:
        batch.drop_column("left_in_destination")
