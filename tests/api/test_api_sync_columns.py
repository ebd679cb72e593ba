"""A sync's mappings must read columns its model returns; every problem comes back at once."""

from __future__ import annotations

import logging
import socket
from pathlib import Path
from typing import Any

import pytest
from api_fixtures import Api, make_pipeline, model_body, sync_body


def _body(made: Any, **configuration: Any) -> dict[str, Any]:
    body = sync_body(made.model, made.destination, slug="second")
    body["configuration"].update(configuration)
    return body


def test_missing_columns_are_all_named_with_the_models_columns(api: Api, tmp_path: Path) -> None:
    made = make_pipeline(api, tmp_path)
    body = _body(
        made,
        mappings=[
            {"from": "email", "to": "email"},
            {"from": "phone", "to": "phone"},
            {"type": "template", "template": "{{ nickname }}", "to": "nick"},
        ],
        externalIdMapping={"from": "crm_id", "to": "id"},
    )

    response = api.post("/syncs", json=body)

    assert response.status_code == 422, response.text
    details = response.json()["details"]
    assert set(details) == {
        "body.configuration.mappings.1.from",
        "body.configuration.mappings.2.template",
        "body.configuration.externalIdMapping.from",
    }
    for problem in details.values():
        assert "(id, email, name)" in problem["message"]
    assert "'phone'" in details["body.configuration.mappings.1.from"]["message"]
    assert "'nickname'" in details["body.configuration.mappings.2.template"]["message"]


def test_a_patch_is_checked_against_the_model_too(api: Api, tmp_path: Path) -> None:
    made = make_pipeline(api, tmp_path)
    response = api.patch(
        f"/syncs/{made.sync}", json={"configuration": {"mappings": [{"from": "zip", "to": "z"}]}}
    )
    assert response.status_code == 422, response.text
    assert "body.configuration.mappings.0.from" in response.json()["details"]


def test_a_bad_mode_does_not_hide_a_template_error_or_a_missing_column(
    api: Api, tmp_path: Path
) -> None:
    made = make_pipeline(api, tmp_path)
    body = _body(
        made,
        mode="sideways",
        mappings=[
            {"from": "phone", "to": "phone"},
            {"type": "template", "template": "{{ name ", "to": "n"},
        ],
    )

    details = api.post("/syncs", json=body).json()["details"]

    assert {
        "body.configuration.mode",
        "body.configuration.mappings.0.from",
        "body.configuration.mappings.1.template",
    } <= set(details)


def test_an_unreachable_source_accepts_the_sync_with_a_warning(
    api: Api, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    made = make_pipeline(api, tmp_path)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    source = api.ok(
        "POST",
        "/sources",
        json={
            "name": "Down",
            "slug": "down",
            "type": "postgres",
            "configuration": {
                "host": "127.0.0.1",
                "port": closed_port,
                "database": "nowhere",
                "user": "postgres",
            },
        },
    )["id"]
    model = api.ok(
        "POST", "/models", params={"skipColumnQuery": "true"}, json=model_body(source, "down")
    )["id"]
    body = sync_body(model, made.destination, slug="second")
    body["configuration"]["mappings"] = [{"from": "anything", "to": "x"}]

    with caplog.at_level(logging.WARNING, logger="syncline.project.model_columns"):
        created = api.ok("POST", "/syncs", json=body)

    assert created["slug"] == "second"
    assert any("accepted unchecked" in r.getMessage() for r in caplog.records)
