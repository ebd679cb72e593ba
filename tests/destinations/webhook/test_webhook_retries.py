"""Retries: Retry-After on 429 and 503, backoff on 5xx, timeouts and refused connections."""

from __future__ import annotations

import dataclasses
import datetime as dt
import socket
import time
from email.utils import formatdate

import pytest
from receiver import Received, Receiver, Reply, Script
from webhook_helpers import CONTEXT, destination, rows, send

from syncline.connectors.retry_after import retry_after
from syncline.errors import TransientError


def _then_ok(failing: int, reply: Reply) -> Script:
    def script(request: Received) -> Reply:
        return reply if request.number < failing else Reply(200)

    return script


def test_429_waits_as_long_as_retry_after_says(receiver: Receiver) -> None:
    receiver.script = _then_ok(1, Reply(429, headers={"Retry-After": "1"}))

    result = send(destination(receiver.url), rows(3))

    assert result.failures == []
    first, second = receiver.requests
    assert 1.0 <= second.at - first.at < 2.5
    assert second.body == first.body
    assert second.headers["X-Syncline-Delivery"] == first.headers["X-Syncline-Delivery"]


def test_503_honours_retry_after_as_an_http_date(receiver: Receiver) -> None:
    # An HTTP date has whole seconds, so two seconds ahead means a wait of one to two.
    retry_at = formatdate(time.time() + 2, usegmt=True)
    receiver.script = _then_ok(1, Reply(503, headers={"Retry-After": retry_at}))

    result = send(destination(receiver.url), rows(1))

    assert result.failures == []
    first, second = receiver.requests
    assert 0.9 <= second.at - first.at < 2.6


def test_server_errors_are_retried_with_backoff_until_success(receiver: Receiver) -> None:
    receiver.script = _then_ok(3, Reply(500))

    result = send(destination(receiver.url, max_retries=3), rows(5))

    assert result.failures == []
    assert len(receiver.requests) == 4


def test_503_without_retry_after_backs_off_and_succeeds(receiver: Receiver) -> None:
    receiver.script = _then_ok(1, Reply(503))

    result = send(destination(receiver.url, backoff_base=0.2, backoff_max=0.2), rows(2))

    assert result.failures == []
    first, second = receiver.requests
    assert second.at - first.at < 0.6


def test_exhausted_retries_refuse_the_rows_as_retryable(receiver: Receiver) -> None:
    receiver.script = lambda _: Reply(502)

    result = send(destination(receiver.url, max_retries=2, batch_size=2), rows(3))

    assert len(receiver.requests) == 6
    assert [(f.index, f.retryable) for f in result.failures] == [
        (0, True),
        (1, True),
        (2, True),
    ]
    assert result.failures[0].reason == "gave up after 3 attempts: HTTP 502 Bad Gateway"


def test_a_retry_after_beyond_the_limit_waits_the_limit_then_retries(receiver: Receiver) -> None:
    receiver.script = _then_ok(1, Reply(429, headers={"Retry-After": "30"}))

    result = send(destination(receiver.url, max_retry_after=1, batch_size=7), rows(7))

    assert result.failures == []
    assert result.unsent == []
    first, second = receiver.requests
    assert 1.0 <= second.at - first.at < 2.5
    assert second.headers["X-Syncline-Delivery"] == first.headers["X-Syncline-Delivery"]


def test_a_retry_after_holds_every_request_of_the_run(receiver: Receiver) -> None:
    # Requests 1 to 3 are in flight when request 0 is told to wait; none may start later
    # until the wait is over, though their own answers come after 0.5 s.
    def script(request: Received) -> Reply:
        if request.number == 0:
            return Reply(429, headers={"Retry-After": "1"})
        return Reply(200, delay=0.5)

    receiver.script = script

    result = send(destination(receiver.url, batch_size=1, concurrency=4), rows(8))

    assert result.failures == []
    told_to_wait = receiver.requests[0].at
    later = [r.at - told_to_wait for r in receiver.requests[4:]]
    assert len(later) == 5
    assert min(later) >= 1.0


def test_429s_to_the_end_stop_sending_and_leave_the_rest_unsent(receiver: Receiver) -> None:
    receiver.script = lambda request: Reply(200) if request.number == 0 else Reply(429)
    target = destination(receiver.url, batch_size=2, concurrency=1, max_retries=2)

    result = send(target, rows(10))

    # The second request is tried three times; no request after it is sent at all.
    assert len(receiver.requests) == 4
    assert {r.json["rows"][0]["id"] for r in receiver.requests[1:]} == {2}
    assert result.failures == []
    assert result.unsent == list(range(2, 10))
    assert isinstance(result.error, TransientError)
    assert result.error.code == "DESTINATION_THROTTLED"
    message = str(result.error)
    assert "HTTP 429 Too Many Requests after 3 attempts" in message
    assert "left unsent for the next run, none rejected" in message


def test_503s_to_the_end_of_the_first_request_fail_the_batch_unsent(receiver: Receiver) -> None:
    receiver.script = lambda request: Reply(503, headers={"Retry-After": "0"})
    target = destination(receiver.url, batch_size=2, concurrency=1, max_retries=1)

    with pytest.raises(TransientError, match="HTTP 503 Service Unavailable after 2 attempts"):
        send(target, rows(6))
    assert len(receiver.requests) == 2


