"""Isolate the rows that a set-based statement rejects, by retrying halves of the batch.

A statement over rows ``[lo, hi)`` either succeeds for all of them or fails as a whole.
When it fails because of the data in some row (a constraint, a value too long, a bad
type), the range is split in two and each half is tried again, down to single rows:
with *k* bad rows among *n* this costs about ``2 k log2 n`` statements, and every good
row is written.

When nearly every row is bad (a mapping that fills a NOT NULL column with nulls) that
would be about ``2 n`` statements, so the attempts are capped: rows not yet tried when
the budget runs out are reported as failed with a retryable reason, and the next run
tries them again.
"""

from __future__ import annotations

from collections.abc import Callable

from syncline.connectors.destinations.base import RowFailure

MAX_ATTEMPTS = 2_048
"""Statements one batch may spend isolating bad rows before the rest is deferred."""


class RowDataError(Exception):
    """A statement failed because of the data of a row in it; retrying the same row fails."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def isolate_failures(
    lo: int,
    hi: int,
    attempt: Callable[[int, int], None],
    *,
    max_attempts: int = MAX_ATTEMPTS,
) -> list[RowFailure]:
    """Apply ``attempt`` to rows ``[lo, hi)``, bisecting on data errors; return the bad rows.

    ``attempt(a, b)`` must write rows ``[a, b)`` atomically (a savepoint or a transaction)
    and raise :class:`RowDataError` when their data is refused. Any other exception stops
    the bisection and propagates.
    """
    failures: list[RowFailure] = []
    pending = [(lo, hi)]
    attempts = 0
    last_reason = ""

    while pending:
        start, end = pending.pop()
        if start >= end:
            continue
        if attempts >= max_attempts:
            reason = (
                f"not written: the batch had too many rejected rows to isolate them all "
                f"(last reason: {last_reason}); the next run retries this row"
            )
            failures.extend(RowFailure(i, reason, retryable=True) for i in range(start, end))
            continue

        attempts += 1
        try:
            attempt(start, end)
        except RowDataError as exc:
            last_reason = exc.reason
            if end - start == 1:
                failures.append(RowFailure(start, exc.reason, retryable=False))
                continue
            middle = (start + end) // 2
            # Pushed in reverse so the earlier half runs first: among rows that conflict
            # with each other (a repeated id), the first one in the batch wins.
            pending.append((middle, end))
            pending.append((start, middle))

    return failures
