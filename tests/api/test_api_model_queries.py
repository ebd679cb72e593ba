"""A model body the catalog refuses anyway is answered without asking its source."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from api_fixtures import Api, warehouse

from syncline.api.routes import models as model_routes


@pytest.fixture
def source(api: Api, tmp_path: Path) -> int:
    return int(api.ok("POST", "/sources", json=warehouse(tmp_path))["id"])


@pytest.fixture
def asked(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The source types whose connection the model routes built, in order."""
    calls: list[str] = []
    real = model_routes.confined_source

    def recording(source_type: str, *args: Any, **kwargs: Any) -> Any:
        calls.append(source_type)
        return real(source_type, *args, **kwargs)

    monkeypatch.setattr(model_routes, "confined_source", recording)
    return calls


def _model(source: int, **fields: Any) -> dict[str, Any]:
    body = {"name": "b", "slug": "b", "sourceId": source, "primaryKey": "id", "isSchema": False}
    return {**body, **fields}


@pytest.mark.parametrize(
    ("fields", "where"),
    [
        ({"queryType": "raw_sql"}, "body.raw.sql"),
        ({"queryType": "raw_sql", "raw": {"sql": "  "}}, "body.raw.sql"),
        ({"queryType": "table"}, "body.table.name"),
        ({"queryType": "table", "table": {"name": ""}}, "body.table.name"),
    ],
)
def test_a_model_without_its_query_is_refused_without_asking_the_source(
    api: Api, source: int, asked: list[str], fields: dict[str, Any], where: str
) -> None:
    answer = api.post("/models", json=_model(source, **fields))

    assert answer.status_code == 422
    assert list(answer.json()["details"]) == [where]
    assert asked == []


def test_a_model_with_a_bad_slug_is_refused_without_asking_the_source(
    api: Api, source: int, asked: list[str]
) -> None:
    body = _model(source, slug="Not A Slug", queryType="raw_sql", raw={"sql": "select 1 as id"})
    answer = api.post("/models", json=body)

    assert answer.status_code == 422
    assert "body.slug" in answer.json()["details"]
    assert asked == []


def test_a_complete_model_is_still_checked_on_the_source(
    api: Api, source: int, asked: list[str]
) -> None:
    answer = api.post("/models", json=_model(source, queryType="raw_sql", raw={"sql": "selec"}))

    assert answer.status_code == 422
    assert list(answer.json()["details"]) == ["body.raw.sql"]
    assert asked == ["duckdb"]


@pytest.mark.parametrize(
    ("query_type", "change", "where"),
    [
        ("raw_sql", {"raw": {"sql": ""}}, "body.raw.sql"),
        ("raw_sql", {"table": {"name": "users"}}, "body.table"),
        ("table", {"table": {"name": " "}}, "body.table.name"),
        ("table", {"raw": {"sql": "select 1 as id"}}, "body.raw"),
    ],
)
def test_a_change_the_catalog_refuses_is_not_sent_to_the_source(
    api: Api,
    source: int,
    asked: list[str],
    query_type: str,
    change: dict[str, Any],
    where: str,
) -> None:
    query = {"raw": {"sql": "select * from users"}} if query_type == "raw_sql" else {}
    query = query or {"table": {"name": "users"}}
    model = api.ok("POST", "/models", json=_model(source, queryType=query_type, **query))
    asked.clear()

    answer = api.patch(f"/models/{model['id']}", json=change)

    assert answer.status_code == 422
    assert list(answer.json()["details"]) == [where]
    assert asked == []
    assert api.ok("GET", f"/models/{model['id']}") == model


def test_an_empty_query_is_refused_on_change_even_unchecked(api: Api, source: int) -> None:
    body = _model(source, queryType="raw_sql", raw={"sql": "select * from users"})
    model = api.ok("POST", "/models", json=body)

    answer = api.patch(
        f"/models/{model['id']}", params={"skipColumnQuery": "true"}, json={"raw": {"sql": " "}}
    )

    assert answer.status_code == 422
    assert answer.json()["details"]["body.raw.sql"]["value"] == " "


@pytest.mark.parametrize("query_type", ["custom", "dbt", "visual"])
def test_hightouch_s_other_query_types_are_named_as_unsupported(
    api: Api, source: int, query_type: str
) -> None:
    body = _model(source, queryType=query_type, **{query_type: {"query": "x"}})

    answer = api.post("/models", json=body)

    assert answer.status_code == 422
    message = answer.json()["details"][f"body.{query_type}"]["message"]
    assert f"query type {query_type!r} is not supported" in message
    assert "raw_sql" in message
    assert "table" in message
