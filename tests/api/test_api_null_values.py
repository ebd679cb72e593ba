"""A null where it means nothing is a 422 naming the field, never a silent no-op."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from api_fixtures import Api, Pipeline, make_pipeline

from syncline.api.routes.runs import _FLAGS, _flags


@pytest.fixture
def pipeline(api: Api, tmp_path: Path) -> Pipeline:
    return make_pipeline(api, tmp_path)


def _refused(answer: Any, where: str) -> str:
    assert answer.status_code == 422, answer.text
    problem = answer.json()["details"][where]
    assert problem["value"] is None
    message: str = problem["message"]
    assert where.rsplit(".", 1)[-1] in message
    return message


@pytest.mark.parametrize("flag", ["fullResync", "resetCDC", "clearAndFill", "dryRun"])
def test_a_null_trigger_flag_is_an_unset_one(api: Api, pipeline: Pipeline, flag: str) -> None:
    # Generated Hightouch clients send null for the options a caller left out.
    answer = api.post(f"/syncs/{pipeline.sync}/trigger", json={flag: None})

    assert answer.status_code == 200, answer.text
    runs = api.ok("GET", f"/syncs/{pipeline.sync}/runs")["data"]
    assert [run["id"] for run in runs] == [int(answer.json()["id"])]


@pytest.mark.parametrize(("flag", "attribute"), list(_FLAGS.items()))
def test_a_null_trigger_flag_reads_as_false(flag: str, attribute: str) -> None:
    assert getattr(_flags({flag: None}), attribute) is False
    assert getattr(_flags({flag: True}), attribute) is True


@pytest.mark.parametrize("field", ["configuration", "disabled"])
def test_a_sync_change_to_null_is_refused(api: Api, pipeline: Pipeline, field: str) -> None:
    before = api.ok("GET", f"/syncs/{pipeline.sync}")

    answer = api.patch(f"/syncs/{pipeline.sync}", json={field: None})

    assert "cannot be null; leave the key out" in _refused(answer, f"body.{field}")
    assert api.ok("GET", f"/syncs/{pipeline.sync}")[field] == before[field]


def test_a_sync_schedule_may_still_be_null(api: Api, pipeline: Pipeline) -> None:
    assert api.ok("PATCH", f"/syncs/{pipeline.sync}", json={"schedule": None})["schedule"] is None


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/sources/{source}", "configuration"),
        ("/destinations/{destination}", "name"),
        ("/models/{model}", "primaryKey"),
    ],
)
def test_other_changes_to_null_are_refused(
    api: Api, pipeline: Pipeline, path: str, field: str
) -> None:
    url = path.format(**vars(pipeline))

    _refused(api.patch(url, json={field: None}), f"body.{field}")


def test_a_sequence_change_to_null_is_refused(api: Api, pipeline: Pipeline) -> None:
    body = {"slug": "nightly", "steps": [{"syncId": pipeline.sync}]}
    sequence = api.ok("POST", "/sync-sequences", json=body)["id"]

    _refused(api.patch(f"/sync-sequences/{sequence}", json={"disabled": None}), "body.disabled")
