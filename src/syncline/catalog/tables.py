"""The control-plane tables: resources, runs and row results, and the service's own state.

The migration scripts in ``migrations/versions`` create exactly these tables; a test
compares the two so that they never drift apart.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column

from syncline.catalog.types import UTCDateTime, utcnow

RUNNING_STATUSES = ("querying", "processing", "reporting")
"""Run statuses of a run a worker is executing; at most one such run per sync."""

_RUNNING_SQL = "status IN ('querying', 'processing', 'reporting')"
_QUEUED_SQL = "status = 'queued'"

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


NEVER_REUSED_IDS = {"sqlite_autoincrement": True}
"""Table options that keep SQLite from giving a deleted resource's id to a new one.

API clients keep ids, and state outside the catalog (snapshots, planner tables) is named
by them: a new sync must never inherit a deleted sync's snapshot. PostgreSQL sequences
never reuse a value; SQLite does unless the table is AUTOINCREMENT.
"""


_POSTGRESQL_WHERE: list[tuple[Index, str]] = []
"""The partial indexes, each with the condition PostgreSQL is yet to be given."""


def _partial_unique_index(name: str, column: str, where: str) -> Index:
    """A unique index on ``column`` over the rows that the SQL condition ``where`` selects.

    Only SQLite's condition is given here. Naming a ``postgresql_`` option makes SQLAlchemy
    load its whole PostgreSQL dialect (some 30 ms) to check the name, which a run on the
    default SQLite catalog would pay for nothing: :func:`declare_postgresql_options` gives
    PostgreSQL its condition when a PostgreSQL catalog is used.
    """
    index = Index(name, column, unique=True, sqlite_where=text(where))
    _POSTGRESQL_WHERE.append((index, where))
    return index


def declare_postgresql_options() -> None:
    """Give the partial indexes their PostgreSQL condition; called before PostgreSQL DDL
    or schema comparison can see them (a PostgreSQL catalog engine, the migrations).

    Idempotent and cheap after the first call.
    """
    for index, where in _POSTGRESQL_WHERE:
        if index.dialect_kwargs.get("postgresql_where") is None:
            index.dialect_kwargs["postgresql_where"] = text(where)


class Base(DeclarativeBase):
    """Declarative base of every catalog table."""

    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON()}


class InstallationRecord(Base):
    """The one row naming this installation, so state it leaves elsewhere can say whose it is.

    The in-warehouse planner marks its schema with this id: two installations pointing at
    one warehouse must not read or drop each other's snapshots, whose tables are named by
    sync ids that only this catalog gives meaning to.
    """

    __tablename__ = "installation"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class _Stamped:
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class WorkspaceRecord(Base):
    """A workspace: every resource belongs to exactly one."""

    __tablename__ = "workspaces"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(255), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class _Connection(_Stamped):
    """The columns sources and destinations share: a typed connector configuration."""

    @declared_attr.directive
    @classmethod
    def __table_args__(cls) -> tuple[Any, ...]:
        # A constraint object belongs to one table, so each table gets its own.
        return (UniqueConstraint("workspace_id", "slug"), NEVER_REUSED_IDS)

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    slug: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(255))
    type: Mapped[str] = mapped_column(String(64))
    configuration: Mapped[dict[str, Any]]
    """The connector's configuration, every secret field sealed."""


class SourceRecord(_Connection, Base):
    """A database or warehouse that models query; secret fields stored encrypted."""

    __tablename__ = "sources"


class DestinationRecord(_Connection, Base):
    """A place syncs write to; secret fields stored encrypted."""

    __tablename__ = "destinations"


