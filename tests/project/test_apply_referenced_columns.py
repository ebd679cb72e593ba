"""Apply records a sync's ``referencedColumns`` from its model's columns, before any run.

A sync without mappings reads every column of its model; apply asks the model's source
for them, as the API does, so a sync that has not run yet (disabled, or on a manual
schedule) shows them too. The models are DuckDB queries on a file opened for writing.
"""

from __future__ import annotations

import duckdb
import pytest
from project_samples import VALID_SOURCES, WriteFiles

from syncline.catalog import Catalog
from syncline.project.apply import apply_project
from syncline.project.loader import load_project
from syncline.settings import Settings

PROJECT = """
models:
  - slug: customers
    source: wh
    primaryKey: customer_id
    raw: {{sql: "{sql}"}}
destinations:
  - slug: crm
    type: pretend
    configuration: {{host: localhost}}
syncs:
  - slug: everything
    model: customers
    destination: crm
    disabled: true
    configuration: {{mode: upsert, object: people}}
  - slug: mapped
    model: customers
    destination: crm
    configuration:
      mode: upsert
      object: people
      mappings: [{{from: email, to: email}}]
"""

ALL = "SELECT * FROM customers"


@pytest.fixture
def sources(settings: Settings) -> str:
    """The sources file, its warehouse holding ``customers(customer_id, email, name)``."""
    folder = settings.home / "files"
    folder.mkdir(parents=True)
    with duckdb.connect(str(folder / "wh.duckdb")) as connection:
        connection.execute(
            "CREATE TABLE customers AS SELECT 1 AS customer_id, 'a@b.c' AS email, 'A' AS name"
        )
    path = f"{folder / 'wh.duckdb'}, read_only: false"
    return VALID_SOURCES.replace("/tmp/nowhere.duckdb", path)


def _referenced(catalog: Catalog, slug: str) -> list[str]:
    with catalog.session(read_only=True) as session:
        columns: list[str] = session.to_api(session.syncs.get(slug))["referencedColumns"]
    return columns


def _apply(write_project: WriteFiles, catalog: Catalog, settings: Settings, sources: str,
           sql: str = ALL) -> None:  # fmt: skip
    files = {"a.yml": sources, "b.yml": PROJECT.format(sql=sql)}
    apply_project(catalog, load_project(write_project(**files)), settings)


def test_a_new_sync_without_mappings_references_every_column_before_it_runs(
    write_project: WriteFiles, catalog: Catalog, settings: Settings, sources: str
) -> None:
    _apply(write_project, catalog, settings, sources)

    assert _referenced(catalog, "everything") == ["customer_id", "email", "name"]
    assert _referenced(catalog, "mapped") == ["customer_id", "email"]


def test_a_changed_sync_without_mappings_keeps_every_column(
    write_project: WriteFiles, catalog: Catalog, settings: Settings, sources: str
) -> None:
    _apply(write_project, catalog, settings, sources)
    enabled = PROJECT.format(sql=ALL).replace("disabled: true", "disabled: false")

    project = load_project(write_project(**{"a.yml": sources, "b.yml": enabled}))
    apply_project(catalog, project, settings)

    assert _referenced(catalog, "everything") == ["customer_id", "email", "name"]


def test_a_changed_model_query_gives_its_unmapped_syncs_the_new_columns(
    write_project: WriteFiles, catalog: Catalog, settings: Settings, sources: str
) -> None:
    _apply(write_project, catalog, settings, sources)

    _apply(
        write_project, catalog, settings, sources, sql="SELECT customer_id, email FROM customers"
    )

    assert _referenced(catalog, "everything") == ["customer_id", "email"]
    assert _referenced(catalog, "mapped") == ["customer_id", "email"]
