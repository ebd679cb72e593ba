"""A webhook that stops answering part way through a batch gets each accepted row once.

The webhook splits an engine batch into requests. When a later request gets no answer
(the connection closed, no answer within the timeout), the rows of the requests the
receiver accepted are committed and counted, and only the rest are sent again: by the
webhook's own retries within the run (the engine adds none), then by the next run.
Answers that come, even 500s, settle their rows within the run; 429s or 503s to the end
of a request's retries stop the run's sending, the rest left unsent for the next run.
Shown with the real webhook client against a receiver on loopback; the receiver records
which rows it accepted, so a row accepted twice fails the test. A terminal answer to
such a retry keeps the accepted rows too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from engine_doubles import Harness
from webhook_receiver import (
    CLOSE,
    HANG,
    WebhookReceiver,
    accepting_receiver,  # noqa: F401 - the ``receiver`` fixture
    webhook_sync,
)

from syncline.engine.report import RunStatus
from syncline.engine.run import RunResult

QUICK = {"timeout": 2.0, "backoff_base": 0.01, "backoff_max": 0.02}
"""Webhook settings that make a silent receiver cost a test little time. The timeout is
long enough that a healthy answer on a busy machine is never taken for silence (0.2 s was
not: the receiver's first answer came later once, and the request was rightly resent)."""


def _webhook_sync(tmp_path: Path, receiver: WebhookReceiver, **settings: Any) -> Harness:
    """The shared sync, with a short timeout and backoff. The harness's engine would retry
    a transient failure twice, but not the webhook's: it retries by itself."""
    return webhook_sync(tmp_path, receiver, **(QUICK | settings))


def _ids(first: int, last: int) -> list[int]:
    return list(range(first, last + 1))


def _resume(sync: Harness, receiver: WebhookReceiver) -> RunResult:
    """The next run, the receiver answering again: it sends only the rows the receiver did
    not accept, and the receiver then holds every row once."""
    receiver.answer = lambda number: 200
    resumed = sync.run()

    assert resumed.status is RunStatus.SUCCESS, resumed.error
    assert receiver.sent() == _ids(151, 250)
    assert sorted(receiver.accepted) == _ids(1, 250)
    return resumed


@pytest.mark.parametrize("silence", [CLOSE, HANG], ids=["closed", "timeout"])
def test_a_webhook_going_silent_part_way_keeps_the_accepted_rows(
    tmp_path: Path, receiver: WebhookReceiver, silence: int
) -> None:
    sync = _webhook_sync(tmp_path, receiver, max_retries=1)
    receiver.answer = lambda number: 200 if number < 3 else silence

    failed = sync.run()

    assert failed.status is RunStatus.FAILED
    assert failed.error is not None
    assert "did not answer after 2 attempts" in failed.error
    # The webhook tries the fourth request twice, and the engine does not try it again.
    assert receiver.sent() == _ids(1, 200) + _ids(151, 200)
    assert receiver.accepted == _ids(1, 150)
    assert failed.progress.successful.as_api() == {
        "addedCount": 150,
        "changedCount": 0,
        "removedCount": 0,
    }
    assert failed.progress.failed.total == 0
    kept = [key for rows in sync.reporter.succeeded_rows for key in rows.keys]
    assert sorted(kept, key=int) == [str(i) for i in _ids(1, 150)]

    resumed = _resume(sync, receiver)

    assert resumed.progress.successful.added == 100
    assert sync.run().progress.planned.total == 0
    assert receiver.sent() == []


def test_a_retry_sends_only_the_unanswered_rows(tmp_path: Path, receiver: WebhookReceiver) -> None:
    sync = _webhook_sync(tmp_path, receiver, max_retries=1)
    receiver.answer = lambda number: CLOSE if number == 3 else 200

    result = sync.run()

    assert result.status is RunStatus.SUCCESS, result.error
    assert receiver.sent() == _ids(1, 200) + _ids(151, 250)
    assert sorted(receiver.accepted) == _ids(1, 250)
    assert result.progress.successful.added == 250
    assert result.progress.failed.total == 0
    assert sync.run().progress.planned.total == 0
    assert receiver.sent() == []


def test_credentials_refused_on_the_retry_keep_the_rows_accepted_before(
    tmp_path: Path, receiver: WebhookReceiver
) -> None:
    sync = _webhook_sync(tmp_path, receiver, max_retries=1)
    receiver.answer = lambda number: 200 if number < 3 else CLOSE if number == 3 else 401

    failed = sync.run()

    assert failed.status is RunStatus.FAILED
    assert failed.error is not None
    assert "refused the credentials (HTTP 401)" in failed.error
    assert receiver.sent() == _ids(1, 200) + _ids(151, 200)
    assert receiver.accepted == _ids(1, 150)
    assert failed.progress.successful.added == 150
    assert failed.progress.failed.total == 0

    _resume(sync, receiver)


def test_repeated_500s_refuse_only_the_rows_not_accepted(
    tmp_path: Path, receiver: WebhookReceiver
) -> None:
    sync = _webhook_sync(tmp_path, receiver, max_retries=1)
    receiver.answer = lambda number: 200 if number < 3 else 500

    refused = sync.run()

    assert refused.status is RunStatus.WARNING, refused.error
    # Each later request is tried twice by the webhook, then its rows are refused.
    assert receiver.sent() == _ids(1, 200) + _ids(151, 200) + _ids(201, 250) * 2
    assert receiver.accepted == _ids(1, 150)
    assert refused.progress.successful.added == 150
    assert refused.progress.failed.added == 100

    resumed = _resume(sync, receiver)

    assert resumed.progress.successful.added == 100
    assert sync.run().progress.planned.total == 0


def test_a_503_that_passes_within_the_webhook_retries_sends_each_row_once(
    tmp_path: Path, receiver: WebhookReceiver
) -> None:
    sync = _webhook_sync(tmp_path, receiver, max_retries=2)
    receiver.answer = lambda number: 503 if number in (3, 4) else 200

    result = sync.run()

    assert result.status is RunStatus.SUCCESS, result.error
    assert receiver.sent() == _ids(1, 200) + _ids(151, 200) * 2 + _ids(201, 250)
    assert sorted(receiver.accepted) == _ids(1, 250)
    assert result.progress.successful.added == 250
    assert sync.run().progress.planned.total == 0
    assert receiver.sent() == []


def test_a_webhook_that_never_answers_gets_each_request_max_retries_plus_one_times(
    tmp_path: Path, receiver: WebhookReceiver
) -> None:
    sync = _webhook_sync(tmp_path, receiver, max_retries=3, timeout=0.3)
    receiver.answer = lambda number: HANG

    failed = sync.run()

    assert failed.status is RunStatus.FAILED
    assert failed.error is not None
    assert "did not answer after 4 attempts" in failed.error
    # The first request is tried as max_retries says, and no layer tries it again.
    assert receiver.sent() == _ids(1, 50) * 4
    assert receiver.accepted == []
    assert failed.progress.failed.total == 0

    _resume_all(sync, receiver)


def test_a_request_timed_out_then_answered_keeps_its_delivery_id(
    tmp_path: Path, receiver: WebhookReceiver
) -> None:
    sync = _webhook_sync(tmp_path, receiver, max_retries=1)
    receiver.answer = lambda number: HANG if number == 0 else 200

    result = sync.run()

    assert result.status is RunStatus.SUCCESS, result.error
    assert receiver.sent() == _ids(1, 50) * 2 + _ids(51, 250)
    first, second = receiver.deliveries[:2]
    assert first == second


def test_a_throttling_webhook_stops_the_run_and_leaves_the_rest_unsent(
    tmp_path: Path, receiver: WebhookReceiver
) -> None:
    sync = _webhook_sync(tmp_path, receiver, max_retries=1)
    receiver.answer = lambda number: 200 if number < 3 else 429

    failed = sync.run()

    assert failed.status is RunStatus.FAILED
    assert failed.error is not None
    assert "HTTP 429 Too Many Requests after 2 attempts" in failed.error
    assert "DESTINATION_THROTTLED" in failed.error
    # The fourth request is tried twice; nothing after it is sent, nothing is rejected.
    assert receiver.sent() == _ids(1, 200) + _ids(151, 200)
    assert receiver.accepted == _ids(1, 150)
    assert failed.progress.successful.added == 150
    assert failed.progress.failed.total == 0

    _resume(sync, receiver)


def _resume_all(sync: Harness, receiver: WebhookReceiver) -> None:
    """The next run, the receiver answering again, sends every row once."""
    receiver.answer = lambda number: 200
    resumed = sync.run()

    assert resumed.status is RunStatus.SUCCESS, resumed.error
    assert receiver.sent() == _ids(1, 250)
    assert sorted(receiver.accepted) == _ids(1, 250)
