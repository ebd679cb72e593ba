"""Web UI accounts: local users with an argon2 password hash, a role and one workspace.

An e-mail address is unique across the installation, so signing in needs no
workspace name: the account decides which workspace the person sees.
"""

from __future__ import annotations

import enum
import functools
import logging

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from syncline.catalog.tables import UserRecord
from syncline.catalog.types import utcnow
from syncline.errors import Problem, ValidationError

logger = logging.getLogger(__name__)

MIN_PASSWORD_LENGTH = 10
"""Shorter passwords are refused when an account is made or a password is changed."""

MIN_NAME_PART = 3
"""An e-mail address's name part (before the @) at least this long may not be in its password;
a shorter one would refuse most passwords while guarding nothing."""

_hasher = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    """A hash no password opens, made on first sign-in rather than by every process.

    Verifying against it when no account matches costs the same time as a real check,
    so response times do not tell which e-mail addresses have accounts.
    """
    return _hasher.hash("no account has this password")


class Role(enum.StrEnum):
    """What a user may do: an admin everything, a viewer only look."""

    admin = "admin"
    viewer = "viewer"


def hash_password(password: str) -> str:
    """The argon2id hash of ``password``, as stored."""
    return _hasher.hash(password)


def check_password(email: str, password: str) -> list[Problem]:
    """The reason a password is too easy to guess for the account ``email``, if any.

    Each check names one reason in one line; the password itself is never echoed.
    """
    name_part = email.strip().lower().partition("@")[0]
    fix = "choose another password"
    if len(password) < MIN_PASSWORD_LENGTH:
        message = f"the password has fewer than {MIN_PASSWORD_LENGTH} characters"
        fix = "choose a longer password"
    elif not password.strip():
        message = "the password is only whitespace"
    elif len(set(password)) == 1:
        message = "the password is one character repeated"
    elif len(name_part) >= MIN_NAME_PART and name_part in password.lower():
        message = f"the password contains the e-mail address's name part {name_part!r}"
    else:
        return []
    return [Problem("password", message, fix=fix)]


def check_role(role: str) -> list[Problem]:
    """The problem of an unknown role, if it is one."""
    if role in {r.value for r in Role}:
        return []
    return [Problem("role", f"unknown role {role!r} (roles: admin, viewer)", value=role)]


def check_new_user(email: str, password: str, role: str) -> list[Problem]:
    """Every problem of a new account's e-mail address, password and role."""
    problems: list[Problem] = []
    if "@" not in email.strip() or len(email.strip()) < 3:
        problems.append(Problem("email", "this is not an e-mail address", value=email))
    return problems + check_password(email, password) + check_role(role)


def _matches(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


class UserRepository:
    """The accounts of the whole installation (sign-in looks them up by e-mail)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def create(self, workspace_id: int, email: str, password: str, role: str) -> UserRecord:
        """Make an account; ValidationError lists every problem, a taken e-mail among them."""
        email = email.strip().lower()
        problems = check_new_user(email, password, role)
        if self.find_by_email(email) is not None:
            problems.append(Problem("email", f"an account for {email!r} exists", value=email))
        if problems:
            raise ValidationError(problems)
        record = UserRecord(
            workspace_id=workspace_id,
            email=email,
            role=role,
            password_hash=hash_password(password),
        )
        self.session.add(record)
        self.session.flush()
        logger.info("user %s made in workspace %s as %s", record.id, workspace_id, role)
        return record

    def find_by_email(self, email: str) -> UserRecord | None:
        """The account with this e-mail address, if any."""
        query = select(UserRecord).where(UserRecord.email == email.strip().lower())
        return self.session.scalars(query).one_or_none()

    def get(self, user_id: int) -> UserRecord | None:
        """The account with this id, if any."""
        return self.session.get(UserRecord, user_id)

    def list(self, workspace_id: int | None = None) -> list[UserRecord]:
        """Accounts by id, of one workspace or of all."""
        query = select(UserRecord).order_by(UserRecord.id)
        if workspace_id is not None:
            query = query.where(UserRecord.workspace_id == workspace_id)
        return list(self.session.scalars(query))

    def sign_out(self, user_id: int) -> None:
        """End every session of the user that began until now, on every browser."""
        record = self.get(user_id)
        if record is not None:
            record.signed_out_at = utcnow()

    def set_password(self, record: UserRecord, password: str) -> None:
        """Store a new password and end the user's sessions; ValidationError if it is weak.

        A copied cookie must not outlive the password it was signed in with.
        """
        problems = check_password(record.email, password)
        if problems:
            raise ValidationError(problems)
        record.password_hash = hash_password(password)
        record.signed_out_at = utcnow()
        logger.info("user %s has a new password; their sessions ended", record.id)

    def change_own_password(self, user_id: int, current: str, new: str) -> bool:
        """Set ``new`` when ``current`` is the user's password; False when it is not."""
        record = self.get(user_id)
        if record is None or not _matches(record.password_hash, current):
            return False
        self.set_password(record, new)
        return True

    def set_role(self, record: UserRecord, role: str) -> None:
        """Give the user ``role`` and end their sessions, so pages show the new rights."""
        problems = check_role(role)
        if problems:
            raise ValidationError(problems)
        record.role = role
        record.signed_out_at = utcnow()
        logger.info("user %s is now %s; their sessions ended", record.id, role)

    def disable(self, record: UserRecord) -> None:
        """Refuse the user's sign-ins and end their sessions; the account stays, to enable."""
        if record.disabled_at is None:
            record.disabled_at = utcnow()
        record.signed_out_at = utcnow()
        logger.info("user %s disabled", record.id)

    def enable(self, record: UserRecord) -> None:
        """Let a disabled user sign in again (their old sessions stay ended)."""
        record.disabled_at = None
        logger.info("user %s enabled", record.id)

    def delete(self, record: UserRecord) -> None:
        """Remove the account; its sessions end, since no account is found for them."""
        self.session.delete(record)
        self.session.flush()
        logger.info("user %s deleted", record.id)

    def verify(self, email: str, password: str) -> UserRecord | None:
        """The enabled account these credentials open, noting the sign-in; None otherwise."""
        record = self.find_by_email(email)
        stored = record.password_hash if record is not None else _dummy_hash()
        if not _matches(stored, password):
            return None
        if record is None or record.disabled_at is not None:
            return None
        if _hasher.check_needs_rehash(record.password_hash):
            record.password_hash = hash_password(password)
        record.last_sign_in_at = utcnow()
        return record


__all__ = ["Role", "UserRepository", "hash_password"]
