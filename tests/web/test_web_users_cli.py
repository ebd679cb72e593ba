"""``syncline users create/list``: accounts made on the command line sign in to the UI."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from web_fixtures import sign_in

from syncline.api import create_app
from syncline.catalog import Catalog
from syncline.cli.app import run_cli
from syncline.settings import load_settings


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
