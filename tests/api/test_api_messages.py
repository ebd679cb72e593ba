"""What the API says about a change it cannot make, and which slugs it takes."""

from __future__ import annotations

from pathlib import Path

import pytest
from api_fixtures import Api, make_pipeline, webhook


def test_patching_the_type_says_it_cannot_change(api: Api, tmp_path: Path) -> None:
    made = make_pipeline(api, tmp_path)

    response = api.patch(f"/destinations/{made.destination}", json={"type": "sqlite"})

    assert response.status_code == 422
    message = response.json()["details"]["body.type"]["message"]
    assert "cannot change" in message
    assert "create a new one" in message


@pytest.mark.parametrize("slug", ["Hook", "my.hook", "-hook"])
def test_api_slugs_follow_the_project_file_rule(api: Api, slug: str) -> None:
    response = api.post("/destinations", json=webhook(slug))

    assert response.status_code == 422, response.text
    assert "lower-case" in response.json()["details"]["body.slug"]["message"]


def test_a_taken_slug_is_409_saying_what_conflicts(api: Api) -> None:
    api.ok("POST", "/destinations", json=webhook("hook"))

    response = api.post("/destinations", json=webhook("hook"))

    assert response.status_code == 409
    body = response.json()
    assert body["message"] == body["details"]["body.slug"]["message"]
    assert "already exists" in body["message"]


def test_a_bad_connector_setting_says_what_it_wants_and_the_fix(api: Api) -> None:
    response = api.post("/destinations", json=webhook("hook", timeout="fast", concurrency=0))

    assert response.status_code == 422
    details = response.json()["details"]
    assert details["body.configuration.timeout"] == {
        "message": "the setting 'timeout' must be a number, not 'fast'; write a number "
        "without quotes or units, e.g. 30 or 2.5",
        "value": "fast",
    }
    assert details["body.configuration.concurrency"]["message"] == (
        "the setting 'concurrency' must be at least 1, not 0; use 1 or more"
    )
