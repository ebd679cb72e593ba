"""Isolate the rows that a set-based statement rejects, by retrying halves of the batch.

A statement over rows ``[lo, hi)`` either succeeds for all of them or fails as a whole.
When it fails because of the data in some row (a constraint, a value too long, a bad
type), the range is split in two and each half is tried again, down to single rows:
with *k* bad rows among *n* this costs about ``2 k log2 n`` statements, and every good
row is written.
"""

from __future__ import annotations

from collections.abc import Callable

from syncline.connectors.destinations.base import RowFailure


class RowDataError(Exception):
    """A statement failed because of the data of a row in it; retrying the same row fails."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def isolate_failures(lo: int, hi: int, attempt: Callable[[int, int], None]) -> list[RowFailure]:
    """Apply ``attempt`` to rows ``[lo, hi)``, bisecting on data errors; return the bad rows.

    ``attempt(a, b)`` must write rows ``[a, b)`` atomically (a savepoint or a transaction)
    and raise :class:`RowDataError` when their data is refused. Any other exception stops
    the bisection and propagates.
    """
    failures: list[RowFailure] = []
    pending = [(lo, hi)]

    while pending:
        start, end = pending.pop()
        if start >= end:
            continue
        try:
            attempt(start, end)
        except RowDataError as exc:
            if end - start == 1:
                failures.append(RowFailure(start, exc.reason, retryable=False))
                continue
            middle = (start + end) // 2
            # Pushed in reverse so the earlier half runs first: among rows that conflict
            # with each other (a repeated id), the first one in the batch wins.
            pending.append((middle, end))
            pending.append((start, middle))

    return failures
