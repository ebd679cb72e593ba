"""Web UI fixtures: the app on a fresh SQLite catalog, with an admin and a viewer account."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from web_fixtures import ADMIN, VIEWER, make_user

from syncline.api import create_app
from syncline.catalog import Catalog, users
from syncline.security.secrets import SecretBox
from syncline.settings import Settings


@pytest.fixture(autouse=True)
def quick_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """argon2 with its smallest costs: the tests check sign-in logic, not hashing cost."""
    cheap = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    monkeypatch.setattr(users, "_hasher", cheap)


@pytest.fixture
def web_catalog(tmp_path: Path, secret_box: SecretBox) -> Iterator[Catalog]:
    """A catalog in a SQLite file of this test, with an admin and a viewer in ``default``."""
    catalog = Catalog.from_url(f"sqlite:///{tmp_path / 'syncline.db'}", secrets=secret_box)
    make_user(catalog, ADMIN, "admin")
    make_user(catalog, VIEWER, "viewer")
    yield catalog
    catalog.close()


@pytest.fixture
def client(web_catalog: Catalog, tmp_path: Path) -> Iterator[TestClient]:
    """A client of the app (no background work), not signed in."""
    app = create_app(web_catalog, Settings(home=tmp_path, file_roots=(tmp_path,)), background=False)
    with TestClient(app, raise_server_exceptions=True) as made:
        yield made
