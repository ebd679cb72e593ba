"""Shared pieces of the catalog tests: a source, destination, model and sync to run."""

from __future__ import annotations

from dataclasses import dataclass

from syncline.catalog import Catalog, DestinationRecord, ModelRecord, SourceRecord, SyncRecord


@dataclass
class Pipeline:
    """Ids of one source, destination, model and sync in the default workspace."""

    source: SourceRecord
    destination: DestinationRecord
    model: ModelRecord
    sync: SyncRecord


def make_pipeline(catalog: Catalog, slug: str = "orders", workspace: str = "default") -> Pipeline:
    """Create a source, destination, model and sync named after ``slug``."""
    with catalog.session(workspace) as session:
        source = session.sources.create(
            name=f"{slug} warehouse",
            slug=f"{slug}-wh",
            type="postgres",
            configuration={"host": "127.0.0.1", "password": "hunter2"},
            secret_fields={"password"},
        )
        destination = session.destinations.create(
            name=f"{slug} hook",
            slug=f"{slug}-hook",
            type="webhook",
            configuration={"url": "http://127.0.0.1:9/hook", "token": "s3cret-token"},
            secret_fields={"token"},
        )
        model = session.models.create(
            name=f"{slug} model",
            slug=f"{slug}-model",
            source=source,
            query_type="raw_sql",
            primary_key="id",
            sql="SELECT id, email FROM orders",
        )
        sync = session.syncs.create(
            slug=f"{slug}-sync",
            model=model,
            destination=destination,
            configuration={"mode": "upsert", "object": "orders"},
            referenced_columns=["email"],
        )
    return Pipeline(source, destination, model, sync)
