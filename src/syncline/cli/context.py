"""The catalog the commands work on, opened from the process settings."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from syncline.catalog import Catalog
from syncline.settings import Settings


@contextmanager
def open_catalog(settings: Settings) -> Iterator[Catalog]:
    """Open the catalog of ``SYNCLINE_HOME`` / ``SYNCLINE_DATABASE_URL``, closed afterwards."""
    catalog = Catalog.open(settings)
    try:
        yield catalog
    finally:
        catalog.close()
