"""Secrets taken out of messages: where they stand alone, never inside other words."""

from __future__ import annotations

import pytest

from syncline.connectors.sources.sqlalchemy import SQLAlchemySource
from syncline.errors import SynclineError
from syncline.security.masking import (
    mask_credentials,
    masked_query_names,
    masked_url,
    redact,
    scrub,
)


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


@pytest.mark.parametrize(
    ("message", "masked"),
    [
        ("db pg://h/d?user=u&password=Qs55 down", "db pg://h/d?user=u&password=*** down"),
        ("pg://h/d?PASSWORD=Qs55&user=u", "pg://h/d?PASSWORD=***&user=u"),
        ("x?pwd=a1;y", "x?pwd=***;y"),
        ("x?pass=a1&sslpassword=b2", "x?pass=***&sslpassword=***"),
        ("x?api_key=a1&access_token=b2&token=c3", "x?api_key=***&access_token=***&token=***"),
        ("x?key=a1&Secret=b2", "x?key=***&Secret=***"),
        ("host=h user=u password=Qs55 dbname=d", "host=h user=u password=*** dbname=d"),
        ("host=h password='Q s55' dbname=d", "host=h password=*** dbname=d"),
        ("mysql://u:Qs55@h/d failed", "mysql://u:***@h/d failed"),
        ("x?user=u&monkey=a1&passes=2", "x?user=u&monkey=a1&passes=2"),
    ],
)
def test_credentials_in_urls_and_dsns_are_masked(message: str, masked: str) -> None:
    assert mask_credentials(message) == masked


def test_a_secret_url_masks_its_parts_wherever_they_show() -> None:
    url = "postgresql://h/d?user=u&password=Qs%2F55"

    text = redact("database postgresql://h/d?password=Qs%2F55&user=u; bad Qs/55", url)

    assert "Qs" not in text
    assert "user=u" in text


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("http://h/rows?token=T0K&region=eu", "http://h/rows?token=***&region=***"),
        ("http://u:pw@h/rows", "http://u:***@h/rows"),
        ("http://h/rows?flag&empty=", "http://h/rows?flag&empty="),
        ("http://h/rows", "http://h/rows"),
    ],
)
def test_a_masked_url_keeps_names_and_hides_values(url: str, shown: str) -> None:
    assert masked_url(url) == shown


def test_the_masked_query_names_are_those_holding_the_mask() -> None:
    assert masked_query_names("http://h/x?token=***&region=eu&sig=***") == ["token", "sig"]
