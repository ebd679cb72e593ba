"""A signed-in browser session on the UI, made with the test client (no real browser)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import duckdb
import httpx2
from fastapi.testclient import TestClient

from syncline.catalog import Catalog
from syncline.catalog.users import UserRepository

PASSWORD = "correct horse battery"
"""The password of every account the tests make."""

ADMIN = "admin@example.com"
"""The admin of the ``default`` workspace that the fixtures make."""

VIEWER = "viewer@example.com"
"""The viewer of the ``default`` workspace that the fixtures make."""


def make_user(catalog: Catalog, email: str, role: str, workspace: str = "default") -> int:
    """An account in ``workspace``; its id."""
    with catalog.session(workspace) as session:
        return UserRepository(session.orm).create(session.workspace_id, email, PASSWORD, role).id


def csrf_of(page: str) -> str:
    """The CSRF token in a page's first form."""
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


def form_as_shown(page: str, action: str) -> dict[str, object]:
    """The fields a browser would send on submitting the page's form to ``action`` unchanged:
    one value, or a list for repeats."""
    reader = _FormReader(action)
    reader.feed(page)
    return {k: v[0] if len(v) == 1 else v for k, v in reader.fields.items()}


@dataclass
class Browser:
    """A test client that signed in; ``csrf`` is its session's token."""

    client: TestClient
    csrf: str

    def get(self, path: str, **kwargs: object) -> httpx2.Response:
        return self.client.get(path, **kwargs)  # type: ignore[arg-type]

    def post(self, path: str, data: dict[str, object] | None = None) -> httpx2.Response:
        """Post a form with the session's CSRF token, not following the redirect."""
        form = {"csrf_token": self.csrf, **(data or {})}
        return self.client.post(path, data=form, follow_redirects=False)


def sign_in(client: TestClient, email: str, password: str = PASSWORD) -> httpx2.Response:
    """Fill in and send the sign-in form; the response is not followed."""
    token = csrf_of(client.get("/login").text)
    form = {"email": email, "password": password, "csrf_token": token, "next": "/"}
    return client.post("/login", data=form, follow_redirects=False)


def signed_in(client: TestClient, email: str) -> Browser:
    """The client after a successful sign-in."""
    response = sign_in(client, email)
    assert response.status_code == 303, response.text
    return Browser(client, csrf_of(client.get("/").text))


class _FormReader(HTMLParser):
    """What a browser sends for the form that posts to ``action``, as read from a page:
    enabled inputs, checked boxes and radios, selected options (the first when none is)
    and textareas, each name with its values in page order."""

    def __init__(self, action: str) -> None:
        super().__init__(convert_charrefs=True)
        self.action = action
        self.inside = False
        self.fields: dict[str, list[str]] = {}
        self._select: str | None = None
        self._options: list[tuple[str, bool]] = []
        self._textarea: str | None = None

    def _add(self, name: str, value: str) -> None:
        self.fields.setdefault(name, []).append(value)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {k: v if v is not None else "" for k, v in attrs}
        if tag == "form":
            self.inside = found.get("action") == self.action
        elif not self.inside or "disabled" in found:
            return
        elif tag == "input" and "name" in found:
            kind = found.get("type", "text")
            if kind in ("checkbox", "radio") and "checked" not in found:
                return
            default = "on" if kind in ("checkbox", "radio") else ""
            self._add(found["name"], found.get("value", default))
        elif tag == "select" and "name" in found:
            self._select, self._options = found["name"], []
        elif tag == "option" and self._select is not None:
            # An option without a value sends its text.
            self._options.append((found.get("value", "\0text"), "selected" in found))
        elif tag == "textarea" and "name" in found:
            self._textarea = found["name"]
            self._add(self._textarea, "")

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self.fields[self._textarea][-1] += data
        elif self._options and self._options[-1][0] == "\0text":
            self._options[-1] = (data.strip(), self._options[-1][1])

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.inside = False
        elif tag == "select" and self._select is not None:
            chosen = [value for value, selected in self._options if selected]
            for value in chosen or [value for value, _ in self._options[:1]]:
                self._add(self._select, value)
            self._select = None
        elif tag == "textarea":
            self._textarea = None


def submitted(page: str, action: str) -> dict[str, list[str]]:
    """What a browser sends when the form posting to ``action`` is submitted untouched.

    Unticked boxes send nothing and a select sends its chosen option (else its first),
    as in a browser; the CSRF token is left out, since ``Browser.post`` adds it.
    """
    reader = _FormReader(action)
    reader.feed(page)
    return {name: values for name, values in reader.fields.items() if name != "csrf_token"}


def sync_made_in_forms(admin: Browser, tmp_path: Path) -> int:
    """A DuckDB source, a model, a SQLite destination and a manual sync ``users-out``, each
    made through its form (all with id 1 on a fresh catalog); the sync's id."""
    warehouse = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as connection:
        connection.execute("CREATE TABLE users AS SELECT 1 AS id, 'a@example.com' AS email")
    forms = [
        ("/sources/new", {"name": "W", "slug": "w", "type": "duckdb",
                          "config.path": str(warehouse)}),
        ("/models/new", {"name": "Users", "slug": "users", "source": "1",
                         "sql": "select id, email from users", "primary_key": "id"}),
        ("/destinations/new", {"name": "Out", "slug": "out", "type": "sqlite",
                               "config.path": str(tmp_path / "out.sqlite")}),
        ("/syncs/new", {"slug": "users-out", "model": "1", "destination": "1",
                        "mode": "upsert", "object": "users", "map_from": ["email"],
                        "map_to": ["email"], "schedule_type": "manual"}),
    ]  # fmt: skip
    for path, form in forms:
        response = admin.post(path, form)
        assert response.status_code == 303, (path, response.text)
    return int(response.headers["location"].rsplit("/", 1)[1])
