"""A signed-in browser session on the UI, made with the test client (no real browser)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser

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


class _FormReader(HTMLParser):
    """What a browser sends for the form that posts to ``action``, as read from a page."""

    def __init__(self, action: str) -> None:
        super().__init__(convert_charrefs=True)
        self.action, self.inside, self.fields = action, False, {}  # type: ignore[var-annotated]
        self.select: str | None = None
        self.options: list[tuple[str, bool]] = []
        self.textarea: str | None = None

    def add(self, name: str | None, value: str) -> None:
        if name and self.inside:
            self.fields.setdefault(name, []).append(value)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "form":
            self.inside = a.get("action") == self.action
        elif "disabled" in a:
            return
        elif tag == "input":
            kind = a.get("type") or "text"
            if kind not in ("checkbox", "radio") or "checked" in a:
                self.add(a.get("name"), a.get("value") or ("on" if kind == "checkbox" else ""))
        elif tag == "select":
            self.select, self.options = a.get("name"), []
        elif tag == "option" and self.select:
            self.options.append((a.get("value") or "", "selected" in a))
        elif tag == "textarea":
            self.textarea = a.get("name")
            self.add(self.textarea, "")

    def handle_data(self, data: str) -> None:
        if self.textarea and self.inside:
            self.fields[self.textarea][-1] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.inside = False
        elif tag == "select" and self.select:
            chosen = [value for value, selected in self.options if selected] or [
                value for value, _ in self.options[:1]
            ]
            for value in chosen:
                self.add(self.select, value)
            self.select = None
        elif tag == "textarea":
            self.textarea = None


def form_as_shown(page: str, action: str) -> dict[str, object]:
    """The fields a browser would send on submitting the page's form to ``action`` unchanged.

    Enabled inputs with their values, checked boxes, selected options (the first when
    none is) and textareas; one value, or a list for repeats.
    """
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
    """Collects what a browser would submit from the form whose action is ``action``."""

    def __init__(self, action: str) -> None:
        super().__init__()
        self.action = action
        self.inside = False
        self.fields: list[tuple[str, str]] = []
        self._select: str | None = None
        self._options: list[tuple[str, bool]] = []

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
            self.fields.append((found["name"], found.get("value", default)))
        elif tag == "select" and "name" in found:
            self._select, self._options = found["name"], []
        elif tag == "option" and self._select is not None:
            self._options.append((found.get("value", "\0text"), "selected" in found))

    def handle_data(self, data: str) -> None:
        if self._options and self._options[-1][0] == "\0text":
            self._options[-1] = (data.strip(), self._options[-1][1])

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.inside = False
        elif tag == "select" and self._select is not None:
            chosen = [value for value, selected in self._options if selected]
            first = [value for value, _ in self._options[:1]]
            self.fields.extend((self._select, value) for value in (chosen or first)[-1:])
            self._select = None


def submitted(page: str, action: str) -> dict[str, list[str]]:
    """What a browser sends when the form posting to ``action`` is submitted untouched.

    Unticked boxes send nothing and a select sends its chosen option (else its first),
    as in a browser; the CSRF token is left out, since ``Browser.post`` adds it.
    """
    reader = _FormReader(action)
    reader.feed(page)
    fields: dict[str, list[str]] = {}
    for name, value in reader.fields:
        if name != "csrf_token":
            fields.setdefault(name, []).append(value)
    return fields
