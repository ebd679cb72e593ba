"""A signed-in browser session on the UI, made with the test client (no real browser)."""

from __future__ import annotations

import re
from dataclasses import dataclass

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
