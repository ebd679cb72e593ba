"""Where the API takes a boolean it takes JSON's true and false, and nothing that looks like one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from api_fixtures import Api, Pipeline, make_pipeline, model_body, sync_body, warehouse

LOOKALIKES = ["yes", "true", "false", 1, 0, "maybe"]
"""Values pydantic's lax mode reads as booleans, and one it does not."""


@pytest.fixture
def pipeline(api: Api, tmp_path: Path) -> Pipeline:
    return make_pipeline(api, tmp_path)


def _refused(answer: Any, where: str, sent: Any) -> None:
    assert answer.status_code == 422, answer.text
    problem = answer.json()["details"][where]
    assert problem["value"] == sent
    assert "expected true or false" in problem["message"]
    assert where.rsplit(".", 1)[-1] in problem["message"]


@pytest.mark.parametrize("sent", LOOKALIKES)
def test_a_new_sync_s_disabled_must_be_a_boolean(api: Api, pipeline: Pipeline, sent: Any) -> None:
    body = {**sync_body(pipeline.model, pipeline.destination, slug="loose"), "disabled": sent}

    _refused(api.post("/syncs", json=body), "body.disabled", sent)
    assert [s["slug"] for s in api.ok("GET", "/syncs")["data"]] == ["users-to-hook"]


@pytest.mark.parametrize("sent", LOOKALIKES)
def test_a_sync_change_s_disabled_must_be_a_boolean(
    api: Api, pipeline: Pipeline, sent: Any
) -> None:
    _refused(api.patch(f"/syncs/{pipeline.sync}", json={"disabled": sent}), "body.disabled", sent)
    assert api.ok("GET", f"/syncs/{pipeline.sync}")["disabled"] is False


@pytest.mark.parametrize(
    ("key", "sent"),
    [("createObject", "yes"), ("createObject", 1), ("createObject", "maybe")],
)
def test_a_sync_configuration_s_booleans_must_be_booleans(
    api: Api, pipeline: Pipeline, key: str, sent: Any
) -> None:
    body = sync_body(pipeline.model, pipeline.destination, slug="loose")
    body["configuration"] = {**body["configuration"], key: sent}

    _refused(api.post("/syncs", json=body), f"body.configuration.{key}", sent)


def test_a_nested_sync_configuration_boolean_must_be_a_boolean(
    api: Api, pipeline: Pipeline
) -> None:
    change = {"configuration": {"guards": {"allowEmpty": "true"}}}

    answer = api.patch(f"/syncs/{pipeline.sync}", json=change)

    _refused(answer, "body.configuration.guards.allowEmpty", "true")
    assert list(answer.json()["details"]) == ["body.configuration.guards.allowEmpty"]


@pytest.mark.parametrize("sent", LOOKALIKES)
def test_a_model_s_is_schema_must_be_a_boolean(api: Api, pipeline: Pipeline, sent: Any) -> None:
    body = model_body(pipeline.source, slug="loose", isSchema=sent)

    _refused(api.post("/models", json=body), "body.isSchema", sent)
    answer = api.patch(f"/models/{pipeline.model}", json={"isSchema": sent})
    _refused(answer, "body.isSchema", sent)
    assert api.ok("GET", f"/models/{pipeline.model}")["isSchema"] is False


@pytest.mark.parametrize("sent", ["yes", 1])
def test_a_source_configuration_s_booleans_must_be_booleans(
    api: Api, tmp_path: Path, sent: Any
) -> None:
    body = warehouse(tmp_path)
    body["configuration"]["read_only"] = sent

    _refused(api.post("/sources", json=body), "body.configuration.read_only", sent)


def test_a_destination_configuration_s_booleans_must_be_booleans(api: Api, tmp_path: Path) -> None:
    body = {
        "name": "Files",
        "slug": "files",
        "type": "csv",
        "configuration": {"path": str(tmp_path / "out"), "header": "no"},
    }

    _refused(api.post("/destinations", json=body), "body.configuration.header", "no")