class ModelRecord(_Stamped, Base):
    """A SQL query or table on a source, with the primary key that identifies its rows."""

    __tablename__ = "models"
    __table_args__ = (UniqueConstraint("workspace_id", "slug"), NEVER_REUSED_IDS)

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="RESTRICT"))
    slug: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(Text, default="")
    query_type: Mapped[str] = mapped_column(String(32))
    """``raw_sql`` (``sql`` is set) or ``table`` (``table_name`` is set)."""
    sql: Mapped[str | None] = mapped_column(Text)
    table_name: Mapped[str | None] = mapped_column(String(1024))
    primary_key: Mapped[str | None] = mapped_column(String(255))
    is_schema: Mapped[bool] = mapped_column(Boolean, default=False)
    folder_id: Mapped[str | None] = mapped_column(String(255))
    tags: Mapped[dict[str, Any]] = mapped_column(default=dict)


class SyncRecord(_Stamped, Base):
    """A mapping of a model's columns to a destination, with a mode and a schedule."""

    __tablename__ = "syncs"
    __table_args__ = (UniqueConstraint("workspace_id", "slug"), NEVER_REUSED_IDS)

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    model_id: Mapped[int] = mapped_column(ForeignKey("models.id", ondelete="RESTRICT"))
    destination_id: Mapped[int] = mapped_column(ForeignKey("destinations.id", ondelete="RESTRICT"))
    slug: Mapped[str] = mapped_column(String(255))
    configuration: Mapped[dict[str, Any]]
    schedule: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    """The API's schedule wrapper ``{"type": ..., "schedule": ...}``; None is Manual."""
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    primary_key: Mapped[str] = mapped_column(String(255))
    referenced_columns: Mapped[list[str]] = mapped_column(JSON(), default=list)
    tags: Mapped[dict[str, Any]] = mapped_column(default=dict)
    last_run_at: Mapped[datetime | None]
    """When the latest run started; kept here so lists can filter on it in SQL."""


