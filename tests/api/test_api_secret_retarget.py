"""Stored secrets stay with their target: a change of host, port or login asks for them again."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from api_fixtures import Api, webhook

STORED_PASSWORD = "stored-password-7731"


class Listener:
    """A TCP server on loopback that accepts connections and records what they send."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.server.settimeout(0.2)
        self.port = self.server.getsockname()[1]
        self.received: list[bytes] = []
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self.server.accept()
            except TimeoutError:
                continue
            self.connections += 1
            with connection:
                connection.settimeout(0.5)
                try:
                    self.received.append(connection.recv(4096))
                except OSError:
                    pass

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.server.close()


@pytest.fixture
def listener() -> Iterator[Listener]:
    """A recording server on a free loopback port, closed after the test."""
    made = Listener()
    yield made
    made.close()


def _closed_port() -> int:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        return int(probe.getsockname()[1])


def _postgres_source(api: Api) -> int:
    body = {
        "name": "PG",
        "slug": "pg",
        "type": "postgres",
        "configuration": {
            "host": "127.0.0.1",
            "port": _closed_port(),
            "user": "reader",
            "database": "analytics",
            "password": STORED_PASSWORD,
        },
    }
    return int(api.ok("POST", "/sources", json=body)["id"])


def _stored(api: Api, source: int) -> dict[str, object]:
    with api.catalog.session() as session:
        return session.sources.plain_configuration(session.sources.get(source))


def test_a_new_port_without_the_password_is_refused_and_nothing_is_sent(
    api: Api, listener: Listener
) -> None:
    source = _postgres_source(api)

    response = api.patch(f"/sources/{source}", json={"configuration": {"port": listener.port}})
    assert response.status_code == 422, response.text
    details = response.json()["details"]
    assert list(details) == ["body.configuration.password"]
    message = details["body.configuration.password"]["message"]
    assert message.startswith("give the password again: the port changed;")

    assert _stored(api, source)["port"] != listener.port
    assert api.ok("POST", f"/sources/{source}/test")["success"] is False
    assert listener.connections == 0
    assert STORED_PASSWORD.encode() not in b"".join(listener.received)


@pytest.mark.parametrize(
    ("change", "moved"),
    [
        ({"host": "localhost"}, "host"),
        ({"user": "admin", "database": "other"}, "user and database"),
    ],
)
def test_each_target_change_names_what_moved(api: Api, change: dict[str, str], moved: str) -> None:
    source = _postgres_source(api)
    response = api.patch(f"/sources/{source}", json={"configuration": change})
    assert response.status_code == 422
    message = response.json()["details"]["body.configuration.password"]["message"]
    assert f"give the password again: the {moved} changed;" in message


def test_the_password_given_again_goes_to_the_new_port(api: Api, listener: Listener) -> None:
    source = _postgres_source(api)
    change = {"port": listener.port, "password": "new-password-1"}
    api.ok("PATCH", f"/sources/{source}", json={"configuration": change})
    assert _stored(api, source)["password"] == "new-password-1"

    api.ok("POST", f"/sources/{source}/test")
    assert listener.connections == 1


def test_other_changes_keep_the_stored_password(api: Api) -> None:
    source = _postgres_source(api)
    api.ok("PATCH", f"/sources/{source}", json={"configuration": {"schema": "marts"}})
    assert _stored(api, source)["password"] == STORED_PASSWORD


def test_a_new_webhook_url_asks_for_every_stored_secret(api: Api, tmp_path: Path) -> None:
    made = api.ok("POST", "/destinations", json=webhook())
    path = f"/destinations/{made['id']}"
    moved = {"url": "http://127.0.0.1:9/elsewhere"}

    response = api.patch(path, json={"configuration": moved})
    assert response.status_code == 422
    locations = set(response.json()["details"])
    assert locations == {"body.configuration.headers", "body.configuration.secret"}

    # The secret sent again, the header dropped: nothing stored goes to the new URL.
    api.ok("PATCH", path, json={"configuration": {**moved, "secret": "s2", "headers": None}})
    with api.catalog.session() as session:
        stored = session.destinations.plain_configuration(session.destinations.get(made["id"]))
    assert stored["secret"] == "s2"
    assert "headers" not in stored
