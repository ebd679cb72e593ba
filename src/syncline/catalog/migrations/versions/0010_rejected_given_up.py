"""Each run records how many rejected rows a CDC reset of it stopped retrying.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add ``sync_runs.rejected_given_up``; runs from before gave up none that they knew of."""
    op.add_column(
        "sync_runs",
        sa.Column("rejected_given_up", sa.Integer(), nullable=False, server_default="0"),
    )


def downgrade() -> None:
    """Drop ``sync_runs.rejected_given_up``."""
    with op.batch_alter_table("sync_runs") as batch:
        batch.drop_column("rejected_given_up")
