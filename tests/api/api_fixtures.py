"""An API client with keys of two workspaces, and helpers that create resources through it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
from fastapi.testclient import TestClient

from syncline.api import create_app
from syncline.catalog import Catalog
from syncline.security.secrets import SecretBox
from syncline.settings import DEFAULT_REQUEST_BODY_LIMIT, Settings

BASE = "/api/v1"


@dataclass
class Api:
    """The app, a client, and keys: ``key`` opens ``default``, ``other_key`` opens ``other``."""

    catalog: Catalog
    client: TestClient
    key: str
    other_key: str
    home: Path

    def call(
        self, method: str, path: str, *, key: str | None = None, **kwargs: Any
    ) -> httpx2.Response:
        """A request with ``key`` (the default workspace's key unless given)."""
        headers = {"Authorization": f"Bearer {key or self.key}", **kwargs.pop("headers", {})}
        return self.client.request(method, BASE + path, headers=headers, **kwargs)

    def get(self, path: str, **kwargs: Any) -> httpx2.Response:
        return self.call("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx2.Response:
        return self.call("POST", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> httpx2.Response:
        return self.call("PATCH", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> httpx2.Response:
        return self.call("DELETE", path, **kwargs)

    def ok(self, method: str, path: str, **kwargs: Any) -> Any:
        """The JSON body of a request that must answer 200."""
        response = self.call(method, path, **kwargs)
        assert response.status_code == 200, response.text
        return response.json()


@contextmanager
def make_api(
    catalog: Catalog,
    home: Path,
    *,
    file_roots: tuple[Path, ...] | None = None,
    request_body_limit: int = DEFAULT_REQUEST_BODY_LIMIT,
) -> Iterator[Api]:
    """The API app on ``catalog`` (no background work) and keys of two workspaces.

    The file roots default to ``home``, where the tests keep their files.
    """
    with catalog.session() as session:
        key = session.keys.create("tests").key
        session.workspaces.create("other")
    with catalog.session("other") as session:
        other_key = session.keys.create("tests").key

    # The test files sit beside the catalog; its key and database stay refused.
    roots = (home,) if file_roots is None else file_roots
    settings = Settings(home=home, file_roots=roots, request_body_limit=request_body_limit)
    app = create_app(catalog, settings, background=False)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield Api(catalog, client, key, other_key, home)


@contextmanager
def default_roots_api(tmp_path: Path, secrets: SecretBox) -> Iterator[Api]:
    """The API on a fresh home with the default file roots, ``home/files/{workspace}``
    (so ``key`` may use ``home/files/default`` only), and keys of two workspaces."""
    home = tmp_path / "home"
    home.mkdir()
    (home / "secret.key").write_text("the key")
    catalog = Catalog.from_url(f"sqlite:///{home / 'syncline.db'}", secrets=secrets)
    try:
        with make_api(catalog, home, file_roots=()) as made:
            yield made
    finally:
        catalog.close()


def warehouse(path: Path) -> dict[str, Any]:
    """A DuckDB source body whose database file has a ``users`` table."""
    import duckdb

    database = path / "warehouse.duckdb"
    with duckdb.connect(str(database)) as connection:
        connection.execute(
            "CREATE TABLE IF NOT EXISTS users AS "
            "SELECT 1 AS id, 'a@example.com' AS email, 'Ada' AS name"
        )
    return {"name": "Warehouse", "slug": "warehouse", "type": "duckdb",
            "configuration": {"path": str(database)}}  # fmt: skip


def webhook(slug: str = "hook", **configuration: Any) -> dict[str, Any]:
    """A webhook destination body aimed at loopback, with a secret and a secret header."""
    return {
        "name": "Hook",
        "slug": slug,
        "type": "webhook",
        "configuration": {
            "url": "http://127.0.0.1:9/hook",
            "secret": "signing-secret",
            "headers": {"Authorization": "Bearer downstream-token"},
            **configuration,
        },
    }


def model_body(source_id: int, slug: str = "users", **fields: Any) -> dict[str, Any]:
    """A raw_sql model body on the ``users`` table of :func:`warehouse`."""
    return {
        "name": "Users",
        "slug": slug,
        "primaryKey": "id",
        "sourceId": source_id,
        "queryType": "raw_sql",
        "isSchema": False,
        "raw": {"sql": "select id, email, name from users"},
        **fields,
    }


def sync_body(model_id: int, destination_id: int, slug: str = "users-to-hook") -> dict[str, Any]:
    """A manual upsert sync body mapping email and name."""
    return {
        "slug": slug,
        "modelId": model_id,
        "destinationId": destination_id,
        "schedule": None,
        "disabled": False,
        "configuration": {
            "mode": "upsert",
            "object": "users",
            "mappings": [{"from": "email", "to": "email"}, {"from": "name", "to": "full_name"}],
        },
    }


@dataclass
class Pipeline:
    """Ids of a source, destination, model and sync made through the API."""

    source: int
    destination: int
    model: int
    sync: int


def make_pipeline(api: Api, path: Path, *, key: str | None = None) -> Pipeline:
    """A source, destination, model and sync, created with ``key`` through the API."""
    source = api.ok("POST", "/sources", json=warehouse(path), key=key)["id"]
    destination = api.ok("POST", "/destinations", json=webhook(), key=key)["id"]
    model = api.ok("POST", "/models", json=model_body(source), key=key)["id"]
    sync = api.ok("POST", "/syncs", json=sync_body(model, destination), key=key)["id"]
    return Pipeline(source, destination, model, sync)
