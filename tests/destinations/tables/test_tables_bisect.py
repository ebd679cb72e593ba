"""Bisecting a failed batch: exactly the bad rows, bounded cost, other errors propagate."""

from __future__ import annotations

import pytest

from syncline.connectors.destinations.sql.bisect import RowDataError, isolate_failures


class FakeTable:
    """Rows written by ranges, all-or-nothing, refusing ranges that hold a bad row."""

    def __init__(self, bad: set[int]) -> None:
        self.bad = bad
        self.written: set[int] = set()
        self.attempts = 0

    def attempt(self, lo: int, hi: int) -> None:
        self.attempts += 1
        refused = sorted(self.bad & set(range(lo, hi)))
        if refused:
            raise RowDataError(f"row {refused[0]} violates a constraint")
        self.written.update(range(lo, hi))


def test_isolates_exactly_the_bad_rows_and_writes_every_other_row() -> None:
    table = FakeTable({3, 512, 999})

    failures = isolate_failures(0, 1000, table.attempt)

    assert [(f.index, f.retryable) for f in failures] == [(3, False), (512, False), (999, False)]
    assert failures[1].reason == "row 512 violates a constraint"
    assert table.written == set(range(1000)) - {3, 512, 999}
    assert table.attempts <= 1 + 3 * 2 * 10


def test_a_clean_batch_takes_one_statement() -> None:
    table = FakeTable(set())

    assert isolate_failures(0, 10_000, table.attempt) == []
    assert table.attempts == 1


def test_when_the_budget_runs_out_the_untried_rows_are_deferred_as_retryable() -> None:
    table = FakeTable(set(range(100)))

    failures = isolate_failures(0, 100, table.attempt, max_attempts=20)

    assert [f.index for f in failures] == list(range(100))
    deferred = [f for f in failures if f.retryable]
    assert deferred
    assert all("next run retries" in f.reason for f in deferred)
    assert table.attempts == 20


def test_errors_other_than_row_data_stop_the_bisection() -> None:
    def attempt(lo: int, hi: int) -> None:
        raise ConnectionError("server went away")

    with pytest.raises(ConnectionError):
        isolate_failures(0, 10, attempt)
