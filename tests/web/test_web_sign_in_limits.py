"""Sign-in throttling and a user's own password change in the UI."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from web_fixtures import ADMIN, PASSWORD, VIEWER, csrf_of, sign_in, signed_in

from syncline.catalog import Catalog
from syncline.catalog.sign_ins import SignInThrottle
from syncline.web.session import COOKIE_NAME

WAIT = "too many failed sign-ins; try again in 1 minute"


def test_five_wrong_passwords_make_even_the_right_one_wait(client: TestClient) -> None:
    for _ in range(5):
        assert sign_in(client, ADMIN, "wrong password!").status_code == 400

    refused = sign_in(client, ADMIN)

    assert refused.status_code == 429
    assert WAIT in refused.text
    assert client.get("/", follow_redirects=False).status_code == 303


def test_an_unknown_address_is_throttled_with_the_same_words(client: TestClient) -> None:
    for _ in range(5):
        sign_in(client, "nobody@example.com", "wrong password!")

    refused = sign_in(client, "nobody@example.com", "wrong password!")

    assert refused.status_code == 429
    assert WAIT in refused.text


def test_a_right_password_before_the_limit_clears_the_count(client: TestClient) -> None:
    for _ in range(4):
        sign_in(client, ADMIN, "wrong password!")
    assert sign_in(client, ADMIN).status_code == 303

    for _ in range(4):
        sign_in(client, ADMIN, "wrong password!")
    assert sign_in(client, ADMIN).status_code == 303


def test_many_failures_from_one_address_make_every_account_wait(client: TestClient) -> None:
    for n in range(20):
        sign_in(client, f"guess{n}@example.com", "wrong password!")

    refused = sign_in(client, VIEWER)

    assert refused.status_code == 429
    assert WAIT in refused.text


def test_the_wait_doubles_with_each_failure_and_a_quiet_spell_resets_it(
    web_catalog: Catalog,
) -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    waits = []
    with web_catalog.session() as session:
        throttle = SignInThrottle(session.orm)
        now = start
        for _ in range(7):
            throttle.failed("ana@example.com", "10.0.0.1", now)
            waits.append(throttle.wait("ana@example.com", "10.0.0.2", now))
            now += waits[-1] or timedelta(seconds=1)
        quiet = now + timedelta(minutes=16)
        throttle.failed("ana@example.com", "10.0.0.1", quiet)
        after_quiet = throttle.wait("ana@example.com", "10.0.0.2", quiet)

    minutes = [w // timedelta(minutes=1) if w else 0 for w in waits]
    assert minutes == [0, 0, 0, 0, 1, 2, 4]
    assert after_quiet is None


def test_a_user_changes_their_own_password_and_other_sessions_end(
    client: TestClient, web_catalog: Catalog
) -> None:
    browser = signed_in(client, VIEWER)
    copied = client.cookies.get(COOKIE_NAME)
    page = browser.get("/account")
    assert page.status_code == 200
    assert 'name="current_password"' in page.text

    changed = browser.post(
        "/account/password",
        {"current_password": PASSWORD, "new_password": "a brand new passphrase",
         "repeat_password": "a brand new passphrase"},
    )  # fmt: skip

    assert changed.status_code == 303
    assert client.get("/", follow_redirects=False).status_code == 200
    with TestClient(client.app) as other:
        assert copied
        other.cookies.set(COOKIE_NAME, copied)
        assert other.get("/", follow_redirects=False).status_code == 303
        assert sign_in(other, VIEWER).status_code == 400
        assert sign_in(other, VIEWER, "a brand new passphrase").status_code == 303


def test_a_password_change_needs_the_current_password_and_a_strong_new_one(
    client: TestClient,
) -> None:
    browser = signed_in(client, VIEWER)

    wrong = browser.post(
        "/account/password",
        {"current_password": "not it at all", "new_password": "a brand new passphrase",
         "repeat_password": "a brand new passphrase"},
    )  # fmt: skip
    weak = browser.post(
        "/account/password",
        {"current_password": PASSWORD, "new_password": "viewer-secret-1",
         "repeat_password": "viewer-secret-1"},
    )  # fmt: skip
    mismatch = browser.post(
        "/account/password",
        {"current_password": PASSWORD, "new_password": "a brand new passphrase",
         "repeat_password": "a brand new passphrasf"},
    )  # fmt: skip

    assert wrong.status_code == 400
    assert "current password is wrong" in wrong.text
    assert weak.status_code == 400
    assert "name part" in weak.text
    assert mismatch.status_code == 400
    assert "do not match" in mismatch.text
    assert sign_in(client, VIEWER).status_code == 303


def test_a_password_change_without_the_csrf_token_is_refused(client: TestClient) -> None:
    signed_in(client, VIEWER)
    token = csrf_of(client.get("/account").text)
    assert token

    forged = client.post(
        "/account/password",
        data={"current_password": PASSWORD, "new_password": "a brand new passphrase",
              "repeat_password": "a brand new passphrase"},
        follow_redirects=False,
    )  # fmt: skip

    assert forged.status_code == 403
