"""A sync's mappings must read columns its model returns; every problem comes back at once."""

from __future__ import annotations

import logging
import socket
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from api_fixtures import Api, make_pipeline, model_body, sync_body, warehouse

from syncline.api.routes import syncs
from syncline.engine.report import RunStatus
from syncline.settings import Settings
from syncline.worker.execute import execute_leased


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


def test_a_model_change_that_drops_a_mapped_column_names_the_sync_and_is_422(
    api: Api, tmp_path: Path
) -> None:
    made = make_pipeline(api, tmp_path)
    before = api.ok("GET", f"/models/{made.model}")
    change = {"raw": {"sql": "select id as uid, email, 1 as note from users"}, "primaryKey": "uid"}

    refused = api.patch(f"/models/{made.model}", json=change)

    assert refused.status_code == 422, refused.text
    problem = refused.json()["details"]["body.raw.sql"]
    assert "sync 'users-to-hook'" in problem["message"]
    assert "configuration.mappings.1.from" in problem["message"]
    assert "column 'name'" in problem["message"]
    assert "model 'users' returns uid, email, note" in problem["message"]
    assert api.ok("GET", f"/models/{made.model}")["raw"] == before["raw"], "nothing was saved"
    unchecked = api.patch(f"/models/{made.model}?skipColumnQuery=true", json=change)
    assert unchecked.status_code == 200, "a change saved unchecked is left for the run to judge"


def test_a_mapping_writing_the_key_field_from_another_column_is_a_422(
    api: Api, tmp_path: Path
) -> None:
    made = make_pipeline(api, tmp_path)
    body = _body(made, mappings=[{"from": "name", "to": "id"}])

    created = api.post("/syncs", json=body)
    patched = api.patch(f"/syncs/{made.sync}", json={"configuration": body["configuration"]})

    for response in (created, patched):
        assert response.status_code == 422, response.text
        problem = response.json()["details"]["body.configuration.mappings.0.to"]
        assert "field 'id' identifies destination records" in problem["message"]
        assert "remove that mapping or change externalIdMapping" in problem["message"]


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


def _silent_server() -> tuple[socket.socket, list[socket.socket], threading.Thread]:
    """A loopback server that accepts connections and never answers: a warehouse stuck."""
    server = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []

    def accept() -> None:
        try:
            while True:
                accepted.append(server.accept()[0])
        except OSError:
            return  # the test closed the server

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    return server, accepted, thread


def test_a_source_that_never_answers_holds_no_catalog_write(api: Api, tmp_path: Path) -> None:
    made = make_pipeline(api, tmp_path)
    server, accepted, acceptor = _silent_server()
    source = api.ok(
        "POST",
        "/sources",
        json={
            "name": "Stuck",
            "slug": "stuck",
            "type": "postgres",
            "configuration": {
                "host": "127.0.0.1",
                "port": server.getsockname()[1],
                "database": "stuck",
                "user": "postgres",
            },
        },
    )["id"]
    model = api.ok(
        "POST", "/models", params={"skipColumnQuery": "true"}, json=model_body(source, "stuck")
    )["id"]
    answers: list[Any] = []
    request = threading.Thread(
        target=lambda: answers.append(
            api.post("/syncs", json=sync_body(model, made.destination, slug="second"))
        )
    )
    request.start()
    try:
        deadline = time.monotonic() + 10
        while not accepted and time.monotonic() < deadline:
            time.sleep(0.01)
        assert accepted, "the source was never asked for the model's columns"

        started = time.monotonic()
        with api.catalog.session() as session:
            session.keys.create("written while the source is asked")
        waited = time.monotonic() - started
    finally:
        server.close()
        for connection in accepted:
            connection.close()
        request.join(timeout=30)
        acceptor.join(timeout=5)

    assert waited < 2, f"a catalog write waited {waited:.1f}s for the source's answer"
    assert len(answers) == 1, "the request did not end once the source hung up"
    assert answers[0].status_code == 200, answers[0].text


