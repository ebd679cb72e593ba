"""Slowing down password guessing: failed sign-ins counted per account and per address.

After :data:`ACCOUNT_LIMIT` failures for one e-mail address (or :data:`ADDRESS_LIMIT`
from one client address) without a quiet spell of :data:`QUIET_SPELL`, sign-ins of that
key are refused unchecked for a delay that doubles with every further failure. The
e-mail address is counted whether or not it has an account, and the refusal reads the
same, so the limit tells nobody which accounts exist. The counts live in the catalog,
so every server process shares them.
"""

from __future__ import annotations

import hashlib
import logging
import math
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from syncline.catalog.tables import SignInThrottleRecord
from syncline.catalog.types import utcnow

logger = logging.getLogger(__name__)

ACCOUNT_LIMIT = 5
"""Failures for one e-mail address before its sign-ins wait."""

ADDRESS_LIMIT = 20
"""Failures from one client address before its sign-ins wait (offices share one)."""

QUIET_SPELL = timedelta(minutes=15)
"""A key without a failure or a wait for this long starts counting from zero."""

FIRST_WAIT = timedelta(minutes=1)
"""The wait after the limit is reached; each further failure doubles it."""

LONGEST_WAIT = timedelta(hours=1)
"""The wait never grows past this, so an account's owner is never locked out for good."""


def _key(kind: str, value: str) -> str:
    return hashlib.sha256(f"{kind}:{value.strip().lower()}".encode()).hexdigest()


def wait_text(wait: timedelta) -> str:
    """The one-line refusal shown instead of checking the password."""
    minutes = max(1, math.ceil(wait / timedelta(minutes=1)))
    unit = "minute" if minutes == 1 else "minutes"
    return f"too many failed sign-ins; try again in {minutes} {unit}"


class SignInThrottle:
    """The failure counts of the e-mail address and client address of a sign-in."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def wait(self, email: str, address: str, now: datetime | None = None) -> timedelta | None:
        """How long sign-ins of this e-mail or from this address must still wait; None if not."""
        now = now or utcnow()
        keys = [_key("account", email), _key("address", address)]
        query = select(SignInThrottleRecord.blocked_until).where(
            SignInThrottleRecord.key.in_(keys), SignInThrottleRecord.blocked_until > now
        )
        until = [found for found in self.session.scalars(query) if found is not None]
        return max(until) - now if until else None

    def failed(self, email: str, address: str, now: datetime | None = None) -> None:
        """Count a failed sign-in (a wrong password, or an unknown or disabled account)."""
        now = now or utcnow()
        self.session.execute(
            delete(SignInThrottleRecord).where(
                SignInThrottleRecord.last_failure_at < now - QUIET_SPELL - LONGEST_WAIT
            )
        )
        self._count("account", email, ACCOUNT_LIMIT, now)
        self._count("address", address, ADDRESS_LIMIT, now)

    def succeeded(self, email: str) -> None:
        """Forget the account's failures; the address's stay, or one account would clear it."""
        self.session.execute(
            delete(SignInThrottleRecord).where(SignInThrottleRecord.key == _key("account", email))
        )

    def _count(self, kind: str, value: str, limit: int, now: datetime) -> None:
        key = _key(kind, value)
        record = self._locked(key)
        if record is None:
            try:
                with self.session.begin_nested():
                    record = SignInThrottleRecord(key=key, failures=0, last_failure_at=now)
                    self.session.add(record)
            except IntegrityError:
                # Another process counted this key's first failure at the same moment.
                record = self._locked(key)
                assert record is not None
        quiet_since = max(record.last_failure_at, record.blocked_until or record.last_failure_at)
        if now - quiet_since > QUIET_SPELL:
            record.failures, record.blocked_until = 0, None
        record.failures += 1
        record.last_failure_at = now
        if record.failures >= limit:
            wait = min(FIRST_WAIT * 2 ** (record.failures - limit), LONGEST_WAIT)
            record.blocked_until = now + wait
            logger.warning("sign-ins of one %s wait %s after %s failures", kind, wait,
                           record.failures)  # fmt: skip
        self.session.flush()

    def _locked(self, key: str) -> SignInThrottleRecord | None:
        query = select(SignInThrottleRecord).where(SignInThrottleRecord.key == key)
        return self.session.scalars(query.with_for_update()).one_or_none()


__all__ = ["SignInThrottle", "wait_text"]
