"""Failed sign-ins are counted per account and per client address, to slow down guessing.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create ``sign_in_throttles``: one row per hashed account or address with failures."""
    op.create_table(
        "sign_in_throttles",
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failure_at", TIMESTAMP, nullable=False),
        sa.Column("blocked_until", TIMESTAMP, nullable=True),
        sa.PrimaryKeyConstraint("key", name="pk_sign_in_throttles"),
    )
    op.create_index(
        "ix_sign_in_throttles_last_failure_at", "sign_in_throttles", ["last_failure_at"]
    )


def downgrade() -> None:
    """Drop ``sign_in_throttles``."""
    op.drop_table("sign_in_throttles")
