"""Create, read, update and delete sources, destinations, models and syncs, per workspace."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from catalog_fixtures import Pipeline, make_pipeline

from syncline.catalog import Catalog, InUseError, SlugTakenError
from syncline.errors import NotFoundError, ValidationError


def test_created_resources_can_be_read_by_id_and_by_slug(
    catalog: Catalog, pipeline: Pipeline
) -> None:
    with catalog.session() as session:
        assert session.sources.get(pipeline.source.id).slug == "orders-wh"
        assert session.sources.get("orders-wh").id == pipeline.source.id
        assert session.destinations.get_by_slug("orders-hook").type == "webhook"
        model = session.models.get("orders-model")
        assert (model.query_type, model.sql, model.primary_key) == (
            "raw_sql",
            "SELECT id, email FROM orders",
            "id",
        )
        sync = session.syncs.get(pipeline.sync.id)
        assert (sync.model_id, sync.destination_id) == (pipeline.model.id, pipeline.destination.id)
        assert sync.primary_key == "id", "the sync takes the model's primary key by default"


def test_a_slug_is_unique_per_kind_within_a_workspace(catalog: Catalog, pipeline: Pipeline) -> None:
    with pytest.raises(SlugTakenError, match="'orders-wh' already exists"), catalog.session() as s:
        s.sources.create(name="again", slug="orders-wh", type="postgres", configuration={})

    with catalog.session() as session:
        # The same slug is fine for another kind of resource.
        session.destinations.create(
            name="same slug", slug="orders-wh", type="webhook", configuration={}
        )
        assert session.sources.count() == 1


def test_the_same_slug_may_exist_in_two_workspaces(
    catalog: Catalog, pipeline_factory: Callable[..., Pipeline]
) -> None:
    with catalog.session() as session:
        session.workspaces.create("team-b", "Team B")

    first = pipeline_factory("orders")
    second = pipeline_factory("orders", workspace="team-b")

    assert first.sync.id != second.sync.id
    assert first.sync.workspace_id != second.sync.workspace_id


def test_a_workspace_never_sees_another_workspaces_resources(
    catalog: Catalog, pipeline_factory: Callable[..., Pipeline]
) -> None:
    with catalog.session() as session:
        session.workspaces.create("team-b")
    theirs = pipeline_factory("secret", workspace="team-b")
    pipeline_factory("mine")

    with catalog.session() as session:
        assert [s.slug for s in session.syncs.list()] == ["mine-sync"]
        with pytest.raises(NotFoundError):
            session.syncs.get(theirs.sync.id)
        with pytest.raises(NotFoundError):
            session.sources.get("secret-wh")
        with pytest.raises(NotFoundError):
            session.runs.enqueue(theirs.sync.id)

    with pytest.raises(ValidationError, match="model .* does not exist"), catalog.session() as s:
        s.syncs.create(
            slug="cross",
            model=theirs.model.id,
            destination="mine-hook",
            configuration={"mode": "upsert", "object": "x"},
        )


def test_not_found_names_the_resources_that_exist(catalog: Catalog, pipeline: Pipeline) -> None:
    with catalog.session() as session, pytest.raises(NotFoundError) as caught:
        session.syncs.get("nope")
    assert "sync 'nope' does not exist" in str(caught.value)
    assert f"orders-sync (id {pipeline.sync.id})" in str(caught.value)

    with catalog.session() as session:
        session.workspaces.create("empty")
    with catalog.session("empty") as session, pytest.raises(NotFoundError, match="no models yet"):
        session.models.get(1)


def test_updates_change_only_what_is_given(catalog: Catalog, pipeline: Pipeline) -> None:
    with catalog.session() as session:
        session.syncs.update(pipeline.sync.id, disabled=True)
        session.models.update("orders-model", name="Renamed", sql="SELECT 2 AS id")
        session.sources.update("orders-wh", name="Warehouse 2")

    with catalog.session() as session:
        sync = session.syncs.get(pipeline.sync.id)
        assert sync.disabled is True
        assert sync.configuration == {"mode": "upsert", "object": "orders"}
        assert sync.referenced_columns == ["email"]
        model = session.models.get("orders-model")
        assert (model.name, model.sql, model.primary_key) == ("Renamed", "SELECT 2 AS id", "id")
        assert session.sources.get("orders-wh").name == "Warehouse 2"


def test_a_schedule_can_be_set_and_cleared(catalog: Catalog, pipeline: Pipeline) -> None:
    schedule = {"type": "interval", "schedule": {"interval": {"unit": "day", "quantity": 1}}}
    with catalog.session() as session:
        session.syncs.update(pipeline.sync.id, schedule=schedule)
    with catalog.session() as session:
        assert session.syncs.get(pipeline.sync.id).schedule == schedule
        session.syncs.update(pipeline.sync.id, disabled=False)
        assert session.syncs.get(pipeline.sync.id).schedule == schedule, "left out: kept"
        session.syncs.update(pipeline.sync.id, schedule=None)
    with catalog.session() as session:
        assert session.syncs.get(pipeline.sync.id).schedule is None


def test_deleting_a_resource_in_use_names_its_users(catalog: Catalog, pipeline: Pipeline) -> None:
    with pytest.raises(InUseError, match="used by models orders-model"), catalog.session() as s:
        s.sources.delete("orders-wh")
    with pytest.raises(InUseError, match="used by syncs orders-sync"), catalog.session() as s:
        s.models.delete("orders-model")
    with pytest.raises(InUseError, match="used by syncs orders-sync"), catalog.session() as s:
        s.destinations.delete("orders-hook")

    with catalog.session() as session:
        session.syncs.delete("orders-sync")
        session.models.delete("orders-model")
        session.sources.delete("orders-wh")
        session.destinations.delete("orders-hook")
    with catalog.session() as session:
        assert session.sources.list() == []
        assert session.syncs.list() == []


def test_deleting_a_sync_deletes_its_runs(catalog: Catalog, pipeline: Pipeline) -> None:
    with catalog.session() as session:
        run = session.runs.enqueue(pipeline.sync.id)
    with catalog.session() as session:
        session.syncs.delete(pipeline.sync.id)
    with catalog.session() as session:
        assert session.orm.get(type(run), run.id) is None


def test_ids_of_deleted_resources_are_never_given_again(
    catalog: Catalog, pipeline: Pipeline
) -> None:
    """A new sync must not inherit a deleted sync's snapshot, named by its id."""
    with catalog.session() as session:
        old_run = session.runs.enqueue(pipeline.sync.id)
    with catalog.session() as session:
        session.syncs.delete(pipeline.sync.id)
        session.models.delete(pipeline.model.id)
        session.sources.delete(pipeline.source.id)
        session.destinations.delete(pipeline.destination.id)

    again = make_pipeline(catalog)
    with catalog.session() as session:
        new_run = session.runs.enqueue(again.sync.id)

    assert again.sync.id > pipeline.sync.id
    assert again.model.id > pipeline.model.id
    assert again.source.id > pipeline.source.id
    assert again.destination.id > pipeline.destination.id
    assert new_run.id > old_run.id