def test_a_model_edited_while_its_columns_are_asked_is_asked_again(
    api: Api, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    made = make_pipeline(api, tmp_path)
    asked: list[str | None] = []

    def edit_once(
        source_type: str, configuration: Any, sql: str | None, *rest: Any, **options: Any
    ) -> list[str]:
        asked.append(sql)
        if len(asked) == 1:
            # Another request changes the model between the columns' answer and the write
            # (unchecked: checked, it is refused, as the first sync maps columns it drops).
            narrower = {"raw": {"sql": "select id from users"}}
            api.ok("PATCH", f"/models/{made.model}?skipColumnQuery=true", json=narrower)
            return ["id", "email", "name"]
        return ["id"]

    monkeypatch.setattr(syncs, "query_columns", edit_once)

    response = api.post("/syncs", json=sync_body(made.model, made.destination, slug="second"))

    assert asked == ["select id, email, name from users", "select id from users"]
    assert response.status_code == 422, response.text
    assert "body.configuration.mappings.0.from" in response.json()["details"]


def test_a_model_deleted_while_its_columns_are_asked_is_reported_missing(
    api: Api, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    made = make_pipeline(api, tmp_path)
    spare = api.ok("POST", "/models", json=model_body(made.source, "spare"))["id"]

    def delete_model(*args: Any, **options: Any) -> list[str]:
        api.ok("DELETE", f"/models/{spare}")
        return ["id", "email", "name"]

    monkeypatch.setattr(syncs, "query_columns", delete_model)

    response = api.post("/syncs", json=sync_body(spare, made.destination, slug="second"))

    assert response.status_code == 422, response.text
    assert f"model {spare} does not exist" in response.json()["details"]["body.modelId"]["message"]


def test_a_model_that_keeps_changing_while_its_columns_are_asked_is_a_conflict(
    api: Api, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    made = make_pipeline(api, tmp_path)
    edits = iter(range(10))

    def edit_every_time(*args: Any, **options: Any) -> list[str]:
        sql = f"select id, email, name, {next(edits)} AS n from users"
        api.ok("PATCH", f"/models/{made.model}", json={"raw": {"sql": sql}})
        return ["id", "email", "name", "n"]

    monkeypatch.setattr(syncs, "query_columns", edit_every_time)

    response = api.post("/syncs", json=sync_body(made.model, made.destination, slug="second"))

    assert response.status_code == 409, response.text
    assert "send the request again" in response.text
    assert [s["slug"] for s in api.ok("GET", "/syncs")["data"]] == ["users-to-hook"]


# -- referencedColumns follows the model ------------------------------------------------------


def _unmapped_sync(api: Api, tmp_path: Path, sql: str) -> tuple[int, int]:
    """A model of ``sql`` and a sync of it without mappings (every column goes) to JSON Lines."""
    source = api.ok("POST", "/sources", json=warehouse(tmp_path))["id"]
    model = api.ok("POST", "/models", json=model_body(source, raw={"sql": sql}))["id"]
    sink = {"name": "Out", "slug": "out", "type": "jsonl",
            "configuration": {"directory": str(tmp_path / "out")}}  # fmt: skip
    destination = api.ok("POST", "/destinations", json=sink)["id"]
    body = sync_body(model, destination, slug="everything")
    body["configuration"] = {"mode": "upsert", "object": "users"}
    return model, api.ok("POST", "/syncs", json=body)["id"]


def _referenced(api: Api, sync: int) -> list[str]:
    columns: list[str] = api.ok("GET", f"/syncs/{sync}")["referencedColumns"]
    return columns


def test_a_new_primary_key_keeps_every_column_of_an_unmapped_sync(api: Api, tmp_path: Path) -> None:
    model, sync = _unmapped_sync(api, tmp_path, "select id, email, name from users")
    assert _referenced(api, sync) == ["id", "email", "name"]

    api.ok("PATCH", f"/models/{model}", json={"primaryKey": "email"})

    assert _referenced(api, sync) == ["email", "id", "name"]


def test_a_new_query_gives_an_unmapped_sync_its_columns(api: Api, tmp_path: Path) -> None:
    model, sync = _unmapped_sync(api, tmp_path, "select id, email from users")

    api.ok("PATCH", f"/models/{model}", json={"raw": {"sql": "select id, email, name from users"}})

    assert _referenced(api, sync) == ["id", "email", "name"]


def test_a_run_records_the_columns_it_read(api: Api, tmp_path: Path) -> None:
    model, sync = _unmapped_sync(api, tmp_path, "select id, email from users")
    # Unchecked, the server cannot know the new columns until a run reads them.
    new_query = {"raw": {"sql": "select id, email, name from users"}}
    api.ok("PATCH", f"/models/{model}?skipColumnQuery=true", json=new_query)

    run = int(api.ok("POST", f"/syncs/{sync}/trigger")["id"])
    with api.catalog.session() as session:
        session.runs.start(run, "test-worker")
    settings = Settings(home=tmp_path / "worker", file_roots=(tmp_path,))
    assert execute_leased(api.catalog, run, settings, alerts=False) is RunStatus.SUCCESS

    assert _referenced(api, sync) == ["id", "email", "name"]


def test_a_model_whose_key_is_not_a_column_is_refused_on_model_id(api: Api, tmp_path: Path) -> None:
    made = make_pipeline(api, tmp_path)
    unchecked = model_body(made.source, slug="keyless", primaryKey="user_id")
    unchecked["raw"] = {"sql": "select id, email from users"}
    model = api.ok("POST", "/models?skipColumnQuery=true", json=unchecked)["id"]
    body = sync_body(model, made.destination, slug="second")
    body["configuration"]["mappings"] = [{"from": "email", "to": "email"}]

    response = api.post("/syncs", json=body)

    assert response.status_code == 422, response.text
    problem = response.json()["details"]["body.modelId"]
    assert "the primary key 'user_id' is not a column of model 'keyless'" in problem["message"]
    assert "(columns: id, email)" in problem["message"]
    assert "set primaryKey to the column" in problem["message"]
    assert problem["value"] == model
    assert [s["slug"] for s in api.ok("GET", "/syncs")["data"]] == ["users-to-hook"]
