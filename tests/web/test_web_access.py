"""Signing in, sessions, roles and CSRF: who can see and who can change."""

from __future__ import annotations

from fastapi.testclient import TestClient
from web_fixtures import ADMIN, PASSWORD, VIEWER, sign_in, signed_in

from syncline.web.session import COOKIE_NAME


def test_pages_send_a_signed_out_visitor_to_sign_in(client: TestClient) -> None:
    response = client.get("/syncs/1", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/syncs/1"


def test_sign_in_sets_an_httponly_samesite_cookie(client: TestClient) -> None:
    response = sign_in(client, ADMIN)
    assert response.status_code == 303
    cookie = next(
        value
        for name, value in response.headers.multi_items()
        if name == "set-cookie" and value.startswith(COOKIE_NAME)
    )
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    assert PASSWORD not in cookie
    assert "Syncs" in client.get("/").text


def test_a_wrong_password_is_refused_with_a_message(client: TestClient) -> None:
    response = sign_in(client, ADMIN, "not the password")
    assert response.status_code == 400
    assert "wrong" in response.text
    assert client.get("/", follow_redirects=False).status_code == 303


def test_sign_in_without_the_forms_token_is_refused(client: TestClient) -> None:
    form = {"email": ADMIN, "password": PASSWORD, "csrf_token": "forged", "next": "/"}
    response = client.post("/login", data=form, follow_redirects=False)
    assert response.status_code == 400
    assert COOKIE_NAME not in response.headers.get("set-cookie", "")


def test_a_forged_cookie_is_not_a_session(client: TestClient) -> None:
    client.cookies.set(COOKIE_NAME, "gAAAAAforged")
    assert client.get("/", follow_redirects=False).status_code == 303


def test_a_post_without_the_csrf_token_is_forbidden(client: TestClient) -> None:
    browser = signed_in(client, ADMIN)
    data = {"name": "W", "slug": "w", "type": "duckdb", "config.path": ":memory:"}
    response = browser.client.post("/sources/new", data=data, follow_redirects=False)
    assert response.status_code == 403
    assert "expired or came from another site" in response.text
    assert "No sources yet" in browser.get("/sources").text


def test_a_viewer_sees_pages_but_cannot_change_anything(client: TestClient) -> None:
    browser = signed_in(client, VIEWER)
    assert browser.get("/sources").status_code == 200
    assert "New source" not in browser.get("/sources").text
    response = browser.post(
        "/sources/new", {"name": "W", "slug": "w", "type": "duckdb", "config.path": ":memory:"}
    )
    assert response.status_code == 403
    assert "role: viewer" in response.text
    assert "No sources yet" in browser.get("/sources").text


def test_signing_out_ends_the_session_even_for_a_copied_cookie(client: TestClient) -> None:
    browser = signed_in(client, VIEWER)
    copied = client.cookies[COOKIE_NAME]
    assert browser.post("/logout").status_code == 303
    assert client.get("/", follow_redirects=False).status_code == 303

    client.cookies.set(COOKIE_NAME, copied)
    assert client.get("/", follow_redirects=False).status_code == 303
    signed_in(client, VIEWER)
    assert client.get("/", follow_redirects=False).status_code == 200


def test_next_never_leaves_the_site(client: TestClient) -> None:
    page = client.get("/login?next=//elsewhere.example/x").text
    assert 'name="next" value="/"' in page


def test_pages_forbid_frames_and_other_hosts(client: TestClient) -> None:
    page = client.get("/login")
    assert page.headers["X-Frame-Options"] == "DENY"
    policy = page.headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert "Content-Security-Policy" not in client.get("/api/v1/health").headers
