"""Request bodies: the key is checked before a body is read, and a body is bounded in size
and depth (``SYNCLINE_REQUEST_BODY_LIMIT``, ``MAX_DEPTH``)."""

from __future__ import annotations

import pytest

from syncline.errors import ConfigError
from syncline.settings import load_settings

# -- the setting ----------------------------------------------------------------------------


def test_the_body_limit_is_a_size_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SYNCLINE_REQUEST_BODY_LIMIT", raising=False)
    assert load_settings().request_body_limit == 2**20

    monkeypatch.setenv("SYNCLINE_REQUEST_BODY_LIMIT", "4MiB")
    assert load_settings().request_body_limit == 4 * 2**20

    monkeypatch.setenv("SYNCLINE_REQUEST_BODY_LIMIT", "65536")
    assert load_settings().request_body_limit == 65536


@pytest.mark.parametrize("value", ["0", "lots", "-1MB"])
def test_a_body_limit_that_is_no_size_is_refused_by_name(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("SYNCLINE_REQUEST_BODY_LIMIT", value)

    with pytest.raises(ConfigError, match="SYNCLINE_REQUEST_BODY_LIMIT"):
        load_settings()
