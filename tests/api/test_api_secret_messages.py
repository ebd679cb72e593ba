"""No API answer about a failing source repeats a secret of its configuration."""

from __future__ import annotations

import logging
import socket

import pytest
from api_fixtures import Api, model_body

SECRET = "QuerySecret55"


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _query_password_source(api: Api) -> int:
    url = f"postgresql+psycopg://127.0.0.1:{_closed_port()}/nodb1?user=u&Password={SECRET}"
    body = {"name": "Q", "slug": "q", "type": "sqlalchemy", "configuration": {"url": url}}
    return int(api.ok("POST", "/sources", json=body)["id"])


def test_a_password_in_the_url_query_is_kept_out_of_the_source_test(any_api: Api) -> None:
    source = _query_password_source(any_api)

    response = any_api.post(f"/sources/{source}/test")

    assert response.status_code == 200, response.text
    assert response.json()["success"] is False
    assert "127.0.0.1" in response.text
    assert SECRET not in response.text


def test_a_password_in_the_url_query_is_kept_out_of_a_refused_model(any_api: Api) -> None:
    source = _query_password_source(any_api)

    response = any_api.post("/models", json=model_body(source, "z2"))

    assert response.status_code == 422, response.text
    assert SECRET not in response.text


def test_a_refused_model_is_not_logged_as_created(
    any_api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    source = _query_password_source(any_api)

    with caplog.at_level(logging.INFO, logger="syncline"):
        response = any_api.post("/models", json=model_body(source, "z2"))

    assert response.status_code == 422, response.text
    assert "created model" not in caplog.text


@pytest.mark.parametrize("where", ["127.0.0.1:notaport", "[::1"])
def test_a_url_with_an_unreadable_host_or_port_is_refused_under_its_field(
    any_api: Api, where: str
) -> None:
    url = f"postgresql+psycopg://u:{SECRET}@{where}/db"
    body = {"name": "P", "slug": "p", "type": "sqlalchemy", "configuration": {"url": url}}

    response = any_api.post("/sources", json=body)

    assert response.status_code == 422, response.text
    assert "configuration.url" in response.text
    assert "host or port" in response.text
    assert SECRET not in response.text
