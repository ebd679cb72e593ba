"""Secrets taken out of messages: where they stand alone, never inside other words."""

from __future__ import annotations

import pytest

from syncline.connectors.sources.sqlalchemy import SQLAlchemySource
from syncline.errors import SynclineError
from syncline.security.masking import scrub


@pytest.mark.parametrize(
    ("message", "secret", "masked"),
    [
        (
            "mssql+pyodbc://u:odbc@127.0.0.1/db refused",
            "odbc",
            "mssql+pyodbc://u:***@127.0.0.1/db refused",
        ),
        ("No module named 'pyodbc'", "odbc", "No module named 'pyodbc'"),
        ("login 'p' failed; port 5432", "p", "login '***' failed; port 5432"),
        ("password s3cr3t!x rejected", "s3cr3t!x", "password *** rejected"),
        ("nothing here", "", "nothing here"),
    ],
)
def test_a_secret_is_masked_where_it_stands_alone(message: str, secret: str, masked: str) -> None:
    assert scrub(message, secret) == masked


def test_a_secret_holding_another_is_masked_whole() -> None:
    assert scrub("key abcdef and abc", "abc", "abcdef") == "key *** and ***"


def test_a_driver_that_is_not_installed_is_named_without_mangling_the_password() -> None:
    source = SQLAlchemySource.from_config({"url": "mssql+pyodbc://u:odbc@127.0.0.1:1/db"})

    with pytest.raises(SynclineError) as caught:
        source.test()

    message = str(caught.value)
    assert "py***" not in message
    assert "odbc@" not in message
