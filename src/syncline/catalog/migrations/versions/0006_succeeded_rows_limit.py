"""Each run records how many of its succeeded rows it keeps as row results.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add ``sync_runs.succeeded_rows_limit``; runs from before keep it null (unknown)."""
    op.add_column("sync_runs", sa.Column("succeeded_rows_limit", sa.Integer(), nullable=True))


def downgrade() -> None:
    """Drop ``sync_runs.succeeded_rows_limit``."""
    with op.batch_alter_table("sync_runs") as batch:
        batch.drop_column("succeeded_rows_limit")
