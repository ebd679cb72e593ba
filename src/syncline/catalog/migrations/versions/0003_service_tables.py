"""Service tables: API keys, workers, sync sequences, schedule state and alerts.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TIMESTAMP = sa.DateTime(timezone=True)
PENDING = sa.text("status = 'pending'")
RUNNING = sa.text("status = 'running'")


def _workspace(table: str) -> sa.Column[int]:
    return sa.Column(
        "workspace_id",
        sa.Integer(),
        sa.ForeignKey(
            "workspaces.id", name=f"fk_{table}_workspace_id_workspaces", ondelete="CASCADE"
        ),
        nullable=False,
    )


def _reference(
    table: str, column: str, target: str, ondelete: str, *, nullable: bool = False
) -> sa.Column[object]:
    # Sequences and their runs have UUID ids, as the API's sequence ids are strings.
    uuid_ids = target in ("sync_sequences", "sync_sequence_runs")
    kind: sa.types.TypeEngine[object] = (
        sa.String(36) if uuid_ids else sa.Integer()  # type: ignore[assignment]
    )
    return sa.Column(
        column,
        kind,
        sa.ForeignKey(f"{target}.id", name=f"fk_{table}_{column}_{target}", ondelete=ondelete),
        nullable=nullable,
    )


def upgrade() -> None:
    """Create the tables the API server, workers, scheduler and alerts keep."""
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Integer(), primary_key=True),
        _workspace("api_keys"),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("prefix", sa.String(16), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("last_used_at", TIMESTAMP, nullable=True),
        sa.Column("revoked_at", TIMESTAMP, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_api_keys"),
        sa.UniqueConstraint("key_hash", name="uq_api_keys_key_hash"),
    )

    op.create_table(
        "workers",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("concurrency", sa.Integer(), nullable=False),
        sa.Column("started_at", TIMESTAMP, nullable=False),
        sa.Column("heartbeat_at", TIMESTAMP, nullable=False),
        sa.Column("stopped_at", TIMESTAMP, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_workers"),
        sa.UniqueConstraint("name", name="uq_workers_name"),
    )

    op.create_table(
        "sync_sequences",
        sa.Column("id", sa.String(36), primary_key=True),
        _workspace("sync_sequences"),
        sa.Column("slug", sa.String(255), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("schedule", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_sync_sequences"),
        sa.UniqueConstraint("workspace_id", "slug", name="uq_sync_sequences_workspace_id_slug"),
    )

    op.create_table(
        "sync_sequence_steps",
        sa.Column("id", sa.Integer(), primary_key=True),
        _reference("sync_sequence_steps", "sequence_id", "sync_sequences", "CASCADE"),
        sa.Column("position", sa.Integer(), nullable=False),
        _reference("sync_sequence_steps", "sync_id", "syncs", "RESTRICT"),
        sa.Column("stop_on", sa.String(32), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_sync_sequence_steps"),
        sa.UniqueConstraint(
            "sequence_id", "position", name="uq_sync_sequence_steps_sequence_id_position"
        ),
    )

    op.create_table(
        "sync_sequence_runs",
        sa.Column("id", sa.String(36), primary_key=True),
        _reference("sync_sequence_runs", "sequence_id", "sync_sequences", "CASCADE"),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("triggered_by", sa.String(32), nullable=False),
        sa.Column("cancel_requested", sa.Boolean(), nullable=False),
        sa.Column("worker", sa.String(255), nullable=True),
        sa.Column("heartbeat_at", TIMESTAMP, nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("started_at", TIMESTAMP, nullable=True),
        sa.Column("finished_at", TIMESTAMP, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_sync_sequence_runs"),
    )
    op.create_index(
        "uq_sync_sequence_runs_one_pending",
        "sync_sequence_runs",
        ["sequence_id"],
        unique=True,
        sqlite_where=PENDING,
        postgresql_where=PENDING,
    )
    op.create_index(
        "uq_sync_sequence_runs_one_running",
        "sync_sequence_runs",
        ["sequence_id"],
        unique=True,
        sqlite_where=RUNNING,
        postgresql_where=RUNNING,
    )

    op.create_table(
        "sync_sequence_run_steps",
        sa.Column("id", sa.Integer(), primary_key=True),
        _reference("sync_sequence_run_steps", "sequence_run_id", "sync_sequence_runs", "CASCADE"),
        sa.Column("position", sa.Integer(), nullable=False),
        _reference("sync_sequence_run_steps", "sync_id", "syncs", "CASCADE"),
        _reference("sync_sequence_run_steps", "run_id", "sync_runs", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_sync_sequence_run_steps"),
        sa.UniqueConstraint(
            "sequence_run_id",
            "position",
            name="uq_sync_sequence_run_steps_sequence_run_id_position",
        ),
    )

    op.create_table(
        "schedule_states",
        sa.Column("id", sa.Integer(), primary_key=True),
        _reference("schedule_states", "sync_id", "syncs", "CASCADE", nullable=True),
        _reference("schedule_states", "sequence_id", "sync_sequences", "CASCADE", nullable=True),
        sa.Column("schedule_key", sa.String(64), nullable=False),
        sa.Column("next_run_at", TIMESTAMP, nullable=True),
        sa.Column("last_due_at", TIMESTAMP, nullable=True),
        sa.Column("watermark", sa.String(255), nullable=True),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_schedule_states"),
        sa.UniqueConstraint("sync_id", name="uq_schedule_states_sync_id"),
        sa.UniqueConstraint("sequence_id", name="uq_schedule_states_sequence_id"),
    )

    op.create_table(
        "alert_policies",
        sa.Column("id", sa.Integer(), primary_key=True),
        _workspace("alert_policies"),
        _reference("alert_policies", "destination_id", "destinations", "CASCADE", nullable=True),
        _reference("alert_policies", "sync_id", "syncs", "CASCADE", nullable=True),
        sa.Column("configuration", sa.JSON(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_alert_policies"),
        sa.UniqueConstraint("destination_id", name="uq_alert_policies_destination_id"),
        sa.UniqueConstraint("sync_id", name="uq_alert_policies_sync_id"),
    )

    op.create_table(
        "alert_states",
        sa.Column("id", sa.Integer(), primary_key=True),
        _reference("alert_states", "sync_id", "syncs", "CASCADE"),
        sa.Column("trigger", sa.String(32), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("since", TIMESTAMP, nullable=False),
        sa.Column("notified_at", TIMESTAMP, nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_alert_states"),
        sa.UniqueConstraint("sync_id", "trigger", name="uq_alert_states_sync_id_trigger"),
    )


def downgrade() -> None:
    """Drop the service tables."""
    for table in (
        "alert_states",
        "alert_policies",
        "schedule_states",
        "sync_sequence_run_steps",
        "sync_sequence_runs",
        "sync_sequence_steps",
        "sync_sequences",
        "workers",
        "api_keys",
    ):
        op.drop_table(table)
