"""``syncline users create/list``: accounts made on the command line sign in to the UI."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from web_fixtures import sign_in

from syncline.api import create_app
from syncline.catalog import Catalog
from syncline.cli.app import run_cli
from syncline.settings import load_settings
from syncline.web.session import COOKIE_NAME


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh SYNCLINE_HOME whose catalog the commands use."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SYNCLINE_HOME", str(tmp_path / "home"))
    for name in ("SYNCLINE_DATABASE_URL", "SYNCLINE_SECRET_KEY", "SYNCLINE_PROJECT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("COLUMNS", "200")
    return tmp_path / "home"


def test_a_user_made_on_the_command_line_signs_in(
    home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SYNCLINE_USER_PASSWORD", "a long enough password")
    assert run_cli(["users", "create", "Ana@Example.com", "--role", "admin"]) == 0
    assert "Created admin 'ana@example.com'" in capsys.readouterr().out

    assert run_cli(["users", "list"]) == 0
    listed = capsys.readouterr().out
    assert "ana@example.com" in listed
    assert "a long enough password" not in listed

    settings = load_settings()
    catalog = Catalog.open(settings)
    try:
        app = create_app(catalog, settings, background=False)
        with TestClient(app) as client:
            response = sign_in(client, "ana@example.com", "a long enough password")
            assert response.status_code == 303
    finally:
        catalog.close()


def test_a_short_password_and_an_unknown_role_are_both_reported(
    home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SYNCLINE_USER_PASSWORD", "short")
    assert run_cli(["users", "create", "not-an-address"]) != 0
    err = capsys.readouterr().err
    assert "e-mail" in err
    assert "fewer than 10 characters" in err


def _app_client(stack: list[Catalog]) -> TestClient:
    settings = load_settings()
    catalog = Catalog.open(settings)
    stack.append(catalog)
    return TestClient(create_app(catalog, settings, background=False))


def _signed_in_cookie(email: str, password: str) -> str:
    """A session cookie of ``email``, as a person would copy it from their browser."""
    stack: list[Catalog] = []
    try:
        with _app_client(stack) as client:
            assert sign_in(client, email, password).status_code == 303
            cookie = client.cookies.get(COOKIE_NAME)
            assert cookie
            return cookie
    finally:
        stack[0].close()


def _cookie_opens_pages(cookie: str) -> bool:
    stack: list[Catalog] = []
    try:
        with _app_client(stack) as client:
            client.cookies.set(COOKIE_NAME, cookie)
            return client.get("/", follow_redirects=False).status_code == 200
    finally:
        stack[0].close()


def _signs_in(email: str, password: str) -> bool:
    stack: list[Catalog] = []
    try:
        with _app_client(stack) as client:
            return sign_in(client, email, password).status_code == 303
    finally:
        stack[0].close()


def test_disabling_ends_sessions_and_enabling_lets_the_user_back_in(
    home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SYNCLINE_USER_PASSWORD", "a long enough password")
    assert run_cli(["users", "create", "ana@example.com"]) == 0
    cookie = _signed_in_cookie("ana@example.com", "a long enough password")
    assert _cookie_opens_pages(cookie)

    assert run_cli(["users", "disable", "ana@example.com"]) == 0
    assert "Disabled" in capsys.readouterr().out
    assert not _cookie_opens_pages(cookie)
    assert not _signs_in("ana@example.com", "a long enough password")
    assert run_cli(["users", "list"]) == 0
    assert "disabled" in capsys.readouterr().out

    assert run_cli(["users", "enable", "ana@example.com"]) == 0
    assert not _cookie_opens_pages(cookie)
    assert _signs_in("ana@example.com", "a long enough password")


def test_a_new_password_ends_sessions_and_only_it_signs_in(
    home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SYNCLINE_USER_PASSWORD", "a long enough password")
    assert run_cli(["users", "create", "ana@example.com"]) == 0
    cookie = _signed_in_cookie("ana@example.com", "a long enough password")

    monkeypatch.setenv("SYNCLINE_USER_PASSWORD", "another fine passphrase")
    assert run_cli(["users", "set-password", "ana@example.com"]) == 0

    assert not _cookie_opens_pages(cookie)
    assert not _signs_in("ana@example.com", "a long enough password")
    assert _signs_in("ana@example.com", "another fine passphrase")


def test_set_password_reads_the_password_from_stdin_with_the_flag(
    home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SYNCLINE_USER_PASSWORD", "a long enough password")
    assert run_cli(["users", "create", "ana@example.com"]) == 0
    monkeypatch.delenv("SYNCLINE_USER_PASSWORD")

    monkeypatch.setattr("sys.stdin", io.StringIO("from standard input\n"))
    assert run_cli(["users", "set-password", "ana@example.com", "--password-stdin"]) == 0

    assert _signs_in("ana@example.com", "from standard input")


def test_a_new_role_ends_sessions_and_shows_in_the_list(
    home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SYNCLINE_USER_PASSWORD", "a long enough password")
    assert run_cli(["users", "create", "ana@example.com"]) == 0
    cookie = _signed_in_cookie("ana@example.com", "a long enough password")

    assert run_cli(["users", "set-role", "ana@example.com", "admin"]) == 0
    assert not _cookie_opens_pages(cookie)
    capsys.readouterr()
    assert run_cli(["users", "list"]) == 0
    assert "admin" in capsys.readouterr().out


def test_a_deleted_user_is_gone_with_their_sessions(
    home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SYNCLINE_USER_PASSWORD", "a long enough password")
    assert run_cli(["users", "create", "ana@example.com"]) == 0
    cookie = _signed_in_cookie("ana@example.com", "a long enough password")

    assert run_cli(["users", "delete", "ana@example.com"]) == 0
    assert not _cookie_opens_pages(cookie)
    # The next account may be given the same id; the old cookie must not open it.
    assert run_cli(["users", "create", "bo@example.com", "--role", "admin"]) == 0
    assert not _cookie_opens_pages(cookie)
    capsys.readouterr()
    assert run_cli(["users", "list"]) == 0
    assert "ana@example.com" not in capsys.readouterr().out


def test_user_commands_name_the_workspace_a_user_belongs_to(
    home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SYNCLINE_USER_PASSWORD", "a long enough password")
    assert run_cli(["workspaces", "create", "marketing"]) == 0
    assert run_cli(["users", "create", "ana@example.com", "--workspace", "marketing"]) == 0
    capsys.readouterr()

    assert run_cli(["users", "disable", "ana@example.com", "--workspace", "default"]) == 2
    assert "belongs to workspace 'marketing', not 'default'" in capsys.readouterr().err
    assert run_cli(["users", "disable", "nobody@example.com"]) == 2
    assert "no account for 'nobody@example.com'" in capsys.readouterr().err
    assert run_cli(["users", "disable", "ana@example.com"]) == 0


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        (" " * 12, "only whitespace"),
        ("a" * 12, "one character repeated"),
        ("ANA.LIMA-2024!", "contains the e-mail address's name part"),
    ],
)
def test_weak_passwords_are_refused_with_the_reason(
    home: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    password: str,
    reason: str,
) -> None:
    monkeypatch.setenv("SYNCLINE_USER_PASSWORD", password)
    assert run_cli(["users", "create", "ana.lima@example.com"]) != 0
    assert reason in capsys.readouterr().err


@pytest.mark.parametrize(
    "command", ["create", "list", "disable", "enable", "delete", "set-password", "set-role"]
)
def test_the_workspace_option_of_users_speaks_of_accounts_not_keys(
    home: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    assert run_cli(["users", command, "--help"]) == 0
    shown = " ".join(capsys.readouterr().out.split())

    assert "--workspace" in shown
    assert "the key opens" not in shown
    if command in ("create", "set-password"):
        assert "shell history" in shown


def test_users_list_help_names_the_status_column(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_cli(["users", "list", "--help"]) == 0
    shown = " ".join(capsys.readouterr().out.split())

    assert "enabled or disabled" in shown
