"""Project resources: which resources config as code manages, per workspace.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the table of project-managed resources."""
    op.create_table(
        "project_resources",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "workspace_id",
            sa.Integer(),
            sa.ForeignKey(
                "workspaces.id",
                name="fk_project_resources_workspace_id_workspaces",
                ondelete="CASCADE",
            ),
            nullable=False,
        ),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("slug", sa.String(255), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_project_resources"),
        sa.UniqueConstraint(
            "workspace_id", "kind", "slug", name="uq_project_resources_workspace_id_kind_slug"
        ),
    )


def downgrade() -> None:
    """Drop the table of project-managed resources."""
    op.drop_table("project_resources")
