"""A key sees only its workspace: another workspace's ids are 404 on every endpoint.

These run on SQLite and on PostgreSQL, as do the slug conflict tests, since both
depend on the catalog's constraints and queries.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from api_fixtures import Api, Pipeline, make_pipeline, model_body, sync_body, warehouse, webhook


@pytest.fixture
def theirs(any_api: Api, tmp_path: Path) -> Pipeline:
    """A pipeline in the ``other`` workspace, made with its own key."""
    return make_pipeline(any_api, tmp_path, key=any_api.other_key)


def _endpoints(made: Pipeline) -> list[tuple[str, str, dict[str, object] | None]]:
    return [
        ("GET", f"/sources/{made.source}", None),
        ("PATCH", f"/sources/{made.source}", {"name": "mine now"}),
        ("DELETE", f"/sources/{made.source}", None),
        ("GET", f"/destinations/{made.destination}", None),
        ("PATCH", f"/destinations/{made.destination}", {"name": "mine now"}),
        ("DELETE", f"/destinations/{made.destination}", None),
        ("GET", f"/models/{made.model}", None),
        ("PATCH", f"/models/{made.model}", {"name": "mine now"}),
        ("DELETE", f"/models/{made.model}", None),
        ("GET", f"/syncs/{made.sync}", None),
        ("PATCH", f"/syncs/{made.sync}", {"disabled": True}),
        ("DELETE", f"/syncs/{made.sync}", None),
    ]


def test_another_workspace_s_resources_are_404_on_every_endpoint(
    any_api: Api, theirs: Pipeline
) -> None:
    for method, path, body in _endpoints(theirs):
        answer = any_api.call(method, path, json=body)
        assert answer.status_code == 404, (method, path, answer.text)
        assert answer.json()["message"] == "Not found"

    # Nothing changed for the owner.
    owner = any_api.other_key
    assert any_api.ok("GET", f"/syncs/{theirs.sync}", key=owner)["disabled"] is False
    assert any_api.ok("GET", f"/sources/{theirs.source}", key=owner)["name"] == "Warehouse"


def test_lists_show_only_the_key_s_workspace(any_api: Api, theirs: Pipeline) -> None:
    for path in ("/sources", "/destinations", "/models", "/syncs"):
        assert any_api.ok("GET", path) == {"data": [], "hasMore": False}, path
        assert len(any_api.ok("GET", path, key=any_api.other_key)["data"]) == 1

    by_model = any_api.ok("GET", "/syncs", params={"modelId": theirs.model})
    by_slug = any_api.ok("GET", "/syncs", params={"slug": "users-to-hook"})
    assert by_model == {"data": [], "hasMore": False}
    assert by_slug == {"data": [], "hasMore": False}


def test_metrics_count_only_the_key_s_workspace(any_api: Api, theirs: Pipeline) -> None:
    assert "syncline_syncs 0" in any_api.get("/metrics").text
    assert "syncline_syncs 1" in any_api.get("/metrics", key=any_api.other_key).text


def test_references_to_another_workspace_are_refused(
    any_api: Api, theirs: Pipeline, tmp_path: Path
) -> None:
    mine = any_api.ok("POST", "/destinations", json=webhook("mine"))["id"]

    model = any_api.post("/models", json=model_body(theirs.source, "stolen"))
    sync = any_api.post("/syncs", json=sync_body(theirs.model, theirs.destination, "stolen"))
    half = any_api.post("/syncs", json=sync_body(theirs.model, mine, "half"))

    assert model.status_code == 422
    assert "body.sourceId" in model.json()["details"]
    assert sync.status_code == 422
    assert {"body.modelId", "body.destinationId"} <= set(sync.json()["details"])
    assert half.status_code == 422
    assert "body.modelId" in half.json()["details"]


def test_the_same_slug_may_live_in_two_workspaces(any_api: Api, tmp_path: Path) -> None:
    any_api.ok("POST", "/sources", json=warehouse(tmp_path))

    answer = any_api.post("/sources", json=warehouse(tmp_path), key=any_api.other_key)

    assert answer.status_code == 200


@pytest.mark.parametrize("path", ["/sources", "/destinations", "/models", "/syncs"])
def test_duplicate_slugs_are_409_on_each_catalog(any_api: Api, tmp_path: Path, path: str) -> None:
    made = make_pipeline(any_api, tmp_path)
    bodies = {
        "/sources": warehouse(tmp_path),
        "/destinations": webhook(),
        "/models": model_body(made.source),
        "/syncs": sync_body(made.model, made.destination),
    }

    answer = any_api.post(path, json=bodies[path])

    assert answer.status_code == 409
    assert "already exists" in answer.json()["message"]
    assert "body.slug" in answer.json()["details"]


def test_a_refused_delete_is_409_on_each_catalog(any_api: Api, tmp_path: Path) -> None:
    made = make_pipeline(any_api, tmp_path)

    answer = any_api.delete(f"/sources/{made.source}")

    assert answer.status_code == 409
    assert answer.json()["details"] == {
        "path.sourceId": {
            "message": "source 'warehouse' is used by models users; "
            "delete or change those models first",
            "value": made.source,
        }
    }
