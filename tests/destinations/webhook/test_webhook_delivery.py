"""Request bodies, batch sizes, signatures, concurrency and the receiver's verdicts."""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import hmac
import logging
import time

import pyarrow as pa
import pytest
from receiver import Received, Receiver, Reply
from webhook_helpers import destination, rows, send

from syncline.connectors.destinations.base import WriteAction, WriteBatch
from syncline.connectors.destinations.webhook import verify
from syncline.connectors.sources.base import json_field
from syncline.errors import TerminalError


def test_rows_go_out_in_requests_of_batch_size_with_the_documented_body(
    receiver: Receiver,
) -> None:
    result = send(destination(receiver.url, batch_size=100), rows(250))

    assert result.failures == []
    sizes = sorted(len(r.json["rows"]) for r in receiver.requests)
    assert sizes == [50, 100, 100]
    first = min(receiver.requests, key=lambda r: r.json["rows"][0]["id"])
    assert first.method == "POST"
    assert first.path == "/hook"
    assert first.headers["Content-Type"] == "application/json"
    assert list(first.json) == ["syncId", "runId", "object", "action", "rows"]
    assert first.json["syncId"] == 7
    assert first.json["runId"] == 41
    assert first.json["object"] == "contacts"
    assert first.json["action"] == "upsert"
    assert first.json["rows"][:2] == [
        {"id": 0, "email": "u0@example.com"},
        {"id": 1, "email": "u1@example.com"},
    ]
    delivered = sorted(row["id"] for r in receiver.requests for row in r.json["rows"])
    assert delivered == list(range(250))


def test_put_and_configured_headers_are_sent(receiver: Receiver) -> None:
    send(
        destination(receiver.url, method="PUT", headers={"Authorization": "Bearer t0k"}),
        rows(1),
    )

    [request] = receiver.requests
    assert request.method == "PUT"
    assert request.headers["Authorization"] == "Bearer t0k"


def test_values_are_spelled_as_documented(receiver: Receiver) -> None:
    table = pa.Table.from_pylist(
        [
            {
                "id": 1,
                "at": dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.UTC),
                "amount": decimal.Decimal("10.10"),
                "traits": '{"plan": "pro"}',
            }
        ],
        schema=pa.schema(
            [
                pa.field("id", pa.int64()),
                pa.field("at", pa.timestamp("us", "UTC")),
                pa.field("amount", pa.decimal128(10, 2)),
                json_field("traits"),
            ]
        ),
    )
    send(destination(receiver.url), WriteBatch(WriteAction.UPSERT, table, ["1"]))

    assert receiver.requests[0].json["rows"] == [
        {
            "id": 1,
            "at": "2024-05-01T12:00:00.000000+00:00",
            "amount": "10.10",
            "traits": {"plan": "pro"},
        }
    ]


def test_tiny_and_zero_decimals_are_sent_positionally_with_the_scale(receiver: Receiver) -> None:
    amounts = [decimal.Decimal("-0.000000000000000001"), decimal.Decimal(0)]
    table = pa.table({"id": [1, 2], "amount": pa.array(amounts, pa.decimal128(38, 18))})
    send(destination(receiver.url), WriteBatch(WriteAction.UPSERT, table, ["1", "2"]))

    assert receiver.requests[0].json["rows"] == [
        {"id": 1, "amount": "-0.000000000000000001"},
        {"id": 2, "amount": "0.000000000000000000"},
    ]


def test_a_row_with_invalid_json_is_refused_and_not_sent(receiver: Receiver) -> None:
    schema = pa.schema([pa.field("id", pa.int64()), json_field("traits")])
    table = pa.Table.from_pylist(
        [{"id": 1, "traits": "{}"}, {"id": 2, "traits": "{oops"}, {"id": 3, "traits": None}],
        schema=schema,
    )
    result = send(destination(receiver.url), WriteBatch(WriteAction.UPSERT, table, ["1", "2", "3"]))

    assert [(f.index, f.retryable) for f in result.failures] == [(1, False)]
    assert [r["id"] for r in receiver.requests[0].json["rows"]] == [1, 3]


def test_the_receiver_can_verify_the_signature_with_the_secret(receiver: Receiver) -> None:
    send(destination(receiver.url, secret="whsec-test"), rows(3))

    [request] = receiver.requests
    timestamp = request.headers["X-Syncline-Timestamp"]
    assert abs(int(timestamp) - time.time()) < 60
    expected = hmac.new(
        b"whsec-test", timestamp.encode() + b"." + request.body, hashlib.sha256
    ).hexdigest()
    assert request.headers["X-Syncline-Signature"] == f"sha256={expected}"
    assert verify("whsec-test", request.headers, request.body)
    assert not verify("other-secret", request.headers, request.body)
    assert not verify("whsec-test", request.headers, request.body + b" ")
    assert not verify("whsec-test", request.headers, request.body, now=time.time() + 3600)