def test_a_timeout_is_retried(receiver: Receiver) -> None:
    receiver.script = _then_ok(1, Reply(200, delay=0.6))

    result = send(destination(receiver.url, timeout=0.2), rows(1))

    assert result.failures == []
    assert len(receiver.requests) == 2


def test_a_refused_connection_is_retried_then_fails_the_batch_naming_host_and_port() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # Nothing listens on the port any more: every connection is refused.
    target = destination(f"http://127.0.0.1:{port}/hook", max_retries=1, backoff_base=0.01)

    # The receiver refused no row: the batch fails transiently, the engine retries it.
    with pytest.raises(TransientError, match=rf"127\.0\.0\.1:{port} did not answer") as caught:
        send(target, rows(2))
    assert "2 attempts" in str(caught.value)
    assert "ConnectError" in str(caught.value)


def test_timeouts_to_the_end_fail_the_batch_transiently(receiver: Receiver) -> None:
    receiver.script = lambda request: Reply(200, delay=0.5)
    target = destination(receiver.url, timeout=0.1, max_retries=1, backoff_base=0.01)

    with pytest.raises(TransientError, match="no answer within 0.1s"):
        send(target, rows(1))
    assert len(receiver.requests) == 2


def test_only_the_first_retry_of_a_request_is_a_warning(
    receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    receiver.script = _then_ok(3, Reply(500))
    caplog.set_level("INFO", logger="syncline.connectors.destinations.webhook")

    send(destination(receiver.url, max_retries=3), rows(1))

    retries = [r for r in caplog.records if "retry" in r.getMessage()]
    assert [r.levelname for r in retries] == ["WARNING", "INFO", "INFO"]
    assert f"127.0.0.1:{receiver.url.split(':')[-1].split('/')[0]}" in retries[0].getMessage()


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("120", 120.0),
        (" 3 ", 3.0),
        ("Sat, 05 Dec 2026 10:00:30 GMT", 30.0),
        ("Saturday, 05-Dec-26 10:00:30 GMT", 30.0),
        ("Sat Dec  5 10:00:30 2026", 30.0),
        ("Sat, 05 Dec 2026 09:59:00 GMT", 0.0),
        ("inf", None),
        ("nan", None),
        ("1e3", None),
        ("-5", None),
        ("9" * 400, None),
        ("soon", None),
        ("", None),
    ],
)
def test_retry_after_reads_seconds_and_every_http_date_form(
    header: str, expected: float | None
) -> None:
    now = dt.datetime(2026, 12, 5, 10, 0, tzinfo=dt.UTC).timestamp()
    assert retry_after(header, now=now) == expected


def test_timeouts_after_answered_requests_return_the_unanswered_rows(
    receiver: Receiver,
) -> None:
    # The timeout leaves a busy machine time to answer the healthy requests.
    receiver.script = lambda request: Reply(200, delay=2.0 if request.number >= 3 else 0)
    target = destination(receiver.url, batch_size=10, concurrency=1, timeout=1.0, max_retries=0)

    result = send(target, rows(100))

    # Requests 0 to 2 were answered; the batch stopped at the unanswered fourth.
    assert len(receiver.requests) == 4
    assert isinstance(result.error, TransientError)
    assert "no answer within 1s" in str(result.error)
    assert result.failures == []
    assert result.unsent == list(range(30, 100))


def test_a_refusal_answered_before_an_unanswered_request_is_kept(receiver: Receiver) -> None:
    def script(request: Received) -> Reply:
        if request.number == 1:
            return Reply(200, body={"results": [{"index": 2, "ok": False, "error": "bad"}]})
        return Reply(200, delay=2.0 if request.number == 2 else 0)

    receiver.script = script
    target = destination(receiver.url, batch_size=10, concurrency=1, timeout=1.0, max_retries=0)

    result = send(target, rows(30))

    assert isinstance(result.error, TransientError)
    assert [(f.index, f.reason) for f in result.failures] == [(12, "bad")]
    assert result.unsent == list(range(20, 30))


def test_a_request_timed_out_then_answered_carries_one_delivery_id(receiver: Receiver) -> None:
    receiver.script = _then_ok(1, Reply(200, delay=0.6))

    send(destination(receiver.url, timeout=0.2, max_retries=1), rows(3))

    first, second = receiver.requests
    assert second.body == first.body
    assert second.headers["X-Syncline-Delivery"] == first.headers["X-Syncline-Delivery"]


def test_the_same_rows_sent_again_in_a_run_keep_their_delivery_id(receiver: Receiver) -> None:
    # Whichever layer sends a request's rows again in the run, the receiver sees one id.
    target = destination(receiver.url, batch_size=2)
    target.open(CONTEXT)
    try:
        target.write_batch(rows(2))
        target.write_batch(rows(2))
        target.write_batch(rows(2, start=2))
    finally:
        target.close()
    target.open(dataclasses.replace(CONTEXT, run_id=42))
    try:
        target.write_batch(rows(2))
    finally:
        target.close()

    first, again, other_rows, next_run = (
        r.headers["X-Syncline-Delivery"] for r in receiver.requests
    )
    assert again == first
    assert other_rows != first
    assert next_run != first
    assert len(first) == 32
