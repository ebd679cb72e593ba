"""A failed run's error names the connector once, whatever the connector's own wording."""

from __future__ import annotations

import pytest

from syncline.engine.run import _describe
from syncline.errors import TerminalError


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("table crm.people is missing", "postgres: table crm.people is missing"),
        ("Postgres refused the password", "Postgres refused the password"),
    ],
)
def test_the_connector_is_named_once(message: str, expected: str) -> None:
    assert _describe(TerminalError(message, connector="postgres")) == expected
