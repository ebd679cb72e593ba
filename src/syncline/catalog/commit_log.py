"""Log lines about catalog changes, written only once the change is committed.

A change made in a session may still be rolled back (a later check of the same
request fails), and a log saying a model was created when it was not misleads
whoever reads it; so such lines wait for the commit and vanish with a rollback.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

_PENDING = "syncline_pending_logs"
"""Key in ``Session.info`` of the lines waiting for the session's commit."""


def info_on_commit(session: Session, logger: logging.Logger, message: str, *args: Any) -> None:
    """Log ``message % args`` at INFO on ``logger`` when ``session`` commits, never if not."""
    pending = session.info.get(_PENDING)
    if pending is None:
        pending = session.info[_PENDING] = []
        event.listen(session, "after_commit", _flush)
        event.listen(session, "after_rollback", _drop)
    pending.append((logger, message, args))


def _flush(session: Session) -> None:
    pending = session.info.get(_PENDING) or []
    session.info[_PENDING] = []
    for logger, message, args in pending:
        logger.info(message, *args)


def _drop(session: Session) -> None:
    session.info[_PENDING] = []
