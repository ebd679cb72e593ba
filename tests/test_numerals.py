"""Typed whole numbers: text ``str.isdigit`` accepts but ``int`` refuses is no number, and
the places that read typed numbers answer it as they answer any other non-number."""

from __future__ import annotations

import pytest

from syncline.alerts.policy import EmailRecipient
from syncline.connectors.destinations.webhook.signing import TIMESTAMP_HEADER, verify
from syncline.errors import ConfigError
from syncline.numerals import number_or_text, whole_number
from syncline.scheduling.cron import parse_cron

SUPERSCRIPT_TWO = "\u00b2"


@pytest.mark.parametrize(
    ("text", "number"),
    [("0", 0), ("15", 15), (SUPERSCRIPT_TWO, None), ("\u0663", None), ("", None),
     (" 1", None), ("-1", None), ("1" * 20, None), ("9" * 5000, None)],
)  # fmt: skip
def test_only_ascii_digits_are_a_whole_number(text: str, number: int | None) -> None:
    assert whole_number(text) == number


def test_a_path_part_is_a_number_or_stays_text() -> None:
    assert [number_or_text(p) for p in ("mappings", "2", SUPERSCRIPT_TWO)] == [
        "mappings",
        2,
        SUPERSCRIPT_TWO,
    ]


@pytest.mark.parametrize(
    "expression", [f"*/{SUPERSCRIPT_TWO} * * * *", f"{SUPERSCRIPT_TWO} * * * *"]
)
def test_a_cron_field_with_a_superscript_is_refused_as_a_cron_problem(expression: str) -> None:
    with pytest.raises(ConfigError, match="cron expression"):
        parse_cron(expression)


def test_a_webhook_timestamp_that_is_no_number_fails_the_check() -> None:
    assert not verify("secret", {TIMESTAMP_HEADER: SUPERSCRIPT_TWO}, b"{}")


def test_an_alert_port_that_is_no_number_is_refused_with_the_port_message() -> None:
    with pytest.raises(ValueError, match="is not a port"):
        EmailRecipient.model_validate(
            {
                "type": "email",
                "host": "127.0.0.1",
                "port": SUPERSCRIPT_TWO,
                "from": "a@example.com",
                "to": ["b@example.com"],
            }  # fmt: skip
        )
