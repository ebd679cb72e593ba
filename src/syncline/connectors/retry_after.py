"""How long an HTTP ``Retry-After`` header asks a client to wait, in either of its forms.

RFC 9110 allows delay seconds (``120``) or an HTTP date, which may be spelled three
ways (``Sun, 06 Nov 1994 08:49:37 GMT``, the obsolete ``Sunday, 06-Nov-94 08:49:37 GMT``
and asctime's ``Sun Nov  6 08:49:37 1994``). Callers bound the answer by their own cap.
"""

from __future__ import annotations

import math
import re
from datetime import UTC
from email.utils import parsedate_to_datetime

_SECONDS = re.compile(r"[0-9]+(?:\.[0-9]+)?")
"""Delay seconds: digits, with a fraction tolerated; not ``inf``, ``nan`` or ``1e3``."""


def retry_after(value: str | None, *, now: float) -> float | None:
    """Seconds a ``Retry-After`` header asks for; a date in the past asks for none.

    ``now`` is the current Unix time. None when the header is absent or unreadable.
    """
    if value is None or not value.strip():
        return None
    text = value.strip()
    if _SECONDS.fullmatch(text):
        seconds = float(text)
        return seconds if math.isfinite(seconds) else None

    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        # "-0000" or asctime's form carry no zone; HTTP dates are always GMT.
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - now)
