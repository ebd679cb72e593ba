"""``syncline keys`` and ``syncline workspaces``: keys shown once, listed by prefix, revoked."""

from __future__ import annotations

from pathlib import Path

from cli_harness import Invoke
from fastapi.testclient import TestClient

from syncline.api import create_app
from syncline.catalog import Catalog
from syncline.settings import load_settings


def _status(key: str, path: str = "/api/v1/sources") -> int:
    settings = load_settings()
    catalog = Catalog.open(settings)
    try:
        app = create_app(catalog, settings, background=False)
        with TestClient(app) as client:
            return client.get(path, headers={"Authorization": f"Bearer {key}"}).status_code
    finally:
        catalog.close()


def test_create_prints_the_key_as_the_last_line_and_it_opens_the_api(syncline: Invoke) -> None:
    result = syncline("keys", "create", "--name", "airflow")

    assert result.code == 0, result.err
    key = result.out.strip().splitlines()[-1]
    assert key.startswith("sl_")
    assert len(key) > 40
    assert "default" in result.out
    assert _status(key) == 200


def test_list_shows_the_prefix_never_the_key(syncline: Invoke) -> None:
    key = syncline("keys", "create", "--name", "airflow").out.strip().splitlines()[-1]

    listed = syncline("keys", "list")

    assert listed.code == 0
    assert "airflow" in listed.out
    assert key[:10] in listed.out
    assert key not in listed.out


def test_revoke_refuses_the_key_at_once(syncline: Invoke) -> None:
    key = syncline("keys", "create").out.strip().splitlines()[-1]
    assert _status(key) == 200

    result = syncline("keys", "revoke", "1")

    assert result.code == 0, result.err
    assert _status(key) == 401
    catalog = Catalog.open(load_settings())
    with catalog.session(read_only=True) as session:
        assert session.keys.list()[0].revoked_at is not None
    catalog.close()


def test_revoking_an_unknown_key_is_a_user_error(syncline: Invoke) -> None:
    result = syncline("keys", "revoke", "42")

    assert result.code == 2
    assert "API key 42 does not exist" in result.err


def test_revoke_without_a_workspace_revokes_the_key_where_it_is(syncline: Invoke) -> None:
    assert syncline("workspaces", "create", "marketing").code == 0
    key = syncline("keys", "create", "--workspace", "marketing").out.strip().splitlines()[-1]

    result = syncline("keys", "revoke", "1")

    assert result.code == 0, result.err
    assert "of workspace 'marketing'" in result.out
    assert _status(key) == 401


def test_revoking_a_key_of_another_workspace_names_its_workspace(syncline: Invoke) -> None:
    assert syncline("workspaces", "create", "marketing").code == 0
    key = syncline("keys", "create", "--workspace", "marketing").out.strip().splitlines()[-1]

    wrong = syncline("keys", "revoke", "1", "--workspace", "default")
    right = syncline("keys", "revoke", "1", "--workspace", "marketing")

    assert wrong.code == 2
    assert "opens workspace 'marketing', not 'default'" in wrong.err
    assert "syncline keys revoke 1 --workspace marketing" in wrong.err
    assert right.code == 0, right.err
    assert _status(key) == 401


def test_keys_create_never_makes_a_workspace(syncline: Invoke, workdir: Path) -> None:
    result = syncline("keys", "create", "--workspace", "marketing")

    assert result.code == 2
    assert "workspace 'marketing' does not exist" in result.err
    assert "syncline workspaces create marketing" in result.err


def test_a_workspace_slug_is_taken_once(syncline: Invoke) -> None:
    assert syncline("workspaces", "create", "marketing").code == 0

    again = syncline("workspaces", "create", "marketing")

    assert again.code == 2
    assert "a workspace with slug 'marketing' already exists; choose another slug" in again.err


def test_a_key_of_a_new_workspace_sees_only_that_workspace(syncline: Invoke) -> None:
    assert syncline("workspaces", "create", "marketing").code == 0
    key = syncline("keys", "create", "--workspace", "marketing").out.strip().splitlines()[-1]

    assert "marketing" in syncline("workspaces", "list").out
    assert "marketing" in syncline("--workspace", "marketing", "keys", "list").out
    assert _status(key) == 200
    assert key[:10] not in syncline("keys", "list").out
