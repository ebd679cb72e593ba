"""Fixtures of the scheduling tests: scheduled syncs in a catalog."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from syncline.catalog import Catalog, SyncRecord


@pytest.fixture
def make_sync(catalog: Catalog) -> Callable[..., SyncRecord]:
    """Makes a sync with a schedule: ``make_sync("hourly", {"type": ..., ...})``."""
    made: dict[str, int] = {}

    def make(slug: str, schedule: dict[str, Any] | None, *, disabled: bool = False) -> SyncRecord:
        with catalog.session() as session:
            if not made:
                source = session.sources.create(
                    name="warehouse", slug="wh", type="duckdb", configuration={}
                )
                destination = session.destinations.create(
                    name="hook", slug="hook", type="webhook", configuration={}
                )
                model = session.models.create(
                    name="people",
                    slug="people",
                    source=source,
                    query_type="raw_sql",
                    primary_key="id",
                    sql="SELECT 1 AS id",
                )
                made.update(model=model.id, destination=destination.id)
            sync = session.syncs.create(
                slug=slug,
                model=made["model"],
                destination=made["destination"],
                configuration={"mode": "upsert", "object": "people"},
                schedule=schedule,
                disabled=disabled,
            )
        return sync

    return make
