"""Request signatures: an HMAC-SHA256 over the timestamp and the raw body.

A signed request carries two headers::

    X-Syncline-Timestamp: 1717171717
    X-Syncline-Signature: sha256=<hex>

where ``<hex>`` is the lowercase hex HMAC-SHA256, keyed with the destination's
``secret`` (UTF-8), of the bytes ``<timestamp>.<raw body>``: the timestamp's decimal
digits, one ``.``, then the body exactly as sent. A receiver recomputes it, compares
in constant time, and rejects a timestamp more than a few minutes from its clock, so
a captured request cannot be replayed later. A retry is signed afresh.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping

from syncline.numerals import whole_number

SIGNATURE_HEADER = "X-Syncline-Signature"
TIMESTAMP_HEADER = "X-Syncline-Timestamp"


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The ``X-Syncline-Signature`` value of ``body`` sent at ``timestamp``."""
    signed = str(timestamp).encode("ascii") + b"." + body
    return "sha256=" + hmac.new(secret.encode("utf-8"), signed, hashlib.sha256).hexdigest()


def signature_headers(secret: str, body: bytes, *, now: float | None = None) -> dict[str, str]:
    """The two headers that sign ``body`` now."""
    timestamp = int(time.time() if now is None else now)
    return {
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: signature(secret, timestamp, body),
    }


def verify(
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    tolerance: float = 300.0,
    now: float | None = None,
) -> bool:
    """Whether a received request's signature is valid and recent: a receiver's check."""
    lowered = {name.lower(): value for name, value in headers.items()}
    raw_timestamp = lowered.get(TIMESTAMP_HEADER.lower(), "")
    given = lowered.get(SIGNATURE_HEADER.lower(), "")
    timestamp = whole_number(raw_timestamp)
    if timestamp is None:
        return False

    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance:
        return False
    return hmac.compare_digest(signature(secret, timestamp, body), given)
