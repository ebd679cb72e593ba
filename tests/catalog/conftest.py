"""Catalog-only fixtures: a source, destination, model and sync ready to run."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from catalog_fixtures import Pipeline, make_pipeline

from syncline.catalog import Catalog


@pytest.fixture
def pipeline(catalog: Catalog) -> Pipeline:
    """A source, destination, model and sync in the default workspace."""
    return make_pipeline(catalog)


@pytest.fixture
def pipeline_factory(catalog: Catalog) -> Callable[..., Pipeline]:
    """Makes more pipelines: ``pipeline_factory("slug", workspace="other")``."""
    return lambda slug, workspace="default": make_pipeline(catalog, slug, workspace)
