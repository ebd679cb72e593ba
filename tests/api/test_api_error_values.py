"""The values a 409 or 422 repeats: whole when short, cut short and marked when long."""

from __future__ import annotations

from typing import Any

from api_fixtures import Api

from syncline.api.errors import ECHO_LIMIT


def _source(**fields: Any) -> dict[str, Any]:
    return {"name": "a", "slug": "a", "type": "postgres", "configuration": {}, **fields}


def test_a_long_value_is_repeated_cut_short(api: Api) -> None:
    answer = api.post("/sources", json=_source(name="x" * 20_000))

    assert answer.status_code == 422
    problem = answer.json()["details"]["body.name"]
    assert problem["value"] == "x" * ECHO_LIMIT + "... (cut: 20000 characters in all)"


def test_a_long_array_is_repeated_as_the_start_of_its_json(api: Api) -> None:
    answer = api.post("/sources", json=_source(name=list(range(1000))))

    value = answer.json()["details"]["body.name"]["value"]
    assert value.startswith("[0, 1, 2, 3")
    assert value.endswith(" characters in all)")
    assert len(value) < ECHO_LIMIT + 50


def test_a_short_value_is_repeated_whole(api: Api) -> None:
    answer = api.post("/sources", json=_source(name=["a", "b"]))

    assert answer.json()["details"]["body.name"]["value"] == ["a", "b"]
