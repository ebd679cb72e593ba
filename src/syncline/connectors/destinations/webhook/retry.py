"""When to try a request again: full-jitter exponential backoff.

``Retry-After`` is read by :mod:`syncline.connectors.retry_after`.
"""

from __future__ import annotations

import random

RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
"""Statuses worth another attempt; other 5xx are retried too."""

RETRY_AFTER_STATUSES = frozenset({429, 503})
"""Statuses whose ``Retry-After`` header is honoured."""


def is_retryable(status: int) -> bool:
    """Whether a response with ``status`` may succeed when sent again."""
    return status in RETRY_STATUSES or status >= 500


def backoff(attempt: int, *, base: float, cap: float, rng: random.Random) -> float:
    """Seconds to wait before retry ``attempt`` (0 for the first): uniform in [0, bound].

    The bound doubles per retry up to ``cap``. Drawing the whole wait at random keeps
    many clients that failed together from retrying together.
    """
    return rng.uniform(0.0, min(cap, base * 2**attempt))
