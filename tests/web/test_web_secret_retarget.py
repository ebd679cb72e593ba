"""The source form's test and save keep stored secrets with their target, as the API does."""

from __future__ import annotations

import html
import socket
import threading
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from web_fixtures import ADMIN, Browser, signed_in

from syncline.catalog import Catalog
from syncline.security.masking import masked_url as masked

STORED_PASSWORD = "stored-password-7731"


@pytest.fixture
def admin(client: TestClient) -> Browser:
    """The admin, signed in."""
    return signed_in(client, ADMIN)


@pytest.fixture
def listener() -> Iterator[list[bytes]]:
    """What connections to a loopback server on ``listener_port`` sent, one item each."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.2)
    received: list[bytes] = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                connection, _ = server.accept()
            except TimeoutError:
                continue
            with connection:
                connection.settimeout(0.5)
                try:
                    received.append(connection.recv(4096))
                except OSError:
                    received.append(b"")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    received.append(str(server.getsockname()[1]).encode())  # the port, first
    yield received
    stop.set()
    thread.join()
    server.close()


def _form(port: int, password: str = "") -> dict[str, object]:
    return {
        "name": "PG", "slug": "pg", "type": "postgres", "config.host": "127.0.0.1",
        "config.port": str(port), "config.user": "reader", "config.database": "analytics",
        "config.password": password,
    }  # fmt: skip


def _closed_port() -> int:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        return int(probe.getsockname()[1])


def _source(admin: Browser, port: int | None = None) -> int:
    response = admin.post("/sources/new", _form(port or _closed_port(), STORED_PASSWORD))
    assert response.status_code == 303, response.text
    return int(response.headers["location"].split("/")[2].split("?")[0])


def test_testing_another_port_with_a_blank_password_asks_for_it(
    admin: Browser, listener: list[bytes]
) -> None:
    source = _source(admin)
    port = int(listener[0])

    response = admin.post("/sources/test", {**_form(port), "id": str(source)})
    text = html.unescape(response.text)
    assert "✗" in text
    assert "configuration.password: give the password again: the port changed" in text
    assert listener == [listener[0]], "nothing connected to the new port"


def test_saving_another_port_with_a_blank_password_is_refused(
    admin: Browser, web_catalog: Catalog
) -> None:
    port = _closed_port()
    source = _source(admin, port)
    response = admin.post(f"/sources/{source}", _form(port + 1))
    assert response.status_code == 422
    assert 'id="config-password-error"' in response.text
    assert "give the password again" in response.text
    assert ". Type the password again in its field" in html.unescape(response.text)
    assert "null" not in response.text

    renamed = admin.post(f"/sources/{source}", {**_form(port), "name": "Analytics"})
    assert renamed.status_code == 303, "the same target keeps the stored password"
    with web_catalog.session() as session:
        stored = session.sources.plain_configuration(session.sources.get(source))
    assert (str(stored["port"]), stored["password"]) == (str(port), STORED_PASSWORD)


def test_a_foreign_or_unknown_id_is_a_form_error(admin: Browser) -> None:
    for ident in ("999", "abc"):
        response = admin.post("/sources/test", {**_form(_closed_port()), "id": ident})
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/html")
        assert f"There is no source {ident!r}" in html.unescape(response.text)


def test_a_webhook_url_s_token_is_masked_on_the_form_and_kept_on_save(
    admin: Browser, web_catalog: Catalog
) -> None:
    url = "http://127.0.0.1:9/rows?token=QTOKEN-SECRET"
    hook = {"name": "Hook", "slug": "hook", "type": "webhook", "config.url": url}
    made = admin.post("/destinations/new", hook)
    assert made.status_code == 303, made.text
    page = made.headers["location"].split("?")[0]

    shown = admin.get(page).text
    assert "QTOKEN-SECRET" not in shown
    assert "token=***" in html.unescape(shown)

    saved = admin.post(page, {**hook, "name": "Rows", "config.url": masked(url)})
    assert saved.status_code == 303, saved.text
    with web_catalog.session() as session:
        record = session.destinations.get(int(page.rsplit("/", 1)[1]))
        assert session.destinations.plain_configuration(record)["url"] == url
        assert record.name == "Rows"
