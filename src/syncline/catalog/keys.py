"""API keys: made once and shown once, stored only as a SHA-256 hash, revoked at once.

A key is ``sl_`` plus 43 URL-safe characters (256 random bits), so a plain SHA-256
is enough to store it: there is nothing to guess that a slow hash would protect.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from syncline.catalog.commit_log import info_on_commit
from syncline.catalog.tables import ApiKeyRecord, WorkspaceRecord
from syncline.catalog.types import utcnow
from syncline.errors import NotFoundError, Problem, ValidationError

logger = logging.getLogger(__name__)

KEY_PREFIX = "sl_"
"""What every Syncline API key starts with, so a leaked one is easy to recognise."""

SHOWN_PREFIX_LENGTH = 10
"""How many leading characters of a key lists show (``sl_`` plus 7 random characters)."""

LAST_USED_RESOLUTION = timedelta(minutes=1)
"""``last_used_at`` is written at most this often per key, not on every request."""


def hash_key(key: str) -> str:
    """The hex SHA-256 of a key, as stored."""
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True)
class NewKey:
    """A key just made: its record and the only copy of the key itself."""

    record: ApiKeyRecord
    key: str


@dataclass(frozen=True)
class KeyOwner:
    """Who a presented key belongs to: the key's id and its workspace."""

    key_id: int
    workspace_id: int


class ApiKeyRepository:
    """The API keys of one workspace."""

    def __init__(self, session: Session, workspace_id: int) -> None:
        self.session = session
        self.workspace_id = workspace_id

    def create(self, name: str) -> NewKey:
        """A new key for this workspace; the returned key is never stored nor shown again."""
        if not name.strip():
            raise ValidationError([Problem("name", "the key's name is empty", fix="name the key")])

        key = KEY_PREFIX + secrets.token_urlsafe(32)
        record = ApiKeyRecord(
            workspace_id=self.workspace_id,
            name=name,
            prefix=key[:SHOWN_PREFIX_LENGTH],
            key_hash=hash_key(key),
        )
        self.session.add(record)
        self.session.flush()
        info_on_commit(self.session, logger, "created API key %s (id %s)", record.prefix, record.id)
        return NewKey(record, key)

    def list(self) -> list[ApiKeyRecord]:
        """Every key of the workspace, revoked ones included, by id."""
        query = select(ApiKeyRecord).where(ApiKeyRecord.workspace_id == self.workspace_id)
        return list(self.session.scalars(query.order_by(ApiKeyRecord.id)))

    def revoke(self, key_id: int) -> ApiKeyRecord:
        """Refuse the key from now on; revoking a revoked key changes nothing."""
        record = self.session.scalar(
            select(ApiKeyRecord).where(
                ApiKeyRecord.workspace_id == self.workspace_id, ApiKeyRecord.id == key_id
            )
        )
        if record is None:
            raise NotFoundError("API key", key_id, hint="see `syncline keys list`")
        if record.revoked_at is None:
            record.revoked_at = utcnow()
            self.session.flush()
            logger.info("revoked API key %s (id %s)", record.prefix, record.id)
        return record


def key_workspace(session: Session, key_id: int) -> str | None:
    """The slug of the workspace key ``key_id`` opens, whichever it is; None if no key
    has that id. For telling an operator where a key lives, never for opening it."""
    return session.scalar(
        select(WorkspaceRecord.slug)
        .join(ApiKeyRecord, ApiKeyRecord.workspace_id == WorkspaceRecord.id)
        .where(ApiKeyRecord.id == key_id)
    )


def find_live_key(session: Session, key: str) -> ApiKeyRecord | None:
    """The record of ``key`` when it exists and is not revoked, else None."""
    if not key.startswith(KEY_PREFIX):
        return None
    record = session.scalar(select(ApiKeyRecord).where(ApiKeyRecord.key_hash == hash_key(key)))
    if record is None or record.revoked_at is not None:
        return None
    return record


def is_use_stale(record: ApiKeyRecord, now: datetime) -> bool:
    """Whether ``last_used_at`` is older than its resolution, so it is worth a write."""
    return record.last_used_at is None or now - record.last_used_at >= LAST_USED_RESOLUTION


def note_use(session: Session, key_id: int, now: datetime) -> None:
    """Record that the key was used at ``now``."""
    session.execute(update(ApiKeyRecord).where(ApiKeyRecord.id == key_id).values(last_used_at=now))
