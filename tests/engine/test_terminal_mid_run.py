"""A run that a terminal destination error stops part way keeps what was acknowledged.

The rows the destination accepted before the error are counted as successful, listed
among the run's succeeded rows and committed to the snapshot, so the next run sends
only the rest. Shown with the real webhook client against a receiver on loopback
that accepts the first requests and then refuses (401) or redirects (302), and with a
batch-writing destination whose later batch fails terminally.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from engine_doubles import Harness, MemoryDestination, people
from webhook_receiver import (
    ROWS,
    WebhookReceiver,
    accepting_receiver,  # noqa: F401 - the ``receiver`` fixture
    webhook_sync,
)

from syncline.engine.report import RunStatus
from syncline.errors import TerminalError


@pytest.mark.parametrize(
    ("status", "message"),
    [(401, "refused the credentials (HTTP 401)"), (302, "redirected the request (HTTP 302)")],
)
def test_a_webhook_refusing_part_way_keeps_the_accepted_rows(
    tmp_path: Path, receiver: WebhookReceiver, status: int, message: str
) -> None:
    sync = webhook_sync(tmp_path, receiver)
    receiver.answer = lambda number: 200 if number < 3 else status

    failed = sync.run()

    assert failed.status is RunStatus.FAILED
    assert failed.error is not None
    assert message in failed.error
    assert receiver.sent() == list(range(1, 201))
    assert failed.progress.successful.as_api() == {
        "addedCount": 150,
        "changedCount": 0,
        "removedCount": 0,
    }
    assert failed.progress.failed.total == 0
    kept = [key for rows in sync.reporter.succeeded_rows for key in rows.keys]
    assert sorted(kept, key=int) == [str(i) for i in range(1, 151)]

    receiver.answer = lambda number: 200
    resumed = sync.run()

    assert resumed.status is RunStatus.SUCCESS, resumed.error
    assert receiver.sent() == list(range(151, 251))
    assert resumed.progress.successful.added == 100
    assert sync.run().progress.planned.total == 0
    assert receiver.sent() == []


def test_a_webhook_refusing_the_first_request_keeps_nothing(
    tmp_path: Path, receiver: WebhookReceiver
) -> None:
    sync = webhook_sync(tmp_path, receiver)
    receiver.answer = lambda number: 401

    failed = sync.run()

    assert failed.status is RunStatus.FAILED
    assert failed.progress.successful.total == 0
    assert receiver.sent() == list(range(1, 51))
    receiver.answer = lambda number: 200
    assert sync.run().status is RunStatus.SUCCESS
    assert receiver.sent() == list(range(1, 251))


def test_a_later_batch_failing_terminally_keeps_the_earlier_batches(tmp_path: Path) -> None:
    destination = MemoryDestination(max_batch_rows=50)
    sync = Harness(tmp_path, people(ROWS), destination=destination)
    destination.raise_on_batch = lambda call: (
        TerminalError("permission denied for table people", connector="postgres")
        if call == 4
        else None
    )

    failed = sync.run()

    assert failed.status is RunStatus.FAILED
    assert failed.progress.successful.added == 150
    assert sorted(destination.records) == list(range(1, 151))
    sync.sent()
    destination.raise_on_batch = None
    assert sync.run().status is RunStatus.SUCCESS
    assert sync.sent() == sorted(str(i) for i in range(151, 251))