def test_no_signature_without_a_secret(receiver: Receiver) -> None:
    send(destination(receiver.url), rows(1))

    assert "X-Syncline-Signature" not in receiver.requests[0].headers


@pytest.mark.parametrize("concurrency", [1, 3])
def test_requests_in_flight_never_exceed_concurrency(receiver: Receiver, concurrency: int) -> None:
    # Each answer takes long enough that every free sender is busy at once.
    receiver.script = lambda _: Reply(delay=0.15)

    result = send(destination(receiver.url, batch_size=10, concurrency=concurrency), rows(60))

    assert result.failures == []
    assert len(receiver.requests) == 6
    assert receiver.max_in_flight == concurrency


def test_only_the_rows_the_receiver_lists_fail(receiver: Receiver) -> None:
    def script(request: Received) -> Reply:
        if request.json["rows"][0]["id"] == 10:
            return Reply(
                207,
                {
                    "results": [
                        {"index": 0, "ok": True},
                        {"index": 2, "ok": False, "error": "invalid email"},
                        {"index": 5, "ok": False, "error": "blocked", "retryable": False},
                    ]
                },
            )
        return Reply(200, {"results": []})

    receiver.script = script
    result = send(destination(receiver.url, batch_size=10), rows(30))

    assert [(f.index, f.reason, f.retryable) for f in result.failures] == [
        (12, "invalid email", True),
        (15, "blocked", False),
    ]


