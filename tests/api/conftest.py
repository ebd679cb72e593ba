"""API fixtures: the app on a fresh catalog, with a key for ``default`` and one for ``other``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from api_fixtures import Api, make_api

from syncline.catalog import Catalog
from syncline.security.secrets import SecretBox


@pytest.fixture
def sqlite_catalog(tmp_path: Path, secret_box: SecretBox) -> Iterator[Catalog]:
    """An empty catalog in a SQLite file of this test."""
    catalog = Catalog.from_url(f"sqlite:///{tmp_path / 'syncline.db'}", secrets=secret_box)
    yield catalog
    catalog.close()


@pytest.fixture
def api(sqlite_catalog: Catalog, tmp_path: Path) -> Iterator[Api]:
    """The API on a SQLite catalog."""
    with make_api(sqlite_catalog, tmp_path) as made:
        yield made


@pytest.fixture
def any_api(catalog: Catalog, tmp_path: Path) -> Iterator[Api]:
    """The API on each catalog backend: SQLite, and PostgreSQL (marked ``postgres``)."""
    with make_api(catalog, tmp_path) as made:
        yield made