class RunRecord(Base):
    """One run of a sync: its trigger, lease, stage, counts and outcome."""

    __tablename__ = "sync_runs"
    __table_args__ = (
        Index("ix_sync_runs_sync_id_id", "sync_id", "id"),
        Index("ix_sync_runs_status", "status"),
        # The database, not only Python, keeps a sync to one running and one queued run.
        _partial_unique_index("uq_sync_runs_one_running", "sync_id", _RUNNING_SQL),
        _partial_unique_index("uq_sync_runs_one_queued", "sync_id", _QUEUED_SQL),
        NEVER_REUSED_IDS,
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    sync_id: Mapped[int] = mapped_column(ForeignKey("syncs.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16), default="queued")
    triggered_by: Mapped[str] = mapped_column(String(32), default="manual")
    full_resync: Mapped[bool] = mapped_column(Boolean, default=False)
    reset_cdc: Mapped[bool] = mapped_column(Boolean, default=False)
    clear_and_fill: Mapped[bool] = mapped_column(Boolean, default=False)
    dry_run: Mapped[bool] = mapped_column(Boolean, default=False)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    worker: Mapped[str | None] = mapped_column(String(255))
    heartbeat_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(Text)
    query_size: Mapped[int | None] = mapped_column(Integer)
    skipped_null_keys: Mapped[int] = mapped_column(Integer, default=0)
    left_in_destination: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    """Records a full resync left in the destination for rows no longer in the model."""
    rejected_given_up: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    """Rejected rows of earlier runs that a CDC reset took as synced: no longer retried."""
    planned_added: Mapped[int] = mapped_column(Integer, default=0)
    planned_changed: Mapped[int] = mapped_column(Integer, default=0)
    planned_removed: Mapped[int] = mapped_column(Integer, default=0)
    successful_added: Mapped[int] = mapped_column(Integer, default=0)
    successful_changed: Mapped[int] = mapped_column(Integer, default=0)
    successful_removed: Mapped[int] = mapped_column(Integer, default=0)
    failed_added: Mapped[int] = mapped_column(Integer, default=0)
    failed_changed: Mapped[int] = mapped_column(Integer, default=0)
    failed_removed: Mapped[int] = mapped_column(Integer, default=0)
    completion_ratio: Mapped[float] = mapped_column(Float, default=0.0)
    succeeded_rows_limit: Mapped[int | None] = mapped_column(Integer)
    """The most succeeded rows the run kept as row results; null for runs from before."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]


class RowResultRecord(Base):
    """The fate of one row in one run: rejected (with the reason) or succeeded."""

    __tablename__ = "sync_row_results"
    __table_args__ = (
        Index("ix_sync_row_results_sync_id_run_id", "sync_id", "run_id"),
        Index("ix_sync_row_results_run_id_status", "run_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    sync_id: Mapped[int] = mapped_column(ForeignKey("syncs.id", ondelete="CASCADE"))
    run_id: Mapped[int] = mapped_column(ForeignKey("sync_runs.id", ondelete="CASCADE"))
    primary_key: Mapped[str] = mapped_column(Text)
    operation: Mapped[str] = mapped_column(String(16))
    """``added``, ``changed`` or ``removed``."""
    status: Mapped[str] = mapped_column(String(16))
    """``failed`` or ``succeeded``."""
    reason: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    payload: Mapped[str | None] = mapped_column(Text)
    """The record as sent, as JSON text."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ProjectResourceRecord(Base):
    """A resource that config as code manages: applying the project may change or delete it.

    Kept in the catalog, not beside the project, so that every machine applying the same
    project to a shared catalog agrees on what the project owns.
    """

    __tablename__ = "project_resources"
    __table_args__ = (UniqueConstraint("workspace_id", "kind", "slug"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    """``sources``, ``models``, ``destinations`` or ``syncs``."""
    slug: Mapped[str] = mapped_column(String(255))


_PENDING_SQL = "status = 'pending'"
_SEQUENCE_RUNNING_SQL = "status = 'running'"


class ApiKeyRecord(Base):
    """A key that opens the REST API to one workspace; only its SHA-256 hash is kept."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(255))
    prefix: Mapped[str] = mapped_column(String(16))
    """The key's first characters, shown in lists so a person can tell keys apart."""
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class WorkerRecord(Base):
    """A worker process: who it is and when it last showed it was alive."""

    __tablename__ = "workers"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    concurrency: Mapped[int] = mapped_column(Integer, default=1)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    heartbeat_at: Mapped[datetime] = mapped_column(default=utcnow)
    stopped_at: Mapped[datetime | None]


class SequenceRecord(_Stamped, Base):
    """A sync sequence: syncs run one after another, each step saying what ends it."""

    __tablename__ = "sync_sequences"
    __table_args__ = (UniqueConstraint("workspace_id", "slug"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    """A UUID, as the API's sequence ids are strings."""
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    slug: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(255))
    schedule: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)


class SequenceStepRecord(Base):
    """One step of a sequence: the sync it runs and the outcome that ends the sequence."""

    __tablename__ = "sync_sequence_steps"
    __table_args__ = (UniqueConstraint("sequence_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    sequence_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("sync_sequences.id", ondelete="CASCADE")
    )
    position: Mapped[int] = mapped_column(Integer)
    sync_id: Mapped[int] = mapped_column(ForeignKey("syncs.id", ondelete="RESTRICT"))
    stop_on: Mapped[str] = mapped_column(String(32))
    """``fatal``, ``fatal_or_rejected`` or ``never``."""


class SequenceRunRecord(Base):
    """One run of a sequence; at most one pending and one running per sequence."""

    __tablename__ = "sync_sequence_runs"
    __table_args__ = (
        _partial_unique_index("uq_sync_sequence_runs_one_pending", "sequence_id", _PENDING_SQL),
        _partial_unique_index(
            "uq_sync_sequence_runs_one_running", "sequence_id", _SEQUENCE_RUNNING_SQL
        ),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    sequence_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("sync_sequences.id", ondelete="CASCADE")
    )
    status: Mapped[str] = mapped_column(String(16), default="pending")
    """``pending``, ``running``, ``done``, ``failed`` or ``cancelled``."""
    triggered_by: Mapped[str] = mapped_column(String(32), default="manual")
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    worker: Mapped[str | None] = mapped_column(String(255))
    heartbeat_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]


class SequenceRunStepRecord(Base):
    """The sync run one step of a sequence run started."""

    __tablename__ = "sync_sequence_run_steps"
    __table_args__ = (UniqueConstraint("sequence_run_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    sequence_run_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("sync_sequence_runs.id", ondelete="CASCADE")
    )
    position: Mapped[int] = mapped_column(Integer)
    sync_id: Mapped[int] = mapped_column(ForeignKey("syncs.id", ondelete="CASCADE"))
    run_id: Mapped[int] = mapped_column(ForeignKey("sync_runs.id", ondelete="CASCADE"))


class ScheduleStateRecord(Base):
    """Where a sync's or a sequence's schedule stands: the next due time and what fired last."""

    __tablename__ = "schedule_states"

    id: Mapped[int] = mapped_column(primary_key=True)
    sync_id: Mapped[int | None] = mapped_column(
        ForeignKey("syncs.id", ondelete="CASCADE"), unique=True
    )
    sequence_id: Mapped[str | None] = mapped_column(
        String(36), ForeignKey("sync_sequences.id", ondelete="CASCADE"), unique=True
    )
    schedule_key: Mapped[str] = mapped_column(String(64))
    """A digest of the schedule the state was computed for; a new schedule starts afresh."""
    next_run_at: Mapped[datetime | None]
    last_due_at: Mapped[datetime | None]
    watermark: Mapped[str | None] = mapped_column(String(255))
    """For dbt Cloud schedules: the id of the newest job run already acted on."""
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class AlertPolicyRecord(_Stamped, Base):
    """Alert triggers and recipients of a destination (the default) or of one sync."""

    __tablename__ = "alert_policies"

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    destination_id: Mapped[int | None] = mapped_column(
        ForeignKey("destinations.id", ondelete="CASCADE"), unique=True
    )
    sync_id: Mapped[int | None] = mapped_column(
        ForeignKey("syncs.id", ondelete="CASCADE"), unique=True
    )
    configuration: Mapped[dict[str, Any]]


class AlertStateRecord(Base):
    """The state of one alert trigger of one sync, so that only changes are notified."""

    __tablename__ = "alert_states"
    __table_args__ = (UniqueConstraint("sync_id", "trigger"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    sync_id: Mapped[int] = mapped_column(ForeignKey("syncs.id", ondelete="CASCADE"))
    trigger: Mapped[str] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(16))
    """``ok``, ``warning`` or ``critical``."""
    since: Mapped[datetime] = mapped_column(default=utcnow)
    notified_at: Mapped[datetime | None]
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)


class UserRecord(Base):
    """A person who signs in to the web UI: one workspace, one role, an argon2 hash."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(String(255), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    """``admin`` (everything) or ``viewer`` (reads only)."""
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_sign_in_at: Mapped[datetime | None]
    disabled_at: Mapped[datetime | None]
    signed_out_at: Mapped[datetime | None]
    """Sessions that began before this instant are over (set when the user signs out)."""


class SignInThrottleRecord(Base):
    """Recent failed sign-ins of one account or one client address, and how long it waits.

    Kept in the catalog so every server process behind a balancer counts the same
    failures. The key is a hash, so e-mail addresses typed for no account are not kept.
    """

    __tablename__ = "sign_in_throttles"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    """SHA-256 (hex) of ``account:<e-mail>`` or ``address:<client address>``."""
    failures: Mapped[int]
    last_failure_at: Mapped[datetime] = mapped_column(index=True)
    blocked_until: Mapped[datetime | None]
    """Sign-ins of this key are refused, unchecked, until this instant."""
