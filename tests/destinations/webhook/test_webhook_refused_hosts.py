"""Webhook urls on link-local or cloud metadata addresses are refused, never contacted."""

from __future__ import annotations

import socket
from typing import Any

import httpx
import pytest

from syncline.connectors.destinations.webhook import WebhookDestination
from syncline.connectors.destinations.webhook.spec import WebhookConfig
from syncline.errors import TerminalError, ValidationError


@pytest.fixture(autouse=True)
def _never_sent(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test at once if anything would be sent."""

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a request was about to be sent")

    monkeypatch.setattr(httpx.Client, "send", refuse)


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://metadata.google.internal/computeMetadata/v1/",
        "http://METADATA.GOOGLE.INTERNAL./x",
        "http://0xa9fea9fe/x",
        "http://2852039166/x",
        "http://[::ffff:a9fe:a9fe]/x",
        "http://169.254.169.254./x",
        "http://[fe80::1]/x",
        # IPv6 forms that carry 169.254.169.254: IPv4-compatible, NAT64, 6to4.
        "http://[::169.254.169.254]/x",
        "http://[64:ff9b::a9fe:a9fe]/x",
        "http://[2002:a9fe:a9fe::]/x",
    ],
)
def test_a_metadata_or_link_local_url_is_refused_when_configured(url: str) -> None:
    with pytest.raises(ValidationError) as caught:
        WebhookDestination.from_config({"url": url})

    [problem] = caught.value.problems
    assert problem.location == "configuration.url"
    assert "metadata" in problem.message


def test_a_name_resolving_to_a_metadata_address_is_refused_before_sending(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def resolve(host: str, port: int, *args: Any, **kwargs: Any) -> list[Any]:
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("169.254.169.254", port))]

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    destination = WebhookDestination.from_config({"url": "http://hook.leak.test/x"})

    with pytest.raises(TerminalError, match="169.254.169.254"):
        destination.test()


def test_a_stored_metadata_url_is_refused_at_run_time() -> None:
    config = WebhookConfig.model_construct(**WebhookConfig(url="http://127.0.0.1/x").__dict__)
    config.url = "http://169.254.169.254/latest/meta-data/"

    with pytest.raises(TerminalError, match="metadata"):
        WebhookDestination(config).test()