def test_invalid_input_reports_every_problem_at_once(catalog: Catalog, pipeline: Pipeline) -> None:
    with catalog.session() as session, pytest.raises(ValidationError) as caught:
        session.models.create(
            name="bad",
            slug="no spaces allowed",
            source="missing-source",
            query_type="visual",
            primary_key=None,
        )
    locations = {problem.location for problem in caught.value.problems}
    assert locations == {"slug", "queryType", "primaryKey", "sourceId"}


def test_lists_filter_sort_and_page(
    catalog: Catalog, pipeline_factory: Callable[..., Pipeline]
) -> None:
    for slug in ("c", "a", "b"):
        pipeline_factory(slug)

    with catalog.session() as session:
        assert [s.slug for s in session.syncs.list()] == ["c-sync", "a-sync", "b-sync"]
        assert [s.slug for s in session.syncs.list(order_by="slug")] == [
            "a-sync",
            "b-sync",
            "c-sync",
        ]
        assert [s.slug for s in session.syncs.list(order_by="slug", offset=1, limit=1)] == [
            "b-sync"
        ]
        assert [m.slug for m in session.models.list(name="a model")] == ["a-model"]
        model_id = session.models.get("b-model").id
        assert [s.slug for s in session.syncs.list(model_id=model_id)] == ["b-sync"]
        with pytest.raises(ValidationError, match="cannot sort syncs by 'secret'"):
            session.syncs.list(order_by="secret")
