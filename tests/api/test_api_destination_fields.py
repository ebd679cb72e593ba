"""``GET /destinations/{id}/fields``: the fields an object has, for writing mappings."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from api_fixtures import Api, webhook


def _sqlite_destination(api: Api, path: Path, *, key: str | None = None) -> int:
    body = {"name": "Mart", "slug": "mart", "type": "sqlite", "configuration": {"path": str(path)}}
    made: dict[str, Any] = api.ok("POST", "/destinations", json=body, key=key)
    return int(made["id"])


def _mart(tmp_path: Path) -> Path:
    (tmp_path / "files").mkdir(exist_ok=True)
    path = tmp_path / "files" / "mart.sqlite"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, email TEXT, score REAL)")
    return path


def test_fields_of_an_existing_table_are_listed_with_their_types(api: Api, tmp_path: Path) -> None:
    destination = _sqlite_destination(api, _mart(tmp_path))

    body = api.ok("GET", f"/destinations/{destination}/fields", params={"object": "customers"})

    assert body == {
        "data": [
            {"name": "id", "type": "INTEGER"},
            {"name": "email", "type": "TEXT"},
            {"name": "score", "type": "REAL"},
        ],
        "hasMore": False,
    }


def test_an_object_that_does_not_exist_yet_or_a_webhook_has_no_fields(
    api: Api, tmp_path: Path
) -> None:
    mart = _sqlite_destination(api, _mart(tmp_path))
    hook = api.ok("POST", "/destinations", json=webhook())["id"]

    for destination, name in ((mart, "orders"), (hook, "/events")):
        path = f"/destinations/{destination}/fields"
        assert api.ok("GET", path, params={"object": name}) == {"data": [], "hasMore": False}


def test_another_workspace_s_destination_is_404(api: Api, tmp_path: Path) -> None:
    theirs = _sqlite_destination(api, _mart(tmp_path), key=api.other_key)

    answer = api.get(f"/destinations/{theirs}/fields", params={"object": "customers"})

    assert answer.status_code == 404
    assert answer.json() == {
        "message": "Not found",
        "details": f"destination {theirs} does not exist",
    }
    owner = api.ok(
        "GET", f"/destinations/{theirs}/fields", key=api.other_key, params={"object": "customers"}
    )
    assert [f["name"] for f in owner["data"]] == ["id", "email", "score"]


def test_a_missing_or_empty_object_is_422(api: Api, tmp_path: Path) -> None:
    destination = _sqlite_destination(api, _mart(tmp_path))

    for params in ({}, {"object": ""}):
        answer = api.get(f"/destinations/{destination}/fields", params=params)
        assert answer.status_code == 422, params
        assert answer.json()["message"] == "Validation failed"
        assert "query.object" in answer.json()["details"]


def test_a_destination_that_cannot_be_read_is_422_with_the_reason(api: Api, tmp_path: Path) -> None:
    (tmp_path / "files").mkdir(exist_ok=True)
    broken = tmp_path / "files" / "broken.sqlite"
    broken.write_bytes(b"this is not an SQLite database file, only some text" * 20)
    destination = _sqlite_destination(api, broken)

    answer = api.get(f"/destinations/{destination}/fields", params={"object": "customers"})

    assert answer.status_code == 422
    problem = answer.json()["details"]["path.destinationId"]
    assert "could not be read" in problem["message"]
    assert str(broken) in problem["message"]


def test_a_destination_file_off_the_file_roots_is_not_read(
    api: Api, tmp_path_factory: pytest.TempPathFactory
) -> None:
    # Stored without the API's checks, as a project applied from the command line may;
    # the API's file root is the test's own folder, and this file lies outside it.
    outside = tmp_path_factory.mktemp("elsewhere") / "far.sqlite"
    with sqlite3.connect(outside) as conn:
        conn.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY)")
    with api.catalog.session() as session:
        made = session.destinations.create(
            name="Far", slug="far", type="sqlite", configuration={"path": str(outside)}
        )
        session.flush()
        destination = made.id

    answer = api.get(f"/destinations/{destination}/fields", params={"object": "customers"})

    assert answer.status_code == 422
    problem = answer.json()["details"]["path.destinationId"]["message"]
    assert "cannot be used" in problem
