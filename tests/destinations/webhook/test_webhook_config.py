"""Configuration checks, the connection test, and secrets kept out of sight and logs."""

from __future__ import annotations

import logging
import socket

import pytest
from receiver import Receiver, Reply
from webhook_helpers import destination, rows, send

from syncline.connectors.destinations.webhook import WebhookDestination, describe
from syncline.errors import TerminalError, TransientError, ValidationError


@pytest.mark.parametrize(
    ("settings", "where"),
    [
        ({"url": "ftp://127.0.0.1/x"}, "configuration.url"),
        ({"url": "http://127.0.0.1/x", "batch_size": 10_001}, "configuration.batch_size"),
        ({"url": "http://127.0.0.1/x", "method": "GET"}, "configuration.method"),
        (
            {"url": "http://127.0.0.1/x", "headers": {"X-Syncline-Signature": "x"}},
            "configuration.headers",
        ),
    ],
)
def test_bad_settings_name_the_field(settings: dict[str, object], where: str) -> None:
    with pytest.raises(ValidationError) as caught:
        WebhookDestination.from_config(settings)

    assert [p.location for p in caught.value.problems] == [where]


def test_every_header_syncline_sets_is_refused_in_any_letter_case(receiver: Receiver) -> None:
    send(destination(receiver.url, secret="k"), rows(1))
    [request] = receiver.requests
    # What the HTTP client sends by default, a configured header replaces openly.
    client_defaults = {"accept", "accept-encoding", "connection", "user-agent"}
    own = [name for name in request.headers if name.lower() not in client_defaults]
    assert {name.lower() for name in own} >= {
        "content-type",
        "x-syncline-delivery",
        "x-syncline-signature",
        "x-syncline-timestamp",
    }

    for name in own:
        for spelled in (name, name.lower(), name.upper()):
            with pytest.raises(ValidationError) as caught:
                WebhookDestination.from_config(
                    {"url": "http://127.0.0.1/x", "headers": {"X-Team": "ops", spelled: "x"}}
                )
            [problem] = caught.value.problems
            assert problem.location == "configuration.headers"
            assert spelled in problem.message


def test_header_values_and_the_secret_are_secrets() -> None:
    config = {"url": "http://127.0.0.1/x", "headers": {"Authorization": "Bearer s3"}, "secret": "k"}
    target = WebhookDestination.from_config(config)

    assert "s3" not in repr(target.settings)
    assert target.settings.secret_fields() == {"headers", "secret"}
    assert describe(config)["headers"] == {"Authorization": "********"}
    assert describe(config)["secret"] == "********"
    assert target.settings.plain()["headers"] == {"Authorization": "Bearer s3"}


def test_connection_test_sends_a_signed_empty_request(receiver: Receiver) -> None:
    destination(receiver.url, secret="k").test()

    [request] = receiver.requests
    assert request.json == {
        "syncId": None,
        "runId": None,
        "object": None,
        "action": "test",
        "rows": [],
    }
    assert "X-Syncline-Signature" in request.headers


def test_connection_test_reports_refused_credentials(receiver: Receiver) -> None:
    receiver.script = lambda _: Reply(401)

    with pytest.raises(TerminalError, match="HTTP 401"):
        destination(receiver.url).test()


def test_connection_test_reports_an_unreachable_receiver() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    with pytest.raises(TransientError, match="could not be reached"):
        destination(f"http://127.0.0.1:{port}/").test()


def test_logs_hold_neither_header_values_nor_row_values(
    receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    receiver.script = lambda r: Reply(500) if r.number == 0 else Reply(200)
    caplog.set_level(logging.DEBUG, logger="syncline")

    send(destination(receiver.url, headers={"Authorization": "Bearer hush-9"}), rows(2))

    assert "webhook 127.0.0.1" in caplog.text
    assert "hush-9" not in caplog.text
    assert "u0@example.com" not in caplog.text


@pytest.mark.parametrize(
    ("name", "value", "fault"),
    [
        ("X-Syncline-Delivery ", "x", "not a valid header name"),
        ("X Team", "ops", "not a valid header name"),
        ("X-Team:", "ops", "not a valid header name"),
        ("X-Tëam", "ops", "not a valid header name"),
        ("", "ops", "not a valid header name"),
        ("X-Team", "ops\r\nX-Evil: 1", "control character"),
        ("X-Team", "ops\nmore", "control character"),
        ("X-Team", "ops\x00", "control character"),
        ("X-Team", "ops\x7f", "control character"),
        ("X-Team", "ops ", "starts or ends with whitespace"),
        ("X-Team", "\tops", "starts or ends with whitespace"),
        ("X-Team", "opé", "non-ASCII"),
    ],
)
def test_a_header_http_cannot_carry_is_refused_by_name(name: str, value: str, fault: str) -> None:
    with pytest.raises(ValidationError) as caught:
        WebhookDestination.from_config(
            {"url": "http://127.0.0.1/x", "headers": {"X-Ok": "fine", name: value}}
        )

    [problem] = caught.value.problems
    assert problem.location == "configuration.headers"
    assert repr(name) in problem.message
    assert fault in problem.message
    assert "X-Ok" not in problem.message
    if value.strip():
        assert value.strip() not in problem.message  # a value is a secret


def test_a_header_that_receivers_read_as_one_syncline_sets_is_refused() -> None:
    for name in (
        "X_Syncline_Delivery",
        "x_syncline-signature",
        "X-SYNCLINE_TIMESTAMP",
        "Content_Type",
    ):
        with pytest.raises(ValidationError) as caught:
            WebhookDestination.from_config({"url": "http://127.0.0.1/x", "headers": {name: "x"}})
        [problem] = caught.value.problems
        assert problem.location == "configuration.headers"
        assert name in problem.message


def test_header_values_with_inner_spaces_tabs_and_punctuation_are_kept(receiver: Receiver) -> None:
    headers = {"Authorization": "Bearer a.b-c_d~e+f/g=", "X-List": 'a,\tb; c="d"', "X-Empty": ""}

    send(destination(receiver.url, headers=headers), rows(1))

    [request] = receiver.requests
    assert request.headers["X-List"] == 'a,\tb; c="d"'
    assert request.headers["Authorization"] == "Bearer a.b-c_d~e+f/g="