def test_results_outside_the_request_vouch_only_for_the_rows_they_name(
    receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    # Index 99 of a 10-row request may be about any row: only rows 0 and 2 have a verdict.
    def script(request: Received) -> Reply:
        if request.json["rows"][0]["id"] == 10:
            return Reply(
                207,
                {
                    "results": [
                        {"index": 0, "ok": True},
                        {"index": 2, "ok": False, "error": "invalid email"},
                        {"index": 99, "ok": False, "error": "out of range"},
                    ]
                },
            )
        return Reply(200, {"results": []})

    receiver.script = script
    with caplog.at_level(logging.WARNING, logger="syncline.connectors.destinations.webhook"):
        result = send(destination(receiver.url, batch_size=10), rows(30))

    assert [f.index for f in result.failures] == [11, 12, *range(13, 20)]
    refused = {f.index: f for f in result.failures}
    assert refused[12].reason == "invalid email"
    assert all(refused[i].retryable for i in refused)
    assert "index 99 in a request of 10 rows" in refused[11].reason
    [warning] = caplog.records
    assert "index 99 in a request of 10 rows" in warning.getMessage()
    assert receiver.url.split("/")[2] in warning.getMessage()


@pytest.mark.parametrize(
    ("reply", "problem"),
    [
        (Reply(200, {"results": "oops"}), '"results" that is a str, not a list'),
        (Reply(200, {"results": [{"index": 999, "ok": False}]}), "index 999"),
        (Reply(200, {"results": [{"ok": False}]}), "entry 0 without an integer index"),
        (Reply(200, {"results": [{"index": True}]}), "entry 0 without an integer index"),
        (Reply(200, [{"index": 0, "ok": False}]), "a JSON list"),
        (Reply(200, raw=b"{not json"), "does not parse"),
    ],
)
def test_an_answer_that_breaks_the_protocol_accepts_no_row_and_warns(
    receiver: Receiver, caplog: pytest.LogCaptureFixture, reply: Reply, problem: str
) -> None:
    receiver.script = lambda _: reply

    with caplog.at_level(logging.WARNING, logger="syncline.connectors.destinations.webhook"):
        result = send(destination(receiver.url, batch_size=2), rows(4))

    assert [(f.index, f.retryable) for f in result.failures] == [(i, True) for i in range(4)]
    assert all(problem in f.reason for f in result.failures)
    # Two requests broke the protocol; the second one is not a second warning.
    [warning] = caplog.records
    assert problem in warning.getMessage()


@pytest.mark.parametrize(
    "reply",
    [
        Reply(200),
        Reply(204),
        Reply(200, {"received": 3}),
        Reply(200, raw=b"OK", content_type="text/plain"),
        Reply(200, raw=b"OK", content_type="text/html; charset=UTF-8"),
        Reply(202, {"results": "queued"}),
    ],
)
def test_answers_within_the_protocol_accept_every_row_quietly(
    receiver: Receiver, caplog: pytest.LogCaptureFixture, reply: Reply
) -> None:
    receiver.script = lambda _: reply

    with caplog.at_level(logging.WARNING, logger="syncline.connectors.destinations.webhook"):
        result = send(destination(receiver.url), rows(3))

    assert result.failures == []
    assert caplog.records == []


def test_an_html_page_fails_the_run_and_the_test(receiver: Receiver) -> None:
    page = b"<!DOCTYPE html>\n<html><body>Sign in</body></html>"
    receiver.script = lambda _: Reply(200, raw=page, content_type="text/html")

    with pytest.raises(TerminalError, match="HTML page.*check that the url"):
        send(destination(receiver.url), rows(3))
    with pytest.raises(TerminalError, match="HTML page.*check that the url"):
        destination(receiver.url).test()


@pytest.mark.parametrize("status", [401, 403])
def test_refused_credentials_fail_the_run(receiver: Receiver, status: int) -> None:
    receiver.script = lambda _: Reply(status, {"error": "nope"})

    with pytest.raises(TerminalError, match=f"refused the credentials \\(HTTP {status}\\)"):
        send(destination(receiver.url), rows(5))
    assert len(receiver.requests) == 1


@pytest.mark.parametrize("status", [401, 302])
def test_a_terminal_answer_after_accepted_requests_returns_what_was_accepted(
    receiver: Receiver, status: int
) -> None:
    receiver.script = lambda request: Reply(200 if request.number < 3 else status)

    result = send(destination(receiver.url, batch_size=10, concurrency=3), rows(100))

    accepted = {
        row["id"]
        for request in receiver.requests
        if request.number < 3
        for row in request.json["rows"]
    }
    assert len(accepted) == 30
    assert isinstance(result.error, TerminalError)
    assert f"(HTTP {status})" in str(result.error)
    assert result.failures == []
    assert result.unsent == [i for i in range(100) if i not in accepted]


def test_a_redirect_fails_the_run(receiver: Receiver) -> None:
    receiver.script = lambda _: Reply(301, headers={"Location": "http://127.0.0.1:9/"})

    with pytest.raises(TerminalError, match="redirected"):
        send(destination(receiver.url), rows(1))


def test_a_bad_request_refuses_that_requests_rows_with_the_reason(receiver: Receiver) -> None:
    def script(request: Received) -> Reply:
        if request.json["rows"][0]["id"] == 0:
            return Reply(400, {"error": "field 'email' is required"})
        return Reply(200)

    receiver.script = script
    result = send(destination(receiver.url, batch_size=2), rows(4))

    assert [(f.index, f.retryable) for f in result.failures] == [(0, False), (1, False)]
    assert result.failures[0].reason == "HTTP 400 Bad Request: field 'email' is required"
    assert len(receiver.requests) == 2


def test_a_rejection_echoing_the_request_headers_masks_their_secrets(
    receiver: Receiver,
) -> None:
    receiver.script = lambda request: Reply(400, {"echo": request.headers})
    target = destination(receiver.url, headers={"Authorization": "Bearer HdrSecretXYZ"})

    result = send(target, rows(3))

    assert len(result.failures) == 3
    reasons = " ".join(failure.reason for failure in result.failures)
    assert "400" in reasons
    assert "HdrSecretXYZ" not in reasons


def test_an_answer_over_max_response_bytes_refuses_the_rows_unread(receiver: Receiver) -> None:
    # 5 MB of JSON, above the 4 MiB read by default; the next request is answered briefly.
    huge = b'{"results": [], "padding": "' + b"x" * 5_000_000 + b'"}'
    receiver.script = lambda request: Reply(200, raw=huge if request.number == 0 else b"")
    target = destination(receiver.url, batch_size=2, concurrency=1)

    result = send(target, rows(4))

    assert [(f.index, f.retryable) for f in result.failures] == [(0, True), (1, True)]
    reason = result.failures[0].reason
    assert "over max_response_bytes (4,194,304 bytes)" in reason
    assert "raise max_response_bytes" in reason
    assert result.unsent == []


def test_max_response_bytes_bounds_what_is_read_of_any_answer(receiver: Receiver) -> None:
    receiver.script = lambda request: Reply(400, raw=b"e" * 5_000)
    target = destination(receiver.url, max_response_bytes=4_096)

    result = send(target, rows(1))

    [failure] = result.failures
    assert "HTTP 400 with a body over max_response_bytes (4,096 bytes)" in failure.reason


def test_the_test_request_refuses_an_answer_over_max_response_bytes(receiver: Receiver) -> None:
    receiver.script = lambda request: Reply(200, raw=b"x" * 5_000)

    with pytest.raises(TerminalError, match=r"max_response_bytes \(4,096 bytes\)"):
        destination(receiver.url, max_response_bytes=4_096).test()


def test_an_answer_over_the_limit_decided_by_its_status_keeps_its_rule(
    receiver: Receiver,
) -> None:
    # A 503 is retried and refused credentials fail the run, whatever their bodies hold.
    long_body = b"e" * 5_000
    receiver.script = lambda request: Reply(503 if request.number == 0 else 401, raw=long_body)

    with pytest.raises(TerminalError, match=r"refused the credentials \(HTTP 401\)"):
        send(destination(receiver.url, max_response_bytes=4_096), rows(1))
    assert len(receiver.requests) == 2
