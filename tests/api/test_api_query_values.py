"""Query parameters: each given once (but tags), and refusals that say what was wrong."""

from __future__ import annotations

from pathlib import Path

import pytest
from api_fixtures import Api, Pipeline, make_pipeline


@pytest.fixture
def pipeline(api: Api, tmp_path: Path) -> Pipeline:
    return make_pipeline(api, tmp_path)


def test_a_query_parameter_given_twice_is_refused(api: Api, pipeline: Pipeline) -> None:
    answer = api.get("/syncs", params=[("slug", "a"), ("slug", "users-to-hook")])

    assert answer.status_code == 422, answer.text
    problem = answer.json()["details"]["query.slug"]
    assert "slug is given 2 times" in problem["message"]
    assert problem["value"] == ["a", "users-to-hook"]


def test_tags_may_still_be_repeated(api: Api, pipeline: Pipeline) -> None:
    answer = api.get("/models", params=[("tags", "a:b"), ("tags", "c:d")])

    assert answer.status_code == 200, answer.text


@pytest.mark.parametrize("sent", ["nan", "inf", "-Infinity", "1e400"])
def test_a_run_id_that_is_no_number_must_be_an_integer(
    api: Api, pipeline: Pipeline, sent: str
) -> None:
    answer = api.get(f"/syncs/{pipeline.sync}/runs", params={"runId": sent})

    assert answer.status_code == 422, answer.text
    problem = answer.json()["details"]["query.runId"]
    assert "must be an integer" in problem["message"]
    assert problem["value"] == sent


def test_a_path_id_that_is_no_number_must_be_an_integer(api: Api, pipeline: Pipeline) -> None:
    answer = api.post(f"/syncs/{pipeline.sync}/runs/nan/cancel")

    assert answer.status_code == 422, answer.text
    assert "must be an integer" in answer.json()["details"]["path.runId"]["message"]


@pytest.mark.parametrize("tag", ['a"b:c', "a\\b:c"])
def test_a_tag_key_with_a_quote_or_backslash_is_named_as_such(
    api: Api, pipeline: Pipeline, tag: str
) -> None:
    answer = api.get("/models", params={"tags": tag})

    assert answer.status_code == 422, answer.text
    message = answer.json()["details"]["query.tags"]["message"]
    assert "holds a double quote, backslash or NUL" in message
    assert "not key:value" not in message
