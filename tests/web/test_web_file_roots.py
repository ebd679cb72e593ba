"""Web admins cannot point connectors at the server's own files either."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from web_fixtures import ADMIN, Browser, signed_in


@pytest.fixture
def admin(client: TestClient) -> Browser:
    """The admin, signed in."""
    return signed_in(client, ADMIN)


def test_a_source_on_the_catalog_file_is_refused_in_the_form(
    admin: Browser, tmp_path: Path
) -> None:
    catalog = tmp_path / "syncline.db"
    form = {"name": "Loot", "slug": "loot", "type": "sqlite", "config.path": str(catalog)}

    response = admin.post("/sources/new", form)

    assert response.status_code == 422
    assert "key, catalog or snapshot file" in response.text
    assert admin.get("/sources").text.count("loot") == 0


def test_a_destination_folder_outside_the_roots_is_refused_in_the_form(
    admin: Browser, tmp_path: Path
) -> None:
    outside = tmp_path.parent / f"{tmp_path.name}-elsewhere"
    form = {"name": "Out", "slug": "out", "type": "csv", "config.directory": str(outside)}

    response = admin.post("/destinations/new", form)

    assert response.status_code == 422
    assert "SYNCLINE_FILE_ROOTS" in response.text
    assert not outside.exists()
