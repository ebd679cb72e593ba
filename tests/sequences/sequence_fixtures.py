"""Shared pieces of the sequence tests: syncs to put in sequences, and finishing their runs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from syncline.catalog import Catalog, SyncRecord


def make_syncs(catalog: Catalog, *slugs: str, workspace: str = "default") -> list[SyncRecord]:
    """One source, destination and model, and a sync per slug, in ``workspace``."""
    with catalog.session(workspace) as session:
        source = session.sources.create(
            name="warehouse", slug="wh", type="duckdb", configuration={"path": "/nonexistent"}
        )
        destination = session.destinations.create(
            name="crm",
            slug="crm",
            type="webhook",
            configuration={"url": "http://127.0.0.1:9/hook"},
        )
        model = session.models.create(
            name="people",
            slug="people",
            source=source,
            query_type="raw_sql",
            primary_key="id",
            sql="SELECT 1 AS id",
        )
        return [
            session.syncs.create(
                slug=slug,
                model=model,
                destination=destination,
                configuration={"mode": "upsert", "object": slug},
            )
            for slug in slugs
        ]


def finish_run(catalog: Catalog, run_id: int, status: str) -> None:
    """Play a worker: lease the queued sync run and end it with ``status``."""
    with catalog.session() as session:
        session.runs.start(run_id, "test-worker")
        session.runs.finish(run_id, status, error=None if status != "failed" else "boom")


@dataclass(frozen=True)
class Result:
    """What one command printed, and its exit code."""

    code: int
    out: str
    err: str


Invoke = Callable[..., Result]
"""Runs ``syncline ARGS...`` in this process."""

SEQUENCE_YAML = """
sequences:
  - slug: nightly
    name: Nightly refresh
    steps:
      - sync: customers-to-crm
        stopOn: {rule}
      - sync: customers-to-csv
"""
"""A sequence over the two syncs of the ``syncline init`` sample project."""
