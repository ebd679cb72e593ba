"""A webhook URL's query values are secrets to mask in messages, whatever their names."""

from __future__ import annotations

from syncline.connectors.destinations.webhook.spec import WebhookConfig


def test_query_values_are_among_the_secret_values() -> None:
    config = WebhookConfig.parse({"url": "http://127.0.0.1:9/rows?auth=QVAL-1234&x=ab"})

    assert "QVAL-1234" in config.secret_values()
    assert "ab" not in config.secret_values(), "too short to mask without mangling words"
