"""Initial catalog tables: workspaces, sources, destinations, models, syncs, runs, row results.

Revision ID: 0001
Revises:
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# Migration scripts are frozen history: they spell out their own types rather than
# importing the application's, which may change later.
TIMESTAMP = sa.DateTime(timezone=True)
RUNNING = sa.text("status IN ('querying', 'processing', 'reporting')")
QUEUED = sa.text("status = 'queued'")


def _id() -> sa.Column[int]:
    return sa.Column("id", sa.Integer(), primary_key=True)


def _workspace(table: str) -> sa.Column[int]:
    return sa.Column(
        "workspace_id",
        sa.Integer(),
        sa.ForeignKey(
            "workspaces.id", name=f"fk_{table}_workspace_id_workspaces", ondelete="CASCADE"
        ),
        nullable=False,
    )


def _reference(table: str, column: str, target: str, ondelete: str) -> sa.Column[int]:
    return sa.Column(
        column,
        sa.Integer(),
        sa.ForeignKey(f"{target}.id", name=f"fk_{table}_{column}_{target}", ondelete=ondelete),
        nullable=False,
    )


def _stamps() -> list[sa.Column[object]]:
    return [
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
    ]


def _connection_table(table: str) -> None:
    op.create_table(
        table,
        _id(),
        _workspace(table),
        sa.Column("slug", sa.String(255), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("configuration", sa.JSON(), nullable=False),
        *_stamps(),
        sa.PrimaryKeyConstraint("id", name=f"pk_{table}"),
        sa.UniqueConstraint("workspace_id", "slug", name=f"uq_{table}_workspace_id_slug"),
        sqlite_autoincrement=True,
    )


def _counts() -> list[sa.Column[object]]:
    return [
        sa.Column(f"{kind}_{op_name}", sa.Integer(), nullable=False)
        for kind in ("planned", "successful", "failed")
        for op_name in ("added", "changed", "removed")
    ]


def upgrade() -> None:
    """Create every catalog table and the indexes that keep one running and one queued run."""
    op.create_table(
        "workspaces",
        _id(),
        sa.Column("slug", sa.String(255), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_workspaces"),
        sa.UniqueConstraint("slug", name="uq_workspaces_slug"),
    )
    _connection_table("sources")
    _connection_table("destinations")

    op.create_table(
        "models",
        _id(),
        _workspace("models"),
        _reference("models", "source_id", "sources", "RESTRICT"),
        sa.Column("slug", sa.String(255), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("query_type", sa.String(32), nullable=False),
        sa.Column("sql", sa.Text(), nullable=True),
        sa.Column("table_name", sa.String(1024), nullable=True),
        sa.Column("primary_key", sa.String(255), nullable=True),
        sa.Column("is_schema", sa.Boolean(), nullable=False),
        sa.Column("folder_id", sa.String(255), nullable=True),
        sa.Column("tags", sa.JSON(), nullable=False),
        *_stamps(),
        sa.PrimaryKeyConstraint("id", name="pk_models"),
        sa.UniqueConstraint("workspace_id", "slug", name="uq_models_workspace_id_slug"),
        sqlite_autoincrement=True,
    )

    op.create_table(
        "syncs",
        _id(),
        _workspace("syncs"),
        _reference("syncs", "model_id", "models", "RESTRICT"),
        _reference("syncs", "destination_id", "destinations", "RESTRICT"),
        sa.Column("slug", sa.String(255), nullable=False),
        sa.Column("configuration", sa.JSON(), nullable=False),
        sa.Column("schedule", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("primary_key", sa.String(255), nullable=False),
        sa.Column("referenced_columns", sa.JSON(), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("last_run_at", TIMESTAMP, nullable=True),
        *_stamps(),
        sa.PrimaryKeyConstraint("id", name="pk_syncs"),
        sa.UniqueConstraint("workspace_id", "slug", name="uq_syncs_workspace_id_slug"),
        sqlite_autoincrement=True,
    )

    op.create_table(
        "sync_runs",
        _id(),
        _reference("sync_runs", "sync_id", "syncs", "CASCADE"),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("triggered_by", sa.String(32), nullable=False),
        sa.Column("full_resync", sa.Boolean(), nullable=False),
        sa.Column("reset_cdc", sa.Boolean(), nullable=False),
        sa.Column("clear_and_fill", sa.Boolean(), nullable=False),
        sa.Column("dry_run", sa.Boolean(), nullable=False),
        sa.Column("cancel_requested", sa.Boolean(), nullable=False),
        sa.Column("worker", sa.String(255), nullable=True),
        sa.Column("heartbeat_at", TIMESTAMP, nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("query_size", sa.Integer(), nullable=True),
        sa.Column("skipped_null_keys", sa.Integer(), nullable=False),
        *_counts(),
        sa.Column("completion_ratio", sa.Float(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("started_at", TIMESTAMP, nullable=True),
        sa.Column("finished_at", TIMESTAMP, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_sync_runs"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_sync_runs_status", "sync_runs", ["status"])
    op.create_index("ix_sync_runs_sync_id_id", "sync_runs", ["sync_id", "id"])
    op.create_index(
        "uq_sync_runs_one_queued",
        "sync_runs",
        ["sync_id"],
        unique=True,
        sqlite_where=QUEUED,
        postgresql_where=QUEUED,
    )
    op.create_index(
        "uq_sync_runs_one_running",
        "sync_runs",
        ["sync_id"],
        unique=True,
        sqlite_where=RUNNING,
        postgresql_where=RUNNING,
    )

    op.create_table(
        "sync_row_results",
        _id(),
        _reference("sync_row_results", "sync_id", "syncs", "CASCADE"),
        _reference("sync_row_results", "run_id", "sync_runs", "CASCADE"),
        sa.Column("primary_key", sa.Text(), nullable=False),
        sa.Column("operation", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_sync_row_results"),
    )
    op.create_index("ix_sync_row_results_run_id_status", "sync_row_results", ["run_id", "status"])
    op.create_index("ix_sync_row_results_sync_id_run_id", "sync_row_results", ["sync_id", "run_id"])


def downgrade() -> None:
    """Drop every catalog table."""
    for table in (
        "sync_row_results",
        "sync_runs",
        "syncs",
        "models",
        "destinations",
        "sources",
        "workspaces",
    ):
        op.drop_table(table)