@pytest.mark.parametrize("sent", ["true", 1, "1", "maybe"])
@pytest.mark.parametrize("flag", ["fullResync", "resetCDC", "clearAndFill", "dryRun"])
def test_json_trigger_flags_must_be_booleans(
    api: Api, pipeline: Pipeline, flag: str, sent: Any
) -> None:
    answer = api.post(f"/syncs/{pipeline.sync}/trigger", json={flag: sent})

    _refused(answer, f"body.{flag}", sent)
    assert api.ok("GET", f"/syncs/{pipeline.sync}/runs")["data"] == []


def test_a_custom_trigger_s_flags_must_be_booleans(api: Api, pipeline: Pipeline) -> None:
    answer = api.post("/syncs/trigger", json={"syncSlug": "users-to-hook", "fullResync": "yes"})

    _refused(answer, "body.fullResync", "yes")


def test_form_trigger_flags_stay_text(api: Api, pipeline: Pipeline) -> None:
    answer = api.post(f"/syncs/{pipeline.sync}/trigger", data={"fullResync": "true"})

    assert answer.status_code == 200, answer.text


def test_booleans_are_still_taken(api: Api, pipeline: Pipeline) -> None:
    changed = api.ok("PATCH", f"/syncs/{pipeline.sync}", json={"disabled": True})
    assert changed["disabled"] is True
    model = api.ok("PATCH", f"/models/{pipeline.model}", json={"isSchema": True})
    assert model["isSchema"] is True


def test_an_alert_recipient_s_booleans_must_be_booleans(api: Api, pipeline: Pipeline) -> None:
    recipient = {
        "type": "email",
        "host": "127.0.0.1",
        "from": "syncline@example.com",
        "to": ["ops@example.com"],
        "starttls": "yes",
    }
    path = f"/destinations/{pipeline.destination}/alerts"

    _refused(api.call("PUT", path, json={"recipients": [recipient]}),
             "body.recipients.0.starttls", "yes")  # fmt: skip
    assert api.ok("GET", path)["recipients"] is None


def test_a_source_change_s_booleans_must_be_booleans(api: Api, pipeline: Pipeline) -> None:
    change = {"configuration": {"read_only": "false"}}

    answer = api.patch(f"/sources/{pipeline.source}", json=change)

    _refused(answer, "body.configuration.read_only", "false")


def test_a_sequence_s_disabled_must_be_a_boolean(api: Api, pipeline: Pipeline) -> None:
    body = {"slug": "nightly", "steps": [{"syncId": pipeline.sync}], "disabled": "no"}

    _refused(api.post("/sync-sequences", json=body), "body.disabled", "no")


def _no_id(answer: Any, where: str, sent: Any) -> None:
    assert answer.status_code == 422, answer.text
    problem = answer.json()["details"][where]
    assert problem["value"] is sent
    assert "expected an integer" in problem["message"]


@pytest.mark.parametrize("sent", [True, False])
def test_an_id_in_a_body_is_never_a_boolean(api: Api, pipeline: Pipeline, sent: bool) -> None:
    model = model_body(sent, slug="loose")
    _no_id(api.post("/models?skipColumnQuery=true", json=model), "body.sourceId", sent)
    for field in ("destinationId", "modelId"):
        sync = {**sync_body(pipeline.model, pipeline.destination, slug="loose"), field: sent}
        _no_id(api.post("/syncs", json=sync), f"body.{field}", sent)
    sequence = {"slug": "loose", "steps": [{"syncId": sent}]}
    _no_id(api.post("/sync-sequences", json=sequence), "body.steps.0.syncId", sent)

    assert [m["slug"] for m in api.ok("GET", "/models")["data"]] == ["users"]
    assert [s["slug"] for s in api.ok("GET", "/syncs")["data"]] == ["users-to-hook"]


def test_an_id_may_still_be_a_string_of_digits(api: Api, pipeline: Pipeline) -> None:
    body = {**sync_body(str(pipeline.model), str(pipeline.destination), slug="digits")}

    assert api.ok("POST", "/syncs", json=body)["modelId"] == pipeline.model
