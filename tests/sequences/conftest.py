"""Fixtures of the sequence tests: a catalog (from tests/conftest.py) with syncs in it."""

from __future__ import annotations

import pytest
from sequence_fixtures import make_syncs

from syncline.catalog import Catalog, SyncRecord


@pytest.fixture
def syncs(catalog: Catalog) -> list[SyncRecord]:
    """Three syncs of the default workspace: ``first``, ``second`` and ``third``."""
    return make_syncs(catalog, "first", "second", "third")
